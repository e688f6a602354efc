//! Paging (CONTRACT §5): `PageSize` (1..1000, default 50), `Page`, and an opaque `PageToken`
//! that encodes a keyset position, so every page costs the same and walking `next_page_uri`
//! sees every item once even while new items arrive.
use super::params::Params;
use crate::error::ApiError;
use crate::hypermedia::model::Paging;
use crate::hypermedia::uris;
use crate::store::{Cursor, Slice, Window};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

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

/// Encodes a cursor as an opaque token.
pub fn encode(cursor: Cursor) -> Option<String> {
    let raw = match cursor {
        Cursor::First => return None,
        Cursor::After(p) => format!("a{p}"),
        Cursor::Before(p) => format!("b{p}"),
    };
    Some(format!("PA{}", URL_SAFE_NO_PAD.encode(raw)))
}

/// Decodes a token made by [`encode`].
pub fn decode(token: &str) -> Option<Cursor> {
    let raw = URL_SAFE_NO_PAD.decode(token.strip_prefix("PA")?).ok()?;
    let raw = std::str::from_utf8(&raw).ok()?;
    let (dir, pos) = raw.split_at_checked(1)?;
    let pos: i64 = pos.parse().ok().filter(|p| *p >= 0)?;
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
        for bad in ["", "PA", "PAxyz", "XXYTE=", "PA!!!", "PAYy0x"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode(&format!("PA{}", URL_SAFE_NO_PAD.encode("a-5"))), None);
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
