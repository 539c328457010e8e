//! The JSON-lines alert log: one alert JSON a line, appended and synced before the deliveries
//! are marked done, so a crash can repeat a line but never lose one, and in practice repeats
//! none: the first delivery after a start skips alerts whose line is already at the end of the
//! log. A partial last line left by a crash is cut off when the daemon starts
//! ([`LogSink::repair`]) and again before every append, so a reader never sees a torn line
//! followed by another.
//!
//! The file is opened by path for every batch, so a log renamed or deleted (by logrotate, by
//! hand) is simply created again at the configured path.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;

use super::{Error, LOG_SINK, alert_json};
use crate::store::Store;

/// How many alerts one batch writes before syncing and marking them.
const BATCH: usize = 500;

/// The alert log sink.
#[derive(Debug, Clone)]
pub struct LogSink {
    path: PathBuf,
    /// Whether the log's last lines have been looked at since this sink was made (shared by
    /// its clones): see [`LogSink::deliver_pending`].
    tail_checked: Arc<AtomicBool>,
}

impl LogSink {
    pub fn new(path: PathBuf) -> LogSink {
        LogSink {
            path,
            tail_checked: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: std::io::Error) -> Error {
        Error::Log {
            path: self.path.clone(),
            source,
        }
    }

    /// Cuts a line torn by a crash off the end of the log, if there is a log. The daemon does
    /// this when it starts: the next append would do it too, but the next alert may be hours
    /// away, and until then a reader tailing the log sees half an alert.
    pub fn repair(&self) -> Result<(), Error> {
        match self.open_existing() {
            Ok(Some(mut file)) => repair_torn_tail(&mut file).map_err(|e| self.error(e)),
            Ok(None) => Ok(()),
            Err(error) => Err(self.error(error)),
        }
    }

    /// Appends every pending alert to the log; returns how many were written.
    ///
    /// A process killed between an append and the marking of its deliveries leaves that
    /// batch both in the log and pending. So the first delivery of a sink reads the ids on the
    /// log's last [`BATCH`] lines (as many as one unmarked batch can have) and marks the
    /// pending alerts found there delivered without writing them again.
    pub fn deliver_pending(&self, store: &mut Store) -> Result<usize, Error> {
        let mut logged = if self.tail_checked.load(Ordering::Acquire) {
            HashSet::new()
        } else {
            let ids = self.last_ids().map_err(|e| self.error(e))?;
            self.tail_checked.store(true, Ordering::Release);
            ids
        };
        let mut written = 0;
        let mut after = None;
        loop {
            let page = store.pending_alerts(LOG_SINK, Utc::now(), after, BATCH)?;
            let Some(&(last, _)) = page.last() else {
                return Ok(written);
            };
            after = Some(last);
            let alerts: Vec<_> = page.into_iter().map(|(_, alert)| alert).collect();
            let mut lines = String::new();
            for alert in alerts.iter().filter(|a| !logged.remove(&a.id)) {
                lines.push_str(&alert_json(alert).to_string());
                lines.push('\n');
                written += 1;
            }
            if !lines.is_empty() {
                self.append(lines.as_bytes()).map_err(|e| self.error(e))?;
            }
            let ids: Vec<String> = alerts.into_iter().map(|a| a.id).collect();
            store.mark_delivered(&ids, LOG_SINK, Utc::now())?;
        }
    }

    /// The log, opened for reading and writing; `None` when there is none yet.
    fn open_existing(&self) -> std::io::Result<Option<File>> {
        match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(file) => Ok(Some(file)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The alert ids on the log's last [`BATCH`] lines, a torn last line cut first. Lines
    /// that are not alert JSON are passed over: the log is for people and tools too.
    fn last_ids(&self) -> std::io::Result<HashSet<String>> {
        #[derive(serde::Deserialize)]
        struct Logged {
            id: String,
        }
        let Some(mut file) = self.open_existing()? else {
            return Ok(HashSet::new());
        };
        repair_torn_tail(&mut file)?;
        let tail = read_last_lines(&mut file, BATCH)?;
        Ok(tail
            .split(|&b| b == b'\n')
            .filter_map(|line| serde_json::from_slice::<Logged>(line).ok())
            .map(|logged| logged.id)
            .collect())
    }

    fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)?;
        repair_torn_tail(&mut file)?;
        file.write_all(bytes)?;
        file.sync_data()
    }
}

/// The last `n` lines of `file` (all of it when it has fewer), read from the end backwards.
fn read_last_lines(file: &mut File, n: usize) -> std::io::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    // Where the last `n` lines start: just after the (n+1)-th newline from the end (the
    // file's own last byte is a newline once repaired).
    let mut start = len;
    let mut newlines = 0;
    let mut buf = [0u8; 8192];
    'scan: while start > 0 {
        let from = start.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(chunk)?;
        for (i, &byte) in chunk.iter().enumerate().rev() {
            if byte == b'\n' {
                newlines += 1;
                if newlines > n {
                    start = from + i as u64 + 1;
                    break 'scan;
                }
            }
        }
        start = from;
    }
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    Ok(tail)
}

