//! The status-callback outbox: rows written in the same transaction as the status change they
//! report, deleted once the receiver answered 2xx (at-least-once delivery that survives restarts).
use super::StoreError;
use rusqlite::Connection;

/// A callback waiting to be sent.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Row id (also the order within a message).
    pub id: i64,
    /// The message it reports on.
    pub message_sid: String,
    /// Whose auth token signs it.
    pub account_sid: String,
    /// Where it goes.
    pub url: String,
    /// Form-encoded parameters.
    pub params: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// Queues a callback.
pub fn enqueue(conn: &Connection, message_sid: &str, account_sid: &str, url: &str, params: &str, now_ms: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO callbacks (message_sid, account_sid, url, params, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(rusqlite::params![message_sid, account_sid, url, params, now_ms])?;
    Ok(())
}

/// Due callbacks, at most one per message (the oldest), so each message's arrive in order.
pub fn due(conn: &Connection, now_ms: i64, limit: u32, exclude_messages: &[String]) -> Result<Vec<Pending>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_sid, account_sid, url, params, attempts FROM callbacks c
         WHERE next_attempt_at <= ?1 AND id = (SELECT min(id) FROM callbacks d WHERE d.message_sid = c.message_sid)
         ORDER BY next_attempt_at LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(rusqlite::params![now_ms, limit + exclude_messages.len() as u32], |r| {
            Ok(Pending {
                id: r.get(0)?,
                message_sid: r.get(1)?,
                account_sid: r.get(2)?,
                url: r.get(3)?,
                params: r.get(4)?,
                attempts: r.get(5)?,
            })
        })?
        .filter(|p| p.as_ref().map(|p| !exclude_messages.contains(&p.message_sid)).unwrap_or(true))
        .take(limit as usize)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The earliest time (ms) a callback is due.
pub fn next_due(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT min(next_attempt_at) FROM callbacks")?
        .query_row([], |r| r.get(0))?)
}

/// Removes a delivered (or abandoned) callback.
pub fn remove(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM callbacks WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub fn reschedule(conn: &Connection, id: i64, attempts: u32, next_ms: i64, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE callbacks SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1")?
        .execute(rusqlite::params![id, attempts, next_ms, error])?;
    Ok(())
}
