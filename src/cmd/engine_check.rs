//! The engine the liveness thresholds were calibrated on, and the check that the engine in use
//! (another kernel path, CPU, tract release or model file) still measures what that one did.
//!
//! `models/calibration.json` names the fingerprint (`vision::fingerprint`) the default
//! thresholds were calibrated with, and what that engine measured on the reference sessions
//! (`tests/sessions`, recorded JPEG frames, so no renderer is involved). `livegate evaluate`
//! replays them with the engine in use and stops, loudly, when a check value moved by more
//! than the record's tolerance. The tolerance is twice the largest difference measured between
//! two exact kernel paths that differ only in float rounding (a multiply-add fused or not in
//! the depthwise convolutions, which moves a requantized value by one int8 step here and there).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::LOG_TARGET;
use crate::cmd::verify::{self, Outputs};
use crate::liveness::session::{Checks, LivenessConfig, Outcome};
use crate::vision::FaceTracker;

/// The record's file name, in the model directory.
pub const RECORD: &str = "calibration.json";

/// The tolerance a new record gets: twice the largest difference between the `portable`
/// (multiply, then add) and `avx2` (fused) paths on x86-64 on the reference sessions,
/// 2026-12-06: yaw 1.02°, layout change 0.0130, parallax 0.0015, path RMS 0.00009.
pub const TOLERANCE: Tolerance =
    Tolerance { yaw_deg: 2.0, layout_change: 0.026, parallax: 0.003, path_rms: 0.001 };

/// The thresholds calibrated on one engine, and what that engine measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRecord {
    /// The fingerprint the thresholds were calibrated on.
    pub engine: String,
    /// The calibrated thresholds (the defaults of `[liveness]`).
    pub thresholds: Thresholds,
    /// How far a check value may move on another engine.
    pub tolerance: Tolerance,
    /// What the engine measured on each reference session.
    pub sessions: BTreeMap<String, Measured>,
}

/// The calibrated thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub min_yaw_deg: f32,
    pub min_layout_change: f32,
    pub min_parallax: f32,
}

/// Largest allowed difference of each check value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub yaw_deg: f32,
    pub layout_change: f32,
    pub parallax: f32,
    pub path_rms: f32,
}

/// One replayed session's outcome and check values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub result: Outcome,
    pub checks: Checks,
}

/// One check value compared with the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub session: String,
    pub check: &'static str,
    pub recorded: Option<f32>,
    pub measured: Option<f32>,
    pub tolerance: f32,
}

impl Drift {
    /// Whether the value moved by more than the tolerance (or appeared, or vanished).
    pub fn beyond(&self) -> bool {
        match (self.recorded, self.measured) {
            (Some(a), Some(b)) => (a - b).abs() > self.tolerance || !(a - b).is_finite(),
            (None, None) => false,
            _ => true,
        }
    }
}

impl Thresholds {
    /// The thresholds of a liveness configuration.
    pub fn of(c: &LivenessConfig) -> Self {
        Self {
            min_yaw_deg: c.min_yaw_deg,
            min_layout_change: c.min_layout_change,
            min_parallax: c.min_parallax,
        }
    }
}

