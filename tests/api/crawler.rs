//! The hypermedia crawler (issue 6; CONTRACT §2–§8). From `/`, anonymously, then with Basic
//! credentials and with a Bearer session (account, sub-accounts, messages with media and
//! feedback, and the session all made by following relations and HAL-FORMS templates), it
//! follows every relation of every representation — `subresource_uris`, the paging
//! `*_page_uri` fields, collection items' `uri`, HAL `_links`, `Link` headers — breadth-first
//! and bounded, and checks each answer against the contract. Problems are collected, not
//! panicked on, so one run lists them all.
use crate::helpers::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// Resources fully checked (200 with every representation) over the three crawls, as the API
/// answers today; fewer means relations were lost.
const MIN_RESOURCES: usize = 149;
/// Distinct links (from, relation, to) checked over the three crawls, as the API has today.
const MIN_LINKS: usize = 1617;
/// Most URIs one crawl visits.
const LIMIT: usize = 400;
/// The `PageSize` the crawler asks collections for, so that `next` links exist to follow.
const PAGE_SIZE: &str = "2";
/// Most paged URIs (with a query) followed per collection path.
const MAX_PAGES_PER_COLLECTION: usize = 6;

const JSON: &str = "application/json";
const HAL: &str = "application/hal+json";
const HAL_FORMS: &str = "application/prs.hal-forms+json";
const HTML: &str = "text/html";
/// The content types a description document (`service-desc`, `describedby`) may have.
const DESCRIPTION_TYPES: [&str; 2] = ["application/openapi+json", "application/schema+json"];
/// Relations that lead to description documents rather than resources.
const DESCRIPTION_RELS: [&str; 2] = ["service-desc", "describedby"];

/// How the crawler authenticates.
#[derive(Clone, Debug)]
pub enum Credential {
    /// HTTP Basic `AccountSid:AuthToken`.
    Basic { sid: String, token: String },
    /// `Authorization: Bearer <session token>`.
    Bearer(String),
}

impl Credential {
    /// Adds the credential to a request.
    pub fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        match self {
            Credential::Basic { sid, token } => req.basic_auth(sid, Some(token)),
            Credential::Bearer(token) => req.bearer_auth(token),
        }
    }
}

/// A HAL-FORMS template met during a crawl.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Template {
    /// The resource whose representation offered it.
    pub at: String,
    /// Its key in `_templates`.
    pub name: String,
    /// Its HTTP method.
    pub method: String,
    /// Where it is sent.
    pub target: String,
}

/// What a crawl saw.
#[derive(Debug, Default)]
pub struct CrawlReport {
    /// Every URI requested as a node of the crawl (resources, errors, docs, descriptions).
    pub visited: BTreeSet<String>,
    /// The status `GET` answered, per visited URI.
    pub status: BTreeMap<String, u16>,
    /// The `Allow` of `OPTIONS`, per URI, for this caller.
    pub allow: BTreeMap<String, BTreeSet<String>>,
    /// Every relation name met (`subresource_uris`, `Link`, HAL `_links`).
    pub rels: BTreeSet<String>,
    /// Every distinct link checked: (from, relation or field, to).
    pub links: BTreeSet<(String, String, String)>,
    /// Resources answering 200 and checked in every representation.
    pub resources: usize,
    /// HAL-FORMS templates offered to this caller.
    pub templates: BTreeSet<Template>,
    /// Links leaving the server (media `enclosure`s), not followed.
    pub external: BTreeSet<String>,
    /// Description documents (`service-desc`, `describedby`) and their content types.
    pub descriptions: BTreeMap<String, String>,
    /// Documentation pages checked (200 HTML) but not crawled further.
    pub docs: BTreeSet<String>,
    /// Paged URIs left out by the per-collection bound.
    pub capped: usize,
    /// Linked URIs beyond the crawl bound, checked only for their status.
    pub unvisited: usize,
    /// Everything that broke the contract: `URI: expectation, observed`.
    pub failures: Vec<String>,
}

impl CrawlReport {
    /// The line the test prints.
    pub fn summary(&self) -> String {
        format!(
            "checked {} resources, {} links, {} rels ({} URIs visited, {} docs pages, {} descriptions, {} external links, {} templates, {} pages capped, {} beyond the bound)",
            self.resources,
            self.links.len(),
            self.rels.len(),
            self.visited.len(),
            self.docs.len(),
            self.descriptions.len(),
            self.external.len(),
            self.templates.len(),
            self.capped,
            self.unvisited
        )
    }
}

/// One answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn content_type(&self) -> &str {
        self.header("content-type")
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn links(&self) -> Vec<(String, String)> {
        links(&self.headers)
    }

    fn has_link(&self, uri: &str, rel: &str) -> bool {
        self.links().iter().any(|(u, r)| u == uri && r == rel)
    }

    fn allow(&self) -> BTreeSet<String> {
        self.header("allow")
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect()
    }
}

