//! The evaluation report (`docs/evaluation.md`): results per presentation, per door
//! condition, the margins of every check, and the targets they are held to.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::evaluate::{Calibration, CaseResult, Thresholds, values};
use crate::camera::synthetic::{Conditions, Script};
use crate::liveness::session::{Decision, Outcome};

/// A check value as the reports print it (`–` when there is none).
pub(crate) fn fmt(v: Option<f32>) -> String {
    v.map_or("–".into(), |x| format!("{x:.4}"))
}

/// Quantile of sorted values (nearest rank).
pub(crate) fn q(v: &[f32], p: f32) -> Option<f32> {
    (!v.is_empty()).then(|| v[((v.len() - 1) as f32 * p).round() as usize])
}

fn pct(n: usize, of: usize) -> f32 {
    if of == 0 { 0.0 } else { n as f32 * 100.0 / of as f32 }
}

fn reason_name(d: Option<crate::liveness::session::Reason>) -> String {
    d.map_or("none".into(), |x| {
        serde_json::to_value(x).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    })
}

fn is_live(r: &CaseResult) -> bool {
    r.script == Script::Live
}

fn is_attack(r: &CaseResult) -> bool {
    r.script.is_attack()
}

/// An attack that moves a flat picture (what the 3-D-motion check is for).
fn is_flat_attack(r: &CaseResult) -> bool {
    r.script.is_flat_attack()
}

/// A video of the face played on a screen held still.
fn is_video(r: &CaseResult) -> bool {
    r.script == Script::VideoReplay
}

/// A phone or tablet screen held up to the camera: a still photo moved to aim, or a video.
pub(crate) fn is_screen(r: &CaseResult) -> bool {
    matches!(r.script, Script::Screen | Script::VideoReplay)
}

fn parallax(d: &Decision) -> Option<f32> {
    d.checks.parallax
}

/// What one group of report sessions shows (a presentation, or a door condition).
#[derive(Debug, Default, Clone, Copy)]
struct Group {
    live: usize,
    live_refused: usize,
    attacks: usize,
    attacks_accepted: usize,
    motion_rejects: usize,
    live_min: Option<f32>,
    attack_max: Option<f32>,
}

impl Group {
    fn of(set: &[&CaseResult], t: &Thresholds) -> Self {
        let live: Vec<&&CaseResult> = set.iter().filter(|r| is_live(r)).collect();
        let attacks: Vec<&&CaseResult> = set.iter().filter(|r| is_flat_attack(r)).collect();
        let owned: Vec<CaseResult> = set.iter().map(|r| (*r).clone()).collect();
        Self {
            live: live.len(),
            live_refused: live.iter().filter(|r| t.judge(&r.decision).0 != Outcome::Pass).count(),
            attacks: attacks.len(),
            attacks_accepted: attacks.iter().filter(|r| t.judge(&r.decision).0 == Outcome::Pass).count(),
            motion_rejects: attacks.iter().filter(|r| !t.motion_passes(&r.decision)).count(),
            live_min: values(&owned, is_live, parallax).first().copied(),
            attack_max: values(&owned, is_flat_attack, parallax).last().copied(),
        }
    }

    fn margin_live(&self, t: &Thresholds) -> Option<f32> {
        self.live_min.map(|v| v / t.min_parallax)
    }

    /// Infinite when no flat attack showed any 3-D motion (the largest value is ≤ 0).
    fn margin_attack(&self, t: &Thresholds) -> Option<f32> {
        self.attack_max.map(|v| if v > 0.0 { t.min_parallax / v } else { f32::INFINITY })
    }
}

/// The sessions performed at doors where `factor` was at `level`.
fn at_level<'a>(report: &'a [CaseResult], factor: &str, level: &str) -> Vec<&'a CaseResult> {
    report.iter().filter(|r| r.conditions.iter().any(|(f, l)| *f == factor && l == level)).collect()
}

