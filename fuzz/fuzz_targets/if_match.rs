//! `If-Match` / `If-None-Match` / `If-Modified-Since`: any value parses without a panic; `*` is
//! "any", weak tags never count for If-Match, and a tag the server issued is always recognised
//! among the others.
#![no_main]
use actix_web::http::header::{HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use actix_web::test::TestRequest;
use libfuzzer_sys::fuzz_target;
use signpost::http::conditional::{not_modified, IfMatch};

const STATE: &str = "0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match IfMatch::parse(text) {
        IfMatch::Any => assert_eq!(text.trim(), "*"),
        IfMatch::Absent => panic!("a header that is present is never Absent"),
        IfMatch::Tags(tags) => {
            assert!(tags.len() <= text.matches(',').count() + 1);
            assert!(tags.iter().all(|t| !t.contains(',') && !t.contains('.')), "{tags:?}");
            if !text.contains(STATE) {
                assert!(!tags.iter().any(|t| t == STATE));
            }
        }
    }
    // The server's own strong tag, listed among arbitrary others, is found.
    let list = format!("{text}, \"{STATE}.j\"");
    if list.trim() != "*" {
        match IfMatch::parse(&list) {
            IfMatch::Tags(tags) => assert!(tags.iter().any(|t| t == STATE), "{list:?} -> {tags:?}"),
            other => panic!("{list:?} -> {other:?}"),
        }
    }
    if let Ok(value) = HeaderValue::from_str(text) {
        let req = TestRequest::default()
            .insert_header((IF_NONE_MATCH, value.clone()))
            .to_http_request();
        let _ = not_modified(&req, &format!("\"{STATE}.j\""), Some(0));
        let req = TestRequest::default().insert_header((IF_MODIFIED_SINCE, value)).to_http_request();
        let _ = not_modified(&req, &format!("\"{STATE}.j\""), Some(1_700_000_000));
    }
});
