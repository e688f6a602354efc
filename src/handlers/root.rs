//! `GET /` (CONTRACT §1).
use crate::http::auth::MaybeCaller;
use crate::hypermedia::model;
use crate::representation::Reply;
use crate::state::AppState;
use actix_web::web;

/// The entry point: links to accounts, sessions and messages (and, with credentials, the
/// caller's account and session).
pub async fn fetch(state: web::Data<AppState>, caller: MaybeCaller) -> Reply {
    match caller.0 {
        // Everyone without credentials sees the same root: it is rendered once per format.
        None => Reply::Prepared(state.anonymous_root.clone()),
        Some(caller) => Reply::Ok(model::root(state.viewer(Some(&caller)))),
    }
}
