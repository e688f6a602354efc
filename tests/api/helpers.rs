//! Test harness: `spawn_app()` starts the production `Application` on port 0 with a fresh
//! database; `TestApp` has request helpers and hypermedia helpers that follow relations.
#![allow(dead_code)]
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use signpost::config::Config;
use signpost::hypermedia::link_header;
use signpost::startup::Application;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A client that does not follow redirects.
    pub client: reqwest::Client,
    /// The directory holding the database (kept alive across restarts).
    pub dir: Arc<TempDir>,
    /// The configuration it runs with.
    pub config: Config,
    handle: actix_web::dev::ServerHandle,
    join: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Credentials of an account created through the API.
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub sid: String,
    pub token: String,
    pub uri: String,
    pub body: Value,
}

/// The configuration tests run with: a fresh database, port 0, a fast dispatcher, no rate limit.
pub fn test_config(dir: &TempDir) -> Config {
    let mut c = Config::defaults();
    c.bind = "127.0.0.1:0".into();
    c.database = dir.path().join("signpost.db");
    c.dispatch_interval_ms = 20;
    c.rate_limit = 0;
    c.log = std::env::var("SIGNPOST_TEST_LOG").unwrap_or_else(|_| "warn".into());
    c
}

/// Starts a server on a fresh database.
pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let config = test_config(&dir);
    spawn_with(dir, config).await
}

/// Starts a server with a given directory and configuration.
pub async fn spawn_with(dir: Arc<TempDir>, config: Config) -> TestApp {
    // One log writer for the whole test process, kept running to its end.
    static LOG: std::sync::OnceLock<signpost::telemetry::LogGuard> = std::sync::OnceLock::new();
    LOG.get_or_init(|| signpost::telemetry::init(&config.log));
    let app = Application::build(config.clone()).await.expect("server builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let join = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        dir,
        config,
        handle,
        join,
    }
}

impl TestApp {
    /// Stops the server gracefully (database closed) and gives back its directory and config.
    pub async fn stop(self) -> (Arc<TempDir>, Config) {
        self.handle.stop(true).await;
        let _ = self.join.await;
        (self.dir, self.config)
    }

    /// Stops and starts again on the same database.
    pub async fn restart(self) -> TestApp {
        let (dir, mut config) = self.stop().await;
        config.bind = "127.0.0.1:0".into();
        spawn_with(dir, config).await
    }

    /// The absolute URL of a server-relative URI.
    pub fn url(&self, uri: &str) -> String {
        if uri.starts_with("http") {
            uri.to_owned()
        } else {
            format!("{}{}", self.base, uri)
        }
    }

