//! Messages: Twilio's create, fetch, list (with filters and keyset paging), update (redact,
//! cancel) and delete, plus the caller's own entry point.
use super::{requested_uri, visible_account, visible_message};
use crate::domain::dates::{self, When};
use crate::domain::message::{self as rules, MessageStatus, MAX_BODY_CHARS};
use crate::domain::sid::{AccountSid, MediaSid, MessageSid};
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
use crate::store::messages::{CancelOutcome, DeleteOutcome, Filter, NewMessage};
use actix_web::{web, HttpRequest};

/// Most media URLs on one message (Twilio's limit).
pub const MAX_MEDIA: usize = 10;

/// `GET /2010-04-01/Messages.json`: 303 to the caller's own message collection.
pub async fn mine(caller: Caller, req: HttpRequest) -> Reply {
    Reply::SeeOther(uris::with_raw_query(&uris::messages(&caller.account), req.query_string()))
}

/// Checks a callback URL: absolute http(s), and a host the configuration allows.
pub fn check_callback(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::invalid(21609, format!("StatusCallback '{raw}' is not usable: {why}"));
    let url = url::Url::parse(raw).map_err(|_| bad("it is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https URLs are allowed"));
    }
    let host = url.host_str().ok_or_else(|| bad("it has no host"))?;
    let allowed = state.config.callback_allow.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(host));
    if !allowed {
        return Err(bad(
            "its host is not in this server's allowed callback destinations (--callback-allow)",
        ));
    }
    // Kept exactly as given: the signature covers this string, and the receiver validates
    // against the URL it was configured with.
    Ok(raw.to_owned())
}

fn parse_send_at(params: &Params) -> Result<Option<i64>, ApiError> {
    let Some(raw) = params.get("SendAt").filter(|s| !s.is_empty()) else {
        if params.get("ScheduleType").is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::invalid(35111, "ScheduleType needs SendAt"));
        }
        return Ok(None);
    };
    match params.get("ScheduleType") {
        Some("fixed") => {}
        Some(other) => return Err(ApiError::invalid(35111, format!("ScheduleType must be 'fixed'; got '{other}'"))),
        None => return Err(ApiError::invalid(35111, "SendAt needs ScheduleType=fixed")),
    }
    let at = When::parse(raw).map(When::start).ok_or_else(|| {
        ApiError::invalid(
            35111,
            format!("SendAt must be an ISO 8601 date-time such as 2030-01-01T12:00:00Z; got '{raw}'"),
        )
    })?;
    let now = dates::now();
    if at <= now {
        return Err(ApiError::invalid(35114, "SendAt must be in the future"));
    }
    if at > now + 35 * 86_400 {
        return Err(ApiError::invalid(35114, "SendAt must be at most 35 days ahead"));
    }
    Ok(Some(at))
}

