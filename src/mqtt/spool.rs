//! The verdict spool: a verdict is on disk (file and directory fsynced) before it is
//! published, and removed only after the broker's PUBACK, so neither a broker outage nor a
//! crash loses one. Files are named by `seq`, so pending verdicts are delivered in order.
//! A file that does not parse is moved aside as `*.corrupt` with a log line, never a crash.

use std::path::{Path, PathBuf};

use tracing::warn;

use crate::verdict::Verdict;

/// Errors of the spool directory.
#[derive(Debug, thiserror::Error)]
#[error("spool {path}: {source}")]
pub struct SpoolError {
    path: PathBuf,
    source: std::io::Error,
}

/// One pending verdict read back from the spool.
#[derive(Debug, Clone, PartialEq)]
pub struct Spooled {
    pub seq: u64,
    /// The exact bytes that were signed and are published.
    pub payload: Vec<u8>,
}

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Opens (creating if needed) the spool directory.
    ///
    /// # Errors
    /// [`SpoolError`] naming the directory.
    pub fn open(dir: &Path) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(|source| SpoolError { path: dir.into(), source })?;
        Ok(Self { dir: dir.into() })
    }

    fn file(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.json"))
    }

    /// Stores a signed verdict durably and returns the bytes to publish.
    ///
    /// # Errors
    /// [`SpoolError`]: the verdict must then not be published as delivered-guaranteed.
    pub fn put(&self, verdict: &Verdict) -> Result<Spooled, SpoolError> {
        let path = self.file(verdict.seq);
        let payload = serde_json::to_vec(verdict).expect("a verdict always serialises");
        crate::durable::write(&path, &payload).map_err(|source| SpoolError { path, source })?;
        Ok(Spooled { seq: verdict.seq, payload })
    }

    /// Forgets a verdict the broker acknowledged.
    ///
    /// # Errors
    /// [`SpoolError`] other than "already gone".
    pub fn remove(&self, seq: u64) -> Result<(), SpoolError> {
        let path = self.file(seq);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SpoolError { path, source: e }),
            _ => Ok(()),
        }
    }

    /// Every pending verdict in `seq` order; corrupt files are moved aside and logged.
    ///
    /// # Errors
    /// [`SpoolError`] when the directory cannot be listed.
    pub fn pending(&self) -> Result<Vec<Spooled>, SpoolError> {
        let err = |source| SpoolError { path: self.dir.clone(), source };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(err)? {
            let path = entry.map_err(err)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match read_spooled(&path) {
                Ok(s) => out.push(s),
                Err(reason) => {
                    let aside = path.with_extension("corrupt");
                    warn!(
                        path = %path.display(),
                        %reason,
                        moved_to = %aside.display(),
                        "spooled verdict is unusable; moved aside"
                    );
                    if let Err(e) = std::fs::rename(&path, &aside) {
                        warn!(path = %path.display(), error = %e, "cannot move the spooled verdict aside");
                    }
                }
            }
        }
        out.sort_by_key(|s| s.seq);
        Ok(out)
    }
}

fn read_spooled(path: &Path) -> Result<Spooled, String> {
    let payload = std::fs::read(path).map_err(|e| format!("unreadable ({e})"))?;
    let v: Verdict = serde_json::from_slice(&payload).map_err(|e| format!("not a verdict ({e})"))?;
    let named = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok());
    if named != Some(v.seq) {
        return Err(format!("named for another seq than its {}", v.seq));
    }
    Ok(Spooled { seq: v.seq, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::session::Checks;
    use crate::verdict::{Source, VerdictResult};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("livegate-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    pub(crate) fn verdict(seq: u64) -> Verdict {
        Verdict {
            device_id: "door-3".into(),
            source: Source::Replay,
            challenge_id: "00".repeat(16),
            request_id: Some("r".into()),
            nonce: None,
            result: VerdictResult::Fail,
            reason: None,
            checks: Checks::default(),
            started_at: "2026-11-23T18:40:01.120Z".into(),
            decided_at: "2026-11-23T18:40:05.870Z".into(),
            frames: 3,
            engine: "tract-0.23.9/livegate/portable/mesh:24813aa929c0/det:9622e4c58b2d".into(),
            seq,
            expires_at: "2026-11-23T18:40:15.870Z".into(),
            sig: Some("ab".into()),
        }
    }

    #[test]
    fn pending_verdicts_come_back_in_seq_order_until_removed() {
        let spool = Spool::open(&dir("order")).unwrap();
        for seq in [10, 9, 100] {
            spool.put(&verdict(seq)).unwrap();
        }
        let seqs: Vec<u64> = spool.pending().unwrap().iter().map(|s| s.seq).collect();
        assert_eq!(seqs, [9, 10, 100]);
        spool.remove(10).unwrap();
        spool.remove(10).unwrap();
        let seqs: Vec<u64> = spool.pending().unwrap().iter().map(|s| s.seq).collect();
        assert_eq!(seqs, [9, 100]);
    }

    #[test]
    fn a_spooled_payload_is_the_verdict_as_published() {
        let spool = Spool::open(&dir("payload")).unwrap();
        let s = spool.put(&verdict(7)).unwrap();
        assert_eq!(spool.pending().unwrap(), vec![s.clone()]);
        let back: Verdict = serde_json::from_slice(&s.payload).unwrap();
        assert_eq!(back, verdict(7));
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_the_rest_delivered() {
        let d = dir("corrupt");
        let spool = Spool::open(&d).unwrap();
        spool.put(&verdict(2)).unwrap();
        std::fs::write(d.join(format!("{:020}.json", 1)), b"{\"seq\": tru").unwrap();
        let seqs: Vec<u64> = spool.pending().unwrap().iter().map(|s| s.seq).collect();
        assert_eq!(seqs, [2]);
        assert!(d.join(format!("{:020}.corrupt", 1)).exists());
        assert_eq!(spool.pending().unwrap().len(), 1, "moved aside, not reported twice");
    }
}
