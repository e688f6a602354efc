//! JSON bodies: any bytes give parameters or a 400, never a panic (deep nesting included);
//! accepted values hold no NUL. The same parameters sent as a form give the same pairs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signpost::http::params::parse_body;

fuzz_target!(|data: &[u8]| {
    match parse_body(Some("application/json; charset=utf-8"), data) {
        Ok(params) => {
            for (k, v) in params.pairs() {
                assert!(!v.contains('\0'), "NUL accepted in {k:?}");
            }
            if params.pairs().iter().all(|(k, _)| !k.contains('\0') && k != "_method") {
                let form = serde_urlencoded::to_string(params.pairs()).expect("pairs encode");
                let as_form = parse_body(Some("application/x-www-form-urlencoded"), form.as_bytes()).expect("the same pairs as a form");
                assert_eq!(as_form.pairs(), params.pairs());
            }
        }
        Err(e) => assert_eq!(e.status.as_u16(), 400, "{e}"),
    }
});
