//! Access control: every operation × every kind of wrong credential answers 401 or 404 — or,
//! for collections that are always the caller's own, the caller's own data — and no response
//! ever carries the victim's data. PageTokens and Idempotency-Keys do not cross accounts, and a
//! parent account may act on its sub-accounts but not the reverse.
use crate::hostile::{Answer, Fixture};
use crate::report;
use crate::server::{as_account, create_account, rel, Account};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Session lifetime of the matrix server: short, so a session can expire during the test.
const SESSION_TTL: u64 = 3;

/// How a request presents itself.
#[derive(Clone)]
enum Cred {
    None,
    Basic(String, String),
    Bearer(String),
}

impl Cred {
    fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Cred::None => req,
            Cred::Basic(user, token) => req.basic_auth(user, Some(token)),
            Cred::Bearer(token) => req.bearer_auth(token),
        }
    }
}

fn basic(a: &Account) -> Cred {
    Cred::Basic(a.sid.clone(), a.token.clone())
}

/// Whose resource an operation reaches.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// The victim's: only the victim may; others get 404 (401 without valid credentials).
    Victim,
    /// The caller's own collection or entry point: any valid caller gets this status, for its own data.
    Own(u16),
}

struct Op {
    name: &'static str,
    method: Method,
    uri: String,
    form: Vec<(&'static str, String)>,
    target: Target,
}

fn op(name: &'static str, method: Method, uri: &str, form: &[(&'static str, &str)], target: Target) -> Op {
    Op {
        name,
        method,
        uri: uri.to_owned(),
        form: form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        target,
    }
}

/// What the victim owns, and the strings that must never reach anyone else.
struct Victim {
    account: Account,
    uri: String,
    message: String,
    media_list: String,
    media: String,
    feedback: String,
    session: String,
    secrets: Vec<String>,
}

async fn sign_in(f: &Fixture, who: &Account) -> (String, String) {
    let res = f
        .send(as_account(&f.client, &f.server.base, who, Method::POST, &who.entry.sessions))
        .await;
    assert_eq!(res.status, 201, "sign in: {}", res.text());
    let body = res.json();
    (body["token"].as_str().unwrap().to_owned(), body["uri"].as_str().unwrap().to_owned())
}

fn unique(label: &str) -> String {
    format!("{label}-{}", uuid_like())
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}", nanos ^ (std::process::id() as u128) << 64)
}

async fn victim(f: &Fixture) -> Victim {
    let v = &f.account;
    let name = unique("victim-name");
    let body = unique("victim-body");
    let media_url = format!("https://example.com/{}.png", unique("victim-media"));
    let renamed = f
        .send(f.request(Method::POST, &f.account_uri()).form(&[("FriendlyName", name.as_str())]))
        .await;
    assert_eq!(renamed.status, 200);
    // Scheduled, so that a wrongly allowed cancel would succeed.
    let send_at = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap();
    let msg = f
        .send(f.request(Method::POST, &v.messages).form(&[
            ("To", "+15005550006"),
            ("From", "+15017122661"),
            ("Body", body.as_str()),
            ("MediaUrl", media_url.as_str()),
            ("SendAt", send_at.as_str()),
            ("ScheduleType", "fixed"),
        ]))
        .await;
    assert_eq!(msg.status, 201, "{}", msg.text());
    let msg = msg.json();
    let media_list = rel(&msg, "media");
    let feedback = rel(&msg, "feedback");
    let media = f.send(f.request(Method::GET, &media_list)).await.json()["media_list"][0].clone();
    let given = f.send(f.request(Method::POST, &feedback).form(&[("Outcome", "unconfirmed")])).await;
    assert_eq!(given.status, 201);
    let (session_token, session) = sign_in(f, v).await;
    let secrets = vec![
        v.sid.clone(),
        v.token.clone(),
        name,
        body,
        media_url,
        msg["sid"].as_str().unwrap().to_owned(),
        media["sid"].as_str().unwrap().to_owned(),
        session.rsplit('/').next().unwrap().trim_end_matches(".json").to_owned(),
        session_token,
    ];
    Victim {
        account: v.clone(),
        uri: f.account_uri(),
        message: msg["uri"].as_str().unwrap().to_owned(),
        media_list,
        media: media["uri"].as_str().unwrap().to_owned(),
        feedback,
        session,
        secrets,
    }
}

