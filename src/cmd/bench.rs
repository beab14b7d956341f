//! `livegate bench`: per-stage latency of the vision pipeline on real JPEG frames, int8 and
//! float, optionally side by side with onnxruntime on the very same input tensors.
//!
//! Timings are medians of process CPU time over many runs after a warm-up, single-threaded
//! like the service (CPU time, because the machines we measure on are shared).
//! The peer comparison writes the tract inputs as `.npy` files, runs `tools/bench_ort.py` on
//! them in the same command, and prints tract/onnxruntime ratios (< 1 means tract is faster).

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::Exit;
use super::bench_frames::{self, PipelineReport, RecordedFrame};
use crate::liveness::{ChallengeGeometry, TargetDraw};
use crate::models::{self, Precision};
use crate::vision::warp::InputBuffer;
use crate::vision::{
    FaceDetector, FaceTracker, LandmarkModel, Operators, Roi, VisionConfig, detector, landmarks, pose,
};

/// A 640×480 JPEG door-camera frame (the public-domain astronaut photo, NASA), shipped so the
/// bench runs anywhere, including on a Pi without a source checkout.
pub const SHIPPED_FRAME: &[u8] = include_bytes!("../../assets/frame_640x480.jpg");

/// Settings of one bench run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub models: PathBuf,
    /// JPEG/PNG frames to use; empty for the shipped frame.
    pub images: Vec<PathBuf>,
    pub runs: usize,
    pub warmup: usize,
    /// Run onnxruntime through this script on the same inputs.
    pub peer_script: Option<PathBuf>,
    pub python: String,
    /// Session directory (SPEC §6) for the whole-frame steady state; `None` loops the bench
    /// frames instead.
    pub session: Option<PathBuf>,
}

/// Latency of one stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub median_ms: f64,
    pub p90_ms: f64,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: &'static str,
    pub what: &'static str,
    #[serde(flatten)]
    pub timing: Timing,
}

/// What the peer script reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerReport {
    pub runtime: String,
    pub version: String,
    pub threads: u32,
    pub stages: std::collections::BTreeMap<String, Timing>,
}

/// livegate's median divided by the peer's for one network (`mesh_int8` runs in tract with
/// livegate's operators, `mesh_int8_tract` is the same graph in tract's own; likewise `detect_fp32` and
/// `detect_fp32_tract`).
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub model: String,
    pub livegate_ms: f64,
    pub peer_ms: f64,
    pub livegate_over_peer: f64,
}

/// The whole report (`--json` prints it as is).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The engine's fingerprint (tract, operators, kernels, model hashes).
    pub engine: String,
    /// The kernel path livegate's operators ran.
    pub kernels: String,
    pub frame: String,
    pub width: u32,
    pub height: u32,
    pub runs: usize,
    pub stages: Vec<Stage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerReport>,
    pub ratios: Vec<Ratio>,
    /// The whole frame, stage by stage (`bench_frames`).
    pub pipeline: PipelineReport,
    /// From process start to the end of the first processed frame (models loaded, frame
    /// decoded, tracked, drawn), ms; 10 ms resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_ms: Option<f64>,
    /// Peak resident set of the bench process, MiB (all models, float ones included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
}

/// Runs `f` `warmup + runs` times (its result kept from the optimiser) and returns the median and 90th percentile of the timed runs.
fn time<T>(runs: usize, warmup: usize, mut f: impl FnMut() -> T) -> Timing {
    for _ in 0..warmup {
        black_box(f());
    }
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = bench_frames::cpu_ms();
            black_box(f());
            bench_frames::cpu_ms() - t
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Timing { median_ms: at(0.5), p90_ms: at(0.9) }
}

fn load_frames(opts: &BenchOptions) -> anyhow::Result<(String, Vec<Vec<u8>>)> {
    if opts.images.is_empty() {
        return Ok(("shipped 640x480 JPEG (astronaut)".into(), vec![SHIPPED_FRAME.to_vec()]));
    }
    let frames = opts
        .images
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let names: Vec<String> = opts.images.iter().map(|p| p.display().to_string()).collect();
    Ok((names.join(", "), frames))
}

fn decode(bytes: &[u8]) -> anyhow::Result<RgbImage> {
    Ok(image::load_from_memory(bytes).context("frame is not a readable image")?.into_rgb8())
}

/// What `livegate bench` is asked to do.
#[derive(Debug, Clone)]
pub struct BenchCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    /// JPEG/PNG frames to use; empty for the shipped frame.
    pub images: Vec<PathBuf>,
    /// Print the report as JSON instead of the table.
    pub json: bool,
    pub runs: usize,
    pub warmup: usize,
    /// Run onnxruntime through this script on the same inputs.
    pub peer: Option<PathBuf>,
    /// Python interpreter for `peer`.
    pub python: String,
    /// Session directory for the whole-frame steady state.
    pub session: Option<PathBuf>,
}

