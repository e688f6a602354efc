//! Media items and feedback of messages.
use super::{OptionalExtension, Slice, StoreError, Window};
use crate::domain::message::{Feedback, Media};
use crate::domain::sid::{AccountSid, MediaSid, MessageSid};
use rusqlite::{named_params, Connection, Row};

const COLUMNS: &str = "seq, sid, message_sid, account_sid, content_type, url, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<(i64, Media)> {
    Ok((
        r.get(0)?,
        Media {
            sid: MediaSid::from_trusted(r.get(1)?),
            parent_sid: MessageSid::from_trusted(r.get(2)?),
            account_sid: AccountSid::from_trusted(r.get(3)?),
            content_type: r.get(4)?,
            url: r.get(5)?,
            date_created: r.get(6)?,
            date_updated: r.get(7)?,
        },
    ))
}

/// The media of a message, oldest first.
pub fn list(conn: &Connection, account: &AccountSid, message: &MessageSid, window: &Window) -> Result<Slice<Media>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM media WHERE message_sid = :message AND account_sid = :account AND {} ORDER BY seq {} LIMIT :limit",
        window.condition_asc("seq"),
        window.order_asc()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            named_params! {":message": message.as_str(), ":account": account.as_str(), ":pos": window.position(), ":limit": window.limit()},
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(window.slice(rows))
}

/// One media item of a message.
pub fn find(conn: &Connection, account: &AccountSid, message: &MessageSid, sid: &MediaSid) -> Result<Option<Media>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM media WHERE sid = ?1 AND message_sid = ?2 AND account_sid = ?3"
        ))?
        .query_row([sid.as_str(), message.as_str(), account.as_str()], from_row)
        .optional()?
        .map(|(_, m)| m))
}

/// Deletes one media item and keeps the message's `num_media` true; false when there was none.
pub fn delete(conn: &Connection, account: &AccountSid, message: &MessageSid, sid: &MediaSid, now: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM media WHERE sid = ?1 AND message_sid = ?2 AND account_sid = ?3")?
        .execute([sid.as_str(), message.as_str(), account.as_str()])?;
    if n > 0 {
        conn.prepare_cached("UPDATE messages SET num_media = num_media - 1, date_updated = ?2 WHERE sid = ?1")?
            .execute(rusqlite::params![message.as_str(), now])?;
    }
    Ok(n > 0)
}

/// The feedback on a message, if any was given.
pub fn find_feedback(conn: &Connection, account: &AccountSid, message: &MessageSid) -> Result<Option<Feedback>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT account_sid, message_sid, outcome, date_created, date_updated FROM feedback WHERE message_sid = ?1 AND account_sid = ?2")?
        .query_row([message.as_str(), account.as_str()], |r| {
            Ok(Feedback {
                account_sid: AccountSid::from_trusted(r.get(0)?),
                message_sid: MessageSid::from_trusted(r.get(1)?),
                outcome: Some(r.get(2)?),
                date_created: Some(r.get(3)?),
                date_updated: Some(r.get(4)?),
            })
        })
        .optional()?)
}

/// Records (or replaces) the feedback on a message.
pub fn upsert_feedback(
    conn: &Connection,
    account: &AccountSid,
    message: &MessageSid,
    outcome: &str,
    now: i64,
) -> Result<Feedback, StoreError> {
    conn.prepare_cached(
        "INSERT INTO feedback (message_sid, account_sid, outcome, date_created, date_updated) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (message_sid) DO UPDATE SET outcome = excluded.outcome, date_updated = excluded.date_updated",
    )?
    .execute(rusqlite::params![message.as_str(), account.as_str(), outcome, now])?;
    find_feedback(conn, account, message)?.ok_or_else(|| StoreError::Corrupt("feedback vanished".into()))
}
