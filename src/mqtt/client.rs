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

use rumqttc::{QoS, TlsConfiguration, Transport};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tracing::{debug, error, info, warn};

use super::MqttConfig;
use super::spool::Spool;
use super::topics::{
    self, BadRequest, EventPayload, Request, RequestKind, Response, StatePayload, Topics, parse_request,
};
use super::wire::{self, Client, Loop, ReplyTo, Settings, WireEvent};
use super::{BrokerUrl, tls};
use crate::verdict::Verdict;

/// What the service asks the MQTT task to send.
#[derive(Debug)]
pub enum Outbound {
    /// The answer to a request; also sent to the MQTT 5 response topic when there is one.
    Response(Response, Option<ReplyTo>),
    State(StatePayload),
    Event(EventPayload),
    /// A signed verdict: spooled, then published, then removed on PUBACK.
    Verdict(Box<Verdict>),
}

/// A request that arrived for the service (a failed validation too: the service answers it).
#[derive(Debug)]
pub struct Inbound {
    pub kind: RequestKind,
    pub request: Result<Request, BadRequest>,
    /// MQTT 5 response topic and correlation data, if the requester gave them.
    pub reply: Option<ReplyTo>,
}

/// Errors of setting the client up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("mqtt.url: {0}")]
    Url(#[from] super::UrlError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// Connection settings from the config: protocol, client id, keep-alive, last will, TLS,
/// credentials.
///
/// # Errors
/// [`ClientError`] for a bad URL or unreadable TLS/credential files.
pub fn settings(m: &MqttConfig, device_id: &str, topics: &Topics) -> Result<Settings, ClientError> {
    let (host, port, tls) = match BrokerUrl::parse(&m.url)? {
        BrokerUrl::Tcp { host, port, tls } => (host, port, tls),
        BrokerUrl::Embedded => ("127.0.0.1".to_owned(), m.embedded_port, false),
    };
    let transport = if tls {
        Transport::tls_with_config(TlsConfiguration::Rustls(tls::client_config(m)?))
    } else {
        Transport::tcp()
    };
    Ok(Settings {
        protocol: m.protocol,
        client_id: m.client_id.clone().unwrap_or_else(|| format!("livegate-{device_id}")),
        host,
        port,
        keep_alive: Duration::from_secs(m.keepalive_s),
        will_topic: topics.availability(),
        transport,
        credentials: tls::credentials(m)?,
    })
}

/// A connection that lasted this long counts as stable (the reconnect backoff starts over).
const STABLE_CONNECTION: Duration = Duration::from_secs(5);

/// Connections in a row closed before [`STABLE_CONNECTION`] after which the log says why that
/// probably happens.
const SAME_ID_HINT_AFTER: u32 = 3;

/// Everything the task needs besides its channels.
pub struct Link {
    pub topics: Topics,
    pub spool: Spool,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// The last state, republished (retained) on every connect.
    pub state: StatePayload,
    /// Whether the broker connection is up (for the screen's status glyph).
    pub connected: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Verdicts the spool could not store (a full or read-only disk), kept in memory by `seq`
    /// until the broker acknowledges them; the count is shared with the service, which starts
    /// no challenge while any is held.
    pub held: std::collections::BTreeMap<u64, Vec<u8>>,
    pub unspooled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Per-connection bookkeeping of the task.
struct Wire {
    client: Client,
    /// Shared with the service ([`Link::connected`]): the screen's broker glyph reads it.
    connected: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// For each requested publish, in order: the verdict `seq` it carries, if any.
    requested: VecDeque<Option<u64>>,
    /// Packet id → verdict `seq`, waiting for PUBACK.
    inflight: HashMap<u16, u64>,
    /// Publishes rumqttc's request queue had no room for, in order, sent as it drains (a burst
    /// of requests must not lose its answers, nor delay a verdict to the next connect).
    backlog: VecDeque<Backlogged>,
}

/// A publish waiting in [`Wire::backlog`].
struct Backlogged {
    topic: String,
    qos: QoS,
    retain: bool,
    payload: Vec<u8>,
    seq: Option<u64>,
    reply: Option<ReplyTo>,
}

/// The most publishes held back; past it, answers are dropped with a log line (verdicts never:
/// the spool, or the memory hold, sends them again at the next connect).
const MAX_BACKLOG: usize = 10_000;

impl Wire {
    fn publish(&mut self, topic: String, qos: QoS, retain: bool, payload: Vec<u8>, seq: Option<u64>) {
        self.publish_to(topic, qos, retain, payload, seq, None);
    }

    fn publish_to(
        &mut self,
        topic: String,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
        seq: Option<u64>,
        reply: Option<&ReplyTo>,
    ) {
        if !self.is_connected() {
            return;
        }
        let p = Backlogged { topic, qos, retain, payload, seq, reply: reply.cloned() };
        if self.backlog.is_empty() && self.try_send(&p) {
            return;
        }
        if self.backlog.len() >= MAX_BACKLOG && p.seq.is_none() {
            warn!(topic = %p.topic, "publish dropped: {MAX_BACKLOG} publishes already wait for the broker link");
            return;
        }
        self.backlog.push_back(p);
    }

    /// Hands `p` to rumqttc; false when its queue is full.
    fn try_send(&mut self, p: &Backlogged) -> bool {
        match self.client.try_publish(p.topic.as_str(), p.qos, p.retain, p.payload.clone(), p.reply.as_ref())
        {
            Ok(()) => {
                self.requested.push_back(p.seq);
                true
            }
            Err(e) => {
                debug!(topic = %p.topic, error = %e, "publish held back");
                false
            }
        }
    }

    /// Sends what waits in the backlog, as far as rumqttc's queue has room.
    fn flush(&mut self) {
        while let Some(p) = self.backlog.pop_front() {
            if !self.try_send(&p) {
                self.backlog.push_front(p);
                break;
            }
        }
    }

    fn publish_json(&mut self, topic: String, qos: QoS, retain: bool, v: &impl serde::Serialize) {
        let bytes = serde_json::to_vec(v).expect("payload types always serialise");
        self.publish(topic, qos, retain, bytes, None);
    }

    fn is_connected(&self) -> bool {
        self.connected.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lost(&mut self) {
        self.connected.store(false, std::sync::atomic::Ordering::Relaxed);
        self.requested.clear();
        self.inflight.clear();
        // Verdicts among them go again from the spool (or the memory hold) at the next connect.
        self.backlog.clear();
    }
}

/// Runs the MQTT task until the service drops its [`Outbound`] sender; then publishes
/// `offline` and disconnects cleanly.
pub async fn run(
    link: Link,
    settings: Settings,
    mut outbound: mpsc::Receiver<Outbound>,
    inbound: mpsc::Sender<Inbound>,
) {
    let broker = format!("{}:{}", settings.host, settings.port);
    let client_id = settings.client_id.clone();
    let (client, mut eventloop) = wire::client(settings, 256);
    let mut link = link;
    link.connected.store(false, std::sync::atomic::Ordering::Relaxed);
    let connected = link.connected.clone();
    let mut wire = Wire {
        client,
        connected,
        requested: VecDeque::new(),
        inflight: HashMap::new(),
        backlog: VecDeque::new(),
    };
    let mut backoff = link.reconnect_min;
    let mut retry_at: Option<Instant> = None;
    let mut last_error = String::new();
    // When the last connection was accepted, and how many in a row the broker closed soon
    // after accepting them (another client with our id takes it over each time: issue 17, D15).
    let (mut accepted_at, mut cut_short): (Option<Instant>, u32) = (None, 0);
    loop {
        tokio::select! {
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(ev) => {
                    if matches!(ev, WireEvent::ConnAck) {
                        info!(%broker, "mqtt: connected to the broker");
                        accepted_at = Some(Instant::now());
                        last_error.clear();
                    }
                    on_event(ev, &mut link, &mut wire, &inbound);
                    wire.flush();
                }
                Err(msg) => {
                    // The backoff starts over only after a connection that held.
                    match accepted_at.take().map(|t| t.elapsed()) {
                        Some(held) if held >= STABLE_CONNECTION => (backoff, cut_short) = (link.reconnect_min, 0),
                        Some(_) => cut_short += 1,
                        None => {}
                    }
                    if cut_short == SAME_ID_HINT_AFTER {
                        error!(
                            %broker,
                            client_id = %client_id,
                            "the broker keeps closing the connection right after accepting it: another client \
                             is probably connected with the same client id; every terminal needs its own \
                             [device] id (or [mqtt] client_id)"
                        );
                    }
                    if msg != last_error {
                        warn!(%broker, error = %msg, "broker connection failed; retrying with backoff");
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
    shutdown(&mut link, &mut wire, &mut eventloop, &inbound).await;
}

fn on_event(ev: WireEvent, link: &mut Link, wire: &mut Wire, inbound: &mpsc::Sender<Inbound>) {
    match ev {
        WireEvent::ConnAck => on_connect(link, wire),
        WireEvent::Publish { topic, payload, reply, retained } => {
            on_publish(&topic, &payload, (reply, retained), link, wire, inbound)
        }
        WireEvent::PubAck { pkid, accepted } => match wire.inflight.remove(&pkid) {
            Some(seq) if !accepted => {
                warn!(seq, "broker refused the verdict; kept for the next connect");
            }
            Some(seq) => {
                if link.held.remove(&seq).is_some() {
                    link.unspooled.store(link.held.len(), std::sync::atomic::Ordering::Relaxed);
                    info!(seq, "unspooled verdict acknowledged by the broker");
                } else if let Err(e) = link.spool.remove(seq) {
                    warn!(seq, error = %e, "verdict acknowledged but not removed from the spool");
                }
            }
            None => {}
        },
        WireEvent::SentPublish(pkid) => {
            if let Some(Some(seq)) = wire.requested.pop_front() {
                wire.inflight.insert(pkid, seq);
            }
        }
        _ => {}
    }
}

fn on_connect(link: &mut Link, wire: &mut Wire) {
    wire.connected.store(true, std::sync::atomic::Ordering::Relaxed);
    let t = &link.topics;
    for topic in [t.start(), t.cancel(), t.ha_status()] {
        match wire.client.try_subscribe(&topic, QoS::AtLeastOnce) {
            Ok(()) => debug!(%topic, "subscribing"),
            Err(e) => error!(%topic, error = %e, "cannot subscribe"),
        }
    }
    wire.publish(t.availability(), QoS::AtLeastOnce, true, b"online".to_vec(), None);
    wire.publish_json(t.state(), QoS::AtLeastOnce, true, &link.state);
    publish_discovery(link, wire);
    let mut pending = match link.spool.pending() {
        Ok(pending) => pending.into_iter().map(|s| (s.seq, s.payload)).collect(),
        Err(e) => {
            error!(error = %e, "cannot read the spool");
            Vec::new()
        }
    };
    pending.extend(link.held.iter().map(|(&seq, p)| (seq, p.clone())));
    pending.sort_by_key(|(seq, _)| *seq);
    for (seq, payload) in pending {
        wire.publish(link.topics.verdict(), QoS::AtLeastOnce, false, payload, Some(seq));
    }
}

fn publish_discovery(link: &Link, wire: &mut Wire) {
    for (topic, config) in topics::discovery(&link.topics, env!("CARGO_PKG_VERSION")) {
        wire.publish_json(topic, QoS::AtLeastOnce, true, &config);
    }
}

fn on_publish(
    topic: &str,
    payload: &[u8],
    (reply, retained): (Option<ReplyTo>, bool),
    link: &Link,
    wire: &mut Wire,
    inbound: &mpsc::Sender<Inbound>,
) {
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
    let request_id = |r: &Result<Request, BadRequest>| match r {
        Ok(r) => r.request_id.clone(),
        Err(b) => b.request_id.clone(),
    };
    let reply = match reply {
        Some(to) if !link.topics.reply_allowed(&to.topic) => {
            warn!(%topic, response_topic = %to.topic, "MQTT 5 response topic refused (inside the livegate or discovery tree); answering on the response topic only");
            None
        }
        r => r,
    };
    let request = parse_request(payload);
    if retained {
        // A retained request is the broker's stored copy, replayed at every connect: acting on
        // it would start a challenge at every reconnect, forever (issue 17, D5).
        warn!(%topic, "retained request ignored: publish requests with retain = false");
        let r = Response::error(
            request_id(&request),
            "retained requests are ignored; publish with retain = false",
        );
        respond(link, wire, &r, reply.as_ref());
        return;
    }
    let msg = Inbound { kind, request, reply };
    if let Err(e) = inbound.try_send(msg) {
        let msg = e.into_inner();
        let r = Response::error(request_id(&msg.request), "too many requests at once; try again");
        respond(link, wire, &r, msg.reply.as_ref());
    }
}

fn on_outbound(m: Outbound, link: &mut Link, wire: &mut Wire) {
    let t = &link.topics;
    match m {
        Outbound::Response(r, reply) => respond(link, wire, &r, reply.as_ref()),
        Outbound::Event(e) => wire.publish_json(t.event(), QoS::AtMostOnce, false, &e),
        Outbound::State(s) => {
            wire.publish_json(t.state(), QoS::AtLeastOnce, true, &s);
            link.state = s;
        }
        Outbound::Verdict(v) => match link.spool.put(&v) {
            Ok(s) => wire.publish(t.verdict(), QoS::AtLeastOnce, false, s.payload, Some(s.seq)),
            Err(e) => {
                // Not durable, never dropped: held in memory and published (again at every
                // connect) until the broker acknowledges it; no new challenge meanwhile.
                error!(seq = v.seq, error = %e, "verdict NOT spooled; held in memory until the broker acknowledges it");
                let payload = serde_json::to_vec(&v).expect("a verdict always serialises");
                link.held.insert(v.seq, payload.clone());
                link.unspooled.store(link.held.len(), std::sync::atomic::Ordering::Relaxed);
                wire.publish(t.verdict(), QoS::AtLeastOnce, false, payload, Some(v.seq));
            }
        },
    }
}

/// Answers on `…/response`, and on the MQTT 5 response topic with its correlation data.
fn respond(link: &Link, wire: &mut Wire, r: &Response, reply: Option<&ReplyTo>) {
    let bytes = serde_json::to_vec(r).expect("a response always serialises");
    if let Some(to) = reply {
        wire.publish_to(to.topic.clone(), QoS::AtLeastOnce, false, bytes.clone(), None, Some(to));
    }
    wire.publish(link.topics.response(), QoS::AtLeastOnce, false, bytes, None);
}

async fn shutdown(link: &mut Link, wire: &mut Wire, eventloop: &mut Loop, inbound: &mpsc::Sender<Inbound>) {
    if !wire.is_connected() {
        return;
    }
    wire.publish(link.topics.availability(), QoS::AtLeastOnce, true, b"offline".to_vec(), None);
    // Verdicts still in flight (the last one may be a challenge aborted by the shutdown) get
    // their PUBACK, and leave the spool, before the disconnect; a few seconds at most.
    let deadline = Instant::now() + Duration::from_secs(2);
    while wire.requested.iter().any(Option::is_some) || !wire.inflight.is_empty() || !wire.backlog.is_empty()
    {
        match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Ok(Ok(ev)) => {
                on_event(ev, link, wire, inbound);
                wire.flush();
            }
            _ => break,
        }
    }
    wire.client.try_disconnect();
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(ev)) = tokio::time::timeout_at(deadline, eventloop.poll()).await {
        if matches!(ev, WireEvent::Disconnect) {
            break;
        }
    }
}
