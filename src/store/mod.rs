//! Storage: the only module that names rusqlite.
//!
//! Reads run on a pool of connections (WAL lets them run beside the writer). Writes all go
//! through one writer thread with one connection, which commits them in groups: each write is
//! its own savepoint inside the group's transaction (so one failing write rolls back alone),
//! and each caller gets its answer only after the group's COMMIT. SQLite has one write lock;
//! queuing writers here instead of on that lock means no `database is locked` ever reaches a
//! client, and one fsync serves many writes.
pub mod accounts;
pub mod callbacks;
pub mod checkpoint;
pub mod idempotency;
pub mod init;
pub mod media;
pub mod messages;
pub mod sessions;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

pub use rusqlite::OptionalExtension;

/// What can go wrong in storage.
#[derive(Debug, derive_more::Display, derive_more::From, derive_more::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[display("sqlite: {_0}")]
    Sqlite(rusqlite::Error),
    /// No pooled connection could be had in time.
    #[display("connection pool: {_0}")]
    Pool(r2d2::Error),
    /// The writer thread is gone (the server is shutting down).
    #[from(skip)]
    #[display("the storage writer has stopped")]
    Closed,
    /// Stored data is not what the schema promises (e.g. a corrupt encrypted token).
    #[from(skip)]
    #[display("corrupt data: {_0}")]
    Corrupt(#[error(not(source))] String),
    /// The database file was deleted or replaced while the server ran: writes are refused, as
    /// they would go to a file that no later start would open.
    #[from(skip)]
    #[display("the database file {_0} was deleted or replaced while signpost was running")]
    Moved(#[error(not(source))] String),
    /// The background integrity check found the file damaged: writes are refused, so that
    /// nothing more is written into a damaged file.
    #[from(skip)]
    #[display("the database file is damaged: {_0}")]
    Damaged(#[error(not(source))] String),
}

impl StoreError {
    /// True when the database cannot take the work right now or at all (busy, read-only, disk
    /// full, I/O error, shutting down): clients get a 503, not a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::ReadOnly
                        | ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::CannotOpen
                        | ErrorCode::DatabaseCorrupt
                        | ErrorCode::NotADatabase
                )
            ),
            StoreError::Pool(_) | StoreError::Closed | StoreError::Moved(_) | StoreError::Damaged(_) => true,
            StoreError::Corrupt(_) => false,
        }
    }

    /// What an operator can do about it, when there is something to say.
    pub fn advice(&self) -> Option<&'static str> {
        let StoreError::Sqlite(e) = self else {
            return match self {
                StoreError::Moved(_) => Some(
                    "writes are refused until signpost is restarted; while it runs, the data can still be copied from the file it holds open (ls -l /proc/<pid>/fd)",
                ),
                StoreError::Damaged(_) => Some(
                    "writes are refused; stop signpost and restore the database from a backup (docs/reliability.md), or copy out what still reads (sqlite3 .recover)",
                ),
                _ => None,
            };
        };
        Some(match e.sqlite_error_code()? {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                "the file is not a signpost database or it is damaged: restore it from a backup (docs/reliability.md), or move it aside to start with an empty database"
            }
            ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                "signpost must be able to write the file and its directory (SQLite keeps -wal and -shm files beside it): check permissions, attributes (lsattr) and that the file system is not read-only"
            }
            ErrorCode::DiskFull => "the disk is full: free some space; writes answer 503 until then",
            ErrorCode::SystemIoFailure => {
                "the operating system refused a read or write: check that the file system is neither full nor read-only, the file's attributes (lsattr), and the disk (dmesg)"
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => "another process holds the database: is a second signpost running on it?",
            _ => return None,
        })
    }

    /// True for a UNIQUE / PRIMARY KEY violation.
    pub fn is_constraint(&self) -> bool {
        matches!(self, StoreError::Sqlite(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation))
    }
}

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A queued write. Called with `None` when it cannot run (no transaction could be opened):
/// it then skips its work and its completion delivers the error.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Completion) + Send>;

