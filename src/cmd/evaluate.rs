//! `livegate evaluate`: the liveness evaluation harness (ISO/IEC 30107-3 terms).
//!
//! Generates synthetic sessions — live visitors, flat attacks (print, cut-out, bent print,
//! phone screen) and visitors who do the challenge wrong — in front of doors drawn at random
//! (`camera::synthetic::Conditions`: camera height, distance, lens, frame rate, light and its
//! steps, rolling shutter, codec, speed). The data-driven thresholds are calibrated on one set
//! of identities and seeds and reported on another that shares neither with it.
//!
//! Every session is run once, with the data-driven minimums switched off ([`measuring`]), so
//! every check is measured; a set of thresholds is then applied to the measured values exactly
//! as the session applies them at its decision frame ([`Thresholds::judge`]).

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::common::face_tracker;
use super::engine_check::check_or_record;
use super::inspect::read_rgb;
use super::synth::face_model;
use super::{Exit, LOG_TARGET};
use crate::camera::Frame;
use crate::camera::synthetic::{Conditions, FaceModel, Script, SeededRng, SyntheticCamera};
use crate::cmd::synth::seeded_target;
use crate::liveness::ChallengeGeometry;
use crate::liveness::light::{LightConfig, WhenTooBright};
use crate::liveness::session::LightOutcome;
use crate::liveness::session::{Decision, LivenessConfig, Outcome, Phase, Reason, Session};
use crate::models::{self, Precision};
use crate::pipeline::{ChallengeRunner, Ending, Event, Watcher};
use crate::vision::{FaceTracker, VisionConfig};

pub use super::evaluate_report::render;

/// One source face.
#[derive(Debug, Clone)]
pub struct SourceFace {
    pub name: String,
    pub model: FaceModel,
}

/// How many sessions of each kind to make per source face.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    pub live: u32,
    pub per_attack: u32,
    pub per_misbehaviour: u32,
}

/// One generated session and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub face: String,
    pub script: Script,
    pub seed: u64,
    /// The door it was performed at, as table bins (`Conditions::labels`).
    pub conditions: Vec<(&'static str, String)>,
    /// The decision with every check measured ([`measuring`]).
    pub decision: Decision,
    /// The Nose state frame by frame, for `--cases`.
    pub nose_frames: Vec<NoseFrame>,
}

/// One frame of the Nose state: the turn and the 3-D-motion value so far.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NoseFrame {
    pub t_ms: u64,
    pub turn_deg: Option<f32>,
    pub motion: Option<f32>,
    pub points_kept: usize,
    /// The generator's own turn toward the target at this frame's time since the Nose state
    /// began (noise-free pose, degrees): what `turn_deg` measures.
    pub true_turn_deg: f32,
}

/// Runs one synthetic session at the baseline door (15 fps, level camera, JPEG q85) through
/// the real pipeline.
///
/// # Errors
/// When rendering, encoding or the networks fail.
pub fn run_case(
    tracker: FaceTracker,
    face: &FaceModel,
    other: &FaceModel,
    script: Script,
    seed: u64,
    (config, light): (&LivenessConfig, &LightConfig),
    vision: &VisionConfig,
) -> anyhow::Result<Decision> {
    let conditions = Conditions { hfov_deg: vision.hfov_deg, ..Conditions::baseline() };
    Ok(run_at(tracker, face, other, script, seed, (config, light), vision, &conditions)?.0)
}

/// Runs one synthetic session at a door drawn from `seed` (the lens the installer configured
/// is the camera's: `hfov_deg` follows the door).
///
/// # Errors
/// When rendering, encoding or the networks fail.
pub fn run_door_case(
    tracker: FaceTracker,
    face: &FaceModel,
    other: &FaceModel,
    script: Script,
    seed: u64,
    (config, light): (&LivenessConfig, &LightConfig),
    vision: &VisionConfig,
) -> anyhow::Result<(Decision, Vec<NoseFrame>, Conditions)> {
    let conditions = door(seed);
    let vision = VisionConfig { hfov_deg: conditions.hfov_deg, ..vision.clone() };
    let (d, frames) = run_at(tracker, face, other, script, seed, (config, light), &vision, &conditions)?;
    Ok((d, frames, conditions))
}

