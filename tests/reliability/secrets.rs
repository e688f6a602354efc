//! Secrets: auth tokens are stored encrypted and session tokens hashed, so the database files
//! (main, WAL and shared memory) never hold a token; the logs of a whole session of use at the
//! most verbose level never hold one either; and a token is shown once, in the response that
//! created it. (Token checks compare SHA-256 hashes with `subtle`'s constant-time equality:
//! `signpost::crypto::constant_time_eq`.)
use crate::hostile::{Answer, Fixture};
use crate::report;
use crate::server::{self, as_account, create_account, Account, Server};
use base64::Engine;
use reqwest::Method;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every secret a flow was handed, with a label for failure messages.
#[derive(Default)]
struct Issued(Vec<(String, String)>);

impl Issued {
    fn add(&mut self, label: impl Into<String>, secret: &str) {
        assert!(secret.len() >= 16, "{secret:?} is too short to search for");
        self.0.push((label.into(), secret.to_owned()));
    }

    /// The account's auth token, also as the Basic header carries it (base64 of `sid:token`).
    fn account(&mut self, a: &Account) {
        self.add(format!("auth token of {}", a.sid), &a.token);
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.sid, a.token));
        self.add(format!("Basic credentials of {}", a.sid), &basic);
    }

    /// Asserts that no secret occurs in `bytes` (as text, and for hex tokens as raw bytes too).
    fn assert_absent(&self, what: &str, bytes: &[u8]) {
        for (label, secret) in &self.0 {
            assert!(find(bytes, secret.as_bytes()).is_none(), "{label} found in {what}");
            if let Some(raw) = unhex(secret) {
                assert!(find(bytes, &raw).is_none(), "{label} (as raw bytes) found in {what}");
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    })
}

/// The bytes of the database and its WAL / shared-memory files, whichever exist.
fn database_files(db: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let path = format!("{}{suffix}", db.display());
            std::fs::read(&path).ok().map(|b| (path, b))
        })
        .collect()
}

async fn sign_in(f: &Fixture, who: &Account, browser: bool) -> (Value, Option<String>) {
    let mut req = as_account(&f.client, &f.server.base, who, Method::POST, &who.entry.sessions);
    if browser {
        req = req.header("accept", "text/html");
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 201);
    let cookie = res.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_owned());
    if browser {
        // The page shows the token once too; read it from the cookie.
        let cookie = cookie.clone().expect("a browser sign-in sets the cookie");
        let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
        return (serde_json::json!({ "token": token }), Some(cookie));
    }
    (res.json().await.unwrap(), cookie)
}

/// A local HTTP receiver for status callbacks: answers 200 to everything and counts requests.
async fn callback_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/status", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if let Some(end) = find(&got, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            seen.fetch_add(1, Ordering::SeqCst);
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                                .await;
                            break;
                        }
                    }
                }
            });
        }
    });
    (url, count)
}

