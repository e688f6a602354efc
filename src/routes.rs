//! The one route table. Each resource is named after what it is, uses the pattern from
//! [`crate::hypermedia::uris`], answers HEAD wherever it answers GET, OPTIONS everywhere, and
//! 405 with `Allow` for any other method.
use crate::error::ApiError;
use crate::handlers::{accounts, docs, feedback, media, messages, root, sessions};
use crate::hypermedia::link_header;
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};

/// Headers a cross-origin client may send.
const ALLOWED_HEADERS: &str =
    "Accept, Authorization, Content-Type, If-Match, If-None-Match, If-Modified-Since, Idempotency-Key, X-Request-Id";

fn endpoint(path: &str, name: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path)
        .name(name)
        .route(web::method(Method::OPTIONS).to(move |req: HttpRequest| async move { options(&req, allow) }))
        .default_service(web::to(move || async move {
            Err::<HttpResponse, _>(ApiError::method_not_allowed(allow))
        }))
}

fn options(req: &HttpRequest, allow: &str) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, allow))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, allow))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .insert_header((
            header::HeaderName::from_static("accept-patch"),
            "application/x-www-form-urlencoded, application/json",
        ))
        .insert_header((header::LINK, link_header::render(&[Link::new("self", req.path().to_owned())])))
        .finish()
}

/// Registers a GET handler for GET and HEAD together, so no readable resource lacks HEAD.
trait Readable {
    fn read<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;
}

impl Readable for actix_web::Resource {
    fn read<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(web::get().to(handler.clone())).route(web::head().to(handler))
    }
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

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(endpoint(uris::ROOT, "root", allow::READ).read(root::fetch))
        .service(
            endpoint(uris::ACCOUNTS, "accounts", allow::COLLECTION)
                .read(accounts::list)
                .route(web::post().to(accounts::create)),
        )
        .service(
            endpoint(uris::ACCOUNT, "account", allow::UPDATABLE)
                .read(accounts::fetch)
                .route(web::post().to(accounts::update))
                .route(web::put().to(accounts::update))
                .route(web::patch().to(accounts::update)),
        )
        .service(
            endpoint(uris::SESSIONS, "sessions", allow::COLLECTION)
                .read(sessions::list)
                .route(web::post().to(sessions::create)),
        )
        .service(
            endpoint(uris::SESSION, "session", allow::DELETABLE)
                .read(sessions::fetch)
                .route(web::delete().to(sessions::delete)),
        )
        .service(endpoint(uris::MY_MESSAGES, "my-messages", allow::READ).read(messages::mine))
        .service(
            endpoint(uris::MESSAGES, "messages", allow::COLLECTION)
                .read(messages::list)
                .route(web::post().to(messages::create)),
        )
        .service(
            endpoint(uris::MESSAGE, "message", allow::ITEM)
                .read(messages::fetch)
                .route(web::post().to(messages::update))
                .route(web::put().to(messages::update))
                .route(web::patch().to(messages::update))
                .route(web::delete().to(messages::delete)),
        )
        .service(endpoint(uris::MEDIA_LIST, "media-list", allow::READ).read(media::list))
        .service(
            endpoint(uris::MEDIA, "media", allow::DELETABLE)
                .read(media::fetch)
                .route(web::delete().to(media::delete)),
        )
        .service(
            endpoint(uris::FEEDBACK, "feedback", allow::COLLECTION)
                .read(feedback::fetch)
                .route(web::post().to(feedback::create)),
        )
        .service(endpoint(uris::DOCS, "docs", allow::READ).read(docs::index))
        .service(endpoint(uris::ERROR_DOC, "error-doc", allow::READ).read(docs::error))
        .service(endpoint(uris::DOC_PAGE, "doc-page", allow::READ).read(docs::page))
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(uris::ROOT))
}