/// Runs the benchmark and prints its report (the table, or JSON).
///
/// # Errors
/// No models, or see [`bench`].
pub fn exec(cmd: BenchCommand) -> anyhow::Result<Exit> {
    let opts = BenchOptions {
        models: models::locate(cmd.models.as_deref())?,
        images: cmd.images,
        runs: cmd.runs,
        warmup: cmd.warmup,
        peer_script: cmd.peer,
        python: cmd.python,
        session: cmd.session,
    };
    let report = bench(&opts)?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(Exit::Success)
}

/// Runs the benchmark.
///
/// # Errors
/// Missing models or frames, a frame without a face (nothing to time), or a failing peer.
pub fn bench(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    let (frame_name, jpegs) = load_frames(opts)?;
    let cfg = VisionConfig::default();
    let (det, mesh_int8) = models::load(&opts.models, Precision::Int8, cfg.detector_min_score)?;
    let mut startup_ms = None;
    let pipeline = {
        let (source, recorded, geometry) = match &opts.session {
            Some(dir) => {
                let (f, g) = bench_frames::load_session(dir)?;
                (dir.display().to_string(), f, g)
            }
            None => {
                let first = decode(&jpegs[0])?;
                let g = ChallengeGeometry::new(
                    first.width(),
                    first.height(),
                    TargetDraw { right: true, below: false, dx: 1, dy: 1 },
                );
                let f = jpegs.iter().enumerate();
                let f = f.map(|(i, j)| RecordedFrame { jpeg: j.clone(), t_ms: 66 * i as u64 }).collect();
                (frame_name.clone(), f, g)
            }
        };
        let tracker = FaceTracker::new(det.clone(), mesh_int8.clone(), cfg.clone());
        let first = || startup_ms = bench_frames::ms_since_process_start();
        bench_frames::run(source, &recorded, geometry, tracker, &mesh_int8, (opts.runs, opts.warmup), first)?
    };
    let frames = jpegs.iter().map(|j| decode(j)).collect::<anyhow::Result<Vec<_>>>()?;
    let img = &frames[0];
    let mesh_fp32 = LandmarkModel::load_with(&opts.models.join(models::MESH_FP32), Operators::Tract)?;
    let face = det.detect(img)?.into_iter().next().context("no face in the bench frame")?;
    let roi = Roi::from_landmarks(&mesh_int8.landmarks(img, &Roi::from_detection(&face))?);
    let lb = detector::Letterbox::fit(img.width(), img.height());
    let det_input = detector::letterbox_input(img, lb);
    let mesh_input = landmarks::crop_input(img, &roi);
    let lm = mesh_int8.landmarks(img, &roi)?;
    let cam = pose::Intrinsics::from_hfov(img.width(), img.height(), cfg.hfov_deg);
    let (r, w) = (opts.runs, opts.warmup);

    let mut stages = Vec::new();
    let mut stage = |name, what, timing| stages.push(Stage { name, what, timing });
    let mut i = 0;
    stage(
        "decode",
        "JPEG → RGB",
        time(r, w, || {
            i = (i + 1) % jpegs.len();
            decode(&jpegs[i]).expect("decoded before")
        }),
    );
    let mut buf = InputBuffer::default();
    stage(
        "letterbox",
        "frame → 128×128 tensor",
        time(r, w, || detector::letterbox_into(img, lb, &mut buf).len()),
    );
    stage(
        "detect_fp32",
        "detector network only (livegate's operators in tract, what the service runs)",
        time(r, w, || det.infer(&det_input)),
    );
    let det_tract = FaceDetector::load_with(
        &opts.models.join(models::DETECTOR),
        cfg.detector_min_score,
        Operators::Tract,
    )?;
    stage(
        "detect_fp32_tract",
        "the same network in tract's own operators",
        time(r, w, || det_tract.infer(&det_input)),
    );
    stage("detect", "letterbox + network + decode + NMS", time(r, w, || det.detect(img)));
    stage(
        "crop",
        "rotated ROI → 192×192 tensor",
        time(r, w, || landmarks::crop_into(img, &roi, &mut buf).len()),
    );
    stage(
        "mesh_int8",
        "int8 mesh network only (livegate's operators in tract)",
        time(r, w, || mesh_int8.infer(&mesh_input)),
    );
    let mesh_tract = LandmarkModel::load_with(&opts.models.join(models::MESH_INT8), Operators::Tract)?;
    stage(
        "mesh_int8_tract",
        "the same int8 network in tract's own operators",
        time(r, w, || mesh_tract.infer(&mesh_input)),
    );
    stage("mesh_fp32", "float mesh network only", time(r, w, || mesh_fp32.infer(&mesh_input)));
    stage("pose", "head pose from 468 points", time(r, w, || pose::head_pose(&lm, &cam)));
    let steady = VisionConfig { count_interval_ms: u32::MAX, ..cfg.clone() };
    let mut tracker = FaceTracker::new(det.clone(), mesh_int8.clone(), steady);
    let mut t_ms = 0;
    stage(
        "track_step",
        "crop + int8 mesh + pose + next ROI",
        time(r, w, || {
            t_ms += 33;
            tracker.observe(img, t_ms)
        }),
    );
    let mut tracker = FaceTracker::new(det.clone(), mesh_int8.clone(), cfg.clone());
    let (mut j, mut t_ms) = (0, 0);
    stage(
        "frame",
        "decode + track at 30 fps, faces counted every count_interval_ms (every 3rd frame)",
        time(r, w, || {
            j = (j + 1) % frames.len();
            t_ms += 33;
            let f = decode(&jpegs[j]).expect("decoded before");
            tracker.observe(&f, t_ms)
        }),
    );

    let (peer, ratios) = match &opts.peer_script {
        Some(script) => run_peer(opts, script, &det_input, &mesh_input, &stages)?,
        None => (None, Vec::new()),
    };
    Ok(BenchReport {
        engine: crate::vision::fingerprint(&det, &mesh_int8),
        kernels: match mesh_int8.operators() {
            Operators::Livegate(k) => k.name().to_owned(),
            Operators::Tract => "tract".to_owned(),
        },
        frame: frame_name,
        width: img.width(),
        height: img.height(),
        runs: r,
        stages,
        peer,
        ratios,
        pipeline,
        startup_ms,
        peak_rss_mib: bench_frames::peak_rss_mib(),
    })
}