/// The door a session of `seed` is performed at (`livegate synth --door` remakes it).
pub fn door(seed: u64) -> Conditions {
    Conditions::sample(&mut SeededRng::new(seed ^ 0x00D0_0125))
}

#[allow(clippy::too_many_arguments)]
fn run_at(
    mut tracker: FaceTracker,
    face: &FaceModel,
    other: &FaceModel,
    script: Script,
    seed: u64,
    (config, light): (&LivenessConfig, &LightConfig),
    vision: &VisionConfig,
    conditions: &Conditions,
) -> anyhow::Result<(Decision, Vec<NoseFrame>)> {
    let mut rng = SeededRng::new(seed);
    let geometry = ChallengeGeometry::new(640, 480, seeded_target(&mut rng));
    let mut camera =
        SyntheticCamera::new(face.clone(), other.clone(), script, &geometry, conditions, rng.next_u64());
    let toward = if geometry.target_is_right() { 1.0 } else { -1.0 };
    tracker.set_config(vision.clone());
    let session = Session::new(config.clone(), geometry).with_light(light.clone());
    let mut runner = ChallengeRunner::new(tracker, session).with_light_seed(rng.next_u64());
    let mut frames = Vec::new();
    let ending = runner.run(&mut camera, &mut NoseFrames(&mut frames))?;
    let decision = match ending {
        Ending::Decided(d) => d,
        Ending::CameraFailed { error, .. } => return Err(error.into()),
        Ending::Cancelled { .. } => unreachable!("an evaluation is never cancelled"),
    };
    if let Some(start) = frames.first().map(|f| f.t_ms) {
        let yaw = |t_ms: u64| camera.true_pose_at_ms(t_ms).yaw_deg;
        for f in &mut frames {
            f.true_turn_deg = toward * (yaw(f.t_ms) - yaw(start));
        }
    }
    Ok((decision, frames))
}

/// The evaluation's side of the challenge loop: the Nose state's frames, as measured.
struct NoseFrames<'a>(&'a mut Vec<NoseFrame>);

impl Watcher for NoseFrames<'_> {
    fn seen(&mut self, _frame: Frame, _event: Event<'_>, runner: &ChallengeRunner) -> anyhow::Result<()> {
        let t = runner.trace();
        if t.phase == Some(Phase::Nose) || t.decision.is_some() && t.turn_deg.is_some() {
            self.0.push(NoseFrame {
                t_ms: t.t_ms,
                turn_deg: t.turn_deg,
                motion: t.motion,
                points_kept: t.points_kept,
                true_turn_deg: 0.0,
            });
        }
        Ok(())
    }
}

/// A light challenge that measures the skin's response without failing on it.
pub fn measuring_light() -> LightConfig {
    LightConfig {
        enabled: true,
        min_correlation: f32::NEG_INFINITY,
        min_amplitude: f32::NEG_INFINITY,
        min_uniformity: f32::NEG_INFINITY,
        min_balance: f32::NEG_INFINITY,
        max_residual: f32::INFINITY,
        max_additivity: f32::INFINITY,
        max_background_share: f32::INFINITY,
        when_too_bright: WhenTooBright::PassWithout,
        measure_every_decision: true,
        ..LightConfig::default()
    }
}

/// A configuration that measures every check without failing on the data-driven ones.
pub fn measuring(config: &LivenessConfig) -> LivenessConfig {
    LivenessConfig {
        min_layout_change: f32::NEG_INFINITY,
        min_parallax: f32::NEG_INFINITY,
        max_surround_following: 1.0,
        ..config.clone()
    }
}

/// One session to generate.
#[derive(Debug, Clone, Copy)]
struct Job {
    face: usize,
    script: Script,
    seed: u64,
}