/// Validates a create request the way Twilio does, in Twilio's order.
fn validate(state: &AppState, account: AccountSid, params: &Params) -> Result<NewMessage, ApiError> {
    let to = params
        .get("To")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(21604, "A 'To' phone number is required."))?;
    if !rules::is_e164(to) {
        return Err(ApiError::invalid(
            21211,
            format!("The 'To' number {to} is not a valid phone number (E.164, like +15005550006)."),
        ));
    }
    let from = params
        .get("From")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(21603, "A 'From' phone number is required."))?;
    if !rules::is_e164(from) {
        return Err(ApiError::invalid(
            21212,
            format!("The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."),
        ));
    }
    let body = params.get("Body").unwrap_or("");
    let media: Vec<&str> = params.all("MediaUrl").into_iter().filter(|m| !m.is_empty()).collect();
    if body.is_empty() && media.is_empty() {
        return Err(ApiError::invalid(21602, "Message body is required (send Body, MediaUrl, or both)."));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::invalid(
            21617,
            format!("The concatenated message body exceeds the {MAX_BODY_CHARS} character limit."),
        ));
    }
    if media.len() > MAX_MEDIA {
        return Err(ApiError::invalid(
            21620,
            format!("At most {MAX_MEDIA} MediaUrl values are allowed per message."),
        ));
    }
    for m in &media {
        let ok = url::Url::parse(m).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(ApiError::invalid(
                21620,
                format!("Invalid media URL '{m}': it must be an absolute http or https URL."),
            ));
        }
    }
    if let Some((code, msg)) = rules::magic_from(from).or_else(|| rules::magic_to(to)) {
        return Err(ApiError::invalid(code, msg));
    }
    let status_callback = match params.get("StatusCallback").filter(|s| !s.is_empty()) {
        Some(raw) => Some(check_callback(state, raw)?),
        None => None,
    };
    let send_at = parse_send_at(params)?;
    let now = dates::now();
    Ok(NewMessage {
        sid: MessageSid::generate(),
        account,
        to: to.to_owned(),
        from: from.to_owned(),
        body: body.to_owned(),
        status: if send_at.is_some() {
            MessageStatus::Scheduled
        } else {
            MessageStatus::Queued
        },
        direction: "outbound-api",
        num_segments: if body.is_empty() { 1 } else { rules::segments(body) },
        media: media
            .iter()
            .map(|m| (MediaSid::generate(), (*m).to_owned(), rules::content_type_for(m).to_owned()))
            .collect(),
        status_callback,
        send_at,
        next_step_at: Some(send_at.map(|s| s * 1000).unwrap_or_else(dates::now_millis)),
        now,
        date_sent: None,
    })
}

/// Sends a message: 201 with the message in `queued` (or `scheduled`) state.
pub async fn create(state: web::Data<AppState>, caller: Caller, path: web::Path<String>, params: Params) -> Result<Reply, ApiError> {
    let account = visible_account(&state, &caller, &path).await?;
    let new = validate(&state, account, &params)?;
    store::idempotency::will_create(&uris::message(&new.account, &new.sid));
    let message = state.db.write(move |conn| store::messages::insert(conn, &new)).await?;
    state.dispatch.notify_one();
    Ok(Reply::Created(model::message(message)))
}

/// One message.
pub async fn fetch(state: web::Data<AppState>, caller: Caller, path: web::Path<(String, String)>) -> Result<Reply, ApiError> {
    let (account, sid) = path.into_inner();
    let (account, sid) = visible_message(&state, &caller, &account, &sid).await?;
    let up = uris::messages(&account);
    let message = state
        .db
        .read(move |conn| store::messages::find(conn, &account, &sid))
        .await?
        .ok_or_else(|| ApiError::not_found(up))?;
    Ok(Reply::Ok(model::message(message)))
}

