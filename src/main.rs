//! The `livegate` command line: parse, call the subcommand, map errors to exit codes
//! (0 success, 1 failure, 2 unusable input).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use livegate::camera::CameraSource;
use livegate::camera::synthetic::{Conditions, Script, SeededRng, SyntheticCamera};
use livegate::cmd::settings::Settings;
use livegate::cmd::{bench, demo, evaluate, evaluate_sessions, inspect, record, screens, synth, verify};
use livegate::config::Config;
use livegate::liveness::ChallengeGeometry;
use livegate::models::{self, Precision};
use livegate::verdict::VerdictResult;
use livegate::verdict::signing::DeviceKey;
use livegate::vision::{FaceTracker, VisionConfig};

#[derive(Parser)]
#[command(
    name = "livegate",
    about = "Face-liveness door terminal",
    disable_version_flag = true,
    arg_required_else_help = true
)]
struct Cli {
    /// Print the version and the engine's fingerprint (tract, operators, kernel path, model
    /// hashes) as the service would load it; exit 1 when the models do not load.
    #[arg(short = 'V', long)]
    version: bool,
    /// Directory holding the ONNX models (default: $LIVEGATE_MODELS, ./models, the install dir).
    #[arg(long, global = true, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Kernel path of livegate's operators (portable, avx2, vnni, neon, neon-dot; default: the fastest
    /// this CPU runs). `portable` is what a CPU without the fast kernels runs.
    #[arg(long, global = true, env = "LIVEGATE_KERNELS", value_name = "PATH", value_parser = parse_kernels)]
    kernels: Option<livegate::vision::Kernels>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The service: MQTT requests in, signed verdicts out.
    Run {
        #[arg(short, long, value_name = "FILE", default_value = "/etc/livegate/livegate.toml")]
        config: PathBuf,
    },
    /// The whole service with no hardware: synthetic visitors (live, then a flat photo),
    /// embedded broker on loopback, screens as PNG files; prints each verdict.
    Demo {
        /// Where the demo's key, spool and screen PNGs go.
        #[arg(short, long, value_name = "DIR", default_value = "livegate-demo")]
        out: PathBuf,
        /// Loopback port of the embedded MQTT broker (default: 1883, or a free port when a
        /// broker already holds 1883).
        #[arg(long)]
        port: Option<u16>,
        /// Challenges to run, alternating live visitor and flat photo (0: until Ctrl-C).
        #[arg(long, default_value_t = 4)]
        challenges: u32,
        /// The performer's face photo (default: the shipped public-domain portrait).
        #[arg(long, value_name = "IMAGE")]
        face: Option<PathBuf>,
        /// Draw the screen in a window instead of PNG files (builds with `--features simulator`).
        #[arg(long)]
        window: bool,
    },
    /// Make the verdict-signing key (0600; never overwrites) and print the public key.
    Keygen {
        /// Where to write the key (default: `[signing] key_file` of the config).
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(short, long, value_name = "FILE", default_value = "/etc/livegate/livegate.toml")]
        config: PathBuf,
    },
    /// Print the default config, or validate a file with --check.
    Config {
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
        /// Print the key table of docs/configuration.md (key · default · meaning) instead.
        #[arg(long, conflicts_with = "check")]
        table: bool,
    },
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
        /// Use this config file's `[liveness]` thresholds and `[vision]` lens (default: the defaults).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Write what was seen and decided on each frame here, one JSON line per frame.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Write each frame as PNG with the boxes, target, nose path and keypoints drawn on.
        #[arg(long, value_name = "DIR")]
        overlay: Option<PathBuf>,
        /// At the end, print this process's peak resident set (`VmHWM`) on stderr as one line
        /// `peak_rss_mib <MiB>` (stdout stays the verdict).
        #[arg(long)]
        peak_rss: bool,
    },
    /// Run one challenge on a camera and write what it delivered as a session directory.
    Record {
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        /// The door's config file: its `[camera]` (without --replay/--face), `[liveness]` and
        /// `[vision]` (default: the defaults, i.e. the V4L2 camera /dev/video0).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Replay this session directory as the camera (its challenge is kept).
        #[arg(long, value_name = "SESSION_DIR", conflicts_with_all = ["face", "script"])]
        replay: Option<PathBuf>,
        /// Synthetic camera: the performer's face photo.
        #[arg(long)]
        face: Option<PathBuf>,
        /// Synthetic camera: what the performer does.
        #[arg(long, value_enum, default_value = "live")]
        script: Script,
        #[arg(long, default_value_t = 1)]
        seed: u64,
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
        /// Perform at the door `livegate evaluate` draws for this seed (lens, camera height,
        /// light, codec, …) instead of the baseline door: remakes one of its sessions.
        #[arg(long)]
        door: bool,
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Generate synthetic live and attack sessions, calibrate on one set, report APCER/BPCER on another.
    Evaluate {
        /// Source faces of the calibration set.
        #[arg(long, num_args = 1.., default_values = ["tests/data/obama.jpg", "tests/data/biden.jpg"])]
        calibrate: Vec<PathBuf>,
        /// Source faces of the report set (held out).
        #[arg(long, num_args = 1.., default_values = ["tests/data/astronaut.png"])]
        report: Vec<PathBuf>,
        /// Live sessions per calibration face (report faces get as many in total).
        #[arg(long, default_value_t = 25)]
        live: u32,
        /// Sessions per attack kind per calibration face.
        #[arg(long, default_value_t = 9)]
        per_attack: u32,
        /// Sessions per misbehaviour (slide, turn away, second face, leaving) per calibration face.
        #[arg(long, default_value_t = 2)]
        per_misbehaviour: u32,
        /// Write the Markdown report here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write every generated session (set, face, script, seed, door, measured checks)
        /// as JSON lines here, to look into single sessions (`livegate synth` remakes them).
        #[arg(long, value_name = "FILE", conflicts_with = "sessions")]
        cases: Option<PathBuf>,
        /// Instead: replay the sessions recorded at a door, sorted into DIR/live/ and
        /// DIR/attack/<species>/, and report acceptance, margins and proposed thresholds.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["calibrate", "report", "live", "per_attack", "per_misbehaviour"])]
        sessions: Option<PathBuf>,
        /// Reference sessions of the engine check (`models/calibration.json`).
        #[arg(long, value_name = "DIR", default_value = "tests/sessions")]
        reference: PathBuf,
        /// Write `models/calibration.json` for the engine in use (after recalibrating the
        /// thresholds on it) instead of checking the engine against it.
        #[arg(long)]
        record_engine: bool,
        /// With --sessions: the door's config file (`[liveness]` thresholds, `[vision]` lens).
        #[arg(short, long, value_name = "FILE", requires = "sessions")]
        config: Option<PathBuf>,
    },
    /// Render every screen (idle, challenge, results, lockout, errors) to PNG at each size.
    Screens {
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        /// Comma-separated WxH sizes.
        #[arg(long, default_value = "240x240,800x480")]
        sizes: String,
        /// The camera frame shown on the challenge screens.
        #[arg(long, default_value = screens::FRAME)]
        frame: PathBuf,
        /// Also show every screen on this framebuffer device (e.g. /dev/fb0), at its own size.
        #[arg(long, value_name = "DEVICE")]
        fbdev: Option<PathBuf>,
        /// Seconds each screen stays on the framebuffer or window.
        #[arg(long, default_value_t = 2.0)]
        dwell: f32,
        /// The language of the words: en, de, fr or es (`[screen] language`).
        #[arg(long, default_value = "en")]
        language: livegate::screen::Language,
        /// Also show each screen in a window, at the first size.
        #[cfg(feature = "simulator")]
        #[arg(long)]
        window: bool,
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
        /// Time the whole frame on this recorded session (SPEC §6), e.g.
        /// tests/sessions/live_astronaut; default: the bench frames looped.
        #[arg(long, value_name = "DIR")]
        session: Option<PathBuf>,
    },
}

