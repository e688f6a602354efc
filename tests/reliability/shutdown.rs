//! Graceful shutdown under load: SIGTERM while 30 clients create messages and a few slow
//! clients are still sending their bodies. Every request gets its normal answer, a clean 503 with
//! `Retry-After` in the error shape, or — once the listener is closed — a refused connection (a
//! connection opened at that very instant may be reset instead: each such request is retried with
//! its key and must not have been carried out); answers while draining carry `Connection: close`;
//! the slow requests already in flight complete with 201; the process exits 0 within the
//! shutdown timeout, leaving a consistent database; after a restart every 201 is there, and a
//! retry (same `Idempotency-Key`) of anything unanswered creates nothing twice.
use crate::report;
use crate::server::{self, all_messages, as_account, create_account, Account, Server};
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 30;
const SLOW: usize = 4;

#[derive(Default)]
struct Outcomes {
    created: HashMap<String, String>, // marker → sid
    unavailable: u64,
    refused: u64,
    /// Sent, but the connection ended without an answer: (marker, account).
    cut: Vec<(String, usize, String)>,
    problems: Vec<String>,
    after_signal: u64,
    /// Answers to requests sent after the signal, and how many of them closed their connection.
    answered_after_signal: u64,
    closed_after_signal: u64,
}

fn form(marker: &str, account: usize) -> Vec<(&'static str, String)> {
    vec![
        ("To", format!("+1415555{account:04}")),
        ("From", format!("+1628555{account:04}")),
        ("Body", format!("{marker} shutdown")),
    ]
}

async fn client_loop(base: String, who: Account, account: usize, id: usize, out: Arc<Mutex<Outcomes>>, signaled: Arc<AtomicBool>) {
    let client = server::client();
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in 0.. {
        if Instant::now() > deadline {
            out.lock().unwrap().problems.push(format!("client {id} still answered 30 s later"));
            return;
        }
        let marker = format!("s{id}-{n}");
        let after = signaled.load(Ordering::SeqCst);
        let res = as_account(&client, &base, &who, Method::POST, &who.messages)
            .header("Idempotency-Key", &marker)
            .form(&form(&marker, account))
            .send()
            .await;
        out.lock().unwrap().after_signal += after as u64;
        match res {
            Ok(res) => {
                let status = res.status();
                let retry_after = res.headers().get("retry-after").is_some();
                let closes = res.headers().get("connection").is_some_and(|v| v == "close");
                let body: Value = res.json().await.unwrap_or(Value::Null);
                let mut o = out.lock().unwrap();
                if after {
                    o.answered_after_signal += 1;
                    o.closed_after_signal += closes as u64;
                }
                match status {
                    StatusCode::CREATED => {
                        o.created.insert(marker, body["sid"].as_str().unwrap().to_owned());
                    }
                    StatusCode::SERVICE_UNAVAILABLE => {
                        server::assert_error_shape(status, &body, 503, 20503);
                        assert!(retry_after, "503 without Retry-After");
                        o.unavailable += 1;
                    }
                    other => o.problems.push(format!("answered {other}: {body}")),
                }
            }
            // The listener is closed: the clean end for this client.
            Err(e) if e.is_connect() => {
                out.lock().unwrap().refused += 1;
                return;
            }
            Err(e) => {
                out.lock()
                    .unwrap()
                    .cut
                    .push((marker, account, format!("{e:?}").chars().take(300).collect::<String>()));
                return;
            }
        }
    }
}

