//! The service configuration: one TOML file, one serde tree (SPEC §7).
//!
//! Every key has a default, unknown keys are rejected with a message naming the key, and
//! [`Config::validate`] checks values without touching devices, files or the network, so
//! `livegate config --check` and the service agree on what is valid. Secrets never live in
//! this file: the broker password comes from `password_file` or `LIVEGATE_MQTT_PASSWORD`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::camera::{CameraConfig, CameraSource};
use crate::gpio::GpioOptions;
use crate::liveness::light::LightConfig;
use crate::liveness::session::LivenessConfig;
use crate::lockout::LockoutConfig;
use crate::logging::LogConfig;
use crate::mqtt::MqttConfig;
use crate::screen::{ScreenConfig, ScreenKind};
use crate::trigger::TriggerConfig;
use crate::verdict::SigningConfig;

/// The longest a verdict may stay fresh (`[signing] verdict_ttl_s`): an hour. A controller acts
/// on a verdict within seconds; a longer life only widens the window for a replayed one.
pub const MAX_VERDICT_TTL_S: u64 = 3_600;

/// The longest lockout window and lock (`[lockout]`): a day.
pub const MAX_LOCKOUT_S: u64 = 86_400;

/// The commented default configuration: what `livegate config` prints and the .deb installs
/// as `/etc/livegate/livegate.toml`. Tests hold it equal to [`Config::default`] and to the
/// key table of docs/configuration.md.
pub const DEFAULT_TOML: &str = include_str!("../systemd/livegate.toml");

/// Errors of loading or validating a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key {key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("config {path} line {line}: key {key}: {message}")]
    InvalidAt { path: PathBuf, line: usize, key: &'static str, message: String },
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
    pub light: LightConfig,
    pub screen: ScreenConfig,
    pub gpio: GpioOptions,
    pub trigger: TriggerConfig,
    pub log: LogConfig,
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

impl Config {
    /// Reads, parses and validates a config file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file or the bad key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let cfg = Self::parse(&text).map_err(|message| ConfigError::Parse { path: path.into(), message })?;
        cfg.validate().map_err(|e| match e {
            ConfigError::Invalid { key, message } => match line_of(&text, key) {
                Some(line) => ConfigError::InvalidAt { path: path.into(), line, key, message },
                None => ConfigError::Invalid { key, message },
            },
            other => other,
        })?;
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
        let tls_files = self.mqtt.ca_file.is_some() || self.mqtt.client_cert_file.is_some();
        if tls_files && !self.mqtt.url.starts_with("mqtts://") {
            // Never fall back to plaintext when TLS was asked for.
            return bad("mqtt.ca_file", "ca_file and client certificates need an mqtts:// url (TLS)");
        }
        if self.mqtt.password_file.is_some() && self.mqtt.username.is_none() {
            return bad("mqtt.password_file", "password_file needs mqtt.username");
        }
        if !(1..=MAX_VERDICT_TTL_S).contains(&self.signing.verdict_ttl_s) {
            return bad(
                "signing.verdict_ttl_s",
                &format!("must be between 1 and {MAX_VERDICT_TTL_S} seconds"),
            );
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
        if let Err(e) = crate::logging::parse_filter(&self.log.level) {
            return bad("log.level", &e);
        }
        if self.lockout.max_fails == 0 {
            return bad("lockout.max_fails", "must be at least 1");
        }
        if !(1..=MAX_LOCKOUT_S).contains(&self.lockout.window_s)
            || !(1..=MAX_LOCKOUT_S).contains(&self.lockout.lock_s)
        {
            return bad(
                "lockout.lock_s",
                &format!("window_s and lock_s must be between 1 and {MAX_LOCKOUT_S} seconds"),
            );
        }
        let sc = &self.screen;
        if !(sc.max_fps.is_finite() && (0.5..=120.0).contains(&sc.max_fps)) {
            return bad("screen.max_fps", "must be between 0.5 and 120");
        }
        if !(120..=4096).contains(&sc.width) || !(120..=4096).contains(&sc.height) {
            return bad("screen.width", "width and height must be between 120 and 4096 pixels");
        }
        if sc.kind == ScreenKind::Window && !cfg!(feature = "simulator") {
            return bad("screen.kind", "\"window\" needs a build with `--features simulator`");
        }
        if let Err(e) = sc.spi.validate() {
            return bad("screen.spi", &e.to_string());
        }
        let t = &self.trigger;
        if !(t.face_min_width > 0.0 && t.face_min_width <= 1.0) {
            return bad("trigger.face_min_width", "must be above 0 and at most 1");
        }
        if t.face_hold_ms > 0 && t.face_hold_ms < 200 {
            return bad("trigger.face_hold_ms", "must be 0 (off) or at least 200");
        }
        if t.face_hold_ms > 0 && self.camera.source != CameraSource::V4l2 {
            return bad("trigger.face_hold_ms", "a face held in view needs camera.source = \"v4l2\"");
        }
        if let Err(e) = self.gpio.validate() {
            return bad("gpio", &e.to_string());
        }
        if let Err(e) = self.light.validate() {
            return bad("light", &e);
        }
        let f = self.liveness.max_surround_following;
        if !(f.is_finite() && (0.0..=1.0).contains(&f)) {
            return bad("liveness.max_surround_following", "must be between 0 and 1 (1: off)");
        }
        Ok(())
    }
}

/// The 1-based line where a dotted key (`mqtt.url`) or table (`camera.v4l2`) is set in
/// `text`; `None` when it is not written there (a default is at fault).
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            if section == key {
                return Some(i + 1);
            }
            continue;
        }
        let Some((name, _)) = line.split_once('=') else { continue };
        let name = name.trim();
        if name.starts_with('#') {
            continue;
        }
        let full = if section.is_empty() { name.to_owned() } else { format!("{section}.{name}") };
        if full == key {
            return Some(i + 1);
        }
    }
    None
}