/// Writes a float32 C-order `.npy` file.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}", dims.join(", "));
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for v in data {
        out.write_all(&v.to_le_bytes())?;
    }
    out.flush()
}

fn run_peer(
    opts: &BenchOptions,
    script: &Path,
    det_input: &[f32],
    mesh_input: &[f32],
    stages: &[Stage],
) -> anyhow::Result<(Option<PeerReport>, Vec<Ratio>)> {
    let dir = std::env::temp_dir().join(format!("livegate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    write_npy(&dir.join("detector_input.npy"), &[1, 128, 128, 3], det_input)?;
    write_npy(&dir.join("mesh_input.npy"), &[1, 192, 192, 3], mesh_input)?;
    let output = Command::new(&opts.python)
        .arg(script)
        .args(["--models".as_ref(), opts.models.as_os_str(), "--inputs".as_ref(), dir.as_os_str()])
        .args(["--runs", &opts.runs.to_string(), "--json"])
        .output()
        .with_context(|| format!("cannot run {} {}", opts.python, script.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        output.status.success(),
        "peer benchmark failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let peer: PeerReport =
        serde_json::from_slice(&output.stdout).context("peer benchmark printed no JSON report")?;
    let ratios = stages
        .iter()
        .filter_map(|s| {
            let p = peer.stages.get(s.name.trim_end_matches("_tract").trim_end_matches("_livegate"))?;
            Some(Ratio {
                model: s.name.to_string(),
                livegate_ms: s.timing.median_ms,
                peer_ms: p.median_ms,
                livegate_over_peer: s.timing.median_ms / p.median_ms,
            })
        })
        .collect();
    Ok((Some(peer), ratios))
}

/// The report as a human-readable table.
pub fn render(report: &BenchReport) -> String {
    let mut s = format!(
        "engine: {}\nframe: {} ({}×{}), {} runs, 1 thread\n",
        report.engine, report.frame, report.width, report.height, report.runs
    );
    s += &format!("{:<16} {:>10} {:>10}  {}\n", "stage", "median ms", "p90 ms", "what");
    for st in &report.stages {
        s += &format!(
            "{:<16} {:>10.3} {:>10.3}  {}\n",
            st.name, st.timing.median_ms, st.timing.p90_ms, st.what
        );
    }
    s += &bench_frames::render(&report.pipeline);
    if let Some(ms) = report.startup_ms {
        s += &format!("start-up to first processed frame: {ms:.0} ms\n");
    }
    if let Some(mib) = report.peak_rss_mib {
        s += &format!("peak RSS: {mib:.1} MiB\n");
    }
    if let Some(peer) = &report.peer {
        s += &format!(
            "\nvs {} {} ({} thread), same input tensors:\n",
            peer.runtime, peer.version, peer.threads
        );
        s += &format!("{:<16} {:>11} {:>10} {:>14}\n", "network", "livegate ms", "peer ms", "livegate/peer");
        for r in &report.ratios {
            s += &format!(
                "{:<16} {:>11.3} {:>10.3} {:>14.2}\n",
                r.model, r.livegate_ms, r.peer_ms, r.livegate_over_peer
            );
        }
    }
    s
}
