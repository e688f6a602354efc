//! The application state shared by every request (one `web::Data<AppState>`).
use crate::config::Config;
use crate::crypto::Sealer;
use crate::http::auth::Authenticator;
use crate::http::idempotency::InFlight;
use crate::http::ratelimit::RateLimiter;
use crate::store::Db;
use std::sync::Arc;
use tokio::sync::Notify;

/// Everything handlers and middleware share.
pub struct AppState {
    /// Storage.
    pub db: Db,
    /// Settings.
    pub config: Arc<Config>,
    /// Credential checks and their caches.
    pub auth: Authenticator,
    /// Encrypts auth tokens at rest.
    pub sealer: Sealer,
    /// Per-credential request budgets.
    pub limiter: RateLimiter,
    /// Idempotency keys being answered right now.
    pub idempotency: InFlight,
    /// Wakes the dispatcher when a message is created.
    pub dispatch: Arc<Notify>,
    /// Set once a stop was asked (SIGTERM / SIGINT): every answer then closes its connection.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// The root as every anonymous caller sees it, rendered once per format.
    pub anonymous_root: Arc<crate::representation::reply::Prepared>,
}

impl AppState {
    /// The root for callers without credentials: the same for all of them, so rendered once.
    pub fn anonymous_root(open_signup: bool) -> Arc<crate::representation::reply::Prepared> {
        let page = crate::representation::html::PageContext {
            open_signup,
            ..Default::default()
        };
        Arc::new(crate::representation::reply::Prepared::new(
            move || {
                crate::hypermedia::model::root(crate::hypermedia::model::Viewer {
                    account: None,
                    session: None,
                    open_signup,
                })
            },
            page,
        ))
    }

    /// Who is looking, for the resource model.
    pub fn viewer<'a>(&self, caller: Option<&'a crate::http::auth::Caller>) -> crate::hypermedia::model::Viewer<'a> {
        crate::hypermedia::model::Viewer {
            account: caller.map(|c| &c.account),
            session: caller.and_then(|c| c.session.as_ref()),
            open_signup: self.config.open_signup,
        }
    }
}
