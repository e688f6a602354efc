//! The OpenAPI 3.1 description (`service-desc`) and the JSON Schemas (`describedby`), generated
//! from the code so they cannot drift from it:
//! - one path per resource of the route table ([`crate::routes::CATALOG`]) and one operation per
//!   method it answers (a unit test fails if a method has no description here);
//! - request bodies and query filters from the same field lists the HTML forms and HAL-FORMS
//!   templates use ([`crate::hypermedia::model::forms`]);
//! - resource schemas from the domain types themselves (`utoipa::ToSchema`), wrapped in the
//!   hypermedia members every representation carries (`uri`, `subresource_uris`);
//! - the relation profile ([`crate::hypermedia::relations`]) as `x-relations`.
//!
//! Built once, on first use, and served from memory.
use crate::domain::account::{Account, AccountStatus};
use crate::domain::message::{Feedback, Media, Message, MessageStatus};
use crate::hypermedia::model::forms;
use crate::hypermedia::relations::RELATIONS;
use crate::hypermedia::resource::Field;
use crate::routes::{Route, CATALOG};
use crate::store::sessions::Session;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    schema::{KnownFormat, SchemaFormat},
    AllOfBuilder, ArrayBuilder, ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, ResponseBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

/// The kinds of resource, each with a JSON Schema at `/schemas/{kind}.json`.
pub const KINDS: &[&str] = &[
    "root",
    "account",
    "accounts",
    "session",
    "sessions",
    "message",
    "messages",
    "media",
    "media_list",
    "feedback",
];

/// The description documents, rendered once.
pub struct Description {
    /// `application/openapi+json`.
    pub json: Vec<u8>,
    /// `application/openapi+yaml`.
    pub yaml: Vec<u8>,
    /// One JSON Schema (`application/schema+json`) per kind.
    pub schemas: BTreeMap<&'static str, Vec<u8>>,
}

/// The description documents.
pub fn description() -> &'static Description {
    static DESCRIPTION: OnceLock<Description> = OnceLock::new();
    DESCRIPTION.get_or_init(|| {
        let api = document();
        let value = serde_json::to_value(&api).unwrap_or_default();
        let defs = serde_json::to_string(&value["components"]["schemas"])
            .unwrap_or_default()
            .replace("#/components/schemas/", "#/$defs/");
        let defs: serde_json::Value = serde_json::from_str(&defs).unwrap_or_default();
        let schemas = KINDS
            .iter()
            .map(|kind| {
                let schema = serde_json::json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$id": crate::hypermedia::uris::schema(kind),
                    "title": format!("signpost {kind} (application/json)"),
                    "$ref": format!("#/$defs/{kind}"),
                    "$defs": defs,
                });
                (*kind, serde_json::to_vec_pretty(&schema).unwrap_or_default())
            })
            .collect();
        let yaml = api.to_yaml().unwrap_or_default().into_bytes();
        Description {
            json: serde_json::to_vec_pretty(&api).unwrap_or_default(),
            yaml,
            schemas,
        }
    })
}