/// Crawls the API from `/` as `cred` (anonymous when `None`), visiting at most `limit` URIs.
pub async fn crawl(app: &TestApp, cred: Option<&Credential>, limit: usize) -> CrawlReport {
    let mut c = Crawler {
        app,
        cred,
        report: CrawlReport::default(),
        queue: VecDeque::new(),
        seen: BTreeSet::new(),
        pages: BTreeMap::new(),
        description_uris: BTreeSet::new(),
        more_info: BTreeMap::new(),
    };
    c.follow("/");
    let mut beyond = Vec::new();
    while let Some(uri) = c.queue.pop_front() {
        if c.report.visited.len() >= limit {
            beyond.push(uri);
            continue;
        }
        c.visit(&uri).await;
    }
    // Linked URIs beyond the bound still must answer.
    for uri in beyond {
        let res = c.send(Method::GET, &uri, &[("accept", JSON)]).await;
        c.report.unvisited += 1;
        if res.status == StatusCode::NOT_FOUND || res.status.is_server_error() {
            c.report
                .failures
                .push(format!("{uri}: a linked URI must answer; got {}", res.status));
        }
    }
    c.check_templates_allowed().await;
    c.report
}

struct Crawler<'a> {
    app: &'a TestApp,
    cred: Option<&'a Credential>,
    report: CrawlReport,
    queue: VecDeque<String>,
    seen: BTreeSet<String>,
    /// Paged URIs followed per collection path.
    pages: BTreeMap<String, usize>,
    /// URIs reached by a description relation.
    description_uris: BTreeSet<String>,
    /// `more_info` URIs already resolved, and whether they answered 200.
    more_info: BTreeMap<String, bool>,
}

/// Checks a condition, recording `what` (expectation and observation) when it fails.
macro_rules! expect {
    ($problems:expr, $cond:expr, $($what:tt)+) => {
        if !$cond {
            $problems.push(format!($($what)+));
        }
    };
}

