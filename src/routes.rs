//! The one route table. Each resource is named after what it is, uses the pattern from
//! [`crate::hypermedia::uris`], answers HEAD wherever it answers GET, OPTIONS everywhere, and
//! 405 with `Allow` for any other method.
use crate::error::ApiError;
use crate::handlers::{accounts, description, docs, feedback, media, messages, root, sessions};
use crate::hypermedia::link_header;
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use crate::representation::reply::Permitted;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};

/// Headers a cross-origin client may send.
const ALLOWED_HEADERS: &str =
    "Accept, Authorization, Content-Type, If-Match, If-None-Match, If-Modified-Since, Idempotency-Key, X-Request-Id";

/// A resource at `path` whose GET handler is `read`: GET and HEAD answer with it, OPTIONS asks it
/// who the caller is and what state the resource is in, and any other method not routed later
/// answers 405 with the resource's `Allow`.
fn endpoint<F, Args>(route: &Route, read: F) -> actix_web::Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let probe = read.clone();
    let allow = route.allow;
    web::resource(route.pattern)
        .name(route.name)
        .route(web::get().to(read.clone()))
        .route(web::head().to(read))
        .route(
            web::method(Method::OPTIONS).to(move |req: HttpRequest, args: Result<Args, actix_web::Error>| {
                let probe = probe.clone();
                async move {
                    let answer = match args {
                        Ok(args) => Some(probe.call(args).await.respond_to(&req).map_into_boxed_body()),
                        Err(_) => None,
                    };
                    options(&req, allow, answer)
                }
            }),
        )
        .default_service(web::to(move || async move {
            Err::<HttpResponse, _>(ApiError::method_not_allowed(allow))
        }))
}

/// The answer to OPTIONS (CONTRACT §6): 204 with `Allow` listing the methods this caller may use
/// here, the CORS headers, and the same `Link` header a GET gives. `answer` is what GET would
/// have answered this caller: its state narrows `Allow` (a delivered message cannot be canceled,
/// a closed account not renamed). Without credentials (a CORS preflight never sends them) the
/// answer lists what the resource supports. A resource that does not exist for this caller
/// answers 404, as GET does.
fn options(req: &HttpRequest, supported: &'static str, answer: Option<HttpResponse>) -> HttpResponse {
    let (allow, links) = match answer {
        Some(res) if res.status() == StatusCode::NOT_FOUND => return res,
        Some(res) if res.status().is_success() || res.status().is_redirection() => {
            let allow = match res.extensions().get::<Permitted>() {
                Some(p) => supported.split(", ").filter(|m| p.allows(m)).collect::<Vec<_>>().join(", "),
                None => supported.to_owned(),
            };
            (allow, res.headers().get(header::LINK).cloned())
        }
        _ => (supported.to_owned(), None),
    };
    let links = links.unwrap_or_else(|| {
        header::HeaderValue::from_str(&link_header::render(&[Link::new("self", req.path().to_owned())]))
            .unwrap_or_else(|_| header::HeaderValue::from_static("</>; rel=\"self\""))
    });
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, allow.as_str()))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, allow.as_str()))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .insert_header((
            header::HeaderName::from_static("accept-patch"),
            "application/x-www-form-urlencoded, application/json",
        ))
        .insert_header((header::LINK, links))
        .finish()
}

/// The methods each resource answers (also its `Allow`).
pub mod allow {
    /// Read-only resources.
    pub const READ: &str = "GET, HEAD, OPTIONS";
    /// Collections that create.
    pub const COLLECTION: &str = "GET, HEAD, POST, OPTIONS";
    /// Items that update and delete.
    pub const ITEM: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
    /// Items that update but are not deleted.
    pub const UPDATABLE: &str = "GET, HEAD, POST, PUT, PATCH, OPTIONS";
    /// Items that are only read and deleted.
    pub const DELETABLE: &str = "GET, HEAD, DELETE, OPTIONS";
}

