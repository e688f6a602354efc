//! The URI table: each route's pattern (used by [`crate::routes`]) and the function that fills
//! it in (used by [`super::model`]). No other module writes a path. A unit test checks that each
//! builder's output is matched by its own pattern.
use crate::domain::sid::{AccountSid, MediaSid, MessageSid, SessionSid};

/// The entry point.
pub const ROOT: &str = "/";
/// Accounts visible to the caller; POST creates one.
pub const ACCOUNTS: &str = "/2010-04-01/Accounts.json";
/// One account.
pub const ACCOUNT: &str = "/2010-04-01/Accounts/{AccountSid}.json";
/// The caller's sessions; POST signs in.
pub const SESSIONS: &str = "/2010-04-01/Sessions.json";
/// One session.
pub const SESSION: &str = "/2010-04-01/Sessions/{Sid}.json";
/// The caller's messages, whoever the caller is (redirects to the account's collection).
pub const MY_MESSAGES: &str = "/2010-04-01/Messages.json";
/// An account's messages.
pub const MESSAGES: &str = "/2010-04-01/Accounts/{AccountSid}/Messages.json";
/// One message.
pub const MESSAGE: &str = "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json";
/// A message's media.
pub const MEDIA_LIST: &str = "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media.json";
/// One media item.
pub const MEDIA: &str = "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{Sid}.json";
/// A message's feedback.
pub const FEEDBACK: &str = "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Feedback.json";
/// The OpenAPI description (`service-desc`).
pub const OPENAPI: &str = "/openapi.json";
/// The JSON Schema of one kind of resource (`describedby`).
pub const SCHEMA: &str = "/schemas/{kind}.json";
/// The human documentation (`service-doc`, `help`).
pub const DOCS: &str = "/docs";
/// One documentation page.
pub const DOC_PAGE: &str = "/docs/{page}";
/// The page about one error code (`more_info`).
pub const ERROR_DOC: &str = "/docs/errors/{code}";

/// `/2010-04-01/Accounts/{AccountSid}.json`
pub fn account(sid: &AccountSid) -> String {
    format!("/2010-04-01/Accounts/{sid}.json")
}

/// `/2010-04-01/Sessions/{Sid}.json`
pub fn session(sid: &SessionSid) -> String {
    format!("/2010-04-01/Sessions/{sid}.json")
}

/// `/2010-04-01/Accounts/{AccountSid}/Messages.json`
pub fn messages(account: &AccountSid) -> String {
    format!("/2010-04-01/Accounts/{account}/Messages.json")
}

/// `/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`
pub fn message(account: &AccountSid, sid: &MessageSid) -> String {
    format!("/2010-04-01/Accounts/{account}/Messages/{sid}.json")
}

/// `…/Messages/{MessageSid}/Media.json`
pub fn media_list(account: &AccountSid, message: &MessageSid) -> String {
    format!("/2010-04-01/Accounts/{account}/Messages/{message}/Media.json")
}

/// `…/Messages/{MessageSid}/Media/{Sid}.json`
pub fn media(account: &AccountSid, message: &MessageSid, sid: &MediaSid) -> String {
    format!("/2010-04-01/Accounts/{account}/Messages/{message}/Media/{sid}.json")
}

/// `…/Messages/{MessageSid}/Feedback.json`
pub fn feedback(account: &AccountSid, message: &MessageSid) -> String {
    format!("/2010-04-01/Accounts/{account}/Messages/{message}/Feedback.json")
}

/// `/schemas/{kind}.json`: the JSON Schema a resource of this kind is `describedby`.
pub fn schema(kind: &str) -> String {
    format!("/schemas/{kind}.json")
}

/// `/docs/{page}`
pub fn doc_page(page: &str) -> String {
    format!("/docs/{page}")
}

/// `/docs/errors/{code}`: the `more_info` of an error.
pub fn error_doc(code: u32) -> String {
    format!("/docs/errors/{code}")
}

/// A collection URI with query parameters (paging, filters), percent-encoded.
pub fn with_query(base: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return base.to_owned();
    }
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    format!("{base}?{query}")
}

/// A URI with a query string that is already encoded (passed through as the client sent it).
pub fn with_raw_query(base: &str, query: &str) -> String {
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

/// The request's own path and query: the `uri` of a collection page, and of an error.
pub fn requested(req: &actix_web::HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::dev::ResourceDef;

    #[test]
    fn every_builder_matches_its_route_pattern() {
        let ac = AccountSid::generate();
        let sm = MessageSid::generate();
        let me = MediaSid::generate();
        let us = SessionSid::generate();
        let cases = [
            (ACCOUNT, account(&ac)),
            (SESSION, session(&us)),
            (MESSAGES, messages(&ac)),
            (MESSAGE, message(&ac, &sm)),
            (MEDIA_LIST, media_list(&ac, &sm)),
            (MEDIA, media(&ac, &sm, &me)),
            (FEEDBACK, feedback(&ac, &sm)),
            (DOC_PAGE, doc_page("paging")),
            (ERROR_DOC, error_doc(20404)),
            (SCHEMA, schema("message")),
        ];
        for (pattern, uri) in cases {
            assert!(ResourceDef::new(pattern).is_match(&uri), "{uri} does not match {pattern}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        let uri = with_query(MY_MESSAGES, &[("To", "+1 5".into()), ("DateSent<", "2024-01-01".into())]);
        assert_eq!(uri, "/2010-04-01/Messages.json?To=%2B1+5&DateSent%3C=2024-01-01");
    }
}
