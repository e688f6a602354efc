//! The resource model every handler returns and every renderer reads.
use serde::Serialize;
use std::borrow::Cow;

/// A typed link: a relation name and a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The relation name (`self`, `messages`, `next`, …).
    pub rel: Cow<'static, str>,
    /// A server-relative URI.
    pub href: String,
    /// An optional human title.
    pub title: Option<Cow<'static, str>>,
}

impl Link {
    /// A link without a title.
    pub fn new(rel: impl Into<Cow<'static, str>>, href: String) -> Link {
        Link {
            rel: rel.into(),
            href,
            title: None,
        }
    }
}

/// Properties of a resource: anything serializable as a JSON object.
pub trait Properties: Send + 'static {
    /// Appends the JSON object (`{…}`) to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
    /// The object as a JSON value (for the HTML renderer).
    fn to_value(&self) -> serde_json::Value;
}

impl<T: Serialize + Send + 'static> Properties for T {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Serializing plain data structs into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
    }

    fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// What kind of input a form field takes (HTML input type; HAL-FORMS `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines.
    Textarea,
    /// A phone number.
    Tel,
    /// A URL.
    Url,
    /// A secret.
    Password,
    /// A date-time.
    #[serde(rename = "datetime-local")]
    DateTime,
    /// A fixed value the user does not edit.
    Hidden,
}

/// One input of an action.
#[derive(Debug, Clone)]
pub struct Field {
    /// The parameter name (Twilio's PascalCase).
    pub name: &'static str,
    /// The label.
    pub prompt: &'static str,
    /// Must be given.
    pub required: bool,
    /// A pattern the value must match.
    pub regex: Option<&'static str>,
    /// The allowed values.
    pub options: Option<Vec<&'static str>>,
    /// A pre-filled value.
    pub value: Option<String>,
    /// The input kind.
    pub kind: FieldKind,
    /// May be repeated (e.g. `MediaUrl`).
    pub multiple: bool,
    /// Longest value accepted.
    pub max_length: Option<u32>,
}

impl Field {
    /// An optional text field.
    pub fn text(name: &'static str, prompt: &'static str) -> Field {
        Field {
            name,
            prompt,
            required: false,
            regex: None,
            options: None,
            value: None,
            kind: FieldKind::Text,
            multiple: false,
            max_length: None,
        }
    }

    /// Marks the field required.
    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    /// Sets the input kind.
    pub fn kind(mut self, kind: FieldKind) -> Field {
        self.kind = kind;
        self
    }

    /// Sets a pattern.
    pub fn regex(mut self, regex: &'static str) -> Field {
        self.regex = Some(regex);
        self
    }

    /// Sets the allowed values.
    pub fn options(mut self, options: &[&'static str]) -> Field {
        self.options = Some(options.to_vec());
        self
    }

    /// Pre-fills a value.
    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = Some(value.into());
        self
    }

    /// A fixed hidden value.
    pub fn hidden(name: &'static str, value: impl Into<String>) -> Field {
        Field::text(name, name).kind(FieldKind::Hidden).value(value)
    }

    /// Allows repeats.
    pub fn multiple(mut self) -> Field {
        self.multiple = true;
        self
    }

    /// Sets the longest value.
    pub fn max_length(mut self, n: u32) -> Field {
        self.max_length = Some(n);
        self
    }
}

/// Something the caller may do here, in this state: a HAL-FORMS template and an HTML form.
#[derive(Debug, Clone)]
pub struct Action {
    /// The template key (`default` for the primary action, then `redact`, `cancel`, …).
    pub name: &'static str,
    /// A human title.
    pub title: &'static str,
    /// The HTTP method (`POST`, `DELETE`, …).
    pub method: &'static str,
    /// Where to send it.
    pub target: String,
    /// The inputs.
    pub fields: Vec<Field>,
}

/// A list of items inside a collection resource.
pub struct Items {
    /// The JSON key the items go under (`messages`, `accounts`, `media_list`, `sessions`).
    pub key: &'static str,
    /// The items, each a full resource with its own links.
    pub list: Vec<Resource>,
}

/// A resource, as every handler returns it.
pub struct Resource {
    /// What kind of resource this is (`message`, `messages`, …): names its JSON Schema and page template.
    pub kind: &'static str,
    /// A human title for pages.
    pub title: String,
    /// Its URI.
    pub uri: String,
    /// Its properties.
    pub props: Box<dyn Properties>,
    /// Relations to other resources: `subresource_uris`, `Link`, HAL `_links`.
    pub relations: Vec<Link>,
    /// Links that are not sub-resources (paging, `up`, description documents): `Link` and HAL only.
    pub extra: Vec<Link>,
    /// What the caller may do here.
    pub actions: Vec<Action>,
    /// Collection items.
    pub items: Option<Items>,
    /// When it last changed (Unix seconds), for `Last-Modified`.
    pub last_modified: Option<i64>,
    /// A notice to show prominently on the page (the once-only auth token warning).
    pub notice: Option<String>,
    /// Methods the caller may use here beyond those of its actions (`OPTIONS` lists both).
    pub also_allows: &'static [&'static str],
}

impl Resource {
    /// A resource with properties and no links yet.
    pub fn new(kind: &'static str, title: impl Into<String>, uri: String, props: impl Properties) -> Resource {
        Resource {
            kind,
            title: title.into(),
            uri,
            props: Box::new(props),
            relations: Vec::new(),
            extra: Vec::new(),
            actions: Vec::new(),
            items: None,
            last_modified: None,
            notice: None,
            also_allows: &[],
        }
    }

    /// Adds a relation.
    pub fn relation(mut self, rel: &'static str, href: String) -> Resource {
        self.relations.push(Link::new(rel, href));
        self
    }

    /// Adds an extra link.
    pub fn link(mut self, rel: &'static str, href: String) -> Resource {
        self.extra.push(Link::new(rel, href));
        self
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Resource {
        self.actions.push(action);
        self
    }

    /// Sets `Last-Modified`.
    pub fn modified(mut self, ts: i64) -> Resource {
        self.last_modified = Some(ts);
        self
    }

    /// Every link of the `Link` header: `self`, the relations, then the extra links.
    pub fn header_links(&self) -> impl Iterator<Item = Link> + '_ {
        std::iter::once(Link::new("self", self.uri.clone()))
            .chain(self.relations.iter().cloned())
            .chain(self.extra.iter().cloned())
    }
}