/// What an operation answers when it succeeds.
#[derive(Clone, Copy)]
enum Answer {
    /// 200 with a representation of this kind.
    Ok(&'static str),
    /// 201 with a representation of this kind, and `Location`.
    Created(&'static str),
    /// 204.
    NoContent,
    /// 303 to the caller's own collection.
    SeeOther,
    /// A documentation page.
    Page,
    /// The OpenAPI document.
    OpenApi,
    /// A JSON Schema.
    JsonSchema,
}

/// Which query parameters a GET takes.
#[derive(Clone, Copy)]
enum Query {
    None,
    Paging,
    Messages,
}

/// One operation's description.
struct Spec {
    id: &'static str,
    summary: &'static str,
    answer: Answer,
    query: Query,
    body: Option<fn() -> Vec<Field>>,
    /// Credentials optional (root, docs, descriptions, sign-in, open sign-up).
    public: bool,
}

fn spec(route: &Route, method: &str) -> Option<Spec> {
    use Answer::*;
    let s = |id, summary, answer, query, body, public| {
        Some(Spec {
            id,
            summary,
            answer,
            query,
            body,
            public,
        })
    };
    let update = |id: &'static str, what: &'static str, kind: &'static str, body: fn() -> Vec<Field>| match method {
        "POST" => s(id, what, Ok(kind), Query::None, Some(body), false),
        "PUT" | "PATCH" => s(
            if method == "PUT" { "replace" } else { "patch" },
            what,
            Ok(kind),
            Query::None,
            Some(body),
            false,
        ),
        _ => None,
    };
    match (route.name, method) {
        ("root", "GET") => s(
            "fetchRoot",
            "The entry point: links to accounts, sessions and messages",
            Ok("root"),
            Query::None,
            None,
            true,
        ),
        ("accounts", "GET") => s(
            "listAccounts",
            "The accounts the caller can see",
            Ok("accounts"),
            Query::Paging,
            None,
            false,
        ),
        ("accounts", "POST") => s(
            "createAccount",
            "Create an account (a sub-account when signed in)",
            Created("account"),
            Query::None,
            Some(forms::create_account),
            true,
        ),
        ("account", "GET") => s("fetchAccount", "One account", Ok("account"), Query::None, None, false),
        ("account", m) => update(
            if m == "POST" { "updateAccount" } else { "" },
            "Rename, suspend or close an account",
            "account",
            forms::update_account,
        ),
        ("sessions", "GET") => s("listSessions", "The caller's sessions", Ok("sessions"), Query::Paging, None, false),
        ("sessions", "POST") => s(
            "createSession",
            "Sign in: AccountSid + AuthToken (or HTTP Basic) give a bearer token",
            Created("session"),
            Query::None,
            Some(forms::sign_in),
            true,
        ),
        ("session", "GET") => s("fetchSession", "One session", Ok("session"), Query::None, None, false),
        ("session", "DELETE") => s("deleteSession", "Sign out", NoContent, Query::None, None, false),
        ("my-messages", "GET") => s(
            "findMyMessages",
            "The caller's own messages, by 303 See Other (the query is kept)",
            SeeOther,
            Query::None,
            None,
            false,
        ),
        ("messages", "GET") => s(
            "listMessages",
            "An account's messages, newest first",
            Ok("messages"),
            Query::Messages,
            None,
            false,
        ),
        ("messages", "POST") => s(
            "createMessage",
            "Send a message",
            Created("message"),
            Query::None,
            Some(forms::send_message),
            false,
        ),
        ("message", "GET") => s("fetchMessage", "One message", Ok("message"), Query::None, None, false),
        ("message", "DELETE") => s("deleteMessage", "Delete a message", NoContent, Query::None, None, false),
        ("message", m) => update(
            if m == "POST" { "updateMessage" } else { "" },
            "Redact (Body empty) or cancel (Status=canceled) a message",
            "message",
            forms::update_message,
        ),
        ("media-list", "GET") => s("listMedia", "A message's media", Ok("media_list"), Query::Paging, None, false),
        ("media", "GET") => s("fetchMedia", "One media item", Ok("media"), Query::None, None, false),
        ("media", "DELETE") => s("deleteMedia", "Delete a media item", NoContent, Query::None, None, false),
        ("feedback", "GET") => s("fetchFeedback", "A message's feedback", Ok("feedback"), Query::None, None, false),
        ("feedback", "POST") => s(
            "createFeedback",
            "Record whether the message arrived",
            Created("feedback"),
            Query::None,
            Some(forms::feedback),
            false,
        ),
        ("openapi", "GET") => s(
            "fetchOpenApi",
            "This document (YAML with Accept: application/openapi+yaml)",
            OpenApi,
            Query::None,
            None,
            true,
        ),
        ("schema", "GET") => s(
            "fetchSchema",
            "The JSON Schema of one kind of resource",
            JsonSchema,
            Query::None,
            None,
            true,
        ),
        ("docs", "GET") => s("fetchDocs", "The guide", Page, Query::None, None, true),
        ("doc-page", "GET") => s("fetchDocPage", "A page of the guide", Page, Query::None, None, true),
        ("error-doc", "GET") => s("fetchErrorDoc", "The page about one error code", Page, Query::None, None, true),
        _ => None,
    }
}

fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer)
}

