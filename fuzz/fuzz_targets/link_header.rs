//! `Link` headers: parsing any text never panics and yields non-empty relation names without
//! whitespace; rendering any links and parsing the result gives back each link's (escaped)
//! target once per relation word.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signpost::hypermedia::link_header::{parse, render};
use signpost::hypermedia::resource::Link;

/// What `render` writes for a target: the characters that would break `<…>` escaped, controls dropped.
fn escaped(href: &str) -> String {
    href.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '<' => "%3C".to_owned(),
            '>' => "%3E".to_owned(),
            ',' => "%2C".to_owned(),
            '"' => "%22".to_owned(),
            ' ' => "%20".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for (uri, rel) in parse(text) {
        assert!(!rel.is_empty() && !rel.contains(char::is_whitespace), "{rel:?}");
        assert!(!uri.contains('>'), "{uri:?}");
    }
    // Lines of "rel<TAB>href" as links to render.
    let links: Vec<Link> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(rel, href)| Link::new(rel.to_owned(), href.to_owned()))
        .collect();
    let header = render(&links);
    let expected: Vec<(String, String)> = links
        .iter()
        .flat_map(|l| {
            let rel: String = l.rel.chars().filter(|c| !c.is_control()).collect();
            let href = escaped(&l.href);
            rel.split_whitespace()
                .map(move |r| (href.clone(), r.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(parse(&header), expected, "header {header:?}");
});
