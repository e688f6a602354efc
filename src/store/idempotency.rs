//! Stored first responses of creating POSTs sent with an `Idempotency-Key`.
use super::{OptionalExtension, StoreError};
use rusqlite::Connection;

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
