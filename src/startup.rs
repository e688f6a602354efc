//! Building and running the application; `main` and the tests share it (port 0 works).
use crate::config::Config;
use crate::crypto::Sealer;
use crate::dispatch::{self, Shutdown};
use crate::http::auth::Authenticator;
use crate::http::gate::gate;
use crate::http::ratelimit::RateLimiter;
use crate::state::AppState;
use crate::store::Db;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// A built, not yet running, server.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    db: Db,
    stop: watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    draining: Arc<AtomicBool>,
    signals: StopSignals,
}

fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<rustls::ServerConfig, String> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).map_err(|e| format!("{}: {e}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).map_err(|e| format!("{}: {e}", key.display()))?,
    ))
    .map_err(|e| format!("{}: {e}", key.display()))?
    .ok_or_else(|| format!("{}: no private key found", key.display()))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS: {e}"))
}

impl Application {
    /// Opens the database (creating it), loads the key, binds the listener, and prepares the
    /// server and its background workers. Errors say what to fix.
    pub async fn build(config: Config) -> Result<Application, String> {
        let started = std::time::Instant::now();
        let sealer = match &config.secret_key {
            Some(hex) => Sealer::from_hex(hex)?,
            None => Sealer::load_or_create(&config.key_path())?,
        };
        if !config.database.exists() {
            if config.secret_key.is_none() && config.key_path().exists() {
                // A key file without its database: the database was probably deleted or moved.
                tracing::warn!(
                    "the database {} does not exist, but its key file {} does: starting with a new, empty database. If this server had data, stop it and restore the database from a backup",
                    config.database.display(),
                    config.key_path().display()
                );
            } else {
                tracing::info!("creating a new database at {}", config.database.display());
            }
        }
        let db = Db::open(&config.database, config.read_pool_size()).map_err(|e| {
            let advice = match (e.advice(), &e) {
                (Some(advice), _) => format!(". What to do: {advice}"),
                // Its message says what to do (restore a backup, use a newer signpost).
                (None, crate::store::StoreError::Corrupt(_)) => String::new(),
                (None, _) => ". Check that the directory exists and is writable, or pass --database".to_owned(),
            };
            format!("cannot open the database {}: {e}{advice}", config.database.display())
        })?;
        let listener = TcpListener::bind(&config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let config = Arc::new(config);
        let dispatch_wake = Arc::new(Notify::new());
        let callbacks_wake = Arc::new(Notify::new());
        let draining = Arc::new(AtomicBool::new(false));
        // Installed before the server says it listens, so that a SIGTERM right after start-up
        // already stops it gracefully.
        let signals = StopSignals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
        let state = web::Data::new(AppState {
            db: db.clone(),
            auth: Authenticator::new(db.clone()),
            sealer: sealer.clone(),
            limiter: RateLimiter::new(config.rate_limit, config.rate_limit_window),
            idempotency: Default::default(),
            dispatch: dispatch_wake.clone(),
            config: config.clone(),
            draining: draining.clone(),
            anonymous_root: AppState::anonymous_root(config.open_signup),
        });
        let body_limit = config.body_limit;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| crate::error::ApiError::not_found(crate::hypermedia::uris::ROOT).into()),
                )
                .configure(crate::routes::configure)
                .wrap(from_fn(gate))
                .wrap(Compress::default())
        })
        .client_request_timeout(Duration::from_secs(config.client_timeout))
        .client_disconnect_timeout(Duration::from_secs(2))
        .shutdown_timeout(config.shutdown_timeout)
        // Signals are handled by `run_until_stopped`, which drains before stopping.
        .disable_signals()
        .max_connection_rate(1024);
        // Reads run on the workers' blocking threads, each holding one pooled connection: more
        // threads than connections would only queue on the pool (and cost memory and context
        // switches), so each worker gets its share of the pool.
        let workers = config.http_workers();
        server = server
            .workers(workers)
            .worker_max_blocking_threads((config.read_pool_size().max(1) as usize).div_ceil(workers));
        let scheme = if config.tls() { "https" } else { "http" };
        let server = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => server.listen_rustls_0_23(listener, tls_config(cert, key)?),
            _ => server.listen(listener),
        }
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?
        .run();

        let (stop, shutdown) = Shutdown::new();
        let workers = vec![
            tokio::spawn(dispatch::dispatcher::run(
                db.clone(),
                config.dispatch_interval_ms,
                dispatch_wake,
                callbacks_wake.clone(),
                shutdown.clone(),
            )),
            tokio::spawn(dispatch::callbacks::run(db.clone(), sealer, callbacks_wake, shutdown.clone())),
            tokio::spawn(housekeeping(db.clone(), shutdown)),
        ];
        if !config.tls() && !addr.ip().is_loopback() {
            tracing::warn!("listening on {addr} without TLS: Basic credentials and tokens would cross the network in clear text; use --tls-cert/--tls-key or a TLS proxy");
        }
        tracing::info!(
            "signpost listening on {scheme}://{addr} — data in {} (started in {} ms)",
            config.database.display(),
            started.elapsed().as_millis()
        );
        Ok(Application {
            addr,
            server,
            db,
            stop,
            workers,
            draining,
            signals,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop the server (gracefully with `stop(true)`).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or `handle().stop()`): in-flight requests finish, then the
    /// background workers stop and the database is checkpointed and closed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let signals = tokio::spawn(stop_on_signal(self.server.handle(), self.draining.clone(), self.signals));
        let result = self.server.await;
        signals.abort();
        tracing::info!("shutting down: stopping background workers");
        let _ = self.stop.send(true);
        for w in self.workers {
            let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
        }
        let db = self.db.clone();
        let _ = tokio::task::spawn_blocking(move || db.close()).await;
        tracing::info!("signpost stopped; database closed cleanly");
        result
    }
}

/// How long a stop drains before the listener closes: every answer in that time closes its
/// connection, so keep-alive clients are not cut off by a close racing their next request.
const DRAIN: Duration = Duration::from_millis(500);

/// SIGTERM and SIGINT (Ctrl-C), caught from start-up on.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// On SIGTERM / SIGINT: drain (answers close their connections), then stop gracefully (in-flight
/// requests get `--shutdown-timeout`); a second signal stops at once.
async fn stop_on_signal(handle: ServerHandle, draining: Arc<AtomicBool>, mut signals: StopSignals) {
    let signal = signals.next().await;
    tracing::info!("{signal} received: stopping; requests in flight finish, new answers close their connections");
    draining.store(true, Ordering::SeqCst);
    let graceful = async {
        tokio::time::sleep(DRAIN).await;
        handle.stop(true).await;
    };
    tokio::select! {
        _ = graceful => {}
        signal = signals.next() => {
            tracing::warn!("{signal} received again: stopping now, without waiting for requests in flight");
            handle.stop(false).await;
        }
    }
}

async fn housekeeping(db: Db, mut shutdown: Shutdown) {
    loop {
        let now = crate::domain::dates::now();
        let result = db
            .write(move |c| {
                let s = crate::store::sessions::purge_expired(c, now)?;
                let k = crate::store::idempotency::purge(c, now)?;
                Ok::<_, crate::store::StoreError>((s, k))
            })
            .await;
        if let Ok((s, k)) = result {
            if s + k > 0 {
                tracing::debug!(sessions = s, idempotency_keys = k, "purged expired records");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = shutdown.wait() => break,
        }
    }
}
