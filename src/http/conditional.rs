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
        match req.headers().get(IF_MATCH) {
            None => IfMatch::Absent,
            Some(v) => IfMatch::parse(v.to_str().unwrap_or("")),
        }
    }

    /// Parses an `If-Match` header value (never fails: a malformed value lists tags that match nothing).
    pub fn parse(v: &str) -> IfMatch {
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn tag() -> impl Strategy<Value = String> {
        ("(W/)?", "[0-9a-f]{16}", "(\\.[a-z][0-9a-f]{0,16})?").prop_map(|(w, state, rest)| format!("{w}\"{state}{rest}\""))
    }

    proptest! {
        /// A strong tag the server issued (any representation) is recognised among any others;
        /// its weak form alone never is (If-Match compares strongly).
        #[test]
        fn a_strong_tag_is_found_among_others(
            others in prop::collection::vec(tag(), 0..5),
            state in "[0-9a-f]{16}",
            format in "(\\.[a-z][0-9a-f]{0,16})?",
            at in any::<prop::sample::Index>(),
            spaces in " {0,2}",
        ) {
            let mut list = others.clone();
            list.insert(at.index(list.len() + 1), format!("\"{state}{format}\""));
            let IfMatch::Tags(tags) = IfMatch::parse(&list.join(&format!(",{spaces}"))) else { panic!("tags expected") };
            prop_assert!(tags.contains(&state));
            let IfMatch::Tags(tags) = IfMatch::parse(&format!("W/\"{state}{format}\"")) else { panic!("tags expected") };
            prop_assert!(!tags.contains(&state));
        }

        /// Any header value parses; only `*` means "any".
        #[test]
        fn any_value_parses(value in ".{0,60}") {
            prop_assert_eq!(IfMatch::parse(&value) == IfMatch::Any, value.trim() == "*");
        }
    }
}