fn reference(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

fn sid(prefix: &str) -> ObjectBuilder {
    string().pattern(Some(format!("^{prefix}[0-9a-f]{{32}}$")))
}

/// The JSON Schema of one form field (form-encoded or JSON: the same names and rules).
fn field_schema(f: &Field) -> RefOr<Schema> {
    let mut s = string().description(Some(f.prompt)).pattern(Some(f.regex.unwrap_or(NO_NUL)));
    if let Some(opts) = &f.options {
        s = s.enum_values(Some(opts.iter().copied()));
    }
    if let Some(n) = f.max_length {
        s = s.max_length(Some(n as usize));
    }
    if f.multiple {
        ArrayBuilder::new().items(s).max_items(Some(10)).into()
    } else {
        s.into()
    }
}

/// Text the server takes: anything but NUL (refused in every parameter).
const NO_NUL: &str = "^[^\\x00]*$";

/// What a parameter the server does not know may be: it is ignored, as Twilio ignores it, but
/// it must still be a parameter (text, or a list of texts where it repeats).
fn extra_parameter() -> RefOr<Schema> {
    utoipa::openapi::OneOfBuilder::new()
        .item(string().pattern(Some(NO_NUL)))
        .item(ArrayBuilder::new().items(string().pattern(Some(NO_NUL))))
        .into()
}

/// Which of a form's optional fields must be given: at least one, or exactly one.
#[derive(Clone, Copy)]
enum Given {
    Any,
    AnyOf(&'static [&'static str]),
    OneOf(&'static [&'static str]),
}

fn form_schema(fields: &[Field], given: Given) -> RefOr<Schema> {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(string().pattern(Some(NO_NUL)).build()))
        .additional_properties(Some(extra_parameter()));
    for f in fields {
        o = o.property(f.name, field_schema(f));
        if f.required {
            o = o.required(f.name);
        }
    }
    let alternatives = |names: &[&str]| names.iter().map(|n| ObjectBuilder::new().required(*n).build()).collect::<Vec<_>>();
    match given {
        Given::Any => o.into(),
        Given::AnyOf(names) => {
            let mut any = utoipa::openapi::schema::AnyOfBuilder::new();
            for alt in alternatives(names) {
                any = any.item(alt);
            }
            AllOfBuilder::new().item(o).item(any).into()
        }
        Given::OneOf(names) => {
            let mut one = utoipa::openapi::OneOfBuilder::new();
            for alt in alternatives(names) {
                one = one.item(alt);
            }
            AllOfBuilder::new().item(o).item(one).into()
        }
    }
}

fn path_parameter(route: &Route, name: &str) -> ParameterBuilder {
    let schema: RefOr<Schema> = match (route.name, name) {
        (_, "AccountSid") => sid("AC").into(),
        (_, "MessageSid") | ("message", "Sid") => sid("SM").into(),
        ("media", "Sid") => sid("ME").into(),
        ("session", "Sid") => sid("US").into(),
        (_, "code") => integer().minimum(Some(0)).into(),
        (_, "kind") => string().enum_values(Some(KINDS.iter().copied())).into(),
        _ => string().pattern(Some("^[a-z0-9-]+$")).into(),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(schema))
}

fn query_parameters(query: Query) -> Vec<ParameterBuilder> {
    let q = |name: &str, schema: RefOr<Schema>, what: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(what))
            .schema(Some(schema))
    };
    let paging = || {
        vec![
            q(
                "PageSize",
                integer().minimum(Some(1)).maximum(Some(1000)).into(),
                "Items per page (default 50)",
            ),
            q(
                "PageToken",
                string()
                    .pattern(Some(format!(
                        "^({})?$",
                        crate::http::paging::TOKEN_PATTERN.trim_start_matches('^').trim_end_matches('$')
                    )))
                    .into(),
                "Where the page starts: taken from next_page_uri / previous_page_uri",
            ),
        ]
    };
    match query {
        Query::None => vec![],
        Query::Paging => paging(),
        Query::Messages => {
            let mut params = paging();
            let day = || -> RefOr<Schema> {
                utoipa::openapi::schema::AnyOfBuilder::new()
                    .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
                    .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
                    .item(string().enum_values(Some([""])).description(Some("empty: no filter")))
                    .into()
            };
            for f in forms::filter_messages().iter().filter(|f| f.name != "PageSize") {
                let schema = if f.name == "DateSent" { day() } else { field_schema(f) };
                params.push(q(f.name, schema, f.prompt));
            }
            for name in ["DateSent<", "DateSent>"] {
                params.push(q(
                    name,
                    day(),
                    "Sent before / after this day (YYYY-MM-DD, or an ISO 8601 date-time)",
                ));
            }
            params
        }
    }
}

