//! The ceiling: what signpost's stack (actix-web 4, rusqlite/SQLite in WAL mode, an r2d2 pool,
//! `web::block`) does with no product logic at all: no auth, no negotiation, no ETag, no Link
//! header, no rate limit, no access log. It serves the same database signpost is benchmarked
//! on, with the same connection settings (WAL, `synchronous = NORMAL`, busy timeout, statement
//! cache, 2 MiB page cache per reader) and the same sizing as signpost's defaults: one HTTP worker
//! per core, two pooled connections per worker, and as many blocking threads per worker as its
//! share of the pool (`CEILING_POOL` overrides the pool size, to compare).
//!
//! With a third argument `defaults`, it is sized the way a minimal program is by default instead:
//! a pool of 8 connections (signpost's old default) and actix's default blocking threads (512
//! divided by the workers), so that 64 concurrent requests run on 64 threads that queue for 8
//! connections (and, for inserts, on SQLite's one write lock).
//!
//! - `GET /static`: a bare static JSON body.
//! - `GET /point/{account}/{sid}`: one message row, serialized with Twilio's full field set.
//! - `GET /list/{account}`: the account's 50 newest messages in a Twilio-style page.
//! - `POST /insert/{account}` (form `To`, `From`, `Body`): one INSERT per request in its own
//!   transaction (autocommit), 201 with the message: the naive write path.
//!
//! Usage: signpost-bench-ceiling DATABASE ADDR [defaults] (ADDR may use port 0; the port is printed).
use actix_web::{web, App, HttpResponse, HttpServer};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

type Pool = r2d2::Pool<SqliteConnectionManager>;

const COLUMNS: &str = "sid, account_sid, to_number, from_number, body, status, direction, num_segments, num_media, \
    error_code, error_message, date_created, date_updated, date_sent";

#[derive(Serialize)]
struct Subresources {
    media: String,
    feedback: String,
    account: String,
}

#[derive(Serialize)]
struct Message {
    sid: String,
    account_sid: String,
    from: String,
    to: String,
    body: String,
    status: String,
    direction: String,
    num_segments: String,
    num_media: String,
    date_created: String,
    date_updated: String,
    date_sent: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    price: Option<String>,
    price_unit: &'static str,
    messaging_service_sid: Option<String>,
    api_version: &'static str,
    uri: String,
    subresource_uris: Subresources,
}

#[derive(Serialize)]
struct Page {
    first_page_uri: String,
    end: u32,
    previous_page_uri: Option<String>,
    messages: Vec<Message>,
    uri: String,
    page_size: u32,
    start: u32,
    next_page_uri: Option<String>,
    page: u32,
}

fn rfc2822(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc2822).ok())
        .unwrap_or_default()
}

fn from_row(r: &Row) -> rusqlite::Result<Message> {
    let sid: String = r.get(0)?;
    let account: String = r.get(1)?;
    let base = format!("/2010-04-01/Accounts/{account}/Messages/{sid}");
    Ok(Message {
        to: r.get(2)?,
        from: r.get(3)?,
        body: r.get(4)?,
        status: r.get(5)?,
        direction: r.get(6)?,
        num_segments: r.get::<_, i64>(7)?.to_string(),
        num_media: r.get::<_, i64>(8)?.to_string(),
        error_code: r.get(9)?,
        error_message: r.get(10)?,
        date_created: rfc2822(r.get(11)?),
        date_updated: rfc2822(r.get(12)?),
        date_sent: r.get::<_, Option<i64>>(13)?.map(rfc2822),
        price: None,
        price_unit: "USD",
        messaging_service_sid: None,
        api_version: "2010-04-01",
        uri: format!("{base}.json"),
        subresource_uris: Subresources {
            media: format!("{base}/Media.json"),
            feedback: format!("{base}/Feedback.json"),
            account: format!("/2010-04-01/Accounts/{account}.json"),
        },
        sid,
        account_sid: account,
    })
}

fn configure(c: &mut Connection) -> rusqlite::Result<()> {
    c.execute_batch(
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -2000;",
    )?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn json(status: actix_web::http::StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body)
}

