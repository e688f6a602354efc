//! The one place that turns domain objects into resources: which relations each kind of
//! resource has, which extra links, and which actions the caller may take in its current state
//! (CONTRACT §4: a relation or action the state does not allow is absent).
use super::resource::{Action, Field, Items, Resource};
use super::uris;
use crate::domain::account::{Account, AccountStatus};
use crate::domain::message::{Feedback, Media, Message};
use crate::domain::sid::{AccountSid, SessionSid};
use crate::store::sessions::Session;
use serde::Serialize;

/// Who is looking: decides the caller-dependent relations and actions.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The authenticated account, if any.
    pub account: Option<&'a AccountSid>,
    /// The session the caller authenticated with, if any.
    pub session: Option<&'a SessionSid>,
    /// Whether anonymous callers may create accounts.
    pub open_signup: bool,
}

/// Paging state of a collection page (CONTRACT §5), computed by [`crate::http::paging`].
#[derive(Debug, Clone, Serialize)]
pub struct Paging {
    /// Page number, from 0.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
    /// Index of the first item on this page.
    pub start: u32,
    /// Index of the last item on this page.
    pub end: u32,
    /// The first page.
    pub first_page_uri: String,
    /// The next page, `null` on the last.
    pub next_page_uri: Option<String>,
    /// The previous page, `null` on the first.
    pub previous_page_uri: Option<String>,
}

#[derive(Serialize)]
struct CollectionProps {
    #[serde(flatten)]
    paging: Paging,
    meta: Meta,
}

#[derive(Serialize)]
struct Meta {
    key: &'static str,
}

#[derive(Serialize)]
struct RootProps {
    name: &'static str,
    version: &'static str,
}

/// The API version this server speaks, as the root says it.
pub const API_VERSION: &str = "1";

fn service_links(r: Resource) -> Resource {
    r.link("service-desc", uris::OPENAPI.to_owned())
        .link("service-doc", uris::DOCS.to_owned())
        .link("help", uris::DOCS.to_owned())
}

/// A resource of a kind, `describedby` the JSON Schema of that kind.
fn resource(kind: &'static str, title: impl Into<String>, uri: String, props: impl super::resource::Properties) -> Resource {
    Resource::new(kind, title, uri, props).link("describedby", uris::schema(kind))
}

/// `GET /` (CONTRACT §1).
pub fn root(viewer: Viewer) -> Resource {
    let mut r = resource(
        "root",
        "signpost",
        uris::ROOT.to_owned(),
        RootProps {
            name: "signpost",
            version: API_VERSION,
        },
    )
    .relation("accounts", uris::ACCOUNTS.to_owned())
    .relation("sessions", uris::SESSIONS.to_owned())
    .relation("messages", uris::MY_MESSAGES.to_owned());
    if let Some(account) = viewer.account {
        r = r.relation("account", uris::account(account));
    }
    if let Some(session) = viewer.session {
        r = r.relation("session", uris::session(session));
    }
    r = service_links(r);
    if viewer.account.is_none() {
        r.actions.extend(sign_in_or_up(viewer.open_signup));
    } else if let Some(session) = viewer.session {
        r = r.action(sign_out(session));
    }
    r
}

/// What an anonymous caller may do anywhere: sign in and, with open sign-up, create an account.
/// The root offers these, and so does every page that answers 401 to a browser.
pub fn sign_in_or_up(open_signup: bool) -> Vec<Action> {
    let mut actions = vec![sign_in(None)];
    if open_signup {
        actions.push(create_account("create-account"));
    }
    actions
}

fn create_account(name: &'static str) -> Action {
    Action {
        name,
        title: "Create an account",
        method: "POST",
        target: uris::ACCOUNTS.to_owned(),
        fields: forms::create_account(),
    }
}

fn sign_in(account: Option<&AccountSid>) -> Action {
    let mut fields = forms::sign_in();
    if let Some(account) = account {
        fields = forms::prefill(fields, "AccountSid", account.as_str());
    }
    Action {
        name: "sign-in",
        title: "Sign in",
        method: "POST",
        target: uris::SESSIONS.to_owned(),
        fields,
    }
}