/// One resource of the route table: its URI pattern, its name, and the methods it answers.
/// [`configure`] registers each with its handlers; [`crate::openapi`] describes each.
#[derive(Debug)]
pub struct Route {
    /// The pattern, from [`uris`].
    pub pattern: &'static str,
    /// The route's name (also the OpenAPI operation ids' stem).
    pub name: &'static str,
    /// The methods it answers, as `Allow` lists them.
    pub allow: &'static str,
}

impl Route {
    /// The methods, one by one.
    pub fn methods(&self) -> impl Iterator<Item = &'static str> {
        self.allow.split(", ")
    }
}

macro_rules! routes {
    ($($id:ident = ($pattern:expr, $name:literal, $allow:expr);)*) => {
        $(
            #[doc = concat!("The `", $name, "` resource.")]
            pub const $id: Route = Route { pattern: $pattern, name: $name, allow: $allow };
        )*
        /// Every resource the server answers.
        pub const CATALOG: &[Route] = &[$($id),*];
    };
}

routes! {
    ROOT = (uris::ROOT, "root", allow::READ);
    ACCOUNTS = (uris::ACCOUNTS, "accounts", allow::COLLECTION);
    ACCOUNT = (uris::ACCOUNT, "account", allow::UPDATABLE);
    SESSIONS = (uris::SESSIONS, "sessions", allow::COLLECTION);
    SESSION = (uris::SESSION, "session", allow::DELETABLE);
    MY_MESSAGES = (uris::MY_MESSAGES, "my-messages", allow::READ);
    MESSAGES = (uris::MESSAGES, "messages", allow::COLLECTION);
    MESSAGE = (uris::MESSAGE, "message", allow::ITEM);
    MEDIA_LIST = (uris::MEDIA_LIST, "media-list", allow::READ);
    MEDIA = (uris::MEDIA, "media", allow::DELETABLE);
    FEEDBACK = (uris::FEEDBACK, "feedback", allow::COLLECTION);
    OPENAPI = (uris::OPENAPI, "openapi", allow::READ);
    SCHEMA = (uris::SCHEMA, "schema", allow::READ);
    DOCS = (uris::DOCS, "docs", allow::READ);
    ERROR_DOC = (uris::ERROR_DOC, "error-doc", allow::READ);
    DOC_PAGE = (uris::DOC_PAGE, "doc-page", allow::READ);
}

/// Registers every route of [`CATALOG`] with its handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Matching tries the patterns in this order, and each pattern with a `{…}` is a regex: the
    // busiest resources (a message, the message list) come right after the static root.
    cfg.service(endpoint(&ROOT, root::fetch))
        .service(
            endpoint(&MESSAGE, messages::fetch)
                .route(web::post().to(messages::update))
                .route(web::put().to(messages::update))
                .route(web::patch().to(messages::update))
                .route(web::delete().to(messages::delete)),
        )
        .service(endpoint(&MESSAGES, messages::list).route(web::post().to(messages::create)))
        .service(endpoint(&ACCOUNTS, accounts::list).route(web::post().to(accounts::create)))
        .service(
            endpoint(&ACCOUNT, accounts::fetch)
                .route(web::post().to(accounts::update))
                .route(web::put().to(accounts::update))
                .route(web::patch().to(accounts::update)),
        )
        .service(endpoint(&SESSIONS, sessions::list).route(web::post().to(sessions::create)))
        .service(endpoint(&SESSION, sessions::fetch).route(web::delete().to(sessions::delete)))
        .service(endpoint(&MY_MESSAGES, messages::mine))
        .service(endpoint(&MEDIA_LIST, media::list))
        .service(endpoint(&MEDIA, media::fetch).route(web::delete().to(media::delete)))
        .service(endpoint(&FEEDBACK, feedback::fetch).route(web::post().to(feedback::create)))
        .service(endpoint(&OPENAPI, description::openapi))
        .service(endpoint(&SCHEMA, description::schema))
        .service(endpoint(&DOCS, docs::index))
        .service(endpoint(&ERROR_DOC, docs::error))
        .service(endpoint(&DOC_PAGE, docs::page))
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(uris::ROOT))
}