impl EngineRecord {
    /// Reads the record.
    ///
    /// # Errors
    /// A missing or malformed file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not an engine record", path.display()))
    }

    /// Every check value of every session against `measured` (a session missing from
    /// `measured` counts as all of its values vanished).
    pub fn compare(&self, measured: &BTreeMap<String, Measured>) -> Vec<Drift> {
        let t = self.tolerance;
        let mut out = vec![];
        for (name, rec) in &self.sessions {
            let now = measured.get(name);
            let value = |f: Getter| now.and_then(|m| f(&m.checks));
            let rows: [(&'static str, Getter, f32); 4] = [
                ("yaw_deg", |c| c.yaw_deg, t.yaw_deg),
                ("layout_change", |c| c.layout_change, t.layout_change),
                ("parallax", |c| c.parallax, t.parallax),
                ("path_rms", |c| c.path_rms, t.path_rms),
            ];
            for (check, f, tolerance) in rows {
                let (recorded, measured) = (f(&rec.checks), value(f));
                out.push(Drift { session: name.clone(), check, recorded, measured, tolerance });
            }
        }
        out
    }

    /// Stops when the engine in use (`engine`, which measured `measured`) moved any check
    /// value beyond the tolerance, or changed a session's result.
    ///
    /// # Errors
    /// The list of what moved, with both fingerprints.
    pub fn check(&self, engine: &str, measured: &BTreeMap<String, Measured>) -> anyhow::Result<Vec<Drift>> {
        let drifts = self.compare(measured);
        let mut bad: Vec<String> = drifts
            .iter()
            .filter(|d| d.beyond())
            .map(|d| {
                format!(
                    "{} {}: {} calibrated, {} now (tolerance {})",
                    d.session,
                    d.check,
                    show(d.recorded),
                    show(d.measured),
                    d.tolerance
                )
            })
            .collect();
        for (name, rec) in &self.sessions {
            match measured.get(name) {
                Some(m) if m.result == rec.result => {}
                Some(m) => {
                    bad.push(format!("{name}: result {:?} calibrated, {:?} now", rec.result, m.result))
                }
                None => bad.push(format!("{name}: not measured")),
            }
        }
        anyhow::ensure!(
            bad.is_empty(),
            "ENGINE CHECK FAILED: the engine in use ({engine}) does not measure what the engine the \
             thresholds were calibrated on ({}) measured; the thresholds do not hold for it. \
             Recalibrate (`livegate evaluate --record-engine`) or run the calibrated kernels \
             (`--kernels`).\n  {}",
            self.engine,
            bad.join("\n  ")
        );
        Ok(drifts)
    }
}

/// Reads one check value.
type Getter = fn(&Checks) -> Option<f32>;

fn show(v: Option<f32>) -> String {
    v.map_or("none".into(), |v| format!("{v:.4}"))
}

/// Replays every session directory under `sessions` (those with a `session.json`) with
/// `tracker` (the int8 networks, default vision settings) and the default liveness settings:
/// the engine's fingerprint, and what it measured per session.
///
/// # Errors
/// A session cannot be replayed.
pub fn measure(
    tracker: &FaceTracker,
    sessions: &Path,
) -> anyhow::Result<(String, BTreeMap<String, Measured>)> {
    let engine = tracker.engine();
    let mut dirs: Vec<_> = std::fs::read_dir(sessions)
        .with_context(|| format!("cannot read the reference sessions in {}", sessions.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("session.json").is_file())
        .collect();
    dirs.sort();
    anyhow::ensure!(
        !dirs.is_empty(),
        "no reference session (a directory with session.json) in {}",
        sessions.display()
    );
    let mut out = BTreeMap::new();
    for dir in dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let d = verify::replay_with(&dir, tracker.clone(), LivenessConfig::default(), &Outputs::default())
            .with_context(|| format!("reference session {}", dir.display()))?;
        out.insert(name, Measured { result: d.result, checks: d.checks });
    }
    Ok((engine, out))
}

/// The Markdown section of `docs/evaluation.md`: the engine in use against the record.
pub fn render(record: &EngineRecord, engine: &str, drifts: &[Drift]) -> String {
    let mut s = String::from("## Engine\n\n");
    s += &format!("- in use: `{engine}`\n- thresholds calibrated on: `{}`\n\n", record.engine);
    s += "Check values on the reference sessions (`tests/sessions`), against the record \
          (`models/calibration.json`); `livegate evaluate` stops when one moves beyond its \
          tolerance.\n\n| session | check | calibrated | now | difference | tolerance |\n|---|---|---|---|---|---|\n";
    for d in drifts {
        let diff = match (d.recorded, d.measured) {
            (Some(a), Some(b)) => format!("{:.4}", (b - a).abs()),
            _ => "—".into(),
        };
        s += &format!(
            "| {} | {} | {} | {} | {diff} | {} |\n",
            d.session,
            d.check,
            show(d.recorded),
            show(d.measured),
            d.tolerance
        );
    }
    s
}