impl Crawler<'_> {
    async fn send(&self, method: Method, uri: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.app.request(method, uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(cred) = self.cred {
            req = cred.apply(req);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{uri}: {e}"));
        let (status, headers) = (res.status(), res.headers().clone());
        let body = res.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Answer { status, headers, body }
    }

    /// Records a link and follows its target. `rel` is a relation name when `is_rel`, otherwise
    /// the JSON field the link came from.
    fn edge(&mut self, from: &str, rel: &str, to: &str, is_rel: bool) {
        if is_rel {
            self.report.rels.insert(rel.to_owned());
        }
        self.report.links.insert((from.to_owned(), rel.to_owned(), to.to_owned()));
        let to = self.local(to);
        let Some(to) = to else { return };
        if is_rel && DESCRIPTION_RELS.contains(&rel) {
            self.description_uris.insert(to.clone());
        }
        self.follow(&to);
    }

    /// A server-relative form of a link target, `None` for a link off the server.
    fn local(&mut self, to: &str) -> Option<String> {
        if let Some(rest) = to.strip_prefix(&self.app.base) {
            return Some(if rest.is_empty() { "/".to_owned() } else { rest.to_owned() });
        }
        if to.starts_with('/') && !to.starts_with("//") {
            return Some(to.to_owned());
        }
        self.report.external.insert(to.to_owned());
        None
    }

    /// Queues a URI once, keeping the per-collection bound on paged URIs.
    fn follow(&mut self, to: &str) {
        if self.seen.contains(to) {
            return;
        }
        if let Some((path, _)) = to.split_once('?') {
            let n = self.pages.entry(path.to_owned()).or_default();
            if *n >= MAX_PAGES_PER_COLLECTION {
                self.report.capped += 1;
                return;
            }
            *n += 1;
        }
        self.seen.insert(to.to_owned());
        self.queue.push_back(to.to_owned());
    }

    fn record(&mut self, uri: &str, problems: Vec<String>) {
        self.report.failures.extend(problems.into_iter().map(|p| format!("{uri}: {p}")));
    }

    async fn visit(&mut self, uri: &str) {
        self.report.visited.insert(uri.to_owned());
        if self.description_uris.contains(uri) {
            return self.visit_description(uri).await;
        }
        if uri == "/docs" || uri.starts_with("/docs/") {
            return self.visit_docs(uri).await;
        }
        let mut p = Vec::new();
        let get = self.send(Method::GET, uri, &[("accept", JSON)]).await;
        self.report.status.insert(uri.to_owned(), get.status.as_u16());
        expect!(
            p,
            get.has_link(uri, "self"),
            "Link must carry rel=self <{uri}>; got {:?}",
            get.links()
        );
        for (to, rel) in get.links() {
            self.edge(uri, &rel, &to, true);
        }
        let mut subresources = Vec::new();
        match get.status {
            StatusCode::OK => subresources = self.check_resource(uri, &get, &mut p).await,
            StatusCode::SEE_OTHER => {
                let location = get.header("location").to_owned();
                expect!(
                    p,
                    location.starts_with('/'),
                    "303 must carry a server-relative Location; got {location:?}"
                );
                if location.starts_with('/') {
                    self.report.links.insert((uri.to_owned(), "location".to_owned(), location.clone()));
                    self.follow(&location);
                }
            }
            StatusCode::UNAUTHORIZED if self.cred.is_none() => {
                self.check_error(uri, &get, &mut p).await;
                expect!(
                    p,
                    get.header("www-authenticate").starts_with("Basic"),
                    "401 must challenge with WWW-Authenticate: Basic; got {:?}",
                    get.header("www-authenticate")
                );
                expect!(
                    p,
                    get.links().iter().any(|(_, r)| r == "sessions"),
                    "401 must link to sessions; Link is {:?}",
                    get.links()
                );
            }
            s => {
                p.push(format!("a linked URI must answer (GET, {}); got {s}", self.who()));
                if s.is_client_error() || s.is_server_error() {
                    self.check_error(uri, &get, &mut p).await;
                }
            }
        }
        // HEAD and OPTIONS on every URI, whatever GET answered.
        let (head, options) = tokio::join!(
            self.send(Method::HEAD, uri, &[("accept", JSON)]),
            self.send(
                Method::OPTIONS,
                uri,
                &[("origin", "https://crawler.example"), ("access-control-request-method", "GET")]
            )
        );
        expect!(
            p,
            head.status == get.status,
            "HEAD must answer as GET ({}); got {}",
            get.status,
            head.status
        );
        expect!(
            p,
            head.header("etag") == get.header("etag"),
            "HEAD must carry GET's ETag {:?}; got {:?}",
            get.header("etag"),
            head.header("etag")
        );
        expect!(p, head.body.is_empty(), "HEAD must have no body; got {} bytes", head.body.len());
        let get_links: BTreeSet<_> = get.links().into_iter().collect();
        let head_links: BTreeSet<_> = head.links().into_iter().collect();
        expect!(
            p,
            head_links == get_links,
            "HEAD must carry GET's Link {get_links:?}; got {head_links:?}"
        );

        expect!(
            p,
            options.status == StatusCode::NO_CONTENT,
            "OPTIONS must answer 204; got {}",
            options.status
        );
        let allow = options.allow();
        expect!(p, allow.contains("OPTIONS"), "OPTIONS Allow must list OPTIONS; got {allow:?}");
        if get.status == StatusCode::OK {
            for m in ["GET", "HEAD"] {
                expect!(
                    p,
                    allow.contains(m),
                    "OPTIONS Allow must list {m} for a readable resource; got {allow:?}"
                );
            }
        }
        for h in ["access-control-allow-methods", "access-control-allow-origin"] {
            expect!(p, !options.header(h).is_empty(), "OPTIONS must carry {h}");
        }
        expect!(p, options.body.is_empty(), "OPTIONS must have no body");
        expect!(
            p,
            options.has_link(uri, "self"),
            "OPTIONS Link must carry rel=self <{uri}>; got {:?}",
            options.links()
        );
        for (rel, to) in &subresources {
            expect!(
                p,
                options.has_link(to, rel),
                "OPTIONS Link must carry every relation (CONTRACT §2), here {rel} <{to}>; got {:?}",
                options.links()
            );
        }
        self.report.allow.insert(uri.to_owned(), allow);
        self.record(uri, p);
    }

    /// Checks a 200 resource in every representation; returns its `subresource_uris`.
    async fn check_resource(&mut self, uri: &str, get: &Answer, p: &mut Vec<String>) -> Vec<(String, String)> {
        expect!(
            p,
            get.content_type().starts_with(JSON),
            "JSON must be application/json; got {:?}",
            get.content_type()
        );
        let Some(body) = get.json() else {
            p.push("the body must be JSON".into());
            return Vec::new();
        };
        self.report.resources += 1;
        expect!(p, body["uri"] == uri, "`uri` must equal the requested URI; got {}", body["uri"]);
        let subresources: Vec<(String, String)> = match body["subresource_uris"].as_object() {
            Some(subs) => subs
                .iter()
                .filter_map(|(rel, to)| match to.as_str() {
                    Some(to) => Some((rel.clone(), to.to_owned())),
                    None => {
                        p.push(format!("subresource_uris.{rel} must be a URI string; got {to}"));
                        None
                    }
                })
                .collect(),
            None => {
                p.push(format!("`subresource_uris` must be an object; got {}", body["subresource_uris"]));
                Vec::new()
            }
        };
        for (rel, to) in &subresources {
            expect!(
                p,
                get.has_link(to, rel),
                "Link must carry {rel} <{to}> as subresource_uris does; got {:?}",
                get.links()
            );
            self.edge(uri, rel, to, true);
        }
        // Paging fields, and the `Link` relations that mirror them (CONTRACT §5).
        if let Some(obj) = body.as_object() {
            for (field, rel) in [
                ("first_page_uri", "first"),
                ("next_page_uri", "next"),
                ("previous_page_uri", "prev"),
            ] {
                match obj.get(field) {
                    Some(Value::String(to)) => {
                        expect!(
                            p,
                            get.has_link(to, rel),
                            "Link must carry {rel} <{to}> as {field} does; got {:?}",
                            get.links()
                        );
                        self.edge(uri, field, to, false);
                    }
                    Some(Value::Null) | None => {}
                    Some(other) => p.push(format!("{field} must be a URI or null; got {other}")),
                }
            }
        }
        // Collection items.
        let key = body["meta"]["key"].as_str().map(str::to_owned);
        let mut item_uris = Vec::new();
        if let Some(key) = &key {
            match body[key].as_array() {
                Some(items) => {
                    for item in items {
                        let Some(item_uri) = item["uri"].as_str() else {
                            p.push(format!("every item of `{key}` must carry its `uri`; got {item}"));
                            continue;
                        };
                        item_uris.push(item_uri.to_owned());
                        self.edge(uri, "item", item_uri, false);
                        match item["subresource_uris"].as_object() {
                            Some(subs) => {
                                for (rel, to) in subs {
                                    if let Some(to) = to.as_str() {
                                        self.edge(uri, rel, to, true);
                                    }
                                }
                            }
                            None => p.push(format!("item {item_uri} must carry `subresource_uris`")),
                        }
                    }
                }
                None => p.push(format!("a collection must carry its items under meta.key `{key}`")),
            }
            // Ask for small pages too, so that `next` exists to follow.
            if !uri.contains('?') {
                let small = format!("{uri}?PageSize={PAGE_SIZE}");
                self.follow(&small);
            }
        }

        // Every other representation, and the conditional request, at once.
        let etag = get.header("etag").to_owned();
        expect!(p, !etag.is_empty(), "a representation must carry an ETag");
        let conditional = [("accept", JSON), ("if-none-match", etag.as_str())];
        let (hal, forms, html, not_modified, xml) = tokio::join!(
            self.send(Method::GET, uri, &[("accept", HAL)]),
            self.send(Method::GET, uri, &[("accept", HAL_FORMS)]),
            self.send(Method::GET, uri, &[("accept", HTML)]),
            self.send(Method::GET, uri, &conditional),
            self.send(Method::GET, uri, &[("accept", "application/xml")]),
        );

        // HAL
        expect!(p, hal.status == StatusCode::OK, "HAL must answer 200; got {}", hal.status);
        expect!(
            p,
            hal.content_type().starts_with(HAL),
            "HAL Content-Type must be {HAL}; got {:?}",
            hal.content_type()
        );
        match hal.json() {
            Some(h) => {
                expect!(
                    p,
                    h["_links"]["self"]["href"] == uri,
                    "HAL _links.self.href must be {uri}; got {}",
                    h["_links"]["self"]
                );
                expect!(p, h["uri"] == uri, "HAL `uri` must be {uri}; got {}", h["uri"]);
                expect!(p, h.get("_templates").is_none(), "plain HAL carries no _templates");
                for (rel, to) in &subresources {
                    expect!(
                        p,
                        hal_hrefs(&h["_links"][rel]).contains(to),
                        "HAL _links.{rel} must be {to}; got {}",
                        h["_links"][rel]
                    );
                }
                for (rel, href) in hal_link_pairs(&h) {
                    self.edge(uri, &rel, &href, true);
                }
                if let Some(key) = &key {
                    match h["_embedded"][key].as_array() {
                        Some(embedded) => {
                            let hal_items: Vec<String> = embedded
                                .iter()
                                .map(|i| i["_links"]["self"]["href"].as_str().unwrap_or("").to_owned())
                                .collect();
                            expect!(
                                p,
                                hal_items == item_uris,
                                "HAL _embedded.{key} must be the same items ({item_uris:?}); got {hal_items:?}"
                            );
                            for item in embedded {
                                for (rel, href) in hal_link_pairs(item) {
                                    self.edge(uri, &rel, &href, true);
                                }
                            }
                        }
                        None => p.push(format!("HAL must embed the items under _embedded.{key}")),
                    }
                }
            }
            None => p.push("HAL must be JSON".into()),
        }

        // HAL-FORMS
        let mut template_names = Vec::new();
        expect!(p, forms.status == StatusCode::OK, "HAL-FORMS must answer 200; got {}", forms.status);
        expect!(
            p,
            forms.content_type().starts_with(HAL_FORMS),
            "HAL-FORMS Content-Type must be {HAL_FORMS}; got {:?}",
            forms.content_type()
        );
        match forms.json() {
            Some(f) => {
                expect!(
                    p,
                    f["_links"]["self"]["href"] == uri,
                    "HAL-FORMS _links.self.href must be {uri}; got {}",
                    f["_links"]["self"]
                );
                match &f["_templates"] {
                    Value::Null => {}
                    Value::Object(templates) => {
                        for (name, t) in templates {
                            let method = t["method"].as_str().unwrap_or("").to_owned();
                            expect!(
                                p,
                                ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()),
                                "template {name} must name an HTTP method; got {}",
                                t["method"]
                            );
                            expect!(p, t["properties"].is_array(), "template {name} must list its properties");
                            // HAL-FORMS: without a target, the template acts on the resource itself.
                            let target = t["target"].as_str().unwrap_or(uri);
                            match self.local(target) {
                                Some(target) => {
                                    self.report.templates.insert(Template {
                                        at: uri.to_owned(),
                                        name: name.clone(),
                                        method,
                                        target,
                                    });
                                }
                                None => p.push(format!("template {name} must target this server; got {target}")),
                            }
                            template_names.push(name.clone());
                        }
                    }
                    other => p.push(format!("_templates must be an object; got {other}")),
                }
            }
            None => p.push("HAL-FORMS must be JSON".into()),
        }

        // HTML: every relation a link, every action a form.
        expect!(p, html.status == StatusCode::OK, "HTML must answer 200; got {}", html.status);
        expect!(
            p,
            html.content_type().starts_with(HTML),
            "HTML Content-Type must be {HTML}; got {:?}",
            html.content_type()
        );
        let page = unescape_html(&String::from_utf8_lossy(&html.body));
        expect!(p, page.contains(&format!("href=\"{uri}\"")), "the page must link to itself");
        for (rel, to) in &subresources {
            expect!(
                p,
                page.contains(&format!("rel=\"{rel}\" href=\"{to}\"")),
                "the page must link {rel} to {to}"
            );
        }
        for name in &template_names {
            expect!(
                p,
                page.contains(&format!("data-action=\"{name}\"")),
                "the page must have a form for the {name} template"
            );
        }

        // If-None-Match with the ETag.
        expect!(
            p,
            not_modified.status == StatusCode::NOT_MODIFIED,
            "If-None-Match {etag} must answer 304; got {}",
            not_modified.status
        );
        expect!(p, not_modified.body.is_empty(), "304 must have no body");

        // An unavailable type: 406 in the error shape.
        expect!(
            p,
            xml.status == StatusCode::NOT_ACCEPTABLE,
            "Accept: application/xml must answer 406; got {}",
            xml.status
        );
        if xml.status.is_client_error() {
            self.check_error(uri, &xml, p).await;
        }
        subresources
    }

    /// CONTRACT §7: the Twilio error shape, its `Link`, and a `more_info` that resolves.
    async fn check_error(&mut self, uri: &str, res: &Answer, p: &mut Vec<String>) {
        let status = res.status;
        expect!(
            p,
            res.content_type().starts_with(JSON),
            "the {status} error must be application/json; got {:?}",
            res.content_type()
        );
        let Some(body) = res.json() else {
            p.push(format!("the {status} error body must be JSON"));
            return;
        };
        expect!(
            p,
            body["status"] == status.as_u16(),
            "error `status` must be {}; got {}",
            status.as_u16(),
            body["status"]
        );
        expect!(p, body["code"].is_u64(), "error `code` must be a number; got {}", body["code"]);
        expect!(
            p,
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error `message` must be given; got {}",
            body["message"]
        );
        expect!(p, body["uri"] == uri, "error `uri` must be the requested URI; got {}", body["uri"]);
        expect!(
            p,
            body.get("type").is_none() || body.get("title").is_none(),
            "never type + title in the Twilio shape: {body}"
        );
        match body["subresource_uris"].as_object() {
            Some(subs) => {
                for (rel, to) in subs {
                    let to = to.as_str().unwrap_or("");
                    expect!(
                        p,
                        res.has_link(to, rel),
                        "error Link must carry {rel} <{to}>; got {:?}",
                        res.links()
                    );
                    self.edge(uri, rel, to, true);
                }
            }
            None => p.push(format!(
                "error `subresource_uris` must be an object; got {}",
                body["subresource_uris"]
            )),
        }
        match body["more_info"].as_str() {
            Some(more) => {
                let Some(local) = self.local(more) else {
                    p.push(format!("more_info must be on this server; got {more}"));
                    return;
                };
                if !self.more_info.contains_key(&local) {
                    let res = self.send(Method::GET, &local, &[("accept", HTML)]).await;
                    let ok = res.status == StatusCode::OK && res.content_type().starts_with(HTML);
                    self.more_info.insert(local.clone(), ok);
                    self.report.docs.insert(local.clone());
                }
                expect!(p, self.more_info[&local], "more_info {more} must resolve to a 200 HTML page");
            }
            None => p.push(format!("error `more_info` must be a URI; got {}", body["more_info"])),
        }
    }

    /// Documentation pages: 200 HTML; their HTML is not crawled, their `Link` header is (the
    /// guide's index links each page as a `section`).
    async fn visit_docs(&mut self, uri: &str) {
        let res = self.send(Method::GET, uri, &[("accept", HTML)]).await;
        for (to, rel) in res.links() {
            if to.starts_with("/docs") || to.starts_with(&format!("{}/docs", self.app.base)) {
                self.edge(uri, &rel, &to, true);
            }
        }
        self.report.status.insert(uri.to_owned(), res.status.as_u16());
        self.report.docs.insert(uri.to_owned());
        let mut p = Vec::new();
        expect!(p, res.status == StatusCode::OK, "a docs page must answer 200; got {}", res.status);
        expect!(
            p,
            res.content_type().starts_with(HTML),
            "a docs page must be HTML; got {:?}",
            res.content_type()
        );
        self.record(uri, p);
    }

    /// `service-desc` / `describedby`: 200 JSON as an OpenAPI document or a JSON Schema.
    async fn visit_description(&mut self, uri: &str) {
        let accept = "application/openapi+json, application/schema+json, application/json;q=0.5";
        let res = self.send(Method::GET, uri, &[("accept", accept)]).await;
        self.report.status.insert(uri.to_owned(), res.status.as_u16());
        let mut p = Vec::new();
        expect!(
            p,
            res.status == StatusCode::OK,
            "a description document must answer 200; got {}",
            res.status
        );
        let ct = res.content_type().to_owned();
        expect!(
            p,
            DESCRIPTION_TYPES.iter().any(|t| ct.starts_with(t)),
            "a description document must be one of {DESCRIPTION_TYPES:?}; got {ct:?}"
        );
        expect!(
            p,
            res.json().is_some_and(|v| v.is_object()),
            "a description document must be a JSON object"
        );
        self.report.descriptions.insert(uri.to_owned(), ct);
        self.record(uri, p);
    }

    /// State-dependent actions: each template's method is in its target's `Allow` for this caller.
    async fn check_templates_allowed(&mut self) {
        let templates: Vec<Template> = self.report.templates.iter().cloned().collect();
        for t in templates {
            if !self.report.allow.contains_key(&t.target) {
                let res = self.send(Method::OPTIONS, &t.target, &[]).await;
                self.report.allow.insert(t.target.clone(), res.allow());
            }
            let allow = &self.report.allow[&t.target];
            if !allow.contains(&t.method) {
                self.report.failures.push(format!(
                    "{}: template {} ({} {}) is offered to {} but OPTIONS {} answers Allow {allow:?}",
                    t.at,
                    t.name,
                    t.method,
                    t.target,
                    self.who(),
                    t.target
                ));
            }
        }
    }

    fn who(&self) -> &'static str {
        match self.cred {
            None => "anonymous",
            Some(Credential::Basic { .. }) => "Basic",
            Some(Credential::Bearer(_)) => "Bearer",
        }
    }
}

