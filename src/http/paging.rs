//! Paging (CONTRACT §5): `PageSize` (1..1000, default 50), `Page`, and an opaque `PageToken`
//! that encodes a keyset position, so every page costs the same and walking `next_page_uri`
//! sees every item once even while new items arrive.
use super::params::Params;
use crate::error::ApiError;
use crate::hypermedia::model::Paging;
use crate::hypermedia::uris;
use crate::store::{Cursor, Slice, Window};

/// Default items per page.
pub const DEFAULT_SIZE: u32 = 50;
/// Most items per page.
pub const MAX_SIZE: u32 = 1000;

/// A parsed page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Page number (informational; Twilio's `page`).
    pub page: u32,
    /// The storage window.
    pub window: Window,
}

/// The shape of every token [`encode`] makes; every string of this shape decodes (the OpenAPI
/// document gives it as the `PageToken` pattern).
pub const TOKEN_PATTERN: &str = "^PA[ab][0-7][0-9a-f]{15}$";

/// Encodes a cursor as an opaque token: `PA`, the direction, the keyset position in 16 hex digits.
pub fn encode(cursor: Cursor) -> Option<String> {
    match cursor {
        Cursor::First => None,
        Cursor::After(p) => Some(format!("PAa{p:016x}")),
        Cursor::Before(p) => Some(format!("PAb{p:016x}")),
    }
}

/// Decodes a token made by [`encode`].
pub fn decode(token: &str) -> Option<Cursor> {
    let rest = token.strip_prefix("PA")?;
    let (dir, hex) = rest.split_at_checked(1)?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let pos = i64::from_str_radix(hex, 16).ok()?;
    match dir {
        "a" => Some(Cursor::After(pos)),
        "b" => Some(Cursor::Before(pos)),
        _ => None,
    }
}

/// Reads `PageSize`, `Page` and `PageToken`.
pub fn parse(q: &Params) -> Result<PageRequest, ApiError> {
    let size = match q.get("PageSize") {
        None => DEFAULT_SIZE,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_SIZE).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("PageSize must be a whole number from 1 to {MAX_SIZE}; got '{s}'")))?,
    };
    let page = match q.get("Page") {
        None => 0,
        Some(s) => s
            .parse::<u32>()
            .map_err(|_| ApiError::bad_request(format!("Page must be a whole number from 0; got '{s}'")))?,
    };
    let cursor = match q.get("PageToken") {
        None | Some("") => Cursor::First,
        Some(t) => decode(t)
            .ok_or_else(|| ApiError::bad_request("PageToken is not one this server issued; follow next_page_uri instead of building it"))?,
    };
    if cursor == Cursor::First && page > 0 {
        return Err(ApiError::bad_request(
            "Page greater than 0 needs the PageToken from the previous page; follow next_page_uri",
        ));
    }
    Ok(PageRequest {
        page,
        window: Window { size, cursor },
    })
}

