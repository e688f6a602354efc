//! Content negotiation on `Accept` (CONTRACT §3), with quality values, in one function.

/// A representation the server can produce for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Twilio-style JSON (the default).
    Json,
    /// `application/vnd.signpost+json; version=1`: the JSON representation under our own type.
    Vendor,
    /// `application/hal+json`.
    Hal,
    /// `application/prs.hal-forms+json`.
    HalForms,
    /// `text/html`.
    Html,
}

impl Format {
    /// The `Content-Type` of the representation.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Vendor => "application/vnd.signpost+json; version=1",
            Format::Hal => "application/hal+json",
            Format::HalForms => "application/prs.hal-forms+json",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// A short tag distinguishing representations in ETags.
    pub fn tag(self) -> &'static str {
        match self {
            Format::Json => "j",
            Format::Vendor => "v",
            Format::Hal => "h",
            Format::HalForms => "f",
            Format::Html => "w",
        }
    }
}

/// The media types on offer for resources, in the server's order of preference.
pub const OFFERED: [&str; 5] = [
    "application/json",
    "application/hal+json",
    "application/prs.hal-forms+json",
    "text/html",
    "application/vnd.signpost+json; version=1",
];

/// How an error body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// Twilio's `{status, code, message, more_info}` (+ `uri`, `subresource_uris`).
    Twilio,
    /// RFC 9457 `application/problem+json` with the same members added.
    Problem,
    /// A page, for browsers.
    Html,
}

struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    version: Option<&'a str>,
    q: f32,
}

fn parse(accept: &str) -> Vec<Range<'_>> {
    accept
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let (kind, subtype) = parts.next()?.trim().split_once('/')?;
            let (mut q, mut version) = (1.0f32, None);
            for p in parts {
                let Some((name, value)) = p.split_once('=') else { continue };
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?,
                    "version" => version = Some(value),
                    _ => {}
                }
            }
            Some(Range {
                kind: kind.trim(),
                subtype: subtype.trim(),
                version,
                q,
            })
        })
        .collect()
}

/// The quality the client gives `offer` (`type/subtype`, optional version): the q of the most
/// specific matching range, or `None` when no range matches.
fn quality(ranges: &[Range], kind: &str, subtype: &str, version: Option<&str>) -> Option<f32> {
    let mut best: Option<(u8, f32)> = None;
    for r in ranges {
        let specificity = if r.kind == "*" && r.subtype == "*" {
            0
        } else if r.kind.eq_ignore_ascii_case(kind) && r.subtype == "*" {
            1
        } else if r.kind.eq_ignore_ascii_case(kind) && r.subtype.eq_ignore_ascii_case(subtype) {
            match (r.version, version) {
                (Some(asked), Some(have)) if asked != have => continue,
                (Some(_), None) => continue,
                (Some(_), Some(_)) => 3,
                _ => 2,
            }
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, r.q));
        }
    }
    best.map(|(_, q)| q)
}

fn choose<T: Copy>(accept: Option<&str>, offers: &[(T, &str, &str, Option<&str>)]) -> Option<T> {
    let accept = accept.map(str::trim).filter(|a| !a.is_empty());
    let Some(accept) = accept else { return offers.first().map(|o| o.0) };
    let ranges = parse(accept);
    let mut best: Option<(T, f32)> = None;
    for &(value, kind, subtype, version) in offers {
        if let Some(q) = quality(&ranges, kind, subtype, version) {
            if q > 0.0 && best.as_ref().is_none_or(|(_, bq)| q > *bq) {
                best = Some((value, q));
            }
        }
    }
    best.map(|b| b.0)
}

/// Picks the representation for a resource; `None` means 406.
pub fn negotiate(accept: Option<&str>) -> Option<Format> {
    // What API clients send, answered without parsing (the same answer `choose` gives).
    match accept.map(str::trim) {
        None | Some("" | "*/*") => return Some(Format::Json),
        Some(a) if a.eq_ignore_ascii_case("application/json") => return Some(Format::Json),
        _ => {}
    }
    const OFFERS: [(Format, &str, &str, Option<&str>); 5] = [
        (Format::Json, "application", "json", None),
        (Format::Hal, "application", "hal+json", None),
        (Format::HalForms, "application", "prs.hal-forms+json", None),
        (Format::Html, "text", "html", None),
        (Format::Vendor, "application", "vnd.signpost+json", Some("1")),
    ];
    choose(accept, &OFFERS)
}