/// Runs every case of one set (`faces` perform, `others` pass by), spread over `workers`
/// threads, each session at its own door.
///
/// # Errors
/// When a session cannot be run.
pub fn run_set(
    tracker: &FaceTracker,
    faces: &[SourceFace],
    others: &[SourceFace],
    counts: Counts,
    seed_base: u64,
    (vision, light): (&VisionConfig, &LightConfig),
    workers: usize,
) -> anyhow::Result<Vec<CaseResult>> {
    let mut jobs = Vec::new();
    for (fi, _) in faces.iter().enumerate() {
        for script in Script::ALL {
            let n = match script {
                Script::Live => counts.live,
                s if s.is_attack() => counts.per_attack,
                _ => counts.per_misbehaviour,
            };
            for i in 0..n {
                let seed = seed_base + fi as u64 * 100_000 + script as u64 * 1_000 + u64::from(i);
                jobs.push(Job { face: fi, script, seed });
            }
        }
    }
    let config = measuring(&LivenessConfig::default());
    let run = |job: &Job| -> anyhow::Result<CaseResult> {
        let face = &faces[job.face];
        let other = &others[job.face % others.len()].model;
        let (decision, nose_frames, conditions) = run_door_case(
            tracker.clone(),
            &face.model,
            other,
            job.script,
            job.seed,
            (&config, light),
            vision,
        )
        .with_context(|| format!("{} {:?} seed {}", face.name, job.script, job.seed))?;
        Ok(CaseResult {
            face: face.name.clone(),
            script: job.script,
            seed: job.seed,
            conditions: conditions.labels(),
            decision,
            nose_frames,
        })
    };
    let workers = workers.clamp(1, jobs.len().max(1));
    let results: Vec<anyhow::Result<Vec<CaseResult>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let jobs = &jobs;
                let run = &run;
                scope.spawn(move || jobs.iter().skip(w).step_by(workers).map(run).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("worker panicked"))))
            .collect()
    });
    let mut out = Vec::with_capacity(jobs.len());
    for r in results {
        out.extend(r?);
    }
    out.sort_by_key(|r| (r.face.clone(), r.script as u64, r.seed));
    Ok(out)
}

/// Writes every case of the named sets as one JSON line each (`{"set": …, case fields}`).
///
/// # Errors
/// When the file cannot be written.
pub fn write_cases(path: &std::path::Path, sets: &[(&str, &[CaseResult])]) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Line<'a> {
        set: &'a str,
        #[serde(flatten)]
        case: &'a CaseResult,
    }
    let mut text = String::new();
    for (set, cases) in sets {
        for case in *cases {
            text.push_str(&serde_json::to_string(&Line { set, case })?);
            text.push('\n');
        }
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The data-driven thresholds, applied to measured decisions.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub min_parallax: f32,
    pub min_layout_change: f32,
    /// Not data-driven: the configured value (`LivenessConfig::max_surround_following`).
    pub max_surround_following: f32,
    pub min_light_correlation: f32,
    pub min_light_amplitude: f32,
    pub min_light_uniformity: f32,
    pub min_light_balance: f32,
    pub max_light_residual: f32,
    pub max_light_additivity: f32,
    /// Not data-driven: the configured value (`LightConfig::max_background_share`).
    pub max_light_background: f32,
}

impl Thresholds {
    /// The data-driven minimums of a liveness configuration.
    pub fn of(config: &LivenessConfig) -> Self {
        let light = LightConfig::default();
        Self {
            min_parallax: config.min_parallax,
            min_layout_change: config.min_layout_change,
            max_surround_following: config.max_surround_following,
            min_light_correlation: light.min_correlation,
            min_light_amplitude: light.min_amplitude,
            min_light_uniformity: light.min_uniformity,
            min_light_balance: light.min_balance,
            max_light_residual: light.max_residual,
            max_light_additivity: light.max_additivity,
            max_light_background: light.max_background_share,
        }
    }

    /// The light thresholds as the service applies them (`LightConfig::seen_in`).
    pub fn light(&self) -> LightConfig {
        LightConfig {
            min_correlation: self.min_light_correlation,
            min_amplitude: self.min_light_amplitude,
            min_uniformity: self.min_light_uniformity,
            min_balance: self.min_light_balance,
            max_residual: self.max_light_residual,
            max_additivity: self.max_light_additivity,
            max_background_share: self.max_light_background,
            ..LightConfig::default()
        }
    }

