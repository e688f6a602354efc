//! Storage faults against the real server: a damaged or foreign database file at start, a
//! read-only database (at start and while running), a full disk (a small tmpfs), and the file
//! deleted while running. Each ends in a clear log line and either a clean 503 in the error shape
//! (the server keeps running and recovers when the fault is fixed) or a refusal to start that
//! says what to do — never a panic, never an acknowledged write that is not in the file.
use crate::report;
use crate::server::{self, all_messages, as_account, create_account, Account, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wal_of(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", db.display()))
}

fn form(body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("To", "+14155550100".to_owned()),
        ("From", "+16285550100".to_owned()),
        ("Body", body.to_owned()),
    ]
}

/// POSTs a message; its status and body.
async fn post(client: &reqwest::Client, base: &str, who: &Account, body: &str) -> (StatusCode, bool, Value) {
    let res = as_account(client, base, who, Method::POST, &who.messages)
        .form(&form(body))
        .send()
        .await
        .expect("the server answers");
    let status = res.status();
    let retry_after = res.headers().contains_key("retry-after");
    (status, retry_after, res.json().await.unwrap_or(Value::Null))
}

/// Checks a refused write: 503, `Retry-After`, the error shape with code 20503.
fn assert_clean_503(status: StatusCode, retry_after: bool, body: &Value) {
    server::assert_error_shape(status, body, 503, 20503);
    assert!(retry_after, "a 503 carries Retry-After: {body}");
}

/// Every body the account's messages have, after a restart.
async fn bodies(client: &reqwest::Client, base: &str, who: &Account) -> Vec<String> {
    all_messages(client, base, who)
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that every acknowledged body is stored exactly once.
async fn assert_all_there(db: &Path, who: &Account, acked: &[String]) {
    let server = Server::start(db, &[]);
    let client = server::client();
    let stored = bodies(&client, &server.base, who).await;
    for body in acked {
        assert_eq!(
            stored.iter().filter(|b| *b == body).count(),
            1,
            "acknowledged {body:?} after restart"
        );
    }
    server.stop();
}

/// Replaces the database file, removing any WAL and shared-memory files beside it first (else
/// their frames would be replayed onto the new contents).
fn replace_db(db: &Path, bytes: &[u8]) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::write(db, bytes).unwrap();
}

/// A server with an account and `n` acknowledged messages.
async fn seeded(db: &Path, n: usize) -> (Server, reqwest::Client, Account, Vec<String>) {
    let server = Server::start(db, &[]);
    let client = server::client();
    let who = create_account(&client, &server.base, "storage").await;
    let mut acked = Vec::new();
    for i in 0..n {
        let body = format!("before the fault {i}");
        let (status, _, _) = post(&client, &server.base, &who, &body).await;
        assert_eq!(status, StatusCode::CREATED);
        acked.push(body);
    }
    (server, client, who, acked)
}

/// Starting on `db` must fail: a non-zero exit with `advice` in what it printed, no panic, and
/// the file left exactly as it was.
fn assert_refused(db: &Path, what: &str, advice: &str) -> String {
    assert_refused_by(server::command(db, &[]), db, what, advice)
}

