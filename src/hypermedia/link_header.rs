//! RFC 8288 `Link` header rendering and parsing.
use super::resource::Link;

/// Renders links as one `Link` header value: `<uri>; rel="name", …`. URIs are written as given
/// (ours are percent-encoded paths); characters that would break out of `<…>` are encoded, and
/// relation names and titles are quoted with `"` and `\` escaped.
pub fn render<'a>(links: impl IntoIterator<Item = &'a Link>) -> String {
    let mut out = String::with_capacity(1024);
    for link in links {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push('<');
        push_href(&mut out, &link.href);
        out.push_str(">; rel=");
        quote(&mut out, &link.rel);
        if let Some(title) = &link.title {
            out.push_str("; title=");
            quote(&mut out, title);
        }
    }
    out
}

/// Appends `href` with `<`, `>`, `,`, `"` and space percent-encoded and control characters
/// dropped, copying the runs in between whole (this runs for every link of every response).
fn push_href(out: &mut String, href: &str) {
    let bytes = href.as_bytes();
    // Our own URIs have nothing to change: find that out without branching per byte (the
    // compiler vectorizes this), and copy them whole.
    let special = bytes.iter().fold(false, |any, &b| {
        any | (b <= b' ') | (b >= 0x7f) | (b == b'"') | (b == b',') | (b == b'<') | (b == b'>')
    });
    if !special {
        out.push_str(href);
        return;
    }
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (replacement, len) = match b {
            b'<' => ("%3C", 1),
            b'>' => ("%3E", 1),
            b',' => ("%2C", 1),
            b'"' => ("%22", 1),
            b' ' => ("%20", 1),
            0..=0x1f | 0x7f => ("", 1),
            // C1 controls (U+0080..U+009F) are two bytes in UTF-8: 0xC2 0x80..=0x9F.
            0xc2 if bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)) => ("", 2),
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte or at the first byte of a two-byte character: a char boundary.
        out.push_str(&href[run..i]);
        out.push_str(replacement);
        i += len;
        run = i;
    }
    out.push_str(&href[run..]);
}

fn quote(out: &mut String, s: &str) {
    // Relation names and titles rarely need escaping: copy those whole.
    let special = s
        .bytes()
        .fold(false, |any, b| any | (b < 0x20) | (b >= 0x7f) | (b == b'"') | (b == b'\\'));
    if !special {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out.push('"');
}

/// Parses a `Link` header value into (uri, rel) pairs; a link with several space-separated
/// relation types yields one pair per type. Malformed entries are skipped.
pub fn parse(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some(start) = rest.strip_prefix('<') else { break };
        let Some(end) = start.find('>') else { break };
        let uri = &start[..end];
        rest = &start[end + 1..];
        let mut rels = Vec::new();
        // Parameters up to the next top-level comma.
        while let Some(p) = rest.trim_start().strip_prefix(';') {
            let p = p.trim_start();
            let eq = p.find('=').unwrap_or(p.len());
            let name = p[..eq].trim().to_ascii_lowercase();
            let mut after = &p[eq..];
            let value: String;
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                if let Some(q) = v.strip_prefix('"') {
                    let mut s = String::new();
                    let mut chars = q.char_indices();
                    let mut consumed = q.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, n)) = chars.next() {
                                    s.push(n)
                                }
                            }
                            '"' => {
                                consumed = i + 1;
                                break;
                            }
                            c => s.push(c),
                        }
                    }
                    value = s;
                    after = &q[consumed..];
                } else {
                    let stop = v.find([';', ',']).unwrap_or(v.len());
                    value = v[..stop].trim().to_owned();
                    after = &v[stop..];
                }
            } else {
                value = String::new();
            }
            if name == "rel" {
                rels.extend(value.split_whitespace().map(str::to_owned));
            }
            rest = after;
        }
        out.extend(rels.into_iter().map(|r| (uri.to_owned(), r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(rel: &str, href: &str) -> Link {
        Link::new(rel.to_owned(), href.to_owned())
    }

    #[test]
    fn renders_several_relations_in_order() {
        let v = render(&[link("self", "/a.json"), link("media", "/a/Media.json")]);
        assert_eq!(v, r#"</a.json>; rel="self", </a/Media.json>; rel="media""#);
    }

    #[test]
    fn escapes_what_would_break_the_syntax() {
        let mut l = link("we\"ird", "/x?a=<b>,c d");
        l.title = Some("say \"hi\"".into());
        let v = render([&l]);
        assert_eq!(v, r#"</x?a=%3Cb%3E%2Cc%20d>; rel="we\"ird"; title="say \"hi\"""#);
        assert_eq!(parse(&v), vec![("/x?a=%3Cb%3E%2Cc%20d".to_owned(), "we\"ird".to_owned())]);
    }

    #[test]
    fn targets_drop_control_characters_and_keep_other_text() {
        let v = render([&link("x", "/a\tb\u{7f}c\u{85}d\u{a0}é€/<>")]);
        assert_eq!(v, "</abcd\u{a0}é€/%3C%3E>; rel=\"x\"");
    }

    #[test]
    fn parse_round_trips_render_and_splits_multiple_rels() {
        let v = render(&[link("self", "/"), link("next", "/m.json?PageToken=PAx&PageSize=2")]);
        assert_eq!(
            parse(&v),
            vec![
                ("/".into(), "self".into()),
                ("/m.json?PageToken=PAx&PageSize=2".into(), "next".into())
            ]
        );
        assert_eq!(
            parse(r#"</a>; rel="prev first"; type=x"#),
            vec![("/a".into(), "prev".into()), ("/a".into(), "first".into())]
        );
        assert_eq!(parse("garbage"), vec![]);
        assert_eq!(
            parse("</a>;rel=next,</b>; rel=last"),
            vec![("/a".into(), "next".into()), ("/b".into(), "last".into())]
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn link() -> impl Strategy<Value = Link> {
        // Targets as the server writes them; titles with the characters that could break parsing.
        (
            "[a-z][a-z0-9.-]{0,12}",
            "/[A-Za-z0-9/._~?&=%-]{0,40}",
            proptest::option::of("[ -~]{0,20}"),
        )
            .prop_map(|(rel, href, title)| {
                let mut l = Link::new(rel, href);
                l.title = title.map(Into::into);
                l
            })
    }

    proptest! {
        /// Rendering links and parsing the header gives back every (target, relation), in order,
        /// whatever their titles hold (quotes, backslashes, commas, semicolons).
        #[test]
        fn render_then_parse_round_trips(links in prop::collection::vec(link(), 0..8)) {
            let expected: Vec<(String, String)> = links.iter().map(|l| (l.href.clone(), l.rel.to_string())).collect();
            prop_assert_eq!(parse(&render(&links)), expected);
        }

        /// Any text parses without a panic into relations without whitespace and targets without `>`.
        #[test]
        fn any_text_parses_safely(text in ".{0,80}|[<>;,=\" a-z]{0,80}") {
            for (uri, rel) in parse(&text) {
                prop_assert!(!rel.is_empty() && !rel.contains(char::is_whitespace));
                prop_assert!(!uri.contains('>'));
            }
        }
    }
}
