//! Feedback on a message's delivery (`Outcome` confirmed / unconfirmed).
use super::visible_message;
use crate::domain::dates;
use crate::domain::message::{Feedback, OUTCOMES};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::params::Params;
use crate::hypermedia::{model, uris};
use crate::representation::Reply;
use crate::state::AppState;
use crate::store;
use actix_web::web;

/// The feedback given on a message (its outcome `null` until some is given, so the message's
/// `feedback` relation always leads somewhere, with the form to give it).
pub async fn fetch(state: web::Data<AppState>, caller: Caller, path: web::Path<(String, String)>) -> Result<Reply, ApiError> {
    let (account, message) = path.into_inner();
    let (account, message) = visible_message(&state, &caller, &account, &message).await?;
    let missing = ApiError::not_found(uris::messages(&account));
    let feedback = state
        .db
        .read(move |conn| {
            if store::messages::find(conn, &account, &message)?.is_none() {
                return Err(missing);
            }
            let given = store::media::find_feedback(conn, &account, &message)?;
            Ok::<_, ApiError>(given.unwrap_or_else(|| Feedback::none_yet(account, message)))
        })
        .await?;
    Ok(Reply::Ok(model::feedback(feedback)))
}

/// Records feedback (201; giving it again replaces the outcome).
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    params: Params,
) -> Result<Reply, ApiError> {
    let (account, message) = path.into_inner();
    let (account, message) = visible_message(&state, &caller, &account, &message).await?;
    let outcome = params.get("Outcome").unwrap_or("confirmed").to_owned();
    if !OUTCOMES.contains(&outcome.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Outcome must be confirmed or unconfirmed; got '{outcome}'"
        )));
    }
    let up = uris::messages(&account);
    let feedback = state
        .db
        .write(move |conn| {
            store::messages::find(conn, &account, &message)?.ok_or_else(|| ApiError::not_found(up))?;
            Ok::<_, ApiError>(store::media::upsert_feedback(conn, &account, &message, &outcome, dates::now())?)
        })
        .await?;
    Ok(Reply::Created(model::feedback(feedback)))
}