/// The hrefs of one HAL `_links` entry (an object or an array of them).
fn hal_hrefs(entry: &Value) -> Vec<String> {
    match entry {
        Value::Array(a) => a.iter().filter_map(|l| l["href"].as_str().map(str::to_owned)).collect(),
        l => l["href"].as_str().map(str::to_owned).into_iter().collect(),
    }
}

/// Every (relation, href) of a HAL object's `_links`.
fn hal_link_pairs(h: &Value) -> Vec<(String, String)> {
    match h["_links"].as_object() {
        Some(links) => links
            .iter()
            .flat_map(|(rel, entry)| hal_hrefs(entry).into_iter().map(move |href| (rel.clone(), href)))
            .collect(),
        None => Vec::new(),
    }
}

/// Undoes the HTML escaping of attribute values.
fn unescape_html(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------------
// Building the data by following relations and templates only.

async fn fetch(app: &TestApp, cred: Option<&Credential>, uri: &str, accept: &str) -> (StatusCode, HeaderMap, Value) {
    let mut req = app.request(Method::GET, uri).header("accept", accept);
    if let Some(c) = cred {
        req = c.apply(req);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

/// The HAL-FORMS template `name` of the resource at `uri`, as `cred` sees it.
async fn template(app: &TestApp, cred: Option<&Credential>, uri: &str, name: &str) -> Value {
    let (status, _, body) = fetch(app, cred, uri, HAL_FORMS).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    let t = body["_templates"][name].clone();
    assert!(t.is_object(), "{uri} offers no {name} template: {}", body["_templates"]);
    t
}

/// Submits a HAL-FORMS template: the given values (names the template declares; repeated for
/// several), pre-filled values for the rest; every required property must end up given.
async fn submit(app: &TestApp, cred: Option<&Credential>, t: &Value, values: &[(&str, &str)]) -> (StatusCode, Value) {
    let props = t["properties"].as_array().expect("template properties");
    let declared = |name: &str| props.iter().any(|p| p["name"] == name);
    for (name, _) in values {
        assert!(declared(name), "the template does not declare {name}: {t}");
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for prop in props {
        let name = prop["name"].as_str().unwrap();
        let given: Vec<&str> = values.iter().filter(|(n, _)| *n == name).map(|(_, v)| *v).collect();
        if !given.is_empty() {
            form.extend(given.into_iter().map(|v| (name.to_owned(), v.to_owned())));
        } else if let Some(v) = prop["value"].as_str() {
            form.push((name.to_owned(), v.to_owned()));
        } else {
            assert!(prop["required"] != true, "required property {name} not given: {t}");
        }
    }
    let method = Method::from_bytes(t["method"].as_str().unwrap().as_bytes()).unwrap();
    let target = t["target"].as_str().expect("template target");
    let mut req = app.request(method, target).header("accept", JSON);
    if !form.is_empty() {
        req = req.form(&form);
    }
    if let Some(c) = cred {
        req = c.apply(req);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The caller's message collection, from the root's `messages` (directly or by 303).
async fn my_messages(app: &TestApp, cred: &Credential) -> String {
    let (_, _, root) = fetch(app, Some(cred), "/", JSON).await;
    let (status, headers, body) = fetch(app, Some(cred), &rel(&root, "messages"), JSON).await;
    match status {
        StatusCode::SEE_OTHER => headers["location"].to_str().unwrap().to_owned(),
        StatusCode::OK => uri_of(&body),
        s => panic!("messages answered {s}"),
    }
}

/// An account with two sub-accounts, six messages (media on three, one undelivered, one
/// scheduled, one redacted), feedback on all but one message, and a session: all made from `/` by
/// relations and templates. Returns Basic and Bearer credentials of the account.
async fn populate(app: &TestApp) -> (Credential, Credential) {
    // Sign up with the root's template.
    let t = template(app, None, "/", "create-account").await;
    let (status, account) = submit(app, None, &t, &[("FriendlyName", "crawler")]).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let me = TestAccount {
        sid: sid_of(&account),
        token: account["auth_token"].as_str().unwrap().to_owned(),
        uri: uri_of(&account),
        body: account,
    };
    let basic = Credential::Basic {
        sid: me.sid.clone(),
        token: me.token.clone(),
    };

    // Two sub-accounts, with the accounts collection's template.
    let (_, _, root) = fetch(app, Some(&basic), "/", JSON).await;
    let t = template(app, Some(&basic), &rel(&root, "accounts"), "default").await;
    for name in ["crawler sub 1", "crawler sub 2"] {
        let (status, body) = submit(app, Some(&basic), &t, &[("FriendlyName", name)]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    // Messages, with the collection's template.
    let messages = my_messages(app, &basic).await;
    let t = template(app, Some(&basic), &messages, "default").await;
    let send_at = send_at_in(86_400);
    let to = ("To", "+15005550006");
    let from = ("From", "+15005550010");
    let forms: Vec<Vec<(&str, &str)>> = vec![
        vec![
            to,
            from,
            ("Body", "three pictures"),
            ("MediaUrl", "https://example.com/a.jpg"),
            ("MediaUrl", "https://example.com/b.png"),
            ("MediaUrl", "https://example.com/c.gif"),
        ],
        vec![
            to,
            from,
            ("MediaUrl", "https://example.com/d.pdf"),
            ("MediaUrl", "https://example.com/e.mp3"),
            ("MediaUrl", "https://example.com/f.txt"),
        ],
        vec![to, from, ("Body", "one picture"), ("MediaUrl", "https://example.com/g.jpg")],
        vec![("To", "+15557770001"), from, ("Body", "this one is not delivered")],
        vec![to, from, ("Body", "tomorrow"), ("SendAt", &send_at), ("ScheduleType", "fixed")],
        vec![to, from, ("Body", "redact me")],
    ];
    let mut sent = Vec::new();
    for form in &forms {
        let (status, body) = submit(app, Some(&basic), &t, form).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        sent.push(uri_of(&body));
    }
    // Let the dispatcher finish, so that states (and ETags) hold still during the crawl.
    for uri in &sent {
        let m = wait_for_status(
            app,
            &me,
            uri,
            &["delivered", "undelivered", "failed", "scheduled"],
            Duration::from_secs(15),
        )
        .await;
        if m["body"] == "redact me" {
            let t = template(app, Some(&basic), uri, "redact").await;
            let (status, body) = submit(app, Some(&basic), &t, &[]).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        // Feedback on every message but the last, whose `feedback` relation must still lead to
        // a resource (with the form to give it).
        if uri != sent.last().unwrap() {
            let t = template(app, Some(&basic), uri, "feedback").await;
            let (status, body) = submit(app, Some(&basic), &t, &[]).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }

    // A session, with the sessions collection's sign-in template.
    let t = template(app, Some(&basic), &rel(&root, "sessions"), "sign-in").await;
    let (status, session) = submit(app, None, &t, &[("AuthToken", &me.token)]).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let bearer = Credential::Bearer(session["token"].as_str().expect("the new session's token").to_owned());
    (basic, bearer)
}

#[tokio::test]
async fn the_crawler_follows_every_relation_from_the_root_and_finds_the_contract_kept() {
    let run = async {
        // Arrange
        let app = spawn_app().await;

        // Act: anonymously first (before any account exists), then with each credential.
        let anonymous = crawl(&app, None, LIMIT).await;
        let (basic, bearer) = populate(&app).await;
        let with_basic = crawl(&app, Some(&basic), LIMIT).await;
        let with_bearer = crawl(&app, Some(&bearer), LIMIT).await;

        // Assert
        let crawls = [("anonymous", &anonymous), ("Basic", &with_basic), ("Bearer", &with_bearer)];
        let mut failures = Vec::new();
        let (mut resources, mut links, mut rels) = (0, 0, BTreeSet::new());
        for (name, report) in crawls {
            println!("crawler[{name}]: {}", report.summary());
            failures.extend(report.failures.iter().map(|f| format!("[{name}] {f}")));
            resources += report.resources;
            links += report.links.len();
            rels.extend(report.rels.iter().cloned());
        }
        println!("crawler: checked {resources} resources, {links} links, {} rels", rels.len());
        println!("crawler: rels {rels:?}");
        assert!(
            failures.is_empty(),
            "{} contract failures:\n{}",
            failures.len(),
            failures.join("\n")
        );

        for r in ["accounts", "sessions", "messages", "account", "media", "feedback", "next", "self"] {
            assert!(rels.contains(r), "no crawl met the {r} relation: {rels:?}");
        }
        assert!(with_bearer.rels.contains("session"), "a Bearer caller's root links its session");
        assert!(
            anonymous.status.values().any(|s| *s == 401),
            "anonymously, protected resources answer 401"
        );
        assert!(
            resources >= MIN_RESOURCES,
            "checked {resources} resources; the API had {MIN_RESOURCES}"
        );
        assert!(links >= MIN_LINKS, "checked {links} links; the API had {MIN_LINKS}");
        let unknown: Vec<_> = rels.iter().filter(|r| !signpost::hypermedia::relations::is_known(r)).collect();
        assert!(
            unknown.is_empty(),
            "relations missing from the profile (relations.rs, docs/relations.md): {unknown:?}"
        );
        described_and_reachable(&app, &crawls.map(|(_, r)| r)).await;
        app.stop().await;
    };
    tokio::time::timeout(Duration::from_secs(50), run)
        .await
        .expect("the crawl finishes within 50 s");
}

/// Every operation of the OpenAPI document (found from `/` by `service-desc`) is reachable by
/// relations: some URI the crawls reached matches its path, and (for methods beyond reading)
/// that URI's `Allow` offered the method to a caller. And the reverse: every URI reached, and
/// every method its `Allow` offered, is described. No undocumented routes, no dead documentation.
async fn described_and_reachable(app: &TestApp, crawls: &[&CrawlReport]) {
    use actix_web::dev::ResourceDef;
    let root = app.get("/").await;
    let desc = link(root.headers(), "service-desc").expect("the root links its service-desc");
    let doc: Value = app.get(&desc).await.json().await.expect("the OpenAPI document is JSON");
    let mut operations: Vec<(ResourceDef, String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            operations.push((ResourceDef::new(path.as_str()), path.clone(), method.to_ascii_uppercase()));
        }
    }
    // What the crawls reached, and which methods each URI's Allow offered.
    let mut reached: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for report in crawls {
        let uris = report
            .visited
            .iter()
            .chain(report.docs.iter())
            .chain(report.descriptions.keys())
            .filter(|u| u.starts_with('/'));
        for uri in uris {
            let path = uri.split('?').next().unwrap().to_owned();
            let methods = reached.entry(path).or_default();
            methods.extend(["GET", "HEAD", "OPTIONS"].map(String::from));
            if let Some(allow) = report.allow.get(uri) {
                methods.extend(allow.iter().cloned());
            }
        }
    }
    let mut problems = Vec::new();
    for (def, path, method) in &operations {
        let reachable = reached.iter().any(|(uri, methods)| def.is_match(uri) && methods.contains(method));
        if !reachable {
            problems.push(format!("{method} {path} is described but no relation from / reaches it"));
        }
    }
    for (uri, methods) in &reached {
        for method in methods {
            let described = operations.iter().any(|(def, _, m)| def.is_match(uri) && m == method);
            if !described {
                problems.push(format!("{method} {uri} is reachable but not described in the OpenAPI document"));
            }
        }
    }
    println!(
        "crawler: {} OpenAPI operations all reached; {} reached paths all described",
        operations.len(),
        reached.len()
    );
    assert!(problems.is_empty(), "description and API differ:\n{}", problems.join("\n"));
}
