//! The responder every handler returns: negotiates the format, renders the resource once, sets
//! `ETag`, `Last-Modified`, `Link`, `Location`, and answers conditional GETs with 304.
use super::negotiate::{negotiate, Format, OFFERED};
use super::{hal, html, json};
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::conditional;
use crate::hypermedia::link_header;
use crate::hypermedia::resource::{Link, Resource};
use actix_web::body::BoxBody;
use actix_web::http::header::HeaderValue;
use actix_web::http::{header, Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError};
use std::sync::{Arc, OnceLock};

/// What a handler answers.
pub enum Reply {
    /// 200 with the resource.
    Ok(Resource),
    /// 200 with a resource rendered once for everyone (see [`Prepared`]).
    Prepared(Arc<Prepared>),
    /// 201 with the new resource and `Location`.
    Created(Resource),
    /// 204; the links say where to go next (the collection the item was in).
    Deleted(Vec<Link>),
    /// 303 See Other to a URI.
    SeeOther(String),
    /// 201 with the new resource, plus extra headers (a session cookie).
    CreatedWith(Resource, Vec<(header::HeaderName, String)>),
    /// 204 with extra headers (clearing a cookie).
    DeletedWith(Vec<Link>, Vec<(header::HeaderName, String)>),
}

/// The rendered form of a resource.
pub struct Rendered {
    /// The body.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: &'static str,
    /// Its strong ETag (quoted).
    pub etag: String,
}

/// The state hash of a resource: the hash of its canonical (Twilio JSON) representation. The
/// first part of every ETag; what `If-Match` is compared with.
pub fn state_hash(r: &Resource) -> u64 {
    let mut buf = Vec::with_capacity(1024);
    json::render(r, &mut buf);
    xxhash_rust::xxh3::xxh3_64(&buf)
}

/// Renders a resource in a format and computes its ETag: `"<state>"` for JSON, and
/// `"<state>.<format><body>"` for the others (their bodies also depend on the caller).
pub fn render(r: &Resource, format: Format, page: &html::PageContext) -> Rendered {
    let mut body = Vec::with_capacity(1024);
    match format {
        Format::Json | Format::Vendor => json::render(r, &mut body),
        Format::Hal => hal::render(r, false, &mut body),
        Format::HalForms => hal::render(r, true, &mut body),
        Format::Html => body = html::render(r, page),
    }
    let etag = match format {
        Format::Json => format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body)),
        Format::Vendor => format!("\"{:016x}.v\"", xxhash_rust::xxh3::xxh3_64(&body)),
        other => format!(
            "\"{:016x}.{}{:08x}\"",
            state_hash(r),
            other.tag(),
            xxhash_rust::xxh3::xxh3_64(&body) as u32
        ),
    };
    Rendered {
        body,
        content_type: format.content_type(),
        etag,
    }
}

/// The methods this caller may use on a resource in its current state: GET, HEAD and OPTIONS,
/// plus the method of every action that targets the resource itself (a POST update also permits
/// PUT and PATCH). Left in the response's extensions for `OPTIONS` to answer `Allow` with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permitted(pub Vec<&'static str>);

impl Permitted {
    fn of(r: &Resource) -> Permitted {
        let path = r.uri.split('?').next().unwrap_or(&r.uri);
        let mut methods = vec!["GET", "HEAD", "OPTIONS"];
        let actions = r.actions.iter().filter(|a| a.target == path).map(|a| a.method);
        for method in actions.chain(r.also_allows.iter().copied()) {
            let implied: &[&'static str] = match method {
                "POST" => &["POST", "PUT", "PATCH"],
                "DELETE" => &["DELETE"],
                _ => &[],
            };
            for m in implied {
                if !methods.contains(m) {
                    methods.push(m);
                }
            }
        }
        Permitted(methods)
    }

    /// Whether a method is permitted.
    pub fn allows(&self, method: &str) -> bool {
        self.0.contains(&method)
    }
}

/// A public document that is not a resource (a docs page, the OpenAPI document, a JSON Schema):
/// a strong ETag of its bytes, `If-None-Match` → 304, its `Link` header, and a cache lifetime.
pub fn document<B: actix_web::body::MessageBody + AsRef<[u8]> + 'static>(
    req: &HttpRequest,
    body: B,
    content_type: &'static str,
    links: &[Link],
) -> HttpResponse {
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body.as_ref()));
    let fresh = conditional::not_modified(req, &etag, None);
    let mut b = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    b.insert_header((header::LINK, link_header::render(links)))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::VARY, "Accept"));
    if fresh {
        return b.finish();
    }
    b.content_type(content_type).body(body)
}

/// Page facts from the request (who is signed in).
pub fn page_context(req: &HttpRequest) -> html::PageContext {
    let open_signup = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .is_some_and(|s| s.config.open_signup);
    match req.extensions().get::<Auth>() {
        Some(Auth::Caller(c)) => html::PageContext {
            account: Some(c.account.to_string()),
            session_uri: c.session.as_ref().map(crate::hypermedia::uris::session),
            open_signup,
        },
        _ => html::PageContext {
            open_signup,
            ..Default::default()
        },
    }
}

/// One representation of a resource, rendered, with the headers that come from it.
struct Variant {
    body: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    link: HeaderValue,
    last_modified: Option<i64>,
    location: Option<String>,
    /// Only computed for OPTIONS (routes::options reads it), or once for a prepared resource.
    permitted: Option<Permitted>,
}