    /// A request builder for a URI.
    pub fn request(&self, method: Method, uri: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(uri))
    }

    /// GET without credentials.
    pub async fn get(&self, uri: &str) -> Response {
        self.request(Method::GET, uri).send().await.expect("request")
    }

    /// GET with Basic credentials.
    pub async fn get_as(&self, who: &TestAccount, uri: &str) -> Response {
        self.request(Method::GET, uri)
            .basic_auth(&who.sid, Some(&who.token))
            .send()
            .await
            .expect("request")
    }

    /// POST a form with Basic credentials.
    pub async fn post_form_as(&self, who: &TestAccount, uri: &str, form: &[(&str, &str)]) -> Response {
        self.request(Method::POST, uri)
            .basic_auth(&who.sid, Some(&who.token))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// The root document.
    pub async fn root(&self) -> Value {
        let res = self.get("/").await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Creates an account by following `accounts` from the root.
    pub async fn create_account(&self, name: &str) -> TestAccount {
        let root = self.root().await;
        let accounts = rel(&root, "accounts");
        let res = self
            .request(Method::POST, &accounts)
            .form(&[("FriendlyName", name)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "account creation");
        let body: Value = res.json().await.unwrap();
        TestAccount {
            sid: body["sid"].as_str().unwrap().to_owned(),
            token: body["auth_token"].as_str().unwrap().to_owned(),
            uri: body["uri"].as_str().unwrap().to_owned(),
            body,
        }
    }

    /// The caller's message collection URI, reached from the root's `messages` (a 303).
    pub async fn messages_uri(&self, who: &TestAccount) -> String {
        let root = self.root().await;
        let res = self.get_as(who, &rel(&root, "messages")).await;
        match res.status() {
            StatusCode::SEE_OTHER => res.headers()["location"].to_str().unwrap().to_owned(),
            StatusCode::OK => res.json::<Value>().await.unwrap()["uri"].as_str().unwrap().to_owned(),
            s => panic!("messages answered {s}"),
        }
    }

    /// Sends a message from `who`, following relations; returns the created message.
    pub async fn send_message(&self, who: &TestAccount, form: &[(&str, &str)]) -> Value {
        let uri = self.messages_uri(who).await;
        let res = self.post_form_as(who, &uri, form).await;
        assert_eq!(res.status(), StatusCode::CREATED, "message creation");
        res.json().await.unwrap()
    }
}

/// The URI of relation `name` in a representation's `subresource_uris`.
pub fn rel(body: &Value, name: &str) -> String {
    body["subresource_uris"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no relation {name} in {body}"))
        .to_owned()
}

/// The `Link` header as (uri, rel) pairs.
pub fn links(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all("link")
        .iter()
        .flat_map(|v| link_header::parse(v.to_str().unwrap()))
        .collect()
}

/// The URI of relation `name` in the `Link` header.
pub fn link(headers: &HeaderMap, name: &str) -> Option<String> {
    links(headers).into_iter().find(|(_, r)| r == name).map(|(u, _)| u)
}

/// Checks CONTRACT §2 on a JSON response: `uri`, `subresource_uris`, and a `Link` header with
/// `self` and every relation at the same URI.
pub fn assert_hypermedia(headers: &HeaderMap, body: &Value) {
    let uri = body["uri"].as_str().unwrap_or_else(|| panic!("no uri in {body}"));
    let subs = body["subresource_uris"]
        .as_object()
        .unwrap_or_else(|| panic!("no subresource_uris in {body}"));
    let links = links(headers);
    assert!(
        links.contains(&(uri.to_owned(), "self".to_owned())),
        "Link lacks self={uri}: {links:?}"
    );
    for (name, target) in subs {
        let target = target.as_str().unwrap();
        assert!(
            links.contains(&(target.to_owned(), name.clone())),
            "Link lacks {name}={target}: {links:?}"
        );
    }
}

/// Checks an error response (CONTRACT §7): its status, the Twilio shape with `code`,
/// `message`, `more_info`, `uri`, `subresource_uris` (never `type` + `title` together), and
/// its `Link` header. Returns the body.
pub async fn assert_error(res: Response, status: StatusCode, code: u64) -> Value {
    assert_eq!(res.status(), status, "{}", res.url());
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["more_info"].as_str().is_some_and(|m| m.starts_with("/docs/errors/")), "{body}");
    assert!(body["uri"].is_string(), "{body}");
    assert!(body["subresource_uris"].is_object(), "{body}");
    assert!(
        body.get("type").is_none() || body.get("title").is_none(),
        "never type + title in the Twilio shape: {body}"
    );
    assert_hypermedia(&headers, &body);
    body
}

/// GET with Basic credentials: status, headers and JSON body.
pub async fn get_json(app: &TestApp, who: &TestAccount, uri: &str) -> (StatusCode, HeaderMap, Value) {
    let res = app.get_as(who, uri).await;
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// DELETE with Basic credentials.
pub async fn delete_as(app: &TestApp, who: &TestAccount, uri: &str) -> reqwest::Response {
    app.request(Method::DELETE, uri)
        .basic_auth(&who.sid, Some(&who.token))
        .send()
        .await
        .unwrap()
}

/// A representation's own `uri`.
pub fn uri_of(body: &Value) -> String {
    body["uri"].as_str().unwrap_or_else(|| panic!("no uri in {body}")).to_owned()
}

/// A representation's `sid`.
pub fn sid_of(body: &Value) -> String {
    body["sid"].as_str().unwrap_or_else(|| panic!("no sid in {body}")).to_owned()
}

/// The sids of a collection page's items under `key`.
pub fn sids_of(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {page}"))
        .iter()
        .map(sid_of)
        .collect()
}

/// A URI the server gave, with query parameters added (as a client adds `PageSize` or filters).
pub fn with_query(app: &TestApp, uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url(uri)).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// True for a Twilio-style RFC 2822 date string.
pub fn is_rfc2822(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc2822).is_ok() && s.ends_with("+0000"))
}

/// Parses an RFC 2822 date string.
pub fn parse_rfc2822(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc2822).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A `SendAt` value `secs` seconds from now, as the Twilio libraries write it.
pub fn send_at_in(secs: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    at.format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap()
}

/// Polls a message until its status is one of `statuses`; panics after `limit`.
pub async fn wait_for_status(app: &TestApp, who: &TestAccount, uri: &str, statuses: &[&str], limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, _, body) = get_json(app, who, uri).await;
        assert_eq!(status, StatusCode::OK, "polling {uri}: {body}");
        if statuses.iter().any(|s| body["status"] == *s) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{uri} did not reach {statuses:?} within {limit:?}; it is {}",
            body["status"]
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
