//! MQTT: requests in, signed verdicts out, nothing lost (SPEC §4–5).
//!
//! | file | owns |
//! |---|---|
//! | [`topics`] | topic names and every payload as pure types and functions |
//! | [`spool`] | verdicts on disk (fsynced) until the broker's PUBACK |
//! | [`tls`] | rustls client config: system roots, CA file, mTLS, credentials |
//! | [`wire`] | MQTT 3.1.1 or 5 behind one small interface (`[mqtt] protocol`) |
//! | [`broker`] | the embedded rumqttd broker on loopback (`url = "embedded"`) |
//! | [`client`] | the tokio task around rumqttc, fed by bounded channels of enums |
//!
//! Every request is answered on `…/response` with its `request_id` echoed (the Zigbee2MQTT
//! convention, which any broker carries); with MQTT 5 the answer also goes to the request's
//! response topic with its correlation data.

pub(crate) mod broker;
pub(crate) mod client;
mod config;
pub(crate) mod spool;
pub(crate) mod tls;
pub(crate) mod topics;
pub(crate) mod wire;

pub use config::MqttConfig;

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerUrl {
    /// `mqtt://` (plain) or `mqtts://` (TLS).
    Tcp { host: String, port: u16, tls: bool },
    /// The built-in broker on loopback (`[mqtt] embedded_port`).
    Embedded,
}

/// A broker URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{url:?}: {reason}")]
pub struct UrlError {
    url: String,
    reason: &'static str,
}

impl BrokerUrl {
    /// Parses `mqtt://host[:port]`, `mqtts://host[:port]` or `embedded`.
    ///
    /// # Errors
    /// [`UrlError`] saying what is wrong.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let err = |reason| UrlError { url: url.into(), reason };
        if url == "embedded" {
            return Ok(Self::Embedded);
        }
        let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("mqtts://") {
            (r, true, 8883)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (r, false, 1883)
        } else {
            return Err(err("must start with mqtt:// or mqtts://, or be \"embedded\""));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| err("port is not a number 1-65535"))?)
            }
            _ => (rest, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(['/', '@', '?']) {
            return Err(err("no usable host"));
        }
        if port == 0 {
            return Err(err("port 0"));
        }
        Ok(Self::Tcp { host: host.into(), port, tls })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_default_ports_per_scheme() {
        assert_eq!(
            BrokerUrl::parse("mqtt://127.0.0.1").unwrap(),
            BrokerUrl::Tcp { host: "127.0.0.1".into(), port: 1883, tls: false }
        );
        assert_eq!(
            BrokerUrl::parse("mqtts://localhost:18883").unwrap(),
            BrokerUrl::Tcp { host: "localhost".into(), port: 18883, tls: true }
        );
        assert_eq!(BrokerUrl::parse("embedded").unwrap(), BrokerUrl::Embedded);
    }

    #[test]
    fn urls_with_other_schemes_or_bad_ports_are_refused() {
        for bad in ["tcp://x:1", "mqtt://x:port", "mqtt://:1883", "mqtt://user@x", "mqtt://x:0"] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
