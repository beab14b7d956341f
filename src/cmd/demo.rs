//! `livegate demo`: the whole service on a machine with no camera, screen or broker (SPEC §8).
//!
//! The real `run` code path is started with a synthetic camera (the shipped public-domain
//! face re-rendered in 3-D: a live visitor performing the challenge, alternating with a flat
//! photo tilted toward the target), the embedded MQTT broker on loopback and the screen drawn
//! to PNG files (or a window). The demo then acts as a door controller: it publishes `start`
//! requests over MQTT, waits for each signed verdict, checks its signature with the device's
//! public key and prints it. Anyone may watch meanwhile with
//! `mosquitto_sub -p PORT -t 'livegate/#' -v`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tracing::info;

use super::common::{face_tracker, synthetic_faces};
use super::{Exit, LOG_TARGET};
use crate::camera::CameraSource;
use crate::camera::synthetic::Script;
use crate::config::Config;
use crate::models;
use crate::mqtt::topics::Topics;
use crate::screen::ScreenKind;
use crate::service::SyntheticFaces;
use crate::verdict::signing::{self, DeviceKey};
use crate::verdict::{Verdict, VerdictResult};
use crate::vision::{FaceTracker, VisionConfig};

/// What `livegate demo` is asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the key, seq file, spool and screen PNGs go.
    pub out: PathBuf,
    /// Loopback port of the embedded broker.
    pub port: u16,
    /// How many challenges to run (0: until Ctrl-C).
    pub challenges: u32,
    /// The performer's face photo.
    pub face: PathBuf,
    /// Draw in a window instead of PNG files (builds with the `simulator` feature).
    pub window: bool,
}

/// What the demo saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub passes: u32,
    pub fails: u32,
    /// Other results (timeout, error).
    pub others: u32,
    /// Flat-photo attacks that passed: a security failure, the demo exits 1.
    pub attacks_passed: u32,
    /// Live visitors rejected (the false-rejection rate is in docs/evaluation.md).
    pub live_rejected: u32,
}

/// What the demo's visitors do, in turn: a live visitor, then a flat-photo attack.
pub const SCRIPTS: [Script; 2] = [Script::Live, Script::Print];

/// The demo's service configuration: everything under `out`, nothing on the network but
/// loopback. Lockout is relaxed, since half the visitors are attacks by design.
pub fn demo_config(opts: &DemoOptions) -> Config {
    let mut cfg = Config::default();
    cfg.device.id = "demo".into();
    cfg.camera.source = CameraSource::Synthetic;
    cfg.camera.face = opts.face.clone();
    cfg.camera.scripts = SCRIPTS.to_vec();
    cfg.mqtt.url = "embedded".into();
    cfg.mqtt.embedded_port = opts.port;
    cfg.mqtt.spool_dir = opts.out.join("spool");
    cfg.signing.key_file = opts.out.join("verdict.key");
    cfg.signing.seq_file = opts.out.join("seq");
    cfg.lockout.state_file = opts.out.join("lockout.json");
    cfg.lockout.max_fails = 1_000_000;
    cfg.screen.kind = if opts.window { ScreenKind::Window } else { ScreenKind::Png };
    cfg.screen.path = opts.out.join("screen");
    cfg.screen.width = 800;
    cfg.screen.height = 480;
    cfg.screen.result_ms = 1_500;
    cfg
}

/// The embedded broker's port when none is asked for: MQTT's 1883, unless something (often
/// Debian's own mosquitto service) already listens there; then any free loopback port.
pub fn default_port() -> u16 {
    if std::net::TcpListener::bind(("127.0.0.1", 1883)).is_ok() {
        return 1883;
    }
    std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).map_or(1883, |a| a.port())
}

/// The performer of challenge `i` (the worker rotates the scripts in the same order).
fn script_of(cfg: &Config, i: u32) -> Script {
    cfg.camera.scripts[i as usize % cfg.camera.scripts.len()]
}

/// What `livegate demo` is asked to do, before the defaults are filled in.
#[derive(Debug, Clone)]
pub struct DemoCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    pub out: PathBuf,
    /// Default: [`default_port`].
    pub port: Option<u16>,
    pub challenges: u32,
    /// Default: the shipped portrait ([`default_face`]).
    pub face: Option<PathBuf>,
    pub window: bool,
}