/// Picks the error body format: Twilio JSON unless the client prefers problem+json or HTML.
pub fn negotiate_error(accept: Option<&str>) -> ErrorFormat {
    const OFFERS: [(ErrorFormat, &str, &str, Option<&str>); 3] = [
        (ErrorFormat::Twilio, "application", "json", None),
        (ErrorFormat::Problem, "application", "problem+json", None),
        (ErrorFormat::Html, "text", "html", None),
    ];
    choose(accept, &OFFERS).unwrap_or(ErrorFormat::Twilio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_json() {
        assert_eq!(negotiate(None), Some(Format::Json));
        assert_eq!(negotiate(Some("")), Some(Format::Json));
        assert_eq!(negotiate(Some("*/*")), Some(Format::Json));
        assert_eq!(negotiate(Some("application/*")), Some(Format::Json));
        assert_eq!(negotiate(Some(" Application/JSON ")), Some(Format::Json));
    }

    #[test]
    fn each_offered_type_is_chosen_when_asked_for() {
        assert_eq!(negotiate(Some("application/hal+json")), Some(Format::Hal));
        assert_eq!(negotiate(Some("application/prs.hal-forms+json")), Some(Format::HalForms));
        assert_eq!(negotiate(Some("text/html")), Some(Format::Html));
        assert_eq!(negotiate(Some("application/vnd.signpost+json; version=1")), Some(Format::Vendor));
        assert_eq!(negotiate(Some("application/vnd.signpost+json")), Some(Format::Vendor));
    }

    #[test]
    fn quality_values_are_honoured() {
        assert_eq!(negotiate(Some("application/json;q=0.5, application/hal+json")), Some(Format::Hal));
        assert_eq!(negotiate(Some("application/hal+json;q=0.1, */*;q=0.2")), Some(Format::Json));
        // A browser.
        assert_eq!(
            negotiate(Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")),
            Some(Format::Html)
        );
        // q=0 means "not this".
        assert_eq!(
            negotiate(Some("application/json;q=0, application/hal+json;q=0.3")),
            Some(Format::Hal)
        );
    }

    #[test]
    fn unknown_types_and_versions_are_not_acceptable() {
        assert_eq!(negotiate(Some("application/xml")), None);
        assert_eq!(negotiate(Some("application/vnd.signpost+json; version=2")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
        assert_eq!(negotiate(Some("garbage")), None);
    }

    #[test]
    fn errors_default_to_twilio_json() {
        assert_eq!(negotiate_error(None), ErrorFormat::Twilio);
        assert_eq!(negotiate_error(Some("application/json")), ErrorFormat::Twilio);
        assert_eq!(negotiate_error(Some("application/xml")), ErrorFormat::Twilio);
        assert_eq!(negotiate_error(Some("application/problem+json")), ErrorFormat::Problem);
        assert_eq!(negotiate_error(Some("text/html,*/*;q=0.8")), ErrorFormat::Html);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const TYPES: [(&str, Format); 5] = [
        ("application/json", Format::Json),
        ("application/hal+json", Format::Hal),
        ("application/prs.hal-forms+json", Format::HalForms),
        ("text/html", Format::Html),
        ("application/vnd.signpost+json; version=1", Format::Vendor),
    ];

    proptest! {
        /// With distinct quality values, the offered type the client rates highest wins, in any
        /// order, whatever unknown types are listed beside it, and whatever the letter case.
        #[test]
        fn the_highest_rated_type_wins(
            order in Just((0..TYPES.len()).collect::<Vec<_>>()).prop_shuffle(),
            qs in prop::collection::btree_set(1u32..=1000, TYPES.len()),
            unknown in "[a-z]{1,8}/[a-z]{1,8}",
            upper in any::<bool>(),
        ) {
            let qs: Vec<u32> = qs.into_iter().collect();
            let mut entries: Vec<String> = order.iter().map(|&i| format!("{};q={}", TYPES[i].0, qs[i] as f32 / 1000.0)).collect();
            entries.push(format!("{unknown};q=1"));
            let mut accept = entries.join(", ");
            if upper {
                accept = accept.to_ascii_uppercase().replace("VERSION=1", "version=1");
            }
            let best = (0..TYPES.len()).max_by_key(|&i| qs[i]).unwrap();
            prop_assert_eq!(negotiate(Some(&accept)), Some(TYPES[best].1), "{}", accept);
        }

        /// `*/*;q=0` refuses only what was not already asked for: adding it changes nothing.
        #[test]
        fn refusing_everything_else_changes_nothing(accept in "[a-z*/+.;=0-9, ]{0,60}") {
            prop_assume!(!accept.trim().is_empty());
            prop_assert_eq!(negotiate(Some(&format!("{accept}, */*;q=0"))), negotiate(Some(&accept)));
        }

        /// Any header value negotiates without a panic, for resources and for errors.
        #[test]
        fn any_accept_is_safe(accept in ".{0,80}") {
            let _ = negotiate(Some(&accept));
            let _ = negotiate_error(Some(&accept));
        }
    }
}
