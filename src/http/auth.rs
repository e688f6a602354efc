//! Credentials (CONTRACT §6): HTTP Basic `AccountSid:AuthToken`, `Authorization: Bearer
//! <session token>`, or the browser's session cookie. Verified once per request by the gate,
//! against SHA-256 hashes compared in constant time, with a small in-memory cache so the
//! common case costs one hash and no database read.
use crate::crypto::{constant_time_eq, token_hash};
use crate::domain::account::AccountStatus;
use crate::domain::dates;
use crate::domain::sid::{AccountSid, SessionSid};
use crate::error::ApiError;
use crate::store::{self, Db};
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION, COOKIE};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::{engine::general_purpose::STANDARD, Engine};
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// The browser session cookie's name.
pub const SESSION_COOKIE: &str = "signpost_session";

/// A credential as presented, not yet verified.
#[derive(PartialEq, Eq)]
pub enum Credential {
    /// HTTP Basic.
    Basic {
        /// The account sid.
        user: String,
        /// The auth token.
        password: String,
    },
    /// A session token from `Authorization: Bearer`.
    Bearer(String),
    /// A session token from the cookie.
    Cookie(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { user, .. } => write!(f, "Basic({user}:<redacted>)"),
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credential::Cookie(_) => f.write_str("Cookie(<redacted>)"),
        }
    }
}

/// Parses an `Authorization` header value. Malformed values are errors with a reason (they
/// answer 401, never 500).
pub fn parse_authorization(value: &str) -> Result<Credential, &'static str> {
    let (scheme, rest) = value.trim().split_once(' ').ok_or("malformed Authorization header")?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).map_err(|_| "the Basic credentials are not valid base64")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or("the Basic credentials have no ':' between AccountSid and AuthToken")?;
        Ok(Credential::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err("the Bearer token is empty");
        }
        Ok(Credential::Bearer(rest.to_owned()))
    } else {
        Err("unsupported authorization scheme (use Basic or Bearer)")
    }
}

/// The credential a request carries: the `Authorization` header first, then the session cookie.
pub fn credential(headers: &HeaderMap) -> Result<Option<Credential>, &'static str> {
    if let Some(v) = headers.get(AUTHORIZATION) {
        let v = v.to_str().map_err(|_| "the Authorization header is not ASCII")?;
        return parse_authorization(v).map(Some);
    }
    for v in headers.get_all(COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == SESSION_COOKIE && !value.is_empty() {
                    return Ok(Some(Credential::Cookie(value.to_owned())));
                }
            }
        }
    }
    Ok(None)
}

/// How a caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// HTTP Basic with the auth token.
    Basic,
    /// A bearer session token.
    Bearer,
    /// The browser session cookie.
    Cookie,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account acting.
    pub account: AccountSid,
    /// The session used, for bearer and cookie callers.
    pub session: Option<SessionSid>,
    /// How.
    pub via: Via,
}

/// The outcome of checking a request's credentials, stored in the request's extensions.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials.
    Anonymous,
    /// Valid credentials.
    Caller(Caller),
    /// Credentials that were wrong, expired or malformed: the reason (safe to show).
    Invalid(&'static str),
}

