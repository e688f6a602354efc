//! Sessions: bearer tokens and browser sign-in. Only a hash of each token is stored.
use super::{OptionalExtension, Slice, StoreError, Window};
use crate::domain::sid::{AccountSid, SessionSid};
use rusqlite::{named_params, Connection, Row};
use serde::Serialize;

/// A session as clients see it (the token itself is shown only in the creating response).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    /// `US…`
    #[schema(value_type = String, pattern = "^US[0-9a-f]{32}$")]
    pub sid: SessionSid,
    /// Whose session it is.
    #[schema(value_type = String, pattern = "^AC[0-9a-f]{32}$")]
    pub account_sid: AccountSid,
    /// RFC 2822.
    #[serde(serialize_with = "crate::domain::message::ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_created: i64,
    /// RFC 2822.
    #[serde(serialize_with = "crate::domain::message::ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_expires: i64,
    /// Not in the JSON: the browser forms' CSRF token.
    #[serde(skip)]
    pub csrf_token: String,
}

const COLUMNS: &str = "rowid, sid, account_sid, date_created, date_expires, csrf_token";

fn from_row(r: &Row) -> rusqlite::Result<(i64, Session)> {
    Ok((
        r.get(0)?,
        Session {
            sid: SessionSid::from_trusted(r.get(1)?),
            account_sid: AccountSid::from_trusted(r.get(2)?),
            date_created: r.get(3)?,
            date_expires: r.get(4)?,
            csrf_token: r.get(5)?,
        },
    ))
}

/// Stores a new session under the hash of its token.
pub fn insert(conn: &Connection, session: &Session, token_hash: &[u8; 32]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (sid, account_sid, token_hash, csrf_token, date_created, date_expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(rusqlite::params![
        session.sid.as_str(),
        session.account_sid.as_str(),
        &token_hash[..],
        session.csrf_token,
        session.date_created,
        session.date_expires
    ])?;
    Ok(())
}

/// The unexpired session whose token hashes to `token_hash`.
pub fn find_by_token(conn: &Connection, token_hash: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE token_hash = ?1 AND date_expires > ?2"
        ))?
        .query_row(rusqlite::params![&token_hash[..], now], from_row)
        .optional()?
        .map(|(_, s)| s))
}

/// The session `sid` if it belongs to `account`.
pub fn find(conn: &Connection, account: &AccountSid, sid: &SessionSid) -> Result<Option<Session>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE sid = ?1 AND account_sid = ?2"))?
        .query_row([sid.as_str(), account.as_str()], from_row)
        .optional()?
        .map(|(_, s)| s))
}

/// The account's unexpired sessions, oldest first.
pub fn list(conn: &Connection, account: &AccountSid, now: i64, window: &Window) -> Result<Slice<Session>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions WHERE account_sid = :account AND date_expires > :now AND {} ORDER BY rowid {} LIMIT :limit",
        window.condition_asc("rowid"),
        window.order_asc()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            named_params! {":account": account.as_str(), ":now": now, ":pos": window.position(), ":limit": window.limit()},
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(window.slice(rows))
}

/// Ends a session; returns its token hash (to evict it from the credential cache) if it existed.
pub fn delete(conn: &Connection, account: &AccountSid, sid: &SessionSid) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE sid = ?1 AND account_sid = ?2 RETURNING token_hash")?
        .query_row([sid.as_str(), account.as_str()], |r| r.get(0))
        .optional()?)
}

/// Removes expired sessions (housekeeping).
pub fn purge_expired(conn: &Connection, now: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE date_expires <= ?1")?
        .execute([now])?)
}