fn margin(m: Option<f32>) -> String {
    match m {
        None => "–".into(),
        Some(m) if m.is_infinite() => "∞ (attacks ≤ 0)".into(),
        Some(m) => format!("×{m:.2}"),
    }
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
    let t = &cal.thresholds;
    let mut s = String::new();
    let _ = writeln!(s, "# Liveness evaluation\n\nRegenerate: `{command}`\n");
    let _ = writeln!(
        s,
        "Synthetic sessions (`camera/synthetic`): real face photos made into rigid 3-D heads that perform \
         the challenge, or into flat props (print with paper border, cut-out, print curled 6–20 cm, phone \
         screen with glare and moiré) tilted, rotated and moved slowly or quickly so the nose reaches the \
         target, a video of the face performing the challenge (a live head, filmed at a door of its own, \
         for half of them under coloured light of its own) played on a phone or tablet held still in \
         front of the camera, and visitors who do it wrong (slide without turning, turn away, a second person passing \
         behind for 3–8 frames, walk out). Every session is performed at its own door drawn at random \
         (`Conditions::sample`): 15 or 30 fps, lens 55–90°, camera above or below eye level (face pitched \
         −30…+20°), distance (face 0.33–0.6 of the area), bright/normal/dim light with sensor noise, \
         auto-exposure and white-balance steps mid-turn, motion blur, rolling shutter, JPEG or MJPEG at \
         q50–95, and behind the visitor a plain wall, bricks, tiles or posters. Frames go through the service's code (`pipeline::ChallengeRunner`). Calibration and report \
         sets share no seed and no source face.\n"
    );
    let count = |set: &[CaseResult], f: &dyn Fn(&CaseResult) -> bool| set.iter().filter(|r| f(r)).count();
    let _ =
        writeln!(s, "| set | source faces | live | attacks | misbehaving visitors |\n|---|---|---|---|---|");
    for (name, faces, set) in [("calibration", calib_faces, calib), ("report", report_faces, report)] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            faces.join(", "),
            count(set, &is_live),
            count(set, &is_attack),
            count(set, &|r| !is_live(r) && !is_attack(r))
        );
    }
    thresholds(&mut s, cal, report.iter().any(|r| r.decision.checks.light_correlation.is_some()));
    per_presentation(&mut s, report, t);
    per_condition(&mut s, report, t);
    check_values(&mut s, report, t);
    surround(&mut s, report, t);
    let lit = report.iter().any(|r| r.decision.checks.light_correlation.is_some());
    if lit {
        light(&mut s, report, t);
    }
    targets(&mut s, report, t, lit);
    s
}