fn operations(v: &Victim) -> Vec<Op> {
    use Target::*;
    let msgs = v.account.messages.as_str();
    let new_message: &[(&str, &str)] = &[("To", "+15005550006"), ("From", "+15017122661"), ("Body", "intruder")];
    vec![
        op("root", Method::GET, "/", &[], Own(200)),
        op("accounts: list", Method::GET, &v.account.entry.accounts, &[], Own(200)),
        op(
            "accounts: create",
            Method::POST,
            &v.account.entry.accounts,
            &[("FriendlyName", "intruder")],
            Own(201),
        ),
        op("account: fetch", Method::GET, &v.uri, &[], Victim),
        op("account: rename", Method::POST, &v.uri, &[("FriendlyName", "pwned")], Victim),
        op("account: close", Method::POST, &v.uri, &[("Status", "closed")], Victim),
        op("sessions: list", Method::GET, &v.account.entry.sessions, &[], Own(200)),
        op("sessions: create", Method::POST, &v.account.entry.sessions, &[], Own(201)),
        op("session: fetch", Method::GET, &v.session, &[], Victim),
        op("session: delete", Method::DELETE, &v.session, &[], Victim),
        op(
            "messages: caller's own (303)",
            Method::GET,
            &v.account.entry.messages,
            &[],
            Own(303),
        ),
        op("messages: list", Method::GET, msgs, &[], Victim),
        op("messages: create", Method::POST, msgs, new_message, Victim),
        op("message: fetch", Method::GET, &v.message, &[], Victim),
        op("message: HEAD", Method::HEAD, &v.message, &[], Victim),
        op("message: redact", Method::POST, &v.message, &[("Body", "")], Victim),
        op("message: cancel", Method::PATCH, &v.message, &[("Status", "canceled")], Victim),
        op("message: delete", Method::DELETE, &v.message, &[], Victim),
        op("media: list", Method::GET, &v.media_list, &[], Victim),
        op("media: fetch", Method::GET, &v.media, &[], Victim),
        op("media: delete", Method::DELETE, &v.media, &[], Victim),
        op("feedback: fetch", Method::GET, &v.feedback, &[], Victim),
        op("feedback: create", Method::POST, &v.feedback, &[("Outcome", "confirmed")], Victim),
    ]
}

/// The status a column must get for an operation: `valid` says whether the credentials are
/// good (another account's), `basic` whether they are an account's (not a session's).
fn expected(op: &Op, column: &Column) -> u16 {
    match (column.valid, op.target) {
        (false, _) if column.anonymous => match op.name {
            "root" => 200,
            "accounts: create" => 201, // open sign-up: a new, unrelated account
            _ => 401,
        },
        (false, _) => 401,
        (true, Target::Victim) => 404,
        (true, Target::Own(_)) if op.name == "sessions: create" && !column.basic => 401, // a session cannot make sessions
        (true, Target::Own(status)) => status,
    }
}

struct Column {
    name: &'static str,
    anonymous: bool,
    valid: bool,
    basic: bool,
}

const COLUMNS: [Column; 8] = [
    Column {
        name: "no credentials",
        anonymous: true,
        valid: false,
        basic: false,
    },
    Column {
        name: "wrong token",
        anonymous: false,
        valid: false,
        basic: true,
    },
    Column {
        name: "malformed Authorization",
        anonymous: false,
        valid: false,
        basic: true,
    },
    Column {
        name: "another account",
        anonymous: false,
        valid: true,
        basic: true,
    },
    Column {
        name: "session of another account",
        anonymous: false,
        valid: true,
        basic: false,
    },
    Column {
        name: "expired session",
        anonymous: false,
        valid: false,
        basic: false,
    },
    Column {
        name: "signed-out session",
        anonymous: false,
        valid: false,
        basic: false,
    },
    Column {
        name: "closed account",
        anonymous: false,
        valid: false,
        basic: true,
    },
];

