//! The verdict counter (SPEC §5): `seq` grows strictly across restarts and crashes, because
//! each number is on disk before it is used.

use std::path::{Path, PathBuf};

use super::signing::{SigningError, file_err};

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
        let n = self.last + 1;
        crate::durable::write(&self.path, format!("{n}\n").as_bytes())
            .map_err(|e| file_err(&self.path, e))?;
        self.last = n;
        Ok(n)
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
}
