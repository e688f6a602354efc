//! Conditional requests (RFC 9110 §13): `If-None-Match` / `If-Modified-Since` → 304 on GET and
//! HEAD (weak comparison, so compressed variants still match), and `If-Match` on updates and
//! deletes → 412 when stale (compared with the resource's state hash, whichever representation
//! the client read the ETag from).
use crate::error::ApiError;
use crate::hypermedia::resource::Resource;
use crate::representation::reply::state_hash;
use actix_web::http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use actix_web::HttpRequest;

fn opaque(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/").trim_matches('"')
}

/// Whether a GET/HEAD may be answered 304 for a representation with this ETag and time.
pub fn not_modified(req: &HttpRequest, etag: &str, last_modified: Option<i64>) -> bool {
    if let Some(inm) = req.headers().get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let ours = opaque(etag);
        return inm.split(',').any(|t| t.trim() == "*" || opaque(t) == ours);
    }
    match (
        req.headers()
            .get(IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::domain::dates::parse_http_date),
        last_modified,
    ) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: no precondition.
    Absent,
    /// `*`: the resource must exist.
    Any,
    /// The state parts of the listed strong ETags.
    Tags(Vec<String>),
}

impl IfMatch {
    /// Reads the header of a request.
    pub fn from_request(req: &HttpRequest) -> IfMatch {
        let Some(v) = req.headers().get(IF_MATCH) else {
            return IfMatch::Absent;
        };
        let v = v.to_str().unwrap_or("");
        if v.trim() == "*" {
            return IfMatch::Any;
        }
        IfMatch::Tags(
            v.split(',')
                .map(str::trim)
                // If-Match uses the strong comparison: weak tags never match.
                .filter(|t| !t.starts_with("W/"))
                .map(|t| t.trim_matches('"').split('.').next().unwrap_or("").to_owned())
                .collect(),
        )
    }

    /// Checks the precondition against the resource as it is now.
    pub fn check(&self, current: &Resource) -> Result<(), ApiError> {
        match self {
            IfMatch::Absent | IfMatch::Any => Ok(()),
            IfMatch::Tags(tags) => {
                let state = format!("{:016x}", state_hash(current));
                if tags.iter().any(|t| *t == state) {
                    Ok(())
                } else {
                    Err(ApiError::precondition_failed())
                }
            }
        }
    }
}
