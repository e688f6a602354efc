//! `Idempotency-Key` on creating POSTs: the same key with the same request by the same principal
//! within 24 hours answers the stored first response and creates nothing; the same key with a
//! different body answers 422; the same key while the first request is still running, 409.
//! Keys are stored in SQLite, so replays survive restarts; the key is taken in the same
//! transaction as the request's own write, so a retry after a crash that cut the first answer off
//! is never carried out twice (it answers `303 See Other` to what was created, or 409).
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Mutex;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// Keys whose first request is still being answered.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

struct Release<'a>(&'a InFlight, (String, String));

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0 .0.lock() {
            s.remove(&self.1);
        }
    }
}

const REPLAYED_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::LINK,
    header::LAST_MODIFIED,
];

enum Prepared {
    Replay(HttpResponse),
    Run { request_hash: Vec<u8>, body: web::Bytes },
}

async fn prepare(req: &mut ServiceRequest, state: &AppState, principal: &str, key: &str) -> Result<Prepared, ApiError> {
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::bad_request("Idempotency-Key must be 1 to 255 characters"));
    }
    let mut payload = req.take_payload();
    let timeout = std::time::Duration::from_secs(state.config.client_timeout);
    let body = super::params::read_body(state.config.body_limit, timeout, &mut payload).await?;
    let mut hasher = Sha256::new();
    hasher.update(req.path().as_bytes());
    hasher.update([0]);
    hasher.update(req.query_string().as_bytes());
    hasher.update([0]);
    hasher.update(&body);
    let request_hash = hasher.finalize().to_vec();
    let now = crate::domain::dates::now();
    let (p, k) = (principal.to_owned(), key.to_owned());
    let stored = state.db.read(move |c| store::idempotency::find(c, &p, &k, now)).await?;
    let Some(stored) = stored else {
        return Ok(Prepared::Run { request_hash, body });
    };
    if stored.request_hash != request_hash {
        return Err(ApiError::unprocessable(
            "This Idempotency-Key was already used with a different request; use a new key for a new request",
        ));
    }
    let headers: Vec<(String, String)> = serde_json::from_str(&stored.headers).unwrap_or_default();
    if stored.status == store::idempotency::PLACEHOLDER_STATUS {
        // Carried out, but the process stopped before its response was stored (a crash): never
        // carry it out again; send the client to what it created, when that is known.
        return match headers.into_iter().find(|(n, _)| n.eq_ignore_ascii_case("location")) {
            Some((_, location)) => Ok(Prepared::Replay(
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location))
                    .insert_header(("Idempotent-Replayed", "true"))
                    .finish(),
            )),
            None => Err(ApiError::conflict(
                20409,
                "The request with this Idempotency-Key was carried out, but the server stopped before it could answer; it was not carried out twice. Find its result in the collection",
            )
            .link("up", req.path().to_owned())),
        };
    }
    let mut res = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    for (n, v) in headers {
        res.append_header((n, v));
    }
    res.insert_header(("Idempotent-Replayed", "true"));
    // Stored bodies are sealed: a creating response may hold a secret (an account's auth token,
    // a session token) that must never rest in the database in the clear.
    let body = state.sealer.open(&stored.body).ok_or_else(|| {
        tracing::warn!("a stored idempotent response could not be decrypted (wrong key?)");
        ApiError::internal()
    })?;
    Ok(Prepared::Replay(res.body(body)))
}

/// Runs a POST that carries an `Idempotency-Key`, replaying or storing its response.
pub async fn handle(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
    state: web::Data<AppState>,
    principal: String,
    key: String,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (request_hash, body) = match prepare(&mut req, &state, &principal, &key).await {
        Err(e) => return Ok(req.into_response(e.error_response())),
        Ok(Prepared::Replay(res)) => return Ok(req.into_response(res)),
        Ok(Prepared::Run { request_hash, body }) => (request_hash, body),
    };
    let now = crate::domain::dates::now();
    let slot = (principal.clone(), key.clone());
    {
        let mut set = state.idempotency.0.lock().unwrap_or_else(|e| e.into_inner());
        if !set.insert(slot.clone()) {
            let e = ApiError::conflict(20409, "A request with this Idempotency-Key is still being processed; retry shortly")
                .header("Retry-After", "1");
            return Ok(req.into_response(e.error_response()));
        }
    }
    let _release = Release(&state.idempotency, slot);
    req.set_payload(actix_web::dev::Payload::from(body));
    let pending = store::idempotency::Pending::new(principal.clone(), key.clone(), request_hash.clone());
    let res = store::idempotency::during(pending, next.call(req)).await?;
    if !res.status().is_success() || res.response().extensions().get::<ApiError>().is_some() {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let status = res.status();
    let headers: Vec<(String, String)> = REPLAYED_HEADERS
        .iter()
        .filter_map(|n| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(|v| (n.to_string(), v.to_owned()))
        })
        .collect();
    let (res, body) = res.into_parts();
    let bytes = to_bytes(body).await.map_err(|_| ApiError::internal())?;
    let record = store::idempotency::Stored {
        request_hash,
        status: status.as_u16(),
        headers: serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()),
        body: state.sealer.seal(&bytes),
    };
    let (p, k) = (principal, key);
    if let Err(e) = state.db.write(move |c| store::idempotency::insert(c, &p, &k, &record, now)).await {
        tracing::warn!(error = %e, "could not store an idempotency key");
    }
    let res = res.set_body(bytes.boxed());
    let mut res = ServiceResponse::new(req, res);
    res.headers_mut()
        .insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("false"));
    Ok(res)
}
