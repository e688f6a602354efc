//! The description documents: the OpenAPI document (`service-desc`, JSON or YAML by `Accept`)
//! and one JSON Schema per kind of resource (`describedby`). Public and cacheable.
use crate::error::ApiError;
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use crate::openapi::description;
use crate::representation::reply::document;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

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
        document(&req, d.yaml.as_slice(), "application/openapi+yaml", &links)
    } else {
        document(&req, d.json.as_slice(), "application/openapi+json", &links)
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
    Ok(document(&req, body.as_slice(), "application/schema+json", &links))
}
