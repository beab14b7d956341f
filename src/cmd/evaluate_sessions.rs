//! `livegate evaluate --sessions DIR`: an installer proves the terminal at their own door.
//!
//! DIR holds sessions recorded there with `livegate record` (SPEC §6), sorted by hand into
//! `live/` and `attack/<species>/` (`attack/print/`, `attack/phone/`, …). Each is replayed
//! through the same [`ChallengeRunner`](crate::pipeline::ChallengeRunner) as the door (via
//! `verify`) with a *measuring* config (the data-driven minimums at −∞, so every check that
//! the session reaches is measured), then judged with the config's own thresholds. The
//! report says, per class, how many were accepted (BPCER for live visitors, APCER per attack
//! species) and why the others were refused; per calibrated check, how far apart the live and
//! attack values are; and proposes `[liveness]` values for this camera. A session that cannot
//! be replayed is listed with the reason and skipped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::common::face_tracker;
use super::settings::Settings;
use super::{Exit, LOG_TARGET};
use crate::cmd::evaluate::{Thresholds, measuring, motion_threshold};
use crate::cmd::evaluate_report::{fmt, q};
use crate::cmd::overlay::name;
use crate::cmd::verify::replay;
use crate::liveness::session::{Checks, Decision, LivenessConfig, Outcome, Reason};
use crate::models;
use crate::vision::FaceTracker;

/// Where a session was sorted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Live,
    /// An attack species (the folder name under `attack/`).
    Attack(String),
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Live => f.write_str("live"),
            Self::Attack(s) => write!(f, "attack/{s}"),
        }
    }
}

/// One replayed session: its measured decision and the verdict the config's thresholds give.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub class: Class,
    /// The session's path under DIR.
    pub name: String,
    /// Decided with the measuring config.
    pub measured: Decision,
    /// Result and reason with the config's thresholds.
    pub judged: (Outcome, Option<Reason>),
}

/// A session that could not be replayed, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// Everything replayed under DIR.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub replayed: Vec<Replayed>,
    pub skipped: Vec<Skipped>,
}

/// The session directories under `root`, by class, sorted by path.
///
/// # Errors
/// When `root` has neither `live/` nor `attack/`, or a folder cannot be listed.
pub fn find(root: &Path) -> anyhow::Result<Vec<(Class, PathBuf)>> {
    let (live, attack) = (root.join("live"), root.join("attack"));
    if !live.is_dir() && !attack.is_dir() {
        anyhow::bail!("{}: no live/ or attack/<species>/ folders of recorded sessions", root.display());
    }
    let dirs = |p: &Path| -> anyhow::Result<Vec<PathBuf>> {
        if !p.is_dir() {
            return Ok(Vec::new());
        }
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        v.sort();
        Ok(v)
    };
    let mut found: Vec<(Class, PathBuf)> = dirs(&live)?.into_iter().map(|d| (Class::Live, d)).collect();
    for species in dirs(&attack)? {
        let class = Class::Attack(species.file_name().unwrap_or_default().to_string_lossy().into_owned());
        found.extend(dirs(&species)?.into_iter().map(|d| (class.clone(), d)));
    }
    Ok(found)
}

/// The result and reason `config` gives a session decided with [`measuring`]`(config)`.
///
/// Only the two data-driven minimums differ between the two configs, and the session uses
/// them only in its final decision, after every check was computed, in this order: turn,
/// layout change, 3-D motion, path. So a measured pass, or a measured failure on the path
/// (checked after them), is re-judged on layout and motion; any other result stands.
pub fn judge(measured: &Decision, config: &LivenessConfig) -> (Outcome, Option<Reason>) {
    Thresholds::of(config).judge(measured)
}

