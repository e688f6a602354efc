//! The profile of relation names: every `rel` the server uses, with what it leads to. Served in
//! the OpenAPI document (`x-relations`) and listed in `docs/relations.md` (a test keeps the two
//! in step, and the crawler test checks that every relation it meets is listed here).

/// `(rel, what it leads to)`, in the order the guide lists them.
pub const RELATIONS: &[(&str, &str)] = &[
    ("self", "This resource (every representation and every response's `Link` header)."),
    (
        "accounts",
        "The accounts the caller can see. POST creates one: a sub-account when signed in, a top-level account with open sign-up.",
    ),
    (
        "account",
        "An account: from the root, the caller's own; from a message or session, its owner.",
    ),
    (
        "sessions",
        "The caller's sessions. POST signs in (AccountSid + AuthToken, or HTTP Basic) and answers a bearer token once.",
    ),
    ("session", "The session the caller is signed in with. DELETE signs out."),
    (
        "messages",
        "Messages: from the root, the caller's own collection (reached by 303 See Other); from an account, its collection. POST sends one.",
    ),
    ("message", "The message a media item or feedback belongs to."),
    ("media", "A message's media list."),
    ("feedback", "A message's delivery feedback. POST records an outcome."),
    ("owner", "The parent account of a sub-account."),
    ("up", "The collection or resource this one belongs to."),
    ("first", "The first page of a collection."),
    ("next", "The next page of a collection (absent on the last page)."),
    ("prev", "The previous page of a collection (absent on the first page)."),
    ("enclosure", "The media file itself, at the URL it was sent with."),
    ("related", "Where a `303 See Other` leads (the caller's own message collection)."),
    (
        "service-desc",
        "The OpenAPI 3.1 description of the API (RFC 8631), JSON or YAML by `Accept`.",
    ),
    ("service-doc", "The human documentation (RFC 8631)."),
    (
        "help",
        "Help: the documentation; on an error, the page about its code (`more_info`).",
    ),
    ("describedby", "The JSON Schema of this kind of resource."),
    ("start", "The entry point, `/` (from documentation pages)."),
    ("section", "A page of the guide (from the guide's index, `/docs`)."),
];

/// Whether `rel` is in the profile.
pub fn is_known(rel: &str) -> bool {
    RELATIONS.iter().any(|(r, _)| *r == rel)
}
