//! `livegate run`: the service. MQTT requests start challenges on the configured camera; each
//! challenge ends in exactly one signed verdict, which is spooled and published.
//!
//! | thread / task | does | talks through |
//! |---|---|---|
//! | `challenge` (std thread) | camera frames → vision → session | std `sync_channel(1)` of [`worker::Job`] in, tokio channel of [`worker::WorkerEvent`] out |
//! | service task (tokio) | requests, busy/lockout, verdicts, `seq`, signing | [`Inbound`] in, [`Outbound`] out |
//! | MQTT task (tokio) | rumqttc, spool, PUBACKs, reconnects | see [`crate::mqtt::client`] |
//!
//! | `screen` (std thread) | draws the newest [`crate::screen::View`] | newest-wins slot, fed by `challenge` (each analysed frame) and the service task (everything between challenges, [`ui::Between`]) |
//! | `gpio` (std thread) | button presses, relay pulses on `pass` | a press is a `Start` on a tokio channel; passes on a std channel |
//!
//! SIGTERM/SIGINT (or the demo's stop) ends the loop: a running challenge is cancelled,
//! `offline` is published, and the threads are joined within [`JOIN_DEADLINE`].

pub(crate) mod notify;
pub(crate) mod ui;
pub(crate) mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::camera::CameraSource;
use crate::camera::CaptureThread;
use crate::config::Config;
use crate::entropy::challenge_id;
use crate::gpio::{GpioThread, PiGpio};
use crate::liveness::session::{Checks, Reason};
use crate::mqtt::client::{self, Inbound, Link, Outbound};
use crate::mqtt::spool::Spool;
use crate::mqtt::topics::{Activity, EventPayload, Request, RequestKind, Response, StatePayload, Topics};
use crate::mqtt::wire::ReplyTo;
use crate::verdict::{Answering, Ended, Issuer, Source, Verdict, VerdictResult, rfc3339_ms};
use crate::verdict::{DeviceKey, SeqFile};
use crate::vision::FaceTracker;
use crate::{lockout, trigger};
use lockout::Lockout;
use ui::{Between, Ui};
pub use worker::SyntheticFaces;
use worker::{Cameras, Ending, Job, WorkerEvent};

/// The challenge in progress.
struct Running {
    challenge_id: String,
    request: Request,
    cancel: Arc<AtomicBool>,
}

/// The service task's state.
struct Service {
    cfg: Config,
    /// The device, the camera's kind, the engine's fingerprint (also in `state`) and the
    /// verdicts' lifetime, for every verdict.
    issuer: Issuer,
    /// The networks by file name (`state`'s `model`).
    model: String,
    key: DeviceKey,
    seq: SeqFile,
    jobs: std::sync::mpsc::SyncSender<Job>,
    out: mpsc::Sender<Outbound>,
    running: Option<Running>,
    lockout: Lockout,
    /// Verdicts the MQTT task holds in memory because the spool could not store them, and
    /// the count the last published `state` reported.
    unspooled: Arc<std::sync::atomic::AtomicUsize>,
    held_reported: usize,
    /// The V4L2 camera thread, whose status goes into `state`.
    capture: Option<Arc<CaptureThread>>,
    /// The camera text last published in `state`.
    camera: String,
    /// The camera's control lock last published in `state`.
    camera_controls: Option<crate::camera::ControlsReport>,
    /// When the lockout ends, while locked (for `state`).
    locked_until: Option<String>,
    /// The `challenge` thread: the watchdog is fed only while it lives.
    worker: std::thread::JoinHandle<()>,
    /// systemd's notify socket (READY, WATCHDOG, STOPPING).
    notify: notify::Notifier,
    /// The screen between challenges.
    between: Between,
    /// The button and relay, when fitted.
    gpio: Option<GpioThread>,
    /// Button presses waiting for the service task.
    presses: mpsc::Receiver<()>,
    /// Ends the service besides SIGTERM/SIGINT (`livegate demo`).
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
    /// A face held in view (`[trigger]`), when on.
    face_hold: Option<trigger::FaceHold>,
}

/// How long shutdown waits for each thread (challenge, screen) before leaving it behind.
pub const JOIN_DEADLINE: Duration = Duration::from_secs(3);

/// The threads left to join when the service loop ends.
struct Leftovers {
    worker: std::thread::JoinHandle<()>,
    gpio: Option<GpioThread>,
}

