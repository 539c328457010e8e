//! The JSON-lines alert log: one alert JSON a line, appended and synced before the deliveries
//! are marked done, so a crash can repeat a line but never lose one. A partial last line left
//! by a crash is cut off before the next append, so readers never see a torn line.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::{Error, LOG_SINK, alert_json};
use crate::store::Store;

/// How many alerts one batch writes before syncing and marking them.
const BATCH: usize = 500;

/// The alert log sink.
#[derive(Debug, Clone)]
pub struct LogSink {
    path: PathBuf,
}

impl LogSink {
    pub fn new(path: PathBuf) -> LogSink {
        LogSink { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends every pending alert to the log; returns how many were written.
    pub fn deliver_pending(&self, store: &mut Store) -> Result<usize, Error> {
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
            for alert in &alerts {
                lines.push_str(&alert_json(alert).to_string());
                lines.push('\n');
            }
            self.append(lines.as_bytes()).map_err(|source| Error::Log {
                path: self.path.clone(),
                source,
            })?;
            let ids: Vec<String> = alerts.into_iter().map(|a| a.id).collect();
            store.mark_delivered(&ids, LOG_SINK, Utc::now())?;
            written += ids.len();
        }
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
}
