//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside the COMMIT that
//! crosses its threshold: the writer thread then copies megabytes into the database file and
//! waits for two fsyncs while every queued write waits behind it (the long tail of writes). Here
//! the writer's automatic checkpoint is off, and a thread of its own, with its own connection,
//! runs a PASSIVE checkpoint (which never blocks the writer or readers) shortly after writes.
//!
//! A PASSIVE checkpoint cannot restart the WAL while writes keep arriving (SQLite rewinds it
//! only when a write finds every frame copied), so under writes that never pause the file would
//! grow without bound: once it holds [`RESTART_FRAMES`] the writer runs a RESTART checkpoint
//! itself between two groups. By then the checkpoint thread has copied nearly everything, so
//! that pause is short; and `journal_size_limit` trims the file after a rewind.
//! Durability is unchanged: a commit is what it was; checkpoints only move committed pages
//! into the database file (and sync the WAL before they do).
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// WAL frames past which the writer rewinds the WAL (16 MiB of 4 KiB pages: SQLite's automatic
/// checkpoint threshold, which this replaces, was 4,000).
pub const RESTART_FRAMES: i64 = 4096;

/// How long the checkpointer lets writes gather before it copies them.
const PAUSE: Duration = Duration::from_millis(200);

/// The checkpointer thread, as the writer sees it.
pub struct Checkpointer {
    poke: Option<mpsc::SyncSender<()>>,
    wanted: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`. Without one (it could not open the
    /// file or start the thread), the writer's own automatic checkpoint stays on instead.
    pub fn start(path: &Path, writer: &Connection) -> Option<Checkpointer> {
        let conn = Connection::open(path).ok()?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;").ok()?;
        let (poke, rx) = mpsc::sync_channel::<()>(1);
        let wanted = Arc::new(AtomicBool::new(false));
        let flag = wanted.clone();
        let handle = std::thread::Builder::new()
            .name("signpost-checkpoint".into())
            .spawn(move || run(conn, rx, flag))
            .ok()?;
        if writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;")
            .is_err()
        {
            drop(poke);
            let _ = handle.join();
            return None;
        }
        Some(Checkpointer {
            poke: Some(poke),
            wanted,
            handle: Some(handle),
        })
    }

    /// Called by the writer after each group: wakes the thread (never blocks), and runs the
    /// RESTART checkpoint when the WAL has grown past [`RESTART_FRAMES`].
    pub fn after_group(&self, writer: &Connection) {
        if let Some(poke) = &self.poke {
            let _ = poke.try_send(());
        }
        if self.wanted.swap(false, Ordering::Relaxed) {
            if let Err(e) = writer.execute_batch("PRAGMA wal_checkpoint(RESTART);") {
                tracing::warn!("WAL checkpoint (restart) failed: {e}");
            }
        }
    }

    /// Stops the thread and waits for it (before the writer's final checkpoint).
    pub fn stop(&mut self) {
        self.poke.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<()>, wanted: Arc<AtomicBool>) {
    while rx.recv().is_ok() {
        std::thread::sleep(PAUSE);
        // Writes that arrived during the pause are covered by this checkpoint.
        let _ = rx.try_recv();
        // Another pass while the previous one found many new frames (written during the pass
        // before it), so that a RESTART left to the writer finds little to copy.
        let mut log = 0;
        for _ in 0..3 {
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)) {
                Ok(frames) => {
                    let grew = frames - log;
                    log = frames;
                    if grew < 512 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("WAL checkpoint failed: {e}");
                    break;
                }
            }
        }
        if log >= RESTART_FRAMES {
            wanted.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_is_checkpointed_after_writes_without_the_writer_doing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (writer, _) = crate::store::init::open_writer(&path).unwrap();
        let mut ckpt = Checkpointer::start(&path, &writer).expect("checkpointer starts");
        let auto: i64 = writer.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(auto, 0, "the writer no longer checkpoints inside its commits");
        writer
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(100000));")
            .unwrap();
        ckpt.after_group(&writer);
        // The checkpointer copies the pages into the database file within its pause.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let size = std::fs::metadata(&path).unwrap().len();
            if size > 100_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database file was not written: {size} bytes"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ckpt.stop();
    }
}
