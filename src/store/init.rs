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

/// Opens the writer connection, creating the file if needed, and applies the schema.
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    // Fails on a file that is not a database, before anything is written to it.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("SQLite refused WAL mode (got {mode}); writes will block reads");
    }
    configure(&mut conn, true)?;
    conn.execute_batch("PRAGMA wal_autocheckpoint = 4000;")?;
    apply_schema(&conn)?;
    Ok(conn)
}

/// Applies `schema.sql` (idempotent) and records the version; refuses a newer database.
pub fn apply_schema(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {version}, newer than this signpost understands ({SCHEMA_VERSION}); use a newer signpost"
        )));
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!(
            "integrity check failed: {}; restore the database from a backup",
            check.trim().replace('\n', "; ")
        )));
    }
    conn.execute_batch(&format!("BEGIN; {SCHEMA}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_applies_twice_and_records_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(open_writer(&path).unwrap());
        let conn = open_writer(&path).unwrap();
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
