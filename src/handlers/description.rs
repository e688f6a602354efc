//! The description documents: the OpenAPI document (`service-desc`, JSON or YAML by `Accept`)
//! and one JSON Schema per kind of resource (`describedby`). Public and cacheable.
use crate::error::ApiError;
use crate::hypermedia::link_header;
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use crate::openapi::description;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

fn serve(req: &HttpRequest, body: &'static [u8], content_type: &'static str, links: &[Link]) -> HttpResponse {
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body));
    let fresh = crate::http::conditional::not_modified(req, &etag, None);
    let mut b = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    b.insert_header((header::LINK, link_header::render(links)))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    if fresh {
        return b.finish();
    }
    b.content_type(content_type).body(body)
}

/// `GET /openapi.json`: `application/openapi+json`, or YAML when `Accept` asks for it.
pub async fn openapi(req: HttpRequest) -> HttpResponse {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let yaml = accept.contains("yaml") && !accept.contains("openapi+json");
    let d = description();
    let links = [
        Link::new("self", uris::OPENAPI.to_owned()),
        Link::new("start", uris::ROOT.to_owned()),
        Link::new("service-doc", uris::DOCS.to_owned()),
    ];
    if yaml {
        serve(&req, &d.yaml, "application/openapi+yaml", &links)
    } else {
        serve(&req, &d.json, "application/openapi+json", &links)
    }
}

/// `GET /schemas/{kind}.json`: `application/schema+json`.
pub async fn schema(req: HttpRequest, kind: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let body = description()
        .schemas
        .get(kind.as_str())
        .ok_or_else(|| ApiError::not_found(uris::OPENAPI))?;
    let links = [
        Link::new("self", req.path().to_owned()),
        Link::new("service-desc", uris::OPENAPI.to_owned()),
    ];
    Ok(serve(&req, body, "application/schema+json", &links))
}