/// One row of the key table: dotted key, default (`unset` for keys commented out), meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDoc {
    pub key: String,
    pub default: String,
    pub meaning: String,
}

/// Every key of [`DEFAULT_TOML`] with its default and the comment above it (a key without a
/// comment of its own shares the previous key's, as `height` does `width`'s).
pub fn key_docs() -> Vec<KeyDoc> {
    let mut docs: Vec<KeyDoc> = Vec::new();
    let (mut section, mut comment) = (String::new(), Vec::<String>::new());
    let mut previous = String::new();
    for raw in DEFAULT_TOML.lines() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            comment.clear();
            previous.clear();
            continue;
        }
        if line.is_empty() {
            comment.clear();
            continue;
        }
        let (unset, body) = match line.strip_prefix("# ") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let assignment = body.split_once(" = ").filter(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
        match assignment {
            Some((name, value)) if !section.is_empty() => {
                let meaning = if comment.is_empty() { previous.clone() } else { comment.join(" ") };
                previous.clone_from(&meaning);
                comment.clear();
                let default = if unset { "unset".to_owned() } else { value.to_owned() };
                docs.push(KeyDoc { key: format!("{section}.{name}"), default, meaning });
            }
            _ if unset => comment.push(body.to_owned()),
            _ => {}
        }
    }
    docs
}

