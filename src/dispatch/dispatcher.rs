//! The message dispatcher. Each status change is one transaction that also queues the status
//! callback, so a crash between steps loses nothing and repeats nothing: on restart, messages
//! whose step is due (including those left in `sending`) simply take their next step.
use super::Shutdown;
use crate::domain::dates;
use crate::domain::message::{reserved_failure, Message, MessageStatus};
use crate::domain::sid::MessageSid;
use crate::store::messages::{Due, NewMessage, Step};
use crate::store::{self, Db, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Steps queued to the writer at once.
const IN_FLIGHT: usize = 32;

/// Runs until shutdown.
pub async fn run(db: Db, interval_ms: u64, wake: Arc<Notify>, callbacks: Arc<Notify>, mut shutdown: Shutdown) {
    let interval = interval_ms.max(1) as i64;
    // Consecutive rounds in which the database refused writes (full, read-only, gone).
    let mut refused: u32 = 0;
    loop {
        if shutdown.is_set() {
            break;
        }
        let now = dates::now_millis();
        let due = db.read(move |c| store::messages::due(c, now, 500)).await;
        let mut moved = false;
        let mut unavailable = None;
        match due {
            Ok(due) => {
                // Up to IN_FLIGHT steps are queued at a time, so the writer commits many in one
                // group instead of one commit per step, while API writes queued meanwhile wait
                // behind a few steps, not a whole round; each step is still its own savepoint
                // (one failing step rolls back alone, with its callback).
                let mut steps = tokio::task::JoinSet::new();
                let mut due = due.into_iter();
                loop {
                    while unavailable.is_none() && steps.len() < IN_FLIGHT {
                        let Some(d) = due.next() else { break };
                        let db = db.clone();
                        steps.spawn(async move { db.write(move |c| step(c, &d, interval)).await });
                    }
                    let Some(result) = steps.join_next().await else { break };
                    match result {
                        Ok(Ok(true)) => moved = true,
                        Ok(Ok(false)) => {}
                        // No step can be taken now: this round ends, and the dispatcher backs off.
                        Ok(Err(e)) if e.is_unavailable() => unavailable = Some(e),
                        Ok(Err(e)) => tracing::warn!(error = %e, "dispatcher step failed; will retry"),
                        Err(e) => tracing::warn!(error = %e, "dispatcher step task failed; will retry"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "dispatcher could not read due messages"),
        }
        if moved {
            callbacks.notify_one();
        }
        if let Some(e) = unavailable {
            // Back off (0.2 s, 0.4 s, … 5 s) and say so now and then, not in a tight loop.
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(error = %e, rounds = refused, "dispatcher paused: the database refuses writes; retrying with backoff");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis((100u64 << refused.min(6)).min(5000))) => {}
                _ = shutdown.wait() => break,
            }
            continue;
        }
        if refused > 0 {
            tracing::info!(rounds = refused, "dispatcher resumed: the database takes writes again");
            refused = 0;
        }
        let next = db.read(|c| store::messages::next_due(c)).await.ok().flatten();
        let wait = next.map(|n| (n - dates::now_millis()).clamp(0, 1000)).unwrap_or(1000) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait.max(5))) => {}
            _ = wake.notified() => {}
            _ = shutdown.wait() => break,
        }
    }
    tracing::debug!("dispatcher stopped");
}

/// Twilio's status callback parameters for a message in its current status.
pub fn callback_params(m: &Message) -> Vec<(String, String)> {
    let mut p = vec![
        ("MessageSid".to_owned(), m.sid.to_string()),
        ("SmsSid".to_owned(), m.sid.to_string()),
        ("MessageStatus".to_owned(), m.status.to_string()),
        ("SmsStatus".to_owned(), m.status.to_string()),
        ("AccountSid".to_owned(), m.account_sid.to_string()),
        ("From".to_owned(), m.from.clone()),
        ("To".to_owned(), m.to.clone()),
        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
    ];
    if let Some(code) = m.error_code {
        p.push(("ErrorCode".to_owned(), code.to_string()));
    }
    p
}

/// Takes a message's next step inside the caller's transaction. Returns whether it moved.
fn step(conn: &rusqlite::Connection, due: &Due, interval: i64) -> Result<bool, StoreError> {
    let m = &due.message;
    let now_ms = dates::now_millis();
    let now = dates::now();
    let failure = reserved_failure(&m.to);
    let (to, error, date_sent, next) = match m.status {
        MessageStatus::Queued | MessageStatus::Scheduled => (MessageStatus::Sending, None, None, Some(now_ms + interval)),
        MessageStatus::Sending => match failure {
            Some((MessageStatus::Failed, code, msg)) => (MessageStatus::Failed, Some((code, msg)), None, None),
            _ => (MessageStatus::Sent, None, Some(now), Some(now_ms + interval)),
        },
        MessageStatus::Sent => match failure {
            Some((status, code, msg)) => (status, Some((code, msg)), None, None),
            None => (MessageStatus::Delivered, None, None, None),
        },
        // Final states never have a next step; clear a stray one.
        _ => {
            store::messages::clear_step(conn, &m.sid)?;
            return Ok(false);
        }
    };
    let sid: &MessageSid = &m.sid;
    let updated = store::messages::advance(
        conn,
        &Step {
            sid,
            from: m.status,
            to,
            error,
            date_sent,
            next_step_at: next,
            now,
        },
    )?;
    let Some(updated) = updated else { return Ok(false) };
    if let Some(url) = &due.status_callback {
        let params = serde_urlencoded::to_string(callback_params(&updated)).unwrap_or_default();
        store::callbacks::enqueue(conn, updated.sid.as_str(), updated.account_sid.as_str(), url, &params, now_ms)?;
    }
    if to == MessageStatus::Delivered {
        deliver_inbound(conn, &updated, now)?;
    }
    Ok(true)
}

/// A message to a number another account sends from arrives in that account as inbound.
fn deliver_inbound(conn: &rusqlite::Connection, m: &Message, now: i64) -> Result<(), StoreError> {
    let Some(owner) = store::messages::number_owner(conn, &m.to)? else {
        return Ok(());
    };
    if owner == m.account_sid {
        return Ok(());
    }
    store::messages::insert(
        conn,
        &NewMessage {
            sid: MessageSid::generate(),
            account: owner,
            to: m.to.clone(),
            from: m.from.clone(),
            body: m.body.clone(),
            status: MessageStatus::Received,
            direction: "inbound",
            num_segments: m.num_segments,
            media: Vec::new(),
            status_callback: None,
            send_at: None,
            next_step_at: None,
            now,
            date_sent: Some(now),
        },
    )?;
    Ok(())
}
