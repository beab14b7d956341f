//! The MQTT task: one tokio task owns the rumqttc event loop, the spool and the PUBACK
//! bookkeeping. The service talks to it through two bounded channels of enums
//! ([`Outbound`] in, [`Inbound`] out), so vision never waits on the network.
//!
//! PUBACK tracking: rumqttc reports each publish it sends as `Outgoing::Publish(pkid)`, in
//! the order they were requested. The task only publishes while connected and remembers, in
//! the same order, which requests were verdicts; that pairs each verdict's `seq` with its
//! packet id, and its PUBACK removes it from the spool. Sessions are clean, so after a
//! disconnect rumqttc drops whatever was unacknowledged and the task re-sends every spooled
//! verdict itself, in `seq` order, on the next CONNACK: at-least-once, ordered, across
//! outages and restarts alike.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, LastWill, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration,
    Transport,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::spool::Spool;
use super::topics::{
    self, BadRequest, EventPayload, Request, RequestKind, Response, StatePayload, Topics, parse_request,
};
use super::{BrokerUrl, tls};
use crate::config::{Config, MqttConfig};
use crate::liveness::verdict::Verdict;

/// What the service asks the MQTT task to send.
#[derive(Debug)]
pub enum Outbound {
    Response(Response),
    State(StatePayload),
    Event(EventPayload),
    /// A signed verdict: spooled, then published, then removed on PUBACK.
    Verdict(Box<Verdict>),
}

/// What arrived for the service.
#[derive(Debug)]
pub enum Inbound {
    Start(Request),
    Cancel(Request),
    /// A request that failed validation; the service answers it.
    Invalid(RequestKind, BadRequest),
}

/// Errors of setting the client up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("mqtt.url: {0}")]
    Url(#[from] super::UrlError),
    #[error("mqtt.url = \"embedded\": the built-in broker is not part of this build yet")]
    EmbeddedUnavailable,
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// Connection options from the config: client id, keep-alive, last will, TLS, credentials.
///
/// # Errors
/// [`ClientError`] for a bad URL or unreadable TLS/credential files.
pub fn options(cfg: &Config, topics: &Topics) -> Result<MqttOptions, ClientError> {
    let m: &MqttConfig = &cfg.mqtt;
    let BrokerUrl::Tcp { host, port, tls } = BrokerUrl::parse(&m.url)? else {
        return Err(ClientError::EmbeddedUnavailable);
    };
    let id = m.client_id.clone().unwrap_or_else(|| format!("livegate-{}", cfg.device.id));
    let mut o = MqttOptions::new(id, host, port);
    o.set_keep_alive(Duration::from_secs(m.keepalive_s))
        .set_clean_session(true)
        // Oversize requests must reach the validator (and get an answer), not kill the link.
        .set_max_packet_size(256 * 1024, 256 * 1024)
        .set_last_will(LastWill::new(topics.availability(), "offline", QoS::AtLeastOnce, true));
    if tls {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls::client_config(m)?)));
    }
    if let Some((user, password)) = tls::credentials(m)? {
        o.set_credentials(user, password);
    }
    Ok(o)
}

/// Everything the task needs besides its channels.
pub struct Link {
    pub topics: Topics,
    pub options: MqttOptions,
    pub spool: Spool,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// The last state, republished (retained) on every connect.
    pub state: StatePayload,
}

/// Per-connection bookkeeping of the task.
struct Wire {
    client: AsyncClient,
    connected: bool,
    /// For each requested publish, in order: the verdict `seq` it carries, if any.
    requested: VecDeque<Option<u64>>,
    /// Packet id → verdict `seq`, waiting for PUBACK.
    inflight: HashMap<u16, u64>,
}

impl Wire {
    fn publish(&mut self, topic: String, qos: QoS, retain: bool, payload: Vec<u8>, seq: Option<u64>) {
        if !self.connected {
            return;
        }
        match self.client.try_publish(topic.as_str(), qos, retain, payload) {
            Ok(()) => self.requested.push_back(seq),
            Err(e) => eprintln!("livegate: mqtt: publish to {topic} dropped: {e}"),
        }
    }

    fn publish_json(&mut self, topic: String, qos: QoS, retain: bool, v: &impl serde::Serialize) {
        let bytes = serde_json::to_vec(v).expect("payload types always serialise");
        self.publish(topic, qos, retain, bytes, None);
    }

    fn lost(&mut self) {
        self.connected = false;
        self.requested.clear();
        self.inflight.clear();
    }
}

/// Runs the MQTT task until the service drops its [`Outbound`] sender; then publishes
/// `offline` and disconnects cleanly.
pub async fn run(link: Link, mut outbound: mpsc::Receiver<Outbound>, inbound: mpsc::Sender<Inbound>) {
    let (client, mut eventloop) = AsyncClient::new(link.options.clone(), 256);
    let mut link = link;
    let mut wire = Wire { client, connected: false, requested: VecDeque::new(), inflight: HashMap::new() };
    let mut backoff = link.reconnect_min;
    let mut retry_at: Option<Instant> = None;
    let mut last_error = String::new();
    loop {
        tokio::select! {
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(ev) => {
                    if matches!(ev, Event::Incoming(Packet::ConnAck(_))) {
                        eprintln!("livegate: mqtt: connected to {}:{}", link.options.broker_address().0, link.options.broker_address().1);
                        backoff = link.reconnect_min;
                        last_error.clear();
                    }
                    on_event(ev, &mut link, &mut wire, &inbound);
                }
                Err(e) => {
                    let msg = describe(&e);
                    if msg != last_error {
                        eprintln!("livegate: mqtt: {msg}; retrying with backoff");
                        last_error = msg;
                    }
                    wire.lost();
                    retry_at = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(link.reconnect_max);
                }
            },
            () = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => retry_at = None,
            msg = outbound.recv() => match msg {
                Some(m) => on_outbound(m, &mut link, &mut wire),
                None => break,
            },
        }
    }
    shutdown(&link, &mut wire, &mut eventloop).await;
}

fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::Tls(t) => format!("TLS with the broker failed: {t}"),
        ConnectionError::Io(io) => format!("broker connection: {io}"),
        ConnectionError::ConnectionRefused(code) => format!("broker refused the connection: {code:?}"),
        other => format!("broker connection: {other}"),
    }
}

fn on_event(ev: Event, link: &mut Link, wire: &mut Wire, inbound: &mpsc::Sender<Inbound>) {
    match ev {
        Event::Incoming(Packet::ConnAck(_)) => on_connect(link, wire),
        Event::Incoming(Packet::Publish(p)) => on_publish(&p.topic, &p.payload, link, wire, inbound),
        Event::Incoming(Packet::PubAck(ack)) => {
            if let Some(seq) = wire.inflight.remove(&ack.pkid)
                && let Err(e) = link.spool.remove(seq)
            {
                eprintln!("livegate: mqtt: verdict {seq} acknowledged but not removed: {e}");
            }
        }
        Event::Outgoing(Outgoing::Publish(pkid)) => {
            if let Some(Some(seq)) = wire.requested.pop_front() {
                wire.inflight.insert(pkid, seq);
            }
        }
        _ => {}
    }
}

fn on_connect(link: &mut Link, wire: &mut Wire) {
    wire.connected = true;
    let t = &link.topics;
    for topic in [t.start(), t.cancel(), t.ha_status()] {
        if let Err(e) = wire.client.try_subscribe(topic.as_str(), QoS::AtLeastOnce) {
            eprintln!("livegate: mqtt: cannot subscribe to {topic}: {e}");
        }
    }
    wire.publish(t.availability(), QoS::AtLeastOnce, true, b"online".to_vec(), None);
    wire.publish_json(t.state(), QoS::AtLeastOnce, true, &link.state);
    publish_discovery(link, wire);
    match link.spool.pending() {
        Ok(pending) => {
            for s in pending {
                wire.publish(link.topics.verdict(), QoS::AtLeastOnce, false, s.payload, Some(s.seq));
            }
        }
        Err(e) => eprintln!("livegate: mqtt: cannot read the spool: {e}"),
    }
}

fn publish_discovery(link: &Link, wire: &mut Wire) {
    for (topic, config) in topics::discovery(&link.topics, env!("CARGO_PKG_VERSION")) {
        wire.publish_json(topic, QoS::AtLeastOnce, true, &config);
    }
}

fn on_publish(topic: &str, payload: &[u8], link: &Link, wire: &mut Wire, inbound: &mpsc::Sender<Inbound>) {
    let t = &link.topics;
    if topic == t.ha_status() {
        if payload == b"online" {
            publish_discovery(link, wire);
        }
        return;
    }
    let kind = if topic == t.start() {
        RequestKind::Start
    } else if topic == t.cancel() {
        RequestKind::Cancel
    } else {
        return;
    };
    let msg = match (kind, parse_request(payload)) {
        (RequestKind::Start, Ok(r)) => Inbound::Start(r),
        (RequestKind::Cancel, Ok(r)) => Inbound::Cancel(r),
        (kind, Err(bad)) => Inbound::Invalid(kind, bad),
    };
    if let Err(e) = inbound.try_send(msg) {
        let request_id = match e.into_inner() {
            Inbound::Start(r) | Inbound::Cancel(r) => r.request_id,
            Inbound::Invalid(_, b) => b.request_id,
        };
        let r = Response::error(request_id, "too many requests at once; try again");
        wire.publish_json(t.response(), QoS::AtLeastOnce, false, &r);
    }
}

fn on_outbound(m: Outbound, link: &mut Link, wire: &mut Wire) {
    let t = &link.topics;
    match m {
        Outbound::Response(r) => wire.publish_json(t.response(), QoS::AtLeastOnce, false, &r),
        Outbound::Event(e) => wire.publish_json(t.event(), QoS::AtMostOnce, false, &e),
        Outbound::State(s) => {
            wire.publish_json(t.state(), QoS::AtLeastOnce, true, &s);
            link.state = s;
        }
        Outbound::Verdict(v) => match link.spool.put(&v) {
            Ok(s) => wire.publish(t.verdict(), QoS::AtLeastOnce, false, s.payload, Some(s.seq)),
            Err(e) => {
                // Not durable: still publish once rather than drop it, and say so.
                eprintln!(
                    "livegate: mqtt: verdict {} NOT spooled ({e}); publishing without the guarantee",
                    v.seq
                );
                wire.publish_json(t.verdict(), QoS::AtLeastOnce, false, &v);
            }
        },
    }
}

async fn shutdown(link: &Link, wire: &mut Wire, eventloop: &mut rumqttc::EventLoop) {
    if !wire.connected {
        return;
    }
    wire.publish(link.topics.availability(), QoS::AtLeastOnce, true, b"offline".to_vec(), None);
    let _ = wire.client.try_disconnect();
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(ev)) = tokio::time::timeout_at(deadline, eventloop.poll()).await {
        if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) {
            break;
        }
    }
}
