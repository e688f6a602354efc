//! The real server as a child process (`target/debug/signpost`, built by cargo for this test
//! binary), so that tests can SIGKILL and SIGTERM it, restart it on the same database and read its
//! log; plus the small HTTP client helpers the reliability tests share.
#![allow(dead_code)]
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The server binary cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_signpost");

/// A running `signpost` process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The database it serves.
    pub db: PathBuf,
    log: Arc<Mutex<String>>,
}

/// Why a server did not come up: its exit status (if it exited) and everything it printed.
#[derive(Debug)]
pub struct NotStarted {
    pub status: Option<ExitStatus>,
    pub output: String,
}

/// The command that starts the server on `db`, on a free port, with quick dispatching and no
/// rate limit; `extra` flags are appended (a later flag wins).
pub fn command(db: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BINARY);
    configure(&mut c, db, extra);
    c
}

/// Adds the server's arguments and environment to a command (the binary itself, or a shell that
/// execs it with `"$0" "$@"`).
pub fn configure(c: &mut Command, db: &Path, extra: &[&str]) {
    c.arg("--bind")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(db)
        .args(["--rate-limit", "0", "--dispatch-interval-ms", "20", "--log", "info"])
        .args(extra)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("SIGNPOST_") {
            c.env_remove(k);
        }
    }
}

fn pump(stream: impl Read + Send + 'static, log: Arc<Mutex<String>>, port: mpsc::Sender<u16>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(p) = listening_port(&line) {
                        let _ = port.send(p);
                    }
                    log.lock().unwrap().push_str(&line);
                }
            }
        }
    });
}

/// The port of the start-up line `signpost listening on http://127.0.0.1:PORT — …`.
fn listening_port(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let addr = rest.split_whitespace().next()?;
    addr.rsplit(':').next()?.parse().ok()
}