enum Command {
    Job(Job),
    Stop,
}

/// The database: a read pool and the group-committing writer. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    writer: Arc<Writer>,
}

struct Writer {
    tx: mpsc::Sender<Command>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// Most writes one group commit takes; more wait for the next group.
const MAX_GROUP: usize = 512;

impl Db {
    /// Opens (creating if needed) the database at `path`, applies `schema.sql`, and starts the writer.
    pub fn open(path: &Path, pool_size: u32) -> Result<Db, StoreError> {
        let (writer_conn, checked) = init::open_writer(path)?;
        let checkpointer = checkpoint::Checkpointer::start(path, &writer_conn);
        let watch = FileWatch::new(path);
        if checked == init::Checked::Later {
            verify_in_background(path, watch.damaged.clone());
        }
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(|c| init::configure(c, false));
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(5))
            .build(manager)?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("signpost-writer".into())
            .spawn(move || run_writer(writer_conn, rx, watch, checkpointer))
            .map_err(|e| StoreError::Corrupt(format!("cannot start writer thread: {e}")))?;
        Ok(Db {
            pool,
            writer: Arc::new(Writer {
                tx,
                handle: Mutex::new(Some(handle)),
            }),
        })
    }

    /// Runs a read on a pooled connection, off the async workers.
    pub async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&Connection) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        // pool.get() can block too, so it runs inside the blocking closure.
        match actix_web::web::block(move || {
            let conn = pool.get().map_err(StoreError::from)?;
            f(&conn)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => Err(StoreError::Closed.into()),
        }
    }

    /// Runs a read synchronously (for start-up and background threads).
    pub fn read_blocking<R>(&self, f: impl FnOnce(&Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let conn = self.pool.get()?;
        f(&conn)
    }

    /// Runs a write as one atomic unit: `f` sees a connection inside a savepoint; if it
    /// returns an error, everything it did is rolled back. The answer comes after COMMIT.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&Connection) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<R, E>>();
        // A write of a request sent with an Idempotency-Key takes the key in the same transaction.
        let pending = idempotency::current();
        let job: Job = Box::new(move |conn| {
            let mut result = match conn {
                Some(conn) => f(conn),
                None => Err(StoreError::Closed.into()),
            };
            if let (true, Some(conn), Some(p)) = (result.is_ok(), conn, &pending) {
                if let Err(e) = idempotency::reserve(conn, p, crate::domain::dates::now()) {
                    result = Err(e.into());
                }
            }
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(e.into()),
                });
            });
            (ok, completion)
        });
        self.writer.tx.send(Command::Job(job)).map_err(|_| StoreError::Closed)?;
        rx.await.unwrap_or_else(|_| Err(StoreError::Closed.into()))
    }

    /// Stops the writer after the writes already queued, checkpoints the WAL, and waits for it.
    pub fn close(&self) {
        let _ = self.writer.tx.send(Command::Stop);
        if let Some(handle) = self.writer.handle.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

/// The database and WAL files the writer has open, as (device, inode). If the path stops naming
/// them (deleted, or replaced while running), a commit would still succeed — into a file that no
/// later start opens — and the write would be lost silently; so writes are refused instead.
struct FileWatch {
    path: std::path::PathBuf,
    wal: std::path::PathBuf,
    db_id: Option<(u64, u64)>,
    wal_id: Option<(u64, u64)>,
    reported: bool,
    /// Set by the background integrity check when it finds the file damaged.
    damaged: Arc<std::sync::OnceLock<String>>,
}

/// Checks a database too large to check before start, on its own thread, right after start.
/// A damaged file is logged with what to do, and from then on writes are refused (503).
fn verify_in_background(path: &Path, damaged: Arc<std::sync::OnceLock<String>>) {
    let path = path.to_path_buf();
    let spawned = std::thread::Builder::new().name("signpost-verify".into()).spawn(move || {
        let started = std::time::Instant::now();
        match init::verify(&path) {
            Ok(()) => tracing::info!(
                "integrity check of {}: ok ({} ms, in the background)",
                path.display(),
                started.elapsed().as_millis()
            ),
            Err(e) => {
                let e = StoreError::Damaged(e.to_string());
                tracing::error!("{e}. What to do: {}", e.advice().unwrap_or_default());
                let _ = damaged.set(e.to_string());
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the background integrity check: {e}");
    }
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &Path) -> Option<(u64, u64)> {
    None
}

impl FileWatch {
    fn new(path: &Path) -> FileWatch {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::path::PathBuf::from(wal);
        FileWatch {
            db_id: file_id(path),
            wal_id: file_id(&wal),
            path: path.to_path_buf(),
            wal,
            reported: false,
            damaged: Arc::default(),
        }
    }

    /// Ok while the files on disk are the ones the writer has open (two `stat`s per group).
    fn check(&mut self) -> Result<(), StoreError> {
        if let Some(why) = self.damaged.get() {
            return Err(StoreError::Damaged(why.clone()));
        }
        let Some(db_id) = self.db_id else { return Ok(()) };
        if self.wal_id.is_none() {
            self.wal_id = file_id(&self.wal);
        }
        let same = file_id(&self.path) == Some(db_id) && self.wal_id.map_or(true, |id| file_id(&self.wal) == Some(id));
        if same {
            return Ok(());
        }
        let e = StoreError::Moved(self.path.display().to_string());
        if !self.reported {
            self.reported = true;
            tracing::error!("{e}: {}", e.advice().unwrap_or_default());
        }
        Err(e)
    }
}

fn run_writer(conn: Connection, rx: mpsc::Receiver<Command>, mut watch: FileWatch, checkpointer: Option<checkpoint::Checkpointer>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut stopping = false;
    while !stopping {
        match rx.recv() {
            Ok(Command::Job(job)) => group.push(job),
            Ok(Command::Stop) | Err(_) => break,
        }
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(Command::Job(job)) => group.push(job),
                Ok(Command::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_group(&conn, group.drain(..), &mut watch);
        if let Some(c) = &checkpointer {
            c.after_group(&conn);
        }
    }
    // Writes queued behind Stop still get an answer.
    while let Ok(Command::Job(job)) = rx.try_recv() {
        group.push(job);
    }
    commit_group(&conn, group.drain(..), &mut watch);
    drop(checkpointer);
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA optimize;") {
        tracing::warn!("final WAL checkpoint failed: {e}");
    }
    tracing::debug!("storage writer stopped");
}

fn commit_group(conn: &Connection, jobs: impl ExactSizeIterator<Item = Job>, watch: &mut FileWatch) {
    if jobs.len() == 0 {
        return;
    }
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!("cannot begin a write transaction: {e}");
        for job in jobs {
            let (_, done) = job(None);
            done(Err(clone_sqlite(&e)));
        }
        return;
    }
    let mut completions = Vec::with_capacity(jobs.len());
    for job in jobs {
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            tracing::error!("cannot open a savepoint: {e}");
            let (_, done) = job(None);
            done(Err(clone_sqlite(&e)));
            continue;
        }
        let (ok, done) = job(Some(conn));
        let end = if ok {
            exec(conn, "RELEASE job")
        } else {
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
        };
        if let Err(e) = end {
            tracing::error!("cannot close a savepoint: {e}");
        }
        completions.push(done);
    }
    if let Err(refused) = watch.check() {
        let _ = conn.execute_batch("ROLLBACK");
        completions.into_iter().for_each(|done| {
            done(Err(match &refused {
                StoreError::Damaged(why) => StoreError::Damaged(why.clone()),
                _ => StoreError::Moved(watch.path.display().to_string()),
            }))
        });
        return;
    }
    match exec(conn, "COMMIT") {
        Ok(()) => completions.into_iter().for_each(|done| done(Ok(()))),
        Err(e) => {
            tracing::error!("group commit failed: {e}");
            let _ = conn.execute_batch("ROLLBACK");
            completions.into_iter().for_each(|done| done(Err(clone_sqlite(&e))));
        }
    }
}

/// Runs one statement from the connection's statement cache: the writer runs BEGIN, COMMIT and a
/// SAVEPOINT/RELEASE pair per write thousands of times a second, and `execute_batch` would parse
/// each of them anew every time.
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// rusqlite errors are not `Clone`; rebuild the SQLite failure (code + message) for each caller.
fn clone_sqlite(e: &rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => StoreError::Sqlite(rusqlite::Error::SqliteFailure(*f, msg.clone())),
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// Where a page starts, as a keyset position (so page 1000 costs what page 1 costs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The first page.
    First,
    /// The page that follows the item at this position.
    After(i64),
    /// The page that precedes the item at this position.
    Before(i64),
}

/// A page request: how many items, from where.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Items per page.
    pub size: u32,
    /// Where it starts.
    pub cursor: Cursor,
}

/// One page of items, with what the neighbouring pages need.
#[derive(Debug)]
pub struct Slice<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Position of the first item (for a `prev` cursor).
    pub first_pos: Option<i64>,
    /// Position of the last item (for a `next` cursor).
    pub last_pos: Option<i64>,
    /// Whether a next page exists.
    pub has_next: bool,
    /// Whether a previous page exists.
    pub has_prev: bool,
}

