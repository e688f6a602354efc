//! `/docs`: the guide, one page per error code (`more_info`), served as HTML (or the Markdown
//! source for `Accept: text/markdown`).
use crate::docs;
use crate::error::ApiError;
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use crate::representation::html;
use crate::representation::reply::{document, page_context};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let page = docs::page(path).ok_or_else(|| ApiError::not_found(uris::DOCS))?;
    let wants_markdown = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/markdown"));
    let (body, content_type) = if wants_markdown {
        (
            docs::source(path).unwrap_or_default().as_bytes().to_vec(),
            "text/markdown; charset=utf-8",
        )
    } else {
        (
            html::render_doc(&page.title, &page.html, &page_context(req)),
            "text/html; charset=utf-8",
        )
    };
    let mut links = vec![
        Link::new("self", req.path().to_owned()),
        Link::new("up", uris::DOCS.to_owned()),
        Link::new("start", uris::ROOT.to_owned()),
    ];
    if path == "index" {
        links.extend(docs::pages().into_iter().map(|p| Link::new("section", uris::doc_page(p))));
    }
    Ok(document(req, body, content_type, &links))
}

/// `/docs`
pub async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "index")
}

/// `/docs/{page}`
pub async fn page(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&req, &path)
}

/// `/docs/errors/{code}`
pub async fn error(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code: u32 = path.parse().map_err(|_| ApiError::not_found(uris::DOCS))?;
    serve(&req, &format!("errors/{code}"))
}
