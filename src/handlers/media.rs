//! A message's media: list, fetch, delete.
use super::{requested_uri, visible_message};
use crate::domain::dates;
use crate::domain::sid::MediaSid;
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::conditional::IfMatch;
use crate::http::paging;
use crate::http::params::Params;
use crate::hypermedia::resource::Link;
use crate::hypermedia::{model, uris};
use crate::representation::Reply;
use crate::state::AppState;
use crate::store;
use actix_web::{web, HttpRequest};

/// The media of a message.
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let (account, message) = path.into_inner();
    let (account, message) = visible_message(&state, &caller, &account, &message).await?;
    let q = Params::from_query(&req)?;
    let page = paging::parse(&q)?;
    let (a, m, window) = (account.clone(), message.clone(), page.window);
    let up = uris::messages(&account);
    let slice = state
        .db
        .read(move |conn| {
            store::messages::find(conn, &a, &m)?.ok_or_else(|| ApiError::not_found(up))?;
            Ok::<_, ApiError>(store::media::list(conn, &a, &m, &window)?)
        })
        .await?;
    let paging = paging::paging(&uris::media_list(&account, &message), &[], &page, &slice);
    Ok(Reply::Ok(model::media_list(
        &account,
        &message,
        requested_uri(&req),
        paging,
        slice.items,
    )))
}

/// One media item.
pub async fn fetch(state: web::Data<AppState>, caller: Caller, path: web::Path<(String, String, String)>) -> Result<Reply, ApiError> {
    let (account, message, sid) = path.into_inner();
    let (account, message) = visible_message(&state, &caller, &account, &message).await?;
    let up = uris::media_list(&account, &message);
    let sid = MediaSid::parse(&sid).ok_or_else(|| ApiError::not_found(up.clone()))?;
    let media = state
        .db
        .read(move |conn| store::media::find(conn, &account, &message, &sid))
        .await?
        .ok_or_else(|| ApiError::not_found(up))?;
    Ok(Reply::Ok(model::media(media)))
}

/// Deletes one media item.
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let (account, message, sid) = path.into_inner();
    let (account, message) = visible_message(&state, &caller, &account, &message).await?;
    let up = uris::media_list(&account, &message);
    let sid = MediaSid::parse(&sid).ok_or_else(|| ApiError::not_found(up.clone()))?;
    let if_match = IfMatch::from_request(&req);
    let u = up.clone();
    state
        .db
        .write(move |conn| {
            let current = store::media::find(conn, &account, &message, &sid)?.ok_or_else(|| ApiError::not_found(u.clone()))?;
            if_match.check(&model::media(current))?;
            if store::media::delete(conn, &account, &message, &sid, dates::now())? {
                Ok(())
            } else {
                Err(ApiError::not_found(u))
            }
        })
        .await?;
    Ok(Reply::Deleted(vec![Link::new("self", req.path().to_owned()), Link::new("up", up)]))
}
