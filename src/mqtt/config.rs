//! `[mqtt]`: the broker connection (aggregated by `crate::config`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[mqtt]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtt://host:port`, `mqtts://host:port` (TLS) or `embedded`.
    pub url: String,
    /// `"3.1.1"` (default) or `"5"` (adds response topic + correlation data to answers).
    pub protocol: super::wire::Protocol,
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
            protocol: super::wire::Protocol::V311,
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
