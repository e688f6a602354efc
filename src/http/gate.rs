//! The gate: the one middleware every request passes through. In order, it
//! 1. assigns the request id (a well-formed `X-Request-Id` is echoed, otherwise one is made),
//! 2. applies the browser method override (`?_method=DELETE` on a same-origin form POST),
//! 3. checks credentials once ([`super::auth`]) and refuses cross-site form posts with ambient credentials,
//! 4. applies the rate limit, and idempotency keys on POST,
//! 5. renders every error response in the contract's shape (CONTRACT §7) with its `Link`,
//! 6. adds the headers every response carries (request id, rate limit, `Vary`, `Cache-Control`, CORS),
//! 7. writes one access log line (method, path, status, duration, request id — never a credential).
use super::auth::{Auth, Via};
use crate::error::ApiError;
use crate::hypermedia::link_header;
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use crate::representation::negotiate::{negotiate_error, ErrorFormat};
use crate::state::AppState;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use std::time::Instant;

/// The request id of a request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const EXPOSED: &str = "Link, ETag, Location, Last-Modified, X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Idempotent-Replayed";

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id)
}

/// A fresh request id: 32 lowercase hex digits, unique within the process (a random process
/// prefix, then a counter scrambled by a bijection so ids do not reveal the request count),
/// without a system call per request.
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static KEYS: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (prefix, key) = *KEYS.get_or_init(|| {
        let r = crate::crypto::random_bytes::<16>();
        (
            u64::from_le_bytes(r[..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(r[8..].try_into().unwrap_or_default()),
        )
    });
    // splitmix64's finalizer: a bijection on u64, so distinct counters give distinct ids.
    let mut z = COUNTER.fetch_add(1, Ordering::Relaxed) ^ key;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let mut id = String::with_capacity(32);
    for word in [prefix, z] {
        for shift in (0..16).rev() {
            id.push(char::from(b"0123456789abcdef"[((word >> (shift * 4)) & 0xf) as usize]));
        }
    }
    id
}

/// A duration in milliseconds with three decimals (`12.345`), written with integer arithmetic
/// (the access line's `ms`; the float formatter costs more than the rest of the line).
struct Millis(std::time::Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let micros = self.0.as_micros();
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

fn own_origin(req: &ServiceRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn is_form(req: &ServiceRequest) -> bool {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("multipart/form-data") || ct.starts_with("text/plain")
}

/// Refuses unsafe requests that a browser could have sent from another site with ambient
/// credentials: cookie-authenticated requests must come from our own origin, and no form post
/// from a foreign origin is accepted with credentials of any kind.
fn cross_site(req: &ServiceRequest, auth: &Auth, cors_origins: &[String]) -> Option<ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let same = origin.map(|o| o == own_origin(req));
    let site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok());
    match auth {
        Auth::Caller(c) if c.via == Via::Cookie => match (same, site) {
            (Some(true), _) => None,
            (None, Some("same-origin")) => None,
            _ => Some(ApiError::forbidden("Cross-site request refused: a request signed in with the browser cookie must come from this server's own pages (Origin check)")),
        },
        Auth::Caller(_) if same == Some(false) && is_form(req) => {
            Some(ApiError::forbidden("Cross-site form post refused: credentials cannot be used from another site's form"))
        }
        // Without credentials a foreign form could still sign the visitor's browser in to an
        // account of the attacker's choosing (login CSRF) or create accounts from their browser.
        // An origin named in --cors-origins may post forms (a front end of the operator's own).
        _ if is_form(req) && (same == Some(false) || (origin.is_none() && site == Some("cross-site"))) => {
            // Named, not merely matched by `*`.
            let listed = origin.is_some_and(|o| cors_origins.iter().any(|c| c == o));
            (!listed).then(|| ApiError::forbidden("Cross-site form post refused: another site's form cannot sign in or create accounts here"))
        }
        _ => None,
    }
}

/// The longest request target (path and query) and the largest header block accepted. actix cuts
/// requests off on its own only past 128 KiB, with a bare status and no body; below that, an
/// oversized request gets its 414 / 431 in the contract's error shape.
const MAX_TARGET: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 32 * 1024;

fn oversized(req: &ServiceRequest) -> Option<ApiError> {
    if req.path().len() + req.query_string().len() > MAX_TARGET {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            20431,
            format!("The request target is longer than {MAX_TARGET} bytes"),
        ));
    }
    let header_bytes: usize = req.headers().iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    (header_bytes > MAX_HEADER_BYTES).then(|| {
        ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            20431,
            format!("The request headers are larger than {MAX_HEADER_BYTES} bytes"),
        )
    })
}