/// Cuts a last line that has no newline (a write interrupted by a crash) off the file.
fn repair_torn_tail(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut end = len;
    let mut buf = [0u8; 4096];
    loop {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(());
        }
        if let Some(pos) = chunk.iter().rposition(|&b| b == b'\n') {
            file.set_len(start + pos as u64 + 1)?;
            return Ok(());
        }
        if start == 0 {
            file.set_len(0)?;
            return Ok(());
        }
        end = start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_and_whole_lines_are_kept() {
        let cases: [(&str, &[u8], &[u8]); 4] = [
            ("empty_file", b"", b""),
            (
                "whole_lines",
                b"{\"a\":1}\n{\"b\":2}\n",
                b"{\"a\":1}\n{\"b\":2}\n",
            ),
            ("torn_last_line", b"{\"a\":1}\n{\"b\":", b"{\"a\":1}\n"),
            ("only_a_torn_line", b"{\"a\"", b""),
        ];
        for (name, before, after) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("alerts.jsonl");
            std::fs::write(&path, before).expect("write");
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .expect("open");
            repair_torn_tail(&mut file).expect("repair");
            assert_eq!(std::fs::read(&path).expect("read"), after, "{name}");
        }
    }

    #[test]
    fn last_lines_are_read_back_from_the_end() {
        let cases: [(&str, &[u8], usize, &[u8]); 5] = [
            ("empty_file", b"", 2, b""),
            ("fewer_lines_than_asked", b"a\nb\n", 5, b"a\nb\n"),
            ("exactly_as_many", b"a\nb\n", 2, b"a\nb\n"),
            ("more_lines_than_asked", b"a\nb\nc\n", 2, b"b\nc\n"),
            ("none_asked", b"a\nb\n", 0, b""),
        ];
        for (name, text, n, want) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("alerts.jsonl");
            std::fs::write(&path, text).expect("write");
            let mut file = File::open(&path).expect("open");
            assert_eq!(read_last_lines(&mut file, n).expect("read"), want, "{name}");
        }
        // Lines longer than the read buffer, and more of them than fit in it.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alerts.jsonl");
        let long: Vec<String> = (0..20)
            .map(|i| format!("{i}{}\n", "x".repeat(5000)))
            .collect();
        std::fs::write(&path, long.concat()).expect("write");
        let mut file = File::open(&path).expect("open");
        let tail = read_last_lines(&mut file, 3).expect("read");
        assert_eq!(tail, long[17..].concat().into_bytes());
    }

    #[test]
    fn ids_of_the_last_lines_skip_what_is_not_an_alert() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = LogSink::new(dir.path().join("alerts.jsonl"));
        assert!(sink.last_ids().expect("no log").is_empty());
        std::fs::write(
            sink.path(),
            "{\"version\":1,\"id\":\"a1\"}\nnot json\n{\"id\":\"b2\",\"kind\":\"new\"}\n{\"id\":\"c3",
        )
        .expect("write");
        let ids = sink.last_ids().expect("ids");
        assert_eq!(ids, HashSet::from(["a1".to_owned(), "b2".to_owned()]));
    }

    #[test]
    fn repair_cuts_a_torn_line_and_leaves_a_missing_log_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = LogSink::new(dir.path().join("alerts.jsonl"));
        sink.repair().expect("repair without a log");
        assert!(!sink.path().exists());
        std::fs::write(sink.path(), b"{\"a\":1}\n{\"b\"").expect("write");
        sink.repair().expect("repair");
        assert_eq!(std::fs::read(sink.path()).expect("read"), b"{\"a\":1}\n");
    }
}
