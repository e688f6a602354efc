//! Settings: every one is a `--flag` and a `SIGNPOST_FLAG` environment variable (CONTRACT §10).
use clap::{ArgAction, Parser};
use std::path::PathBuf;

/// The server's configuration. `Debug` is derived on purpose only over non-secret fields:
/// the secret key is redacted.
#[derive(Parser, Clone)]
#[command(
    name = "signpost",
    version,
    about = "A hypermedia-driven HTTP API server speaking Twilio's 2010-04-01 REST API"
)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free port).
    #[arg(long, env = "SIGNPOST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The SQLite database file; created with the schema on first start.
    #[arg(long, env = "SIGNPOST_DATABASE", default_value = "signpost.db")]
    pub database: PathBuf,
    /// File holding the key that encrypts auth tokens at rest; created (mode 0600) on first
    /// start. Default: the database path with `.key` appended.
    #[arg(long, env = "SIGNPOST_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The encryption key itself (64 hex digits), instead of a key file.
    #[arg(long, env = "SIGNPOST_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Log filter (`error`, `warn`, `info`, `debug`, or an EnvFilter directive).
    #[arg(long, env = "SIGNPOST_LOG", default_value = "info")]
    pub log: String,
    /// Whether anyone may create an account from the root (`true`), or only an authenticated
    /// account may create sub-accounts (`false`).
    #[arg(long, env = "SIGNPOST_OPEN_SIGNUP", default_value_t = true, action = ArgAction::Set)]
    pub open_signup: bool,
    /// Requests allowed per credential (or per client address when anonymous) per window; 0 turns rate limiting off.
    #[arg(long, env = "SIGNPOST_RATE_LIMIT", default_value_t = 1000)]
    pub rate_limit: u32,
    /// The rate-limit window in seconds.
    #[arg(long, env = "SIGNPOST_RATE_LIMIT_WINDOW", default_value_t = 60)]
    pub rate_limit_window: u64,
    /// Largest request body accepted, in bytes (larger bodies answer 413).
    #[arg(long, env = "SIGNPOST_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,
    /// Lifetime of a session (bearer token / browser sign-in), in seconds.
    #[arg(long, env = "SIGNPOST_SESSION_TTL", default_value_t = 24 * 3600)]
    pub session_ttl: i64,
    /// Time between two steps of the message dispatcher (queued → sending → sent → delivered), in milliseconds.
    #[arg(long, env = "SIGNPOST_DISPATCH_INTERVAL_MS", default_value_t = 250)]
    pub dispatch_interval_ms: u64,
    /// Hosts that status callbacks may be sent to (comma separated; `*` = any, the default).
    #[arg(long, env = "SIGNPOST_CALLBACK_ALLOW", value_delimiter = ',', default_value = "*")]
    pub callback_allow: Vec<String>,
    /// Origins allowed by CORS (comma separated; `*` = any, the default).
    #[arg(long, env = "SIGNPOST_CORS_ORIGINS", value_delimiter = ',', default_value = "*")]
    pub cors_origins: Vec<String>,
    /// Number of connections in the read pool (0, the default: two per HTTP worker).
    #[arg(long, env = "SIGNPOST_POOL_SIZE", default_value_t = 0)]
    pub pool_size: u32,
    /// Number of HTTP worker threads (default: one per core).
    #[arg(long, env = "SIGNPOST_WORKERS")]
    pub workers: Option<usize>,
    /// PEM certificate chain: serve HTTPS with rustls (needs --tls-key).
    #[arg(long, env = "SIGNPOST_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "SIGNPOST_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client may take to send its request head before it is cut off (slow clients).
    #[arg(long, env = "SIGNPOST_CLIENT_TIMEOUT", default_value_t = 10)]
    pub client_timeout: u64,
    /// Seconds in-flight requests get to finish on SIGTERM / Ctrl-C.
    #[arg(long, env = "SIGNPOST_SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,
}

impl Config {
    /// A configuration with every default, for tests and tools: equivalent to `signpost` with no flags.
    pub fn defaults() -> Config {
        Config::parse_from(["signpost"])
    }

    /// Where the encryption key lives when it is not given directly.
    pub fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| {
            let mut p = self.database.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        })
    }

    /// The number of HTTP worker threads: `--workers` (1 to 512), or one per core.
    pub fn http_workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 512)
    }

    /// The number of read connections: `--pool-size`, or two per HTTP worker. Reads are short
    /// and CPU-bound (the pages are in memory), so more connections than that only add memory
    /// (each has its own page cache) and threads waiting for a core.
    pub fn read_pool_size(&self) -> u32 {
        match self.pool_size {
            0 => (2 * self.http_workers()).min(u32::MAX as usize) as u32,
            n => n,
        }
    }

    /// Whether the server speaks TLS.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database", &self.database)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("open_signup", &self.open_signup)
            .field("rate_limit", &self.rate_limit)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}
