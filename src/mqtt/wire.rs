//! One face for MQTT 3.1.1 and 5: rumqttc has a client per protocol version, and the MQTT
//! task needs only a handful of their operations. [`Client`] and [`Loop`] wrap either and
//! turn their events into [`WireEvent`], so the task's logic is written once.
//!
//! With MQTT 5 a request's response topic and correlation data are carried as [`ReplyTo`]
//! and honoured; 3.1.1 consumers always get the same answer on `…/response` too.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{LastWill as LastWill5, PublishProperties};
use rumqttc::{QoS, Transport};
use serde::{Deserialize, Serialize};

/// `[mqtt] protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5")]
    V5,
}

/// Where an MQTT 5 requester wants its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub topic: String,
    pub correlation: Option<Vec<u8>>,
}

/// What the event loop reported, protocol-independent.
#[derive(Debug)]
pub enum WireEvent {
    ConnAck,
    Publish {
        topic: String,
        payload: Vec<u8>,
        reply: Option<ReplyTo>,
        /// A retained message: the broker's stored copy, replayed at every (re)connect.
        retained: bool,
    },
    /// The broker acknowledged a QoS 1 publish (`accepted` false for an MQTT 5 error code).
    PubAck {
        pkid: u16,
        accepted: bool,
    },
    /// A publish left, with its packet id (0 for QoS 0), in request order.
    SentPublish(u16),
    Disconnect,
    Other,
}

/// Connection settings shared by both protocol versions.
pub struct Settings {
    pub protocol: Protocol,
    pub client_id: String,
    pub host: String,
    pub port: u16,
    pub keep_alive: Duration,
    pub will_topic: String,
    pub transport: Transport,
    pub credentials: Option<(String, String)>,
}

/// The request half of a client.
pub enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

/// The event half of a client.
pub enum Loop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
}

/// Largest packet accepted: an oversize request (anything over 4 KiB) must reach the validator
/// and get its error answer, not kill the link (rumqttc drops the connection on a larger
/// packet, and the broker then publishes the will: availability flaps). 16 MiB, briefly held;
/// the broker's own `message_size_limit` (docs/integrators.md) keeps anything larger away.
const MAX_PACKET: usize = 16 * 1024 * 1024;

/// Builds the client pair for the configured protocol (nothing connects until polled).
pub fn client(s: Settings, cap: usize) -> (Client, Loop) {
    match s.protocol {
        Protocol::V311 => {
            let mut o = rumqttc::MqttOptions::new(s.client_id, s.host, s.port);
            o.set_keep_alive(s.keep_alive)
                .set_clean_session(true)
                .set_max_packet_size(MAX_PACKET, MAX_PACKET)
                .set_last_will(rumqttc::LastWill::new(s.will_topic, "offline", QoS::AtLeastOnce, true))
                .set_transport(s.transport);
            if let Some((u, p)) = s.credentials {
                o.set_credentials(u, p);
            }
            let (c, l) = rumqttc::AsyncClient::new(o, cap);
            (Client::V4(c), Loop::V4(Box::new(l)))
        }
        Protocol::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(s.client_id, s.host, s.port);
            o.set_keep_alive(s.keep_alive)
                .set_clean_start(true)
                .set_max_packet_size(Some(MAX_PACKET as u32))
                .set_last_will(LastWill5::new(s.will_topic, "offline", qos5(QoS::AtLeastOnce), true, None))
                .set_transport(s.transport);
            if let Some((u, p)) = s.credentials {
                o.set_credentials(u, p);
            }
            let (c, l) = rumqttc::v5::AsyncClient::new(o, cap);
            (Client::V5(c), Loop::V5(Box::new(l)))
        }
    }
}

fn qos5(q: QoS) -> rumqttc::v5::mqttbytes::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