impl Server {
    /// Starts the server on `db`; panics with its output if it does not come up.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        Server::spawn(command(db, extra), db).unwrap_or_else(|e| panic!("signpost did not start ({:?}):\n{}", e.status, e.output))
    }

    /// Runs `cmd` and waits (at most 30 s) for its listening line, or for it to exit.
    pub fn spawn(mut cmd: Command, db: &Path) -> Result<Server, NotStarted> {
        let mut child = cmd.spawn().expect("spawn signpost");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        pump(child.stdout.take().unwrap(), log.clone(), tx.clone());
        pump(child.stderr.take().unwrap(), log.clone(), tx);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(port) = rx.recv_timeout(Duration::from_millis(20)) {
                return Ok(Server {
                    child,
                    base: format!("http://127.0.0.1:{port}"),
                    db: db.to_path_buf(),
                    log,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Let the pumps drain what it printed last.
                std::thread::sleep(Duration::from_millis(100));
                let output = log.lock().unwrap().clone();
                return Err(NotStarted {
                    status: Some(status),
                    output,
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let output = log.lock().unwrap().clone();
                return Err(NotStarted { status: None, output });
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far (stdout and stderr).
    pub fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Its log once the server has written out what it logged so far: signpost writes log lines
    /// in batches (at most ~10 ms late), so a check for the absence of a line reads this.
    pub fn settled_logs(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = self.logs();
        loop {
            std::thread::sleep(Duration::from_millis(60));
            let now = self.logs();
            if now.len() == last.len() || Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    /// Waits until its log contains `needle`; false after `limit`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL: the process dies at once, whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn terminate(&self) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -TERM {}", self.child.id()))
            .status()
            .expect("sh kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit; `None` if it is still running after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50));
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A graceful stop (SIGTERM) that must end with exit status 0 within 20 s.
    pub fn stop(mut self) -> String {
        self.terminate();
        let status = self
            .wait_exit(Duration::from_secs(20))
            .expect("signpost stops within 20 s of SIGTERM");
        assert!(
            status.success(),
            "signpost exited with {status} after SIGTERM:\n{}",
            tail(&self.logs(), 40)
        );
        self.logs()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of the signpost log ({}) ---\n{}",
                self.db.display(),
                tail(&self.logs(), 60)
            );
        }
    }
}

/// The last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Checks that nothing in a log is a panic.
pub fn assert_no_panic(log: &str) {
    assert!(
        !log.contains("panicked at") && !log.contains("RUST_BACKTRACE"),
        "signpost panicked:\n{}",
        tail(log, 60)
    );
}

/// A small deterministic random generator (xorshift64*): the seed is printed so a failing run
/// can be repeated with `RELIABILITY_SEED=<seed>`.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `RELIABILITY_SEED`, or from the clock.
    pub fn new(test: &str) -> Rng {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{test}: RELIABILITY_SEED={seed}");
        Rng(seed | 1)
    }

    /// A derived generator (one per worker).
    pub fn fork(&mut self) -> Rng {
        Rng(self.next() | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// An HTTP client for the tests: no redirects, a bound on every request.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// The root's relations, found from `/` (tests never write a path by hand).
#[derive(Clone, Debug)]
pub struct Entry {
    /// `accounts`
    pub accounts: String,
    /// `sessions`
    pub sessions: String,
    /// `messages` (the caller's own, by 303)
    pub messages: String,
}

/// Follows the root's relations.
pub async fn entry(client: &reqwest::Client, base: &str) -> Entry {
    let root: Value = client.get(format!("{base}/")).send().await.unwrap().json().await.unwrap();
    Entry {
        accounts: rel(&root, "accounts"),
        sessions: rel(&root, "sessions"),
        messages: rel(&root, "messages"),
    }
}

/// An account created through the API.
#[derive(Clone, Debug)]
pub struct Account {
    pub sid: String,
    pub token: String,
    /// Its own URI (`uri` of the creating answer).
    pub uri: String,
    /// Its message collection, from its `messages` relation.
    pub messages: String,
    /// The root's relations, as this client found them.
    pub entry: Entry,
}

impl Account {
    /// The account described by a creating answer's body.
    pub fn from_created(body: &Value, entry: Entry) -> Account {
        Account {
            sid: body["sid"].as_str().unwrap().to_owned(),
            token: body["auth_token"].as_str().unwrap().to_owned(),
            uri: body["uri"].as_str().unwrap().to_owned(),
            messages: rel(body, "messages"),
            entry,
        }
    }
}

/// The URI of relation `name` in a representation's `subresource_uris`.
pub fn rel(body: &Value, name: &str) -> String {
    body["subresource_uris"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no relation {name} in {body}"))
        .to_owned()
}

/// Creates an account by following `accounts` from the root.
pub async fn create_account(client: &reqwest::Client, base: &str, name: &str) -> Account {
    let entry = entry(client, base).await;
    let res = client
        .post(format!("{base}{}", entry.accounts))
        .form(&[("FriendlyName", name)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "account creation");
    let body: Value = res.json().await.unwrap();
    Account::from_created(&body, entry)
}

/// A request with the account's Basic credentials.
pub fn as_account(client: &reqwest::Client, base: &str, who: &Account, method: Method, uri: &str) -> reqwest::RequestBuilder {
    let url = if uri.starts_with("http") {
        uri.to_owned()
    } else {
        format!("{base}{uri}")
    };
    client.request(method, url).basic_auth(&who.sid, Some(&who.token))
}

/// Every message of an account, by following `next_page_uri` from the first page (1,000 a page).
pub async fn all_messages(client: &reqwest::Client, base: &str, who: &Account) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!("{}?PageSize=1000", who.messages));
    while let Some(uri) = next {
        let res = as_account(client, base, who, Method::GET, &uri)
            .send()
            .await
            .expect("list messages");
        assert_eq!(res.status(), StatusCode::OK, "listing {uri}");
        let page: Value = res.json().await.unwrap();
        out.extend(page["messages"].as_array().unwrap().iter().cloned());
        next = page["next_page_uri"].as_str().map(str::to_owned);
    }
    out
}

/// Checks an error body has the contract's shape (CONTRACT §7) and the given status and code.
pub fn assert_error_shape(status: StatusCode, body: &Value, want_status: u16, want_code: u64) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["status"], want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["more_info"].as_str().is_some_and(|m| m.starts_with("/docs/errors/")), "{body}");
    assert!(body["uri"].is_string(), "{body}");
    assert!(body["subresource_uris"].is_object(), "{body}");
}

/// Runs `PRAGMA integrity_check` on a database file that no server has open.
pub fn integrity_check(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .expect("integrity_check")
}
