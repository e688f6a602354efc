//! Crash safety: the real server under concurrent creates and updates is killed with SIGKILL at
//! random moments, restarted on the same database, and checked: every message whose 201 reached
//! the client is there with the acknowledged content, every acknowledged update (redaction,
//! cancellation) too, nothing exists twice — clients retry what got no answer with the same
//! `Idempotency-Key`, as a careful client does — and the dispatcher resumes (every message it had
//! queued or was sending when the process died reaches `delivered`).
use crate::report;
use crate::server::{self, all_messages, as_account, create_account, Account, Rng, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KILL_POINTS: usize = 5;
const WORKERS: usize = 12;
const ACCOUNTS: usize = 3;

/// A create whose 201 reached the client.
#[derive(Clone, Debug)]
struct Acked {
    sid: String,
    uri: String,
    account: usize,
    body: String,
    scheduled: bool,
}

/// A create sent without an answer: it is retried, with the same key and body, after restart.
#[derive(Clone, Debug)]
struct Unanswered {
    marker: String,
    account: usize,
    form: Vec<(String, String)>,
}

#[derive(Default)]
struct Ledger {
    acked: HashMap<String, Acked>,
    unanswered: Vec<Unanswered>,
    redacted: HashSet<String>,
    redact_in_doubt: HashSet<String>,
    canceled: HashSet<String>,
    cancel_in_doubt: HashSet<String>,
    requests: u64,
    /// Answers no request here may get (a 5xx above all).
    server_errors: Vec<String>,
    preconditions_failed: u64,
    retried: u64,
    replayed: u64,
    recovered: u64,
}

fn form_of(marker: &str, account: usize, scheduled: bool) -> Vec<(String, String)> {
    let mut form = vec![
        ("To".to_owned(), format!("+1415555{:04}", account)),
        ("From".to_owned(), format!("+1628555{:04}", account)),
        ("Body".to_owned(), format!("{marker} acknowledged content")),
    ];
    if scheduled {
        let at = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
        let at = at
            .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
            .unwrap();
        form.push(("SendAt".to_owned(), at));
        form.push(("ScheduleType".to_owned(), "fixed".to_owned()));
    }
    form
}

/// One client: creates messages (a quarter of them scheduled) and updates acknowledged ones with
/// `If-Match`, until the server dies or `stop` is set.
async fn worker(base: String, accounts: Arc<Vec<Account>>, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>, id: String, mut rng: Rng) {
    let client = server::client();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let roll = rng.range(0, 100);
        if roll < 70 {
            let account = rng.range(0, ACCOUNTS as u64) as usize;
            let who = &accounts[account];
            let marker = format!("{id}-{n}");
            let scheduled = rng.chance(25);
            let form = form_of(&marker, account, scheduled);
            let res = as_account(&client, &base, who, Method::POST, &who.messages)
                .header("Idempotency-Key", &marker)
                .form(&form)
                .send()
                .await;
            let answer = match res {
                Ok(r) => {
                    let status = r.status();
                    r.json::<Value>().await.map(|b| (status, b))
                }
                Err(e) => Err(e),
            };
            let mut l = ledger.lock().unwrap();
            l.requests += 1;
            match answer {
                Ok((StatusCode::CREATED, body)) => {
                    l.acked.insert(
                        marker,
                        Acked {
                            sid: body["sid"].as_str().unwrap().to_owned(),
                            uri: body["uri"].as_str().unwrap().to_owned(),
                            account,
                            body: form[2].1.clone(),
                            scheduled,
                        },
                    );
                }
                Ok((status, body)) => l.server_errors.push(format!("create answered {status}: {body}")),
                Err(_) => {
                    l.unanswered.push(Unanswered { marker, account, form });
                    break;
                }
            }
        } else {
            // Update an acknowledged message: redact a plain one, cancel a scheduled one.
            let target = {
                let l = ledger.lock().unwrap();
                let candidates: Vec<&Acked> = l
                    .acked
                    .values()
                    .filter(|a| !l.redacted.contains(&a.sid) && !l.canceled.contains(&a.sid))
                    .collect();
                if candidates.is_empty() {
                    None
                } else {
                    Some(candidates[rng.range(0, candidates.len() as u64) as usize].clone())
                }
            };
            let Some(target) = target else { continue };
            let who = &accounts[target.account];
            let etag = match as_account(&client, &base, who, Method::GET, &target.uri).send().await {
                Ok(r) if r.status() == StatusCode::OK => r.headers()["etag"].to_str().unwrap().to_owned(),
                Ok(r) => {
                    let mut l = ledger.lock().unwrap();
                    l.requests += 1;
                    l.server_errors.push(format!("GET {} answered {}", target.uri, r.status()));
                    continue;
                }
                Err(_) => break,
            };
            let form: &[(&str, &str)] = if target.scheduled {
                &[("Status", "canceled")]
            } else {
                &[("Body", "")]
            };
            let res = as_account(&client, &base, who, Method::POST, &target.uri)
                .header("If-Match", etag)
                .form(form)
                .send()
                .await;
            let mut l = ledger.lock().unwrap();
            l.requests += 2;
            match res.map(|r| r.status()) {
                Ok(StatusCode::OK) if target.scheduled => {
                    l.canceled.insert(target.sid);
                }
                Ok(StatusCode::OK) => {
                    l.redacted.insert(target.sid);
                }
                // The dispatcher moved it on between our GET and our update: a normal answer.
                Ok(StatusCode::PRECONDITION_FAILED) => l.preconditions_failed += 1,
                // Another client canceled it between its acknowledgement and our read (30409).
                Ok(StatusCode::CONFLICT) if target.scheduled => l.preconditions_failed += 1,
                Ok(status) => l.server_errors.push(format!("update of {} answered {status}", target.uri)),
                Err(_) => {
                    if target.scheduled {
                        l.cancel_in_doubt.insert(target.sid);
                    } else {
                        l.redact_in_doubt.insert(target.sid);
                    }
                    break;
                }
            }
        }
    }
}