/// The middleware function (wrap it with `actix_web::middleware::from_fn`).
pub async fn gate(mut req: ServiceRequest, next: Next<BoxBody>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned().expect("AppState is registered");
    let id = request_id(req.headers());
    req.extensions_mut().insert(RequestId(id.clone()));

    // Browser forms can only POST: `?_method=` carries the real method, for form posts only.
    if req.method() == Method::POST && is_form(&req) {
        if let Some(m) = req.query_string().split('&').find_map(|p| p.strip_prefix("_method=")) {
            if let Ok(m @ (Method::DELETE | Method::PUT | Method::PATCH)) = Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
                req.head_mut().method = m;
            }
        }
    }

    let auth = state.auth.authenticate(req.headers()).await;
    let denied = oversized(&req).or_else(|| cross_site(&req, &auth, &state.config.cors_origins));
    let principal = match &auth {
        Auth::Caller(c) => c.account.to_string(),
        _ => match req.peer_addr() {
            Some(a) => format!("ip:{}", a.ip()),
            None => "ip:".to_owned(),
        },
    };
    let authenticated = !matches!(auth, Auth::Anonymous);
    // Replays are kept per account only: an anonymous replay could hand one client another's
    // freshly created credentials (clients behind one address share it).
    let replayable = matches!(auth, Auth::Caller(_));
    req.extensions_mut().insert(auth);

    let method = req.method().clone();
    let origin = req.headers().get(header::ORIGIN).cloned();

    let mut budget = state
        .limiter
        .enabled()
        .then(|| state.limiter.check(&principal, method != Method::OPTIONS));
    let mut res = if let Some(e) = denied {
        req.into_response(e.error_response())
    } else if budget.is_some_and(|b| b.refused) {
        req.into_response(ApiError::too_many_requests(budget.map(|b| b.retry_after).unwrap_or(1)).error_response())
    } else if replayable && method == Method::POST && req.headers().contains_key(super::idempotency::HEADER) {
        let key = req
            .headers()
            .get(super::idempotency::HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        super::idempotency::handle(req, next, state.clone(), principal.clone(), key).await?
    } else {
        next.call(req).await?
    };

    if res.status() == StatusCode::NOT_MODIFIED {
        if let Some(b) = budget.as_mut() {
            state.limiter.refund(&principal);
            b.remaining = (b.remaining + 1).min(b.limit);
        }
    }
    if res.status().is_client_error() || res.status().is_server_error() {
        let error = res
            .response()
            .extensions()
            .get::<ApiError>()
            .cloned()
            .unwrap_or_else(|| ApiError::from_status(res.status(), state.config.body_limit));
        let request = res.request();
        let page_ctx = crate::representation::reply::page_context(request);
        let target = uris::requested(request);
        let accept = request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        res = res.map_body(|_, _| BoxBody::new(()));
        let rendered = render_error(&error, &target, accept.as_deref(), &id, &page_ctx);
        let (req, _) = res.into_parts();
        res = ServiceResponse::new(req, rendered);
    }
    let headers = res.headers_mut();
    common_headers(headers, &state, &id, budget, authenticated, origin.as_ref());
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        // Stopping: this answer closes its connection, so that no client sends another request
        // on it just as the server closes it (it reconnects, and finds the listener closed).
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    let status = res.status().as_u16();
    tracing::info!(target: "access", %method, path = %res.request().path(), status, ms = %Millis(started.elapsed()), request_id = %id);
    Ok(res)
}

