//! Hostile input against the real server: oversized and malformed requests, deeply nested JSON,
//! invalid UTF-8, NUL bytes, SQL metacharacters, markup in every writable field, and slow
//! clients. Every case gets a 4xx — in the contract's error shape wherever a request could be
//! parsed at all — never a 5xx, and the server stays up.
//!
//! Requests that actix rejects while still reading the request head (more than its 128 KiB head
//! buffer, more than 96 headers, a NUL in a header, a head that does not arrive within
//! `--client-timeout`) are answered by actix's HTTP/1 codec with a bare status and no body: there
//! is no request yet for the application to answer. Those cases check the 4xx and the closed
//! connection, and are listed as such in docs/reliability.md.
use crate::report;
use crate::server::{self, as_account, assert_error_shape, create_account, Account, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response as the tests see it, from reqwest or straight off the socket.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub async fn from(res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = res.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Answer { status, headers, body }
    }

    /// The first value of a header (names are lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Checks the contract's error shape (CONTRACT §7): status, code, the Twilio members, a JSON
    /// content type and a `Link` header with `self`.
    pub fn assert_error(&self, what: &str, status: u16, code: u64) -> Value {
        assert_eq!(self.status, status, "{what}: {}", self.text());
        assert!(
            self.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "{what}: error body is not JSON: {:?} {}",
            self.header("content-type"),
            self.text()
        );
        let body = self.json();
        assert_error_shape(StatusCode::from_u16(self.status).unwrap(), &body, status, code);
        assert!(
            self.header("link").is_some_and(|l| l.contains("rel=\"self\"")),
            "{what}: no Link self"
        );
        body
    }
}

/// Sends raw bytes and reads the answer until the server closes the connection (or `limit`
/// passes: then `None`). Write errors are ignored — a server may answer and close before it has
/// read everything.
pub async fn raw(base: &str, bytes: &[u8], limit: Duration) -> Option<Answer> {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(bytes).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    read.ok()?;
    Some(parse_response(&buf))
}

fn parse_response(buf: &[u8]) -> Answer {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < nl + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[(nl + 4 + size).min(rest.len())..];
        }
        body = out;
    }
    Answer { status, headers, body }
}

/// A raw request with one more header line (any bytes) after its request line.
fn with_header(mut request: Vec<u8>, line: &[u8]) -> Vec<u8> {
    let at = request.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    request.splice(at..at, line.iter().chain(b"\r\n").copied());
    request
}

/// A server on a fresh database with one account.
pub struct Fixture {
    pub server: Server,
    pub client: reqwest::Client,
    pub account: Account,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn start(extra: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(&dir.path().join("signpost.db"), extra);
        Fixture::with(dir, server).await
    }

    /// A fixture around a server started by the caller in `dir`.
    pub async fn with(dir: tempfile::TempDir, server: Server) -> Fixture {
        let client = server::client();
        let account = create_account(&client, &server.base, "hostile").await;
        Fixture {
            server,
            client,
            account,
            _dir: dir,
        }
    }

    pub fn request(&self, method: Method, uri: &str) -> reqwest::RequestBuilder {
        as_account(&self.client, &self.server.base, &self.account, method, uri)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        Answer::from(req.send().await.expect("request")).await
    }

    /// The `Authorization` header of the account.
    pub fn basic(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.account.sid, self.account.token);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }

    /// The server still answers, and its log holds no panic and no server error.
    pub async fn assert_healthy(&self) {
        let res = self
            .client
            .get(format!("{}/", self.server.base))
            .send()
            .await
            .expect("server still up");
        assert_eq!(res.status(), StatusCode::OK);
        let log = self.server.settled_logs();
        server::assert_no_panic(&log);
        assert!(
            !log.contains("answered with a server error"),
            "a 5xx was logged:\n{}",
            server::tail(&log, 40)
        );
    }
}

