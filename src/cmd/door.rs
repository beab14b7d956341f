//! `livegate door`: the reference door controller (docs/integrators.md). One invocation is one
//! door attempt: start a challenge with a fresh nonce, wait for its verdict, make every check
//! of [`crate::door::judge`], persist the accepted `seq`, then pulse a relay and/or run a
//! command on `open`. Prints one JSON line ([`crate::door::Outcome`]); exit 0 open, 1 deny,
//! 2 when it could not run. `tools/door_controller.py` is the same controller in Python.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rumqttc::{Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
use serde_json::Value;

use super::{Exit, LOG_TARGET};
use crate::door::{Expect, Judgement, Outcome, Rejected, SeqState, judge, public_key};
use crate::gpio::{GpioOptions, PiGpio};
use crate::mqtt::{BrokerUrl, MqttConfig};

/// What `livegate door` is asked to do: its command-line arguments (clap reads the field
/// docs as help), the same options as `tools/door_controller.py`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoorCommand {
    /// The broker: mqtt://HOST:PORT or mqtts://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub broker: String,
    /// The terminal's device id.
    #[arg(long, value_name = "ID")]
    pub device: String,
    /// The terminal's Ed25519 public key (64 hex digits, printed by `livegate keygen`), pinned.
    #[arg(long, value_name = "HEX")]
    pub public_key: String,
    /// Where the last accepted seq of each terminal is kept across restarts.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    #[arg(long, default_value = "livegate", value_name = "T")]
    pub base_topic: String,
    /// Seconds to wait for the verdict after the start request (the default states' worst
    /// case is about 80 s: docs/integrators.md, "How long to wait").
    #[arg(long, default_value_t = 90, value_name = "S")]
    pub timeout: u64,
    /// Clock-skew allowance in seconds for `expires_at` and `decided_at`.
    #[arg(long, default_value_t = 5, value_name = "S")]
    pub skew: u64,
    #[arg(long, value_name = "U")]
    pub username: Option<String>,
    /// The broker password is this file's first line.
    #[arg(long, value_name = "FILE", requires = "username")]
    pub password_file: Option<PathBuf>,
    /// CA bundle for mqtts:// (default: the system's trust store).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Run `sh -c CMD` after an accepted verdict (env LIVEGATE_SEQ).
    #[arg(long, value_name = "CMD")]
    pub on_open: Option<String>,
    /// Pulse this relay (BCM pin, through rppal) on open.
    #[arg(long, value_name = "PIN")]
    pub relay_gpio: Option<u8>,
    /// How long the relay pulse lasts.
    #[arg(long, default_value_t = 3_000, value_name = "MS")]
    pub pulse_ms: u64,
    /// The relay switches on a low level.
    #[arg(long)]
    pub relay_active_low: bool,
    /// TESTING ONLY: also accept verdicts of this source (e.g. replay). Repeatable.
    #[arg(long, value_name = "SOURCE")]
    pub allow_source: Vec<String>,
}

/// Runs one door attempt and prints its outcome.
///
/// # Errors
/// Bad options, an unreadable state file, a relay that cannot be claimed, a broker that
/// cannot be reached within `--timeout`, or a state file that cannot be written (exit 2).
pub fn exec(cmd: DoorCommand) -> anyhow::Result<Exit> {
    match attempt(&cmd) {
        Ok(outcome) => {
            println!("{}", serde_json::to_string(&outcome)?);
            Ok(Exit::success_if(outcome.decision == "open"))
        }
        Err(e) => {
            tracing::error!(target: LOG_TARGET, "door: {e:#}");
            Ok(Exit::Unusable)
        }
    }
}