fn common_headers(
    headers: &mut HeaderMap,
    state: &AppState,
    id: &str,
    budget: Option<super::ratelimit::Budget>,
    private: bool,
    origin: Option<&HeaderValue>,
) {
    if let Ok(v) = HeaderValue::from_str(id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(b) = budget {
        headers.insert(HeaderName::from_static("x-ratelimit-limit"), b.limit.into());
        headers.insert(HeaderName::from_static("x-ratelimit-remaining"), b.remaining.into());
        headers.insert(HeaderName::from_static("x-ratelimit-reset"), b.reset.into());
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Authorization, Cookie, Origin"));
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    } else if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(origin) = origin {
        let allowed = state
            .config
            .cors_origins
            .iter()
            .any(|o| o == "*" || o.as_bytes() == origin.as_bytes());
        if allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED));
        }
    }
}

/// Renders an error as the client prefers: Twilio JSON (default), problem+json, or a page.
pub fn render_error(
    e: &ApiError,
    target: &str,
    accept: Option<&str>,
    request_id: &str,
    page: &crate::representation::html::PageContext,
) -> HttpResponse {
    if e.status.is_server_error() {
        tracing::warn!(
            status = e.status.as_u16(),
            code = e.code,
            request_id,
            "answered with a server error"
        );
    }
    let more_info = uris::error_doc(e.code);
    let mut links = vec![Link::new("self", target.to_owned())];
    links.extend(e.links.iter().cloned());
    links.push(Link::new("help", more_info.clone()));
    let subresources: serde_json::Map<String, serde_json::Value> =
        e.links.iter().map(|l| (l.rel.to_string(), l.href.clone().into())).collect();
    let message = if e.status.is_server_error() {
        format!("{} (request id {request_id})", e.message)
    } else {
        e.message.to_string()
    };
    let mut b = HttpResponse::build(e.status);
    b.insert_header((header::LINK, link_header::render(&links)));
    let format = negotiate_error(accept);
    for (name, value) in &e.headers {
        // A browser meets a Basic challenge with its own login dialog (headless Chromium fails the
        // navigation outright) and then sends those credentials forever, so signing out could
        // never work. A page gets a form-based challenge instead, and shows the sign-in form.
        if format == ErrorFormat::Html && name.eq_ignore_ascii_case("www-authenticate") {
            b.append_header((*name, format!(r#"Cookie realm="signpost", form-action="{}""#, uris::SESSIONS)));
            continue;
        }
        b.append_header((*name, value.as_str()));
    }
    match format {
        ErrorFormat::Html => {
            let pairs: Vec<(String, String)> = e.links.iter().map(|l| (l.rel.to_string(), l.href.clone())).collect();
            b.content_type("text/html; charset=utf-8")
                .body(crate::representation::html::render_error(
                    e.status.as_u16(),
                    e.code,
                    &message,
                    &more_info,
                    &pairs,
                    request_id,
                    page,
                ))
        }
        ErrorFormat::Problem => b.content_type("application/problem+json").body(
            serde_json::json!({
                "type": more_info, "title": e.status.canonical_reason().unwrap_or("Error"), "status": e.status.as_u16(),
                "detail": message, "instance": target, "code": e.code, "message": message, "more_info": more_info,
                "uri": target, "subresource_uris": subresources, "request_id": request_id,
            })
            .to_string(),
        ),
        ErrorFormat::Twilio => b.content_type("application/json").body(
            serde_json::json!({
                "status": e.status.as_u16(), "code": e.code, "message": message, "more_info": more_info,
                "uri": target, "subresource_uris": subresources,
            })
            .to_string(),
        ),
    }
}