fn filter(q: &Params) -> Result<(Filter, Vec<(&'static str, String)>), ApiError> {
    let mut f = Filter::default();
    let mut kept = Vec::new();
    let date = |name: &str, v: &str| {
        When::parse(v)
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time; got '{v}'")))
    };
    if let Some(v) = q.get("To").filter(|v| !v.is_empty()) {
        f.to = Some(v.to_owned());
        kept.push(("To", v.to_owned()));
    }
    if let Some(v) = q.get("From").filter(|v| !v.is_empty()) {
        f.from = Some(v.to_owned());
        kept.push(("From", v.to_owned()));
    }
    if let Some(v) = q.get("DateSent").filter(|v| !v.is_empty()) {
        // DateSent names a day, even when a client (like Twilio's libraries) sends a midnight date-time.
        let day = date("DateSent", v)?.start().div_euclid(86_400) * 86_400;
        f.sent_after = Some(day);
        f.sent_before = Some(day + 86_399);
        kept.push(("DateSent", v.to_owned()));
    }
    if let Some(v) = q.get("DateSent>").filter(|v| !v.is_empty()) {
        f.sent_after = Some(f.sent_after.unwrap_or(i64::MIN).max(date("DateSent>", v)?.start()));
        kept.push(("DateSent>", v.to_owned()));
    }
    if let Some(v) = q.get("DateSent<").filter(|v| !v.is_empty()) {
        f.sent_before = Some(f.sent_before.unwrap_or(i64::MAX).min(date("DateSent<", v)?.end()));
        kept.push(("DateSent<", v.to_owned()));
    }
    Ok((f, kept))
}

/// An account's messages, newest first.
pub async fn list(state: web::Data<AppState>, caller: Caller, path: web::Path<String>, req: HttpRequest) -> Result<Reply, ApiError> {
    let account = visible_account(&state, &caller, &path).await?;
    let q = Params::from_query(&req)?;
    let page = paging::parse(&q)?;
    let (f, kept) = filter(&q)?;
    let (a, window) = (account.clone(), page.window);
    let slice = state.db.read(move |conn| store::messages::list(conn, &a, &f, &window)).await?;
    let base = uris::messages(&account);
    let paging = paging::paging(&base, &kept, &page, &slice);
    Ok(Reply::Ok(model::messages(&account, requested_uri(&req), paging, slice.items)))
}

enum Change {
    Redact,
    Cancel,
}

/// Redacts (`Body=""`) or cancels (`Status=canceled`) a message, as Twilio's POST-update does;
/// PUT and PATCH follow the same rules. `If-Match` guards against lost updates.
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    params: Params,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let (account, sid) = path.into_inner();
    let (account, sid) = visible_message(&state, &caller, &account, &sid).await?;
    let change = match (params.has("Body"), params.get("Status")) {
        (true, Some(_)) => {
            return Err(ApiError::invalid(
                30400,
                "Send either Body=\"\" (redact) or Status=canceled (cancel), not both",
            ))
        }
        (true, None) if params.get("Body") == Some("") => Change::Redact,
        (true, None) => return Err(ApiError::invalid(30400, "Body can only be updated to an empty string (redaction)")),
        (false, Some("canceled")) => Change::Cancel,
        (false, Some(other)) => {
            return Err(ApiError::invalid(
                30400,
                format!("Status can only be updated to 'canceled'; got '{other}'"),
            ))
        }
        (false, None) => {
            return Err(ApiError::invalid(
                30400,
                "Nothing to update: send Body=\"\" to redact or Status=canceled to cancel",
            ))
        }
    };
    let if_match = IfMatch::from_request(&req);
    let up = uris::messages(&account);
    let message = state
        .db
        .write(move |conn| {
            let now = dates::now();
            let current = store::messages::find(conn, &account, &sid)?.ok_or_else(|| ApiError::not_found(up.clone()))?;
            if_match.check(&model::message(current))?;
            match change {
                Change::Redact => store::messages::redact(conn, &account, &sid, now)?.ok_or_else(|| ApiError::not_found(up)),
                Change::Cancel => match store::messages::cancel(conn, &account, &sid, now)? {
                    CancelOutcome::Canceled(m) => Ok(m),
                    CancelOutcome::NotFound => Err(ApiError::not_found(up)),
                    CancelOutcome::TooLate(status) => Err(ApiError::conflict(
                        30409,
                        format!("This message cannot be canceled: it is already {status}"),
                    )),
                },
            }
        })
        .await?;
    Ok(Reply::Ok(model::message(message)))
}

/// Deletes a message with its media and feedback (not while it is being sent: 20009).
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let (account, sid) = path.into_inner();
    let (account, sid) = visible_message(&state, &caller, &account, &sid).await?;
    let if_match = IfMatch::from_request(&req);
    let up = uris::messages(&account);
    let (a, s, u) = (account.clone(), sid.clone(), up.clone());
    state
        .db
        .write(move |conn| {
            if if_match != IfMatch::Absent {
                let current = store::messages::find(conn, &a, &s)?.ok_or_else(|| ApiError::not_found(u.clone()))?;
                if_match.check(&model::message(current))?;
            }
            match store::messages::delete(conn, &a, &s)? {
                DeleteOutcome::Deleted => Ok(()),
                DeleteOutcome::NotFound => Err(ApiError::not_found(u)),
                DeleteOutcome::Sending => Err(ApiError::conflict(
                    20009,
                    "This message is being sent right now and cannot be deleted; retry in a moment",
                )),
            }
        })
        .await?;
    Ok(Reply::Deleted(vec![Link::new("self", req.path().to_owned()), Link::new("up", up)]))
}
