//! Seeds a fresh signpost database for the benchmark through signpost's own storage API
//! (`store::init::open_writer`, `store::accounts::insert`, `store::messages::insert`), so the
//! rows are exactly what the server itself writes, only many at a time in big transactions.
//!
//! Usage: signpost-bench-seed DATABASE ACCOUNTS MESSAGES [OUT_DIR]
//!
//! 60% of the messages go to the first account (the "big" one: deep paging needs an account
//! with more than 50,000 messages), the rest round-robin over the others, interleaved in time.
//! All messages are in a final state (`delivered`), so the dispatcher has nothing to do with
//! them. With OUT_DIR, it writes what the load scripts need:
//! - `accounts.tsv`: `sid <TAB> auth token <TAB> From number`, one account a line, big first;
//! - `messages.tsv`: `account index (0-based) <TAB> message sid <TAB> its ETag`, every message;
//! - `deep.txt`: the path of the page at offset 50,000 of the big account (a real PageToken
//!   made by signpost's own paging code), and `page1.txt`: its first page.
use signpost::crypto::{new_auth_token, token_hash, Sealer};
use signpost::domain::message::{segments, MessageStatus};
use signpost::domain::sid::{AccountSid, MessageSid};
use signpost::http::paging;
use signpost::hypermedia::{model, uris};
use signpost::representation::html::PageContext;
use signpost::representation::negotiate::Format;
use signpost::representation::reply;
use signpost::store::{self, accounts::NewAccount, messages::NewMessage, Cursor};
use std::io::Write;
use std::path::{Path, PathBuf};

const DEEP_OFFSET: usize = 50_000;
const PAGE: usize = 50;
const CHUNK: usize = 50_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const WORDS: [&str; 24] = [
    "hello", "your", "order", "has", "shipped", "and", "will", "arrive", "tomorrow", "code", "is", "please", "reply", "STOP", "to", "opt",
    "out", "meeting", "moved", "at", "noon", "thanks", "see", "you",
];

fn body(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(120);
    let words = 10 + (rng.next() % 10) as usize;
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
    }
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: {} DATABASE ACCOUNTS MESSAGES [OUT_DIR]", args[0]);
        std::process::exit(2);
    }
    let db = PathBuf::from(&args[1]);
    let n_accounts: usize = args[2].parse().expect("ACCOUNTS is a number");
    let n_messages: usize = args[3].parse().expect("MESSAGES is a number");
    let out = args.get(4).map(PathBuf::from);
    if db.exists() {
        eprintln!("{} exists; the seeder only fills a fresh database", db.display());
        std::process::exit(2);
    }
    let started = std::time::Instant::now();
    let mut key = db.clone().into_os_string();
    key.push(".key");
    let sealer = Sealer::load_or_create(Path::new(&key)).expect("key file");
    let (conn, _) = store::init::open_writer(&db).expect("open database");

    let now = signpost::domain::dates::now();
    let start = now - n_messages as i64 - 3600;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Accounts.
    let mut accounts = Vec::with_capacity(n_accounts);
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..n_accounts {
        let token = new_auth_token();
        let sid = AccountSid::generate();
        store::accounts::insert(
            &conn,
            &NewAccount {
                sid: sid.clone(),
                owner: None,
                friendly_name: format!("bench account {i}"),
                token_hash: token_hash(&token),
                token_enc: sealer.seal(token.as_bytes()),
                now: start,
            },
        )
        .expect("insert account");
        accounts.push((sid, token, format!("+1202555{:04}", i)));
    }
    conn.execute_batch("COMMIT").unwrap();

    // Messages, interleaved in time; big account: 3 of every 5.
    let mut listing = out.as_ref().map(|_| Vec::with_capacity(n_messages));
    let mut big_seqs: Vec<i64> = Vec::new();
    let mut other = 0usize;
    for chunk in 0..n_messages.div_ceil(CHUNK) {
        conn.execute_batch("BEGIN").unwrap();
        for i in chunk * CHUNK..((chunk + 1) * CHUNK).min(n_messages) {
            let a = if i % 5 < 3 || n_accounts == 1 {
                0
            } else {
                other += 1;
                1 + (other - 1) % (n_accounts - 1)
            };
            let (account, _, from) = &accounts[a];
            let text = body(&mut rng);
            let t = start + i as i64;
            let sid = MessageSid::generate();
            store::messages::insert(
                &conn,
                &NewMessage {
                    sid: sid.clone(),
                    account: account.clone(),
                    to: format!("+1303555{:04}", rng.next() % 10_000),
                    from: from.clone(),
                    num_segments: segments(&text),
                    body: text,
                    status: MessageStatus::Delivered,
                    direction: "outbound-api",
                    media: Vec::new(),
                    status_callback: None,
                    send_at: None,
                    next_step_at: None,
                    now: t,
                    date_sent: Some(t + 1),
                },
            )
            .expect("insert message");
            if a == 0 {
                big_seqs.push(conn.last_insert_rowid());
            }
            if let Some(l) = listing.as_mut() {
                l.push((a, sid));
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA optimize;").unwrap();
    drop(conn);

    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("accounts.tsv")).unwrap());
        for (sid, token, from) in &accounts {
            writeln!(f, "{sid}\t{token}\t{from}").unwrap();
        }
        f.flush().unwrap();
        // Each message's current ETag, as the server computes it, read back from the database.
        let (conn, _) = store::init::open_writer(&db).expect("reopen database");
        let page = PageContext::default();
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("messages.tsv")).unwrap());
        for (a, sid) in listing.unwrap_or_default() {
            let m = store::messages::find(&conn, &accounts[a].0, &sid).unwrap().expect("seeded message");
            let etag = reply::render(&model::message(m), Format::Json, &page).etag;
            writeln!(f, "{a}\t{sid}\t{etag}").unwrap();
        }
        drop(conn);
        f.flush().unwrap();
        let base = uris::messages(&accounts[0].0);
        std::fs::write(dir.join("page1.txt"), format!("{base}\n")).unwrap();
        // Newest first: the page at offset 50,000 starts after the 50,000th newest message.
        big_seqs.reverse();
        if let Some(&after) = big_seqs.get(DEEP_OFFSET - 1).filter(|_| big_seqs.len() >= DEEP_OFFSET + PAGE) {
            let token = paging::encode(Cursor::After(after)).unwrap();
            let deep = uris::with_query(
                &base,
                &[
                    ("PageSize", PAGE.to_string()),
                    ("Page", (DEEP_OFFSET / PAGE).to_string()),
                    ("PageToken", token),
                ],
            );
            std::fs::write(dir.join("deep.txt"), format!("{deep}\n")).unwrap();
        }
    }
    eprintln!(
        "seeded {} accounts and {} messages ({} in the big account) into {} in {:.1} s",
        n_accounts,
        n_messages,
        big_seqs.len(),
        db.display(),
        started.elapsed().as_secs_f64()
    );
}
