//! The embedded broker (`[mqtt] url = "embedded"`): rumqttd on loopback, for `livegate demo`
//! and machines without a broker. It listens on 127.0.0.1 only (never a LAN address: it has
//! no authentication and no TLS) and runs on its own named thread until the process exits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use super::wire::Protocol;

/// Errors of starting the embedded broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("embedded broker thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("embedded broker did not start listening on {0} (port in use?)")]
    NotListening(SocketAddr),
}

/// The broker's settings: one loopback listener for the configured protocol.
pub fn config(port: u16, protocol: Protocol) -> Config {
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerSettings {
        name: "livegate".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 256 * 1024,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let listeners = Some(HashMap::from([("livegate".to_owned(), server)]));
    let (v4, v5) = match protocol {
        Protocol::V311 => (listeners, None),
        Protocol::V5 => (None, listeners),
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 100,
            max_outgoing_packet_count: 200,
            max_segment_size: 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4,
        v5,
        ..Config::default()
    }
}

/// Starts the broker on `127.0.0.1:port` and waits (≤ 5 s) until it accepts connections.
///
/// # Errors
/// [`BrokerError`] when the thread cannot start or the port never opens.
pub fn start(port: u16, protocol: Protocol) -> Result<SocketAddr, BrokerError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut broker = Broker::new(config(port, protocol));
    std::thread::Builder::new().name("broker".into()).spawn(move || {
        if let Err(e) = broker.start() {
            tracing::error!(error = %e, "embedded broker stopped");
        }
    })?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !listening(port) {
        if Instant::now() > deadline {
            return Err(BrokerError::NotListening(addr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(addr)
}

/// Whether a socket listens on `127.0.0.1:port`, read from the kernel's table (a probe
/// connection would make the broker log a failed client at every start).
fn listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    // The address as the kernel prints it: the host's byte order (little- or big-endian).
    let local = [format!("0100007F:{port:04X}"), format!("7F000001:{port:04X}")];
    // `sl local_address rem_address st …`; state 0A is LISTEN.
    table.lines().skip(1).any(|l| {
        let mut f = l.split_whitespace().skip(1);
        f.next().is_some_and(|a| local.iter().any(|l| l == a)) && f.nth(1) == Some("0A")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_loopback_port_is_seen_without_connecting_to_it() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(listening(port));
        drop(l);
        assert!(!listening(port));
    }

    #[test]
    fn the_embedded_broker_listens_on_loopback_only_for_the_configured_protocol() {
        let c = config(18_999, Protocol::V5);
        assert!(c.v4.is_none());
        let v5 = c.v5.unwrap();
        let listen = v5["livegate"].listen;
        assert!(listen.ip().is_loopback() && listen.port() == 18_999);
        assert!(v5["livegate"].tls.is_none() && config(1, Protocol::V311).v5.is_none());
    }
}
