//! The `livegate` command line: parse, call the subcommand, map errors to exit codes
//! (0 success, 1 failure, 2 unusable input).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use livegate::camera::synthetic::{Script, SeededRng, SyntheticCamera};
use livegate::cmd::{bench, inspect, synth, verify};
use livegate::liveness::ChallengeGeometry;
use livegate::liveness::session::LivenessConfig;
use livegate::liveness::verdict::VerdictResult;
use livegate::models::{self, Precision};
use livegate::vision::{FaceTracker, VisionConfig};

#[derive(Parser)]
#[command(name = "livegate", version, about = "Face-liveness door terminal")]
struct Cli {
    /// Directory holding the ONNX models (default: $LIVEGATE_MODELS, ./models, the install dir).
    #[arg(long, global = true, value_name = "DIR")]
    models: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Faces, scores, box, nose tip and head pose of each image, as JSON.
    Inspect {
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<PathBuf>,
        /// Add all 468 mesh points to each face.
        #[arg(long)]
        landmarks: bool,
        /// Which mesh to run.
        #[arg(long, value_enum, default_value = "int8")]
        precision: Precision,
    },
    /// Replay a recorded session directory and print its verdict (exit 0 pass, 1 other, 2 unusable).
    Verify {
        #[arg(value_name = "SESSION_DIR")]
        dir: PathBuf,
    },
    /// Write a synthetic session (a scripted performer or attacker) as a session directory.
    Synth {
        #[arg(long, value_enum)]
        script: Script,
        /// The source face photo.
        #[arg(long)]
        face: PathBuf,
        /// A second photo, for the person stepping in (default: the mirrored face).
        #[arg(long)]
        other: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Per-stage latency on real frames, int8 and float.
    Bench {
        /// Frames to time (default: the shipped 640×480 JPEG).
        #[arg(value_name = "IMAGE")]
        images: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 200)]
        runs: usize,
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        /// Also run onnxruntime on the same inputs through this script and print ratios.
        #[arg(long, value_name = "SCRIPT", num_args = 0..=1, default_missing_value = "tools/bench_ort.py")]
        peer: Option<PathBuf>,
        /// Python interpreter for --peer.
        #[arg(long, env = "LIVEGATE_PYTHON", default_value = "python3")]
        python: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("livegate: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let model_dir = models::locate(cli.models.as_deref())?;
    match cli.command {
        Command::Inspect { images, landmarks, precision } => {
            let cfg = VisionConfig::default();
            let (detector, mesh) = models::load(&model_dir, precision, cfg.detector_min_score)?;
            let opts = inspect::InspectOptions {
                with_landmarks: landmarks,
                hfov_deg: cfg.hfov_deg,
                presence_min: cfg.presence_min,
            };
            let reports = inspect::inspect(&images, &detector, &mesh, opts);
            println!("{}", serde_json::to_string_pretty(&reports)?);
            for r in reports.iter().filter_map(|r| r.error.as_ref()) {
                eprintln!("livegate: {r}");
            }
            let unusable = reports.iter().any(|r| r.error.is_some());
            Ok(if unusable { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Verify { dir } => {
            let cfg = VisionConfig::default();
            let (detector, mesh) = models::load(&model_dir, Precision::Int8, cfg.detector_min_score)?;
            let tracker = FaceTracker::new(detector, mesh, cfg);
            match verify::verify(&dir, tracker, LivenessConfig::default()) {
                Ok(verdict) => {
                    println!("{}", serde_json::to_string_pretty(&verdict)?);
                    Ok(if verdict.result == VerdictResult::Pass {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Err(e @ verify::VerifyError::Unusable(_)) => {
                    eprintln!("livegate: {e}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Synth { script, face, other, seed, out } => {
            let cfg = VisionConfig::default();
            let (detector, mesh) = models::load(&model_dir, Precision::Float, cfg.detector_min_score)?;
            let photo = inspect::read_rgb(&face)?;
            let model = synth::face_model(&photo, &detector, &mesh)?;
            let other_photo = match &other {
                Some(p) => inspect::read_rgb(p)?,
                None => image::imageops::flip_horizontal(&photo),
            };
            let other_model = synth::face_model(&other_photo, &detector, &mesh)?;
            let mut rng = SeededRng::new(seed);
            let geometry = ChallengeGeometry::new(640, 480, synth::seeded_target(&mut rng));
            let mut camera =
                SyntheticCamera::new(model, other_model, script, &geometry, cfg.hfov_deg, rng.next_u64());
            let n = synth::write_session(&out, &mut camera, &geometry, script)?;
            eprintln!("wrote {n} frames to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { images, json, runs, warmup, peer, python } => {
            let opts =
                bench::BenchOptions { models: model_dir, images, runs, warmup, peer_script: peer, python };
            let report = bench::bench(&opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", bench::render(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