/// One hostile request and what it must get: `Some(code)` for an answer in the error shape,
/// `None` for a bare status from actix's HTTP/1 codec.
struct Case {
    name: &'static str,
    status: u16,
    code: Option<u64>,
    answer: Answer,
}

fn table(cases: &[Case]) -> String {
    let mut out = String::from("| hostile request | answer |\n|---|---|\n");
    for c in cases {
        let how = match c.code {
            Some(code) => format!("{} ({code}, error shape)", c.status),
            None => format!("{} (bare, from actix's HTTP/1 codec)", c.status),
        };
        out.push_str(&format!("| {} | {how} |\n", c.name));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_get_a_4xx_in_the_error_shape() {
    let f = Fixture::start(&[]).await;
    let base = f.server.base.clone();
    let messages = f.account.messages.clone();
    let auth = f.basic();
    let form = "application/x-www-form-urlencoded";
    let json = "application/json";
    let post = |ct: &str, body: Vec<u8>| f.request(Method::POST, &messages).header("content-type", ct).body(body);
    let raw_post = |ct: &str, body: &[u8]| {
        let ct = if ct.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {ct}\r\n")
        };
        let mut r = format!(
            "POST {messages} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let raw_get = |target: &str, extra: &str| format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n").into_bytes();
    let wait = Duration::from_secs(10);
    let mut cases = Vec::new();
    macro_rules! case {
        ($name:expr, $status:expr, $code:expr, $answer:expr) => {
            cases.push(Case {
                name: $name,
                status: $status,
                code: $code,
                answer: $answer,
            })
        };
    }

    // Bodies over the limit (64 KiB): declared, chunked without a length, and behind an Idempotency-Key.
    let big = format!("To=%2B15005550006&From=%2B15017122661&Body={}", "a".repeat(70 * 1024));
    case!(
        "form body of 70 KiB (limit 64 KiB)",
        413,
        Some(20413),
        f.send(post(form, big.clone().into_bytes())).await
    );
    let mut chunked = format!(
        "POST {messages} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: {form}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for piece in big.as_bytes().chunks(8 * 1024) {
        chunked.push_str(&format!("{:x}\r\n{}\r\n", piece.len(), String::from_utf8_lossy(piece)));
    }
    chunked.push_str("0\r\n\r\n");
    case!(
        "chunked body of 70 KiB, no length",
        413,
        Some(20413),
        raw(&base, chunked.as_bytes(), wait).await.unwrap()
    );
    case!(
        "70 KiB body with an Idempotency-Key",
        413,
        Some(20413),
        f.send(post(form, big.into_bytes()).header("Idempotency-Key", "big-1")).await
    );

    // Deeply nested JSON: serde_json's recursion limit answers, not the stack.
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    case!(
        "JSON array nested 30,000 deep",
        400,
        Some(20001),
        f.send(post(json, deep.into_bytes())).await
    );
    let deep = format!("{}1{}", "{\"To\":".repeat(8_000), "}".repeat(8_000));
    case!(
        "JSON object nested 8,000 deep",
        400,
        Some(20001),
        f.send(post(json, deep.into_bytes())).await
    );
    case!("JSON array body", 400, Some(20001), f.send(post(json, b"[\"To\"]".to_vec())).await);
    case!(
        "JSON parameter that is an object",
        400,
        Some(20001),
        f.send(post(json, br#"{"To":{"$ne":1}}"#.to_vec())).await
    );

    // Invalid UTF-8, raw and percent-encoded.
    case!(
        "form body with a raw 0xFF byte",
        400,
        Some(20001),
        f.send(post(form, b"To=%2B15005550006&Body=caf\xe9".to_vec())).await
    );
    case!(
        "form body with %E9 (Latin-1, not UTF-8)",
        400,
        Some(20001),
        f.send(post(form, b"Body=caf%E9".to_vec())).await
    );
    case!(
        "JSON body with a raw 0xFF byte",
        400,
        Some(20001),
        f.send(post(json, b"{\"Body\":\"caf\xff\"}".to_vec())).await
    );
    case!(
        "JSON body with a lone surrogate escape",
        400,
        Some(20001),
        f.send(post(json, br#"{"Body":"\ud800"}"#.to_vec())).await
    );
    case!(
        "query string with %FF",
        400,
        Some(20001),
        f.send(f.request(Method::GET, &format!("{messages}?To=%FF"))).await
    );

    // NUL bytes.
    case!(
        "form value with %00",
        400,
        Some(20001),
        f.send(post(form, b"To=%2B15005550006&Body=a%00b".to_vec())).await
    );
    case!(
        "JSON value with \\u0000",
        400,
        Some(20001),
        f.send(post(json, br#"{"Body":"a\u0000b"}"#.to_vec())).await
    );
    case!(
        "JSON body with a raw NUL byte",
        400,
        Some(20001),
        raw(&base, &raw_post(json, b"{\"Body\":\"a\0b\"}"), wait).await.unwrap()
    );
    case!(
        "query string with %00",
        400,
        Some(20001),
        f.send(f.request(Method::GET, &format!("{messages}?To=%00"))).await
    );
    case!(
        "NUL in a path segment",
        404,
        Some(20404),
        f.send(f.request(Method::GET, &f.account.uri.replace(f.account.sid.as_str(), "AC%00")))
            .await
    );
    case!(
        "raw NUL byte in a header",
        400,
        None,
        raw(&base, &raw_get("/", "X-Evil: a\0b\r\n"), wait).await.unwrap()
    );

    // Oversized request heads.
    let long = format!("{messages}?To={}", "1".repeat(20 * 1024));
    case!(
        "request target of 20 KiB",
        414,
        Some(20431),
        raw(&base, &raw_get(&long, &format!("Authorization: {auth}\r\n")), wait)
            .await
            .unwrap()
    );
    let padding = format!("X-Padding: {}\r\n", "p".repeat(40 * 1024));
    case!(
        "one header of 40 KiB",
        431,
        Some(20431),
        raw(&base, &raw_get("/", &padding), wait).await.unwrap()
    );
    let many: String = (0..90).map(|i| format!("X-Header-{i}: {}\r\n", "h".repeat(500))).collect();
    case!(
        "90 headers of 500 bytes",
        431,
        Some(20431),
        raw(&base, &raw_get("/", &many), wait).await.unwrap()
    );
    let auth_huge = format!("Authorization: Basic {}\r\n", "Q".repeat(20 * 1024));
    case!(
        "Authorization of 20 KiB",
        401,
        Some(20003),
        raw(&base, &raw_get(&messages, &auth_huge), wait).await.unwrap()
    );
    let enormous = format!("X-Padding: {}\r\n", "p".repeat(300 * 1024));
    case!(
        "one header of 300 KiB",
        431,
        None,
        raw(&base, &raw_get("/", &enormous), wait).await.unwrap()
    );
    let too_many: String = (0..200).map(|i| format!("X-H{i}: 1\r\n")).collect();
    case!("200 headers", 431, None, raw(&base, &raw_get("/", &too_many), wait).await.unwrap());

    // Headers that are not what they claim.
    let non_ascii_auth = with_header(raw_get(&messages, ""), b"Authorization: Basic \xc3\xa9\xff");
    case!(
        "Authorization with non-ASCII bytes",
        401,
        Some(20003),
        raw(&base, &non_ascii_auth, wait).await.unwrap()
    );
    case!(
        "Authorization Basic without a colon",
        401,
        Some(20003),
        f.send(
            f.client
                .get(format!("{base}{messages}"))
                .header("authorization", "Basic bm9jb2xvbg==")
        )
        .await
    );
    let non_ascii_type = with_header(raw_post("", b"To=1"), b"Content-Type: text/\xff");
    case!(
        "Content-Type that is not ASCII",
        415,
        Some(20415),
        raw(&base, &non_ascii_type, wait).await.unwrap()
    );
    case!(
        "text/plain body",
        415,
        Some(20415),
        f.send(post("text/plain", b"To=+15005550006".to_vec())).await
    );
    case!(
        "Accept: application/xml",
        406,
        Some(20406),
        f.send(f.request(Method::GET, &messages).header("accept", "application/xml")).await
    );
    case!(
        "Idempotency-Key of 300 characters",
        400,
        Some(20001),
        f.send(post(form, b"Body=x".to_vec()).header("Idempotency-Key", "k".repeat(300)))
            .await
    );
    let non_ascii_key = with_header(raw_post(form, b"Body=x"), b"Idempotency-Key: \xff\xfe");
    case!(
        "Idempotency-Key that is not ASCII",
        400,
        Some(20001),
        raw(&base, &non_ascii_key, wait).await.unwrap()
    );
    case!(
        "unknown method FROB",
        405,
        Some(20405),
        f.send(f.request(Method::from_bytes(b"FROB").unwrap(), &messages)).await
    );

    // Paging and filter parameters.
    case!(
        "PageSize of 10^20",
        400,
        Some(20001),
        f.send(f.request(Method::GET, &format!("{messages}?PageSize=100000000000000000000")))
            .await
    );
    case!(
        "forged PageToken",
        400,
        Some(20001),
        f.send(f.request(Method::GET, &format!("{messages}?PageToken=PA%27%3B--&Page=1")))
            .await
    );
    case!(
        "Page=-1",
        400,
        Some(20001),
        f.send(f.request(Method::GET, &format!("{messages}?Page=-1"))).await
    );
    case!(
        "DateSent that is not a date",
        400,
        Some(20001),
        f.send(f.request(Method::GET, &format!("{messages}?DateSent=yesterday%27"))).await
    );

    // Parameters that are many, long or too many.
    let thousands: String = (0..8000).map(|i| format!("p{i}=1&")).collect();
    case!(
        "8,000 parameters (no To)",
        400,
        Some(21604),
        f.send(post(form, thousands.into_bytes())).await
    );
    let body_1601 = format!("To=%2B15005550006&From=%2B15017122661&Body={}", "b".repeat(1601));
    case!(
        "Body of 1,601 characters",
        400,
        Some(21617),
        f.send(post(form, body_1601.into_bytes())).await
    );
    let media: String = (0..11).map(|i| format!("&MediaUrl=https%3A%2F%2Fexample.com%2F{i}.png")).collect();
    case!(
        "11 MediaUrl values",
        400,
        Some(21620),
        f.send(post(form, format!("To=%2B15005550006&From=%2B15017122661{media}").into_bytes()))
            .await
    );
    let name = format!("FriendlyName={}", "n".repeat(65));
    case!(
        "FriendlyName of 65 characters",
        400,
        Some(20001),
        f.send(
            f.request(Method::POST, &f.account.entry.accounts)
                .header("content-type", form)
                .body(name)
        )
        .await
    );

    for c in &cases {
        match c.code {
            Some(code) => {
                c.answer.assert_error(c.name, c.status, code);
            }
            None => {
                assert_eq!(c.answer.status, c.status, "{}: {}", c.name, c.answer.text());
                assert!(c.answer.body.is_empty(), "{}", c.name);
            }
        }
    }
    f.assert_healthy().await;
    let bare = cases.iter().filter(|c| c.code.is_none()).count();
    report::record(
        "hostile",
        &format!(
            "Last run: **{} hostile requests, every one answered 4xx, none 5xx, no panic** ({} in the contract's error shape; \
             {bare} cut off by actix while reading the request head, with a bare status and no body — no request exists yet \
             for the application to answer).\n\n{}",
            cases.len(),
            cases.len() - bare,
            table(&cases)
        ),
    );
}

/// SQL metacharacters are data: stored and returned byte for byte, matched literally by filters,
/// and never executed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_metacharacters_are_stored_and_returned_verbatim() {
    let f = Fixture::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let attached = dir.path().join("attached.db");
    let payloads = [
        "Robert'); DROP TABLE messages;--".to_owned(),
        "' OR '1'='1".to_owned(),
        "\"; DELETE FROM accounts; --".to_owned(),
        "100% _wild_ \\ card".to_owned(),
        format!("x'; ATTACH DATABASE '{}' AS pwn; --", attached.display()),
        "1; UPDATE sessions SET date_expires = 9999999999; SELECT '".to_owned(),
    ];
    let other = create_account(&f.client, &f.server.base, "bystander").await;
    let bystander = as_account(&f.client, &f.server.base, &other, Method::POST, &other.messages)
        .form(&[("To", "+15005550006"), ("From", "+15017122661"), ("Body", "untouched")])
        .send()
        .await
        .unwrap();
    assert_eq!(bystander.status(), StatusCode::CREATED);

    let mut uris = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        // As a form, and as JSON, with the payload also as the Idempotency-Key of the form post.
        let res = f
            .send(
                f.request(Method::POST, &f.account.messages)
                    .header("Idempotency-Key", p.as_str())
                    .form(&[("To", "+15005550006"), ("From", "+15017122661"), ("Body", p.as_str())]),
            )
            .await;
        assert_eq!(res.status, 201, "{p}: {}", res.text());
        assert_eq!(res.json()["body"], p.as_str());
        uris.push(res.json()["uri"].as_str().unwrap().to_owned());
        let again = f
            .send(
                f.request(Method::POST, &f.account.messages)
                    .header("Idempotency-Key", p.as_str())
                    .form(&[("To", "+15005550006"), ("From", "+15017122661"), ("Body", p.as_str())]),
            )
            .await;
        assert_eq!(again.header("idempotent-replayed"), Some("true"), "{p}: the key works as a key");
        let res = f
            .send(
                f.request(Method::POST, &f.account.messages)
                    .json(&serde_json::json!({"To": "+15005550006", "From": "+15017122661", "Body": p})),
            )
            .await;
        assert_eq!(res.status, 201, "{p}");
        uris.push(res.json()["uri"].as_str().unwrap().to_owned());
        let name = f
            .send(
                f.request(Method::POST, &f.account.entry.accounts)
                    .form(&[("FriendlyName", format!("{i} {p}"))]),
            )
            .await;
        assert_eq!(name.status, 201, "{p}");
        assert_eq!(name.json()["friendly_name"], format!("{i} {p}"));
    }
    // Read back one by one and through the list.
    for (uri, p) in uris.iter().zip(payloads.iter().flat_map(|p| [p, p])) {
        let got = f.send(f.request(Method::GET, uri)).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.json()["body"], p.as_str(), "{uri}");
    }
    let list = f
        .send(f.request(Method::GET, &format!("{}?PageSize=1000", f.account.messages)))
        .await
        .json();
    assert_eq!(list["messages"].as_array().unwrap().len(), payloads.len() * 2);
    // Filters compare literally: metacharacters and LIKE wildcards match nothing.
    for filter in ["' OR '1'='1", "%", "_%", "+1500555000%", "*"] {
        let uri = format!("{}?{}", f.account.messages, serde_urlencoded::to_string([("To", filter)]).unwrap());
        let page = f.send(f.request(Method::GET, &uri)).await;
        assert_eq!(page.status, 200, "{filter}");
        assert_eq!(page.json()["messages"].as_array().unwrap().len(), 0, "To={filter} matched messages");
    }
    // Nothing was executed: the bystander's message and every table are intact, no file attached.
    let theirs = server::all_messages(&f.client, &f.server.base, &other).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["body"], "untouched");
    assert!(!attached.exists(), "ATTACH ran");
    f.assert_healthy().await;
    let db = f.server.db.clone();
    f.server.stop();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count: i64 = conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap();
    assert_eq!(count as usize, payloads.len() * 2 + 1);
    let accounts: i64 = conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(accounts as usize, payloads.len() + 2);
    report::record(
        "hostile_sql",
        &format!(
            "Last run: **{} SQL-injection payloads** stored and returned byte for byte as message bodies (form and JSON), \
             account names and Idempotency-Keys; 5 metacharacter / wildcard filters matched nothing; no statement ran \
             (tables, row counts and the other account's data intact, no database attached).",
            payloads.len()
        ),
    );
}

/// Markup in every field a client can write, and in what error messages echo, is escaped on every
/// HTML page (and stays inert in JSON, which is served with `nosniff`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_every_field_is_escaped_in_html_pages() {
    let f = Fixture::start(&[]).await;
    let html = |req: reqwest::RequestBuilder| req.header("accept", "text/html");
    // Each payload names its field, so a failure says which field leaked.
    let script = |field: &str| format!("<script>alert('{field}')</script>");
    let name = script("FriendlyName");
    let body = format!("<img src=x onerror=alert('Body')>{}", script("Body"));
    let media = "https://example.com/\"><script>alert('MediaUrl')</script>.png".to_owned();
    let callback = "https://example.com/cb?x=\"><script>alert('StatusCallback')</script>".to_owned();

    let account = f
        .send(
            f.request(Method::POST, &f.account.entry.accounts)
                .form(&[("FriendlyName", name.as_str())]),
        )
        .await;
    assert_eq!(account.status, 201);
    let sub = account.json();
    let renamed = f
        .send(f.request(Method::POST, &f.account_uri()).form(&[("FriendlyName", name.as_str())]))
        .await;
    assert_eq!(renamed.status, 200);
    let msg = f
        .send(f.request(Method::POST, &f.account.messages).form(&[
            ("To", "+15005550006"),
            ("From", "+15017122661"),
            ("Body", body.as_str()),
            ("MediaUrl", media.as_str()),
            ("StatusCallback", callback.as_str()),
        ]))
        .await;
    assert_eq!(msg.status, 201, "{}", msg.text());
    let msg = msg.json();
    assert_eq!(msg["body"], body.as_str(), "stored as sent");
    let message_uri = msg["uri"].as_str().unwrap().to_owned();
    let media_list = msg["subresource_uris"]["media"].as_str().unwrap().to_owned();
    let feedback = msg["subresource_uris"]["feedback"].as_str().unwrap().to_owned();
    let media_page = f.send(f.request(Method::GET, &media_list)).await.json();
    let media_uri = media_page["media_list"][0]["uri"].as_str().unwrap().to_owned();
    let given = f.send(f.request(Method::POST, &feedback).form(&[("Outcome", "confirmed")])).await;
    assert_eq!(given.status, 201);

    let pages = [
        ("account (renamed)", f.account_uri()),
        ("sub-account", sub["uri"].as_str().unwrap().to_owned()),
        ("accounts list", f.account.entry.accounts.clone()),
        ("message", message_uri.clone()),
        ("messages list", f.account.messages.clone()),
        ("media list", media_list.clone()),
        ("media", media_uri),
        ("feedback", feedback.clone()),
    ];
    // Error pages that echo what the client sent.
    let bad_outcome = script("Outcome");
    let bad_to = script("To");
    let bad_status = script("Status");
    let bad_callback = format!("javascript:{}", script("callback-error"));
    let mut answers = Vec::new();
    for (what, uri) in &pages {
        answers.push((what.to_string(), f.send(html(f.request(Method::GET, uri))).await));
    }
    answers.push((
        "feedback error".into(),
        f.send(html(f.request(Method::POST, &feedback).form(&[("Outcome", bad_outcome.as_str())])))
            .await,
    ));
    answers.push((
        "To error".into(),
        f.send(html(
            f.request(Method::POST, &f.account.messages)
                .form(&[("To", bad_to.as_str()), ("Body", "x")]),
        ))
        .await,
    ));
    answers.push((
        "Status error".into(),
        f.send(html(
            f.request(Method::POST, &f.account_uri()).form(&[("Status", bad_status.as_str())]),
        ))
        .await,
    ));
    answers.push((
        "StatusCallback error".into(),
        f.send(html(f.request(Method::POST, &f.account.messages).form(&[
            ("To", "+15005550006"),
            ("From", "+15017122661"),
            ("Body", "x"),
            ("StatusCallback", bad_callback.as_str()),
        ])))
        .await,
    ));
    answers.push((
        "messages list filtered by markup".into(),
        f.send(html(
            f.request(Method::GET, &f.account.messages)
                .query(&[("To", script("filter")), ("From", script("filter"))]),
        ))
        .await,
    ));
    // Markup sent unencoded in the request line never reaches the application: actix refuses it.
    let raw_query = format!("{}?To=<script>alert('query')</script>", f.account.messages);
    let refused = raw(
        &f.server.base,
        format!(
            "GET {raw_query} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
            f.basic()
        )
        .as_bytes(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(refused.status, 400);
    assert!(!refused.text().contains("<script"));

    let mut checked = 0;
    for (what, page) in &answers {
        let text = page.text();
        assert!(
            page.header("content-type").is_some_and(|c| c.starts_with("text/html")),
            "{what}: {:?}",
            page.header("content-type")
        );
        assert!(page.status < 500, "{what}: {}", page.status);
        for needle in ["<script>alert", "<img src=x", "\"><script", "onerror=alert('"] {
            assert!(!text.contains(needle), "{what}: unescaped {needle:?} in\n{text}");
        }
        if let Some(link) = page.header("link") {
            assert!(!link.contains("<script"), "{what}: Link {link}");
        }
        checked += 1;
    }
    // The escaped payloads are shown (the fields were rendered at all).
    let shown = |what: &str, needle: &str| {
        let (_, page) = answers.iter().find(|(w, _)| w == what).unwrap();
        assert!(page.text().contains(needle), "{what} does not show {needle:?}:\n{}", page.text());
    };
    shown("account (renamed)", "&lt;script&gt;alert(");
    shown("message", "&lt;img src=x onerror=alert(");
    shown("messages list", "&lt;img src=x onerror=alert(");
    shown("feedback error", "&lt;script&gt;alert(");
    shown("To error", "&lt;script&gt;alert(");
    // JSON keeps the text as data, marked as JSON and not to be sniffed.
    let json = f.send(f.request(Method::GET, &message_uri)).await;
    assert_eq!(json.json()["body"], body.as_str());
    assert_eq!(json.header("x-content-type-options"), Some("nosniff"));
    assert!(json.header("content-type").unwrap().starts_with("application/json"));
    f.assert_healthy().await;
    report::record(
        "hostile_markup",
        &format!(
            "Last run: markup in every writable field (FriendlyName, Body, MediaUrl, StatusCallback) and in echoed \
             invalid values (Outcome, To, Status, StatusCallback) and filter values — **{checked} HTML pages checked, \
             every payload escaped**; JSON carries it as data with `X-Content-Type-Options: nosniff`."
        ),
    );
}

impl Fixture {
    /// The account's own URI.
    pub fn account_uri(&self) -> String {
        self.account.uri.clone()
    }
}

/// Slow clients are cut off: a request head that trickles in past `--client-timeout` gets a 408
/// from actix, a body that trickles gets a 408 in the error shape, and neither keeps the server
/// from answering everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_do_not_block_others() {
    let f = Fixture::start(&["--client-timeout", "1"]).await;
    let addr = f.server.base.trim_start_matches("http://").to_owned();

    // A head that never completes.
    let started = Instant::now();
    let head = raw(&f.server.base, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", Duration::from_secs(6))
        .await
        .expect("the server closes a connection whose head does not arrive");
    let head_cut = started.elapsed();
    assert_eq!(head.status, 408);
    assert!(head_cut < Duration::from_secs(4), "cut after {head_cut:?}");

    // A body that never completes.
    let started = Instant::now();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 1000\r\n\r\nTo=%2B1500",
        f.account.messages,
        f.basic()
    );
    let body = raw(&f.server.base, req.as_bytes(), Duration::from_secs(8))
        .await
        .expect("the server answers and closes a connection whose body does not arrive");
    let body_cut = started.elapsed();
    body.assert_error("trickled body", 408, 20408);
    assert!(body_cut < Duration::from_secs(5), "cut after {body_cut:?}");

    // Fifty slow clients at once do not keep an ordinary request waiting.
    let mut slow = Vec::new();
    for i in 0..50 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let partial = if i % 2 == 0 {
            "GET / HTTP/1.1\r\nHost: x\r\n".to_owned()
        } else {
            format!(
                "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{",
                f.account.messages,
                f.basic()
            )
        };
        s.write_all(partial.as_bytes()).await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let res = f.client.get(format!("{}/", f.server.base)).send().await.unwrap();
    let served_in = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        served_in < Duration::from_secs(1),
        "an ordinary request waited {served_in:?} behind slow clients"
    );
    // Every slow connection is closed by the server within the bound.
    let mut closed = 0;
    for mut s in slow {
        let mut sink = Vec::new();
        if tokio::time::timeout(Duration::from_secs(6), s.read_to_end(&mut sink)).await.is_ok() {
            closed += 1;
        }
    }
    assert_eq!(closed, 50, "slow connections left open");
    f.assert_healthy().await;
    report::record(
        "slow_clients",
        &format!(
            "Last run with `--client-timeout 1`: a request head that never completed was cut with 408 after {} ms; a body \
             that never completed was answered 408 (20408, error shape) and its connection closed within {} ms; with 50 \
             slow clients connected an ordinary request was answered in {} ms, and all 50 were closed by the server.",
            head_cut.as_millis(),
            body_cut.as_millis(),
            served_in.as_millis()
        ),
    );
}

/// Records the figures of the last `bash fuzz/run.sh` in this checkout (its
/// fuzz/target/fuzz-summary.tsv) into docs/reliability.md, failing if any target failed. A fresh
/// checkout has no run to record; CI runs this test right after fuzz/run.sh.
#[test]
fn fuzz_figures_are_recorded() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/target/fuzz-summary.tsv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{} does not exist: fuzz/run.sh has not run in this checkout", path.display());
        return;
    };
    let when = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map(|t| time::OffsetDateTime::from(t).date().to_string())
        .unwrap_or_default();
    let mut rows = String::from("| target | executions | seconds | coverage (edges) |\n|---|---|---|---|\n");
    let (mut targets, mut total) = (0, 0u64);
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "malformed summary line {line:?}");
        assert_eq!(cols[4], "passed", "fuzz target {} {}", cols[0], cols[4]);
        let runs: u64 = cols[1].parse().unwrap();
        assert!(runs > 0, "{} ran nothing", cols[0]);
        rows.push_str(&format!("| {} | {runs} | {} | {} |\n", cols[0], cols[2], cols[3]));
        targets += 1;
        total += runs;
    }
    assert!(targets > 0, "{} lists no target", path.display());
    report::record(
        "fuzz",
        &format!(
            "Last run ({when}, `bash fuzz/run.sh`): **{targets} libFuzzer targets, {total} executions, no crash, no failed \
             assertion**. Each target checks properties beyond not panicking (round trips, 4xx-only errors, no NUL \
             accepted); seeds in fuzz/corpus/.\n\n{rows}"
        ),
    );
}
