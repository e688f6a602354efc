//! Generated sections of `docs/reliability.md`: each test writes its measured figures between
//! `<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->`, so the document shows what the
//! last run measured, not numbers typed by hand.
//!
//! Safe under concurrency: nextest runs every test in its own process, so a process-wide `Mutex`
//! is not enough; a lock file (created with `O_EXCL`, broken when older than a few seconds, in case
//! a holder was killed) serialises writers across processes, and the rewrite is atomic (write a
//! temporary file beside the document, then `rename`).
#![allow(dead_code)]
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

static IN_PROCESS: Mutex<()> = Mutex::new(());

/// The document the sections are written into.
pub fn document() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join("reliability.md")
}

/// Replaces the generated section `section` of docs/reliability.md with `markdown` (appending the
/// marked block at the end when the document has none yet).
pub fn record(section: &str, markdown: &str) {
    record_in(&document(), section, markdown);
}

/// As [`record`], for any file (used by this module's own test).
pub fn record_in(path: &Path, section: &str, markdown: &str) {
    assert!(
        !section.is_empty() && !section.contains("-->") && !section.contains(char::is_whitespace),
        "section names are single words: {section:?}"
    );
    let _guard = IN_PROCESS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let _lock = FileLock::acquire(&path.with_extension("md.lock"));
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    let updated = replace_section(&text, section, markdown);
    if updated == text {
        return;
    }
    let tmp = path.with_extension(format!("md.tmp{}", std::process::id()));
    fs::write(&tmp, updated).unwrap_or_else(|e| panic!("cannot write {}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("cannot replace {}: {e}", path.display()));
}

/// The text with the section between its markers replaced (or appended when absent).
pub fn replace_section(text: &str, section: &str, markdown: &str) -> String {
    let begin = format!("<!-- BEGIN generated:{section} -->");
    let end = format!("<!-- END generated:{section} -->");
    let body = markdown.trim_matches('\n');
    let block = format!("{begin}\n{body}\n{end}");
    if let Some(b) = text.find(&begin) {
        if let Some(e) = text[b..].find(&end) {
            let e = b + e + end.len();
            return format!("{}{}{}", &text[..b], block, &text[e..]);
        }
    }
    let mut out = text.trim_end_matches('\n').to_string();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(&block);
    out.push('\n');
    out
}

/// A cross-process lock: the file exists while held.
struct FileLock(PathBuf);

impl FileLock {
    fn acquire(path: &Path) -> FileLock {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return FileLock(path.to_path_buf());
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    // A holder that was killed leaves its file behind; a rewrite takes milliseconds.
                    let stale = fs::metadata(path)
                        .and_then(|m| m.modified())
                        .map(|t| SystemTime::now().duration_since(t).unwrap_or_default() > Duration::from_secs(10))
                        .unwrap_or(false);
                    if stale {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    assert!(Instant::now() < deadline, "{} held for 30 s", path.display());
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[test]
fn sections_are_replaced_in_place_and_appended_when_absent() {
    let text = "# Doc\n\nintro\n\n<!-- BEGIN generated:a -->\nold\n<!-- END generated:a -->\n\ntail\n";
    let out = replace_section(text, "a", "new\nlines\n");
    assert_eq!(
        out,
        "# Doc\n\nintro\n\n<!-- BEGIN generated:a -->\nnew\nlines\n<!-- END generated:a -->\n\ntail\n"
    );
    let out = replace_section(&out, "b", "bee");
    assert!(
        out.ends_with("tail\n\n<!-- BEGIN generated:b -->\nbee\n<!-- END generated:b -->\n"),
        "{out}"
    );
    assert_eq!(replace_section(&out, "b", "bee"), out, "idempotent");
}

#[test]
fn concurrent_writers_lose_no_section() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reliability.md");
    fs::write(&path, "# Doc\n").unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                for round in 0..20 {
                    record_in(&path, &format!("s{i}"), &format!("writer {i} round {round}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = fs::read_to_string(&path).unwrap();
    for i in 0..8 {
        assert_eq!(text.matches(&format!("<!-- BEGIN generated:s{i} -->")).count(), 1, "{text}");
        assert!(text.contains(&format!("writer {i} round 19")), "{text}");
    }
    assert!(!path.with_extension("md.lock").exists());
}