fn attempt(cmd: &DoorCommand) -> anyhow::Result<Outcome> {
    let key = public_key(&cmd.public_key).map_err(anyhow::Error::msg).context("--public-key")?;
    let key_hex = cmd.public_key.trim().to_ascii_lowercase();
    let mut state = SeqState::load(&cmd.state).map_err(anyhow::Error::msg)?;
    for s in &cmd.allow_source {
        tracing::warn!(target: LOG_TARGET, "--allow-source {s}: TESTING ONLY, a verdict of this source can open the door");
    }
    // Claimed before the attempt, so a relay that cannot be driven is found now, not after a pass.
    let mut relay = match cmd.relay_gpio {
        Some(pin) => {
            let options = GpioOptions {
                relay_pin: Some(pin),
                relay_hold_ms: cmd.pulse_ms,
                relay_active_low: cmd.relay_active_low,
                ..GpioOptions::default()
            };
            options.validate().map_err(anyhow::Error::msg)?;
            PiGpio::open(&options)?
        }
        None => None,
    };
    let nonce = crate::entropy::hex_token(16).context("the OS random number generator")?;
    let request_id =
        format!("door-{}", crate::entropy::hex_token(8).context("the OS random number generator")?);
    let base = format!("{}/{}", cmd.base_topic, cmd.device);
    let (verdict_topic, response_topic) = (format!("{base}/verdict"), format!("{base}/response"));
    let (client, mut connection) = rumqttc::Client::new(options(cmd)?, 16);
    let timeout = Duration::from_secs(cmd.timeout);
    let connect_by = Instant::now() + timeout;
    let mut deadline = None;
    let mut outcome = Outcome {
        decision: "deny",
        reason: format!("timeout: no verdict within {} s", cmd.timeout),
        seq: None,
        request_id: request_id.clone(),
        nonce: nonce.clone(),
        rejected: Vec::new(),
        on_open_failed: None,
    };
    let mut judged: Option<Judgement> = None;
    loop {
        let now = Instant::now();
        let until = deadline.unwrap_or(connect_by);
        if now >= until {
            if deadline.is_none() {
                bail!("the broker {} did not accept the subscription within {} s", cmd.broker, cmd.timeout);
            }
            break;
        }
        let event = match connection.recv_timeout(until - now) {
            Err(_) => continue, // the time is up: the loop head decides
            Ok(Err(e)) => {
                tracing::warn!(target: LOG_TARGET, "broker {}: {e}", cmd.broker);
                std::thread::sleep(
                    Duration::from_millis(500).min(until.saturating_duration_since(Instant::now())),
                );
                continue;
            }
            Ok(Ok(event)) => event,
        };
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                // Clean sessions: (re)subscribe on every connect.
                let filters = [&verdict_topic, &response_topic]
                    .map(|t| rumqttc::SubscribeFilter::new(t.clone(), QoS::AtLeastOnce));
                client.subscribe_many(filters)?;
            }
            Event::Incoming(Packet::SubAck(_)) if deadline.is_none() => {
                // Subscribed: the verdict cannot slip past us now.
                let start = serde_json::json!({ "request_id": request_id, "nonce": nonce }).to_string();
                client.publish(format!("{base}/challenge/start"), QoS::AtLeastOnce, false, start)?;
                deadline = Some(Instant::now() + timeout);
            }
            Event::Incoming(Packet::Publish(p)) if deadline.is_some() && p.topic == response_topic => {
                let r: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                if r["request_id"] == request_id.as_str() && r["status"] == "error" {
                    outcome.reason = format!(
                        "terminal refused the request: {}",
                        r["error"].as_str().unwrap_or("(no message)")
                    );
                    break;
                }
            }
            Event::Incoming(Packet::Publish(p)) if deadline.is_some() && p.topic == verdict_topic => {
                let expect = Expect {
                    device_id: cmd.device.clone(),
                    public_key: key,
                    nonce: nonce.clone(),
                    last_seq: state.last(&cmd.device, &key_hex),
                    now_ms: unix_ms(),
                    skew_ms: i64::try_from(cmd.skew.saturating_mul(1000)).unwrap_or(i64::MAX),
                    extra_sources: cmd.allow_source.clone(),
                };
                match judge(&p.payload, p.retain, &expect) {
                    Judgement::NotOurs { reason, seq } => {
                        tracing::info!(target: LOG_TARGET, "set aside a message on {verdict_topic}: {reason}");
                        outcome.rejected.push(Rejected { reason, seq });
                    }
                    decided => {
                        judged = Some(decided);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let _ = client.disconnect();
    match judged {
        Some(Judgement::Open { seq }) => {
            // Durable before the door acts: a replay of this verdict can never open it again.
            state.accept(&cmd.device, &key_hex, seq).map_err(anyhow::Error::msg)?;
            (outcome.decision, outcome.reason, outcome.seq) = ("open", "pass".into(), Some(seq));
            outcome.on_open_failed = act(cmd, seq, relay.as_mut()).err();
        }
        Some(Judgement::Deny { reason, seq, newer }) => {
            if newer {
                state.accept(&cmd.device, &key_hex, seq).map_err(anyhow::Error::msg)?;
            }
            (outcome.reason, outcome.seq) = (reason, Some(seq));
        }
        Some(Judgement::NotOurs { .. }) | None => {}
    }
    Ok(outcome)
}

/// Opens the door: the relay pulse, then `--on-open`. Returns what failed.
fn act(cmd: &DoorCommand, seq: u64, relay: Option<&mut PiGpio>) -> Result<(), String> {
    let mut failed = Vec::new();
    if let Some(gpio) = relay {
        let t0 = Instant::now();
        let ms = || u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
        gpio.on_pass(0);
        // The pulse, then off (Gpio::poll drives the relay from the pulse's clock).
        loop {
            if let Err(e) = gpio.poll(ms()) {
                failed.push(format!("relay: {e}"));
                break;
            }
            if ms() > cmd.pulse_ms {
                break;
            }
            std::thread::sleep(Duration::from_millis(crate::gpio::POLL_MS));
        }
    }
    if let Some(command) = &cmd.on_open {
        match std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("LIVEGATE_SEQ", seq.to_string())
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(s) => failed.push(format!("--on-open exited with {s}")),
            Err(e) => failed.push(format!("--on-open: {e}")),
        }
    }
    for f in &failed {
        tracing::error!(target: LOG_TARGET, "door opened by the verdict, but {f}");
    }
    if failed.is_empty() { Ok(()) } else { Err(failed.join("; ")) }
}

/// The controller's MQTT options: a unique client id, clean session, TLS and credentials as
/// the terminal's own `[mqtt]` keys would set them.
fn options(cmd: &DoorCommand) -> anyhow::Result<MqttOptions> {
    let mqtt = MqttConfig {
        url: cmd.broker.clone(),
        username: cmd.username.clone(),
        password_file: cmd.password_file.clone(),
        ca_file: cmd.ca_file.clone(),
        ..MqttConfig::default()
    };
    let (host, port, tls) = match BrokerUrl::parse(&mqtt.url).context("--broker")? {
        BrokerUrl::Tcp { host, port, tls } => (host, port, tls),
        BrokerUrl::Embedded => {
            bail!("--broker: a door controller needs mqtt://HOST:PORT or mqtts://HOST:PORT")
        }
    };
    if cmd.ca_file.is_some() && !tls {
        bail!("--ca-file needs an mqtts:// broker (it would otherwise connect in plaintext)");
    }
    let mut o = MqttOptions::new(
        format!("door-{}", crate::entropy::hex_token(6).context("the OS random number generator")?),
        host,
        port,
    );
    o.set_keep_alive(Duration::from_secs(30)).set_clean_session(true);
    if tls {
        let config = crate::mqtt::tls::client_config(&mqtt)?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
    }
    if let Some((user, password)) = crate::mqtt::tls::credentials(&mqtt)? {
        o.set_credentials(user, password);
    }
    Ok(o)
}

fn unix_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
