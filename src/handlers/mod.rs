//! One file per resource. A handler parses its inputs, calls storage, and returns a resource
//! model from [`crate::hypermedia::model`] inside a [`crate::representation::Reply`]; it never
//! writes a URL, a header or SQL.
pub mod accounts;
pub mod docs;
pub mod feedback;
pub mod media;
pub mod messages;
pub mod root;
pub mod sessions;

use crate::domain::sid::AccountSid;
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::hypermedia::uris;
use crate::state::AppState;
use crate::store;

/// The account in the path, if the caller may act on it (itself or a sub-account); 404 otherwise.
pub async fn visible_account(state: &AppState, caller: &Caller, raw: &str) -> Result<AccountSid, ApiError> {
    let sid = AccountSid::parse(raw).ok_or_else(|| ApiError::not_found(uris::ACCOUNTS))?;
    if sid == caller.account {
        return Ok(sid);
    }
    let (c, s) = (caller.account.clone(), sid.clone());
    match state.db.read(move |conn| store::accounts::find_visible(conn, &c, &s)).await? {
        Some(_) => Ok(sid),
        None => Err(ApiError::not_found(uris::ACCOUNTS)),
    }
}

/// The request's path and query, as the `uri` of a collection page.
pub fn requested_uri(req: &actix_web::HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    }
}
