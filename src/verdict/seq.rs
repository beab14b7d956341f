//! The verdict counter (SPEC §5): `seq` grows strictly across restarts and crashes, because
//! each number is on disk before it is used.

use std::path::{Path, PathBuf};

use super::signing::{SigningError, file_err};

/// The largest `seq` ever issued: 2^53 − 1, the largest integer every JSON reader (JavaScript's
/// numbers included) holds exactly. Past it the counter refuses rather than wraps.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// The verdict counter: the last used `seq`, persisted and fsynced before a number is used.
#[derive(Debug)]
pub struct SeqFile {
    path: PathBuf,
    last: u64,
}

impl SeqFile {
    /// Opens (or starts) the counter.
    ///
    /// # Errors
    /// [`SigningError::File`] when the file exists but is unreadable or corrupt: starting over
    /// at 0 would let old verdicts replay, so that is refused.
    pub fn open(path: &Path) -> Result<Self, SigningError> {
        let last = match std::fs::read_to_string(path) {
            Ok(t) => t.trim().parse().map_err(|_| file_err(path, "not a sequence number"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(file_err(path, e)),
        };
        Ok(Self { path: path.into(), last })
    }

    /// The next `seq`, durable on disk before it is returned.
    ///
    /// # Errors
    /// [`SigningError::File`] when it cannot be persisted (the number is then not used).
    pub fn take_next(&mut self) -> Result<u64, SigningError> {
        let n = self.last.saturating_add(1);
        if n > MAX_SEQ {
            return Err(file_err(
                &self.path,
                format!(
                    "seq is exhausted (above {MAX_SEQ}): make a new key with `livegate keygen` and start over"
                ),
            ));
        }
        self.write(n)?;
        self.last = n;
        Ok(n)
    }

    /// Writes the last used `seq` back, durably: at start-up, so a counter that cannot be
    /// persisted (a read-only or full disk, a missing directory) stops the service at once,
    /// naming the file and the OS error, instead of every later verdict.
    ///
    /// # Errors
    /// [`SigningError::File`] with the OS error.
    pub fn check_writable(&self) -> Result<(), SigningError> {
        self.write(self.last)
    }

    /// Puts `n` on disk, durably.
    fn write(&self, n: u64) -> Result<(), SigningError> {
        crate::durable::write(&self.path, format!("{n}\n").as_bytes()).map_err(|e| file_err(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_grows_strictly_across_reopens() {
        let dir = std::env::temp_dir().join(format!("livegate-seq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seq");
        let _ = std::fs::remove_file(&path);
        let mut s = SeqFile::open(&path).unwrap();
        assert_eq!((s.take_next().unwrap(), s.take_next().unwrap()), (1, 2));
        let mut s = SeqFile::open(&path).unwrap();
        assert_eq!(s.take_next().unwrap(), 3);
        std::fs::write(&path, "garbage").unwrap();
        assert!(SeqFile::open(&path).is_err(), "a corrupt counter must not restart at 0");
    }

    #[test]
    fn seq_refuses_to_pass_two_to_the_53rd_instead_of_wrapping() {
        let dir = std::env::temp_dir().join(format!("livegate-seq-max-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seq");
        std::fs::write(&path, format!("{}\n", MAX_SEQ - 1)).unwrap();
        let mut s = SeqFile::open(&path).unwrap();
        assert_eq!(s.take_next().unwrap(), MAX_SEQ);
        let e = s.take_next().unwrap_err().to_string();
        assert!(e.contains("exhausted") && e.contains("keygen"), "{e}");
        std::fs::write(&path, format!("{}\n", u64::MAX)).unwrap();
        assert!(SeqFile::open(&path).unwrap().take_next().is_err(), "no wrap to 0 from u64::MAX");
    }

    #[test]
    fn a_counter_that_cannot_be_written_is_found_at_start_up() {
        // Issue 17 D3: a seq file on a read-only mount (here: in a directory that does not exist).
        let path = std::env::temp_dir().join(format!("livegate-seq-nodir-{}/sub/seq", std::process::id()));
        let s = SeqFile::open(&path).unwrap();
        let e = s.check_writable().unwrap_err().to_string();
        assert!(e.contains("sub/seq") && e.contains("No such file"), "{e}");
    }
}