impl Client {
    /// Queues a publish without waiting; on MQTT 5 `reply` adds its correlation data.
    ///
    /// # Errors
    /// When the request queue is full or closed.
    pub fn try_publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
        reply: Option<&ReplyTo>,
    ) -> Result<(), String> {
        match self {
            Client::V4(c) => c.try_publish(topic, qos, retain, payload).map_err(|e| e.to_string()),
            Client::V5(c) => {
                let props = PublishProperties {
                    correlation_data: reply.and_then(|r| r.correlation.clone()).map(Into::into),
                    ..PublishProperties::default()
                };
                c.try_publish_with_properties(topic, qos5(qos), retain, payload, props)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Queues a subscription.
    ///
    /// # Errors
    /// When the request queue is full or closed.
    pub fn try_subscribe(&self, topic: &str, qos: QoS) -> Result<(), String> {
        match self {
            Client::V4(c) => c.try_subscribe(topic, qos).map_err(|e| e.to_string()),
            Client::V5(c) => c.try_subscribe(topic, qos5(qos)).map_err(|e| e.to_string()),
        }
    }

    /// Queues a clean DISCONNECT.
    pub fn try_disconnect(&self) {
        let _ = match self {
            Client::V4(c) => c.try_disconnect().map_err(|e| e.to_string()),
            Client::V5(c) => c.try_disconnect().map_err(|e| e.to_string()),
        };
    }
}

impl Loop {
    /// The next event; errors are described for the log (TLS ones say so).
    ///
    /// # Errors
    /// The connection failed or dropped; polling again reconnects.
    pub async fn poll(&mut self) -> Result<WireEvent, String> {
        match self {
            Loop::V4(l) => l.poll().await.map(event4).map_err(|e| match e {
                rumqttc::ConnectionError::Tls(t) => format!("TLS with the broker failed: {t}"),
                other => format!("broker connection: {other}"),
            }),
            Loop::V5(l) => l.poll().await.map(event5).map_err(|e| match e {
                rumqttc::v5::ConnectionError::Tls(t) => format!("TLS with the broker failed: {t}"),
                other => format!("broker connection: {other}"),
            }),
        }
    }
}

fn event4(ev: rumqttc::Event) -> WireEvent {
    use rumqttc::{Event, Outgoing, Packet};
    match ev {
        Event::Incoming(Packet::ConnAck(_)) => WireEvent::ConnAck,
        Event::Incoming(Packet::Publish(p)) => WireEvent::Publish {
            topic: p.topic,
            payload: p.payload.to_vec(),
            reply: None,
            retained: p.retain,
        },
        Event::Incoming(Packet::PubAck(a)) => WireEvent::PubAck { pkid: a.pkid, accepted: true },
        Event::Outgoing(Outgoing::Publish(pkid)) => WireEvent::SentPublish(pkid),
        Event::Outgoing(Outgoing::Disconnect) => WireEvent::Disconnect,
        _ => WireEvent::Other,
    }
}

fn event5(ev: rumqttc::v5::Event) -> WireEvent {
    use rumqttc::Outgoing;
    use rumqttc::v5::Event;
    use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
    match ev {
        Event::Incoming(Packet::ConnAck(_)) => WireEvent::ConnAck,
        Event::Incoming(Packet::Publish(p)) => {
            let reply = p.properties.as_ref().and_then(|pr| {
                pr.response_topic.clone().map(|topic| ReplyTo {
                    topic,
                    correlation: pr.correlation_data.as_ref().map(|b| b.to_vec()),
                })
            });
            WireEvent::Publish {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload.to_vec(),
                reply,
                retained: p.retain,
            }
        }
        Event::Incoming(Packet::PubAck(a)) => WireEvent::PubAck {
            pkid: a.pkid,
            accepted: matches!(a.reason, PubAckReason::Success | PubAckReason::NoMatchingSubscribers),
        },
        Event::Outgoing(Outgoing::Publish(pkid)) => WireEvent::SentPublish(pkid),
        Event::Outgoing(Outgoing::Disconnect) => WireEvent::Disconnect,
        _ => WireEvent::Other,
    }
}
