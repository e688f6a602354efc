//! HAL (`application/hal+json`) and HAL-FORMS (`application/prs.hal-forms+json`): the same
//! properties as JSON plus `_links`, `_embedded` for collection items, and for HAL-FORMS one
//! `_templates` entry per action the caller may take.
use super::json::{open_props, write_str, write_subresource_uris};
use crate::hypermedia::resource::{Action, FieldKind, Link, Resource};
use serde_json::{json, Map, Value};

/// Renders HAL; with `forms`, HAL-FORMS.
pub fn render(r: &Resource, forms: bool, out: &mut Vec<u8>) {
    open_props(r, out);
    out.extend_from_slice(b"\"uri\":");
    write_str(out, &r.uri);
    out.push(b',');
    write_subresource_uris(r, out);
    out.extend_from_slice(b",\"_links\":");
    write_links(r, out);
    if let Some(items) = &r.items {
        out.extend_from_slice(b",\"_embedded\":{");
        write_str(out, items.key);
        out.extend_from_slice(b":[");
        for (i, item) in items.list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            render(item, false, out);
        }
        out.extend_from_slice(b"]}");
    }
    if forms && !r.actions.is_empty() {
        out.extend_from_slice(b",\"_templates\":");
        let _ = serde_json::to_writer(&mut *out, &templates(&r.actions));
    }
    out.push(b'}');
}

fn write_links(r: &Resource, out: &mut Vec<u8>) {
    // HAL keys are unique: a relation given twice becomes an array.
    let mut map: Map<String, Value> = Map::new();
    for Link { rel, href, title } in r.header_links() {
        let mut link = json!({ "href": href });
        if let Some(title) = title {
            link["title"] = Value::String(title.into_owned());
        }
        match map.get_mut(rel.as_ref()) {
            Some(Value::Array(a)) => a.push(link),
            Some(existing) => *existing = Value::Array(vec![existing.take(), link]),
            None => {
                map.insert(rel.into_owned(), link);
            }
        }
    }
    let _ = serde_json::to_writer(&mut *out, &map);
}

/// The `_templates` object for a set of actions.
pub fn templates(actions: &[Action]) -> Value {
    let mut map = Map::new();
    for a in actions {
        let properties: Vec<Value> = a
            .fields
            .iter()
            .map(|f| {
                let mut p = json!({ "name": f.name, "prompt": f.prompt, "required": f.required });
                if let Some(regex) = f.regex {
                    p["regex"] = json!(regex);
                }
                if let Some(value) = &f.value {
                    p["value"] = json!(value);
                }
                if let Some(n) = f.max_length {
                    p["maxLength"] = json!(n);
                }
                p["type"] = json!(f.kind);
                if f.kind == FieldKind::Hidden {
                    p["readOnly"] = json!(true);
                }
                if let Some(options) = &f.options {
                    let mut o = json!({ "inline": options, "maxItems": 1 });
                    if f.required {
                        o["minItems"] = json!(1);
                    }
                    if let Some(v) = &f.value {
                        o["selectedValues"] = json!([v]);
                    }
                    p["options"] = o;
                }
                p
            })
            .collect();
        let mut t = json!({ "title": a.title, "method": a.method, "target": a.target, "properties": properties });
        if !a.fields.is_empty() {
            t["contentType"] = json!("application/x-www-form-urlencoded");
        }
        map.insert(a.name.to_owned(), t);
    }
    Value::Object(map)
}
