//! `GET /` (CONTRACT §1).
use crate::http::auth::MaybeCaller;
use crate::hypermedia::model;
use crate::representation::Reply;
use crate::state::AppState;
use actix_web::web;

/// The entry point: links to accounts, sessions and messages (and, with credentials, the
/// caller's account and session).
pub async fn fetch(state: web::Data<AppState>, caller: MaybeCaller) -> Reply {
    Reply::Ok(model::root(state.viewer(caller.0.as_ref())))
}