fn parse_kernels(name: &str) -> Result<livegate::vision::Kernels, String> {
    livegate::vision::Kernels::from_name(name).map_err(|e| e.to_string())
}

/// `livegate evaluate`'s engine check: replays the reference sessions with the engine in use
/// and stops when a check value moved beyond the record's tolerance; with `record`, writes the
/// record for the engine in use instead. Returns the report's Markdown section.
fn engine_check(
    tracker: &FaceTracker,
    model_dir: &std::path::Path,
    reference: &std::path::Path,
    record: bool,
) -> anyhow::Result<String> {
    use livegate::cmd::engine_check::{self, EngineRecord, RECORD, Thresholds};
    let path = model_dir.join(RECORD);
    let (engine, measured) = engine_check::measure(tracker, reference)?;
    if record {
        let tolerance = EngineRecord::load(&path).map_or(engine_check::TOLERANCE, |r| r.tolerance);
        let thresholds = Thresholds::of(&livegate::liveness::session::LivenessConfig::default());
        let rec = EngineRecord { engine: engine.clone(), thresholds, tolerance, sessions: measured };
        std::fs::write(&path, serde_json::to_string_pretty(&rec)? + "\n")?;
        tracing::info!(path = %path.display(), %engine, "engine record written");
        return Ok(engine_check::render(&rec, &engine, &rec.compare(&rec.sessions)));
    }
    let rec = EngineRecord::load(&path)?;
    let drifts = rec.check(&engine, &measured)?;
    tracing::info!(
        "engine check: {engine} measures the reference sessions within the tolerance of {}",
        rec.engine
    );
    Ok(engine_check::render(&rec, &engine, &drifts))
}