fn header(what: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new().schema(Some(string())).description(Some(what)).build()
}

/// Headers every answer carries.
fn common_headers(r: ResponseBuilder) -> ResponseBuilder {
    r.header(
        "Link",
        header("RFC 8288 links: rel=self and one per subresource_uris entry, plus paging, up, help, describedby"),
    )
    .header("X-Request-Id", header("The request id (also in the access log)"))
    .header(
        "X-RateLimit-Limit",
        header("Requests allowed per window (absent when limiting is off)"),
    )
    .header("X-RateLimit-Remaining", header("Requests left in this window"))
    .header("X-RateLimit-Reset", header("Seconds until the window refills"))
}

fn representation(kind: &'static str) -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        ("application/json", reference(kind)),
        ("application/vnd.signpost+json; version=1", reference(kind)),
        ("application/hal+json", reference("Hal")),
        ("application/prs.hal-forms+json", reference("HalForms")),
        ("text/html", string().into()),
    ]
}

fn with_content(mut r: ResponseBuilder, contents: Vec<(&'static str, RefOr<Schema>)>) -> ResponseBuilder {
    for (media_type, schema) in contents {
        r = r.content(media_type, ContentBuilder::new().schema(Some(schema)).build());
    }
    r
}

fn error_response(what: &str) -> RefOr<utoipa::openapi::Response> {
    let r = common_headers(ResponseBuilder::new().description(what));
    with_content(
        r,
        vec![
            ("application/json", reference("Error")),
            ("application/problem+json", reference("Problem")),
            ("text/html", string().into()),
        ],
    )
    .build()
    .into()
}

/// OpenAPI links from a created or fetched resource to what a client does next with it.
fn next_steps(r: ResponseBuilder, kind: &str) -> ResponseBuilder {
    let link = |op: &str, params: &[(&str, &str)]| {
        let mut l = LinkBuilder::new().operation_id(op);
        for (name, expr) in params {
            l = l.parameter(*name, *expr);
        }
        l.build()
    };
    let message = [("AccountSid", "$response.body#/account_sid"), ("Sid", "$response.body#/sid")];
    let of_message = [("AccountSid", "$response.body#/account_sid"), ("MessageSid", "$response.body#/sid")];
    match kind {
        "account" => r
            .link("FetchAccount", link("fetchAccount", &[("AccountSid", "$response.body#/sid")]))
            .link("ListMessages", link("listMessages", &[("AccountSid", "$response.body#/sid")])),
        "session" => r
            .link("FetchSession", link("fetchSession", &[("Sid", "$response.body#/sid")]))
            .link("DeleteSession", link("deleteSession", &[("Sid", "$response.body#/sid")])),
        "message" => r
            .link("FetchMessage", link("fetchMessage", &message))
            .link("UpdateMessage", link("updateMessage", &message))
            .link("DeleteMessage", link("deleteMessage", &message))
            .link("ListMedia", link("listMedia", &of_message))
            .link("FetchFeedback", link("fetchFeedback", &of_message))
            .link("CreateFeedback", link("createFeedback", &of_message)),
        _ => r,
    }
}

fn operation(route: &Route, method: &str, spec: &Spec) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new().summary(Some(spec.summary)).tag(route.name);
    for name in route.pattern.split('{').skip(1).filter_map(|p| p.split('}').next()) {
        op = op.parameter(path_parameter(route, name));
    }
    let reads = matches!(method, "GET" | "HEAD");
    if reads {
        for p in query_parameters(spec.query) {
            op = op.parameter(p);
        }
    }
    let id = match method {
        "GET" | "POST" | "DELETE" => spec.id.to_owned(),
        "PUT" | "PATCH" => format!("{}{}", spec.id, pascal(route.name)),
        other => format!("{}{}", other.to_ascii_lowercase(), pascal(route.name)),
    };
    op = op.operation_id(Some(id));
    if let Some(body) = spec.body.filter(|_| !reads) {
        let given = match (route.name, method) {
            ("account", _) => Given::AnyOf(&["FriendlyName", "Status"]),
            ("message", _) => Given::OneOf(&["Body", "Status"]),
            ("messages", _) => Given::AnyOf(&["Body", "MediaUrl"]),
            _ => Given::Any,
        };
        let required = if route.name != "sessions" && (body().iter().any(|f| f.required) || !matches!(given, Given::Any)) {
            Required::True
        } else {
            Required::False
        };
        let schema = form_schema(&body(), given);
        // Signing in with HTTP Basic needs no body; everything else that takes a body needs one.
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(required))
                .content(
                    "application/x-www-form-urlencoded",
                    ContentBuilder::new().schema(Some(schema.clone())).build(),
                )
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .build(),
        ));
    }
    let ok = |status_text: &str| common_headers(ResponseBuilder::new().description(status_text));
    let with_validators = |r: ResponseBuilder| {
        r.header("ETag", header("Strong validator of this representation"))
            .header("Last-Modified", header("When the resource last changed (items)"))
            .header("Cache-Control", header("private, no-cache for authenticated answers"))
    };
    let mut responses: Vec<(&str, RefOr<utoipa::openapi::Response>)> = Vec::new();
    match (method, spec.answer) {
        ("OPTIONS", _) => responses.push((
            "204",
            ok("The methods this caller may use here, and the CORS headers")
                .header("Allow", header("Methods this caller may use here"))
                .header("Access-Control-Allow-Methods", header("The same, for CORS"))
                .build()
                .into(),
        )),
        ("HEAD", Answer::SeeOther) => responses.push(("303", ok("See Other: the caller's own messages").build().into())),
        ("HEAD", _) => {
            responses.push(("200", with_validators(ok("The headers GET would answer, no body")).build().into()));
            responses.push(("304", ok("Not Modified").build().into()));
        }
        (_, Answer::Ok(kind)) => {
            let r = next_steps(with_content(with_validators(ok("The resource")), representation(kind)), kind);
            responses.push(("200", r.build().into()));
            if reads {
                responses.push(("304", ok("Not Modified (If-None-Match / If-Modified-Since)").build().into()));
            }
        }
        (_, Answer::Created(kind)) => {
            let r = with_validators(ok("Created")).header("Location", header("The new resource's URI"));
            responses.push(("201", next_steps(with_content(r, representation(kind)), kind).build().into()));
        }
        (_, Answer::NoContent) => responses.push(("204", ok("Deleted; the Link header points up").build().into())),
        (_, Answer::SeeOther) => responses.push((
            "303",
            ok("See Other: the caller's own message collection (query kept)")
                .header("Location", header("The caller's message collection"))
                .build()
                .into(),
        )),
        (_, Answer::Page) => {
            let r = with_content(
                ok("A page of the guide"),
                vec![("text/html", string().into()), ("text/markdown", string().into())],
            );
            responses.push(("200", r.build().into()));
            responses.push(("304", ok("Not Modified").build().into()));
        }
        (_, Answer::OpenApi) => {
            let r = with_content(
                ok("The OpenAPI document"),
                vec![
                    ("application/openapi+json", ObjectBuilder::new().schema_type(Type::Object).into()),
                    ("application/openapi+yaml", string().into()),
                ],
            );
            responses.push(("200", r.build().into()));
            responses.push(("304", ok("Not Modified").build().into()));
        }
        (_, Answer::JsonSchema) => {
            let r = with_content(
                ok("A JSON Schema (draft 2020-12)"),
                vec![("application/schema+json", ObjectBuilder::new().schema_type(Type::Object).into())],
            );
            responses.push(("200", r.build().into()));
            responses.push(("304", ok("Not Modified").build().into()));
        }
    }
    let mut errors: Vec<(&str, &str)> = Vec::new();
    if method != "OPTIONS" {
        errors.push(("400", "Bad request: a parameter is missing or invalid (Twilio's code says which)"));
        errors.push(("406", "Not Acceptable: no offered media type matches Accept"));
    }
    // Wrong credentials are refused everywhere, even where none are needed (the root included).
    if !spec.public || matches!(route.name, "root" | "accounts" | "sessions") {
        errors.push(("401", "Missing or wrong credentials"));
    }
    if route.pattern.contains('{') || !spec.public {
        errors.push(("404", "Not found (or another account's)"));
    }
    if !reads && method != "OPTIONS" {
        errors.push((
            "403",
            "Cross-site request refused (the browser cookie without our Origin, or another site's form)",
        ));
        errors.push((
            "409",
            "Conflict: the resource's state does not allow this, or the same Idempotency-Key is in flight",
        ));
        errors.push(("412", "Precondition failed: If-Match does not match the current ETag"));
        errors.push(("413", "Payload too large"));
        errors.push(("415", "Unsupported media type (form or JSON only)"));
        errors.push(("422", "Idempotency-Key reused with a different body"));
    }
    errors.push(("429", "Too many requests: see Retry-After"));
    for (status, what) in errors {
        if method == "HEAD" {
            responses.push((status, common_headers(ResponseBuilder::new().description(what)).build().into()));
        } else {
            responses.push((status, error_response(what)));
        }
    }
    for (status, r) in responses {
        op = op.response(status, r);
    }
    if spec.public || method == "OPTIONS" {
        op = op.securities(Some([
            SecurityRequirement::new("basic", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
            SecurityRequirement::default(),
        ]));
    }
    op.build()
}

