//! Structured logging with `tracing`. Log lines never carry credentials: the access line
//! (see [`crate::http::gate`]) logs method, path, status, duration and request id only.
use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber. `level` is an `EnvFilter` directive such as `info` or
/// `signpost=debug,actix_web=info`. Calling it twice (as tests do) is harmless. Colours only on
/// a terminal: a log file or pipe gets plain text (and the access line costs less to write).
pub fn init(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .try_init();
}
