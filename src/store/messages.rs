//! Messages (with their media rows) and the sender-number registry.
use super::{OptionalExtension, Slice, StoreError, Window};
use crate::domain::message::{Message, MessageStatus};
use crate::domain::sid::{AccountSid, MediaSid, MessageSid};
use rusqlite::{named_params, Connection, Row};

/// What creating a message stores.
pub struct NewMessage {
    /// The new sid.
    pub sid: MessageSid,
    /// The owner.
    pub account: AccountSid,
    /// Recipient.
    pub to: String,
    /// Sender.
    pub from: String,
    /// Text.
    pub body: String,
    /// `queued`, `scheduled` (outbound) or `received` (inbound).
    pub status: MessageStatus,
    /// `outbound-api` or `inbound`.
    pub direction: &'static str,
    /// Carrier segments.
    pub num_segments: u32,
    /// Media: sid, URL, content type.
    pub media: Vec<(MediaSid, String, String)>,
    /// Where status changes are POSTed.
    pub status_callback: Option<String>,
    /// Scheduled send time (seconds).
    pub send_at: Option<i64>,
    /// When the dispatcher first looks at it (ms); `None` for a final state.
    pub next_step_at: Option<i64>,
    /// Creation time (seconds).
    pub now: i64,
    /// Set for inbound messages, which arrive already "sent".
    pub date_sent: Option<i64>,
}

/// Filters of the message list (Twilio's `To`, `From`, `DateSent`, `DateSent<`, `DateSent>`).
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Exact recipient.
    pub to: Option<String>,
    /// Exact sender.
    pub from: Option<String>,
    /// Sent at or after (seconds).
    pub sent_after: Option<i64>,
    /// Sent at or before (seconds).
    pub sent_before: Option<i64>,
}

/// The columns `from_row` reads, in order (a macro, so that constant queries can be `concat!`ed).
macro_rules! columns {
    () => {
        "seq, sid, account_sid, to_number, from_number, body, status, direction, num_segments, num_media, \
    error_code, error_message, date_created, date_updated, date_sent, send_at"
    };
}

/// The columns `from_row` reads, in order.
pub const COLUMNS: &str = columns!();

/// Reads a message row selected with [`COLUMNS`].
pub fn from_row(r: &Row) -> rusqlite::Result<(i64, Message)> {
    let status: String = r.get(6)?;
    let direction: String = r.get(7)?;
    Ok((
        r.get(0)?,
        Message {
            sid: MessageSid::from_trusted(r.get(1)?),
            account_sid: AccountSid::from_trusted(r.get(2)?),
            to: r.get(3)?,
            from: r.get(4)?,
            body: r.get(5)?,
            status: MessageStatus::parse(&status).unwrap_or(MessageStatus::Failed),
            direction: if direction == "inbound" { "inbound" } else { "outbound-api" },
            num_segments: r.get(8)?,
            num_media: r.get(9)?,
            error_code: r.get(10)?,
            error_message: r.get(11)?,
            date_created: r.get(12)?,
            date_updated: r.get(13)?,
            date_sent: r.get(14)?,
            send_at: r.get(15)?,
            price: None,
            price_unit: "USD",
            messaging_service_sid: None,
            api_version: "2010-04-01",
        },
    ))
}