/// `livegate evaluate`'s engine check: replays the reference sessions with the engine in use
/// and stops when a check value moved beyond the record's tolerance; with `record`, writes the
/// record (`model_dir`/[`RECORD`]) for the engine in use instead. Returns the report's
/// Markdown section.
///
/// # Errors
/// A reference session that cannot be replayed, a record that cannot be read or written, or
/// a check value beyond the tolerance.
pub fn check_or_record(
    tracker: &FaceTracker,
    model_dir: &Path,
    reference: &Path,
    record: bool,
) -> anyhow::Result<String> {
    let path = model_dir.join(RECORD);
    let (engine, measured) = measure(tracker, reference)?;
    if record {
        let tolerance = EngineRecord::load(&path).map_or(TOLERANCE, |r| r.tolerance);
        let thresholds = Thresholds::of(&LivenessConfig::default());
        let rec = EngineRecord { engine: engine.clone(), thresholds, tolerance, sessions: measured };
        std::fs::write(&path, serde_json::to_string_pretty(&rec)? + "\n")?;
        tracing::info!(target: LOG_TARGET, path = %path.display(), %engine, "engine record written");
        return Ok(render(&rec, &engine, &rec.compare(&rec.sessions)));
    }
    let rec = EngineRecord::load(&path)?;
    let drifts = rec.check(&engine, &measured)?;
    tracing::info!(
        target: LOG_TARGET,
        "engine check: {engine} measures the reference sessions within the tolerance of {}",
        rec.engine
    );
    Ok(render(&rec, &engine, &drifts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{self, Precision};
    use crate::vision::{Kernels, VisionConfig};

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn record() -> EngineRecord {
        EngineRecord::load(&root().join("models").join(RECORD)).unwrap()
    }

    #[test]
    fn the_record_names_the_default_thresholds_and_the_shipped_models() {
        let r = record();
        assert_eq!(r.thresholds, Thresholds::of(&LivenessConfig::default()));
        let sums = std::fs::read_to_string(root().join("models/SHA256SUMS")).unwrap();
        let sha = |file: &str| sums.lines().find(|l| l.ends_with(file)).unwrap()[..12].to_owned();
        assert!(r.engine.ends_with(&format!(
            "/mesh:{}/det:{}",
            sha(models::MESH_INT8),
            sha(models::DETECTOR)
        )));
        assert_eq!(r.sessions.len(), 2);
    }

    /// Under qemu-aarch64 in CI this is the Pi's kernels against the x86 record.
    #[test]
    fn every_kernel_path_this_cpu_runs_measures_the_reference_sessions_within_the_tolerance() {
        let r = record();
        for k in Kernels::ALL.into_iter().filter(|k| k.available()) {
            let vision = VisionConfig::default();
            let (detector, mesh) =
                models::load_with(&root().join("models"), Precision::Int8, vision.detector_min_score, k)
                    .unwrap();
            let tracker = FaceTracker::new(detector, mesh, vision);
            let (engine, measured) = measure(&tracker, &root().join("tests/sessions")).unwrap();
            if let Err(e) = r.check(&engine, &measured) {
                panic!("{k}: {e:#}");
            }
        }
    }

    #[test]
    fn a_moved_value_a_vanished_one_or_a_changed_result_fails_the_check_naming_both_engines() {
        let r = record();
        let mut moved = r.sessions.clone();
        let live = moved.values_mut().find(|m| m.result == Outcome::Pass).unwrap();
        live.checks.parallax = live.checks.parallax.map(|p| p + 2.0 * r.tolerance.parallax);
        let err = r.check("tract-x/other", &moved).unwrap_err().to_string();
        assert!(
            err.contains("parallax") && err.contains("tract-x/other") && err.contains(&r.engine),
            "{err}"
        );
        let mut vanished = r.sessions.clone();
        vanished.values_mut().next().unwrap().checks.yaw_deg = None;
        assert!(r.check("e", &vanished).is_err());
        let mut flipped = r.sessions.clone();
        flipped.values_mut().for_each(|m| m.result = Outcome::Pass);
        assert!(r.check("e", &flipped).unwrap_err().to_string().contains("result"));
        let within = r.sessions.clone();
        assert!(r.check("e", &within).is_ok());
    }
}
