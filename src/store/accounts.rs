//! Accounts and their credentials.
use super::{OptionalExtension, Slice, StoreError, Window};
use crate::domain::account::{Account, AccountStatus};
use crate::domain::sid::AccountSid;
use rusqlite::{named_params, Connection, Row};

/// What creating an account stores.
pub struct NewAccount {
    /// The new sid.
    pub sid: AccountSid,
    /// The parent, for a sub-account.
    pub owner: Option<AccountSid>,
    /// Its name.
    pub friendly_name: String,
    /// SHA-256 of the auth token.
    pub token_hash: [u8; 32],
    /// The auth token, encrypted.
    pub token_enc: Vec<u8>,
    /// Creation time.
    pub now: i64,
}

/// What the per-request credential check needs.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// SHA-256 of the auth token.
    pub token_hash: [u8; 32],
    /// Closed accounts are refused.
    pub status: AccountStatus,
}

const COLUMNS: &str = "rowid, sid, owner_account_sid, friendly_name, status, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<(i64, Account)> {
    let sid = AccountSid::from_trusted(r.get(1)?);
    let owner: Option<String> = r.get(2)?;
    let status: String = r.get(4)?;
    Ok((
        r.get(0)?,
        Account {
            owner_account_sid: owner.map(AccountSid::from_trusted).unwrap_or_else(|| sid.clone()),
            sid,
            friendly_name: r.get(3)?,
            status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Suspended),
            kind: "Full",
            date_created: r.get(5)?,
            date_updated: r.get(6)?,
        },
    ))
}

/// Stores a new account.
pub fn insert(conn: &Connection, new: &NewAccount) -> Result<Account, StoreError> {
    conn.prepare_cached(
        "INSERT INTO accounts (sid, owner_account_sid, friendly_name, status, auth_token_hash, auth_token_enc, date_created, date_updated)
         VALUES (:sid, :owner, :name, 'active', :hash, :enc, :now, :now)",
    )?
    .execute(named_params! {
        ":sid": new.sid.as_str(), ":owner": new.owner.as_ref().map(|o| o.as_str()), ":name": new.friendly_name,
        ":hash": &new.token_hash[..], ":enc": new.token_enc, ":now": new.now,
    })?;
    Ok(Account {
        owner_account_sid: new.owner.clone().unwrap_or_else(|| new.sid.clone()),
        sid: new.sid.clone(),
        friendly_name: new.friendly_name.clone(),
        status: AccountStatus::Active,
        kind: "Full",
        date_created: new.now,
        date_updated: new.now,
    })
}

/// The account `sid` if `caller` may see it: itself, or one of its sub-accounts.
pub fn find_visible(conn: &Connection, caller: &AccountSid, sid: &AccountSid) -> Result<Option<Account>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE sid = :sid AND (sid = :caller OR owner_account_sid = :caller)"
        ))?
        .query_row(named_params! {":sid": sid.as_str(), ":caller": caller.as_str()}, from_row)
        .optional()?
        .map(|(_, a)| a))
}

/// The caller's account and its sub-accounts, oldest first, one window at a time.
pub fn list_visible(conn: &Connection, caller: &AccountSid, window: &Window) -> Result<Slice<Account>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts WHERE (sid = :caller OR owner_account_sid = :caller) AND {} ORDER BY rowid {} LIMIT :limit",
        window.condition_asc("rowid"),
        window.order_asc()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            named_params! {":caller": caller.as_str(), ":pos": window.position(), ":limit": window.limit()},
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(window.slice(rows))
}

/// Changes the name and/or status; `None` when the account does not exist.
pub fn update(
    conn: &Connection,
    sid: &AccountSid,
    name: Option<&str>,
    status: Option<AccountStatus>,
    now: i64,
) -> Result<Option<Account>, StoreError> {
    let status = status.map(|s| s.to_string());
    Ok(conn
        .prepare_cached(&format!(
            "UPDATE accounts SET friendly_name = coalesce(:name, friendly_name), status = coalesce(:status, status), date_updated = :now
             WHERE sid = :sid RETURNING {COLUMNS}"
        ))?
        .query_row(
            named_params! {":name": name, ":status": status, ":now": now, ":sid": sid.as_str()},
            from_row,
        )
        .optional()?
        .map(|(_, a)| a))
}

/// The stored credential check data for `sid`.
pub fn credentials(conn: &Connection, sid: &AccountSid) -> Result<Option<Credentials>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT auth_token_hash, status FROM accounts WHERE sid = ?1")?
        .query_row([sid.as_str()], |r| {
            let hash: Vec<u8> = r.get(0)?;
            let status: String = r.get(1)?;
            Ok((hash, status))
        })
        .optional()?
        .map(|(hash, status)| Credentials {
            token_hash: hash.try_into().unwrap_or([0; 32]),
            status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Closed),
        }))
}

/// The encrypted auth token of `sid` (to sign status callbacks).
pub fn sealed_token(conn: &Connection, sid: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT auth_token_enc FROM accounts WHERE sid = ?1")?
        .query_row([sid], |r| r.get(0))
        .optional()?)
}