fn hypermedia_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("uri", string().description(Some("This resource's URI")))
        .required("uri")
        .property(
            "subresource_uris",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(string()))
                .description(Some("Relation name → URI, for every resource reachable from here")),
        )
        .required("subresource_uris")
}

fn paging_schema(key: &str, item: &str) -> ObjectBuilder {
    let nullable_uri = || ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]));
    let mut o = ObjectBuilder::new().schema_type(Type::Object);
    for n in ["page", "page_size", "start", "end"] {
        o = o.property(n, integer().minimum(Some(0))).required(n);
    }
    o.property("first_page_uri", string())
        .required("first_page_uri")
        .property("next_page_uri", nullable_uri())
        .required("next_page_uri")
        .property("previous_page_uri", nullable_uri())
        .required("previous_page_uri")
        .property(
            "meta",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("key", string().enum_values(Some([key])))
                .required("key"),
        )
        .property(key, ArrayBuilder::new().items(reference(item)))
        .required(key)
}

fn resource_schema(props: RefOr<Schema>, extra: Option<ObjectBuilder>) -> RefOr<Schema> {
    let mut all = AllOfBuilder::new().item(props).item(hypermedia_schema());
    if let Some(extra) = extra {
        all = all.item(extra);
    }
    all.into()
}

fn components() -> utoipa::openapi::Components {
    let mut domain: Vec<(String, RefOr<Schema>)> = Vec::new();
    Message::schemas(&mut domain);
    Account::schemas(&mut domain);
    let hal_links = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(Schema::default()));
    let hal = AllOfBuilder::new().item(hypermedia_schema()).item(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("_links", hal_links)
            .required("_links")
            .property("_embedded", ObjectBuilder::new().schema_type(Type::Object)),
    );
    let hal_forms = AllOfBuilder::new().item(reference("Hal")).item(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("_templates", ObjectBuilder::new().schema_type(Type::Object)),
    );
    let error = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("status", integer())
        .required("status")
        .property("code", integer())
        .required("code")
        .property("message", string())
        .required("message")
        .property("more_info", string().description(Some("A page about this code")))
        .required("more_info")
        .property("uri", string())
        .property("subresource_uris", ObjectBuilder::new().schema_type(Type::Object));
    let problem = AllOfBuilder::new().item(reference("Error")).item(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", string())
            .required("type")
            .property("title", string())
            .required("title")
            .property("detail", string())
            .property("instance", string()),
    );
    let root = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("name", string())
        .required("name")
        .property("version", string())
        .required("version");
    let optional = |name: &str, what: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(name, string().description(Some(what)))
    };
    ComponentsBuilder::new()
        .schemas_from_iter(domain)
        .schema("Message", Message::schema())
        .schema("MessageStatus", MessageStatus::schema())
        .schema("Account", Account::schema())
        .schema("AccountStatus", AccountStatus::schema())
        .schema("Media", Media::schema())
        .schema("Feedback", Feedback::schema())
        .schema("Session", Session::schema())
        .schema("Hal", hal)
        .schema("HalForms", hal_forms)
        .schema("Error", error)
        .schema("Problem", problem)
        .schema("root", resource_schema(root.into(), None))
        .schema(
            "account",
            resource_schema(
                reference("Account"),
                Some(optional("auth_token", "Only in the answer that creates the account")),
            ),
        )
        .schema(
            "session",
            resource_schema(
                reference("Session"),
                Some(optional("token", "Only in the answer that creates the session")),
            ),
        )
        .schema("message", resource_schema(reference("Message"), None))
        .schema("media", resource_schema(reference("Media"), None))
        .schema("feedback", resource_schema(reference("Feedback"), None))
        .schema("accounts", resource_schema(paging_schema("accounts", "account").into(), None))
        .schema("sessions", resource_schema(paging_schema("sessions", "session").into(), None))
        .schema("messages", resource_schema(paging_schema("messages", "message").into(), None))
        .schema("media_list", resource_schema(paging_schema("media_list", "media").into(), None))
        .security_scheme(
            "basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("AccountSid:AuthToken"))
                    .build(),
            ),
        )
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token from POST sessions"))
                    .build(),
            ),
        )
        .security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("signpost_session"))),
        )
        .build()
}