/// Stores a message and its media; for outbound messages, records the sender number as the
/// account's if nobody has used it yet.
pub fn insert(conn: &Connection, new: &NewMessage) -> Result<Message, StoreError> {
    let seq = conn
        .prepare_cached(
            "INSERT INTO messages (sid, account_sid, to_number, from_number, body, status, direction, num_segments, num_media,
                                   status_callback, send_at, next_step_at, date_created, date_updated, date_sent)
             VALUES (:sid, :account, :to, :from, :body, :status, :direction, :segments, :num_media, :callback, :send_at, :next, :now, :now, :sent)",
        )?
        .insert(named_params! {
            ":sid": new.sid.as_str(), ":account": new.account.as_str(), ":to": new.to, ":from": new.from, ":body": new.body,
            ":status": new.status.to_string(), ":direction": new.direction, ":segments": new.num_segments,
            ":num_media": new.media.len() as u32, ":callback": new.status_callback, ":send_at": new.send_at,
            ":next": new.next_step_at, ":now": new.now, ":sent": new.date_sent,
        })?;
    let _ = seq;
    for (sid, url, content_type) in &new.media {
        conn.prepare_cached(
            "INSERT INTO media (sid, message_sid, account_sid, content_type, url, date_created, date_updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?
        .execute(rusqlite::params![sid.as_str(), new.sid.as_str(), new.account.as_str(), content_type, url, new.now])?;
    }
    if new.direction == "outbound-api" {
        conn.prepare_cached("INSERT OR IGNORE INTO numbers (number, account_sid) VALUES (?1, ?2)")?
            .execute([new.from.as_str(), new.account.as_str()])?;
    }
    Ok(Message {
        sid: new.sid.clone(),
        account_sid: new.account.clone(),
        to: new.to.clone(),
        from: new.from.clone(),
        body: new.body.clone(),
        status: new.status,
        direction: new.direction,
        num_segments: new.num_segments,
        num_media: new.media.len() as u32,
        error_code: None,
        error_message: None,
        date_created: new.now,
        date_updated: new.now,
        date_sent: new.date_sent,
        send_at: new.send_at,
        price: None,
        price_unit: "USD",
        messaging_service_sid: None,
        api_version: "2010-04-01",
    })
}

/// The message `sid` of `account`.
pub fn find(conn: &Connection, account: &AccountSid, sid: &MessageSid) -> Result<Option<Message>, StoreError> {
    Ok(conn
        .prepare_cached(concat!("SELECT ", columns!(), " FROM messages WHERE sid = ?1 AND account_sid = ?2"))?
        .query_row([sid.as_str(), account.as_str()], from_row)
        .optional()?
        .map(|(_, m)| m))
}

/// The account's messages, newest first, filtered, one window at a time.
pub fn list(conn: &Connection, account: &AccountSid, filter: &Filter, window: &Window) -> Result<Slice<Message>, StoreError> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE account_sid = :account AND {}",
        window.condition_desc("seq")
    );
    if filter.to.is_some() {
        sql.push_str(" AND to_number = :to");
    }
    if filter.from.is_some() {
        sql.push_str(" AND from_number = :from");
    }
    if filter.sent_after.is_some() {
        sql.push_str(" AND date_sent >= :after");
    }
    if filter.sent_before.is_some() {
        sql.push_str(" AND date_sent <= :before");
    }
    sql.push_str(&format!(" ORDER BY seq {} LIMIT :limit", window.order_desc()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let account = account.as_str();
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":account", &account)];
    let pos = window.position();
    let limit = window.limit();
    params.push((":pos", &pos));
    params.push((":limit", &limit));
    if let Some(to) = &filter.to {
        params.push((":to", to));
    }
    if let Some(from) = &filter.from {
        params.push((":from", from));
    }
    if let Some(after) = &filter.sent_after {
        params.push((":after", after));
    }
    if let Some(before) = &filter.sent_before {
        params.push((":before", before));
    }
    let rows = stmt.query_map(params.as_slice(), from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(window.slice(rows))
}

/// Redacts the body for good; `None` when there is no such message.
pub fn redact(conn: &Connection, account: &AccountSid, sid: &MessageSid, now: i64) -> Result<Option<Message>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "UPDATE messages SET body = '', date_updated = :now WHERE sid = :sid AND account_sid = :account RETURNING {COLUMNS}"
        ))?
        .query_row(
            named_params! {":now": now, ":sid": sid.as_str(), ":account": account.as_str()},
            from_row,
        )
        .optional()?
        .map(|(_, m)| m))
}

/// What canceling found.
#[derive(Debug)]
pub enum CancelOutcome {
    /// Canceled; the message as it is now.
    Canceled(Message),
    /// No such message.
    NotFound,
    /// Too late: it is in this state.
    TooLate(MessageStatus),
}

/// Cancels a message that is still `queued` or `scheduled`.
pub fn cancel(conn: &Connection, account: &AccountSid, sid: &MessageSid, now: i64) -> Result<CancelOutcome, StoreError> {
    let updated = conn
        .prepare_cached(&format!(
            "UPDATE messages SET status = 'canceled', next_step_at = NULL, date_updated = :now
             WHERE sid = :sid AND account_sid = :account AND status IN ('queued', 'scheduled') RETURNING {COLUMNS}"
        ))?
        .query_row(
            named_params! {":now": now, ":sid": sid.as_str(), ":account": account.as_str()},
            from_row,
        )
        .optional()?;
    Ok(match updated {
        Some((_, m)) => CancelOutcome::Canceled(m),
        None => match find(conn, account, sid)? {
            Some(m) => CancelOutcome::TooLate(m.status),
            None => CancelOutcome::NotFound,
        },
    })
}

