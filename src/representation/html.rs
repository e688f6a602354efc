//! HTML pages: the same resource model as JSON and HAL-FORMS, rendered with minijinja
//! (auto-escaping on) from `templates/`. Every relation is a link with its rel name shown,
//! every action is a form. Forms can only GET or POST, so other methods travel as
//! `?_method=DELETE` on a POST, which the gate honours only for same-origin form posts.
use crate::hypermedia::resource::{Action, FieldKind, Resource};
use minijinja::{context, Environment};
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;

/// Request facts a page needs beyond the resource.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PageContext {
    /// The signed-in account, if any.
    pub account: Option<String>,
    /// The session URI, when signed in with the browser (for the sign-out button).
    pub session_uri: Option<String>,
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

#[derive(Serialize)]
struct Row {
    name: String,
    value: Value,
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
                Row { name, value, href }
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Serialize)]
struct ItemView {
    uri: String,
    title: String,
    cells: Vec<Value>,
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
                        cells: cols.iter().map(|c| v.get(*c).cloned().unwrap_or(Value::Null)).collect(),
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
            notice => r.notice, ctx => ctx,
        })
    });
    page.unwrap_or_else(|e| {
        tracing::error!("page template failed: {e}");
        "<!doctype html><title>signpost</title><p>This page could not be rendered.</p>".into()
    })
    .into_bytes()
}

/// Renders an error page.
pub fn render_error(
    status: u16,
    code: u32,
    message: &str,
    more_info: &str,
    links: &[(String, String)],
    request_id: &str,
    ctx: &PageContext,
) -> Vec<u8> {
    env()
        .get_template("error.html")
        .and_then(|t| {
            t.render(context! {
                title => format!("Error {code}"), status => status, code => code, message => message,
                more_info => more_info, links => links, request_id => request_id, ctx => ctx,
            })
        })
        .unwrap_or_else(|_| format!("<!doctype html><title>Error {code}</title><p>{status}</p>"))
        .into_bytes()
}

/// Renders a documentation page (Markdown already converted to HTML, from our own docs/).
pub fn render_doc(title: &str, body_html: &str, ctx: &PageContext) -> Vec<u8> {
    env()
        .get_template("doc.html")
        .and_then(|t| t.render(context! { title => title, body => minijinja::Value::from_safe_string(body_html.to_owned()), ctx => ctx }))
        .unwrap_or_else(|_| "<!doctype html><title>signpost docs</title>".into())
        .into_bytes()
}