impl Variant {
    fn of(r: &Resource, format: Format, page: &html::PageContext, status: StatusCode, with_permitted: bool) -> Variant {
        let rendered = render(r, format, page);
        Variant {
            body: Bytes::from(rendered.body),
            content_type: rendered.content_type,
            // Both are built from URIs and hex digits only; a failure would be a bug in the
            // renderer, and the header is then left out rather than the answer failed.
            etag: HeaderValue::try_from(rendered.etag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            link: HeaderValue::try_from(link_header::render(&r.header_links().collect::<Vec<_>>()))
                .unwrap_or_else(|_| HeaderValue::from_static("")),
            last_modified: r.last_modified,
            location: (status == StatusCode::CREATED).then(|| r.uri.clone()),
            permitted: with_permitted.then(|| Permitted::of(r)),
        }
    }
}

/// A resource that is the same for every request it answers (the root as anonymous callers see
/// it): each format is rendered on first use, then served from memory; per request, only the
/// negotiation, the conditional check and the headers are done.
pub struct Prepared {
    build: Box<dyn Fn() -> Resource + Send + Sync>,
    page: html::PageContext,
    variants: [OnceLock<Variant>; 5],
}

impl Prepared {
    /// `build` makes the resource (called once per format); pages are rendered with `page`.
    pub fn new(build: impl Fn() -> Resource + Send + Sync + 'static, page: html::PageContext) -> Prepared {
        Prepared {
            build: Box::new(build),
            page,
            variants: Default::default(),
        }
    }

    fn variant(&self, format: Format) -> &Variant {
        self.variants[format as usize].get_or_init(|| Variant::of(&(self.build)(), format, &self.page, StatusCode::OK, true))
    }
}

fn respond(req: &HttpRequest, status: StatusCode, r: Resource, extra: Vec<(header::HeaderName, String)>) -> HttpResponse {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Some(format) = negotiate(accept) else {
        return ApiError::not_acceptable(&OFFERED).error_response();
    };
    // Post/Redirect/Get for browsers, except for a page that must be seen this once (the new
    // account's auth token).
    if html::is_browser_form_post(req) && r.notice.is_none() {
        return html::see_other(req, &r.uri, extra);
    }
    // Only pages show who is signed in: the other formats skip building that.
    let page = if format == Format::Html {
        page_context(req)
    } else {
        html::PageContext::default()
    };
    let variant = Variant::of(&r, format, &page, status, req.method() == Method::OPTIONS);
    answer(req, status, &variant, extra)
}

fn respond_prepared(req: &HttpRequest, prepared: &Prepared) -> HttpResponse {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Some(format) = negotiate(accept) else {
        return ApiError::not_acceptable(&OFFERED).error_response();
    };
    answer(req, StatusCode::OK, prepared.variant(format), Vec::new())
}

/// The response for a rendered variant: 304 when the client's copy is current, else the body;
/// `ETag`, `Link`, `Last-Modified` and `Location` either way.
fn answer(req: &HttpRequest, status: StatusCode, v: &Variant, extra: Vec<(header::HeaderName, String)>) -> HttpResponse {
    let safe = req.method() == Method::GET || req.method() == Method::HEAD;
    let fresh = safe && status == StatusCode::OK && conditional::not_modified(req, v.etag.to_str().unwrap_or(""), v.last_modified);
    let mut builder = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::build(status)
    };
    builder
        .insert_header((header::ETAG, v.etag.clone()))
        .insert_header((header::LINK, v.link.clone()));
    if let Some(lm) = v.last_modified {
        builder.insert_header((header::LAST_MODIFIED, crate::domain::dates::http_date(lm)));
    }
    if let Some(location) = &v.location {
        builder.insert_header((header::LOCATION, location.as_str()));
    }
    for (name, value) in extra {
        builder.append_header((name, value));
    }
    let mut res = if fresh {
        builder.finish()
    } else {
        builder.content_type(v.content_type).body(v.body.clone())
    };
    if let (Some(permitted), true) = (&v.permitted, req.method() == Method::OPTIONS) {
        res.extensions_mut().insert(permitted.clone());
    }
    res
}

impl Responder for Reply {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        match self {
            Reply::Ok(r) => respond(req, StatusCode::OK, r, Vec::new()),
            Reply::Prepared(p) => respond_prepared(req, &p),
            Reply::Created(r) => respond(req, StatusCode::CREATED, r, Vec::new()),
            Reply::CreatedWith(r, headers) => respond(req, StatusCode::CREATED, r, headers),
            // A browser's delete (sign out included) goes on to the page it leads back to.
            Reply::Deleted(links) if html::is_browser_form_post(req) => html::see_other(req, html::after_delete(&links), Vec::new()),
            Reply::DeletedWith(links, headers) if html::is_browser_form_post(req) => {
                html::see_other(req, html::after_delete(&links), headers)
            }
            Reply::Deleted(links) => deleted(links, Vec::new()),
            Reply::DeletedWith(links, headers) => deleted(links, headers),
            Reply::SeeOther(uri) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, uri.as_str()))
                .insert_header((
                    header::LINK,
                    link_header::render(&[Link::new("self", req.path().to_owned()), Link::new("related", uri)]),
                ))
                .finish(),
        }
    }
}

fn deleted(links: Vec<Link>, headers: Vec<(header::HeaderName, String)>) -> HttpResponse {
    let mut b = HttpResponse::NoContent();
    b.insert_header((header::LINK, link_header::render(&links)));
    for h in headers {
        b.append_header(h);
    }
    b.finish()
}