fn sign_out(session: &SessionSid) -> Action {
    Action {
        name: "sign-out",
        title: "Sign out",
        method: "DELETE",
        target: uris::session(session),
        fields: vec![],
    }
}

/// One account.
pub fn account(a: Account, viewer: Viewer) -> Resource {
    let uri = uris::account(&a.sid);
    let mut r = resource("account", format!("Account {}", a.friendly_name), uri.clone(), a.clone())
        .relation("messages", uris::messages(&a.sid))
        .relation("sessions", uris::SESSIONS.to_owned())
        .link("up", uris::ACCOUNTS.to_owned())
        .modified(a.date_updated);
    if a.owner_account_sid != a.sid {
        r = r.link("owner", uris::account(&a.owner_account_sid));
    }
    if viewer.account.is_some() && a.status != AccountStatus::Closed {
        r = r.action(Action {
            name: "update",
            title: "Rename or close the account",
            method: "POST",
            target: uri,
            fields: forms::prefill(
                forms::prefill(forms::update_account(), "FriendlyName", &a.friendly_name),
                "Status",
                &a.status.to_string(),
            ),
        });
    }
    r
}

/// A freshly created account, with its auth token shown this once.
pub fn new_account(a: Account, auth_token: String, viewer: Viewer) -> Resource {
    let sid = a.sid.clone();
    let view = crate::domain::account::NewAccountView {
        account: a.clone(),
        auth_token,
    };
    let mut r = account(a, viewer);
    r.props = Box::new(view);
    r.notice = Some("This is the only time the auth token is shown. Copy it now: it cannot be recovered.".into());
    r.actions.insert(0, sign_in(Some(&sid)));
    r
}

/// The accounts the caller can see.
pub fn accounts(uri: String, paging: Paging, list: Vec<Account>, viewer: Viewer) -> Resource {
    let items = list.into_iter().map(|a| account(a, viewer)).collect();
    let mut r = collection("accounts", "Accounts", uri, paging, "accounts", items).link("up", uris::ROOT.to_owned());
    if viewer.account.is_some() || viewer.open_signup {
        r = r.action(create_account("default"));
    }
    r
}

/// One session (`token` only when just created).
pub fn session(s: Session, token: Option<String>) -> Resource {
    #[derive(Serialize)]
    struct Created {
        #[serde(flatten)]
        session: Session,
        token: String,
    }
    let uri = uris::session(&s.sid);
    let sid = s.sid.clone();
    let account_sid = s.account_sid.clone();
    let created = s.date_created;
    let title = format!("Session {}", s.sid);
    let mut r = match token {
        Some(token) => resource("session", title, uri, Created { session: s, token }),
        None => resource("session", title, uri, s),
    };
    r = r
        .relation("account", uris::account(&account_sid))
        .relation("messages", uris::messages(&account_sid))
        .link("up", uris::SESSIONS.to_owned())
        .modified(created)
        .action(sign_out(&sid));
    r
}

/// The caller's sessions.
pub fn sessions(uri: String, paging: Paging, list: Vec<Session>, viewer: Viewer) -> Resource {
    let items = list.into_iter().map(|s| session(s, None)).collect();
    let mut r = collection("sessions", "Sessions", uri, paging, "sessions", items).link("up", uris::ROOT.to_owned());
    if let Some(account) = viewer.account {
        r = r.relation("account", uris::account(account));
    }
    r.action(sign_in(viewer.account))
}

