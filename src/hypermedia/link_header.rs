//! RFC 8288 `Link` header rendering and parsing.
use super::resource::Link;

/// Renders links as one `Link` header value: `<uri>; rel="name", …`. URIs are written as given
/// (ours are percent-encoded paths); characters that would break out of `<…>` are encoded, and
/// relation names and titles are quoted with `"` and `\` escaped.
pub fn render<'a>(links: impl IntoIterator<Item = &'a Link>) -> String {
    let mut out = String::with_capacity(256);
    for link in links {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push('<');
        for c in link.href.chars() {
            match c {
                '<' => out.push_str("%3C"),
                '>' => out.push_str("%3E"),
                ',' => out.push_str("%2C"),
                '"' => out.push_str("%22"),
                ' ' => out.push_str("%20"),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
        out.push_str(">; rel=");
        quote(&mut out, &link.rel);
        if let Some(title) = &link.title {
            out.push_str("; title=");
            quote(&mut out, title);
        }
    }
    out
}

fn quote(out: &mut String, s: &str) {
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
