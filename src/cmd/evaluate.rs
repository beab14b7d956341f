//! `livegate evaluate`: the liveness evaluation harness (ISO/IEC 30107-3 terms).
//!
//! Generates synthetic sessions — live visitors and flat attacks (print, cut-out, phone
//! screen), plus visitors who do the challenge wrong — over several source faces, calibrates
//! the data-driven thresholds on one set and reports on another that shares neither seeds nor
//! source faces with it: APCER per attack kind, BPCER, and the margins of every check.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context;
use serde::Serialize;

use crate::camera::synthetic::{Conditions, FaceModel, Script, SeededRng, SyntheticCamera};
use crate::cmd::synth::seeded_target;
use crate::liveness::ChallengeGeometry;
use crate::liveness::session::{Decision, LivenessConfig, Outcome, Session};
use crate::pipeline::ChallengeRunner;
use crate::vision::{FaceTracker, VisionConfig};

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
    pub decision: Decision,
}

/// Runs one synthetic session through the real pipeline (frames JPEG-encoded and decoded as
/// from a USB camera).
///
/// # Errors
/// When rendering, encoding or the networks fail.
pub fn run_case(
    tracker: FaceTracker,
    face: &FaceModel,
    other: &FaceModel,
    script: Script,
    seed: u64,
    config: &LivenessConfig,
    vision: &VisionConfig,
) -> anyhow::Result<Decision> {
    let mut rng = SeededRng::new(seed);
    let geometry = ChallengeGeometry::new(640, 480, seeded_target(&mut rng));
    let conditions = Conditions { hfov_deg: vision.hfov_deg, ..Conditions::baseline() };
    let mut camera =
        SyntheticCamera::new(face.clone(), other.clone(), script, &geometry, &conditions, rng.next_u64());
    let mut runner = ChallengeRunner::new(tracker, Session::new(config.clone(), geometry));
    Ok(runner.run(&mut camera, |_| Ok(()))?)
}

/// A configuration that measures every check without failing on the data-driven ones.
pub fn measuring(config: &LivenessConfig) -> LivenessConfig {
    LivenessConfig { min_layout_change: f32::NEG_INFINITY, min_parallax: f32::NEG_INFINITY, ..config.clone() }
}

/// Runs every case of one set.
///
/// # Errors
/// When a session cannot be run.
pub fn run_set(
    tracker: &FaceTracker,
    faces: &[SourceFace],
    others: &[SourceFace],
    counts: Counts,
    seed_base: u64,
    config: &LivenessConfig,
    vision: &VisionConfig,
) -> anyhow::Result<Vec<CaseResult>> {
    let mut out = Vec::new();
    for (fi, face) in faces.iter().enumerate() {
        let other = &others[fi % others.len()].model;
        for script in Script::ALL {
            let n = match script {
                Script::Live => counts.live,
                s if s.is_attack() => counts.per_attack,
                _ => counts.per_misbehaviour,
            };
            for i in 0..n {
                let seed = seed_base + fi as u64 * 100_000 + script as u64 * 1_000 + u64::from(i);
                let decision = run_case(tracker.clone(), &face.model, other, script, seed, config, vision)
                    .with_context(|| format!("{} {script:?} seed {seed}", face.name))?;
                out.push(CaseResult { face: face.name.clone(), script, seed, decision });
            }
        }
    }
    Ok(out)
}

/// The thresholds chosen on the calibration set, with the values they came from.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub min_parallax: f32,
    pub min_layout_change: f32,
    pub live_parallax_min: f32,
    pub attack_parallax_max: f32,
    pub live_layout_min: f32,
}

fn values(
    results: &[CaseResult],
    pick: impl Fn(&CaseResult) -> bool,
    check: fn(&Decision) -> Option<f32>,
) -> Vec<f32> {
    let mut v: Vec<f32> = results.iter().filter(|r| pick(r)).filter_map(|r| check(&r.decision)).collect();
    v.sort_by(f32::total_cmp);
    v
}

