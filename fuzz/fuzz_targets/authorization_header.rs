//! `Authorization` (and the session cookie): any header value gives a credential or a reason,
//! never a panic; Basic credentials round-trip, and a Bearer token is never empty.
#![no_main]
use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use base64::{engine::general_purpose::STANDARD, Engine};
use libfuzzer_sys::fuzz_target;
use signpost::http::auth::{credential, parse_authorization, Credential};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = HeaderValue::from_bytes(data) {
        for name in [AUTHORIZATION, COOKIE] {
            let mut headers = HeaderMap::new();
            headers.insert(name, value.clone());
            let _ = credential(&headers);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_authorization(text) {
        Ok(Credential::Basic { user, .. }) => assert!(!user.contains(':'), "{user:?}"),
        Ok(Credential::Bearer(token)) => assert!(!token.is_empty() && token == token.trim()),
        Ok(Credential::Cookie(_)) => panic!("a header is never a cookie"),
        Err(reason) => assert!(!reason.is_empty()),
    }
    if let Some((user, password)) = text.split_once(':') {
        let header = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        assert_eq!(
            parse_authorization(&header),
            Ok(Credential::Basic {
                user: user.to_owned(),
                password: password.to_owned()
            })
        );
    }
});
