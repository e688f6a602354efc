//! The human documentation in `docs/`, compiled into the binary and rendered from Markdown
//! with pulldown-cmark.
use include_dir::{include_dir, Dir};

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
    pulldown_cmark::html::push_html(&mut html, parser);
    // Links between pages are written as `page.md` so they work on GitHub too; served, they drop `.md`.
    let html = html.replace(".md\"", "\"");
    Some(Page { title, html })
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