    /// Whether the light check accepts the session: no light challenge ran (a recording
    /// without one), or the skin followed the flashes.
    pub fn light_passes(&self, d: &Decision) -> bool {
        let c = &d.checks;
        match (c.light, c.light_values()) {
            (None | Some(LightOutcome::Off | LightOutcome::NotRun), _) => true,
            (Some(_), Some(v)) => self.light().seen_in(&v),
            (Some(_), None) => false,
        }
    }

    /// The outcome of a measured session had these thresholds been in force: the session
    /// checks rotation, then layout, then 3-D motion, then the path, at the decision frame.
    pub fn judge(&self, d: &Decision) -> (Outcome, Option<Reason>) {
        let reached = d.result == Outcome::Pass || d.reason == Some(Reason::JerkyPath);
        if !reached {
            return (d.result, d.reason);
        }
        if d.checks.layout_change.is_none_or(|v| v <= self.min_layout_change) {
            (Outcome::Fail, Some(Reason::LayoutUnchanged))
        } else if !self.motion_passes(d) {
            (Outcome::Fail, Some(Reason::FlatMotion))
        } else if !self.surround_passes(d) {
            (Outcome::Fail, Some(Reason::MovingSurround))
        } else if d.reason.is_none() && !self.light_passes(d) {
            (Outcome::Fail, Some(Reason::NoLightResponse))
        } else {
            (d.result, d.reason)
        }
    }

    /// Whether the surround check alone accepts the session (no value: no evidence, it accepts).
    pub fn surround_passes(&self, d: &Decision) -> bool {
        d.checks.surround_following.is_none_or(|f| f <= self.max_surround_following)
    }

    /// Whether the 3-D-motion check alone accepts the session (no value: it rejects).
    pub fn motion_passes(&self, d: &Decision) -> bool {
        d.checks.parallax.is_some_and(|p| p >= self.min_parallax)
    }
}

/// The thresholds chosen on the calibration set, with the values they came from.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub thresholds: Thresholds,
    pub live_parallax_min: f32,
    pub attack_parallax_max: f32,
    pub live_layout_min: f32,
    /// The light challenge, from live sessions at ≤ 500 lux and phone-screen attacks.
    pub live_light_correlation_min: f32,
    pub live_light_uniformity_min: f32,
    pub live_light_balance_min: f32,
    pub live_light_residual_max: f32,
    pub screen_light_correlation_max: f32,
}

/// Ambient light up to which the light challenge is calibrated and promised (issue 18).
pub const LIGHT_PROMISE_LUX: &[&str] = &["50-150 lux", "150-500 lux"];

/// Whether a session was performed at ≤ 500 lux.
pub fn dim_enough(r: &CaseResult) -> bool {
    r.conditions.iter().any(|(f, l)| *f == "ambient" && LIGHT_PROMISE_LUX.contains(&l.as_str()))
}

/// Sorted values of one check over the sessions `pick` selects (where measured).
pub fn values(
    results: &[CaseResult],
    pick: impl Fn(&CaseResult) -> bool,
    check: impl Fn(&Decision) -> Option<f32>,
) -> Vec<f32> {
    let mut v: Vec<f32> = results.iter().filter(|r| pick(r)).filter_map(|r| check(&r.decision)).collect();
    v.sort_by(f32::total_cmp);
    v
}

/// The 3-D-motion threshold between the smallest live value and the largest flat-attack value:
/// their geometric mean (equal margins on a log scale). The value is signed, and pictures show
/// no 3-D motion at all, so the attack side may be zero or negative: it counts as at least a
/// sixteenth of the smallest live value, which puts the threshold at a quarter of it at the
/// lowest (×4 below every live value). When the classes overlap: just above the largest attack
/// value, so the sessions measured have no accepted attack.
pub fn motion_threshold(live_min: f32, attack_max: f32) -> f32 {
    if attack_max < live_min && live_min > 0.0 {
        (attack_max.max(live_min / 16.0) * live_min).sqrt()
    } else {
        attack_max + 0.05 * attack_max.abs().max(1e-4)
    }
}