impl Window {
    /// SQL condition on `col` for a list in descending order (newest first). Uses `:pos`.
    pub fn condition_desc(&self, col: &str) -> String {
        match self.cursor {
            Cursor::First => "(:pos = 0)".into(),
            Cursor::After(_) => format!("{col} < :pos"),
            Cursor::Before(_) => format!("{col} > :pos"),
        }
    }

    /// Sort direction for a descending list.
    pub fn order_desc(&self) -> &'static str {
        if matches!(self.cursor, Cursor::Before(_)) {
            "ASC"
        } else {
            "DESC"
        }
    }

    /// SQL condition on `col` for a list in ascending order (oldest first). Uses `:pos`.
    pub fn condition_asc(&self, col: &str) -> String {
        match self.cursor {
            Cursor::First => "(:pos = 0)".into(),
            Cursor::After(_) => format!("{col} > :pos"),
            Cursor::Before(_) => format!("{col} < :pos"),
        }
    }

    /// Sort direction for an ascending list.
    pub fn order_asc(&self) -> &'static str {
        if matches!(self.cursor, Cursor::Before(_)) {
            "DESC"
        } else {
            "ASC"
        }
    }

    /// The `:pos` parameter.
    pub fn position(&self) -> i64 {
        match self.cursor {
            Cursor::First => 0,
            Cursor::After(p) | Cursor::Before(p) => p,
        }
    }

    /// The `:limit` parameter: one more than the page, to learn whether another page exists.
    pub fn limit(&self) -> i64 {
        self.size as i64 + 1
    }

    /// Turns `limit()` rows of (position, item) into a page.
    pub fn slice<T>(&self, mut rows: Vec<(i64, T)>) -> Slice<T> {
        let more = rows.len() > self.size as usize;
        rows.truncate(self.size as usize);
        if matches!(self.cursor, Cursor::Before(_)) {
            rows.reverse();
        }
        let (has_next, has_prev) = match self.cursor {
            Cursor::First => (more, false),
            Cursor::After(_) => (more, true),
            Cursor::Before(_) => (true, more),
        };
        Slice {
            first_pos: rows.first().map(|r| r.0),
            last_pos: rows.last().map(|r| r.0),
            items: rows.into_iter().map(|r| r.1).collect(),
            has_next,
            has_prev,
        }
    }
}
