//! Verdict signatures (SPEC §5): Ed25519 with a device key, so a controller holding only the
//! public key can verify but never forge.
//!
//! The signature covers the canonical JSON of every field but `sig`: keys sorted, no
//! whitespace, exactly the bytes of Python's
//! `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`. Floats are the
//! one trap (Python prints `1e-05`, Rust `1e-5`), so the service rounds check values to four
//! decimals before signing; [`canonical_json`] refuses exponent notation outright rather than
//! sign bytes a verifier cannot rebuild. `seq` is persisted and fsynced before use, so it
//! grows strictly across restarts and crashes.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::Value;

use super::Verdict;

/// Errors of keys, signatures and the sequence file.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot sign: {0}")]
    Canonical(String),
    #[error("signature does not verify")]
    BadSignature,
}

pub(super) fn file_err(path: &Path, reason: impl ToString) -> SigningError {
    SigningError::File { path: path.into(), reason: reason.to_string() }
}

/// Canonical JSON of `v` (keys sorted, no whitespace).
///
/// # Errors
/// When a number would print in exponent notation (not reproducible across languages).
pub fn canonical_json(v: &Value) -> Result<String, SigningError> {
    let mut out = String::new();
    write_canonical(v, &mut out)?;
    Ok(out)
}

fn write_canonical(v: &Value, out: &mut String) -> Result<(), SigningError> {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Number(n) if n.is_f64() && n.to_string().contains(['e', 'E']) => {
            return Err(SigningError::Canonical(format!("{n} needs exponent notation; round it first")));
        }
        other => out.push_str(&other.to_string()),
    }
    Ok(())
}

/// The bytes a verdict's signature covers: the canonical JSON of every field but `sig`.
///
/// # Errors
/// See [`canonical_json`].
pub fn signed_bytes(verdict: &Verdict) -> Result<Vec<u8>, SigningError> {
    // Through the published text, not `to_value`: an f32 widened to f64 would print as
    // 0.20999999344348907 where the wire (and a verifier parsing it) has 0.21.
    let text = serde_json::to_vec(verdict).map_err(|e| SigningError::Canonical(e.to_string()))?;
    let mut v: Value = serde_json::from_slice(&text).map_err(|e| SigningError::Canonical(e.to_string()))?;
    if let Value::Object(map) = &mut v {
        map.remove("sig");
    }
    Ok(canonical_json(&v)?.into_bytes())
}

/// The device's signing key.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// A fresh key from the OS CSPRNG.
    ///
    /// # Errors
    /// When `/dev/urandom` cannot be read.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read;
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// Reads a key file (64 hex digits of the secret seed).
    ///
    /// # Errors
    /// [`SigningError::File`] naming the file.
    pub fn load(path: &Path) -> Result<Self, SigningError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(|e| file_err(path, e))?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                // Anyone who can read the key can forge verdicts.
                return Err(file_err(
                    path,
                    format!(
                        "is readable by other users (mode {mode:04o}): `chmod 600` it, owned by the service user"
                    ),
                ));
            }
        }
        let seed = decode_hex::<32>(text.trim()).ok_or_else(|| {
            file_err(path, "not a key file (expected 64 hex digits; see `livegate keygen`)")
        })?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// Writes the key to a new file readable by its owner only (0600); never overwrites.
    ///
    /// # Errors
    /// [`SigningError::File`] naming the file (also when it exists).
    pub fn save(&self, path: &Path) -> Result<(), SigningError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| file_err(path, e))?;
        writeln!(f, "{}", hex(self.0.as_bytes())).and_then(|()| f.sync_all()).map_err(|e| file_err(path, e))
    }

    /// The public key as 64 hex digits.
    pub fn public_hex(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }

    /// Signs the verdict in place (`sig` = 128 hex digits).
    ///
    /// # Errors
    /// See [`signed_bytes`].
    pub fn sign(&self, verdict: &mut Verdict) -> Result<(), SigningError> {
        let msg = signed_bytes(verdict)?;
        verdict.sig = Some(hex(&self.0.sign(&msg).to_bytes()));
        Ok(())
    }
}

/// Checks a verdict's signature against a public key (hex), as a controller in Rust would.
///
/// # Errors
/// [`SigningError::BadSignature`] for a missing, malformed or wrong signature.
pub fn verify(verdict: &Verdict, public_hex: &str) -> Result<(), SigningError> {
    let key = decode_hex::<32>(public_hex)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or(SigningError::BadSignature)?;
    let sig = verdict.sig.as_deref().and_then(decode_hex::<64>).ok_or(SigningError::BadSignature)?;
    key.verify(&signed_bytes(verdict)?, &Signature::from_bytes(&sig)).map_err(|_| SigningError::BadSignature)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` bytes from exactly `2·N` hex digits.
pub(crate) fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;
