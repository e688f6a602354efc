//! Accounts (CONTRACT §4).
use super::sid::AccountSid;
use serde::Serialize;

/// An account's lifecycle state. `closed` accounts can no longer authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, derive_more::Display, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Usable.
    #[display("active")]
    Active,
    /// Temporarily unusable (set by an operator or a parent account).
    #[display("suspended")]
    Suspended,
    /// Closed for good: credentials are refused.
    #[display("closed")]
    Closed,
}

impl AccountStatus {
    /// Parses the stored / submitted form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }

    /// Every value, for forms and documentation.
    pub const ALL: [&'static str; 3] = ["active", "suspended", "closed"];
}

/// An account as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// `AC…`
    #[schema(value_type = String, pattern = "^AC[0-9a-f]{32}$")]
    pub sid: AccountSid,
    /// A human name.
    pub friendly_name: String,
    /// Lifecycle state.
    pub status: AccountStatus,
    /// `Full` for top-level accounts, `Trial` is never used here.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The parent for sub-accounts, the account itself for top-level ones (as Twilio does).
    #[schema(value_type = String, pattern = "^AC[0-9a-f]{32}$")]
    pub owner_account_sid: AccountSid,
    /// RFC 2822.
    #[serde(serialize_with = "super::message::ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_created: i64,
    /// RFC 2822.
    #[serde(serialize_with = "super::message::ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_updated: i64,
}

/// A freshly created account: the only time its auth token is shown.
#[derive(Debug, Clone, Serialize)]
pub struct NewAccountView {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// The auth token, shown once.
    pub auth_token: String,
}