/// Runs the service until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (key, seq file, spool, TLS files, camera), with context.
pub fn run(cfg: Config, tracker: FaceTracker, synthetic: Option<SyntheticFaces>) -> anyhow::Result<()> {
    run_until(cfg, tracker, synthetic, None)
}

/// Runs the service until SIGINT/SIGTERM or until `stop` fires (or its sender is dropped).
/// A screen or GPIO that cannot be opened is reported and left out: the terminal still
/// answers MQTT requests.
///
/// # Errors
/// Start-up failures (key, seq file, spool, TLS files, camera), with context.
pub fn run_until(
    cfg: Config,
    tracker: FaceTracker,
    synthetic: Option<SyntheticFaces>,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> anyhow::Result<()> {
    let key = DeviceKey::load(&cfg.signing.key_file).context("verdict signing key")?;
    let seq = SeqFile::open(&cfg.signing.seq_file).context("verdict sequence file")?;
    seq.check_writable().context("verdict sequence file")?;
    let lockout = restore_lockout(&cfg.lockout)?;
    let spool = Spool::open(&cfg.mqtt.spool_dir)?;
    let topics = Topics::new(&cfg.mqtt.base_topic, &cfg.device.id, &cfg.mqtt.discovery_prefix);
    let settings = client::settings(&cfg.mqtt, &cfg.device.id, &topics)?;
    if crate::mqtt::BrokerUrl::parse(&cfg.mqtt.url)? == crate::mqtt::BrokerUrl::Embedded {
        let addr = crate::mqtt::broker::start(cfg.mqtt.embedded_port, cfg.mqtt.protocol)?;
        info!(%addr, "embedded broker listening");
    }
    let capture = match cfg.camera.source {
        CameraSource::V4l2 => {
            let mut opts = cfg.camera.v4l2.clone();
            opts.device = Some(cfg.camera.device.clone());
            let camera = crate::camera::V4l2Camera::new(opts).context("camera")?;
            Some(Arc::new(crate::camera::CaptureThread::v4l2(camera).context("camera thread")?))
        }
        _ => None,
    };
    let cameras = Cameras { config: cfg.camera.clone(), synthetic, capture: capture.clone() };
    worker::check_camera(&cameras).context("camera")?;
    let connected = Arc::new(AtomicBool::new(false));
    let unspooled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (views, screen_thread) = match crate::screen::sink::open(&cfg.screen) {
        Ok(Some(s)) => {
            info!(screen = %s.describe, "screen ready");
            (Some(s.views), Some(s.thread))
        }
        Ok(None) => (None, None),
        Err(e) => {
            warn!(error = %e, "running without a screen (see [screen] in the config)");
            (None, None)
        }
    };
    let ui = Ui::new(views, connected.clone(), cfg.screen.language);
    let (press_tx, presses) = mpsc::channel(4);
    let gpio = match PiGpio::open(&cfg.gpio) {
        Ok(Some(pins)) => {
            let on_press = move || {
                let _ = press_tx.try_send(());
            };
            Some(GpioThread::spawn(pins, on_press).context("gpio thread")?)
        }
        Ok(None) => None,
        Err(e) => {
            warn!(error = %e, "running without the button and relay (see [gpio] in the config)");
            None
        }
    };
    let (work_tx, work_rx) = mpsc::channel(16);
    let watch = (cfg.trigger.face_hold_ms > 0).then_some(cfg.trigger.face_min_width);
    let (engine, model) = (tracker.engine(), tracker.models());
    let (jobs, worker) = worker::spawn(
        tracker,
        cameras,
        (cfg.liveness.clone(), cfg.light.clone()),
        work_tx,
        (ui.clone(), watch),
    )?;
    let (out_tx, out_rx) = mpsc::channel(64);
    let (in_tx, in_rx) = mpsc::channel(16);
    let link = Link {
        topics,
        spool,
        reconnect_min: Duration::from_millis(cfg.mqtt.reconnect_min_ms),
        reconnect_max: Duration::from_millis(cfg.mqtt.reconnect_max_ms),
        // The camera thread may have failed already: the first retained state says so.
        state: state(
            idle_or_error(capture.as_deref()),
            camera_text(&cfg, capture.as_deref()),
            (&model, &engine),
            None,
        ),
        connected,
        held: Default::default(),
        unspooled: unspooled.clone(),
    };
    info!(public_key = %key.public_hex(), "verdict public key");
    let camera = camera_text(&cfg, capture.as_deref());
    let result_for = Duration::from_millis(cfg.screen.result_ms);
    let face_hold = (cfg.trigger.face_hold_ms > 0).then(|| trigger::FaceHold::new(cfg.trigger.face_hold_ms));
    let issuer = Issuer {
        device_id: cfg.device.id.clone(),
        source: match cfg.camera.source {
            CameraSource::V4l2 => Source::V4l2,
            CameraSource::Replay => Source::Replay,
            CameraSource::Synthetic => Source::Synthetic,
        },
        engine,
        ttl: Duration::from_secs(cfg.signing.verdict_ttl_s),
    };
    let service = Service {
        issuer,
        model,
        locked_until: lockout.saved().locked_until.map(unix_ms_text),
        lockout,
        unspooled,
        held_reported: 0,
        cfg,
        key,
        seq,
        jobs,
        out: out_tx,
        running: None,
        camera,
        camera_controls: None,
        capture,
        worker,
        notify: notify::Notifier::from_env(),
        between: Between::new(ui, result_for),
        gpio,
        presses,
        stop,
        face_hold,
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let left = rt.block_on(async move {
        let mqtt = tokio::spawn(client::run(link, settings, out_rx, in_tx));
        let left = service.serve(in_rx, work_rx).await;
        // The service's sender is gone: the MQTT task publishes `offline` and disconnects.
        if tokio::time::timeout(JOIN_DEADLINE, mqtt).await.is_err() {
            warn!(within = ?JOIN_DEADLINE, "mqtt: no clean disconnect");
        }
        left
    });
    if let Some(g) = left.gpio {
        g.stop();
    }
    join_within("challenge", left.worker);
    if let Some(t) = screen_thread {
        join_within("screen", t);
    }
    Ok(())
}

/// Now in Unix milliseconds: the lockout's clock, so its history means the same after a restart.
fn unix_ms() -> u64 {
    SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The lockout with the history kept in `[lockout] state_file` (none yet: a fresh one), written
/// back at once so a file that cannot be written stops the start, naming it.
///
/// # Errors
/// An unreadable or corrupt history, or one that cannot be written.
fn restore_lockout(cfg: &lockout::LockoutConfig) -> anyhow::Result<Lockout> {
    let path = &cfg.state_file;
    let saved = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!("lockout history {} is corrupt (delete it to forget the failures)", path.display())
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => lockout::Saved::default(),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the lockout history {}", path.display()));
        }
    };
    let restored = Lockout::restore(cfg, saved, unix_ms());
    save_lockout(path, &restored)?;
    Ok(restored)
}

/// Writes the lockout's history to `path`, durably.
///
/// # Errors
/// The I/O error, naming the file.
fn save_lockout(path: &std::path::Path, lockout: &Lockout) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(&lockout.saved()).expect("the lockout history serialises");
    crate::durable::write(path, &bytes)
        .with_context(|| format!("cannot write the lockout history {}", path.display()))
}

