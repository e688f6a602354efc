//! HTML pages: the same resource model as JSON and HAL-FORMS, rendered with minijinja
//! (auto-escaping on) from `templates/`. Every relation is a link with its rel name shown,
//! every action is a form. Forms can only GET or POST, so other methods travel as
//! `?_method=DELETE` on a POST, which the gate honours only for same-origin form posts.
//! A browser's form post is answered Post/Redirect/Get ([`is_browser_form_post`], [`see_other`]),
//! so that reloading the page it lands on does not send the form again.
use crate::hypermedia::link_header;
use crate::hypermedia::model;
use crate::hypermedia::resource::{Action, FieldKind, Link, Resource};
use crate::hypermedia::uris;
use crate::representation::negotiate::{negotiate, Format};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};
use minijinja::{context, Environment};
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::macros::format_description;
use time::OffsetDateTime;

/// Request facts a page needs beyond the resource.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PageContext {
    /// The signed-in account, if any.
    pub account: Option<String>,
    /// The session URI, when signed in with the browser (for the sign-out button).
    pub session_uri: Option<String>,
    /// Whether anyone may create an account (a 401 page then offers it beside sign-in).
    pub open_signup: bool,
}

/// The links in every page's header.
#[derive(Serialize)]
struct Nav {
    root: &'static str,
    docs: &'static str,
    accounts: &'static str,
    messages: &'static str,
    sessions: &'static str,
}

const NAV: Nav = Nav {
    root: uris::ROOT,
    docs: uris::DOCS,
    accounts: uris::ACCOUNTS,
    messages: uris::MY_MESSAGES,
    sessions: uris::SESSIONS,
};

/// Whether a request is a form a browser submitted (any method but GET, after the `_method`
/// override) and that wants a page back.
pub fn is_browser_form_post(req: &HttpRequest) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return false;
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("multipart/form-data")
        });
    let html = negotiate(req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok())) == Some(Format::Html);
    form && html && !matches!(*req.method(), Method::GET | Method::HEAD)
}

/// The answer to a browser's form post: `303 See Other` to the page showing the result
/// (Post/Redirect/Get), keeping `headers` (a session cookie being set or cleared).
pub fn see_other(req: &HttpRequest, to: &str, headers: Vec<(HeaderName, String)>) -> HttpResponse {
    let mut b = HttpResponse::SeeOther();
    b.insert_header((header::LOCATION, to)).insert_header((
        header::LINK,
        link_header::render(&[Link::new("self", req.path().to_owned()), Link::new("related", to.to_owned())]),
    ));
    for h in headers {
        b.append_header(h);
    }
    b.finish()
}

/// Where a browser goes after deleting something: the `start` link (signing out), else `up`.
pub fn after_delete(links: &[Link]) -> &str {
    let by = |rel: &str| links.iter().find(|l| l.rel == rel).map(|l| l.href.as_str());
    by("start").or_else(|| by("up")).unwrap_or(uris::ROOT)
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template("layout.html", include_str!("../../templates/layout.html"))
            .expect("layout template");
        env.add_template("resource.html", include_str!("../../templates/resource.html"))
            .expect("resource template");
        env.add_template("error.html", include_str!("../../templates/error.html"))
            .expect("error template");
        env.add_template("doc.html", include_str!("../../templates/doc.html"))
            .expect("doc template");
        env.add_template("form.html", include_str!("../../templates/form.html"))
            .expect("form template");
        env
    })
}

#[derive(Serialize)]
struct FieldView {
    name: &'static str,
    prompt: &'static str,
    required: bool,
    pattern: Option<&'static str>,
    options: Option<Vec<&'static str>>,
    value: Option<String>,
    kind: FieldKind,
    multiple: bool,
    max_length: Option<u32>,
}

#[derive(Serialize)]
struct FormView {
    name: &'static str,
    title: &'static str,
    method: &'static str,
    action: String,
    fields: Vec<FieldView>,
}

fn form(a: &Action) -> FormView {
    let action = if a.method == "POST" || a.method == "GET" {
        a.target.clone()
    } else {
        let sep = if a.target.contains('?') { '&' } else { '?' };
        format!("{}{sep}_method={}", a.target, a.method)
    };
    FormView {
        name: a.name,
        title: a.title,
        method: if a.method == "GET" { "get" } else { "post" },
        action,
        fields: a
            .fields
            .iter()
            .map(|f| FieldView {
                name: f.name,
                prompt: f.prompt,
                required: f.required,
                pattern: f.regex.map(|r| r.trim_start_matches('^').trim_end_matches('$')),
                options: f.options.clone(),
                value: f.value.clone(),
                kind: f.kind,
                multiple: f.multiple,
                max_length: f.max_length,
            })
            .collect(),
    }
}

/// A value as a page shows it: timestamps become a `<time>` (ISO in `datetime`, a short UTC
/// form as text, Twilio's RFC 2822 string as the tooltip).
#[derive(Serialize)]
struct Cell {
    value: Value,
    time: Option<(String, String)>,
}