/// Replays every session under `root` with `tracker` and judges it with `config`.
///
/// # Errors
/// See [`find`]; a session that cannot be replayed is skipped, not an error.
pub fn run(root: &Path, tracker: &FaceTracker, config: &LivenessConfig) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let measure = measuring(config);
    for (class, dir) in find(root)? {
        let name = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
        match replay(&dir, tracker.clone(), measure.clone()) {
            Ok(measured) => {
                let judged = judge(&measured, config);
                report.replayed.push(Replayed { class, name, measured, judged });
            }
            Err(e) => report.skipped.push(Skipped { name, reason: e.to_string() }),
        }
    }
    Ok(report)
}

/// Whether a check is a minimum (live values above it) or a maximum (live values below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    AtLeast,
    AtMost,
}

/// One calibrated check of the report.
struct Check {
    label: &'static str,
    key: &'static str,
    bound: Bound,
    value: fn(&Checks) -> Option<f32>,
    threshold: f32,
    /// The SPEC's limit a proposal never crosses (a floor for minimums, a ceiling for maximums).
    spec: Option<f32>,
    /// How the proposal lies between the classes.
    mean: Mean,
    /// Whether the check is meant to tell attacks from live visitors (the path check is not:
    /// it refuses jerky paths, and a prop moved smoothly has a smooth path).
    against_attacks: bool,
}

/// How a proposal lies between the live and the attack values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mean {
    /// Their mean (degrees, may be ≤ 0).
    Arithmetic,
    /// Their geometric mean (positive ratios: equal margins on a log scale).
    Geometric,
    /// The 3-D-motion rule of the synthetic calibration ([`motion_threshold`]).
    Motion,
}

fn checks(c: &LivenessConfig) -> [Check; 4] {
    [
        Check {
            label: "parallax",
            key: "min_parallax",
            bound: Bound::AtLeast,
            value: |c| c.parallax,
            threshold: c.min_parallax,
            spec: None,
            mean: Mean::Motion,
            against_attacks: true,
        },
        Check {
            label: "layout_change",
            key: "min_layout_change",
            bound: Bound::AtLeast,
            value: |c| c.layout_change,
            threshold: c.min_layout_change,
            spec: None,
            mean: Mean::Geometric,
            against_attacks: true,
        },
        Check {
            label: "yaw_deg (toward target)",
            key: "min_yaw_deg",
            bound: Bound::AtLeast,
            value: |c| c.yaw_deg,
            threshold: c.min_yaw_deg,
            spec: Some(5.0),
            mean: Mean::Arithmetic,
            against_attacks: true,
        },
        Check {
            label: "path_rms",
            key: "max_path_rms",
            bound: Bound::AtMost,
            value: |c| c.path_rms,
            threshold: c.max_path_rms,
            spec: Some(0.02),
            mean: Mean::Geometric,
            against_attacks: false,
        },
    ]
}

/// `a ÷ b` as a margin (`×1.52`); `∞` when a positive `a` faces a `b` ≤ 0 (an attack that
/// turned away from the target clears any positive minimum), `–` without both values.
fn margin(a: Option<f32>, b: Option<f32>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a >= 0.0 => format!("×{:.2}", a / b),
        (Some(a), Some(_)) if a > 0.0 => "∞".into(),
        _ => "–".into(),
    }
}

/// The values of one check, sorted, for live sessions or for attacks.
fn values(report: &Report, live: bool, value: fn(&Checks) -> Option<f32>) -> Vec<f32> {
    let mut v: Vec<f32> = report
        .replayed
        .iter()
        .filter(|r| (r.class == Class::Live) == live)
        .filter_map(|r| value(&r.measured.checks))
        .collect();
    v.sort_by(f32::total_cmp);
    v
}

/// What `livegate evaluate --sessions DIR` is asked to do.
#[derive(Debug, Clone)]
pub struct SessionsCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    /// The sessions, sorted into `live/` and `attack/<species>/`.
    pub dir: PathBuf,
    /// The door's config file (`[liveness]` thresholds, `[vision]` lens; default: the defaults).
    pub config: Option<PathBuf>,
    /// Write the Markdown report here (default: stdout).
    pub out: Option<PathBuf>,
}

