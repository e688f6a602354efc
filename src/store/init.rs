//! Opening the database: connection settings, and `schema.sql` applied on every start.
use super::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// The schema version this build writes (`PRAGMA user_version`). A database with a newer
/// version was written by a newer signpost and is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 1;

/// The one schema, compiled into the binary.
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// Settings every connection gets. WAL lets readers run beside the one writer; `synchronous =
/// NORMAL` in WAL mode makes a commit durable against a crash of the process (not against
/// power loss: see docs/reliability.md); `busy_timeout` lets a reader wait out a checkpoint.
/// The writer keeps an 8 MiB page cache; each reader 2 MiB (the pool has several, and pages
/// that fall out of a reader's cache are still in the operating system's), so that memory stays
/// small whatever the database's size.
pub fn configure(conn: &mut Connection, writer: bool) -> Result<(), rusqlite::Error> {
    conn.execute_batch(
        "PRAGMA busy_timeout = 5000;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA cache_size = -8000;
         PRAGMA temp_store = MEMORY;",
    )?;
    if !writer {
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -2000;")?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Databases up to this size are checked (`PRAGMA quick_check`) before the server listens;
/// larger ones right after, in the background ([`verify`]), so that start-up does not grow with
/// the data (a 1,000,000-message database takes about 0.7 s to check).
pub const CHECK_BEFORE_START_BYTES: i64 = 16 * 1024 * 1024;

/// Whether [`open_writer`] checked the file, or left it to [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Checked before start: it is sound.
    Before,
    /// Larger than [`CHECK_BEFORE_START_BYTES`]: to be checked in the background.
    Later,
}

/// Opens the writer connection, creating the file if needed, and applies the schema.
pub fn open_writer(path: &Path) -> Result<(Connection, Checked), StoreError> {
    let mut conn = Connection::open(path)?;
    // Fails on a file that is not a database, before anything is written to it.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("SQLite refused WAL mode (got {mode}); writes will block reads");
    }
    configure(&mut conn, true)?;
    conn.execute_batch("PRAGMA wal_autocheckpoint = 4000;")?;
    let checked = apply_schema(&conn)?;
    Ok((conn, checked))
}

/// Runs `PRAGMA quick_check` on `conn`: `Err` with SQLite's findings when the file is damaged.
fn quick_check(conn: &Connection) -> Result<(), StoreError> {
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check == "ok" {
        return Ok(());
    }
    Err(StoreError::Corrupt(format!(
        "integrity check failed: {}; restore the database from a backup",
        check.trim().replace('\n', "; ")
    )))
}

/// The background check of a database too large to check before start: opens its own read-only
/// connection (a read transaction beside the writer, thanks to WAL) and runs `quick_check`.
pub fn verify(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -2000;")?;
    quick_check(&conn)
}

/// Applies `schema.sql` (idempotent) and records the version; refuses a newer database, and a
/// damaged one when it is small enough to check now.
pub fn apply_schema(conn: &Connection) -> Result<Checked, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {version}, newer than this signpost understands ({SCHEMA_VERSION}); use a newer signpost"
        )));
    }
    let bytes: i64 = conn.query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?;
    let checked = if bytes <= CHECK_BEFORE_START_BYTES {
        quick_check(conn)?;
        Checked::Before
    } else {
        Checked::Later
    };
    conn.execute_batch(&format!("BEGIN; {SCHEMA}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))?;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_applies_twice_and_records_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(open_writer(&path).unwrap());
        let (conn, checked) = open_writer(&path).unwrap();
        assert_eq!(checked, Checked::Before, "a small database is checked before start");
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        std::fs::write(&path, b"this is not a database, it is a text file that is long enough").unwrap();
        assert!(open_writer(&path).is_err());
    }
}