fn cell(name: &str, value: Value) -> Cell {
    let time = match &value {
        Value::String(s) if name.starts_with("date_") => OffsetDateTime::parse(s, &Rfc2822).ok().and_then(|t| {
            let short = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
            Some((t.format(&Rfc3339).ok()?, t.format(&short).ok()?))
        }),
        _ => None,
    };
    Cell { value, time }
}

#[derive(Serialize)]
struct Row {
    name: String,
    cell: Cell,
    href: Option<String>,
}

fn rows(props: Value) -> Vec<Row> {
    match props {
        Value::Object(map) => map
            .into_iter()
            .filter(|(k, _)| k != "meta")
            .map(|(name, value)| {
                let href = match &value {
                    Value::String(s) if s.starts_with('/') && name.ends_with("uri") => Some(s.clone()),
                    _ => None,
                };
                Row {
                    cell: cell(&name, value),
                    name,
                    href,
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Serialize)]
struct ItemView {
    uri: String,
    title: String,
    cells: Vec<Cell>,
}

/// Columns shown in collection tables, by item kind.
fn columns(kind: &str) -> &'static [&'static str] {
    match kind {
        "message" => &["date_created", "direction", "from", "to", "status", "body"],
        "account" => &["sid", "friendly_name", "status", "date_created"],
        "session" => &["sid", "date_created", "date_expires"],
        "media" => &["sid", "content_type", "date_created"],
        _ => &["sid"],
    }
}

/// The paging links of a collection page, in reading order, for the pager under its table.
fn paging(extra: &[Link]) -> Vec<(&str, &str)> {
    ["first", "prev", "next"]
        .into_iter()
        .filter_map(|rel| extra.iter().find(|l| l.rel == rel).map(|l| (rel, l.href.as_str())))
        .collect()
}

/// Renders a resource page.
pub fn render(r: &Resource, ctx: &PageContext) -> Vec<u8> {
    let (columns, items) = match &r.items {
        Some(items) => {
            let kind = items.list.first().map(|i| i.kind).unwrap_or("");
            let cols = columns(kind);
            let list: Vec<ItemView> = items
                .list
                .iter()
                .map(|i| {
                    let v = i.props.to_value();
                    ItemView {
                        uri: i.uri.clone(),
                        title: i.title.clone(),
                        cells: cols.iter().map(|c| cell(c, v.get(*c).cloned().unwrap_or(Value::Null))).collect(),
                    }
                })
                .collect();
            (cols.to_vec(), Some(list))
        }
        None => (Vec::new(), None),
    };
    let relations: Vec<(String, String)> = r.relations.iter().map(|l| (l.rel.to_string(), l.href.clone())).collect();
    let extra: Vec<(String, String)> = r.extra.iter().map(|l| (l.rel.to_string(), l.href.clone())).collect();
    let forms: Vec<FormView> = r.actions.iter().map(form).collect();
    let page = env().get_template("resource.html").and_then(|t| {
        t.render(context! {
            title => r.title, uri => r.uri, kind => r.kind, rows => rows(r.props.to_value()),
            relations => relations, extra => extra, forms => forms, columns => columns, items => items,
            notice => r.notice, ctx => ctx, nav => NAV, paging => paging(&r.extra),
        })
    });
    page.unwrap_or_else(|e| {
        tracing::error!("page template failed: {e}");
        "<!doctype html><title>signpost</title><p>This page could not be rendered.</p>".into()
    })
    .into_bytes()
}

/// Renders an error page. A 401 page offers the sign-in form (and sign-up, when open) right
/// there: it is what a browser reaches by following any protected link while signed out.
pub fn render_error(
    status: u16,
    code: u32,
    message: &str,
    more_info: &str,
    links: &[(String, String)],
    request_id: &str,
    ctx: &PageContext,
) -> Vec<u8> {
    let forms: Vec<FormView> = if status == 401 {
        model::sign_in_or_up(ctx.open_signup).iter().map(form).collect()
    } else {
        Vec::new()
    };
    let title = match status {
        401 => "Sign in to continue".to_owned(),
        _ => format!("Error {code}"),
    };
    env()
        .get_template("error.html")
        .and_then(|t| {
            t.render(context! {
                title => title, status => status, code => code, message => message,
                more_info => more_info, links => links, request_id => request_id, ctx => ctx,
                forms => forms, nav => NAV,
            })
        })
        .unwrap_or_else(|_| format!("<!doctype html><title>Error {code}</title><p>{status}</p>"))
        .into_bytes()
}

/// Renders a documentation page (Markdown already converted to HTML, from our own docs/).
pub fn render_doc(title: &str, body_html: &str, ctx: &PageContext) -> Vec<u8> {
    env()
        .get_template("doc.html")
        .and_then(|t| {
            t.render(context! { title => title, body => minijinja::Value::from_safe_string(body_html.to_owned()), ctx => ctx, nav => NAV })
        })
        .unwrap_or_else(|_| "<!doctype html><title>signpost docs</title>".into())
        .into_bytes()
}