fn thresholds(s: &mut String, cal: &Calibration, lit: bool) {
    let t = &cal.thresholds;
    let _ = writeln!(s, "\n## Thresholds (from the calibration set)\n");
    let _ = writeln!(s, "| key | value | from |\n|---|---|---|");
    let (a, l) = (cal.attack_parallax_max, cal.live_parallax_min);
    let from = if a >= l {
        format!(
            "**they overlap**: just above the largest flat-attack value {a:.4} (smallest live value {l:.4})"
        )
    } else if a < l / 16.0 {
        format!(
            "geometric mean of the smallest live value {l:.4} and a sixteenth of it (the largest flat-attack \
             value {a:.4} is below that)"
        )
    } else {
        format!("geometric mean of the largest flat-attack value {a:.4} and the smallest live value {l:.4}")
    };
    let _ = writeln!(s, "| `min_parallax` | {:.4} | {from} |", t.min_parallax);
    let _ = writeln!(
        s,
        "| `min_layout_change` | {:.4} | half the smallest live value {:.4} (seed parity check) |",
        t.min_layout_change, cal.live_layout_min
    );
    let _ = writeln!(s, "| `min_yaw_deg` | 5 | SPEC §2.3 |\n| `max_path_rms` | 0.02 | SPEC §2.6 |");
    if !lit {
        return;
    }
    let _ = writeln!(
        s,
        "| `[light] min_uniformity` | {:.4} | half the smallest live value {:.4} at ≤ 500 lux |",
        t.min_light_uniformity, cal.live_light_uniformity_min
    );
    let _ = writeln!(
        s,
        "| `[light] min_balance` | {:.4} | half the smallest live value {:.4} at ≤ 500 lux |",
        t.min_light_balance, cal.live_light_balance_min
    );
    let _ = writeln!(
        s,
        "| `[light] max_residual` | {:.4} | twice the largest live value {:.4} at ≤ 500 lux |",
        t.max_light_residual, cal.live_light_residual_max
    );
    let (sc, lc) = (cal.screen_light_correlation_max, cal.live_light_correlation_min);
    let from = if sc < lc {
        format!(
            "midway between the largest phone-screen value {sc:.4} (among those even, balanced and steady enough) and the smallest live value {lc:.4} at ≤ 500 lux"
        )
    } else {
        format!(
            "**they overlap**: just above the largest phone-screen value {sc:.4} (smallest live value {lc:.4} at ≤ 500 lux)"
        )
    };
    let _ = writeln!(s, "| `[light] min_correlation` | {:.4} | {from} |", t.min_light_correlation);
    let _ = writeln!(
        s,
        "| `[light] min_amplitude` | {:.4} | the configured noise floor |",
        t.min_light_amplitude
    );
    let _ = writeln!(
        s,
        "| `[light] max_background_share` | {:.2} | the configured value, from the physics (a wall ≥ 1 m behind a face at ≤ 60 cm answers ≤ 0.36 of the face's response, a phone's glass about 1), not from these sessions |",
        t.max_light_background
    );
}