fn method_of(m: &str) -> Option<HttpMethod> {
    Some(match m {
        "GET" => HttpMethod::Get,
        "HEAD" => HttpMethod::Head,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "OPTIONS" => HttpMethod::Options,
        _ => return None,
    })
}

/// The operations of a route that have no description (a test keeps this empty).
pub fn undescribed() -> Vec<String> {
    CATALOG
        .iter()
        .flat_map(|r| r.methods().map(move |m| (r, m)))
        .filter(|(r, m)| {
            let base = if matches!(*m, "HEAD" | "OPTIONS") { "GET" } else { m };
            spec(r, base).is_none() || method_of(m).is_none()
        })
        .map(|(r, m)| format!("{m} {}", r.pattern))
        .collect()
}

/// The OpenAPI document, built from the route table.
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for route in CATALOG {
        for method in route.methods() {
            let base = if matches!(method, "HEAD" | "OPTIONS") { "GET" } else { method };
            let (Some(spec), Some(http)) = (spec(route, base), method_of(method)) else {
                continue;
            };
            paths.add_path_operation(route.pattern, vec![http], operation(route, method, &spec));
        }
    }
    let relations: serde_json::Map<String, serde_json::Value> =
        RELATIONS.iter().map(|(rel, what)| ((*rel).to_owned(), (*what).into())).collect();
    let mut api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("signpost")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A hypermedia-driven API speaking Twilio's 2010-04-01 REST API. Start at `/` and follow \
                     links: every representation has `uri` and `subresource_uris`, every response a `Link` header. \
                     The relation names are listed under `x-relations`; the guide is at /docs.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components()))
        .security(Some([
            SecurityRequirement::new("basic", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
        ]))
        .build();
    api.extensions = Some(Extensions::from_iter([("x-relations", serde_json::Value::Object(relations))]));
    api
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_of_every_route_is_described() {
        assert_eq!(undescribed(), Vec::<String>::new());
    }

    #[test]
    fn the_document_is_openapi_3_1_with_unique_operation_ids() {
        let doc: serde_json::Value = serde_json::from_slice(&description().json).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = std::collections::BTreeSet::new();
        let mut count = 0;
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    count += 1;
                    assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
                }
            }
        }
        let expected: usize = CATALOG.iter().map(|r| r.methods().count()).sum();
        assert_eq!(count, expected, "one operation per method of every route");
        assert!(doc["x-relations"]["describedby"].is_string());
    }

    #[test]
    fn each_kind_has_a_json_schema_whose_refs_resolve() {
        for kind in KINDS {
            let schema: serde_json::Value = serde_json::from_slice(&description().schemas[kind]).unwrap();
            let text = schema.to_string();
            assert!(!text.contains("#/components/"), "{kind}: refs point into $defs");
            for r in text.split("\"$ref\":\"#/$defs/").skip(1) {
                let name = r.split('"').next().unwrap();
                assert!(schema["$defs"].get(name).is_some(), "{kind}: $defs/{name} exists");
            }
        }
    }
}
