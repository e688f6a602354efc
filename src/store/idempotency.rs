//! Stored first responses of creating POSTs sent with an `Idempotency-Key`.
//!
//! While such a request runs ([`during`]), every write it makes also records its key as taken
//! ([`reserve`]), in the same transaction as the write itself. The full response is stored once
//! it is known, a moment later; if the process dies in between, the placeholder (status
//! [`PLACEHOLDER_STATUS`]) still says that the request was carried out, so a retry with the same
//! key cannot carry it out a second time.
use super::{OptionalExtension, StoreError};
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

/// How long a key is remembered.
pub const RETENTION_SECS: i64 = 24 * 3600;

/// A stored response.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Hash of method, path and body of the request that produced it.
    pub request_hash: Vec<u8>,
    /// Its status code.
    pub status: u16,
    /// Its headers, JSON `[[name, value], …]`.
    pub headers: String,
    /// Its body.
    pub body: Vec<u8>,
}

/// The response stored for `(principal, key)` within the retention period.
pub fn find(conn: &Connection, principal: &str, key: &str, now: i64) -> Result<Option<Stored>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT request_hash, status, headers, body FROM idempotency_keys WHERE principal = ?1 AND key = ?2 AND date_created > ?3",
        )?
        .query_row(rusqlite::params![principal, key, now - RETENTION_SECS], |r| {
            Ok(Stored {
                request_hash: r.get(0)?,
                status: r.get(1)?,
                headers: r.get(2)?,
                body: r.get(3)?,
            })
        })
        .optional()?)
}

/// Stores a first response (replacing an expired one under the same key).
pub fn insert(conn: &Connection, principal: &str, key: &str, stored: &Stored, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency_keys (principal, key, request_hash, status, headers, body, date_created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![principal, key, stored.request_hash, stored.status, stored.headers, stored.body, now])?;
    Ok(())
}

/// Forgets keys past the retention period.
pub fn purge(conn: &Connection, now: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM idempotency_keys WHERE date_created <= ?1")?
        .execute([now - RETENTION_SECS])?)
}

/// The status of a placeholder: the request was carried out, its response was not stored yet.
pub const PLACEHOLDER_STATUS: u16 = 0;

/// A creating request with an `Idempotency-Key`, while it runs.
pub struct Pending {
    principal: String,
    key: String,
    request_hash: Vec<u8>,
    location: Mutex<Option<String>>,
}

impl Pending {
    /// The key `key` of `principal`, for the request with this hash.
    pub fn new(principal: String, key: String, request_hash: Vec<u8>) -> Arc<Pending> {
        Arc::new(Pending {
            principal,
            key,
            request_hash,
            location: Mutex::new(None),
        })
    }
}

tokio::task_local! {
    static PENDING: Arc<Pending>;
}

/// Runs `fut` (the request's handler) with `pending` as the current idempotent request.
pub async fn during<F: std::future::Future>(pending: Arc<Pending>, fut: F) -> F::Output {
    PENDING.scope(pending, fut).await
}

/// The idempotent request the calling task is running, if any.
pub fn current() -> Option<Arc<Pending>> {
    PENDING.try_with(Arc::clone).ok()
}

/// Names the resource the running idempotent request is about to create, so that a retry after a
/// crash can be sent to it (`303 See Other`). Does nothing outside such a request.
pub fn will_create(uri: &str) {
    let _ = PENDING.try_with(|p| {
        if let Ok(mut l) = p.location.lock() {
            *l = Some(uri.to_owned());
        }
    });
}

/// Records the key as taken by a write of its request, inside that write's transaction.
pub fn reserve(conn: &Connection, pending: &Pending, now: i64) -> Result<(), StoreError> {
    let location = pending.location.lock().ok().and_then(|l| l.clone());
    let headers: Vec<(&str, String)> = location.into_iter().map(|l| ("location", l)).collect();
    insert(
        conn,
        &pending.principal,
        &pending.key,
        &Stored {
            request_hash: pending.request_hash.clone(),
            status: PLACEHOLDER_STATUS,
            headers: serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()),
            body: Vec::new(),
        },
        now,
    )
}
