//! The one error type of the server, and its rendering (CONTRACT §7).
//!
//! Handlers and extractors return [`ApiError`]. Its `ResponseError` impl only sets the status
//! and attaches the error to the response; the gate middleware ([`crate::http::gate`]), which
//! knows the request, renders the body (Twilio JSON, problem+json or an HTML page), the `Link`
//! header and `more_info`. Errors actix raises itself are mapped there too, by status.
use crate::hypermedia::resource::Link;
use crate::hypermedia::uris;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::borrow::Cow;

/// Everything that can go wrong in a request, with Twilio's code for it.
#[derive(Debug, Clone, derive_more::Display)]
#[display("{status} {code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Twilio's (or our) numeric code; `more_info` points at its page.
    pub code: u32,
    /// What went wrong, for a human.
    pub message: Cow<'static, str>,
    /// Where to go from here (`subresource_uris` and `Link` of the error).
    pub links: Vec<Link>,
    /// Extra headers (`WWW-Authenticate`, `Allow`, `Retry-After`, `Accept-Post`).
    pub headers: Vec<(&'static str, String)>,
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: u32, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            links: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a link to a next state.
    pub fn link(mut self, rel: &'static str, href: impl Into<String>) -> ApiError {
        self.links.push(Link::new(rel, href.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// 400 / 20001: a malformed request or an invalid parameter.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 20001, message)
    }

    /// 400 with one of Twilio's specific validation codes (21211 invalid To, 21602 body required, …).
    pub fn invalid(code: u32, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 / 20003: missing or wrong credentials; points at `sessions` to sign in.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, 20003, message)
            .header("WWW-Authenticate", r#"Basic realm="signpost", charset="UTF-8""#)
            .link("sessions", uris::SESSIONS)
    }

    /// 403 / 20403: authenticated, but this is not allowed (e.g. a cross-site form post).
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, 20403, message)
    }

    /// 404 / 20404: nothing here for this caller; `up` is the nearest resource that exists.
    pub fn not_found(up: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 20404, "The requested resource was not found").link("up", up)
    }

    /// 405 / 20405 with the methods the resource does support.
    pub fn method_not_allowed(allow: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            20405,
            format!("Method not allowed here; this resource allows {allow}"),
        )
        .header("Allow", allow)
    }

    /// 406 / 20406 listing what is on offer.
    pub fn not_acceptable(offered: &[&str]) -> ApiError {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            20406,
            format!(
                "None of the media types in Accept is available here. On offer: {}",
                offered.join(", ")
            ),
        )
    }

    /// 409 with a Twilio code (30409 cannot cancel, 20009 cannot delete while sending, …).
    pub fn conflict(code: u32, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 412 / 20412: `If-Match` did not match the current representation.
    pub fn precondition_failed() -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            20412,
            "The resource has changed since you read it (If-Match does not match its current ETag); fetch it again and retry",
        )
    }

    /// 413 / 20413.
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            20413,
            format!("The request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 415 / 20415 with the accepted body types.
    pub fn unsupported_media_type(got: &str) -> ApiError {
        const ACCEPTED: &str = "application/x-www-form-urlencoded, application/json";
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            20415,
            format!("Request bodies must be {ACCEPTED}; got {got}"),
        )
        .header("Accept-Post", ACCEPTED)
        .header("Accept-Patch", ACCEPTED)
    }

    /// 422 / 20422: well-formed but unusable (an Idempotency-Key reused with another body).
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, 20422, message)
    }

    /// 429 / 20429 with `Retry-After`.
    pub fn too_many_requests(retry_after: u64) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            format!("Too many requests; this request was not processed and is safe to retry in {retry_after} s"),
        )
        .header("Retry-After", retry_after.to_string())
    }

    /// 503 / 20503 with `Retry-After`.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, 20503, message).header("Retry-After", "5")
    }

    /// 500 / 20500. The cause is logged by the caller; the body says nothing internal.
    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 20500, "An internal error occurred")
    }

    /// Maps an error response actix produced on its own (no `ApiError` attached) by status.
    pub fn from_status(status: StatusCode, limit: usize) -> ApiError {
        match status.as_u16() {
            400 => ApiError::bad_request("The request could not be understood"),
            404 => ApiError::not_found(uris::ROOT),
            405 => ApiError::new(status, 20405, "Method not allowed here"),
            408 => ApiError::new(status, 20408, "The request took too long to arrive"),
            413 => ApiError::payload_too_large(limit),
            414 | 431 => ApiError::new(status, 20431, "The request line or headers are too large"),
            415 => ApiError::unsupported_media_type("an unsupported type"),
            503 => ApiError::unavailable("The server is not available right now"),
            s if s < 500 => ApiError::new(status, 20000 + s as u32, status.canonical_reason().unwrap_or("Client error")),
            _ => ApiError::internal(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status).finish();
        res.extensions_mut().insert(self.clone());
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if e.is_unavailable() {
            tracing::error!(error = %e, advice = e.advice().unwrap_or_default(), "storage unavailable: answering 503");
            ApiError::unavailable(
                "The database is not available right now (it may be read-only, full, missing, damaged, or shutting down); retry later",
            )
        } else {
            tracing::error!(error = %e, "storage error");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_constructor_has_its_status_and_code() {
        let cases = [
            (ApiError::bad_request("x"), 400, 20001),
            (ApiError::invalid(21211, "x"), 400, 21211),
            (ApiError::unauthorized("x"), 401, 20003),
            (ApiError::not_found("/"), 404, 20404),
            (ApiError::method_not_allowed("GET"), 405, 20405),
            (ApiError::not_acceptable(&["application/json"]), 406, 20406),
            (ApiError::conflict(30409, "x"), 409, 30409),
            (ApiError::precondition_failed(), 412, 20412),
            (ApiError::payload_too_large(10), 413, 20413),
            (ApiError::unsupported_media_type("text/plain"), 415, 20415),
            (ApiError::too_many_requests(3), 429, 20429),
            (ApiError::unavailable("x"), 503, 20503),
            (ApiError::internal(), 500, 20500),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{e}");
        }
    }

    #[test]
    fn unauthorized_challenges_and_links_to_sessions() {
        let e = ApiError::unauthorized("no");
        assert!(e
            .headers
            .iter()
            .any(|(n, v)| *n == "WWW-Authenticate" && v.starts_with("Basic realm=\"signpost\"")));
        assert!(e.links.iter().any(|l| l.rel == "sessions"));
    }
}