/// `livegate keygen`: the key file from `--out` or the config (defaults when it is absent).
fn keygen(out: Option<PathBuf>, config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let path = match out {
        Some(p) => p,
        None if config.exists() => Config::load(config)?.signing.key_file,
        None => Config::default().signing.key_file,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = DeviceKey::generate()?;
    key.save(&path)?;
    tracing::info!("wrote {} (keep it secret; give controllers the public key below)", path.display());
    println!("{}", key.public_hex());
    Ok(ExitCode::SUCCESS)
}

/// The synthetic camera's performers, from a face photo and its mirror image.
fn synthetic_faces(
    photo: &std::path::Path,
    scripts: Vec<Script>,
    model_dir: &std::path::Path,
    vision: &VisionConfig,
) -> anyhow::Result<livegate::service::SyntheticFaces> {
    let (detector, mesh) = models::load(model_dir, Precision::Float, vision.detector_min_score)?;
    synth::synthetic_faces(photo, scripts, &detector, &mesh, vision.hfov_deg)
}

/// `record`'s synthetic camera: a performer made from a face photo and its mirror image.
fn synthetic_source(
    photo: &std::path::Path,
    script: Script,
    seed: u64,
    model_dir: &std::path::Path,
    vision: &VisionConfig,
) -> anyhow::Result<record::RecordSource> {
    let (detector, mesh) = models::load(model_dir, Precision::Float, vision.detector_min_score)?;
    let photo = inspect::read_rgb(photo)?;
    let other = image::imageops::flip_horizontal(&photo);
    Ok(record::RecordSource::Synthetic {
        face: Box::new(synth::face_model(&photo, &detector, &mesh)?),
        other: Box::new(synth::face_model(&other, &detector, &mesh)?),
        script,
        seed,
    })
}

/// The demo's default performer: the shipped portrait in a checkout, else the installed copy.
fn demo_face(model_dir: &std::path::Path) -> PathBuf {
    let candidates = [
        PathBuf::from("tests/data/astronaut.png"),
        model_dir.join("../tests/data/astronaut.png"),
        PathBuf::from("/usr/share/livegate/astronaut.png"),
    ];
    candidates.iter().find(|p| p.exists()).unwrap_or(&candidates[0]).clone()
}

/// A panic on any thread (camera, screen, inference) ends the process with an error, so
/// systemd restarts the service instead of leaving it half-alive.
fn exit_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        tracing::error!("a thread panicked; exiting so the service manager restarts livegate");
        std::process::exit(101);
    }));
}