/// Replays and judges the sessions with the int8 networks and the config's settings, logs
/// the skipped ones, and writes the report (headed by this process's command line).
///
/// # Errors
/// No models, a config that does not load, see [`run`], or a report that cannot be written.
pub fn exec(cmd: SessionsCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let settings = Settings::load(cmd.config.as_deref())?;
    let tracker = face_tracker(&model_dir, settings.vision)?;
    let report = run(&cmd.dir, &tracker, &settings.liveness)?;
    for k in &report.skipped {
        tracing::warn!(target: LOG_TARGET, "skipped {}: {}", k.name, k.reason);
    }
    let command = format!("livegate {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    let md = render(&report, &settings.liveness, &command);
    match &cmd.out {
        Some(path) => std::fs::write(path, &md)?,
        None => print!("{md}"),
    }
    Ok(Exit::Success)
}

/// The report as Markdown; `command` is how it was made.
pub fn render(report: &Report, config: &LivenessConfig, command: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Sessions recorded at this door\n\n`{command}`\n");
    let _ = writeln!(
        s,
        "Each session replayed through the door's own code with every check measured, then judged with \
         the config's thresholds.\n"
    );
    let _ = writeln!(s, "| class | sessions | accepted | error rate | refused by |\n|---|---|---|---|---|");
    let mut classes: BTreeMap<&Class, Vec<&Replayed>> = BTreeMap::new();
    for r in &report.replayed {
        classes.entry(&r.class).or_default().push(r);
    }
    for (class, set) in &classes {
        let accepted = set.iter().filter(|r| r.judged.0 == Outcome::Pass).count();
        let rate = match class {
            Class::Live => format!("BPCER {:.1} %", 100.0 * (set.len() - accepted) as f32 / set.len() as f32),
            Class::Attack(_) => format!("APCER {:.1} %", 100.0 * accepted as f32 / set.len() as f32),
        };
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for r in set.iter().filter(|r| r.judged.0 != Outcome::Pass) {
            *reasons.entry(r.judged.1.map_or_else(|| name(r.judged.0), name)).or_default() += 1;
        }
        let reasons: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "| {class} | {} | {accepted} | {rate} | {} |", set.len(), reasons.join(", "));
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(s, "\nSkipped (not replayable):\n");
        for k in &report.skipped {
            let _ = writeln!(s, "* `{}`: {}", k.name, k.reason);
        }
    }

    let _ = writeln!(s, "\n## Checks (sessions that reached the target)\n");
    let _ = writeln!(
        s,
        "| check | threshold | live worst | live median | attack median | attack best | margin live | margin attack |\n\
         |---|---|---|---|---|---|---|---|"
    );
    let mut snippet = String::from("[liveness]\n");
    for c in checks(config) {
        let (live, attack) = (values(report, true, c.value), values(report, false, c.value));
        // "Worst" is the live value nearest the threshold, "best" the attack value nearest
        // the live side: the smallest and the largest for a minimum, the reverse for a maximum.
        let (live_worst, attack_best, separate, margins) = match c.bound {
            Bound::AtLeast => {
                let (lw, ab) = (live.first().copied(), attack.last().copied());
                let sep = lw.zip(ab).map(|(l, a)| a < l);
                (lw, ab, sep, (margin(lw, Some(c.threshold)), margin(Some(c.threshold), ab)))
            }
            Bound::AtMost => {
                let (lw, ab) = (live.last().copied(), attack.first().copied());
                let sep = lw.zip(ab).map(|(l, a)| l < a);
                (lw, ab, sep, (margin(Some(c.threshold), lw), margin(ab, Some(c.threshold))))
            }
        };
        let _ = writeln!(
            s,
            "| {} | {:.4} | {} | {} | {} | {} | {} | {} |",
            c.label,
            c.threshold,
            fmt(live_worst),
            fmt(q(&live, 0.5)),
            fmt(q(&attack, 0.5)),
            fmt(attack_best),
            margins.0,
            margins.1
        );
        snippet.push_str(&propose(&c, live_worst, attack_best, separate));
    }
    let _ = writeln!(
        s,
        "\n\"Live worst\" is the live value nearest the threshold (the smallest; for `path_rms`, a \
         maximum, the largest), \"attack best\" the attack value nearest the live side. \"Margin live\" \
         is how far the worst live value clears the threshold, \"margin attack\" how far the threshold \
         clears the best attack: both above ×1 means every session here is on its right side.\n"
    );
    let _ = writeln!(s, "## Proposed for this camera\n\n```toml\n{snippet}```\n");
    let _ = writeln!(
        s,
        "Apply it only if every class above separates (no live visitor refused, no attack accepted, \
         the margins of `parallax`, `layout_change` and `yaw_deg` above ×1) and the live sessions \
         cover the people, heights and light this door sees. `path_rms` refuses jerky paths, not \
         props: only its live margin matters."
    );
    s
}

