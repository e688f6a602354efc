//! One file per resource. A handler parses its inputs, calls storage, and returns a resource
//! model from [`crate::hypermedia::model`] inside a [`crate::representation::Reply`]; it never
//! writes a URL, a header or SQL.
pub mod accounts;
pub mod description;
pub mod docs;
pub mod feedback;
pub mod media;
pub mod messages;
pub mod root;
pub mod sessions;

use crate::domain::sid::{AccountSid, MessageSid};
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

/// The account and message in the path, if the caller may act on the account; 404 otherwise
/// (pointing `up` at the account's messages). Whether the message exists is the store's answer.
pub async fn visible_message(
    state: &AppState,
    caller: &Caller,
    account: &str,
    message: &str,
) -> Result<(AccountSid, MessageSid), ApiError> {
    let account = visible_account(state, caller, account).await?;
    let message = MessageSid::parse(message).ok_or_else(|| ApiError::not_found(uris::messages(&account)))?;
    Ok((account, message))
}

pub use crate::hypermedia::uris::requested as requested_uri;
