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
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