/// `livegate demo`: the service with the int8 networks and the synthetic visitors, driven
/// until `challenges` verdicts came back; [`Exit::Failure`] when a flat-photo attack passed.
///
/// # Errors
/// See [`demo`]; also no models.
pub fn exec(cmd: DemoCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let face = cmd.face.unwrap_or_else(|| default_face(&model_dir));
    let port = cmd.port.unwrap_or_else(default_port);
    let opts = DemoOptions { out: cmd.out, port, challenges: cmd.challenges, face, window: cmd.window };
    let vision = VisionConfig::default();
    let tracker = face_tracker(&model_dir, vision.clone())?;
    let faces = synthetic_faces(&opts.face, SCRIPTS.to_vec(), &model_dir, &vision)?;
    let summary = demo(&opts, tracker, faces)?;
    if summary.attacks_passed > 0 {
        tracing::error!(
            target: LOG_TARGET,
            attacks_passed = summary.attacks_passed,
            "flat-photo attack(s) passed"
        );
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

/// The demo's default performer: the shipped portrait in a checkout, else the installed copy.
fn default_face(model_dir: &Path) -> PathBuf {
    let candidates = [
        PathBuf::from("tests/data/astronaut.png"),
        model_dir.join("../tests/data/astronaut.png"),
        PathBuf::from("/usr/share/livegate/astronaut.png"),
    ];
    candidates.iter().find(|p| p.exists()).unwrap_or(&candidates[0]).clone()
}

/// Runs the demo; prints each verdict as one JSON line on stdout and a summary on stderr.
///
/// # Errors
/// A busy port, unreadable face photo or models, or a service that stopped early.
pub fn demo(opts: &DemoOptions, tracker: FaceTracker, faces: SyntheticFaces) -> anyhow::Result<DemoSummary> {
    std::fs::create_dir_all(&opts.out).with_context(|| format!("cannot create {}", opts.out.display()))?;
    let cfg = demo_config(opts);
    cfg.validate()?;
    let public = ensure_key(&cfg.signing.key_file)?;
    crate::verdict::SeqFile::start(&cfg.signing.seq_file)?;
    std::net::TcpListener::bind(("127.0.0.1", opts.port)).with_context(|| {
        format!(
            "port {} on 127.0.0.1 is taken (a broker already running?); pick another with --port",
            opts.port
        )
    })?;
    let topics = Topics::new(&cfg.mqtt.base_topic, &cfg.device.id, &cfg.mqtt.discovery_prefix);
    info!(
        "demo: embedded broker on 127.0.0.1:{port}; watch it with  mosquitto_sub -p {port} -t '{}/#' -v",
        cfg.mqtt.base_topic,
        port = opts.port
    );
    info!("demo: verdicts are signed by {public}; screens go to {}", cfg.screen.path.display());
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let service_cfg = cfg.clone();
    let service = std::thread::Builder::new()
        .name("service".into())
        .spawn(move || crate::service::run_until(service_cfg, tracker, Some(faces), Some(stopped)))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = rt.block_on(drive(opts, &cfg, &topics, &public, &service));
    let _ = stop.send(());
    match service.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.context("the service failed")),
        Err(_) => bail!("the service thread panicked"),
    }
    let summary = outcome?;
    info!(
        "demo: {} pass, {} fail, {} other; screens in {}",
        summary.passes,
        summary.fails,
        summary.others,
        cfg.screen.path.display()
    );
    Ok(summary)
}

/// The demo's device key: kept across runs in `out`, made on the first.
fn ensure_key(path: &Path) -> anyhow::Result<String> {
    let key = if path.exists() {
        DeviceKey::load(path)?
    } else {
        let key = DeviceKey::generate()?;
        key.save(path)?;
        key
    };
    Ok(key.public_hex())
}

