//! `Accept`: negotiation of any header value never panics, and adding `*/*;q=0` to a non-empty value
//! (it refuses everything not already asked for) never changes the choice.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signpost::representation::negotiate::{negotiate, negotiate_error, ErrorFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(accept) = std::str::from_utf8(data) else { return };
    let chosen = negotiate(Some(accept));
    if accept.trim().is_empty() {
        assert!(chosen.is_some(), "an empty Accept takes the default");
    }
    if !accept.trim().is_empty() {
        assert_eq!(negotiate(Some(&format!("{accept}, */*;q=0"))), chosen, "{accept:?}");
    }
    let error = negotiate_error(Some(accept));
    if chosen.is_none() {
        assert_ne!(
            error,
            ErrorFormat::Html,
            "a client refusing text/html gets no error page: {accept:?}"
        );
    }
});