/// The log's filter, set by `main` first thing; `run` applies the config's `[log] level`.
static LOGGING: std::sync::OnceLock<livegate::logging::Logging> = std::sync::OnceLock::new();

fn main() -> ExitCode {
    let cli = Cli::parse();
    LOGGING.get_or_init(livegate::logging::init);
    if let Some(k) = cli.kernels {
        livegate::vision::force_kernels(k).expect("forced once, before any network loads");
    }
    if cli.version {
        return print_version(cli.models.as_deref());
    }
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        Cli::command().error(clap::error::ErrorKind::MissingSubcommand, "a subcommand is required").exit();
    };
    if matches!(command, Command::Run { .. } | Command::Demo { .. }) {
        exit_on_panic();
    }
    match run(command, cli.models.as_deref()) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// The version, and the engine's fingerprint as the service would load it (tract, the
/// operators and kernels this CPU gets, the model files' sha256). Exits 1, after the version
/// line, when the models cannot be loaded.
fn print_version(models_dir: Option<&std::path::Path>) -> ExitCode {
    println!("livegate {}", env!("CARGO_PKG_VERSION"));
    let loaded = (|| {
        let dir = models::locate(models_dir)?;
        let (detector, mesh) =
            models::load(&dir, Precision::Int8, VisionConfig::default().detector_min_score)?;
        anyhow::Ok((dir, livegate::vision::fingerprint(&detector, &mesh)))
    })();
    match loaded {
        Ok((dir, engine)) => {
            println!("engine {engine}");
            println!("models {}", dir.canonicalize().unwrap_or(dir).display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("engine: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(command: Command, models_dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    if let Command::Screens { out, sizes, frame, fbdev, dwell, language, .. } = &command {
        let sizes = screens::parse_sizes(sizes)?;
        let frame = screens::load_frame(frame)?;
        let written = screens::write_all(out, &sizes, std::sync::Arc::clone(&frame), *language)?;
        tracing::info!("wrote {} screens to {}", written.len(), out.display());
        let dwell = std::time::Duration::from_secs_f32(dwell.clamp(0.0, 600.0));
        if let Some(dev) = fbdev {
            let g = screens::show_on_framebuffer(dev, std::sync::Arc::clone(&frame), *language, dwell)?;
            tracing::info!("showed every screen on {}: {g:?}", dev.display());
        }
        #[cfg(feature = "simulator")]
        if let Command::Screens { window: true, .. } = &command {
            screens::show_in_window(sizes[0], frame, *language, dwell)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let command = match command {
        Command::Keygen { out, config } => return keygen(out, &config),
        Command::Config { table: true, .. } => {
            print!("{}", livegate::config::key_table());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Config { check: Some(path), .. } => {
            Config::load(&path)?;
            println!("{}: ok", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Config { check: None, .. } => {
            print!("{}", livegate::config::DEFAULT_TOML);
            return Ok(ExitCode::SUCCESS);
        }
        other => other,
    };
    let model_dir = models::locate(models_dir)?;
    match command {
        Command::Keygen { .. } | Command::Config { .. } => unreachable!("handled above"),
        Command::Run { config } => {
            let cfg = Config::load(&config)?;
            if let Some(log) = LOGGING.get() {
                log.apply_config(&cfg.log.level);
            }
            let vision = VisionConfig::default();
            let (detector, mesh) = models::load(&model_dir, Precision::Int8, vision.detector_min_score)?;
            let synthetic = match cfg.camera.source {
                CameraSource::Synthetic => {
                    Some(synthetic_faces(&cfg.camera.face, cfg.camera.scripts.clone(), &model_dir, &vision)?)
                }
                _ => None,
            };
            livegate::service::run(cfg, FaceTracker::new(detector, mesh, vision), synthetic)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out, port, challenges, face, window } => {
            let face = face.unwrap_or_else(|| demo_face(&model_dir));
            let port = port.unwrap_or_else(demo::default_port);
            let opts = demo::DemoOptions { out, port, challenges, face, window };
            let vision = VisionConfig::default();
            let (detector, mesh) = models::load(&model_dir, Precision::Int8, vision.detector_min_score)?;
            let faces = synthetic_faces(&opts.face, demo::SCRIPTS.to_vec(), &model_dir, &vision)?;
            let summary = demo::demo(&opts, FaceTracker::new(detector, mesh, vision), faces)?;
            if summary.attacks_passed > 0 {
                tracing::error!(attacks_passed = summary.attacks_passed, "flat-photo attack(s) passed");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
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
                tracing::warn!("{r}");
            }
            let unusable = reports.iter().any(|r| r.error.is_some());
            Ok(if unusable { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Verify { dir, config, trace, overlay, peak_rss } => {
            let settings = Settings::load(config.as_deref())?;
            let cfg = settings.vision;
            let (detector, mesh) = models::load(&model_dir, Precision::Int8, cfg.detector_min_score)?;
            let tracker = FaceTracker::new(detector, mesh, cfg);
            let outputs = verify::Outputs { trace, overlay };
            let result = verify::verify(&dir, tracker, settings.liveness, &outputs);
            if peak_rss {
                // Its own VmHWM: a parent's RUSAGE_CHILDREN would count the forking parent too.
                // Not a log event: a line of output, on stderr so stdout stays the verdict
                // (tools/bench_peers.py reads it).
                use std::io::Write as _;
                let line = match livegate::cmd::procstat::peak_rss_mib() {
                    Some(mib) => format!("peak_rss_mib {mib:.2}"),
                    None => "peak_rss_mib unavailable".to_owned(),
                };
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            match result {
                Ok(verdict) => {
                    println!("{}", serde_json::to_string_pretty(&verdict)?);
                    Ok(if verdict.result == VerdictResult::Pass {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Err(e @ verify::VerifyError::Unusable(_)) => {
                    tracing::error!("{e}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Record { out, config, replay, face, script, seed } => {
            let settings = Settings::load(config.as_deref())?;
            let vision = settings.vision.clone();
            let camera = &settings.config.camera;
            let source = match (replay, face, camera.source) {
                (Some(dir), _, _) => record::RecordSource::Replay(dir),
                (None, Some(face), _) => synthetic_source(&face, script, seed, &model_dir, &vision)?,
                (None, None, CameraSource::V4l2) => {
                    let mut opts = camera.v4l2.clone();
                    opts.device = Some(camera.device.clone());
                    record::RecordSource::V4l2(opts)
                }
                (None, None, CameraSource::Replay) => record::RecordSource::Replay(camera.path.clone()),
                (None, None, CameraSource::Synthetic) => {
                    synthetic_source(&camera.face, camera.scripts[0], seed, &model_dir, &vision)?
                }
            };
            let (detector, mesh) = models::load(&model_dir, Precision::Int8, vision.detector_min_score)?;
            let tracker = FaceTracker::new(detector, mesh, vision.clone());
            let verdict = record::record(&out, source, tracker, settings.liveness, &vision)?;
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            tracing::info!("recorded {} frames to {}", verdict.frames, out.display());
            Ok(if verdict.result == VerdictResult::Pass { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Synth { script, face, other, seed, door, out } => {
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
            let conditions = if door {
                let c = evaluate::door(seed);
                tracing::info!("door: hfov_deg = {}, {:?}", c.hfov_deg, c.labels());
                c
            } else {
                Conditions { hfov_deg: cfg.hfov_deg, ..Conditions::baseline() }
            };
            let mut camera =
                SyntheticCamera::new(model, other_model, script, &geometry, &conditions, rng.next_u64());
            let n = synth::write_session(&out, &mut camera, &geometry, script)?;
            tracing::info!("wrote {n} frames to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { sessions: Some(dir), config, out, .. } => {
            let settings = Settings::load(config.as_deref())?;
            let vision = settings.vision;
            let (detector, mesh) = models::load(&model_dir, Precision::Int8, vision.detector_min_score)?;
            let tracker = FaceTracker::new(detector, mesh, vision);
            let report = evaluate_sessions::run(&dir, &tracker, &settings.liveness)?;
            for k in &report.skipped {
                tracing::warn!("skipped {}: {}", k.name, k.reason);
            }
            let command = format!("livegate {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
            let md = evaluate_sessions::render(&report, &settings.liveness, &command);
            match out {
                Some(path) => std::fs::write(&path, &md)?,
                None => print!("{md}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate {
            calibrate,
            report,
            live,
            per_attack,
            per_misbehaviour,
            out,
            cases,
            reference,
            record_engine,
            ..
        } => {
            let vision = VisionConfig::default();
            let (detector, mesh_f) = models::load(&model_dir, Precision::Float, vision.detector_min_score)?;
            let (detector_i8, mesh_i8) =
                models::load(&model_dir, Precision::Int8, vision.detector_min_score)?;
            let load = |paths: &[PathBuf]| -> anyhow::Result<Vec<evaluate::SourceFace>> {
                paths
                    .iter()
                    .map(|p| {
                        let photo = inspect::read_rgb(p)?;
                        Ok(evaluate::SourceFace {
                            name: p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                            model: synth::face_model(&photo, &detector, &mesh_f)?,
                        })
                    })
                    .collect()
            };
            let (cal_faces, rep_faces) = (load(&calibrate)?, load(&report)?);
            let tracker = FaceTracker::new(detector_i8, mesh_i8, vision.clone());
            let engine_md = engine_check(&tracker, &model_dir, &reference, record_engine)?;
            let counts = evaluate::Counts { live, per_attack, per_misbehaviour };
            let k = (cal_faces.len() as u32).div_ceil(rep_faces.len() as u32);
            let rep_counts = evaluate::Counts {
                live: live * k,
                per_attack: per_attack * k,
                per_misbehaviour: per_misbehaviour * k,
            };
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            tracing::info!("calibration set…");
            let measured =
                evaluate::run_set(&tracker, &cal_faces, &rep_faces, counts, 1_000_000, &vision, workers)?;
            let cal = evaluate::calibrate(&measured)?;
            tracing::info!(
                "report set with min_parallax {:.4}, min_layout_change {:.4}…",
                cal.thresholds.min_parallax,
                cal.thresholds.min_layout_change
            );
            let reported =
                evaluate::run_set(&tracker, &rep_faces, &cal_faces, rep_counts, 2_000_000, &vision, workers)?;
            if let Some(path) = cases {
                evaluate::write_cases(&path, &[("calibration", &measured), ("report", &reported)])?;
            }
            let names = |f: &[evaluate::SourceFace]| f.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
            let command = format!(
                "cargo run --release -- evaluate --live {live} --per-attack {per_attack} --per-misbehaviour {per_misbehaviour} --out docs/evaluation.md"
            );
            let md = evaluate::render(
                &cal,
                &names(&cal_faces),
                &names(&rep_faces),
                &measured,
                &reported,
                &command,
            ) + "\n"
                + &engine_md;
            match out {
                Some(path) => std::fs::write(&path, &md)?,
                None => print!("{md}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { images, json, runs, warmup, peer, python, session } => {
            let opts = bench::BenchOptions {
                models: model_dir,
                images,
                runs,
                warmup,
                peer_script: peer,
                python,
                session,
            };
            let report = bench::bench(&opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", bench::render(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Screens { .. } => unreachable!("handled before the models are located"),
    }
}
