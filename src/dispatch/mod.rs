//! The background workers started with the server and stopped on shutdown:
//! - the [`dispatcher`] moves messages through their statuses (queued → sending → sent →
//!   delivered, or a failure for the reserved numbers), delivers messages between accounts, and
//!   records status callbacks in the same transaction as each change;
//! - the [`callbacks`] sender POSTs those callbacks, signed as Twilio signs them, with retries.
//!
//! Both keep their state in SQLite only, so a crash or restart resumes where they were.
pub mod callbacks;
pub mod dispatcher;

use tokio::sync::watch;

/// Tells the workers to stop.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Whether stopping was asked.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when stopping is asked.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}
