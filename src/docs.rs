//! The human documentation in `docs/`, compiled into the binary and rendered from Markdown
//! with pulldown-cmark.
use include_dir::{include_dir, Dir};
use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

static DOCS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/docs");

/// A rendered page: its title (the first heading) and HTML body.
pub struct Page {
    /// The first `# ` heading.
    pub title: String,
    /// The HTML.
    pub html: String,
}

/// The Markdown source of `docs/<path>.md`.
pub fn source(path: &str) -> Option<&'static str> {
    if path.contains("..") || path.starts_with('/') {
        return None;
    }
    DOCS.get_file(format!("{path}.md")).and_then(|f| f.contents_utf8())
}

/// Renders `docs/<path>.md`.
pub fn page(path: &str) -> Option<Page> {
    let md = source(path)?;
    let title = md.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or(path).trim().to_owned();
    let mut html = String::with_capacity(md.len() * 2);
    let parser = pulldown_cmark::Parser::new_ext(
        md,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    let mut events: Vec<Event<'_>> = parser
        .map(|event| match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: served_link(dest_url),
                title,
                id,
            }),
            other => other,
        })
        .collect();
    name_headings(&mut events);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    Some(Page { title, html })
}

/// Gives every heading the id GitHub gives it (`## Start-up checks` -> `start-up-checks`), so
/// that `page.md#section` links land on their section when served too.
fn name_headings(events: &mut [Event<'_>]) {
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { id: None, .. }) = &events[i] {
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(slug(&text).into());
            }
        }
        i += 1;
    }
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces become hyphens.
fn slug(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_lowercase().next().unwrap_or(c)),
            _ => None,
        })
        .collect()
}

/// Links between pages are written as `page.md` (with an optional `#fragment`) so that they
/// work on GitHub too; served, the pages drop `.md`. Absolute URLs are left alone.
fn served_link(dest: CowStr<'_>) -> CowStr<'_> {
    if dest.contains("://") || dest.starts_with("mailto:") {
        return dest;
    }
    let (path, fragment) = dest.split_once('#').map_or((&*dest, None), |(p, f)| (p, Some(f)));
    match (path.strip_suffix(".md"), fragment) {
        (Some(stem), Some(fragment)) => format!("{stem}#{fragment}").into(),
        (Some(stem), None) => stem.to_owned().into(),
        (None, _) => dest,
    }
}

/// The guide's pages (`docs/*.md` but the index), by name.
pub fn pages() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = DOCS
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
        .filter_map(|f| f.path().file_stem()?.to_str())
        .filter(|n| *n != "index")
        .collect();
    names.sort_unstable();
    names
}

/// The error codes that have a page.
pub fn error_codes() -> Vec<u32> {
    let mut codes: Vec<u32> = DOCS
        .get_dir("errors")
        .map(|d| d.files().filter_map(|f| f.path().file_stem()?.to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    codes.sort_unstable();
    codes
}

#[cfg(test)]
mod tests {
    use super::served_link;

    #[test]
    fn page_links_drop_md_and_keep_their_fragment() {
        assert_eq!(&*served_link("reliability.md".into()), "reliability");
        assert_eq!(
            &*served_link("reliability.md#start-up-checks".into()),
            "reliability#start-up-checks"
        );
        assert_eq!(&*served_link("../http.md#etags".into()), "../http#etags");
        assert_eq!(&*served_link("#local".into()), "#local");
        assert_eq!(&*served_link("https://example.com/a.md".into()), "https://example.com/a.md");
        assert_eq!(&*served_link("/2010-04-01/Accounts.json".into()), "/2010-04-01/Accounts.json");
    }

    #[test]
    fn headings_get_githubs_anchors() {
        let page = super::page("reliability").expect("docs/reliability.md");
        assert!(page.html.contains(r#"<h2 id="start-up-checks">"#), "{}", &page.html[..400]);
        assert_eq!(super::slug("Status codes & `ETag`s"), "status-codes--etags");
    }
}