/// A client that sends its headers and half its body, waits, then sends the rest: a request in
/// flight when SIGTERM arrives. Returns the status line it got.
async fn slow_request(base: String, who: Account, account: usize, marker: String, resume: Arc<tokio::sync::Notify>) -> String {
    let addr = base.trim_start_matches("http://").to_owned();
    let body = serde_urlencoded::to_string(form(&marker, account)).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", who.sid, who.token));
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Idempotency-Key: {marker}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        who.messages,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    resume.notified().await;
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.lines().next().unwrap_or("(no answer)").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_answers_everything_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let mut server = Server::start(&db, &["--shutdown-timeout", "8"]);
    let client = server::client();
    let accounts = [
        create_account(&client, &server.base, "shutdown 0").await,
        create_account(&client, &server.base, "shutdown 1").await,
    ];
    let out = Arc::new(Mutex::new(Outcomes::default()));
    let signaled = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client_loop(
                server.base.clone(),
                accounts[i % 2].clone(),
                i % 2,
                i,
                out.clone(),
                signaled.clone(),
            ))
        })
        .collect();
    let resume = Arc::new(tokio::sync::Notify::new());
    let slow: Vec<_> = (0..SLOW)
        .map(|i| {
            let marker = format!("slow-{i}");
            (
                marker.clone(),
                i % 2,
                tokio::spawn(slow_request(
                    server.base.clone(),
                    accounts[i % 2].clone(),
                    i % 2,
                    marker,
                    resume.clone(),
                )),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let signal_at = Instant::now();
    signaled.store(true, Ordering::SeqCst);
    server.terminate();
    tokio::time::sleep(Duration::from_millis(700)).await;
    resume.notify_waiters();
    let mut slow_created = Vec::new();
    for (marker, account, task) in slow {
        let status_line = task.await.unwrap();
        assert!(status_line.contains(" 201 "), "a request in flight at SIGTERM got {status_line:?}");
        slow_created.push((marker, account));
    }
    for c in clients {
        c.await.unwrap();
    }
    let status = server.wait_exit(Duration::from_secs(15)).expect("signpost exits after SIGTERM");
    let stop_ms = signal_at.elapsed().as_millis();
    let log = server.logs();
    server::assert_no_panic(&log);
    assert!(status.success(), "exit status {status}:\n{}", server::tail(&log, 30));
    assert!(log.contains("database closed cleanly"), "{}", server::tail(&log, 30));
    let wal = dir.path().join("signpost.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "a clean stop checkpoints the WAL into the database file");
    assert_eq!(server::integrity_check(&db), "ok");

    let mut o = out.lock().unwrap();
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert!(o.answered_after_signal > 0, "the server went on answering while it drained");
    assert_eq!(
        o.closed_after_signal, o.answered_after_signal,
        "while stopping, every answer closes its connection"
    );
    for (marker, _) in &slow_created {
        o.created.insert(marker.clone(), String::new());
    }

    // After a restart: every 201 is there with its content; retries of anything cut off create
    // nothing twice.
    let server = Server::start(&db, &[]);
    let cut = std::mem::take(&mut o.cut);
    for (marker, account, error) in &cut {
        let who = &accounts[*account];
        let res = as_account(&client, &server.base, who, Method::POST, &who.messages)
            .header("Idempotency-Key", marker)
            .form(&form(marker, *account))
            .send()
            .await
            .unwrap();
        // Not a replay: the server had not carried it out (no work done without an answer).
        assert_eq!(res.status(), StatusCode::CREATED, "retry of {marker} (first attempt: {error})");
        assert_eq!(
            res.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()),
            Some("false"),
            "{marker} was carried out, but its answer was cut off by the stop ({error})"
        );
    }
    let mut markers: HashMap<String, usize> = HashMap::new();
    for who in &accounts {
        for m in all_messages(&client, &server.base, who).await {
            let body = m["body"].as_str().unwrap();
            *markers.entry(body.trim_end_matches(" shutdown").to_owned()).or_default() += 1;
        }
    }
    for marker in o.created.keys() {
        assert_eq!(markers.get(marker), Some(&1), "acknowledged {marker} after restart");
    }
    for (marker, _, _) in &cut {
        assert_eq!(markers.get(marker), Some(&1), "cut-off {marker}, retried");
    }
    assert!(markers.values().all(|n| *n == 1), "a message exists twice");
    server.stop();

    report::record(
        "shutdown",
        &format!(
            "Last run: SIGTERM while {CLIENTS} clients were creating messages and {SLOW} slow clients were still sending their bodies.\n\n\
             | figure | value |\n|---|---|\n\
             | requests answered 201 (all found after restart) | {} |\n\
             | requests sent after the signal / answered, each with `Connection: close` | {} / {} |\n\
             | slow requests in flight at SIGTERM, answered 201 | {SLOW} of {SLOW} |\n\
             | answered 503 with `Retry-After` | {} |\n\
             | refused connections (listener closed) | {} |\n\
             | connections reset without an answer as the listener closed (each request retried with its key: none had been carried out) | {} |\n\
             | messages created twice | 0 |\n\
             | time from SIGTERM to exit (status 0) | {stop_ms} ms |\n\
             | WAL left after the stop | {wal_len} bytes |",
            o.created.len(),
            o.after_signal,
            o.answered_after_signal,
            o.unavailable,
            o.refused,
            cut.len(),
        ),
    );
}
