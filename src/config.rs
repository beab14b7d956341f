//! The service configuration: one TOML file, one serde tree (SPEC §7).
//!
//! Every key has a default, unknown keys are rejected with a message naming the key, and
//! [`Config::validate`] checks values without touching devices, files or the network, so
//! `livegate config --check` and the service agree on what is valid. Secrets never live in
//! this file: the broker password comes from `password_file` or `LIVEGATE_MQTT_PASSWORD`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::camera::synthetic::Script;
use crate::liveness::session::LivenessConfig;

/// Errors of loading or validating a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub device: DeviceConfig,
    pub camera: CameraConfig,
    pub mqtt: MqttConfig,
    pub signing: SigningConfig,
    pub lockout: LockoutConfig,
    pub liveness: LivenessConfig,
}

/// `[device]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// The device id in topics and verdicts (default: the hostname).
    pub id: String,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let host = host.trim();
        Self { id: if host.is_empty() { "livegate".into() } else { host.into() } }
    }
}

/// Where frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraSource {
    V4l2,
    Replay,
    Synthetic,
}

/// `[camera]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    pub source: CameraSource,
    /// V4L2 device node.
    pub device: PathBuf,
    /// Replay: a session directory (SPEC §6).
    pub path: PathBuf,
    /// Synthetic: the face photo re-rendered as a head or a flat prop.
    pub face: PathBuf,
    /// Synthetic: what the performer does, one script per challenge in turn.
    pub scripts: Vec<Script>,
    /// V4L2 tuning (`[camera.v4l2]`: size, fps, pixel format, stall and reconnect timing);
    /// the device node is `camera.device`.
    pub v4l2: crate::camera::V4l2Options,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            source: CameraSource::V4l2,
            device: "/dev/video0".into(),
            path: "/var/lib/livegate/session".into(),
            face: "tests/data/astronaut.png".into(),
            scripts: vec![Script::Live, Script::Print],
            v4l2: crate::camera::V4l2Options::default(),
        }
    }
}

/// `[mqtt]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtt://host:port`, `mqtts://host:port` (TLS) or `embedded`.
    pub url: String,
    /// `"3.1.1"` (default) or `"5"` (adds response topic + correlation data to answers).
    pub protocol: crate::mqtt::wire::Protocol,
    /// Loopback port of the embedded broker (`url = "embedded"`).
    pub embedded_port: u16,
    /// Topic prefix; topics are `<base_topic>/<device id>/…`.
    pub base_topic: String,
    /// Client id (default `livegate-<device id>`).
    pub client_id: Option<String>,
    pub keepalive_s: u64,
    pub username: Option<String>,
    /// File holding the password (else `LIVEGATE_MQTT_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// PEM CA bundle to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain and key for mTLS (both or neither).
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    /// Verdicts waiting for the broker's PUBACK.
    pub spool_dir: PathBuf,
    /// Home Assistant discovery prefix.
    pub discovery_prefix: String,
    /// Reconnect backoff: first wait and cap, milliseconds.
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: "mqtt://127.0.0.1:1883".into(),
            protocol: crate::mqtt::wire::Protocol::V311,
            embedded_port: 1883,
            base_topic: "livegate".into(),
            client_id: None,
            keepalive_s: 15,
            username: None,
            password_file: None,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            spool_dir: "/var/lib/livegate/spool".into(),
            discovery_prefix: "homeassistant".into(),
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
        }
    }
}

/// `[signing]`: the verdict signature (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// The Ed25519 device key written by `livegate keygen`.
    pub key_file: PathBuf,
    /// The last used `seq`, persisted before each verdict.
    pub seq_file: PathBuf,
    /// How long a verdict stays fresh (`expires_at - decided_at`).
    pub verdict_ttl_s: u64,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            key_file: "/var/lib/livegate/verdict.key".into(),
            seq_file: "/var/lib/livegate/seq".into(),
            verdict_ttl_s: 10,
        }
    }
}