/// The door controller's side: start each challenge over MQTT and wait for its verdict.
async fn drive(
    opts: &DemoOptions,
    cfg: &Config,
    topics: &Topics,
    public: &str,
    service: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<DemoSummary> {
    let mut mqtt = MqttOptions::new("livegate-demo-controller", "127.0.0.1", opts.port);
    mqtt.set_keep_alive(Duration::from_secs(15));
    let (client, mut events) = AsyncClient::new(mqtt, 16);
    client.subscribe(topics.verdict(), QoS::AtLeastOnce).await?;
    client.subscribe(topics.response(), QoS::AtLeastOnce).await?;
    subscribed(&mut events, service).await?;
    let mut summary = DemoSummary::default();
    let mut i = 0;
    while opts.challenges == 0 || i < opts.challenges {
        let request_id = format!("demo-{}", i + 1);
        let mut nonce = [0u8; 8];
        crate::entropy::fill(&mut nonce)?;
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let script = script_of(cfg, i);
        let who = match script {
            Script::Live => "a live visitor",
            _ => "a flat-photo attack",
        };
        info!("demo: challenge {} ({who})…", i + 1);
        let start = serde_json::json!({ "request_id": request_id, "nonce": nonce }).to_string();
        client.publish(topics.start(), QoS::AtLeastOnce, false, start).await?;
        let verdict = wait_verdict(&mut events, topics, &request_id, service).await?;
        signing::verify(&verdict, public).context("the verdict's signature does not verify")?;
        if verdict.nonce.as_deref() != Some(nonce.as_str()) {
            bail!("verdict {} does not echo the request's nonce", verdict.seq);
        }
        println!("{}", serde_json::to_string(&verdict)?);
        let live = script == Script::Live;
        match verdict.result {
            VerdictResult::Pass => summary.passes += 1,
            VerdictResult::Fail => summary.fails += 1,
            _ => summary.others += 1,
        }
        let expected = if live { VerdictResult::Pass } else { VerdictResult::Fail };
        if !live && verdict.result == VerdictResult::Pass {
            summary.attacks_passed += 1;
        }
        if live && verdict.result != VerdictResult::Pass {
            summary.live_rejected += 1;
        }
        let reason = verdict.reason.map(|r| format!(" ({r:?})")).unwrap_or_default();
        let note = if verdict.result == expected { "as expected" } else { "NOT as expected" };
        info!(
            "demo: challenge {}: {:?}{reason}, {} frames, signature ok: {note}",
            i + 1,
            verdict.result,
            verdict.frames
        );
        i += 1;
        // Let the result screen show before the next visitor steps up.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    let _ = client.disconnect().await;
    Ok(summary)
}

/// Waits until the controller is connected and both subscriptions are acknowledged (the
/// embedded broker starts with the service, so the first attempts may be refused).
async fn subscribed(
    events: &mut rumqttc::EventLoop,
    service: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let mut acks = 0;
    while acks < 2 {
        if service.is_finished() {
            bail!("the service stopped");
        }
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("cannot reach the embedded broker within 30 s");
        }
        match tokio::time::timeout(Duration::from_millis(200), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => acks += 1,
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            _ => {}
        }
    }
    Ok(())
}

/// Polls the controller's connection until the verdict for `request_id` arrives.
async fn wait_verdict(
    events: &mut rumqttc::EventLoop,
    topics: &Topics,
    request_id: &str,
    service: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<Verdict> {
    let asked = Instant::now();
    loop {
        if service.is_finished() {
            bail!("the service stopped");
        }
        if asked.elapsed() > Duration::from_secs(120) {
            bail!("no verdict for {request_id} within 120 s");
        }
        let event = match tokio::time::timeout(Duration::from_millis(200), events.poll()).await {
            Err(_) => continue,
            Ok(Err(e)) => bail!("lost the embedded broker: {e}"),
            Ok(Ok(e)) => e,
        };
        let Event::Incoming(Packet::Publish(p)) = event else { continue };
        if p.topic == topics.response() {
            let r: serde_json::Value = serde_json::from_slice(&p.payload).unwrap_or_default();
            if r["request_id"] == request_id && r["status"] != "ok" {
                bail!("the service refused {request_id}: {}", r["error"]);
            }
        } else if p.topic == topics.verdict() {
            let v: Verdict = serde_json::from_slice(&p.payload).context("malformed verdict")?;
            if v.request_id.as_deref() == Some(request_id) {
                return Ok(v);
            }
        }
    }
}