/// Paging fields and links for a page of `slice`, at `base` with `filters` kept in every link.
pub fn paging<T>(base: &str, filters: &[(&str, String)], req: &PageRequest, slice: &Slice<T>) -> Paging {
    let size = req.window.size;
    let link = |page: u32, cursor: Cursor| {
        let mut q: Vec<(&str, String)> = filters.to_vec();
        q.push(("PageSize", size.to_string()));
        q.push(("Page", page.to_string()));
        if let Some(t) = encode(cursor) {
            q.push(("PageToken", t));
        }
        uris::with_query(base, &q)
    };
    let start = req.page.saturating_mul(size);
    Paging {
        page: req.page,
        page_size: size,
        start,
        end: (start + slice.items.len() as u32).saturating_sub(1).max(start),
        first_page_uri: link(0, Cursor::First),
        next_page_uri: slice
            .has_next
            .then(|| slice.last_pos.map(|p| link(req.page + 1, Cursor::After(p))))
            .flatten(),
        previous_page_uri: (slice.has_prev && req.page > 0)
            .then(|| {
                slice.first_pos.map(|p| {
                    if req.page == 1 {
                        link(0, Cursor::First)
                    } else {
                        link(req.page - 1, Cursor::Before(p))
                    }
                })
            })
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        for c in [Cursor::After(0), Cursor::After(123_456_789), Cursor::Before(42)] {
            assert_eq!(decode(&encode(c).unwrap()), Some(c));
        }
        for bad in [
            "",
            "PA",
            "PAxyz",
            "XXYTE=",
            "PA!!!",
            "PAYy0x",
            "PAa+000000000000005",
            "PAaffffffffffffffff",
            "PAc0000000000000005",
            "PAa00000000000000A5",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        let pattern = regex_lite_match;
        for c in [Cursor::After(0), Cursor::Before(i64::MAX)] {
            assert!(pattern(&encode(c).unwrap()), "tokens have the documented shape");
        }
    }

    /// `TOKEN_PATTERN`, spelled out: `PA`, `a` or `b`, one of `0-7`, fifteen lowercase hex digits.
    fn regex_lite_match(t: &str) -> bool {
        let b = t.as_bytes();
        b.len() == 19
            && t.starts_with("PA")
            && matches!(b[2], b'a' | b'b')
            && (b'0'..=b'7').contains(&b[3])
            && b[4..].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            && TOKEN_PATTERN == "^PA[ab][0-7][0-9a-f]{15}$"
    }

    #[test]
    fn page_size_bounds_are_enforced() {
        let q = |s: &str| Params::from_pairs(vec![("PageSize".into(), s.into())]);
        assert_eq!(parse(&q("1000")).unwrap().window.size, 1000);
        for bad in ["0", "1001", "-1", "ten", ""] {
            assert_eq!(parse(&q(bad)).unwrap_err().status.as_u16(), 400, "{bad}");
        }
        assert_eq!(parse(&Params::default()).unwrap().window.size, DEFAULT_SIZE);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every position, in both directions, survives the trip through a token.
        #[test]
        fn tokens_round_trip(pos in 0i64..=i64::MAX, after in any::<bool>()) {
            let cursor = if after { Cursor::After(pos) } else { Cursor::Before(pos) };
            let token = encode(cursor).unwrap();
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{}", token);
            prop_assert_eq!(decode(&token), Some(cursor));
        }

        /// Any text decodes to a valid position or to nothing; what decodes re-encodes to itself.
        #[test]
        fn forged_tokens_decode_to_nothing_or_a_valid_position(token in "(PA)?[A-Za-z0-9_=+/-]{0,24}|.{0,24}") {
            if let Some(cursor) = decode(&token) {
                prop_assert!(matches!(cursor, Cursor::After(p) | Cursor::Before(p) if p >= 0));
                prop_assert_eq!(decode(&encode(cursor).unwrap()), Some(cursor));
            }
        }

        /// Every string of the documented shape (`TOKEN_PATTERN`) decodes, to a position whose
        /// token is that same string.
        #[test]
        fn every_token_of_the_documented_shape_decodes(token in "PA[ab][0-7][0-9a-f]{15}") {
            let cursor = decode(&token);
            prop_assert!(cursor.is_some(), "{}", token);
            prop_assert_eq!(encode(cursor.unwrap()), Some(token));
        }

        /// `PageSize` is accepted exactly from 1 to 1000.
        #[test]
        fn page_size_is_bounded(size in any::<i64>()) {
            let q = Params::from_pairs(vec![("PageSize".into(), size.to_string())]);
            match parse(&q) {
                Ok(p) => prop_assert!((1..=MAX_SIZE as i64).contains(&size) && i64::from(p.window.size) == size),
                Err(e) => prop_assert!(!(1..=MAX_SIZE as i64).contains(&size) && e.status.as_u16() == 400),
            }
        }
    }
}