/// One message; its actions follow its state.
pub fn message(m: Message) -> Resource {
    let uri = uris::message(&m.account_sid, &m.sid);
    let title = format!("Message {}", m.sid);
    let (account, sid, status, outbound, redacted) = (
        m.account_sid.clone(),
        m.sid.clone(),
        m.status,
        m.direction != "inbound",
        m.body.is_empty(),
    );
    let updated = m.date_updated;
    let mut r = resource("message", title, uri.clone(), m)
        .relation("media", uris::media_list(&account, &sid))
        .relation("feedback", uris::feedback(&account, &sid))
        .relation("account", uris::account(&account))
        .link("up", uris::messages(&account))
        .modified(updated);
    // Redacting is always allowed (again is harmless), whether or not the form is offered.
    r.also_allows = &["POST"];
    if !redacted {
        r = r.action(Action {
            name: "redact",
            title: "Redact the body",
            method: "POST",
            target: uri.clone(),
            fields: vec![Field::hidden("Body", "")],
        });
    }
    if status.cancelable() {
        r = r.action(Action {
            name: "cancel",
            title: "Cancel",
            method: "POST",
            target: uri.clone(),
            fields: vec![Field::hidden("Status", "canceled")],
        });
    }
    if outbound {
        r = r.action(feedback_action(uris::feedback(&account, &sid)));
    }
    if status.deletable() {
        r = r.action(Action {
            name: "delete",
            title: "Delete",
            method: "DELETE",
            target: uri,
            fields: vec![],
        });
    }
    r
}

fn feedback_action(target: String) -> Action {
    Action {
        name: "feedback",
        title: "Leave feedback",
        method: "POST",
        target,
        fields: forms::feedback(),
    }
}

/// The form that sends a message.
pub fn send_message(target: String) -> Action {
    Action {
        name: "default",
        title: "Send a message",
        method: "POST",
        target,
        fields: forms::send_message(),
    }
}

/// An account's messages.
pub fn messages(account: &AccountSid, uri: String, paging: Paging, list: Vec<Message>) -> Resource {
    let items = list.into_iter().map(message).collect();
    collection("messages", "Messages", uri, paging, "messages", items)
        .relation("account", uris::account(account))
        .link("up", uris::account(account))
        .action(send_message(uris::messages(account)))
        .action(filter_messages(uris::messages(account)))
}

/// A GET form over the message list: filters and page size (Twilio's query parameters).
fn filter_messages(target: String) -> Action {
    Action {
        name: "filter",
        title: "Filter messages",
        method: "GET",
        target,
        fields: forms::prefill(forms::filter_messages(), "PageSize", "50"),
    }
}

/// One media item.
pub fn media(m: Media) -> Resource {
    let uri = uris::media(&m.account_sid, &m.parent_sid, &m.sid);
    let message = uris::message(&m.account_sid, &m.parent_sid);
    let list = uris::media_list(&m.account_sid, &m.parent_sid);
    let (title, updated, url) = (format!("Media {}", m.sid), m.date_updated, m.url.clone());
    let mut r = resource("media", title, uri.clone(), m)
        .relation("message", message)
        .link("up", list)
        .modified(updated);
    r = r.link("enclosure", url);
    r.action(Action {
        name: "delete",
        title: "Delete",
        method: "DELETE",
        target: uri,
        fields: vec![],
    })
}

/// A message's media.
pub fn media_list(
    account: &AccountSid,
    message: &crate::domain::sid::MessageSid,
    uri: String,
    paging: Paging,
    list: Vec<Media>,
) -> Resource {
    let items = list.into_iter().map(media).collect();
    collection("media_list", "Media", uri, paging, "media_list", items)
        .relation("message", uris::message(account, message))
        .link("up", uris::message(account, message))
}

/// The feedback on a message.
pub fn feedback(f: Feedback) -> Resource {
    let uri = uris::feedback(&f.account_sid, &f.message_sid);
    let message = uris::message(&f.account_sid, &f.message_sid);
    let (title, updated) = (format!("Feedback on {}", f.message_sid), f.date_updated);
    let mut r = resource("feedback", title, uri.clone(), f)
        .relation("message", message.clone())
        .link("up", message);
    if let Some(updated) = updated {
        r = r.modified(updated);
    }
    r.action(Action {
        name: "default",
        ..feedback_action(uri)
    })
}