/// What deleting found.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Gone, with its media and feedback.
    Deleted,
    /// No such message.
    NotFound,
    /// It is being sent right now (error 20009).
    Sending,
}

/// Deletes a message with its media, feedback and pending callbacks.
pub fn delete(conn: &Connection, account: &AccountSid, sid: &MessageSid) -> Result<DeleteOutcome, StoreError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM messages WHERE sid = ?1 AND account_sid = ?2")?
        .query_row([sid.as_str(), account.as_str()], |r| r.get(0))
        .optional()?;
    match status.as_deref() {
        None => Ok(DeleteOutcome::NotFound),
        Some("sending") => Ok(DeleteOutcome::Sending),
        Some(_) => {
            conn.prepare_cached("DELETE FROM callbacks WHERE message_sid = ?1")?
                .execute([sid.as_str()])?;
            conn.prepare_cached("DELETE FROM messages WHERE sid = ?1")?
                .execute([sid.as_str()])?;
            Ok(DeleteOutcome::Deleted)
        }
    }
}

/// A message the dispatcher has to move.
#[derive(Debug, Clone)]
pub struct Due {
    /// The message.
    pub message: Message,
    /// Where its status changes go.
    pub status_callback: Option<String>,
}

/// Messages whose next dispatch step is due at `now_ms`, oldest step first.
pub fn due(conn: &Connection, now_ms: i64, limit: u32) -> Result<Vec<Due>, StoreError> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, status_callback FROM messages WHERE next_step_at IS NOT NULL AND next_step_at <= ?1 ORDER BY next_step_at LIMIT ?2"
        ))?
        .query_map(rusqlite::params![now_ms, limit], |r| Ok(Due { message: from_row(r)?.1, status_callback: r.get(16)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The next time (ms) any message is due, to sleep until then.
pub fn next_due(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT min(next_step_at) FROM messages WHERE next_step_at IS NOT NULL")?
        .query_row([], |r| r.get(0))?)
}

/// A status change decided by the dispatcher.
pub struct Step<'a> {
    /// The message.
    pub sid: &'a MessageSid,
    /// The status it must still have (the step is skipped if it changed meanwhile, e.g. canceled).
    pub from: MessageStatus,
    /// The new status.
    pub to: MessageStatus,
    /// Error code and message for failures.
    pub error: Option<(u32, &'a str)>,
    /// Set `date_sent` to this.
    pub date_sent: Option<i64>,
    /// When to look again (ms), `None` for a final state.
    pub next_step_at: Option<i64>,
    /// Now (seconds).
    pub now: i64,
}

/// Applies a step if the message is still in `step.from`; returns the message as it is now.
pub fn advance(conn: &Connection, step: &Step) -> Result<Option<Message>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "UPDATE messages SET status = :to, error_code = coalesce(:code, error_code), error_message = coalesce(:emsg, error_message),
                date_sent = coalesce(:sent, date_sent), next_step_at = :next, date_updated = :now
             WHERE sid = :sid AND status = :from RETURNING {COLUMNS}"
        ))?
        .query_row(
            named_params! {
                ":to": step.to.to_string(), ":code": step.error.map(|e| e.0), ":emsg": step.error.map(|e| e.1),
                ":sent": step.date_sent, ":next": step.next_step_at, ":now": step.now, ":sid": step.sid.as_str(), ":from": step.from.to_string(),
            },
            from_row,
        )
        .optional()?
        .map(|(_, m)| m))
}

/// Clears a stray dispatch step of a message already in a final state.
pub fn clear_step(conn: &Connection, sid: &MessageSid) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE messages SET next_step_at = NULL WHERE sid = ?1")?
        .execute([sid.as_str()])?;
    Ok(())
}

/// The account that owns sender number `number`, if any.
pub fn number_owner(conn: &Connection, number: &str) -> Result<Option<AccountSid>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT account_sid FROM numbers WHERE number = ?1")?
        .query_row([number], |r| r.get::<_, String>(0))
        .optional()?
        .map(AccountSid::from_trusted))
}
