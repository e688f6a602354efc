//! Structured logging with `tracing`. Log lines never carry credentials: the access line
//! (see [`crate::http::gate`]) logs method, path, status, duration and request id only.
//!
//! Lines are formatted on the thread that logs them and appended to a shared buffer; one
//! background thread writes the buffer out in batches. Under load that is one `write` per
//! [`GATHER`] instead of one per request, and no request waits on standard output's lock, a
//! system call, or waking a thread per line (what `tracing-appender`'s non-blocking writer does:
//! it flushes whenever its queue is momentarily empty, which under load means after every line).
//! A line is on standard output at most [`GATHER`] after it was logged; everything logged is
//! written out when the [`LogGuard`] is dropped.
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{fmt, EnvFilter};

/// How long the writer gathers lines after the first one of a batch.
pub const GATHER: Duration = Duration::from_millis(10);

/// Past this many buffered bytes, the logging thread waits for the writer (back-pressure
/// instead of unbounded memory, or lost lines, when standard output is slower than the logs).
const MAX_BUFFERED: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Shared {
    state: Mutex<Pending>,
    /// Signalled when the buffer goes from empty to not empty, or on stop.
    wake: Condvar,
    /// Signalled when the writer has taken the buffer (for loggers waiting on a full one).
    taken: Condvar,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The subscriber's writer: hands out one [`Line`] per event.
#[derive(Clone)]
struct BatchWriter(Arc<Shared>);

/// One event's bytes, appended to the shared buffer in one piece when dropped.
struct Line<'a> {
    shared: &'a Shared,
    bytes: Vec<u8>,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.bytes.is_empty() {
            return;
        }
        let mut pending = self.shared.lock();
        while pending.buf.len() >= MAX_BUFFERED && !pending.stop {
            pending = self.shared.taken.wait(pending).unwrap_or_else(|p| p.into_inner());
        }
        if pending.stop {
            // The writer is gone (the process is ending): write directly.
            drop(pending);
            let _ = std::io::stdout().lock().write_all(&self.bytes);
            return;
        }
        let was_empty = pending.buf.is_empty();
        pending.buf.extend_from_slice(&self.bytes);
        drop(pending);
        if was_empty {
            self.shared.wake.notify_one();
        }
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            shared: &self.0,
            bytes: Vec::with_capacity(256),
        }
    }
}

fn write_out(shared: &Shared) {
    let mut spare = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.buf.is_empty() && !pending.stop {
            pending = shared.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
        }
        if !pending.stop {
            // Let the batch gather.
            drop(pending);
            std::thread::sleep(GATHER);
            pending = shared.lock();
        }
        std::mem::swap(&mut pending.buf, &mut spare);
        let stop = pending.stop;
        drop(pending);
        shared.taken.notify_all();
        // Standard output is locked per batch only: `println!` elsewhere must not wait forever.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&spare).and_then(|()| out.flush());
        drop(out);
        spare.clear();
        if spare.capacity() > MAX_BUFFERED {
            spare = Vec::new();
        }
        if stop {
            return;
        }
    }
}

/// Keeps the log writer running; dropping it writes out what is buffered and stops it. Keep it
/// for the life of the process (`main` holds it until it returns).
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    writer: Option<(Arc<Shared>, JoinHandle<()>)>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some((shared, handle)) = self.writer.take() {
            shared.lock().stop = true;
            shared.wake.notify_one();
            shared.taken.notify_all();
            let _ = handle.join();
        }
    }
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive such as `info` or
/// `signpost=debug,actix_web=info`. Calling it twice (as tests do) is harmless: the second call
/// changes nothing. Colours only on a terminal: a log file or pipe gets plain text (and the
/// access line costs less to write).
pub fn init(level: &str) -> LogGuard {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let shared = Arc::new(Shared::default());
    let installed = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(BatchWriter(shared.clone()))
        .try_init()
        .is_ok();
    if !installed {
        return LogGuard { writer: None };
    }
    let for_thread = shared.clone();
    match std::thread::Builder::new()
        .name("signpost-log".into())
        .spawn(move || write_out(&for_thread))
    {
        Ok(handle) => LogGuard {
            writer: Some((shared, handle)),
        },
        Err(e) => {
            // No writer thread: lines are written by the threads that log them.
            shared.lock().stop = true;
            eprintln!("signpost: cannot start the log writer thread ({e}); logging synchronously");
            LogGuard { writer: None }
        }
    }
}