impl Auth {
    /// The caller, if authenticated.
    pub fn caller(&self) -> Option<&Caller> {
        match self {
            Auth::Caller(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Clone)]
struct CachedSession {
    account: AccountSid,
    session: SessionSid,
    expires: i64,
}

/// Verifies credentials, with caches that are kept true by [`Authenticator::forget_account`]
/// and [`Authenticator::forget_session`] on every change.
pub struct Authenticator {
    db: Db,
    accounts: RwLock<HashMap<String, store::accounts::Credentials>>,
    sessions: RwLock<HashMap<[u8; 32], CachedSession>>,
    /// `Authorization: Basic` values already verified, and whose they are: a client sending the
    /// same credentials again costs one map lookup instead of decoding and hashing them.
    /// Emptied for an account by [`Authenticator::forget_account`].
    verified: RwLock<HashMap<Box<[u8]>, AccountSid>>,
    /// Bumped by every `forget_account`, so that a check that raced with it is not cached.
    generation: AtomicU64,
}

const CACHE_LIMIT: usize = 100_000;

impl Authenticator {
    /// An authenticator over the database.
    pub fn new(db: Db) -> Authenticator {
        Authenticator {
            db,
            accounts: RwLock::default(),
            sessions: RwLock::default(),
            verified: RwLock::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// Checks the request's credentials.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Auth {
        let authorization = headers.get(AUTHORIZATION).map(|v| v.as_bytes());
        if let Some(account) = authorization.and_then(|v| self.verified.read().ok()?.get(v).cloned()) {
            return Auth::Caller(Caller {
                account,
                session: None,
                via: Via::Basic,
            });
        }
        match credential(headers) {
            Ok(None) => Auth::Anonymous,
            Ok(Some(Credential::Basic { user, password })) => {
                let generation = self.generation.load(Ordering::SeqCst);
                let auth = self.basic(&user, &password).await;
                if let (Auth::Caller(c), Some(value), Ok(mut m)) = (&auth, authorization, self.verified.write()) {
                    if self.generation.load(Ordering::SeqCst) != generation {
                        return auth;
                    }
                    if m.len() >= CACHE_LIMIT {
                        m.clear();
                    }
                    m.insert(value.into(), c.account.clone());
                }
                auth
            }
            Ok(Some(Credential::Bearer(token))) => self.session(&token, Via::Bearer).await,
            Ok(Some(Credential::Cookie(token))) => self.session(&token, Via::Cookie).await,
            Err(reason) => Auth::Invalid(reason),
        }
    }

    async fn account_credentials(&self, sid: &AccountSid) -> Option<store::accounts::Credentials> {
        if let Some(c) = self.accounts.read().ok().and_then(|m| m.get(sid.as_str()).cloned()) {
            return Some(c);
        }
        let owned = sid.clone();
        let found = self
            .db
            .read(move |c| store::accounts::credentials(c, &owned))
            .await
            .ok()
            .flatten()?;
        if let Ok(mut m) = self.accounts.write() {
            if m.len() >= CACHE_LIMIT {
                m.clear();
            }
            m.insert(sid.to_string(), found.clone());
        }
        Some(found)
    }

    async fn basic(&self, user: &str, password: &str) -> Auth {
        let Some(sid) = AccountSid::parse(user) else {
            return Auth::Invalid("the username must be an AccountSid (AC followed by 32 hex digits)");
        };
        self.verify_basic(&sid, password).await
    }

    /// Checks an account's auth token.
    pub async fn verify_basic(&self, sid: &AccountSid, password: &str) -> Auth {
        let sid = sid.clone();
        let Some(creds) = self.account_credentials(&sid).await else {
            // Spend the same hashing work as a real check, so timing does not tell whether the sid exists.
            let _ = constant_time_eq(&token_hash(password), &[0u8; 32]);
            return Auth::Invalid("invalid AccountSid or AuthToken");
        };
        if !constant_time_eq(&token_hash(password), &creds.token_hash) {
            return Auth::Invalid("invalid AccountSid or AuthToken");
        }
        if creds.status != AccountStatus::Active {
            return Auth::Invalid("this account is not active");
        }
        Auth::Caller(Caller {
            account: sid,
            session: None,
            via: Via::Basic,
        })
    }

    async fn session(&self, token: &str, via: Via) -> Auth {
        let hash = token_hash(token);
        let now = dates::now();
        let cached = self.sessions.read().ok().and_then(|m| m.get(&hash).cloned());
        let found = match cached {
            Some(s) => Some(s),
            None => {
                let lookup = self
                    .db
                    .read(move |c| store::sessions::find_by_token(c, &hash, now))
                    .await
                    .ok()
                    .flatten();
                lookup.map(|s| {
                    let cached = CachedSession {
                        account: s.account_sid,
                        session: s.sid,
                        expires: s.date_expires,
                    };
                    if let Ok(mut m) = self.sessions.write() {
                        if m.len() >= CACHE_LIMIT {
                            m.clear();
                        }
                        m.insert(hash, cached.clone());
                    }
                    cached
                })
            }
        };
        let Some(s) = found else {
            return Auth::Invalid("the session token is unknown, expired or signed out");
        };
        if s.expires <= now {
            self.forget_session(&hash);
            return Auth::Invalid("the session has expired; sign in again");
        }
        match self.account_credentials(&s.account).await {
            Some(c) if c.status == AccountStatus::Active => Auth::Caller(Caller {
                account: s.account,
                session: Some(s.session),
                via,
            }),
            _ => Auth::Invalid("this account is not active"),
        }
    }

    /// Drops an account from the cache after its status or token changed.
    pub fn forget_account(&self, sid: &AccountSid) {
        if let Ok(mut m) = self.accounts.write() {
            m.remove(sid.as_str());
        }
        if let Ok(mut m) = self.verified.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            m.retain(|_, account| account != sid);
        }
    }

    /// Drops a session from the cache after it ended.
    pub fn forget_session(&self, token_hash: &[u8]) {
        if let (Ok(mut m), Ok(key)) = (self.sessions.write(), <[u8; 32]>::try_from(token_hash)) {
            m.remove(&key);
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Auth>() {
            Some(Auth::Caller(c)) => Ok(c.clone()),
            Some(Auth::Invalid(reason)) => Err(ApiError::unauthorized(format!("Authenticate: {reason}"))),
            _ => Err(ApiError::unauthorized(
                "Authenticate: this resource needs credentials (HTTP Basic AccountSid:AuthToken, or a session's bearer token)",
            )),
        })
    }
}

/// An optional caller: anonymous requests pass, wrong credentials still answer 401.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Ready<Result<MaybeCaller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Auth>() {
            Some(Auth::Caller(c)) => Ok(MaybeCaller(Some(c.clone()))),
            Some(Auth::Invalid(reason)) => Err(ApiError::unauthorized(format!("Authenticate: {reason}"))),
            _ => Ok(MaybeCaller(None)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> String {
        format!("Basic {}", STANDARD.encode(s))
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        assert_eq!(
            parse_authorization(&basic("AC1:tok:en")).unwrap(),
            Credential::Basic {
                user: "AC1".into(),
                password: "tok:en".into()
            }
        );
        assert_eq!(parse_authorization("bearer abc").unwrap(), Credential::Bearer("abc".into()));
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for bad in [
            "Basic",
            "Basic !!!notbase64",
            &basic("no-colon"),
            "Bearer ",
            "Digest x",
            "",
            "Basic /w==",
            "\u{0}",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn cookie_is_used_only_without_authorization() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=b; signpost_session=sp_x; c=d".parse().unwrap());
        assert_eq!(credential(&h).unwrap(), Some(Credential::Cookie("sp_x".into())));
        h.insert(AUTHORIZATION, "Bearer sp_y".parse().unwrap());
        assert_eq!(credential(&h).unwrap(), Some(Credential::Bearer("sp_y".into())));
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = parse_authorization(&basic("AC1:secret-token")).unwrap();
        assert!(!format!("{c:?}").contains("secret-token"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Basic credentials come back exactly as sent (the password may hold colons and any
        /// text), whatever the scheme's letter case and the spaces around the value.
        #[test]
        fn basic_credentials_round_trip(user in "[^:]{0,40}", password in ".{0,60}", scheme in "[bB][aA][sS][iI][cC]", pad in " {0,3}") {
            let header = format!("{pad}{scheme} {pad}{}{pad}", STANDARD.encode(format!("{user}:{password}")));
            prop_assert_eq!(parse_authorization(&header), Ok(Credential::Basic { user, password }));
        }

        /// A bearer token comes back exactly, without the spaces around it.
        #[test]
        fn bearer_tokens_round_trip(token in "[!-~]{1,80}", scheme in "[bB][eE][aA][rR][eE][rR]", pad in " {0,3}") {
            prop_assert_eq!(parse_authorization(&format!("{scheme} {pad}{token}{pad}")), Ok(Credential::Bearer(token)));
        }

        /// Any header value gives a credential or a reason, never a panic; a Basic user never holds a colon.
        #[test]
        fn any_authorization_is_a_credential_or_a_reason(value in ".{0,100}|(Basic|Bearer) [A-Za-z0-9+/=]{0,40}") {
            match parse_authorization(&value) {
                Ok(Credential::Basic { user, .. }) => prop_assert!(!user.contains(':')),
                Ok(Credential::Bearer(t)) => prop_assert!(!t.is_empty()),
                Ok(Credential::Cookie(_)) => prop_assert!(false, "a header is never a cookie"),
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
        }

        /// The session cookie is found among any other cookies, in any position.
        #[test]
        fn the_session_cookie_is_found_among_others(
            others in prop::collection::vec(("[a-z]{1,8}", "[A-Za-z0-9]{0,10}"), 0..6),
            at in any::<prop::sample::Index>(),
            token in "sp_[A-Za-z0-9_-]{10,43}",
        ) {
            let mut cookies: Vec<String> = others.iter().filter(|(n, _)| n != SESSION_COOKIE).map(|(n, v)| format!("{n}={v}")).collect();
            cookies.insert(at.index(cookies.len() + 1), format!("{SESSION_COOKIE}={token}"));
            let mut h = HeaderMap::new();
            h.insert(COOKIE, cookies.join("; ").parse().unwrap());
            prop_assert_eq!(credential(&h), Ok(Some(Credential::Cookie(token))));
        }
    }
}