fn collection(kind: &'static str, title: &str, uri: String, paging: Paging, key: &'static str, items: Vec<Resource>) -> Resource {
    let first = Some(paging.first_page_uri.clone());
    let links = [
        ("first", first),
        ("next", paging.next_page_uri.clone()),
        ("prev", paging.previous_page_uri.clone()),
    ];
    let mut r = resource(
        kind,
        title,
        uri,
        CollectionProps {
            paging,
            meta: Meta { key },
        },
    );
    for (rel, href) in links {
        if let Some(href) = href {
            r = r.link(rel, href);
        }
    }
    r.items = Some(Items { key, list: items });
    r
}

/// The inputs of every action, in one place: the HTML forms, the HAL-FORMS templates and the
/// OpenAPI request bodies ([`crate::openapi`]) are all built from these lists.
pub mod forms {
    use super::super::resource::{Field, FieldKind};
    use crate::domain::account::AccountStatus;
    use crate::domain::message::{E164_REGEX, MAX_BODY_CHARS, OUTCOMES};

    /// Sets the value of the field called `name`.
    pub fn prefill(fields: Vec<Field>, name: &str, value: &str) -> Vec<Field> {
        fields
            .into_iter()
            .map(|f| if f.name == name { f.value(value) } else { f })
            .collect()
    }

    /// A URL the server accepts: absolute http(s) with a host. (`/` is escaped inside classes:
    /// browsers compile `pattern` attributes with the `v` flag, which requires it.)
    pub const HTTP_URL: &str = r"^https?://[^\s\/?#@\x00]+([\/?#][^\s\x00]*)?$";

    fn friendly_name() -> Field {
        // Not blank, no NUL.
        Field::text("FriendlyName", "Friendly name")
            .max_length(64)
            .regex(r"^[^\x00]*[^\s\x00][^\x00]*$")
    }

    /// `POST` accounts.
    pub fn create_account() -> Vec<Field> {
        vec![friendly_name()]
    }

    /// `POST` an account: rename or change status.
    pub fn update_account() -> Vec<Field> {
        vec![friendly_name(), Field::text("Status", "Status").options(&AccountStatus::ALL)]
    }

    /// `POST` sessions: sign in.
    pub fn sign_in() -> Vec<Field> {
        vec![
            Field::text("AccountSid", "Account SID").required().regex("^AC[0-9a-f]{32}$"),
            Field::text("AuthToken", "Auth token").required().kind(FieldKind::Password),
        ]
    }

    /// `POST` messages: send.
    pub fn send_message() -> Vec<Field> {
        vec![
            Field::text("To", "To").required().kind(FieldKind::Tel).regex(E164_REGEX),
            Field::text("From", "From").required().kind(FieldKind::Tel).regex(E164_REGEX),
            Field::text("Body", "Body")
                .kind(FieldKind::Textarea)
                .max_length(MAX_BODY_CHARS as u32),
            Field::text("MediaUrl", "Media URL").kind(FieldKind::Url).regex(HTTP_URL).multiple(),
            Field::text("StatusCallback", "Status callback URL")
                .kind(FieldKind::Url)
                .regex(HTTP_URL),
            Field::text("SendAt", "Send at, UTC (schedules the message)").kind(FieldKind::DateTime),
            Field::text("ScheduleType", "Schedule type").options(&["fixed"]),
        ]
    }

    /// `POST` a message: redact (`Body` empty) or cancel (`Status=canceled`).
    pub fn update_message() -> Vec<Field> {
        vec![
            Field::text("Body", "Body (only empty: redacts)").options(&[""]),
            Field::text("Status", "Status (only canceled)").options(&["canceled"]),
        ]
    }

    /// `POST` feedback.
    pub fn feedback() -> Vec<Field> {
        vec![Field::text("Outcome", "Outcome").required().options(&OUTCOMES).value("confirmed")]
    }

    /// `GET` messages with filters.
    pub fn filter_messages() -> Vec<Field> {
        vec![
            Field::text("To", "To").kind(FieldKind::Tel),
            Field::text("From", "From").kind(FieldKind::Tel),
            Field::text("DateSent", "Sent on (YYYY-MM-DD)"),
            Field::text("PageSize", "Page size (1-1000)"),
        ]
    }
}
