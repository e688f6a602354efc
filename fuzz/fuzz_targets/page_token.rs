//! `PageToken` (with `PageSize` and `Page`): any token decodes to a valid position or to
//! nothing, never a panic; what decodes is exactly the token the server would write for it
//! (tokens are canonical); the whole paging request answers a 400 at worst.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signpost::http::paging::{decode, encode, parse, MAX_SIZE};
use signpost::http::params::Params;
use signpost::store::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(cursor) = decode(text) {
        match cursor {
            Cursor::After(p) | Cursor::Before(p) => assert!(p >= 0),
            Cursor::First => panic!("no token decodes to the first page"),
        }
        // Tokens are canonical: the one that decoded is exactly the one the server would write.
        assert_eq!(encode(cursor).as_deref(), Some(text));
    }
    // Pieces separated by NUL: PageToken, PageSize, Page.
    let mut parts = text.splitn(3, '\0');
    let mut pairs = vec![("PageToken".to_owned(), parts.next().unwrap_or("").to_owned())];
    for name in ["PageSize", "Page"] {
        if let Some(v) = parts.next() {
            pairs.push((name.to_owned(), v.to_owned()));
        }
    }
    match parse(&Params::from_pairs(pairs)) {
        Ok(page) => assert!((1..=MAX_SIZE).contains(&page.window.size)),
        Err(e) => assert_eq!(e.status.as_u16(), 400, "{e}"),
    }
});
