//! Broker connection security: the rustls client config (system roots by default, or a CA
//! file; optional client certificate for mTLS) and the credentials (username in the config,
//! password from `password_file` or `LIVEGATE_MQTT_PASSWORD`, never on the command line).
//!
//! Every file is read here, at start-up, and an unreadable or empty one is an error naming
//! it: a door terminal that silently falls back to no TLS or no password is worse than one
//! that refuses to start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::MqttConfig;

/// Environment variable holding the broker password when no `password_file` is set.
pub const PASSWORD_ENV: &str = "LIVEGATE_MQTT_PASSWORD";

/// Errors of TLS material and credentials.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("no trusted root certificates found in the system store ({0})")]
    NoSystemRoots(String),
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

fn file_err(path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File { path: path.into(), reason: reason.to_string() }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_err(path, format!("cannot read: {e}")))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(file_err(path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| file_err(path, format!("bad PEM: {e}")))?
        .ok_or_else(|| file_err(path, "no PEM private key in the file"))
}

/// The rustls client config for `mqtts://`.
///
/// # Errors
/// [`TlsError`] naming the unreadable or malformed file.
pub fn client_config(cfg: &MqttConfig) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            for cert in certs(path)? {
                roots.add(cert).map_err(|e| file_err(path, format!("unusable CA certificate: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(TlsError::NoSystemRoots(format!("{:?}", found.errors)));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match (&cfg.client_cert_file, &cfg.client_key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certs(cert)?, private_key(key)?)
            .map_err(|e| file_err(key, format!("does not match {}: {e}", cert.display())))?,
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// `(username, password)` for the broker, if a username is configured.
///
/// # Errors
/// [`TlsError::File`] when `password_file` is unreadable.
pub fn credentials(cfg: &MqttConfig) -> Result<Option<(String, String)>, TlsError> {
    let Some(user) = &cfg.username else { return Ok(None) };
    let password = match &cfg.password_file {
        Some(path) => {
            let text = String::from_utf8(read(path)?).map_err(|_| file_err(path, "not UTF-8 text"))?;
            let password = text.trim_end_matches(['\n', '\r']);
            if password.is_empty() {
                return Err(file_err(path, "is empty (the broker's password for mqtt.username)"));
            }
            password.to_owned()
        }
        None => std::env::var(PASSWORD_ENV).unwrap_or_default(),
    };
    Ok(Some((user.clone(), password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_password_file_is_refused_naming_it() {
        let path = std::env::temp_dir().join(format!("livegate-empty-pw-{}", std::process::id()));
        std::fs::write(&path, "\n").unwrap();
        let cfg = MqttConfig {
            username: Some("door".into()),
            password_file: Some(path.clone()),
            ..MqttConfig::default()
        };
        let e = credentials(&cfg).unwrap_err().to_string();
        assert!(e.contains(&*path.to_string_lossy()) && e.contains("is empty"), "{e}");
        std::fs::write(&path, "secret\n").unwrap();
        assert_eq!(credentials(&cfg).unwrap(), Some(("door".into(), "secret".into())));
    }

    #[test]
    fn an_unreadable_ca_file_is_named() {
        let cfg = MqttConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..MqttConfig::default() };
        let e = client_config(&cfg).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/ca.pem") && e.contains("cannot read"), "{e}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_named() {
        let path = std::env::temp_dir().join(format!("livegate-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a pem\n").unwrap();
        let cfg = MqttConfig { ca_file: Some(path.clone()), ..MqttConfig::default() };
        let e = client_config(&cfg).unwrap_err().to_string();
        assert!(e.contains(&*path.to_string_lossy()) && e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn the_password_comes_from_its_file_without_the_newline() {
        let path = std::env::temp_dir().join(format!("livegate-pw-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let cfg =
            MqttConfig { username: Some("door".into()), password_file: Some(path), ..MqttConfig::default() };
        assert_eq!(credentials(&cfg).unwrap(), Some(("door".into(), "s3cret".into())));
        let cfg = MqttConfig { password_file: Some("/nonexistent/pw".into()), ..cfg };
        assert!(credentials(&cfg).unwrap_err().to_string().contains("/nonexistent/pw"));
    }
}