fn parallax(d: &Decision) -> Option<f32> {
    d.checks.parallax
}
fn layout(d: &Decision) -> Option<f32> {
    d.checks.layout_change
}

/// Chooses thresholds from a measured calibration set.
///
/// * parallax: the geometric mean of the largest attack value and the smallest live value
///   (equal margins on a log scale); if they overlap, just above the largest attack value,
///   so the calibration set has no accepted attack.
/// * layout change (the seed's check, kept for parity, not the anti-photo evidence): half
///   the smallest live value, so it never decides alone against a live visitor.
///
/// # Errors
/// When the set has no live or no attack session that reached the target.
pub fn calibrate(measured: &[CaseResult]) -> anyhow::Result<Calibration> {
    let live = |r: &CaseResult| r.script == Script::Live;
    let attack = |r: &CaseResult| r.script.is_attack();
    let lp = values(measured, live, parallax);
    let ap = values(measured, attack, parallax);
    let ll = values(measured, live, layout);
    let (Some(&live_min), Some(&attack_max), Some(&layout_min)) = (lp.first(), ap.last(), ll.first()) else {
        anyhow::bail!("calibration needs live and attack sessions that reach the target");
    };
    let min_parallax =
        if attack_max < live_min { (attack_max.max(1e-6) * live_min).sqrt() } else { attack_max * 1.05 };
    Ok(Calibration {
        min_parallax,
        min_layout_change: layout_min / 2.0,
        live_parallax_min: live_min,
        attack_parallax_max: attack_max,
        live_layout_min: layout_min,
    })
}

/// Quantile of sorted values (nearest rank).
fn q(v: &[f32], p: f32) -> Option<f32> {
    (!v.is_empty()).then(|| v[((v.len() - 1) as f32 * p).round() as usize])
}

fn fmt(v: Option<f32>) -> String {
    v.map_or("–".into(), |x| format!("{x:.4}"))
}