/// Chooses thresholds from a measured calibration set.
///
/// * 3-D motion: [`motion_threshold`].
/// * layout change (the seed's check, kept for parity, not the anti-photo evidence): half
///   the smallest live value, so it never decides alone against a live visitor.
///
/// # Errors
/// When the set has no live or no attack session that reached the target.
pub fn calibrate(measured: &[CaseResult]) -> anyhow::Result<Calibration> {
    let live = |r: &CaseResult| r.script == Script::Live;
    let attack = |r: &CaseResult| r.script.is_flat_attack();
    let lp = values(measured, live, |d| d.checks.parallax);
    let ap = values(measured, attack, |d| d.checks.parallax);
    let ll = values(measured, live, |d| d.checks.layout_change);
    let (Some(&live_min), Some(&attack_max), Some(&layout_min)) = (lp.first(), ap.last(), ll.first()) else {
        anyhow::bail!("calibration needs live and attack sessions that reach the target");
    };
    let min_parallax = motion_threshold(live_min, attack_max);
    // The light check: uniformity and balance at half the smallest live value; correlation
    // between the largest phone-screen value among those the other light checks let through
    // and the smallest live value (just above that attack value when they overlap); amplitude
    // at its noise floor, additivity and background share as configured.
    let lit = |r: &CaseResult| r.script == Script::Live && dim_enough(r);
    let screen = |r: &CaseResult| super::evaluate_report::is_screen(r);
    let lc = values(measured, lit, |d| d.checks.light_correlation);
    let lu = values(measured, lit, |d| d.checks.light_uniformity);
    let lb = values(measured, lit, |d| d.checks.light_balance);
    let lr = values(measured, lit, |d| d.checks.light_residual);
    let defaults = LightConfig::default();
    let (live_corr, live_uni, live_bal, live_res) = match (lc.first(), lu.first(), lb.first(), lr.last()) {
        (Some(&c), Some(&u), Some(&b), Some(&r)) => (c, u, b, r),
        // No light challenge ran (`--light` not given): the configured thresholds stand.
        _ => (
            defaults.min_correlation,
            2.0 * defaults.min_uniformity,
            2.0 * defaults.min_balance,
            defaults.max_residual / 2.0,
        ),
    };
    let (min_light_uniformity, min_light_balance) = (live_uni / 2.0, live_bal / 2.0);
    let max_light_residual = 2.0 * live_res;
    // Every light threshold but correlation (and amplitude, which is not calibrated).
    let rest = LightConfig {
        min_correlation: f32::NEG_INFINITY,
        min_amplitude: f32::NEG_INFINITY,
        min_uniformity: min_light_uniformity,
        min_balance: min_light_balance,
        max_residual: max_light_residual,
        ..defaults.clone()
    };
    let passes_rest = |d: &Decision| d.checks.light_values().is_some_and(|v| rest.seen_in(&v));
    let sc = values(measured, screen, |d| d.checks.light_correlation.filter(|_| passes_rest(d)));
    let screen_corr = sc.last().copied().unwrap_or(0.0);
    let min_light_correlation = if lc.is_empty() {
        defaults.min_correlation
    } else if screen_corr < live_corr {
        (screen_corr.max(0.0) + live_corr) / 2.0
    } else {
        screen_corr + 0.01
    };
    Ok(Calibration {
        thresholds: Thresholds {
            min_parallax,
            min_layout_change: layout_min / 2.0,
            max_surround_following: LivenessConfig::default().max_surround_following,
            min_light_correlation,
            min_light_amplitude: LightConfig::default().min_amplitude,
            min_light_uniformity,
            min_light_balance,
            max_light_residual,
            max_light_additivity: defaults.max_additivity,
            max_light_background: defaults.max_background_share,
        },
        live_light_correlation_min: live_corr,
        live_light_uniformity_min: live_uni,
        live_light_balance_min: live_bal,
        live_light_residual_max: live_res,
        screen_light_correlation_max: screen_corr,
        live_parallax_min: live_min,
        attack_parallax_max: attack_max,
        live_layout_min: layout_min,
    })
}

