//! Plain types and rules: identifiers, accounts, messages, phone numbers, segment counting, dates.
//! Nothing here knows about HTTP or SQL.
pub mod account;
pub mod dates;
pub mod message;
pub mod sid;