/// `[lockout]`: after `max_fails` failed challenges within `window_s`, refuse starts for `lock_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    pub max_fails: u32,
    pub window_s: u64,
    pub lock_s: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self { max_fails: 5, window_s: 180, lock_s: 600 }
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file or the bad key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let cfg = Self::parse(&text).map_err(|message| ConfigError::Parse { path: path.into(), message })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses TOML (no validation); the message names the unknown or malformed key.
    ///
    /// # Errors
    /// The parser's message.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks values without touching devices or files.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, message: &str| Err(ConfigError::Invalid { key, message: message.into() });
        let topic_ok = |s: &str| !s.is_empty() && !s.contains(['+', '#', '/', '\0']);
        if !topic_ok(&self.device.id) {
            return bad("device.id", "must be non-empty without '/', '+', '#'");
        }
        if self.mqtt.base_topic.is_empty() || self.mqtt.base_topic.contains(['+', '#', '\0']) {
            return bad("mqtt.base_topic", "must be non-empty without '+', '#'");
        }
        if let Err(e) = crate::mqtt::BrokerUrl::parse(&self.mqtt.url) {
            return bad("mqtt.url", &e.to_string());
        }
        if self.mqtt.client_cert_file.is_some() != self.mqtt.client_key_file.is_some() {
            return bad("mqtt.client_cert_file", "client_cert_file and client_key_file go together");
        }
        if self.mqtt.reconnect_min_ms == 0 || self.mqtt.reconnect_max_ms < self.mqtt.reconnect_min_ms {
            return bad("mqtt.reconnect_max_ms", "need 0 < reconnect_min_ms <= reconnect_max_ms");
        }
        if self.mqtt.keepalive_s < 5 {
            return bad("mqtt.keepalive_s", "must be at least 5");
        }
        if self.camera.source == CameraSource::Synthetic && self.camera.scripts.is_empty() {
            return bad("camera.scripts", "needs at least one script for the synthetic camera");
        }
        if self.camera.v4l2.device.is_some() {
            return bad("camera.v4l2.device", "set the device node as camera.device");
        }
        if let Err(e) = self.camera.v4l2.validate() {
            return bad("camera.v4l2", &e.to_string());
        }
        if self.lockout.max_fails == 0 {
            return bad("lockout.max_fails", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default_config() {
        let cfg = Config::parse("").unwrap();
        assert_eq!(cfg, Config::default());
        cfg.validate().unwrap();
    }

    #[test]
    fn spec_keys_parse_and_liveness_thresholds_are_keys() {
        let cfg = Config::parse(
            "[device]\nid = \"door-3\"\n[camera]\nsource = \"replay\"\npath = \"/tmp/s\"\n\
             [mqtt]\nurl = \"mqtts://broker.lan:8883\"\nprotocol = \"5\"\nbase_topic = \"doors\"\n\
             [liveness]\nmin_yaw_deg = 7.5\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.device.id, "door-3");
        assert_eq!(cfg.camera.source, CameraSource::Replay);
        assert_eq!(cfg.liveness.min_yaw_deg, 7.5);
        assert_eq!(cfg.mqtt.protocol, crate::mqtt::wire::Protocol::V5);
        assert_eq!(cfg.liveness.nose_timeout_ms, LivenessConfig::default().nose_timeout_ms);
    }

    #[test]
    fn an_unknown_key_is_rejected_by_name() {
        let e = Config::parse("[mqtt]\npasword_file = \"/x\"\n").unwrap_err();
        assert!(e.contains("pasword_file"), "{e}");
    }

    #[test]
    fn a_bad_url_is_rejected_naming_the_key() {
        let cfg = Config::parse("[mqtt]\nurl = \"http://x\"\n").unwrap();
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("mqtt.url"), "{e}");
    }

    #[test]
    fn a_client_cert_without_its_key_is_rejected() {
        let cfg = Config::parse("[mqtt]\nclient_cert_file = \"/c.pem\"\n").unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("client_cert_file"));
    }
}
