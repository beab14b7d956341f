//! The `livegate` command line: parse, call the subcommand, map errors to exit codes
//! (0 success, 1 failure, 2 unusable input).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use livegate::camera::synthetic::{Script, Wall};
use livegate::cmd::common::parse_kernels;
use livegate::cmd::{
    Exit, bench, config, demo, door, evaluate, evaluate_sessions, inspect, keygen, record, run, screens,
    synth, verify, version,
};
use livegate::logging::Logging;
use livegate::models::Precision;

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
        /// Where the key's verdict counter goes (default: `seq` beside --out when that is
        /// given, else `[signing] seq_file` of the config); it starts at 0, or goes on when
        /// the file exists.
        #[arg(long, value_name = "FILE")]
        seq: Option<PathBuf>,
        #[arg(short, long, value_name = "FILE", default_value = "/etc/livegate/livegate.toml")]
        config: PathBuf,
    },
    /// The reference door controller: start a challenge with a fresh nonce, check its verdict
    /// as docs/integrators.md says, then pulse a relay or run a command (exit 0 open, 1 deny).
    Door(door::DoorCommand),
    /// Print the verdict counter (the last used seq), or restore a lost one with --set.
    Seq {
        /// The last seq the door controllers accepted (the counter never goes lower).
        #[arg(long, value_name = "N")]
        set: Option<u64>,
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
        /// The wall behind the performer, instead of the door's (plain with --door unset).
        #[arg(long, value_enum)]
        wall: Option<Wall>,
        /// Write the frames as PNG, exactly as the synthetic camera delivered them (after its
        /// own codec), so that `verify` sees what `evaluate` saw (JPEG compresses them again).
        #[arg(long)]
        png: bool,
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
        /// Run the light challenge (issue 18) in every session and report it: the skin's
        /// response to the flashes per ambient light, live faces against phone screens.
        #[arg(long, conflicts_with = "sessions")]
        light: bool,
        /// With --sessions: the door's config file (`[liveness]` thresholds, `[vision]` lens).
        #[arg(short, long, value_name = "FILE", requires = "sessions")]
        config: Option<PathBuf>,
    },
    /// Render every screen (idle, challenge, results, lockout, errors) to PNG at each size.
    Screens(screens::ScreensCommand),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logging = livegate::logging::init();
    if let Some(k) = cli.kernels {
        livegate::vision::force_kernels(k).expect("forced once, before any network loads");
    }
    if cli.version {
        return exit_code(version::exec(cli.models.as_deref()));
    }
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        Cli::command().error(clap::error::ErrorKind::MissingSubcommand, "a subcommand is required").exit();
    };
    if matches!(command, Command::Run { .. } | Command::Demo { .. }) {
        exit_on_panic();
    }
    exit_code(dispatch(command, cli.models, &logging))
}

/// The exit code of how a subcommand ended: 0 success, 1 failure or an error (logged), 2
/// unusable input.
fn exit_code(result: anyhow::Result<Exit>) -> ExitCode {
    match result {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Failure) => ExitCode::from(1),
        Ok(Exit::Unusable) => ExitCode::from(2),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// The subcommand's arguments, handed to its `livegate::cmd` module (`models`: `--models`).
fn dispatch(command: Command, models: Option<PathBuf>, logging: &Logging) -> anyhow::Result<Exit> {
    match command {
        Command::Run { config } => run::exec(run::RunCommand { models, config }, logging),
        Command::Demo { out, port, challenges, face, window } => {
            demo::exec(demo::DemoCommand { models, out, port, challenges, face, window })
        }
        Command::Keygen { out, seq, config } => keygen::exec(keygen::KeygenCommand { out, seq, config }),
        Command::Door(c) => door::exec(c),
        Command::Seq { set, config } => keygen::exec_seq(keygen::SeqCommand { set, config }),
        Command::Config { check, table } => config::exec(config::ConfigCommand { check, table }),
        Command::Inspect { images, landmarks, precision } => {
            inspect::exec(inspect::InspectCommand { models, images, landmarks, precision })
        }
        Command::Verify { dir, config, trace, overlay, peak_rss } => {
            let outputs = verify::Outputs { trace, overlay };
            verify::exec(verify::VerifyCommand { models, dir, config, outputs, peak_rss })
        }
        Command::Record { out, config, replay, face, script, seed } => {
            record::exec(record::RecordCommand { models, out, config, replay, face, script, seed })
        }
        Command::Synth { script, face, other, seed, door, wall, png, out } => {
            synth::exec(synth::SynthCommand { models, script, face, other, seed, door, wall, png, out })
        }
        Command::Evaluate { sessions: Some(dir), config, out, .. } => {
            evaluate_sessions::exec(evaluate_sessions::SessionsCommand { models, dir, config, out })
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
            light,
            ..
        } => evaluate::exec(evaluate::EvaluateCommand {
            models,
            calibrate,
            report,
            counts: evaluate::Counts { live, per_attack, per_misbehaviour },
            out,
            cases,
            reference,
            record_engine,
            light,
        }),
        Command::Bench { images, json, runs, warmup, peer, python, session } => {
            bench::exec(bench::BenchCommand { models, images, json, runs, warmup, peer, python, session })
        }
        Command::Screens(c) => screens::exec(c),
    }
}