async fn bare() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(
        r#"{"name":"signpost","version":"1","uri":"/","subresource_uris":{"accounts":"/2010-04-01/Accounts.json","sessions":"/2010-04-01/Sessions.json","messages":"/2010-04-01/Messages.json"}}"#,
    )
}

async fn point(pool: web::Data<Pool>, path: web::Path<(String, String)>) -> actix_web::Result<HttpResponse> {
    let (account, sid) = path.into_inner();
    let found = web::block(move || -> Result<Option<Vec<u8>>, String> {
        let conn = pool.get().map_err(|e| e.to_string())?;
        let m = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE sid = ?1 AND account_sid = ?2"))
            .and_then(|mut s| s.query_row([&sid, &account], from_row).optional())
            .map_err(|e| e.to_string())?;
        Ok(m.map(|m| serde_json::to_vec(&m).unwrap()))
    })
    .await?
    .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(match found {
        Some(body) => json(actix_web::http::StatusCode::OK, body),
        None => HttpResponse::NotFound().finish(),
    })
}

async fn list(pool: web::Data<Pool>, path: web::Path<String>) -> actix_web::Result<HttpResponse> {
    let account = path.into_inner();
    let body = web::block(move || -> Result<Vec<u8>, String> {
        let conn = pool.get().map_err(|e| e.to_string())?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM messages WHERE account_sid = ?1 ORDER BY seq DESC LIMIT 50"
            ))
            .map_err(|e| e.to_string())?;
        let messages = stmt
            .query_map([&account], from_row)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| e.to_string())?;
        let uri = format!("/2010-04-01/Accounts/{account}/Messages.json");
        let page = Page {
            first_page_uri: format!("{uri}?PageSize=50&Page=0"),
            end: messages.len().saturating_sub(1) as u32,
            previous_page_uri: None,
            next_page_uri: Some(format!("{uri}?PageSize=50&Page=1&PageToken=PAxxxxx")),
            messages,
            uri,
            page_size: 50,
            start: 0,
            page: 0,
        };
        Ok(serde_json::to_vec(&page).unwrap())
    })
    .await?
    .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(json(actix_web::http::StatusCode::OK, body))
}

#[derive(Deserialize)]
struct Create {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Body")]
    body: String,
}

async fn insert(pool: web::Data<Pool>, path: web::Path<String>, form: web::Form<Create>) -> actix_web::Result<HttpResponse> {
    let account = path.into_inner();
    let form = form.into_inner();
    let body = web::block(move || -> Result<Vec<u8>, String> {
        let conn = pool.get().map_err(|e| e.to_string())?;
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let m = conn
            .prepare_cached(&format!(
                "INSERT INTO messages (sid, account_sid, to_number, from_number, body, status, direction, num_segments, num_media,
                                       date_created, date_updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 'outbound-api', 1, 0, ?6, ?6) RETURNING {COLUMNS}"
            ))
            .and_then(|mut s| s.query_row(rusqlite::params![sid, account, form.to, form.from, form.body, now], from_row))
            .map_err(|e| e.to_string())?;
        Ok(serde_json::to_vec(&m).unwrap())
    })
    .await?
    .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(json(actix_web::http::StatusCode::CREATED, body))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (db, addr) = match (args.get(1), args.get(2)) {
        (Some(db), Some(addr)) => (db.clone(), addr.clone()),
        _ => {
            eprintln!("usage: {} DATABASE ADDR", args[0]);
            std::process::exit(2);
        }
    };
    let check = Connection::open(&db).expect("open database");
    let mode: String = check.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    drop(check);
    let defaults = args.get(3).is_some_and(|a| a == "defaults");
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let size: usize = std::env::var("CEILING_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if defaults { 8 } else { 2 * workers })
        .max(1);
    let pool = r2d2::Pool::builder()
        .max_size(size as u32)
        .build(SqliteConnectionManager::file(&db).with_init(configure))
        .expect("pool");
    let pool = web::Data::new(pool);
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .route("/static", web::get().to(bare))
            .route("/point/{account}/{sid}", web::get().to(point))
            .route("/list/{account}", web::get().to(list))
            .route("/insert/{account}", web::post().to(insert))
    })
    .workers(workers);
    if !defaults {
        server = server.worker_max_blocking_threads(size.div_ceil(workers));
    }
    server.listen(listener)?.run().await
}