/// The report as Markdown.
pub fn render(
    cal: &Calibration,
    calib_faces: &[String],
    report_faces: &[String],
    calib: &[CaseResult],
    report: &[CaseResult],
    command: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Liveness evaluation\n\nRegenerate: `{command}`\n");
    let _ = writeln!(
        s,
        "Synthetic sessions (`camera/synthetic`): a real face photo re-rendered as a 3-D head that \
         performs the challenge, or as a flat picture (print with paper border, cut-out, phone screen) \
         tilted 10–45° toward the target and moved so its nose reaches it. Frames are JPEG-encoded at \
         q85 and go through the same code as a camera's (`pipeline::ChallengeRunner`: int8 mesh, \
         keypoint tracker, session). Calibration and report sets share no seed and no source face.\n"
    );
    let count = |set: &[CaseResult], f: &dyn Fn(Script) -> bool| set.iter().filter(|r| f(r.script)).count();
    let _ =
        writeln!(s, "| set | source faces | live | attacks | misbehaving visitors |\n|---|---|---|---|---|");
    for (name, faces, set) in [("calibration", calib_faces, calib), ("report", report_faces, report)] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            faces.join(", "),
            count(set, &|x| x == Script::Live),
            count(set, &|x| x.is_attack()),
            count(set, &|x| x != Script::Live && !x.is_attack())
        );
    }
    let _ = writeln!(s, "\n## Thresholds (from the calibration set)\n");
    let _ = writeln!(s, "| key | value | from |\n|---|---|---|");
    let _ = writeln!(
        s,
        "| `min_parallax` | {:.4} | geometric mean of the largest attack value {:.4} and the smallest live value {:.4} |",
        cal.min_parallax, cal.attack_parallax_max, cal.live_parallax_min
    );
    let _ = writeln!(
        s,
        "| `min_layout_change` | {:.4} | half the smallest live value {:.4} (seed parity check) |",
        cal.min_layout_change, cal.live_layout_min
    );
    let _ = writeln!(s, "| `min_yaw_deg` | 5 | SPEC §2.3 |\n| `max_path_rms` | 0.02 | SPEC §2.6 |");

    let _ = writeln!(s, "\n## Results on the report set\n");
    let _ = writeln!(
        s,
        "| presentation | sessions | accepted | error rate | rejected by | flat-motion check alone rejects |\n\
         |---|---|---|---|---|---|"
    );
    for script in Script::ALL {
        let set: Vec<&CaseResult> = report.iter().filter(|r| r.script == script).collect();
        if set.is_empty() {
            continue;
        }
        let passed = set.iter().filter(|r| r.decision.result == Outcome::Pass).count();
        let (label, rate) = match script {
            Script::Live => ("BPCER", (set.len() - passed) as f32 / set.len() as f32),
            s if s.is_attack() => ("APCER", passed as f32 / set.len() as f32),
            _ => ("wrongly accepted", passed as f32 / set.len() as f32),
        };
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for r in set.iter().filter(|r| r.decision.result != Outcome::Pass) {
            let reason = r.decision.reason.map_or("none".into(), |x| {
                serde_json::to_value(x).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
            });
            *reasons.entry(reason).or_default() += 1;
        }
        let reasons: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        // Defence in depth: how many would the flat-motion check reject on its own (no value
        // means the target was never reached, which is a rejection too).
        let flat =
            set.iter().filter(|r| r.decision.checks.parallax.is_none_or(|p| p < cal.min_parallax)).count();
        let _ = writeln!(
            s,
            "| {script:?} | {} | {passed} | {label} {:.1} % | {} | {flat} of {} |",
            set.len(),
            rate * 100.0,
            reasons.join(", "),
            set.len()
        );
    }

    let _ = writeln!(s, "\n## Check values on the report set (sessions that reached the target)\n");
    let _ = writeln!(
        s,
        "| check | threshold | live min | live median | attack median | attack max | margin live | margin attack |\n|---|---|---|---|---|---|---|---|"
    );
    let live = |r: &CaseResult| r.script == Script::Live;
    let attack = |r: &CaseResult| r.script.is_attack();
    for (name, t, f) in [
        ("parallax", cal.min_parallax, parallax as fn(&Decision) -> Option<f32>),
        ("layout_change", cal.min_layout_change, layout),
    ] {
        let (l, a) = (values(report, live, f), values(report, attack, f));
        let margin = |x: Option<f32>, live: bool| {
            x.map_or("–".into(), |x| {
                if live { format!("×{:.2}", x / t) } else { format!("×{:.2}", t / x.max(1e-9)) }
            })
        };
        let _ = writeln!(
            s,
            "| {name} | {t:.4} | {} | {} | {} | {} | {} | {} |",
            fmt(l.first().copied()),
            fmt(q(&l, 0.5)),
            fmt(q(&a, 0.5)),
            fmt(a.last().copied()),
            margin(l.first().copied(), true),
            margin(a.last().copied(), false)
        );
    }
    let yaw_l = values(report, live, |d| d.checks.yaw_deg);
    let yaw_a = values(report, attack, |d| d.checks.yaw_deg);
    let rms_l = values(report, live, |d| d.checks.path_rms);
    let _ = writeln!(
        s,
        "| yaw_deg (toward target) | 5 | {} | {} | {} | {} | | |",
        fmt(yaw_l.first().copied()),
        fmt(q(&yaw_l, 0.5)),
        fmt(q(&yaw_a, 0.5)),
        fmt(yaw_a.last().copied())
    );
    let _ = writeln!(
        s,
        "| path_rms | ≤ 0.02 | | {} (max {}) | | | | |",
        fmt(q(&rms_l, 0.5)),
        fmt(rms_l.last().copied())
    );
    let _ = writeln!(
        s,
        "\n\"margin live\" is the smallest live value over the threshold, \"margin attack\" the threshold over \
         the largest attack value: both above ×1 means the report set is separated with room to spare.\n"
    );
    s
}