/// As [`assert_refused`], starting the server with `cmd`.
fn assert_refused_by(cmd: Command, db: &Path, what: &str, advice: &str) -> String {
    let before = std::fs::read(db).ok();
    let started = Instant::now();
    let output = match Server::spawn(cmd, db) {
        Ok(s) => panic!("{what}: signpost started on it:\n{}", s.logs()),
        Err(e) => {
            assert!(e.status.is_some_and(|s| !s.success()), "{what}: {:?}\n{}", e.status, e.output);
            e.output
        }
    };
    server::assert_no_panic(&output);
    assert!(output.contains("cannot open the database"), "{what}:\n{output}");
    assert!(output.contains(advice), "{what}: the message should say {advice:?}:\n{output}");
    assert_eq!(std::fs::read(db).ok(), before, "{what}: signpost changed the file it refused");
    let line = output
        .lines()
        .find(|l| l.starts_with("signpost cannot start"))
        .unwrap_or_else(|| panic!("{what}: no 'signpost cannot start' line:\n{output}"))
        .to_owned();
    let line = line.replace(&db.display().to_string(), "signpost.db").replace('|', "\\|");
    format!("| {what} | refused in {} ms: `{line}` |\n", started.elapsed().as_millis())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_or_foreign_database_files_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let (server, _, who, acked) = seeded(&db, 20).await;
    server.stop();
    let clean = std::fs::read(&db).unwrap();
    assert!(clean.len() >= 5 * 4096, "a database of several pages");

    let mut rows = String::new();
    let mut garbage = Vec::with_capacity(64 * 1024);
    let mut rng = server::Rng::new("storage");
    while garbage.len() < 64 * 1024 {
        garbage.extend_from_slice(&rng.next().to_le_bytes());
    }
    replace_db(&db, &garbage);
    rows += &assert_refused(&db, "random bytes", "restore it from a backup");

    replace_db(&db, "name,phone\nalice,+14155550100\n".repeat(200).as_bytes());
    rows += &assert_refused(&db, "a text file", "restore it from a backup");

    let mut damaged = clean.clone();
    damaged[3 * 4096..3 * 4096 + 3000].fill(0x5a);
    replace_db(&db, &damaged);
    rows += &assert_refused(&db, "one page overwritten", "restore");

    replace_db(&db, &clean[..5000]);
    rows += &assert_refused(&db, "truncated", "restore");

    replace_db(&db, &clean);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    rows += &assert_refused(&db, "written by a newer signpost", "use a newer signpost");

    // Garbage after the last valid WAL frame (a torn write): SQLite's frame checksums drop it.
    replace_db(&db, &clean);
    let mut server = Server::start(&db, &[]);
    let client = server::client();
    let mut after = Vec::new();
    for i in 0..5 {
        let body = format!("in the WAL {i}");
        assert_eq!(post(&client, &server.base, &who, &body).await.0, StatusCode::CREATED);
        after.push(body);
    }
    server.kill();
    let mut wal = std::fs::read(wal_of(&db)).unwrap();
    wal.extend_from_slice(&garbage[..8192]);
    std::fs::write(wal_of(&db), wal).unwrap();
    assert_all_there(&db, &who, &[acked.clone(), after].concat()).await;
    rows += "| torn WAL tail (8 KiB of garbage after a SIGKILL) | starts; every acknowledged message there |\n";

    // Deleted while stopped: a new database, with a warning that says what to do.
    std::fs::remove_file(&db).unwrap();
    let _ = std::fs::remove_file(wal_of(&db));
    let server = Server::start(&db, &[]);
    let log = server.stop();
    assert!(
        log.contains("does not exist, but its key file") && log.contains("restore the database from a backup"),
        "{log}"
    );
    rows += "| deleted while stopped (key file still there) | starts empty, with a warning: restore from a backup if it had data |\n";

    report::record(
        "storage-start",
        &format!("| database file at start | what signpost does |\n|---|---|\n{rows}"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_refused_at_start_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let (server, _, _, _) = seeded(&db, 3).await;
    server.stop();
    // As root, permissions do not stop writes: the immutable attribute does (ext4, xfs, btrfs, and
    // tmpfs on recent kernels); failing that, the server runs as `nobody`. Otherwise: chmod.
    let _guard = Immutable(vec![db.clone()]);
    let mut cmd = server::command(&db, &[]);
    let chmod = |path: &Path, mode: u32| {
        let mut p = std::fs::metadata(path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut p, mode);
        std::fs::set_permissions(path, p).unwrap();
    };
    let how = if !is_root() {
        chmod(&db, 0o444);
        "`chmod 444`"
    } else if run("chattr", &["+i", db.to_str().unwrap()]) {
        "`chattr +i`, immutable"
    } else {
        assert!(run("chown", &["-R", "65534:65534", dir.path().to_str().unwrap()]));
        chmod(&db, 0o444);
        std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
        std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
        "`chmod 444`, server run as nobody"
    };
    let row = assert_refused_by(cmd, &db, &format!("read-only ({how})"), "signpost must be able to write the file");
    report::record(
        "storage-read-only-start",
        &format!("| database file at start | what signpost does |\n|---|---|\n{row}"),
    );
}

/// Removes the immutable attribute again, whatever happens (else the temp dir stays behind).
struct Immutable(Vec<PathBuf>);

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            run("chattr", &["-i", p.to_str().unwrap()]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_made_read_only_while_running_answers_503_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let (mut server, client, who, mut acked) = seeded(&db, 5).await;
    let files = vec![db.clone(), wal_of(&db)];
    let guard = Immutable(files.clone());
    if !files.iter().all(|f| run("chattr", &["+i", f.to_str().unwrap()])) {
        let why = "`chattr +i` is not available here (not root, or a file system without attributes)";
        eprintln!("SKIPPED: {why}");
        report::record("storage-read-only-runtime", &format!("Last run: not measured: {why}."));
        return;
    }
    let mut refused = 0;
    for i in 0..5 {
        let (status, retry_after, body) = post(&client, &server.base, &who, &format!("while read-only {i}")).await;
        assert_clean_503(status, retry_after, &body);
        refused += 1;
    }
    let res = as_account(&client, &server.base, &who, Method::GET, &who.messages)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "reads go on");
    server.wait_for_log("lsattr", Duration::from_secs(10));
    let log = server.logs();
    assert!(
        log.contains("storage unavailable") && log.contains("lsattr"),
        "a log line says what happened and what to check:\n{}",
        server::tail(&log, 20)
    );
    drop(guard);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = "after the fix".to_owned();
        let (status, _, _) = post(&client, &server.base, &who, &body).await;
        if status == StatusCode::CREATED {
            acked.push(body);
            break;
        }
        assert!(Instant::now() < deadline, "writes did not resume once the file was writable again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    server::assert_no_panic(&server.logs());
    assert_all_there(&db, &who, &acked).await;
    report::record(
        "storage-read-only-runtime",
        &format!(
            "Last run: database and WAL made immutable (`chattr +i`) while running: {refused} of {refused} writes answered 503 \
             with `Retry-After` in the error shape, reads answered 200, the log named the cause and what to check; once writable \
             again, writes resumed without a restart, and all {} acknowledged messages were there after a restart.",
            acked.len()
        ),
    );
}

/// A small tmpfs, unmounted (lazily) at the end.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        run("umount", &["-l", self.0.to_str().unwrap()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("fs");
    std::fs::create_dir(&mount).unwrap();
    if !run("mount", &["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount.to_str().unwrap()]) {
        let why = "mounting a small tmpfs needs root (CAP_SYS_ADMIN); not available here";
        eprintln!("SKIPPED: {why}");
        report::record("storage-disk-full", &format!("Last run: not measured: {why}."));
        return;
    }
    let _fs = Tmpfs(mount.clone());
    let db = mount.join("signpost.db");
    let (mut server, client, who, mut acked) = seeded(&db, 10).await;
    let base = server.base.clone();
    // Messages the dispatcher will have to move while the disk is full.
    let send_at = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap();
    let mut scheduled = Vec::new();
    for i in 0..3 {
        let mut f = form(&format!("scheduled {i}"));
        f.push(("SendAt", send_at.clone()));
        f.push(("ScheduleType", "fixed".to_owned()));
        let res = as_account(&client, &base, &who, Method::POST, &who.messages)
            .form(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let m: Value = res.json().await.unwrap();
        scheduled.push(m["uri"].as_str().unwrap().to_owned());
        acked.push(format!("scheduled {i}"));
    }

    // Fill the file system.
    let filler = mount.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
    }
    let long = "x".repeat(1500);
    let mut accepted_while_filling = 0;
    let mut first_503 = None;
    for i in 0..200 {
        let body = format!("while full {i} {long}");
        let (status, retry_after, json) = post(&client, &base, &who, &body).await;
        if status == StatusCode::CREATED {
            accepted_while_filling += 1;
            acked.push(body);
            continue;
        }
        assert_clean_503(status, retry_after, &json);
        first_503 = Some(i);
        break;
    }
    assert!(first_503.is_some(), "no write was refused on a full disk");
    let mut refused = 1;
    for i in 0..4 {
        let (status, retry_after, json) = post(&client, &base, &who, &format!("still full {i} {long}")).await;
        assert_clean_503(status, retry_after, &json);
        refused += 1;
    }
    let res = as_account(&client, &base, &who, Method::GET, &who.messages).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "reads go on while the disk is full");

    // The scheduled messages fall due now: the dispatcher must back off, not flood the log.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let lines_before = server.logs().lines().count();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = server.logs();
    let lines_in_2s = log.lines().count() - lines_before;
    assert!(
        lines_in_2s < 40,
        "{lines_in_2s} log lines in 2 s on an idle server with a full disk:\n{}",
        server::tail(&log, 30)
    );
    assert!(
        log.contains("database or disk is full") && log.contains("free some space"),
        "the log says the disk is full and what to do:\n{}",
        server::tail(&log, 20)
    );

    // Space again: writes resume without a restart, and the dispatcher catches up.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = "after space was freed".to_owned();
        let (status, _, _) = post(&client, &base, &who, &body).await;
        if status == StatusCode::CREATED {
            acked.push(body);
            break;
        }
        assert!(Instant::now() < deadline, "writes did not resume once space was freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for uri in &scheduled {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let m: Value = as_account(&client, &base, &who, Method::GET, uri)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if m["status"] == "delivered" {
                break;
            }
            assert!(Instant::now() < deadline, "{uri} stuck in {} after space was freed", m["status"]);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    server::assert_no_panic(&server.logs());
    assert_all_there(&db, &who, &acked).await;
    report::record(
        "storage-disk-full",
        &format!(
            "Last run: database on a 4 MiB tmpfs, then the file system filled: {accepted_while_filling} more writes fit, then \
             {refused} of {refused} answered 503 with `Retry-After` in the error shape; reads answered 200; the log said \
             \"database or disk is full\" and what to do; the dispatcher backed off (the log grew by {lines_in_2s} lines in 2 s while \
             stuck). Once space was freed, writes resumed and the scheduled messages were delivered without a restart; all {} \
             acknowledged messages were there after a restart.",
            acked.len()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_deleted_while_running_refuses_writes_instead_of_losing_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let (mut server, client, who, _) = seeded(&db, 5).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut refused = 0;
    for i in 0..5 {
        let (status, retry_after, body) = post(&client, &server.base, &who, &format!("after deletion {i}")).await;
        assert_clean_503(status, retry_after, &body);
        refused += 1;
    }
    server.wait_for_log("/proc/", Duration::from_secs(10));
    let log = server.logs();
    assert!(
        log.contains("was deleted or replaced while signpost was running") && log.contains("/proc/"),
        "a log line says what happened and what to do:\n{}",
        server::tail(&log, 20)
    );
    assert!(!db.exists(), "no new, empty database appears behind the server's back");
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    server::assert_no_panic(&server.logs());
    report::record(
        "storage-deleted",
        &format!(
            "Last run: database, WAL and shared-memory files deleted while running: {refused} of {refused} writes answered 503 \
             with `Retry-After` (none acknowledged into a file no later start would open); the log said so, once, with how to \
             recover the data; a SIGTERM still stopped it cleanly."
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_damaged_database_is_found_in_the_background_and_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signpost.db");
    let (server, _, who, acked) = seeded(&db, 5).await;
    server.stop();
    // Past the size checked before start (16 MiB): 24 MiB of other rows, written after the
    // messages, so that a page in the middle of the file belongs to them and not to the data the
    // requests below read.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE ballast (b BLOB)").unwrap();
        for _ in 0..24 {
            conn.execute("INSERT INTO ballast VALUES (zeroblob(1048576))", []).unwrap();
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    }
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 16 * 1024 * 1024);
    let middle = (bytes.len() / 4096 / 2) * 4096;
    bytes[middle..middle + 64].fill(0x5a);
    replace_db(&db, &bytes);

    let started = Instant::now();
    let mut server = Server::start(&db, &[]);
    let listening = started.elapsed();
    let client = server::client();
    assert!(
        server.wait_for_log("the database file is damaged", Duration::from_secs(60)),
        "the background check reports the damage:\n{}",
        server::tail(&server.logs(), 20)
    );
    let log = server.logs();
    assert!(log.contains("restore the database from a backup"), "{}", server::tail(&log, 20));
    let (status, retry_after, body) = post(&client, &server.base, &who, "into a damaged file").await;
    assert_clean_503(status, retry_after, &body);
    let stored = bodies(&client, &server.base, &who).await;
    assert!(acked.iter().all(|b| stored.contains(b)), "intact pages still read");
    assert!(!stored.iter().any(|b| b == "into a damaged file"));
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    server::assert_no_panic(&server.logs());
    report::record(
        "storage-large-damaged",
        &format!(
            "Last run: a {} MiB database with one page overwritten started (listening after {} ms: files over 16 MiB are \
             checked in the background, so start-up does not grow with the data); the background `quick_check` found the \
             damage and logged what to do; from then on writes answered 503 with `Retry-After`, reads of intact data still \
             answered 200.",
            bytes.len() / (1024 * 1024),
            listening.as_millis()
        ),
    );
}