/// The snippet's line for one check: the mean of the worst live and the best attack value
/// when they separate, held to the SPEC's limit; otherwise a comment saying why not.
fn propose(c: &Check, live: Option<f32>, attack: Option<f32>, separate: Option<bool>) -> String {
    if !c.against_attacks {
        return match (live, c.spec) {
            (Some(l), Some(spec)) if l <= spec => {
                format!("{} = {spec:.4}  # the SPEC value; live worst {l:.4}\n", c.key)
            }
            (Some(l), _) => format!(
                "# {}: live sessions reach {l:.4}, beyond the SPEC value: re-record them moving slowly; \
                 nothing proposed\n",
                c.key
            ),
            (None, _) => format!("# {}: no live session reached the target; nothing proposed\n", c.key),
        };
    }
    let (Some(l), Some(a)) = (live, attack) else {
        return format!("# {}: no live or no attack session reached the target; nothing proposed\n", c.key);
    };
    if separate != Some(true) {
        return format!(
            "# {}: live ({l:.4}) and attack ({a:.4}) values do not separate; nothing proposed\n",
            c.key
        );
    }
    let mean = match c.mean {
        Mean::Arithmetic => (l + a) / 2.0,
        Mean::Geometric => (l.max(1e-6) * a.max(1e-6)).sqrt(),
        Mean::Motion => motion_threshold(l, a),
    };
    let (value, held) = match (c.bound, c.spec) {
        (Bound::AtLeast, Some(floor)) if mean < floor => (floor, " (the SPEC floor)"),
        (Bound::AtMost, Some(ceiling)) if mean > ceiling => (ceiling, " (the SPEC ceiling)"),
        _ => (mean, ""),
    };
    let how = match c.mean {
        Mean::Arithmetic => "mean",
        Mean::Geometric => "geometric mean",
        Mean::Motion if a < l / 16.0 => "geometric mean (attack counted as live/16)",
        Mean::Motion => "geometric mean",
    };
    format!("{} = {value:.4}  # {how} of live {l:.4} and attack {a:.4}{held}\n", c.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(result: Outcome, reason: Option<Reason>, parallax: f32, layout: f32) -> Decision {
        Decision {
            result,
            reason,
            checks: Checks {
                single_face: true,
                nose_hit: true,
                yaw_deg: Some(9.0),
                layout_change: Some(layout),
                parallax: Some(parallax),
                path_rms: Some(0.004),
                ..Checks::default()
            },
            frames: 20,
            decided_t_ms: 1300,
        }
    }

    #[test]
    fn a_measured_pass_is_refused_by_the_configs_motion_minimum() {
        let c = LivenessConfig { min_parallax: 0.003, min_layout_change: 0.03, ..LivenessConfig::default() };
        assert_eq!(judge(&decided(Outcome::Pass, None, 0.004, 0.1), &c), (Outcome::Pass, None));
        assert_eq!(
            judge(&decided(Outcome::Pass, None, 0.002, 0.1), &c),
            (Outcome::Fail, Some(Reason::FlatMotion))
        );
        assert_eq!(
            judge(&decided(Outcome::Pass, None, 0.002, 0.01), &c),
            (Outcome::Fail, Some(Reason::LayoutUnchanged)),
            "layout is checked before motion, as the session does"
        );
    }

    #[test]
    fn a_jerky_path_is_reported_after_the_data_driven_checks_and_a_turn_failure_stands() {
        let c = LivenessConfig { min_parallax: 0.003, ..LivenessConfig::default() };
        let jerky = decided(Outcome::Fail, Some(Reason::JerkyPath), 0.001, 0.1);
        assert_eq!(judge(&jerky, &c), (Outcome::Fail, Some(Reason::FlatMotion)));
        let still = decided(Outcome::Fail, Some(Reason::NoRotation), 0.001, 0.1);
        assert_eq!(judge(&still, &c), (Outcome::Fail, Some(Reason::NoRotation)));
    }

    fn check(bound: Bound, geometric: bool, spec: Option<f32>) -> Check {
        let value = |c: &Checks| c.parallax;
        let mean = if geometric { Mean::Geometric } else { Mean::Arithmetic };
        Check { label: "x", key: "k", bound, value, threshold: 1.0, spec, mean, against_attacks: true }
    }

    #[test]
    fn a_motion_proposal_stays_a_quarter_of_the_live_value_when_attacks_show_none() {
        let c = Check { mean: Mean::Motion, ..check(Bound::AtLeast, true, None) };
        let line = propose(&c, Some(0.032), Some(-0.001), Some(true));
        assert!(line.starts_with("k = 0.0080"), "{line}");
        let line = propose(&c, Some(0.008), Some(0.002), Some(true));
        assert!(line.starts_with("k = 0.0040"), "{line}");
    }

    #[test]
    fn separated_classes_get_the_geometric_mean_and_overlapping_ones_nothing() {
        let c = check(Bound::AtLeast, true, None);
        let line = propose(&c, Some(0.008), Some(0.002), Some(true));
        assert!(line.starts_with("k = 0.0040"), "{line}");
        let line = propose(&c, Some(0.002), Some(0.003), Some(false));
        assert!(line.starts_with("# k:") && line.contains("do not separate"), "{line}");
        assert!(propose(&c, None, Some(0.003), None).contains("nothing proposed"));
    }

    #[test]
    fn proposals_never_cross_the_spec_limits() {
        let yaw = check(Bound::AtLeast, false, Some(5.0));
        assert!(propose(&yaw, Some(6.0), Some(1.0), Some(true)).starts_with("k = 5.0000"));
        assert!(propose(&yaw, Some(16.0), Some(4.0), Some(true)).starts_with("k = 10.0000"));
        let rms = check(Bound::AtMost, true, Some(0.02));
        assert!(propose(&rms, Some(0.01), Some(0.09), Some(true)).starts_with("k = 0.0200"));
    }

    #[test]
    fn the_path_check_keeps_the_spec_value_unless_live_sessions_exceed_it() {
        let path = Check { against_attacks: false, ..check(Bound::AtMost, true, Some(0.02)) };
        let line = propose(&path, Some(0.004), Some(0.003), Some(false));
        assert!(line.starts_with("k = 0.0200"), "{line}");
        let line = propose(&path, Some(0.03), Some(0.003), Some(false));
        assert!(line.starts_with("# k:") && line.contains("re-record"), "{line}");
    }

    #[test]
    fn a_folder_without_live_or_attack_is_refused_naming_it() {
        let e = find(Path::new("/nonexistent/recordings")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/recordings") && e.contains("live/"), "{e}");
    }
}