/// Every message of every account, by sid; checks the ledger against it.
async fn verify(server: &Server, accounts: &[Account], ledger: &Ledger, point: usize) -> HashMap<String, Value> {
    let client = server::client();
    let mut by_sid = HashMap::new();
    let mut markers: HashMap<String, usize> = HashMap::new();
    for who in accounts {
        for m in all_messages(&client, &server.base, who).await {
            let body = m["body"].as_str().unwrap().to_owned();
            if let Some(marker) = body.strip_suffix(" acknowledged content") {
                *markers.entry(marker.to_owned()).or_default() += 1;
            }
            let sid = m["sid"].as_str().unwrap().to_owned();
            assert!(by_sid.insert(sid.clone(), m).is_none(), "kill point {point}: {sid} listed twice");
        }
    }
    let dups: Vec<_> = markers.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "kill point {point}: messages created twice: {dups:?}");
    for (marker, a) in &ledger.acked {
        let m = by_sid
            .get(&a.sid)
            .unwrap_or_else(|| panic!("kill point {point}: acknowledged message {} ({marker}) is lost", a.sid));
        let body = m["body"].as_str().unwrap();
        if ledger.redacted.contains(&a.sid) {
            assert_eq!(body, "", "kill point {point}: acknowledged redaction of {} is lost", a.sid);
        } else if !ledger.redact_in_doubt.contains(&a.sid) {
            assert_eq!(body, a.body, "kill point {point}: {} lost its acknowledged content", a.sid);
        }
        if ledger.canceled.contains(&a.sid) {
            assert_eq!(
                m["status"], "canceled",
                "kill point {point}: acknowledged cancel of {} is lost",
                a.sid
            );
        }
        if a.scheduled && !ledger.canceled.contains(&a.sid) && !ledger.cancel_in_doubt.contains(&a.sid) {
            assert_eq!(m["status"], "scheduled", "kill point {point}: {} changed on its own", a.sid);
        }
    }
    by_sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let started = Instant::now();
    let mut rng = Rng::new("crash");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let mut server = Server::start(&db, &[]);
    let client = server::client();
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        accounts.push(create_account(&client, &server.base, &format!("crash {i}")).await);
    }
    let accounts = Arc::new(accounts);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut kill_at = Vec::new();
    let mut in_progress_at_restart = 0;
    for point in 0..KILL_POINTS {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                tokio::spawn(worker(
                    server.base.clone(),
                    accounts.clone(),
                    ledger.clone(),
                    stop.clone(),
                    format!("p{point}w{w}"),
                    rng.fork(),
                ))
            })
            .collect();
        let wait = rng.range(300, 1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill();
        kill_at.push(wait);
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
        server::assert_no_panic(&server.logs());
        assert_eq!(server::integrity_check(&db), "ok", "kill point {point}: the database is damaged");

        server = Server::start(&db, &[]);
        let l = ledger.lock().unwrap();
        assert!(l.server_errors.is_empty(), "kill point {point}: {:?}", l.server_errors);
        let listed = verify(&server, &accounts, &l, point).await;
        in_progress_at_restart += listed
            .values()
            .filter(|m| matches!(m["status"].as_str(), Some("queued" | "sending" | "sent")))
            .count();
        drop(l);

        // Retry what got no answer, as a client does: same key, same body.
        let unanswered = std::mem::take(&mut ledger.lock().unwrap().unanswered);
        for u in unanswered {
            let who = &accounts[u.account];
            let res = as_account(&client, &server.base, who, Method::POST, &who.messages)
                .header("Idempotency-Key", &u.marker)
                .form(&u.form)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let replayed = res.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
            // The first attempt was carried out but its answer was cut off: the server sends the
            // client to what it created instead of creating it again.
            let (body, recovered): (Value, bool) = if status == StatusCode::SEE_OTHER {
                let location = res.headers()["location"].to_str().unwrap().to_owned();
                let res = as_account(&client, &server.base, who, Method::GET, &location).send().await.unwrap();
                assert_eq!(res.status(), StatusCode::OK, "kill point {point}: 303 to {location}");
                (res.json().await.unwrap(), true)
            } else {
                let body: Value = res.json().await.unwrap();
                assert_eq!(
                    status,
                    StatusCode::CREATED,
                    "kill point {point}: retry of {} answered {body}",
                    u.marker
                );
                (body, false)
            };
            assert_eq!(
                body["body"].as_str(),
                Some(u.form[2].1.as_str()),
                "kill point {point}: retry of {}",
                u.marker
            );
            let mut l = ledger.lock().unwrap();
            l.retried += 1;
            l.replayed += replayed as u64;
            l.recovered += recovered as u64;
            l.acked.insert(
                u.marker.clone(),
                Acked {
                    sid: body["sid"].as_str().unwrap().to_owned(),
                    uri: body["uri"].as_str().unwrap().to_owned(),
                    account: u.account,
                    body: u.form[2].1.clone(),
                    scheduled: u.form.len() > 3,
                },
            );
        }
        let l = ledger.lock().unwrap();
        verify(&server, &accounts, &l, point).await;
    }

    // The dispatcher resumed: every message it had to send reaches `delivered`.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (delivered, total) = loop {
        let listed = {
            let l = ledger.lock().unwrap();
            verify(&server, &accounts, &l, KILL_POINTS).await
        };
        let to_send: Vec<&Value> = listed
            .values()
            .filter(|m| !matches!(m["status"].as_str(), Some("scheduled" | "canceled")))
            .collect();
        let delivered = to_send.iter().filter(|m| m["status"] == "delivered").count();
        if delivered == to_send.len() {
            break (delivered, listed.len());
        }
        assert!(
            Instant::now() < deadline,
            "the dispatcher did not resume: {} of {} messages delivered after 60 s",
            delivered,
            to_send.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let log = server.stop();
    server::assert_no_panic(&log);

    let l = ledger.lock().unwrap();
    report::record(
        "crash",
        &format!(
            "Last run: **{KILL_POINTS} of {KILL_POINTS} SIGKILL points survived** ({WORKERS} concurrent clients on {ACCOUNTS} accounts, \
             killed after {} ms of load).\n\n\
             | figure | value |\n|---|---|\n\
             | requests sent | {} |\n\
             | creates acknowledged (201) and found intact after restart | {} |\n\
             | redactions / cancellations acknowledged and found applied | {} / {} |\n\
             | creates that got no answer (cut by the kill), retried with their Idempotency-Key | {} |\n\
             | … of those, already carried out: answered with the stored 201 / with `303 See Other` to the message | {} / {} |\n\
             | messages created twice | 0 |\n\
             | messages the dispatcher had in flight at a restart, all later `delivered` | {} |\n\
             | messages at the end (all delivered, or scheduled / canceled) | {} ({} delivered) |\n\
             | `PRAGMA integrity_check` after each kill | ok |\n\
             | duration | {:.1} s |",
            kill_at.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
            l.requests,
            l.acked.len(),
            l.redacted.len(),
            l.canceled.len(),
            l.retried,
            l.replayed - l.recovered,
            l.recovered,
            in_progress_at_restart,
            total,
            delivered,
            started.elapsed().as_secs_f64()
        ),
    );
}
