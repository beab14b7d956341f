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
    /// Opens the counter.
    ///
    /// # Errors
    /// [`SigningError::File`] when the file is missing, unreadable or corrupt. Starting over
    /// at 0 would let old verdicts replay, or make every controller that remembers the last
    /// `seq` reject the new ones, so that is refused: `livegate keygen` makes the file with
    /// the key, and `livegate seq --set N` restores a lost one.
    pub fn open(path: &Path) -> Result<Self, SigningError> {
        match Self::read(path)? {
            Some(last) => Ok(Self { path: path.into(), last }),
            None => Err(file_err(
                path,
                "the verdict counter is missing, but the signing key exists: starting again at 1 would make \
                 every door controller reject the new verdicts as replays. Set it to the last seq the \
                 controllers accepted with `livegate seq --set N` (`-c` your config); 0 only for a key that \
                 has never signed a verdict",
            )),
        }
    }

    /// The last used `seq` on disk, `None` when there is no file.
    ///
    /// # Errors
    /// [`SigningError::File`] when the file is unreadable or not a number.
    pub fn read(path: &Path) -> Result<Option<u64>, SigningError> {
        match std::fs::read_to_string(path) {
            Ok(t) => t.trim().parse().map(Some).map_err(|_| file_err(path, "not a sequence number")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_err(path, e)),
        }
    }

    /// Makes the counter of a new key (0) unless a file is there already, whose count then
    /// goes on (a counter never goes backwards). Returns the last used `seq`.
    ///
    /// # Errors
    /// [`SigningError::File`] when the file is unreadable or cannot be written.
    pub fn start(path: &Path) -> Result<u64, SigningError> {
        if let Some(last) = Self::read(path)? {
            return Ok(last);
        }
        let s = Self { path: path.into(), last: 0 };
        s.check_writable()?;
        Ok(0)
    }

    /// Sets the last used `seq` to `n` (`livegate seq --set`), refusing to lower it or to
    /// pass [`MAX_SEQ`]. Returns the previous value, `None` when there was no file.
    ///
    /// # Errors
    /// [`SigningError::File`] when `n` is lower than the count on disk or above [`MAX_SEQ`],
    /// or the file is unreadable or cannot be written.
    pub fn set(path: &Path, n: u64) -> Result<Option<u64>, SigningError> {
        let before = Self::read(path)?;
        if n > MAX_SEQ {
            return Err(file_err(path, format!("{n} is above the largest seq, {MAX_SEQ}")));
        }
        if let Some(last) = before.filter(|&last| n < last) {
            return Err(file_err(
                path,
                format!(
                    "the counter is at {last}; setting it back to {n} would reissue numbers controllers have \
                     seen (a seq never goes backwards)"
                ),
            ));
        }
        Self { path: path.into(), last: n }.check_writable()?;
        Ok(before)
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
        assert!(SeqFile::open(&path).is_err(), "a missing counter must not restart at 0");
        assert_eq!(SeqFile::start(&path).unwrap(), 0);
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
        let s = SeqFile { path: path.clone(), last: 0 };
        let e = s.check_writable().unwrap_err().to_string();
        assert!(e.contains("sub/seq") && e.contains("No such file"), "{e}");
    }

    #[test]
    fn a_missing_counter_is_refused_with_its_remedy_and_set_never_lowers_it() {
        // Issue 17 D7: a deleted seq file next to an existing key.
        let dir = std::env::temp_dir().join(format!("livegate-seq-set-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seq");
        let _ = std::fs::remove_file(&path);
        let e = SeqFile::open(&path).unwrap_err().to_string();
        assert!(e.contains("missing") && e.contains("livegate seq --set N"), "{e}");
        assert_eq!(SeqFile::set(&path, 41).unwrap(), None);
        assert_eq!(SeqFile::open(&path).unwrap().take_next().unwrap(), 42);
        let e = SeqFile::set(&path, 7).unwrap_err().to_string();
        assert!(e.contains("at 42") && e.contains("never goes backwards"), "{e}");
        assert!(SeqFile::set(&path, MAX_SEQ + 1).is_err());
        assert_eq!(SeqFile::set(&path, 42).unwrap(), Some(42), "setting the same value is allowed");
        assert_eq!(SeqFile::start(&path).unwrap(), 42, "a new key's counter goes on from the old one");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
