//! Form bodies (`application/x-www-form-urlencoded`): any bytes give parameters or a 400, never
//! a panic; accepted parameters hold no NUL and no `_method`, and re-encoding them parses back
//! to the same pairs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signpost::http::params::parse_body;

fuzz_target!(|data: &[u8]| {
    match parse_body(Some("application/x-www-form-urlencoded"), data) {
        Ok(params) => {
            for (k, v) in params.pairs() {
                assert!(!k.contains('\0') && !v.contains('\0'), "NUL accepted: {k:?}={v:?}");
                assert_ne!(k, "_method", "_method is the gate's, never a parameter");
            }
            let again = serde_urlencoded::to_string(params.pairs()).expect("pairs encode");
            let reparsed = parse_body(Some("application/x-www-form-urlencoded"), again.as_bytes()).expect("re-encoded form parses");
            assert_eq!(reparsed.pairs(), params.pairs());
        }
        Err(e) => assert_eq!(e.status.as_u16(), 400, "{e}"),
    }
});