/// What `livegate evaluate` is asked to do (without `--sessions`: see
/// [`super::evaluate_sessions::exec`]).
#[derive(Debug, Clone)]
pub struct EvaluateCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    /// Source faces of the calibration set.
    pub calibrate: Vec<PathBuf>,
    /// Source faces of the report set (held out).
    pub report: Vec<PathBuf>,
    /// Sessions per calibration face, by kind (report faces get as many in total).
    pub counts: Counts,
    /// Write the Markdown report here (default: stdout).
    pub out: Option<PathBuf>,
    /// Also write every generated session as JSON lines here ([`write_cases`]).
    pub cases: Option<PathBuf>,
    /// Reference sessions of the engine check.
    pub reference: PathBuf,
    /// Write the engine record instead of checking the engine against it.
    pub record_engine: bool,
    /// Run and report the light challenge in every session.
    pub light: bool,
}

/// Checks the engine against its record (or writes it), generates and measures the
/// calibration set, calibrates the thresholds on it, measures the report set, and writes the
/// report with the engine section.
///
/// # Errors
/// No models, an unreadable source face or one without a face, an engine beyond the record's
/// tolerance, a failed session, or a report that cannot be written.
pub fn exec(cmd: EvaluateCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let vision = VisionConfig::default();
    let (detector, mesh_f) = models::load(&model_dir, Precision::Float, vision.detector_min_score)?;
    let tracker = face_tracker(&model_dir, vision.clone())?;
    let load = |paths: &[PathBuf]| -> anyhow::Result<Vec<SourceFace>> {
        paths
            .iter()
            .map(|p| {
                let photo = read_rgb(p)?;
                Ok(SourceFace {
                    name: p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                    model: face_model(&photo, &detector, &mesh_f)?,
                })
            })
            .collect()
    };
    let (cal_faces, rep_faces) = (load(&cmd.calibrate)?, load(&cmd.report)?);
    let engine_md = check_or_record(&tracker, &model_dir, &cmd.reference, cmd.record_engine)?;
    let Counts { live, per_attack, per_misbehaviour } = cmd.counts;
    let k = (cal_faces.len() as u32).div_ceil(rep_faces.len() as u32);
    let rep_counts =
        Counts { live: live * k, per_attack: per_attack * k, per_misbehaviour: per_misbehaviour * k };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    tracing::info!(target: LOG_TARGET, "calibration set…");
    // The light challenge as shipped (`[light] enabled`), or measured in full with `--light`.
    let light = if cmd.light { measuring_light() } else { LightConfig::default() };
    let measured =
        run_set(&tracker, &cal_faces, &rep_faces, cmd.counts, 1_000_000, (&vision, &light), workers)?;
    let cal = calibrate(&measured)?;
    tracing::info!(
        target: LOG_TARGET,
        "report set with min_parallax {:.4}, min_layout_change {:.4}…",
        cal.thresholds.min_parallax,
        cal.thresholds.min_layout_change
    );
    let reported =
        run_set(&tracker, &rep_faces, &cal_faces, rep_counts, 2_000_000, (&vision, &light), workers)?;
    if let Some(path) = &cmd.cases {
        write_cases(path, &[("calibration", &measured), ("report", &reported)])?;
    }
    let names = |f: &[SourceFace]| f.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
    let command = if cmd.light {
        format!(
            "cargo run --release -- evaluate --light --live {live} --per-attack {per_attack} --per-misbehaviour {per_misbehaviour} --out docs/evaluation-light.md"
        )
    } else {
        format!(
            "cargo run --release -- evaluate --live {live} --per-attack {per_attack} --per-misbehaviour {per_misbehaviour} --out docs/evaluation.md"
        )
    };
    let md = render(&cal, &names(&cal_faces), &names(&rep_faces), &measured, &reported, &command)
        + "\n"
        + &engine_md;
    match &cmd.out {
        Some(path) => std::fs::write(path, &md)?,
        None => print!("{md}"),
    }
    Ok(Exit::Success)
}