/// Sends one operation and checks the status and that no secret the request did not itself carry
/// is in the answer (body, `Link`, `Location`).
async fn check(f: &Fixture, v: &Victim, op: &Op, column: &Column, cred: &Cred) -> u16 {
    let mut req = cred.apply(f.client.request(op.method.clone(), format!("{}{}", f.server.base, op.uri)));
    if !op.form.is_empty() {
        req = req.form(&op.form);
    }
    let answer = Answer::from(req.send().await.expect("request")).await;
    let want = expected(op, column);
    assert_eq!(answer.status, want, "{} × {}: {}", op.name, column.name, answer.text());
    if answer.status >= 400 && op.method != Method::HEAD {
        answer.assert_error(
            &format!("{} × {}", op.name, column.name),
            want,
            if want == 401 { 20003 } else { 20404 },
        );
    }
    leak_check(&answer, v, op, &format!("{} × {}", op.name, column.name));
    answer.status
}

fn leak_check(answer: &Answer, v: &Victim, op: &Op, what: &str) {
    let sent: String = format!("{} {:?}", op.uri, op.form);
    let mut seen = answer.text();
    for h in ["link", "location"] {
        if let Some(value) = answer.header(h) {
            seen.push_str(value);
        }
    }
    for secret in &v.secrets {
        if !sent.contains(secret.as_str()) {
            assert!(
                !seen.contains(secret.as_str()),
                "{what}: the victim's {secret:?} is in the answer:\n{seen}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_with_every_wrong_credential_gets_401_or_404_and_never_data() {
    let f = Fixture::start(&["--session-ttl", &SESSION_TTL.to_string()]).await;
    let v = victim(&f).await;
    let other = create_account(&f.client, &f.server.base, "other").await;
    let ops = operations(&v);
    let (expiring, _) = sign_in(&f, &v.account).await;
    let expiring_since = Instant::now();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    let mut cases = 0;

    for column in &COLUMNS[..5] {
        for op in &ops {
            let cred = match column.name {
                "no credentials" => Cred::None,
                "wrong token" => Cred::Basic(v.account.sid.clone(), "0".repeat(32)),
                "malformed Authorization" => Cred::Bearer(String::new()),
                "another account" => basic(&other),
                // A fresh session each time: the server's sessions live only SESSION_TTL seconds.
                _ => Cred::Bearer(sign_in(&f, &other).await.0),
            };
            *counts.entry(check(&f, &v, op, column, &cred).await).or_default() += 1;
            cases += 1;
        }
    }
    // The victim's own session, expired.
    let wait = Duration::from_secs(SESSION_TTL + 1).saturating_sub(expiring_since.elapsed());
    tokio::time::sleep(wait).await;
    for op in &ops {
        *counts
            .entry(check(&f, &v, op, &COLUMNS[5], &Cred::Bearer(expiring.clone())).await)
            .or_default() += 1;
        cases += 1;
    }
    // The victim's own session, signed out.
    let (ended, ended_uri) = sign_in(&f, &v.account).await;
    let out = f.send(f.request(Method::DELETE, &ended_uri)).await;
    assert_eq!(out.status, 204);
    for op in &ops {
        *counts
            .entry(check(&f, &v, op, &COLUMNS[6], &Cred::Bearer(ended.clone())).await)
            .or_default() += 1;
        cases += 1;
    }

    // Nothing the intruders tried took effect.
    let (token, _) = sign_in(&f, &v.account).await;
    let mine = |uri: &str| f.client.get(format!("{}{uri}", f.server.base)).bearer_auth(&token).send();
    let account: Value = mine(&v.uri).await.unwrap().json().await.unwrap();
    assert_eq!(account["status"], "active");
    assert!(
        v.secrets.contains(&account["friendly_name"].as_str().unwrap().to_owned()),
        "renamed: {account}"
    );
    let message: Value = mine(&v.message).await.unwrap().json().await.unwrap();
    assert_eq!(message["status"], "scheduled", "{message}");
    assert!(
        v.secrets.contains(&message["body"].as_str().unwrap().to_owned()),
        "redacted: {message}"
    );
    assert_eq!(mine(&v.media).await.unwrap().status(), 200);
    let feedback: Value = mine(&v.feedback).await.unwrap().json().await.unwrap();
    assert_eq!(feedback["outcome"], "unconfirmed");
    assert_eq!(mine(&v.session).await.unwrap().status(), 200, "the victim's session survived");
    let list: Value = mine(&v.account.messages).await.unwrap().json().await.unwrap();
    assert_eq!(
        list["messages"].as_array().unwrap().len(),
        1,
        "an intruder created a message: {list}"
    );

    // Finally the victim's account closed: its own credentials no longer open anything.
    let closed = f.send(f.request(Method::POST, &v.uri).form(&[("Status", "closed")])).await;
    assert_eq!(closed.status, 200);
    for op in &ops {
        *counts.entry(check(&f, &v, op, &COLUMNS[7], &basic(&v.account)).await).or_default() += 1;
        cases += 1;
    }
    f.assert_healthy().await;
    assert_eq!(cases, ops.len() * COLUMNS.len());
    let tally: Vec<String> = counts.iter().map(|(s, n)| format!("{n} × {s}")).collect();
    let op_names: Vec<&str> = ops.iter().map(|o| o.name).collect();
    let col_names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    report::record(
        "access",
        &format!(
            "Last run: **{} operations × {} credential kinds = {cases} cases, all answered as expected** ({}), and no \
             answer carried any of the victim's {} secrets (account sid and token, name, message body, media URL, \
             message / media / session sids, session token) unless the request itself named it. Afterwards the \
             victim's data was unchanged.\n\n- operations: {}\n- credentials: {}",
            ops.len(),
            COLUMNS.len(),
            tally.join(", "),
            v.secrets.len(),
            op_names.join(", "),
            col_names.join(", ")
        ),
    );
}

/// The sids of a collection page's items.
fn sids(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {page}"))
        .iter()
        .map(|i| i["sid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_tokens_and_idempotency_keys_do_not_cross_accounts() {
    let f = Fixture::start(&[]).await;
    let a = f.account.clone();
    let b = create_account(&f.client, &f.server.base, "b").await;
    let get = |who: &Account, uri: &str| as_account(&f.client, &f.server.base, who, Method::GET, uri).send();
    let post = |who: &Account, uri: &str| as_account(&f.client, &f.server.base, who, Method::POST, uri);
    let form = |body: &str| {
        vec![
            ("To", "+15005550006".to_owned()),
            ("From", "+15017122661".to_owned()),
            ("Body", body.to_owned()),
        ]
    };
    for i in 0..4 {
        for who in [&a, &b] {
            let res = post(who, &who.messages)
                .form(&form(&format!("{} #{i}", who.sid)))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
        assert_eq!(
            post(&a, &a.entry.accounts)
                .form(&[("FriendlyName", "a-sub")])
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
        assert_eq!(post(&a, &a.entry.sessions).send().await.unwrap().status(), 201);
    }
    let b_messages: Vec<String> = sids(&get(&b, &b.messages).await.unwrap().json().await.unwrap(), "messages");
    let b_visible_accounts = [b.sid.clone()];

    // Walk A's collections one item a page; B replays every token A was given.
    let mut tokens = 0;
    for (collection, key) in [
        (a.messages.clone(), "messages"),
        (a.entry.accounts.clone(), "accounts"),
        (a.entry.sessions.clone(), "sessions"),
    ] {
        let mut next = Some(format!("{collection}?PageSize=1"));
        while let Some(uri) = next {
            let page: Value = get(&a, &uri).await.unwrap().json().await.unwrap();
            next = page["next_page_uri"].as_str().map(str::to_owned);
            let Some(n) = next.as_deref() else { break };
            tokens += 1;
            // A's own next page, followed by B.
            let theirs = Answer::from(get(&b, n).await.unwrap()).await;
            if key == "messages" {
                theirs.assert_error("B follows A's next_page_uri", 404, 20404);
                assert!(!theirs.text().contains(&format!("{} #", a.sid)), "{}", theirs.text());
            } else {
                // Accounts and sessions are the caller's own collections: B sees only its own.
                assert_eq!(theirs.status, 200);
                if key == "accounts" {
                    for sid in sids(&theirs.json(), key) {
                        assert!(b_visible_accounts.contains(&sid), "B saw account {sid}");
                    }
                }
                assert!(!theirs.text().contains(&a.sid), "B's {key} page shows A: {}", theirs.text());
            }
            // The token grafted onto B's own collection.
            let query = n.split_once('?').unwrap().1;
            let own = if key == "messages" {
                b.messages.clone()
            } else {
                collection.clone()
            };
            let grafted = Answer::from(get(&b, &format!("{own}?{query}")).await.unwrap()).await;
            assert_eq!(grafted.status, 200, "{}", grafted.text());
            assert!(
                !grafted.text().contains(&a.sid),
                "A's token showed A's data to B: {}",
                grafted.text()
            );
            if key == "messages" {
                for sid in sids(&grafted.json(), key) {
                    assert!(b_messages.contains(&sid), "B saw message {sid}");
                }
            }
        }
    }
    assert!(tokens >= 9, "only {tokens} page tokens");

    // Idempotency-Keys belong to the caller that used them.
    let key = "shared-key-1";
    let first = post(&a, &a.messages)
        .header("Idempotency-Key", key)
        .form(&form("a's secret body"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let a_sid = first.json::<Value>().await.unwrap()["sid"].as_str().unwrap().to_owned();
    for (what, req) in [
        ("B, same key and body, A's collection", post(&b, &a.messages)),
        ("B, same key and body, own collection", post(&b, &b.messages)),
        (
            "anonymous, same key and body, A's collection",
            f.client.post(format!("{}{}", f.server.base, a.messages)),
        ),
    ] {
        let res = Answer::from(
            req.header("Idempotency-Key", key)
                .form(&form("a's secret body"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_ne!(res.header("idempotent-replayed"), Some("true"), "{what}: replayed A's response");
        assert!(!res.text().contains(&a_sid), "{what}: {}", res.text());
        match what {
            "B, same key and body, own collection" => assert_eq!(res.status, 201, "{what}"),
            w if w.starts_with("anonymous") => drop(res.assert_error(what, 401, 20003)),
            _ => drop(res.assert_error(what, 404, 20404)),
        }
    }
    // A key that created a sub-account (whose response holds its auth token) replays only for A.
    let sub_key = "sub-account-key";
    let sub = post(&a, &a.entry.accounts)
        .header("Idempotency-Key", sub_key)
        .form(&[("FriendlyName", "child")])
        .send()
        .await
        .unwrap();
    assert_eq!(sub.status(), 201);
    let sub: Value = sub.json().await.unwrap();
    let replay = post(&a, &a.entry.accounts)
        .header("Idempotency-Key", sub_key)
        .form(&[("FriendlyName", "child")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    for req in [
        post(&b, &b.entry.accounts),
        f.client.post(format!("{}/2010-04-01/Accounts.json", f.server.base)),
    ] {
        let res = Answer::from(
            req.header("Idempotency-Key", sub_key)
                .form(&[("FriendlyName", "child")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(res.status, 201);
        assert_ne!(res.header("idempotent-replayed"), Some("true"));
        assert_ne!(res.json()["sid"], sub["sid"]);
        assert!(
            !res.text().contains(sub["auth_token"].as_str().unwrap()),
            "another caller got A's sub-account token"
        );
    }
    f.assert_healthy().await;
    report::record(
        "access_tokens",
        &format!(
            "Last run: **{tokens} PageTokens** issued to one account, replayed by another on the issuer's collection (404) \
             and grafted onto its own (its own items only); **one Idempotency-Key** reused by another account and \
             anonymously on the issuer's collection (404 / 401, no replay) and on the other's own (a new message); a key \
             whose response held a sub-account's auth token replayed for its owner only."
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_acts_on_its_sub_accounts_and_not_the_reverse() {
    let f = Fixture::start(&[]).await;
    let parent = f.account.clone();
    let base = f.server.base.clone();
    let as_ = |who: &Account, method: Method, uri: &str| as_account(&f.client, &base, who, method, uri);
    let child_of = |owner: &Account, name: &'static str| {
        let req = as_(owner, Method::POST, &owner.entry.accounts).form(&[("FriendlyName", name)]);
        let entry = owner.entry.clone();
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 201);
            let body: Value = res.json().await.unwrap();
            Account::from_created(&body, entry)
        }
    };
    let s1 = child_of(&parent, "s1").await;
    let s2 = child_of(&parent, "s2").await;
    let uri = |a: &Account| a.uri.clone();
    let new_message = [("To", "+15005550006"), ("From", "+15017122661"), ("Body", "hello")];
    let status = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status().as_u16() };
    let mut checks = 0;
    let mut expect = |what: &str, got: u16, want: u16| {
        assert_eq!(got, want, "{what}");
        checks += 1;
    };

    // The parent may act on its sub-account.
    let child: Value = as_(&parent, Method::GET, &uri(&s1)).send().await.unwrap().json().await.unwrap();
    assert_eq!(child["owner_account_sid"], parent.sid.as_str());
    expect(
        "parent fetches sub-account",
        status(as_(&parent, Method::GET, &uri(&s1))).await,
        200,
    );
    expect(
        "parent renames sub-account",
        status(as_(&parent, Method::POST, &uri(&s1)).form(&[("FriendlyName", "renamed")])).await,
        200,
    );
    let created = as_(&parent, Method::POST, &s1.messages).form(&new_message).send().await.unwrap();
    expect("parent sends from sub-account", created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["account_sid"], s1.sid.as_str());
    let msg = created["uri"].as_str().unwrap().to_owned();
    expect(
        "parent lists sub-account's messages",
        status(as_(&parent, Method::GET, &s1.messages)).await,
        200,
    );
    expect(
        "parent fetches sub-account's message",
        status(as_(&parent, Method::GET, &msg)).await,
        200,
    );
    expect(
        "sub-account fetches its own message",
        status(as_(&s1, Method::GET, &msg)).await,
        200,
    );
    let listed: Value = as_(&parent, Method::GET, &parent.entry.accounts)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = sids(&listed, "accounts");
    assert!(
        listed.contains(&s1.sid) && listed.contains(&s2.sid) && listed.contains(&parent.sid),
        "{listed:?}"
    );
    // With a session too.
    let (token, _) = sign_in(&f, &parent).await;
    let via_session = f
        .client
        .get(format!("{base}{}", s2.messages))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect("parent's session lists sub-account's messages", via_session.status().as_u16(), 200);

    // The sub-account may not act on its parent, nor on a sibling.
    let parent_msg: Value = as_(&parent, Method::POST, &parent.messages)
        .form(&new_message)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parent_msg = parent_msg["uri"].as_str().unwrap().to_owned();
    for (who, what) in [(&s1, "sub-account"), (&s2, "sibling")] {
        let target = if what == "sibling" { &s1 } else { &parent };
        let target_msg = if what == "sibling" { msg.clone() } else { parent_msg.clone() };
        expect(&format!("{what} fetches"), status(as_(who, Method::GET, &uri(target))).await, 404);
        expect(
            &format!("{what} renames"),
            status(as_(who, Method::POST, &uri(target)).form(&[("FriendlyName", "x")])).await,
            404,
        );
        expect(
            &format!("{what} closes"),
            status(as_(who, Method::POST, &uri(target)).form(&[("Status", "closed")])).await,
            404,
        );
        expect(
            &format!("{what} lists messages"),
            status(as_(who, Method::GET, &target.messages)).await,
            404,
        );
        expect(
            &format!("{what} sends"),
            status(as_(who, Method::POST, &target.messages).form(&new_message)).await,
            404,
        );
        expect(
            &format!("{what} fetches a message"),
            status(as_(who, Method::GET, &target_msg)).await,
            404,
        );
        expect(
            &format!("{what} deletes a message"),
            status(as_(who, Method::DELETE, &target_msg)).await,
            404,
        );
    }
    let s1_list: Value = as_(&s1, Method::GET, &s1.entry.accounts)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sids(&s1_list, "accounts"), vec![s1.sid.clone()], "a sub-account sees only itself");

    // Sub-accounts are one level deep (as on Twilio): a sub-account cannot create accounts.
    expect(
        "sub-account creates an account",
        status(as_(&s1, Method::POST, &s1.entry.accounts).form(&[("FriendlyName", "grandchild")])).await,
        403,
    );

    // The parent closes the sub-account: its credentials stop working; the parent still sees it.
    expect(
        "parent closes sub-account",
        status(as_(&parent, Method::POST, &uri(&s2)).form(&[("Status", "closed")])).await,
        200,
    );
    expect(
        "closed sub-account's credentials",
        status(as_(&s2, Method::GET, &s2.messages)).await,
        401,
    );
    let closed: Value = as_(&parent, Method::GET, &uri(&s2)).send().await.unwrap().json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    expect(
        "parent still reaches its own data",
        status(as_(&parent, Method::GET, &parent.messages)).await,
        200,
    );
    let checks = checks;
    f.assert_healthy().await;
    report::record(
        "access_subaccounts",
        &format!(
            "Last run: **{checks} sub-account checks passed**. A parent fetches, renames, closes, sends from and reads the \
             messages of its sub-accounts (with Basic or a session); a sub-account gets 404 on its parent and on its \
             siblings. Sub-accounts are one level deep, as on Twilio: a sub-account's attempt to create an account is \
             refused (403)."
        ),
    );
}
