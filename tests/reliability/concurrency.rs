//! Concurrency: 200 clients on 10 accounts for 10 seconds against the real server, doing mixed
//! reads, creates, `If-Match` updates, deletes and paging, while groups of clients race to update
//! the same message with the same `If-Match`. Nothing may answer 5xx or surface "database is
//! locked"; at the end every count adds up (created − deleted = listed, per account), every
//! multi-page walk saw each message at most once, and each race had exactly one winner.
use crate::report;
use crate::server::{self, all_messages, as_account, create_account, Account, Rng, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 200;
const ACCOUNTS: usize = 10;
const LOAD: Duration = Duration::from_secs(10);
const RACES: usize = 20;
const RACERS: usize = 10;

#[derive(Default)]
struct Tally {
    /// Requests by operation and status.
    by_op: BTreeMap<(&'static str, u16), u64>,
    /// Anything unexpected: a 5xx, "locked" in a body, a status the operation cannot answer.
    problems: Vec<String>,
    created: Vec<HashSet<String>>,
    deleted: Vec<HashSet<String>>,
    walks: u64,
    latencies_ms: Vec<f64>,
}

impl Tally {
    fn note(&mut self, op: &'static str, status: StatusCode, body: &str, allowed: &[u16], started: Instant) {
        self.latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        *self.by_op.entry((op, status.as_u16())).or_default() += 1;
        if status.is_server_error() || !allowed.contains(&status.as_u16()) {
            self.problems
                .push(format!("{op} answered {status}: {}", &body[..body.len().min(300)]));
        }
        if body.to_ascii_lowercase().contains("locked") {
            self.problems
                .push(format!("{op} surfaced a lock: {}", &body[..body.len().min(300)]));
        }
    }
}

fn message_form(account: usize, n: &str) -> Vec<(&'static str, String)> {
    vec![
        ("To", format!("+1415555{account:04}")),
        ("From", format!("+1628555{account:04}")),
        ("Body", format!("concurrency {n}")),
    ]
}

async fn send(req: reqwest::RequestBuilder) -> Result<(StatusCode, reqwest::header::HeaderMap, String), String> {
    let res = req.send().await.map_err(|e| format!("transport error: {e}"))?;
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.map_err(|e| format!("body error: {e}"))?;
    Ok((status, headers, body))
}

async fn client_loop(
    base: String,
    client: reqwest::Client,
    who: Account,
    account: usize,
    tally: Arc<Mutex<Tally>>,
    deadline: Instant,
    id: usize,
    mut rng: Rng,
) {
    let mut mine: Vec<String> = Vec::new(); // uris of messages this client created and did not delete
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let roll = rng.range(0, 100);
        let started = Instant::now();
        let outcome = if roll < 30 || mine.is_empty() {
            let form = message_form(account, &format!("c{id}-{n}"));
            match send(as_account(&client, &base, &who, Method::POST, &who.messages).form(&form)).await {
                Ok((status, _, body)) => {
                    let mut t = tally.lock().unwrap();
                    t.note("create", status, &body, &[201], started);
                    if status == StatusCode::CREATED {
                        let v: Value = serde_json::from_str(&body).unwrap();
                        t.created[account].insert(v["sid"].as_str().unwrap().to_owned());
                        mine.push(v["uri"].as_str().unwrap().to_owned());
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else if roll < 50 {
            let uri = mine[rng.range(0, mine.len() as u64) as usize].clone();
            send(as_account(&client, &base, &who, Method::GET, &uri))
                .await
                .map(|(status, _, body)| {
                    tally.lock().unwrap().note("read", status, &body, &[200], started);
                })
        } else if roll < 65 {
            // A walk of up to three pages while others create: no message twice.
            let mut seen = HashSet::new();
            let mut next = Some(format!("{}?PageSize=20", who.messages));
            let mut pages = 0;
            let mut result = Ok(());
            while let (Some(uri), true) = (next.take(), pages < 3) {
                pages += 1;
                match send(as_account(&client, &base, &who, Method::GET, &uri)).await {
                    Ok((status, _, body)) => {
                        let mut t = tally.lock().unwrap();
                        t.note("list page", status, &body, &[200], started);
                        if status == StatusCode::OK {
                            let page: Value = serde_json::from_str(&body).unwrap();
                            for m in page["messages"].as_array().unwrap() {
                                let sid = m["sid"].as_str().unwrap().to_owned();
                                if !seen.insert(sid.clone()) {
                                    t.problems.push(format!("paging showed {sid} twice in one walk"));
                                }
                            }
                            next = page["next_page_uri"].as_str().map(str::to_owned);
                        }
                    }
                    Err(e) => result = Err(e),
                }
            }
            tally.lock().unwrap().walks += 1;
            result
        } else if roll < 80 {
            // Redact with If-Match; the dispatcher may have moved it on since the GET (412).
            let uri = mine[rng.range(0, mine.len() as u64) as usize].clone();
            match send(as_account(&client, &base, &who, Method::GET, &uri)).await {
                Ok((status, headers, body)) => {
                    tally.lock().unwrap().note("read", status, &body, &[200], started);
                    match headers.get("etag") {
                        Some(etag) => send(
                            as_account(&client, &base, &who, Method::POST, &uri)
                                .header("If-Match", etag.clone())
                                .form(&[("Body", "")]),
                        )
                        .await
                        .map(|(status, _, body)| {
                            tally.lock().unwrap().note("update (If-Match)", status, &body, &[200, 412], started);
                        }),
                        None => Ok(()),
                    }
                }
                Err(e) => Err(e),
            }
        } else if roll < 90 {
            let i = rng.range(0, mine.len() as u64) as usize;
            let uri = mine[i].clone();
            match send(as_account(&client, &base, &who, Method::DELETE, &uri)).await {
                Ok((status, _, body)) => {
                    let mut t = tally.lock().unwrap();
                    // 409 (20009): being sent right now; a normal answer.
                    t.note("delete", status, &body, &[204, 409], started);
                    if status == StatusCode::NO_CONTENT {
                        let sid = uri.rsplit('/').next().unwrap().trim_end_matches(".json").to_owned();
                        t.deleted[account].insert(sid);
                        mine.swap_remove(i);
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else {
            let uri = if rng.chance(50) {
                "/".to_owned()
            } else {
                who.messages.replace("/Messages.json", ".json")
            };
            send(as_account(&client, &base, &who, Method::GET, &uri))
                .await
                .map(|(status, _, body)| {
                    tally.lock().unwrap().note("root / account", status, &body, &[200], started);
                })
        };
        if let Err(e) = outcome {
            tally.lock().unwrap().problems.push(e);
        }
    }
}

/// Groups of clients send the same `If-Match` update to one scheduled message (which the
/// dispatcher leaves alone): exactly one may win, the others must get 412.
async fn races(base: String, client: reqwest::Client, accounts: Arc<Vec<Account>>, targets: Vec<(usize, String)>) -> Vec<(usize, usize)> {
    let mut results = Vec::new();
    for (account, uri) in targets {
        let who = accounts[account].clone();
        let res = as_account(&client, &base, &who, Method::GET, &uri).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let etag = res.headers()["etag"].clone();
        let racers: Vec<_> = (0..RACERS)
            .map(|i| {
                let req = as_account(&client, &base, &who, Method::POST, &uri).header("If-Match", etag.clone());
                // Half redact, half cancel: different changes, one precondition.
                let req = if i % 2 == 0 {
                    req.form(&[("Body", "")])
                } else {
                    req.form(&[("Status", "canceled")])
                };
                tokio::spawn(async move { req.send().await.map(|r| r.status()) })
            })
            .collect();
        let mut won = 0;
        let mut lost = 0;
        for r in racers {
            match r.await.unwrap() {
                Ok(StatusCode::OK) => won += 1,
                Ok(StatusCode::PRECONDITION_FAILED) => lost += 1,
                other => panic!("a racing If-Match update answered {other:?}"),
            }
        }
        results.push((won, lost));
    }
    results
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_clients_no_5xx_no_lock_and_every_count_adds_up() {
    let mut rng = Rng::new("concurrency");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("signpost.db"), &[]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        accounts.push(create_account(&client, &server.base, &format!("concurrency {i}")).await);
    }
    let accounts = Arc::new(accounts);
    // Scheduled messages to race on (their status stays put until SendAt).
    let send_at = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap();
    let mut targets = Vec::new();
    for r in 0..RACES {
        let account = r % ACCOUNTS;
        let who = &accounts[account];
        let mut form = message_form(account, &format!("race {r}"));
        form.push(("SendAt", send_at.clone()));
        form.push(("ScheduleType", "fixed".to_owned()));
        let res = as_account(&client, &server.base, who, Method::POST, &who.messages)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        targets.push((account, body["uri"].as_str().unwrap().to_owned()));
    }

    let tally = Arc::new(Mutex::new(Tally {
        created: vec![HashSet::new(); ACCOUNTS],
        deleted: vec![HashSet::new(); ACCOUNTS],
        ..Tally::default()
    }));
    let started = Instant::now();
    let deadline = started + LOAD;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client_loop(
                server.base.clone(),
                client.clone(),
                accounts[i % ACCOUNTS].clone(),
                i % ACCOUNTS,
                tally.clone(),
                deadline,
                i,
                rng.fork(),
            ))
        })
        .collect();
    // Races start once the load is up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let race_results = races(server.base.clone(), client.clone(), accounts.clone(), targets).await;
    for c in clients {
        c.await.unwrap();
    }
    let elapsed = started.elapsed();

    let mut t = tally.lock().unwrap();
    assert!(
        t.problems.is_empty(),
        "{} problems, first: {:#?}",
        t.problems.len(),
        &t.problems[..t.problems.len().min(10)]
    );
    for (i, (won, lost)) in race_results.iter().enumerate() {
        assert_eq!((*won, *lost), (1, RACERS - 1), "race {i}: {won} won, {lost} got 412");
    }
    // Counts add up: per account, created − deleted = listed (plus the race targets).
    let mut listed_total = 0;
    for (i, who) in accounts.iter().enumerate() {
        let listed = all_messages(&client, &server.base, who).await;
        let sids: HashSet<String> = listed.iter().map(|m| m["sid"].as_str().unwrap().to_owned()).collect();
        assert_eq!(sids.len(), listed.len(), "account {i}: a message listed twice");
        let races_here = (0..RACES).filter(|r| r % ACCOUNTS == i).count();
        assert_eq!(
            listed.len(),
            t.created[i].len() - t.deleted[i].len() + races_here,
            "account {i}: {} created − {} deleted + {races_here} race targets ≠ {} listed",
            t.created[i].len(),
            t.deleted[i].len(),
            listed.len()
        );
        for sid in &t.created[i] {
            assert_eq!(sids.contains(sid), !t.deleted[i].contains(sid), "account {i}: {sid}");
        }
        listed_total += listed.len();
    }
    let log = server.stop();
    server::assert_no_panic(&log);
    assert!(
        !log.contains("database is locked"),
        "the log shows a lock:\n{}",
        server::tail(&log, 40)
    );

    let requests: u64 = t.by_op.values().sum();
    let server_errors: u64 = t.by_op.iter().filter(|((_, s), _)| *s >= 500).map(|(_, n)| n).sum();
    t.latencies_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut ops: BTreeMap<&str, BTreeMap<u16, u64>> = BTreeMap::new();
    for ((op, status), n) in &t.by_op {
        *ops.entry(op).or_default().entry(*status).or_default() += n;
    }
    let rows: String = ops
        .iter()
        .map(|(op, statuses)| {
            let s: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
            format!("| {op} | {} |\n", s.join(", "))
        })
        .collect();
    report::record(
        "concurrency",
        &format!(
            "Last run: **{requests} requests from {CLIENTS} concurrent clients on {ACCOUNTS} accounts in {:.1} s \
             ({:.0} requests/s, debug build), {server_errors} answered 5xx, 0 showed \"database is locked\"** \
             (neither in a body nor in the server log).\n\n\
             | operation | answers |\n|---|---|\n{rows}\n\
             - {} multi-page walks (`PageSize=20`, up to 3 pages, while others create): no message seen twice.\n\
             - {RACES} races of {RACERS} clients sending an update with the same `If-Match` to one message: each had exactly 1 winner and {} answers 412.\n\
             - At the end, per account, messages created − deleted = messages listed ({listed_total} listed in all).\n\
             - Client-side latency: median {:.1} ms, 99th percentile {:.1} ms, max {:.1} ms.",
            elapsed.as_secs_f64(),
            requests as f64 / elapsed.as_secs_f64(),
            t.walks,
            RACERS - 1,
            percentile(&t.latencies_ms, 0.5),
            percentile(&t.latencies_ms, 0.99),
            percentile(&t.latencies_ms, 1.0),
        ),
    );
}
