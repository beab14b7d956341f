//! Durable files: what the service must not lose (the verdict spool, the `seq` counter) is
//! written through [`write`].

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably: a temporary file, fsync, rename, fsync
/// of the directory.
///
/// # Errors
/// The first I/O error.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // A full disk leaves no empty or partial temporary file behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("livegate-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The target is a non-empty directory: the temporary file is written, the rename fails.
        std::fs::create_dir_all(dir.join("target.json/x")).unwrap();
        let e = write(&dir.join("target.json"), b"{}").unwrap_err();
        assert!(!dir.join("target.tmp").exists(), "{e}");
        write(&dir.join("ok.json"), b"{}").unwrap();
        assert_eq!(std::fs::read(dir.join("ok.json")).unwrap(), b"{}");
    }
}
