//! Status callbacks: POSTed form-encoded to the message's `StatusCallback`, signed with
//! `X-Twilio-Signature`, at least once, in order per message, with exponential backoff
//! (bounded: 10 attempts over about 17 minutes). A slow or dead receiver only delays its own
//! callbacks: sends run on their own tasks with a timeout, never on the API's path.
use super::Shutdown;
use crate::crypto::{twilio_signature, Sealer};
use crate::domain::dates;
use crate::store::{self, Db};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Attempts before a callback is given up.
pub const MAX_ATTEMPTS: u32 = 10;
/// Concurrent sends.
const CONCURRENCY: usize = 16;

/// Backoff before attempt `n + 1` (after `n` failures): 1 s, 2 s, 4 s, … capped at 5 minutes.
pub fn backoff_ms(failures: u32) -> i64 {
    (1000i64 << failures.min(9)).min(300_000)
}

/// Runs until shutdown.
pub async fn run(db: Db, sealer: Sealer, wake: Arc<Notify>, mut shutdown: Shutdown) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .user_agent("TwilioProxy/1.1 (signpost)")
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("status callbacks disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        if shutdown.is_set() {
            break;
        }
        let now = dates::now_millis();
        let busy: Vec<String> = in_flight.lock().map(|s| s.iter().cloned().collect()).unwrap_or_default();
        let due = db
            .read(move |c| store::callbacks::due(c, now, 64, &busy))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read due callbacks");
                Vec::new()
            });
        for cb in due {
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            if let Ok(mut s) = in_flight.lock() {
                s.insert(cb.message_sid.clone());
            }
            let (db, sealer, client, in_flight, wake) = (db.clone(), sealer.clone(), client.clone(), in_flight.clone(), wake.clone());
            tokio::spawn(async move {
                send(&db, &sealer, &client, cb.clone()).await;
                if let Ok(mut s) = in_flight.lock() {
                    s.remove(&cb.message_sid);
                }
                drop(permit);
                wake.notify_one();
            });
        }
        let next = db.read(|c| store::callbacks::next_due(c)).await.ok().flatten();
        let wait = next.map(|n| (n - dates::now_millis()).clamp(0, 1000)).unwrap_or(1000) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait.max(10))) => {}
            _ = wake.notified() => {}
            _ = shutdown.wait() => break,
        }
    }
    tracing::debug!("callback sender stopped");
}

async fn send(db: &Db, sealer: &Sealer, client: &reqwest::Client, cb: store::callbacks::Pending) {
    let account = cb.account_sid.clone();
    let sealed = db.read(move |c| store::accounts::sealed_token(c, &account)).await.ok().flatten();
    let Some(token) = sealed.and_then(|s| sealer.open(&s)).and_then(|t| String::from_utf8(t).ok()) else {
        tracing::warn!(message = %cb.message_sid, "dropping a status callback: the account or its key is gone");
        let id = cb.id;
        let _ = db.write(move |c| store::callbacks::remove(c, id)).await;
        return;
    };
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&cb.params).unwrap_or_default();
    let signature = twilio_signature(&token, &cb.url, &params);
    let result = client
        .post(&cb.url)
        .header("X-Twilio-Signature", signature)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(cb.params.clone())
        .send()
        .await;
    let outcome = match result {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(if e.is_timeout() {
            "timed out".to_owned()
        } else {
            "connection failed".to_owned()
        }),
    };
    let id = cb.id;
    let attempts = cb.attempts + 1;
    let write = match outcome {
        Ok(()) => db.write(move |c| store::callbacks::remove(c, id)).await,
        Err(why) if attempts >= MAX_ATTEMPTS => {
            tracing::warn!(message = %cb.message_sid, attempts, "giving up on a status callback: {why}");
            db.write(move |c| store::callbacks::remove(c, id)).await
        }
        Err(why) => {
            tracing::debug!(message = %cb.message_sid, attempts, "status callback failed ({why}); will retry");
            let next = dates::now_millis() + backoff_ms(cb.attempts);
            db.write(move |c| store::callbacks::reschedule(c, id, attempts, next, &why)).await
        }
    };
    if let Err(e) = write {
        // The store refuses writes (disk full, read-only): keep this message's slot busy for a
        // while, or the same callback would be sent again at once, flooding its receiver.
        tracing::warn!(error = %e, "cannot record a callback attempt; pausing this message's callbacks for 5 s");
        tokio::time::sleep(WRITE_FAILURE_PAUSE).await;
    }
}

/// How long a message's callbacks wait after the store refused to record an attempt.
const WRITE_FAILURE_PAUSE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff_ms(0), 1000);
        assert_eq!(super::backoff_ms(3), 8000);
        assert_eq!(super::backoff_ms(30), 300_000);
    }
}