/// A whole session of use: accounts, a sub-account made under an Idempotency-Key and replayed,
/// sign-ins by Basic, by parameters and by a browser, requests by bearer token and cookie, wrong
/// credentials, messages with signed status callbacks, sign-out and closing an account. Returns
/// every secret handed out.
async fn full_flow(f: &Fixture) -> Issued {
    let mut issued = Issued::default();
    let base = f.server.base.clone();
    let (callback, delivered) = callback_receiver().await;
    let a = f.account.clone();
    let b = create_account(&f.client, &base, "second").await;
    issued.account(&a);
    issued.account(&b);

    let sub_form = [("FriendlyName", "child")];
    let sub = as_account(&f.client, &base, &a, Method::POST, &a.entry.accounts)
        .header("Idempotency-Key", "sub-1")
        .form(&sub_form)
        .send()
        .await
        .unwrap();
    assert_eq!(sub.status(), 201);
    let sub: Value = sub.json().await.unwrap();
    let replay = as_account(&f.client, &base, &a, Method::POST, &a.entry.accounts)
        .header("Idempotency-Key", "sub-1")
        .form(&sub_form)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let sub = Account::from_created(&sub, a.entry.clone());
    issued.account(&sub);

    let (basic_session, _) = sign_in(f, &a, false).await;
    issued.add("session token (Basic sign-in)", basic_session["token"].as_str().unwrap());
    let by_params = f
        .client
        .post(format!("{base}/2010-04-01/Sessions.json"))
        .form(&[("AccountSid", b.sid.as_str()), ("AuthToken", b.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_params.status(), 201);
    let by_params: Value = by_params.json().await.unwrap();
    issued.add("session token (parameter sign-in)", by_params["token"].as_str().unwrap());
    let (browser, cookie) = sign_in(f, &sub, true).await;
    issued.add("session token (browser cookie)", browser["token"].as_str().unwrap());

    // Use every credential, for reads and writes.
    let bearer = basic_session["token"].as_str().unwrap();
    for (who, req) in [
        ("bearer", f.client.get(format!("{base}{}", a.messages)).bearer_auth(bearer)),
        (
            "cookie",
            f.client
                .get(format!("{base}{}", sub.messages))
                .header("cookie", cookie.unwrap().split(';').next().unwrap()),
        ),
        (
            "params session",
            f.client
                .get(format!("{base}{}", b.messages))
                .bearer_auth(by_params["token"].as_str().unwrap()),
        ),
    ] {
        assert_eq!(req.send().await.unwrap().status(), 200, "{who}");
    }
    for who in [&a, &b] {
        let res = as_account(&f.client, &base, who, Method::POST, &who.messages)
            .header("Idempotency-Key", format!("m-{}", who.sid))
            .form(&[
                ("To", "+15005550006"),
                ("From", "+15017122661"),
                ("Body", "hi"),
                ("StatusCallback", callback.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let sent = f
        .client
        .post(format!("{base}{}", a.messages))
        .bearer_auth(bearer)
        .json(&serde_json::json!({"To": "+15005550006", "From": "+15017122661", "Body": "by bearer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);

    // Wrong credentials are not logged either (they may be a user's real token, mistyped).
    let wrong_token = "f".repeat(32);
    let wrong_bearer = "sp_wrongbutplausiblebearertoken000000000000";
    issued.add("wrong auth token", &wrong_token);
    issued.add("wrong bearer token", wrong_bearer);
    let wrong = f
        .client
        .get(format!("{base}{}", a.messages))
        .basic_auth(&a.sid, Some(&wrong_token))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let wrong = f
        .client
        .get(format!("{base}{}", a.messages))
        .bearer_auth(wrong_bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bad_params = f
        .client
        .post(format!("{base}/2010-04-01/Sessions.json"))
        .form(&[("AccountSid", a.sid.as_str()), ("AuthToken", wrong_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_params.status(), 401);

    // Callbacks went out (signed with the auth token).
    let deadline = Instant::now() + Duration::from_secs(15);
    while delivered.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(delivered.load(Ordering::SeqCst) >= 2, "status callbacks did not arrive");

    // Sign out, and close an account.
    let session_uri = basic_session["uri"].as_str().unwrap();
    let out = f
        .client
        .delete(format!("{base}{session_uri}"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let closed = as_account(&f.client, &base, &a, Method::POST, &sub.uri)
        .form(&[("Status", "closed")])
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    issued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_rests_in_the_database_files() {
    let f = Fixture::start(&[]).await;
    let mut issued = full_flow(&f).await;
    let db = f.server.db.clone();
    let key_path = format!("{}.key", db.display());
    let key = std::fs::read_to_string(&key_path).unwrap().trim().to_owned();
    issued.add("the encryption key", &key);

    // While the server runs, recent writes sit in the WAL.
    let running = database_files(&db);
    assert!(running.iter().any(|(p, _)| p.ends_with("-wal")), "no WAL file while running");
    // A positive control: the scan does see what is stored — a session token's hash.
    let (_, session) = issued.0.iter().find(|(l, _)| l.starts_with("session token (Basic")).unwrap();
    let hash = signpost::crypto::token_hash(session);
    assert!(
        running.iter().any(|(_, b)| find(b, &hash).is_some()),
        "the session's hash is not in the files scanned"
    );
    for (path, bytes) in &running {
        issued.assert_absent(path, bytes);
    }
    f.server.stop();
    let stopped = database_files(&db);
    for (path, bytes) in &stopped {
        issued.assert_absent(path, bytes);
    }
    let scanned: usize = running.iter().chain(&stopped).map(|(_, b)| b.len()).sum();
    let key_mode = std::fs::metadata(&key_path)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap();
    assert_eq!(key_mode, 0o600, "the key file is readable by others");
    report::record(
        "secrets_at_rest",
        &format!(
            "Last run: **{} secrets** handed out in a full session of use (auth tokens, Basic credentials, session tokens \
             from Basic, parameter and browser sign-ins, a sub-account's token inside a stored idempotent response, wrong \
             tokens tried, the encryption key) — **none found** in {} KiB of database, WAL and shared-memory files, \
             scanned while running and after shutdown (as text, and hex tokens as raw bytes); a positive control found \
             a session token's SHA-256 where it is stored. The key file is mode 0600, outside the database.",
            issued.0.len(),
            scanned / 1024
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_appears_in_trace_level_logs() {
    // The shared command line sets `--log info`; this one asks for everything, from every crate.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let mut cmd = std::process::Command::new(server::BINARY);
    cmd.arg("--bind")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(&db)
        .args(["--rate-limit", "0", "--dispatch-interval-ms", "20", "--log", "trace"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Server::spawn(cmd, &db).unwrap_or_else(|e| panic!("signpost did not start: {}", e.output));
    let f = Fixture::with(dir, started).await;
    let mut issued = full_flow(&f).await;
    let key = std::fs::read_to_string(format!("{}.key", f.server.db.display()))
        .unwrap()
        .trim()
        .to_owned();
    issued.add("the encryption key", &key);
    let sessions = f.account.entry.sessions.clone();
    let log = f.server.stop();
    let lines = log.lines().count();
    assert!(
        log.contains("TRACE") && log.contains("DEBUG"),
        "the log is not at trace level:\n{}",
        server::tail(&log, 20)
    );
    assert!(log.contains(sessions.as_str()), "the access log is missing");
    issued.assert_absent("the server's log (trace level)", log.as_bytes());
    report::record(
        "secrets_in_logs",
        &format!(
            "Last run: the real binary at `--log trace` (every crate's trace output) through a full session of use — \
             **{lines} log lines, none holding any of the {} secrets** handed out or tried (auth tokens and their Basic \
             form, session tokens, wrong tokens, the encryption key).",
            issued.0.len()
        ),
    );
}

/// A token is shown once: in the 201 that created it (and its idempotent replay), never in any
/// other representation of the account or session, in any media type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_shown_only_in_the_response_that_created_it() {
    let f = Fixture::start(&[]).await;
    let a = f.account.clone();
    let (session, _) = sign_in(&f, &a, false).await;
    let session_uri = session["uri"].as_str().unwrap().to_owned();
    let mut issued = Issued::default();
    issued.account(&a);
    issued.add("session token", session["token"].as_str().unwrap());
    let uris = [
        "/".to_owned(),
        a.entry.accounts.clone(),
        a.uri.clone(),
        a.entry.sessions.clone(),
        session_uri,
        a.messages.clone(),
    ];
    let mut checked = 0;
    for uri in &uris {
        for accept in [
            "application/json",
            "application/hal+json",
            "application/prs.hal-forms+json",
            "text/html",
        ] {
            for bearer in [false, true] {
                let mut req = f.client.get(format!("{}{uri}", f.server.base)).header("accept", accept);
                req = if bearer {
                    req.bearer_auth(session["token"].as_str().unwrap())
                } else {
                    req.basic_auth(&a.sid, Some(&a.token))
                };
                let res = Answer::from(req.send().await.unwrap()).await;
                assert_eq!(res.status, 200, "{uri} as {accept}");
                let mut seen = res.body.clone();
                for (name, value) in &res.headers {
                    if name != "set-cookie" {
                        seen.extend_from_slice(value.as_bytes());
                    }
                }
                issued.assert_absent(&format!("GET {uri} ({accept})"), &seen);
                checked += 1;
            }
        }
    }
    report::record(
        "secrets_shown_once",
        &format!(
            "Last run: {checked} representations (6 resources × 4 media types × Basic and bearer callers) checked — no auth \
             or session token in any body or header after the response that created it."
        ),
    );
}
