//! Sessions: sign in (bearer token, and a cookie for browsers), list, fetch, sign out.
use super::requested_uri;
use crate::crypto;
use crate::domain::dates;
use crate::domain::sid::{AccountSid, SessionSid};
use crate::error::ApiError;
use crate::http::auth::{Auth, Caller, MaybeCaller, Via, SESSION_COOKIE};
use crate::http::paging;
use crate::http::params::Params;
use crate::hypermedia::resource::Link;
use crate::hypermedia::{model, uris};
use crate::representation::negotiate::{negotiate, Format};
use crate::representation::Reply;
use crate::state::AppState;
use crate::store;
use crate::store::sessions::Session;
use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest};

fn wants_html(req: &HttpRequest) -> bool {
    negotiate(req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok())) == Some(Format::Html)
}

fn cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Signs in with HTTP Basic, or with `AccountSid` + `AuthToken` parameters; answers the bearer
/// token once, and to browsers also sets the session cookie.
pub async fn create(state: web::Data<AppState>, caller: MaybeCaller, params: Params, req: HttpRequest) -> Result<Reply, ApiError> {
    let account = match (params.get("AccountSid"), params.get("AuthToken")) {
        (Some(sid), Some(token)) => {
            let sid = AccountSid::parse(sid).ok_or_else(|| ApiError::unauthorized("Authenticate: AccountSid is not an account sid"))?;
            match state.auth.verify_basic(&sid, token).await {
                Auth::Caller(c) => c.account,
                Auth::Invalid(reason) => return Err(ApiError::unauthorized(format!("Authenticate: {reason}"))),
                Auth::Anonymous => return Err(ApiError::unauthorized("Authenticate")),
            }
        }
        (Some(_), None) | (None, Some(_)) => return Err(ApiError::unauthorized("Authenticate: send both AccountSid and AuthToken")),
        (None, None) => match caller.0 {
            Some(c) if c.via == Via::Basic => c.account,
            Some(_) => {
                return Err(ApiError::unauthorized(
                    "Authenticate: a new session needs the account's credentials (Basic, or AccountSid and AuthToken)",
                ))
            }
            None => {
                return Err(ApiError::unauthorized(
                    "Authenticate: send HTTP Basic AccountSid:AuthToken, or AccountSid and AuthToken parameters",
                ))
            }
        },
    };
    let now = dates::now();
    let token = crypto::new_session_token();
    let session = Session {
        sid: SessionSid::generate(),
        account_sid: account,
        date_created: now,
        date_expires: now + state.config.session_ttl,
        csrf_token: crypto::new_csrf_token(),
    };
    let hash = crypto::token_hash(&token);
    let stored = session.clone();
    state.db.write(move |conn| store::sessions::insert(conn, &stored, &hash)).await?;
    let mut headers = Vec::new();
    if wants_html(&req) {
        headers.push((header::SET_COOKIE, cookie(&token, state.config.session_ttl, state.config.tls())));
    }
    Ok(Reply::CreatedWith(model::session(session, Some(token)), headers))
}

/// The caller's unexpired sessions.
pub async fn list(state: web::Data<AppState>, caller: Caller, req: HttpRequest) -> Result<Reply, ApiError> {
    let q = Params::from_query(&req)?;
    let page = paging::parse(&q)?;
    let (account, window, now) = (caller.account.clone(), page.window, dates::now());
    let slice = state
        .db
        .read(move |conn| store::sessions::list(conn, &account, now, &window))
        .await?;
    let paging = paging::paging(uris::SESSIONS, &[], &page, &slice);
    Ok(Reply::Ok(model::sessions(
        requested_uri(&req),
        paging,
        slice.items,
        state.viewer(Some(&caller)),
    )))
}

/// One of the caller's sessions.
pub async fn fetch(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Result<Reply, ApiError> {
    let sid = SessionSid::parse(&path).ok_or_else(|| ApiError::not_found(uris::SESSIONS))?;
    let account = caller.account.clone();
    let session = state
        .db
        .read(move |conn| store::sessions::find(conn, &account, &sid))
        .await?
        .ok_or_else(|| ApiError::not_found(uris::SESSIONS))?;
    Ok(Reply::Ok(model::session(session, None)))
}

/// Ends a session (signs out); a browser's cookie is cleared too.
pub async fn delete(state: web::Data<AppState>, caller: Caller, path: web::Path<String>, req: HttpRequest) -> Result<Reply, ApiError> {
    let sid = SessionSid::parse(&path).ok_or_else(|| ApiError::not_found(uris::SESSIONS))?;
    let account = caller.account.clone();
    let hash = state
        .db
        .write(move |conn| store::sessions::delete(conn, &account, &sid))
        .await?
        .ok_or_else(|| ApiError::not_found(uris::SESSIONS))?;
    state.auth.forget_session(&hash);
    let links = vec![
        Link::new("self", req.path().to_owned()),
        Link::new("up", uris::SESSIONS.to_owned()),
        Link::new("start", uris::ROOT.to_owned()),
    ];
    let by_cookie = matches!(req.extensions().get::<Auth>(), Some(Auth::Caller(c)) if c.via == Via::Cookie);
    let headers = if by_cookie {
        vec![(header::SET_COOKIE, cookie("", 0, state.config.tls()))]
    } else {
        Vec::new()
    };
    Ok(Reply::DeletedWith(links, headers))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookie_is_http_only_strict_and_secure_over_tls() {
        let c = super::cookie("tok", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/") && c.ends_with("; Secure"));
        assert!(!super::cookie("tok", 60, false).contains("Secure"));
    }
}