/// A Unix time in milliseconds as RFC 3339.
fn unix_ms_text(ms: u64) -> String {
    rfc3339_ms(std::time::UNIX_EPOCH + Duration::from_millis(ms))
}

/// Waits up to [`JOIN_DEADLINE`] for a thread; one still busy is left behind (the process is
/// about to exit) with a message.
fn join_within<T>(name: &str, thread: std::thread::JoinHandle<T>) {
    let t0 = Instant::now();
    while !thread.is_finished() {
        if t0.elapsed() > JOIN_DEADLINE {
            warn!(thread = %name, within = ?JOIN_DEADLINE, "thread did not stop; leaving it");
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if thread.join().is_err() {
        error!(thread = %name, "thread panicked");
    }
}

/// What `state.camera` says: the V4L2 camera's status (`camera error: …` while it is
/// missing or failing), else the source's name.
fn camera_text(cfg: &Config, capture: Option<&CaptureThread>) -> String {
    match capture {
        Some(c) => c.status().to_string(),
        None => format!("{:?}", cfg.camera.source).to_lowercase(),
    }
}

/// Between challenges and unlocked: `Error` while the V4L2 camera is failing, else `Idle`.
fn idle_or_error(capture: Option<&CaptureThread>) -> Activity {
    if capture.is_some_and(|c| c.status().is_error()) { Activity::Error } else { Activity::Idle }
}

/// The retained `state`: `model` names the networks, `engine` is their fingerprint.
fn state(
    activity: Activity,
    camera: String,
    (model, engine): (&str, &str),
    locked_until: Option<String>,
) -> StatePayload {
    StatePayload {
        state: activity,
        camera,
        model: model.to_owned(),
        engine: engine.to_owned(),
        version: env!("CARGO_PKG_VERSION").into(),
        since: rfc3339_ms(SystemTime::now()),
        locked_until,
        verdicts: None,
        camera_controls: None,
    }
}

async fn shutdown_signal(stop: Option<tokio::sync::oneshot::Receiver<()>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let stop = async move {
        match stop {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        () = stop => {}
    }
}

impl Service {
    async fn serve(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut work: mpsc::Receiver<WorkerEvent>,
    ) -> Leftovers {
        let stop = shutdown_signal(self.stop.take());
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        self.notify.send("READY=1");
        loop {
            tokio::select! {
                _ = tick.tick() => self.on_tick().await,
                Some(m) = inbound.recv() => self.on_request(m).await,
                Some(ev) = work.recv() => self.on_worker(ev).await,
                Some(()) = self.presses.recv() => self.on_button().await,
                () = &mut stop => break,
            }
        }
        info!("shutting down");
        self.notify.send("STOPPING=1");
        if let Some(r) = &self.running {
            // A challenge that began ends in a verdict (aborted), signed and handed to the MQTT
            // task (which spools it) before the channels close (issue 17, D4).
            r.cancel.store(true, Ordering::Relaxed);
            let deadline = tokio::time::Instant::now() + JOIN_DEADLINE;
            while self.running.is_some() {
                match tokio::time::timeout_at(deadline, work.recv()).await {
                    Ok(Some(ev)) => self.on_worker(ev).await,
                    _ => {
                        error!(within = ?JOIN_DEADLINE, "the running challenge did not end: no verdict for it");
                        break;
                    }
                }
            }
        }
        // Dropping the rest closes the job channel (the worker ends after its challenge) and
        // the MQTT sender (the MQTT task publishes `offline`).
        Leftovers { worker: self.worker, gpio: self.gpio }
    }

    /// The start button: a challenge like an MQTT `start` without a requester to answer
    /// (its verdict carries `request_id = "button"`); a refusal is logged.
    async fn on_button(&mut self) {
        self.start_locally("button").await;
    }

    /// A local trigger (`button`, `face`): its verdict carries the trigger as `request_id`.
    async fn start_locally(&mut self, trigger: &str) {
        let request = Request { request_id: Some(trigger.into()), nonce: None };
        match self.start(request) {
            Ok((_, running)) => {
                info!(%trigger, challenge = %running.challenge_id, "challenge started");
                self.running = Some(running);
                self.between.challenge_started();
                self.publish_state(Activity::Challenge).await;
            }
            Err(refusal) => warn!(%trigger, reason = %refusal.error.unwrap_or_default(), "trigger ignored"),
        }
    }

    /// The idle camera looked at: a near face held long enough starts a challenge (never
    /// while one runs or the terminal is locked).
    async fn on_presence(&mut self, present: bool) {
        let now = unix_ms();
        let free = self.running.is_none() && self.lockout.remaining_ms(now).is_none();
        let Some(hold) = self.face_hold.as_mut() else { return };
        if free && hold.update(present, now) {
            self.start_locally("face").await;
        }
    }

    /// Shows the resting screen (or the result still held), redrawing only on change.
    fn refresh_screen(&mut self, activity: Activity) {
        let camera_ok = idle_or_error(self.capture.as_deref()) != Activity::Error;
        let locked = self.lockout.remaining_ms(unix_ms());
        self.between.refresh(camera_ok, activity, locked);
    }

    /// What the terminal is doing between challenges.
    /// Forgets an expired lockout, so `on_tick` republishes its end exactly once.
    fn resting(&mut self) -> Activity {
        if self.lockout.remaining_ms(unix_ms()).is_some() {
            return Activity::Locked;
        }
        self.locked_until = None;
        idle_or_error(self.capture.as_deref())
    }

    async fn publish_state(&mut self, activity: Activity) {
        self.camera = camera_text(&self.cfg, self.capture.as_deref());
        let locked = if activity == Activity::Locked { self.locked_until.clone() } else { None };
        let mut s = state(activity, self.camera.clone(), (&self.model, &self.issuer.engine), locked);
        self.camera_controls = self.capture.as_deref().and_then(CaptureThread::controls);
        s.camera_controls.clone_from(&self.camera_controls);
        // Verdicts only in memory (the spool cannot store them): the terminal is in error
        // until the broker has them, and says why.
        self.held_reported = self.unspooled.load(Ordering::Relaxed);
        if self.held_reported > 0 {
            s.state = Activity::Error;
            s.verdicts = Some(format!(
                "{} verdict(s) held in memory: the spool {} cannot store them; no challenge starts until the broker has them",
                self.held_reported,
                self.cfg.mqtt.spool_dir.display()
            ));
        }
        self.send(Outbound::State(s)).await;
    }

    /// Republishes `state` when the camera's status changed (unplugged, back) or a lockout
    /// ended, between challenges; and when the camera's control lock changed (taken in the
    /// Nose state, or lost with a reconnect).
    async fn on_tick(&mut self) {
        self.feed_watchdog();
        let controls_changed =
            self.capture.as_deref().and_then(CaptureThread::controls) != self.camera_controls;
        if self.running.is_some() {
            if controls_changed {
                self.publish_state(Activity::Challenge).await;
            }
            return;
        }
        let camera = camera_text(&self.cfg, self.capture.as_deref());
        let was_locked = self.locked_until.is_some();
        let activity = self.resting();
        self.refresh_screen(activity);
        let held_changed = self.unspooled.load(Ordering::Relaxed) != self.held_reported;
        if camera != self.camera
            || (was_locked && activity != Activity::Locked)
            || held_changed
            || controls_changed
        {
            if camera != self.camera {
                info!(status = %camera, "camera status changed");
            }
            self.publish_state(activity).await;
        }
    }

    /// Feeds systemd's watchdog while the service loop turns (this tick), the inference thread
    /// lives and the camera thread (if any) has not ended; a wedged or dead part stops the
    /// feeding and systemd restarts the service. A missing camera does not: it is retried and
    /// reported, and the terminal still answers requests.
    fn feed_watchdog(&self) {
        let camera_alive = self.capture.as_ref().is_none_or(|c| !c.ended());
        if !self.worker.is_finished() && camera_alive {
            self.notify.send("WATCHDOG=1");
        }
    }

    async fn send(&self, m: Outbound) {
        if self.out.send(m).await.is_err() {
            error!("the MQTT task has stopped");
        }
    }

    async fn respond(&self, r: Response, reply: Option<ReplyTo>) {
        self.send(Outbound::Response(r, reply)).await;
    }

    async fn on_request(&mut self, m: Inbound) {
        let reply = m.reply;
        match (m.kind, m.request) {
            (_, Err(bad)) => self.respond(Response::error(bad.request_id, bad.message), reply).await,
            (RequestKind::Cancel, Ok(r)) => {
                let answer = match &self.running {
                    Some(run) => {
                        run.cancel.store(true, Ordering::Relaxed);
                        Response::ok(r.request_id)
                    }
                    None => Response::error(r.request_id, "no challenge is running"),
                };
                self.respond(answer, reply).await;
            }
            (RequestKind::Start, Ok(r)) => match self.start(r) {
                Ok((answer, running)) => {
                    self.respond(answer, reply).await;
                    self.running = Some(running);
                    self.between.challenge_started();
                    self.publish_state(Activity::Challenge).await;
                }
                Err(refusal) => self.respond(refusal, reply).await,
            },
        }
    }

    /// Hands a challenge to the worker if the terminal is free; else the refusal to send.
    fn start(&mut self, r: Request) -> Result<(Response, Running), Response> {
        if let Some(run) = &self.running {
            let msg = format!("busy: challenge {} is still running", run.challenge_id);
            return Err(Response::error(r.request_id, msg));
        }
        let held = self.unspooled.load(Ordering::Relaxed);
        if held > 0 {
            let msg = format!(
                "verdicts cannot be stored (spool {}: see the log); {held} waiting for the broker",
                self.cfg.mqtt.spool_dir.display()
            );
            return Err(Response::error(r.request_id, msg));
        }
        let now = unix_ms();
        if let Some(left) = self.lockout.remaining_ms(now) {
            let msg = format!("locked out after repeated failures for another {} s", left.div_ceil(1000));
            return Err(Response::error(r.request_id, msg));
        }
        let id = challenge_id()
            .map_err(|e| Response::error(r.request_id.clone(), format!("no randomness: {e}")))?;
        let cancel = Arc::new(AtomicBool::new(false));
        if self.jobs.try_send(Job { challenge_id: id.clone(), cancel: cancel.clone() }).is_err() {
            return Err(Response::error(r.request_id, "the challenge worker is not available"));
        }
        Ok((Response::ok(r.request_id.clone()), Running { challenge_id: id, request: r, cancel }))
    }

    async fn on_worker(&mut self, ev: WorkerEvent) {
        match ev {
            WorkerEvent::Progress { challenge_id, phase, prompt } => {
                let state = format!("{phase:?}").to_lowercase();
                let message =
                    crate::screen::text::instruction(crate::screen::text::Language::En, prompt).into();
                let e = EventPayload { challenge_id, state, prompt, message };
                self.send(Outbound::Event(e)).await;
            }
            WorkerEvent::Presence { present } => self.on_presence(present).await,
            WorkerEvent::Done { challenge_id, started, ending } => {
                let Some(run) = self.running.take().filter(|r| r.challenge_id == challenge_id) else {
                    warn!(challenge = %challenge_id, "result of unknown challenge ignored");
                    return;
                };
                self.finish(run, started, ending).await;
            }
        }
    }

    async fn finish(&mut self, run: Running, started: SystemTime, ending: Ending) {
        if let Some(hold) = self.face_hold.as_mut() {
            hold.disarm();
        }
        let mut v = self.verdict(&run, started, ending);
        // Only a face that failed the liveness checks counts (issue 17, D11).
        let failed = v.result != VerdictResult::Pass && lockout::counts_toward_lockout(v.reason);
        let lock = self.lockout.record(failed, unix_ms());
        if failed && let Err(e) = save_lockout(&self.cfg.lockout.state_file, &self.lockout) {
            error!(error = format_args!("{e:#}"), "lockout history not saved: a restart would forget it");
        }
        let (result, reason) = (v.result, v.reason);
        let issued = self.seq.take_next().map_err(anyhow::Error::from).and_then(|seq| {
            v.seq = seq;
            self.key.sign(&mut v).map_err(anyhow::Error::from)
        });
        match issued {
            Ok(()) => {
                info!(
                    challenge = %run.challenge_id,
                    seq = v.seq,
                    result = ?v.result,
                    reason = ?v.reason,
                    request_id = v.request_id.as_deref().unwrap_or("-"),
                    "verdict issued"
                );
                self.pulse_relay(&v);
                self.send(Outbound::Verdict(Box::new(v))).await;
            }
            // Without a durable seq or a signature there is no verdict a door could trust.
            Err(e) => {
                error!(challenge = %run.challenge_id, error = format_args!("{e:#}"), "verdict not issued")
            }
        }
        self.locked_until = lock.map(unix_ms_text);
        let activity = self.resting();
        self.between.hold(ui::result_scene(result, reason));
        self.refresh_screen(activity);
        self.publish_state(activity).await;
    }

    /// Opens the door for a signed `pass` from the live camera, and for nothing else: replayed
    /// and synthetic frames never count for a door (SPEC §8).
    fn pulse_relay(&self, v: &Verdict) {
        let Some(gpio) = &self.gpio else { return };
        if v.result != VerdictResult::Pass {
            return;
        }
        if v.source == Source::V4l2 {
            gpio.pass();
        } else {
            warn!(source = ?v.source, "relay not pulsed for a verdict not from a live camera");
        }
    }

    fn verdict(&self, run: &Running, started: SystemTime, ending: Ending) -> Verdict {
        let decided = SystemTime::now();
        let ended = match ending {
            Ending::Decided(d) => Ended::from(&d),
            Ending::Cancelled { frames } => Ended {
                result: VerdictResult::Aborted,
                reason: Some(Reason::Cancelled),
                checks: Checks::default(),
                frames,
            },
            Ending::CameraFailed { frames, error } => {
                error!(challenge = %run.challenge_id, %error, "camera failed");
                Ended {
                    result: VerdictResult::Error,
                    reason: Some(Reason::CameraError),
                    checks: Checks::default(),
                    frames,
                }
            }
        };
        let answering = Answering {
            challenge_id: run.challenge_id.clone(),
            request_id: run.request.request_id.clone(),
            nonce: run.request.nonce.clone(),
        };
        Verdict::issue(&self.issuer, answering, ended, (started, decided))
    }
}