/// The light challenge per ambient-light bin: live visitors refused, phone-screen replays
/// accepted (all checks, and the light check alone), and the check values.
fn light(s: &mut String, report: &[CaseResult], t: &Thresholds) {
    let _ = writeln!(s, "\n## Light challenge (report set)\n");
    let _ = writeln!(
        s,
        "The screen flashes {} colours of {} ms in the Nose state; the skin's colour must follow them \
         (`liveness::light`). The renderer lights skin, paper and the wall with the terminal's screen \
         (250 cd/m², 7\", just below the camera) against the door's ambient light, and a phone screen \
         emits its own picture (a still photo moved to aim, for half of them the face under other, \
         unsynchronised coloured light; or a video of the face performing the challenge, for half of \
         them filmed under such light) behind glass that reflects the terminal's screen 1 % diffusely and 4 % \
         specularly. The promise is made at ≤ 500 lux; above, the curve shows where it ends, and \
         `[light] when_too_bright` decides (default `fail`).\n",
        crate::liveness::light::LightConfig::default().flashes,
        crate::liveness::light::LightConfig::default().flash_ms
    );
    let _ = writeln!(
        s,
        "| ambient | live | BPCER (all checks) | live refused by the light check | phone-screen replays (photo and video) | APCER (all checks) | replays the light check alone rejects (of those it measured) | live correlation min | replay correlation max |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    let levels = Conditions::levels();
    let bins = levels.iter().find(|(f, _)| *f == "ambient").map(|(_, l)| l.clone()).unwrap_or_default();
    for bin in bins {
        let set = at_level(report, "ambient", bin);
        let live: Vec<&&CaseResult> = set.iter().filter(|r| is_live(r)).collect();
        let screen: Vec<&&CaseResult> = set.iter().filter(|r| is_screen(r)).collect();
        let refused = live.iter().filter(|r| t.judge(&r.decision).0 != Outcome::Pass).count();
        let light_refused = live.iter().filter(|r| !t.light_passes(&r.decision)).count();
        let accepted = screen.iter().filter(|r| t.judge(&r.decision).0 == Outcome::Pass).count();
        let measured: Vec<&&&CaseResult> =
            screen.iter().filter(|r| r.decision.checks.light_values().is_some()).collect();
        let light_rejects = measured.iter().filter(|r| !t.light_passes(&r.decision)).count();
        let owned: Vec<CaseResult> = set.iter().map(|r| (*r).clone()).collect();
        let lc = values(&owned, is_live, |d| d.checks.light_correlation);
        let sc = values(&owned, is_screen, |d| d.checks.light_correlation);
        let _ = writeln!(
            s,
            "| {bin} | {} | {:.1} % | {light_refused} | {} | {:.1} % | {light_rejects} of {} | {} | {} |",
            live.len(),
            pct(refused, live.len()),
            screen.len(),
            pct(accepted, screen.len()),
            measured.len(),
            fmt(lc.first().copied()),
            fmt(sc.last().copied()),
        );
    }
    let dim: Vec<CaseResult> = report.iter().filter(|r| super::evaluate::dim_enough(r)).cloned().collect();
    let _ = writeln!(
        s,
        "\nAt ≤ 500 lux, check values (live min / phone-screen max; the margins are the live minimum over \
         the threshold and the threshold over the replay maximum):\n\n| check | threshold | live min | replay max | margin live | margin replay |\n|---|---|---|---|---|---|"
    );
    // (name, threshold, value, whether the threshold is a maximum)
    type Check = (&'static str, f32, fn(&Decision) -> Option<f32>, bool);
    let checks: [Check; 5] = [
        ("light_correlation", t.min_light_correlation, |d| d.checks.light_correlation, false),
        ("light_amplitude", t.min_light_amplitude, |d| d.checks.light_amplitude, false),
        ("light_uniformity", t.min_light_uniformity, |d| d.checks.light_uniformity, false),
        ("light_balance", t.min_light_balance, |d| d.checks.light_balance, false),
        (
            "light_residual (a maximum: live max / replay min)",
            t.max_light_residual,
            |d| d.checks.light_residual,
            true,
        ),
    ];
    for (name, th, f, upper) in checks {
        let lv = values(&dim, is_live, f);
        let sv = values(&dim, is_screen, f);
        let (l, a) = if upper {
            (lv.last().copied(), sv.first().copied())
        } else {
            (lv.first().copied(), sv.last().copied())
        };
        let ratio = |num: Option<f32>, den: Option<f32>| match (num, den) {
            (Some(n), Some(d)) if d > 0.0 && n > 0.0 => format!("×{:.2}", n / d),
            (Some(_), Some(_)) => "∞ (replays ≤ 0)".into(),
            _ => "–".into(),
        };
        let (live_margin, replay_margin) = if upper {
            (ratio(Some(th), l), ratio(a, Some(th)))
        } else {
            (ratio(l, Some(th)), ratio(Some(th), a))
        };
        let _ =
            writeln!(s, "| {name} | {th:.4} | {} | {} | {live_margin} | {replay_margin} |", fmt(l), fmt(a));
    }
    // Decided on by a configured bound (`LightConfig::max_background_share`), in absolute value.
    let abs_share = |d: &Decision| d.checks.light_background.map(f32::abs);
    let (lb, vb, sb) = (
        values(&dim, is_live, abs_share),
        values(&dim, is_video, abs_share),
        values(&dim, is_screen, abs_share),
    );
    let over = |v: &[f32]| v.iter().filter(|&&b| b > t.max_light_background).count();
    let _ = writeln!(
        s,
        "\nThe wall beside the head answers the flashes (`checks.light_background`: its response over the \
         skin's, read on the same wall pixels beside the face's box at the Nose state's start; refused in \
         absolute value above `max_background_share` = {:.2}): live sessions at ≤ 500 lux above the bound \
         {} of {} measured (largest {}, median {}, margin {}); video replays median {} (10th–90th \
         percentile {} … {}); phone-screen replays (photo and video) above the bound {} of {} measured. \
         A wall metres behind \
         the visitor answers a few per cent; a phone's glass scatters the flashes over the filmed wall as \
         much as over the filmed face.\n",
        t.max_light_background,
        over(&lb),
        lb.len(),
        fmt(lb.last().copied()),
        fmt(q(&lb, 0.5)),
        lb.last()
            .filter(|&&m| m > 0.0)
            .map_or("–".into(), |m| format!("×{:.2}", t.max_light_background / m)),
        fmt(q(&vb, 0.5)),
        fmt(q(&vb, 0.1)),
        fmt(q(&vb, 0.9)),
        over(&sb),
        sb.len(),
    );
}

fn per_presentation(s: &mut String, report: &[CaseResult], t: &Thresholds) {
    let _ = writeln!(s, "\n## Results on the report set\n");
    let _ = writeln!(
        s,
        "| presentation | sessions | accepted | error rate | rejected by | 3-D-motion check alone rejects |\n\
         |---|---|---|---|---|---|"
    );
    for script in Script::ALL {
        let set: Vec<&CaseResult> = report.iter().filter(|r| r.script == script).collect();
        if set.is_empty() {
            continue;
        }
        let judged: Vec<_> = set.iter().map(|r| t.judge(&r.decision)).collect();
        let passed = judged.iter().filter(|(o, _)| *o == Outcome::Pass).count();
        let (label, rate) = match script {
            Script::Live => ("BPCER", pct(set.len() - passed, set.len())),
            s if s.is_attack() => ("APCER", pct(passed, set.len())),
            _ => ("wrongly accepted", pct(passed, set.len())),
        };
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for (_, reason) in judged.iter().filter(|(o, _)| *o != Outcome::Pass) {
            *reasons.entry(reason_name(*reason)).or_default() += 1;
        }
        let reasons: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let alone = set.iter().filter(|r| !t.motion_passes(&r.decision)).count();
        let _ = writeln!(
            s,
            "| {script:?} | {} | {passed} | {label} {rate:.1} % | {} | {alone} of {} |",
            set.len(),
            reasons.join(", "),
            set.len()
        );
    }
}

/// The surround check on its own (issue 18 item 5): the share of the textured scene around the
/// head that moved with the face, per presentation.
fn surround(s: &mut String, report: &[CaseResult], t: &Thresholds) {
    let th = t.max_surround_following;
    let _ = writeln!(
        s,
        "\n## The surround check\n\nThe share of textured patches around the head (beside it and above the \
         hair) that moved with the face while the nose moved to the target (`checks.surround_following`, \
         median over frames); the session is refused (`moving_surround`) above `max_surround_following` = \
         {th:.2}, a value set from the physics (a fixed camera's wall: 0; a picture moved to aim: 1), not from \
         these sessions. \"measured\" counts the sessions where the head moved far enough (12 px) on at least \
         3 frames and the surround had texture; elsewhere the check gives no evidence and does not refuse.\n\n\
         | presentation | sessions | measured | min | median | max | check alone rejects |\n|---|---|---|---|---|---|---|"
    );
    for script in Script::ALL {
        let set: Vec<&CaseResult> = report.iter().filter(|r| r.script == script).collect();
        if set.is_empty() {
            continue;
        }
        let mut v: Vec<f32> = set.iter().filter_map(|r| r.decision.checks.surround_following).collect();
        v.sort_by(f32::total_cmp);
        let rejects = set.iter().filter(|r| !t.surround_passes(&r.decision)).count();
        let _ = writeln!(
            s,
            "| {script:?} | {} | {} | {} | {} | {} | {rejects} of {} |",
            set.len(),
            v.len(),
            fmt2(v.first().copied()),
            fmt2(q(&v, 0.5)),
            fmt2(v.last().copied()),
            set.len()
        );
    }
}

fn per_condition(s: &mut String, report: &[CaseResult], t: &Thresholds) {
    let _ = writeln!(s, "\n## Per door condition (report set)\n");
    let _ = writeln!(
        s,
        "Each session counts once under every factor. \"3-D alone\" is the share of flat attacks the \
         3-D-motion check rejects by itself; the margins are the smallest live value over the threshold and \
         the threshold over the largest flat-attack value.\n"
    );
    let _ = writeln!(
        s,
        "| factor | level | live | BPCER | flat attacks | APCER | 3-D alone | live min | attack max | margin live | margin attack |\n\
         |---|---|---|---|---|---|---|---|---|---|---|"
    );
    for (factor, levels) in Conditions::levels() {
        for level in levels {
            let g = Group::of(&at_level(report, factor, level), t);
            let _ = writeln!(
                s,
                "| {factor} | {level} | {} | {:.1} % | {} | {:.1} % | {:.0} % | {} | {} | {} | {} |",
                g.live,
                pct(g.live_refused, g.live),
                g.attacks,
                pct(g.attacks_accepted, g.attacks),
                pct(g.motion_rejects, g.attacks),
                fmt(g.live_min),
                fmt(g.attack_max),
                margin(g.margin_live(t)),
                margin(g.margin_attack(t))
            );
        }
    }
}

fn check_values(s: &mut String, report: &[CaseResult], t: &Thresholds) {
    let _ = writeln!(s, "\n## Check values on the report set (sessions that reached the target)\n");
    let _ = writeln!(
        s,
        "| check | threshold | live min | live median | attack median | attack max | margin live | margin attack |\n\
         |---|---|---|---|---|---|---|---|"
    );
    type Pick = fn(&Decision) -> Option<f32>;
    for (name, thr, f) in [
        ("parallax (3-D motion)", t.min_parallax, parallax as Pick),
        ("layout_change", t.min_layout_change, (|d: &Decision| d.checks.layout_change) as Pick),
    ] {
        let (l, a) = (values(report, is_live, f), values(report, is_flat_attack, f));
        let _ = writeln!(
            s,
            "| {name} | {thr:.4} | {} | {} | {} | {} | {} | {} |",
            fmt(l.first().copied()),
            fmt(q(&l, 0.5)),
            fmt(q(&a, 0.5)),
            fmt(a.last().copied()),
            margin(l.first().map(|v| v / thr)),
            margin(a.last().map(|v| if *v > 0.0 { thr / v } else { f32::INFINITY }))
        );
    }
    let yaw_l = values(report, is_live, |d| d.checks.yaw_deg);
    let yaw_a = values(report, is_flat_attack, |d| d.checks.yaw_deg);
    let rms_l = values(report, is_live, |d| d.checks.path_rms);
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
    // How well the turn is read: the decision's yaw over the turn the generator made by the
    // decision frame (its noise-free pose, nods and tremor included).
    let mut read: Vec<f32> = report
        .iter()
        .filter(|r| is_live(r))
        .filter_map(|r| {
            let truth = r.nose_frames.last()?.true_turn_deg;
            let yaw = r.decision.checks.yaw_deg?;
            (truth > 1.0).then_some(yaw / truth)
        })
        .collect();
    read.sort_by(f32::total_cmp);
    let _ = writeln!(
        s,
        "\nThe turn as read (`yaw_deg`) over the turn the generated head made by the decision frame, live \
         sessions: minimum {}, 10th percentile {}, median {}, maximum {} ({} sessions).",
        fmt2(read.first().copied()),
        fmt2(q(&read, 0.1)),
        fmt2(q(&read, 0.5)),
        fmt2(read.last().copied()),
        read.len()
    );
}

fn fmt2(v: Option<f32>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

fn targets(s: &mut String, report: &[CaseResult], t: &Thresholds, lit: bool) {
    let all: Vec<&CaseResult> = report.iter().collect();
    let overall = Group::of(&all, t);
    let mut worst_bpcer = (0.0f32, String::new());
    let (mut worst_live, mut worst_attack) = ((f32::INFINITY, String::new()), (f32::INFINITY, String::new()));
    for (factor, levels) in Conditions::levels() {
        for level in levels {
            let g = Group::of(&at_level(report, factor, level), t);
            let b = pct(g.live_refused, g.live);
            if b > worst_bpcer.0 {
                worst_bpcer = (b, format!("{factor} {level}"));
            }
            if let Some(m) = g.margin_live(t).filter(|m| *m < worst_live.0) {
                worst_live = (m, format!("{factor} {level}"));
            }
            if let Some(m) = g.margin_attack(t).filter(|m| *m < worst_attack.0) {
                worst_attack = (m, format!("{factor} {level}"));
            }
        }
    }
    let wrongly: usize =
        report.iter().filter(|r| !is_live(r) && t.judge(&r.decision).0 == Outcome::Pass).count();
    let ok = |b: bool| if b { "met" } else { "**not met**" };
    let bpcer = pct(overall.live_refused, overall.live);
    let alone = pct(overall.motion_rejects, overall.attacks);
    let _ = writeln!(s, "\n## Targets (issue 14)\n");
    let _ = writeln!(s, "| target | measured | |\n|---|---|---|");
    let _ = writeln!(s, "| no attack or misbehaviour accepted | {wrongly} accepted | {} |", ok(wrongly == 0));
    let _ = writeln!(s, "| BPCER ≤ 2 % overall | {bpcer:.1} % | {} |", ok(bpcer <= 2.0));
    let _ = writeln!(
        s,
        "| BPCER ≤ 5 % in every condition | {} | {} |",
        if worst_bpcer.1.is_empty() {
            "0.0 % in every condition".to_string()
        } else {
            format!("worst {:.1} % ({})", worst_bpcer.0, worst_bpcer.1)
        },
        ok(worst_bpcer.0 <= 5.0)
    );
    let _ = writeln!(
        s,
        "| 3-D-motion check alone rejects ≥ 95 % of flat attacks | {alone:.1} % | {} |",
        ok(alone >= 95.0)
    );
    let _ = writeln!(
        s,
        "| 3-D-motion margins ≥ ×2 in every condition | live ×{:.2} ({}), attack ×{:.2} ({}) | {} |",
        worst_live.0,
        worst_live.1,
        worst_attack.0,
        worst_attack.1,
        ok(worst_live.0 >= 2.0 && worst_attack.0 >= 2.0)
    );
    if !lit {
        return;
    }
    let dim: Vec<&CaseResult> = report.iter().filter(|r| super::evaluate::dim_enough(r)).collect();
    let live: Vec<&&CaseResult> = dim.iter().filter(|r| is_live(r)).collect();
    let refused = live.iter().filter(|r| t.judge(&r.decision).0 != Outcome::Pass).count();
    let b = pct(refused, live.len());
    let _ = writeln!(s, "\n## Targets (issue 18, at ≤ 500 lux)\n");
    let _ = writeln!(s, "| target | measured | |\n|---|---|---|");
    for (name, script) in
        [("a video replayed on a screen", Script::VideoReplay), ("a photo on a screen", Script::Screen)]
    {
        let screens: Vec<&&CaseResult> = dim.iter().filter(|r| r.script == script).collect();
        let accepted = screens.iter().filter(|r| t.judge(&r.decision).0 == Outcome::Pass).count();
        let _ = writeln!(
            s,
            "| APCER 0 % for {name} | {:.1} % ({accepted} of {}) | {} |",
            pct(accepted, screens.len()),
            screens.len(),
            ok(accepted == 0)
        );
    }
    let _ = writeln!(s, "| BPCER ≤ 2 % | {b:.1} % ({refused} of {}) | {} |", live.len(), ok(b <= 2.0));
}
