//! Twilio-style JSON: the resource's properties, its items under their key, `uri` and
//! `subresource_uris` (CONTRACT §2, §5).
use crate::hypermedia::resource::Resource;

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // Most strings (URIs, relation names) need no escaping: find that out without a branch per
    // byte, and copy them whole; the others go through serde_json.
    let plain = !s.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Opens the resource's properties object for more members: writes `{…props` and a comma if
/// there were any, leaving the object open.
pub fn open_props(r: &Resource, out: &mut Vec<u8>) {
    let start = out.len();
    r.props.write_json(out);
    out.pop(); // the closing brace
    if out.len() > start + 1 {
        out.push(b',');
    }
}

/// Writes `"subresource_uris":{…}`.
pub fn write_subresource_uris(r: &Resource, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\"subresource_uris\":{");
    for (i, link) in r.relations.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, &link.rel);
        out.push(b':');
        write_str(out, &link.href);
    }
    out.push(b'}');
}

/// Renders a resource as Twilio JSON.
pub fn render(r: &Resource, out: &mut Vec<u8>) {
    open_props(r, out);
    if let Some(items) = &r.items {
        write_str(out, items.key);
        out.extend_from_slice(b":[");
        for (i, item) in items.list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            render(item, out);
        }
        out.extend_from_slice(b"],");
    }
    out.extend_from_slice(b"\"uri\":");
    write_str(out, &r.uri);
    out.push(b',');
    write_subresource_uris(r, out);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn props_uri_and_subresource_uris_share_one_object() {
        #[derive(serde::Serialize)]
        struct P {
            a: u32,
        }
        let r = Resource::new("x", "x", "/x.json".into(), P { a: 1 }).relation("m", "/x/m.json".into());
        let mut out = Vec::new();
        render(&r, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "uri": "/x.json", "subresource_uris": {"m": "/x/m.json"}})
        );
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_does() {
        for s in ["/a/b.json", "", "say \"hi\"", "back\\slash", "tab\there", "\u{1}\u{1f}\u{7f}é€😀"] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn empty_props_still_make_valid_json() {
        #[derive(serde::Serialize)]
        struct Empty {}
        let r = Resource::new("x", "x", "/".into(), Empty {});
        let mut out = Vec::new();
        render(&r, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, serde_json::json!({"uri": "/", "subresource_uris": {}}));
    }
}