/// The key table of docs/configuration.md (key · default · meaning), generated from [`DEFAULT_TOML`].
pub fn key_table() -> String {
    let mut out = String::from("| key | default | meaning |\n|---|---|---|\n");
    for d in key_docs() {
        let default = if d.default == "unset" { "unset".to_owned() } else { format!("`{}`", d.default) };
        out.push_str(&format!("| `{}` | {} | {} |\n", d.key, default, d.meaning.replace('|', "\\|")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template with every example key switched on.
    fn all_keys_set() -> String {
        let unset: Vec<String> = key_docs()
            .into_iter()
            .filter(|d| d.default == "unset")
            .map(|d| format!("{} = ", d.key.rsplit('.').next().unwrap()))
            .collect();
        DEFAULT_TOML
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if unset.iter().any(|k| rest.starts_with(k.as_str())) => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_commented_default_config_is_the_default() {
        let cfg = Config::parse(DEFAULT_TOML).unwrap();
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn every_key_is_in_the_commented_default_and_every_example_is_a_real_key() {
        // The TLS examples go with an mqtts:// url.
        let all =
            all_keys_set().replace("url = \"mqtt://127.0.0.1:1883\"", "url = \"mqtts://127.0.0.1:8883\"");
        let cfg = Config::parse(&all).unwrap_or_else(|e| panic!("{e}"));
        cfg.validate().unwrap();
        let documented: Vec<String> = key_docs().into_iter().map(|d| d.key).collect();
        let mut missing = Vec::new();
        leaf_keys(&toml::Value::try_from(Config::default()).unwrap(), "", &mut missing);
        missing.retain(|k| !documented.contains(k));
        assert!(missing.is_empty(), "keys missing from systemd/livegate.toml: {missing:?}");
        assert!(documented.iter().all(|k| !k.is_empty()));
        assert!(documented.len() > 60, "{}", documented.len());
    }

    fn leaf_keys(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    leaf_keys(v, &key, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn the_configuration_doc_lists_every_key_with_its_default() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md")).unwrap();
        assert!(
            doc.contains(&key_table()),
            "docs/configuration.md's config table is stale; paste the output of key_table() (see `livegate config --table`)"
        );
    }

    #[test]
    fn a_bad_value_is_reported_with_its_line() {
        let dir = std::env::temp_dir().join(format!("livegate-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[device]\nid = \"door-2\"\n\n[mqtt]\nkeepalive_s = 15\nurl = \"http://x\"\n")
            .unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 6") && e.contains("mqtt.url"), "{e}");
        std::fs::write(&path, "[gpio]\nrelay_pin = 22\nrelay_hold_ms = 1\n").unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("relay_hold_ms"), "{e}");
        std::fs::write(&path, "[screen]\nkind = \"png\"\nmax_fbs = 3\n").unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("max_fbs"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

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

    /// The error `validate` gives for `toml`, or `None` when it is valid.
    fn refusal(toml: &str) -> Option<String> {
        Config::parse(toml).unwrap().validate().err().map(|e| e.to_string())
    }

    #[test]
    fn a_verdict_lifetime_outside_one_second_to_an_hour_is_refused() {
        // Issue 17 D6: 0 is expired at birth; 999999999999 s is past RFC 3339's years;
        // i64::MAX overflowed the clock at the first verdict.
        for ttl in ["0", "3601", "999999999999", "9223372036854775807"] {
            let e = refusal(&format!("[signing]\nverdict_ttl_s = {ttl}\n")).expect(ttl);
            assert!(e.contains("signing.verdict_ttl_s") && e.contains("between 1 and 3600"), "{ttl}: {e}");
        }
        assert_eq!(refusal("[signing]\nverdict_ttl_s = 3600\n"), None);
    }

    #[test]
    fn tls_files_with_a_plaintext_url_are_refused() {
        // Issue 17 D16: they were ignored and the link ran in plaintext.
        let e = refusal("[mqtt]\nurl = \"mqtt://b:1883\"\nca_file = \"/ca.pem\"\n").unwrap();
        assert!(e.contains("mqtt.ca_file") && e.contains("mqtts://"), "{e}");
        let e = refusal(
            "[mqtt]\nurl = \"embedded\"\nclient_cert_file = \"/c.pem\"\nclient_key_file = \"/k.pem\"\n",
        )
        .unwrap();
        assert!(e.contains("mqtts://"), "{e}");
        assert_eq!(refusal("[mqtt]\nurl = \"mqtts://b:8883\"\nca_file = \"/ca.pem\"\n"), None);
    }

    #[test]
    fn a_password_file_without_a_username_is_refused() {
        // Issue 17 D8: it was silently ignored.
        let e = refusal("[mqtt]\npassword_file = \"/pw\"\n").unwrap();
        assert!(e.contains("mqtt.password_file") && e.contains("username"), "{e}");
        assert_eq!(refusal("[mqtt]\nusername = \"door\"\npassword_file = \"/pw\"\n"), None);
    }

    #[test]
    fn lockout_times_outside_a_second_to_a_day_are_refused() {
        for (key, v) in [("lock_s", "0"), ("window_s", "0"), ("lock_s", "86401")] {
            let e = refusal(&format!("[lockout]\n{key} = {v}\n")).expect(key);
            assert!(e.contains("lockout") && e.contains("86400"), "{e}");
        }
    }

    #[test]
    fn a_client_cert_without_its_key_is_rejected() {
        let cfg = Config::parse("[mqtt]\nclient_cert_file = \"/c.pem\"\n").unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("client_cert_file"));
    }
}
