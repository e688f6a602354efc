//! Accounts: list, create (open sign-up or sub-accounts), fetch, update (rename, close).
use super::{requested_uri, visible_account};
use crate::crypto;
use crate::domain::account::AccountStatus;
use crate::domain::dates;
use crate::domain::sid::AccountSid;
use crate::error::ApiError;
use crate::http::auth::{Caller, MaybeCaller};
use crate::http::conditional::IfMatch;
use crate::http::paging;
use crate::http::params::Params;
use crate::hypermedia::{model, uris};
use crate::representation::Reply;
use crate::state::AppState;
use crate::store;
use actix_web::{web, HttpRequest};

const MAX_NAME: usize = 64;

fn friendly_name(params: &Params) -> Result<Option<String>, ApiError> {
    match params.get("FriendlyName") {
        None => Ok(None),
        Some(n) if n.chars().count() > MAX_NAME => {
            Err(ApiError::bad_request(format!("FriendlyName must be at most {MAX_NAME} characters")))
        }
        Some(n) if n.trim().is_empty() => Err(ApiError::bad_request("FriendlyName must not be blank")),
        Some(n) => Ok(Some(n.trim().to_owned())),
    }
}

/// The caller's account and its sub-accounts.
pub async fn list(state: web::Data<AppState>, caller: Caller, req: HttpRequest) -> Result<Reply, ApiError> {
    let q = Params::from_query(&req)?;
    let page = paging::parse(&q)?;
    let c = caller.account.clone();
    let window = page.window;
    let slice = state.db.read(move |conn| store::accounts::list_visible(conn, &c, &window)).await?;
    let paging = paging::paging(uris::ACCOUNTS, &[], &page, &slice);
    Ok(Reply::Ok(model::accounts(
        requested_uri(&req),
        paging,
        slice.items,
        state.viewer(Some(&caller)),
    )))
}

/// Creates an account (a sub-account of the caller, if authenticated). The response is the only
/// one that ever shows its auth token.
pub async fn create(state: web::Data<AppState>, caller: MaybeCaller, params: Params) -> Result<Reply, ApiError> {
    if caller.0.is_none() && !state.config.open_signup {
        return Err(ApiError::unauthorized(
            "Authenticate: open sign-up is off; an authenticated account can create sub-accounts",
        ));
    }
    let now = dates::now();
    let name = friendly_name(&params)?.unwrap_or_else(|| format!("Account created {}", dates::rfc2822(now)));
    let token = crypto::new_auth_token();
    let new = store::accounts::NewAccount {
        sid: AccountSid::generate(),
        owner: caller.0.as_ref().map(|c| c.account.clone()),
        friendly_name: name,
        token_hash: crypto::token_hash(&token),
        token_enc: state.sealer.seal(token.as_bytes()),
        now,
    };
    let account = state
        .db
        .write(move |conn| {
            // As on Twilio, sub-accounts are one level deep: only a top-level account creates them.
            if let Some(parent) = &new.owner {
                let parent = store::accounts::find_visible(conn, parent, parent)?.ok_or_else(|| ApiError::not_found(uris::ACCOUNTS))?;
                if parent.owner_account_sid != parent.sid {
                    return Err(ApiError::forbidden(
                        "A sub-account cannot create accounts; create sub-accounts from the top-level account",
                    ));
                }
            }
            Ok::<_, ApiError>(store::accounts::insert(conn, &new)?)
        })
        .await?;
    Ok(Reply::Created(model::new_account(account, token, state.viewer(caller.0.as_ref()))))
}

/// One account.
pub async fn fetch(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Result<Reply, ApiError> {
    let sid = AccountSid::parse(&path).ok_or_else(|| ApiError::not_found(uris::ACCOUNTS))?;
    let c = caller.account.clone();
    let account = state
        .db
        .read(move |conn| store::accounts::find_visible(conn, &c, &sid))
        .await?
        .ok_or_else(|| ApiError::not_found(uris::ACCOUNTS))?;
    Ok(Reply::Ok(model::account(account, state.viewer(Some(&caller)))))
}

/// Renames an account or changes its status (`closed` is final: closed accounts no longer authenticate).
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    params: Params,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let sid = visible_account(&state, &caller, &path).await?;
    let name = friendly_name(&params)?;
    let status = match params.get("Status") {
        None => None,
        Some(s) => Some(
            AccountStatus::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("Status must be one of active, suspended, closed; got '{s}'")))?,
        ),
    };
    if name.is_none() && status.is_none() {
        return Err(ApiError::bad_request("Nothing to update: send FriendlyName and/or Status"));
    }
    let if_match = IfMatch::from_request(&req);
    let viewer_account = caller.account.clone();
    let target = sid.clone();
    let updated = state
        .db
        .write(move |conn| {
            let current =
                store::accounts::find_visible(conn, &viewer_account, &target)?.ok_or_else(|| ApiError::not_found(uris::ACCOUNTS))?;
            if_match.check(&model::account(
                current.clone(),
                model::Viewer {
                    account: Some(&viewer_account),
                    session: None,
                    open_signup: false,
                },
            ))?;
            if current.status == AccountStatus::Closed {
                return Err(ApiError::conflict(
                    20409,
                    "This account is closed; a closed account cannot be changed",
                ));
            }
            store::accounts::update(conn, &target, name.as_deref(), status, dates::now())?
                .ok_or_else(|| ApiError::not_found(uris::ACCOUNTS))
        })
        .await?;
    state.auth.forget_account(&sid);
    Ok(Reply::Ok(model::account(updated, state.viewer(Some(&caller)))))
}
