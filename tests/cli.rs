//! The release-facing command line: `livegate inspect` and `livegate bench` as a user runs them.

use std::path::Path;
use std::process::Command;

fn livegate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

#[test]
fn inspect_prints_one_json_object_per_image() {
    let out =
        livegate().args(["inspect", "tests/data/astronaut.png", "tests/data/coffee.png"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let images = v.as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0]["width"], 512);
    let face = &images[0]["faces"][0];
    for key in ["score", "box", "nose", "yaw", "pitch", "roll", "presence", "keypoints"] {
        assert!(!face[key].is_null(), "missing {key}");
    }
    assert!(face.get("landmarks").is_none());
    assert_eq!(images[1]["faces"].as_array().unwrap().len(), 0, "no face is not an error");
}

#[test]
fn inspect_landmarks_flag_adds_468_points() {
    let out = livegate().args(["inspect", "--landmarks", "tests/data/astronaut.png"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["faces"][0]["landmarks"].as_array().unwrap().len(), 468);
}

#[test]
fn inspect_names_an_unreadable_file_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("livegate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bogus = dir.join("not-an-image.jpg");
    std::fs::write(&bogus, b"this is text, not a JPEG").unwrap();
    let missing = dir.join("missing.png");
    let out = livegate()
        .arg("inspect")
        .args([Path::new("tests/data/astronaut.png"), &bogus, &missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-an-image.jpg") && stderr.contains("is not a readable image"), "{stderr}");
    assert!(stderr.contains("missing.png") && stderr.contains("cannot open"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["faces"].as_array().unwrap().len(), 1, "the good image is still reported");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_model_directory_is_a_clear_error() {
    let out = livegate()
        .args(["--models", "/nonexistent", "inspect", "tests/data/astronaut.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no model directory") && stderr.contains("/nonexistent"), "{stderr}");
}

#[test]
fn version_prints_the_engine_fingerprint_with_the_shipped_models_hashes() {
    let out = livegate().arg("--version").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let engine = text.lines().find_map(|l| l.strip_prefix("engine ")).expect("an engine line");
    let sums =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/SHA256SUMS")).unwrap();
    let sha = |file: &str| sums.lines().find(|l| l.ends_with(file)).unwrap()[..12].to_owned();
    let want_tail = format!(
        "/mesh:{}/det:{}",
        sha("face_landmark_int8.onnx"),
        sha("face_detection_short_range_fp32.onnx")
    );
    assert!(engine.starts_with("tract-0.23") && engine.ends_with(&want_tail), "{engine}");
    assert!(engine.contains("/livegate/"), "{engine}");
    let out = livegate().args(["--kernels", "portable", "--version"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("/livegate/portable/mesh:"));
}

/// A network livegate's operators cannot run stops the service before it connects anywhere,
/// with the file and the node named; nothing runs it another way.
#[test]
fn a_model_that_cannot_be_planned_is_a_start_up_error() {
    let dir = std::env::temp_dir().join(format!("livegate-badmodel-{}", std::process::id()));
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    std::fs::copy(
        shipped.join("face_detection_short_range_fp32.onnx"),
        models.join("face_detection_short_range_fp32.onnx"),
    )
    .unwrap();
    // The float mesh (PRelu, float convolutions) under the int8 mesh's name.
    std::fs::copy(shipped.join("face_landmark_fp32.onnx"), models.join("face_landmark_int8.onnx")).unwrap();
    let config = dir.join("livegate.toml");
    let defaults = livegate().arg("config").output().unwrap();
    std::fs::write(&config, &defaults.stdout).unwrap();
    let out =
        livegate().arg("--models").arg(&models).arg("run").arg("--config").arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("face_landmark_int8.onnx") && stderr.contains("PRelu"), "{stderr}");
    assert!(stderr.contains("cannot run this graph"), "{stderr}");
    let out = livegate().arg("--models").arg(&models).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "--version says the engine cannot load");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bench_runs_the_kernel_path_it_is_asked_for_and_refuses_an_unknown_one() {
    let out = livegate()
        .args(["bench", "--json", "--runs", "2", "--warmup", "0", "--kernels", "portable"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kernels"], "portable");
    assert!(v["engine"].as_str().unwrap().contains("/livegate/portable/"), "{}", v["engine"]);
    let out = livegate().args(["bench", "--kernels", "sse9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown kernel path"));
}

#[test]
fn bench_json_reports_every_stage() {
    let out = livegate().args(["bench", "--json", "--runs", "3", "--warmup", "1"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> =
        v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    for want in ["decode", "detect", "crop", "mesh_int8", "mesh_fp32", "track_step", "frame"] {
        assert!(names.contains(&want), "missing stage {want} in {names:?}");
    }
    assert!(v["stages"].as_array().unwrap().iter().all(|s| s["median_ms"].as_f64().unwrap() > 0.0));
}

#[test]
fn bench_times_the_whole_frame_of_a_recorded_session() {
    let out = livegate()
        .args([
            "bench",
            "--json",
            "--runs",
            "4",
            "--warmup",
            "1",
            "--session",
            "tests/sessions/live_astronaut",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["pipeline"];
    assert_eq!(p["frames_timed"], 4);
    let stages = p["stages"].as_array().unwrap();
    for want in ["decode", "keypoints", "checks", "screen", "crop", "mesh_int8"] {
        let s = stages.iter().find(|s| s["name"] == want).unwrap_or_else(|| panic!("no stage {want}"));
        assert!(s["median_ms"].as_f64().unwrap() > 0.0, "{want} took no time: {s}");
    }
    let summed: f64 =
        stages.iter().filter(|s| s["in_total"] == true).map(|s| s["median_ms"].as_f64().unwrap()).sum();
    assert!(p["total_ms"].as_f64().unwrap() > 0.0 && summed > 0.0);
    assert!(v["startup_ms"].as_f64().unwrap() > 0.0 && v["peak_rss_mib"].as_f64().unwrap() > 1.0);
}

#[test]
fn bench_refuses_a_session_directory_without_session_json() {
    let out = livegate().args(["bench", "--runs", "1", "--session", "tests/data"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("session.json"));
}

#[test]
fn config_prints_the_file_the_package_installs_and_check_names_the_bad_key_and_line() {
    let out = livegate().arg("config").output().unwrap();
    assert!(out.status.success());
    let installed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/livegate.toml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), installed);

    let dir = std::env::temp_dir().join(format!("livegate-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, &installed).unwrap();
    let ok = livegate().args(["config", "--check"]).arg(&good).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    let typo = dir.join("typo.toml");
    std::fs::write(&typo, installed.replace("relay_hold_ms = 3000", "relay_hold = 3000")).unwrap();
    let bad = livegate().args(["config", "--check"]).arg(&typo).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    let line = installed.lines().position(|l| l.starts_with("relay_hold_ms")).unwrap() + 1;
    assert_eq!(bad.status.code(), Some(1));
    assert!(err.contains("relay_hold") && err.contains(&format!("line {line}")), "{err}");

    let value = dir.join("value.toml");
    std::fs::write(&value, installed.replace("max_fps = 15.0", "max_fps = 0.0")).unwrap();
    let bad = livegate().args(["config", "--check"]).arg(&value).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    let line = installed.lines().position(|l| l.starts_with("max_fps")).unwrap() + 1;
    assert!(err.contains("screen.max_fps") && err.contains(&format!("line {line}")), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What an installer reads (src/logging.rs): every line has a level; in a terminal or a file a
/// timestamp; under journald (its `JOURNAL_STREAM` names stderr) a syslog priority prefix and
/// no timestamp; `RUST_LOG` sets the detail, and a bad value is said and ignored.
#[test]
fn log_lines_carry_levels_follow_rust_log_and_suit_the_journal() {
    use std::os::unix::fs::MetadataExt;
    let dir = std::env::temp_dir().join(format!("livegate-cli-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    let mut keygen = |rust_log: Option<&str>, journal: bool| -> String {
        n += 1;
        let err_path = dir.join(format!("stderr{n}"));
        let err = std::fs::File::create(&err_path).unwrap();
        let mut cmd = livegate();
        cmd.args(["keygen", "-o"])
            .arg(dir.join(format!("key{n}")))
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM");
        if let Some(v) = rust_log {
            cmd.env("RUST_LOG", v);
        }
        if journal {
            let m = err.metadata().unwrap();
            cmd.env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()));
        }
        let status = cmd.stderr(err).stdout(std::process::Stdio::null()).status().unwrap();
        let text = std::fs::read_to_string(&err_path).unwrap();
        assert!(status.success(), "{text}");
        text
    };
    let line = |text: &str| text.lines().find(|l| l.contains("keep it secret")).map(str::to_owned);

    let plain = line(&keygen(None, false)).expect("the info line");
    assert!(plain.starts_with("20") && plain.contains("INFO"), "timestamp and level: {plain}");
    let journal = line(&keygen(None, true)).expect("the info line");
    assert!(journal.starts_with("<6>") && journal.contains("INFO"), "priority prefix: {journal}");
    assert!(!journal[3..].starts_with("20"), "no timestamp: {journal}");

    assert_eq!(line(&keygen(Some("warn"), false)), None, "RUST_LOG=warn hides info");
    let bad = keygen(Some("loud"), false);
    assert!(bad.contains("RUST_LOG") && bad.contains("not a level") && line(&bad).is_some(), "{bad}");

    // `[log] level` is checked like every key.
    let cfg = dir.join("log.toml");
    std::fs::write(&cfg, "[log]\nlevel = \"loud\"\n").unwrap();
    let out = livegate().args(["config", "--check"]).arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("log.level") && err.contains("line 2"), "{err}");
    std::fs::write(&cfg, "[log]\nlevel = \"info,rumqttc=debug\"\n").unwrap();
    assert!(livegate().args(["config", "--check"]).arg(&cfg).status().unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 17 D7 and D9: a verdict key other users can read, or a missing `seq` file, stop
/// `livegate run` at start-up, naming the file and what to do; neither waits for the first
/// verdict (an unwritable `seq`, D3, is `verdict::seq`'s unit test).
#[test]
fn run_refuses_to_start_with_a_readable_key_or_a_missing_seq_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("livegate-cli-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("verdict.key");
    let out = livegate().args(["keygen", "-o", key.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = |seq: &Path| {
        let cfg = dir.join("livegate.toml");
        std::fs::write(
            &cfg,
            format!(
                "[camera]\nsource = \"synthetic\"\n[screen]\nkind = \"none\"\n\
                 [mqtt]\nurl = \"mqtt://127.0.0.1:9\"\nspool_dir = \"{d}/spool\"\n\
                 [signing]\nkey_file = \"{k}\"\nseq_file = \"{s}\"\n\
                 [lockout]\nstate_file = \"{d}/lockout.json\"\n",
                d = dir.display(),
                k = key.display(),
                s = seq.display()
            ),
        )
        .unwrap();
        let out = livegate().args(["run", "-c", cfg.to_str().unwrap()]).output().unwrap();
        assert!(!out.status.success(), "started anyway");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Issue 17 D7: keygen made `seq` beside the key; a counter that is not there (deleted,
    // or in a directory that is gone) is not restarted at 1 but refused with its remedy.
    assert_eq!(std::fs::read_to_string(dir.join("seq")).unwrap(), "0\n", "keygen starts the counter");
    let err = run(&dir.join("no-such-dir/seq"));
    assert!(
        err.contains("no-such-dir/seq") && err.contains("missing") && err.contains("livegate seq --set"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = run(&dir.join("seq"));
    assert!(err.contains("verdict.key") && err.contains("0644") && err.contains("chmod 600"), "{err}");
}

/// Issue 17 D7: `livegate seq` shows the verdict counter of the config's `[signing] seq_file`
/// and restores a lost one with `--set N`, never lowering it; `run` then goes on from N.
#[test]
fn seq_shows_and_restores_the_counter_but_never_lowers_it() {
    let dir = std::env::temp_dir().join(format!("livegate-cli-seq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("livegate.toml");
    std::fs::write(&cfg, format!("[signing]\nseq_file = \"{}/seq\"\n", dir.display())).unwrap();
    let seq = |args: &[&str]| livegate().arg("seq").args(args).arg("-c").arg(&cfg).output().unwrap();
    let out = seq(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no verdict counter") && err.contains("--set"), "{err}");
    assert!(seq(&["--set", "41"]).status.success());
    let out = seq(&[]);
    assert_eq!((out.status.success(), String::from_utf8_lossy(&out.stdout).trim()), (true, "41"));
    let out = seq(&["--set", "40"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("at 41") && err.contains("never goes backwards"), "{err}");
    assert_eq!(String::from_utf8_lossy(&seq(&[]).stdout).trim(), "41", "a refused --set changes nothing");
    let out = seq(&["--set", "9007199254740992"]);
    assert!(!out.status.success(), "above 2^53 - 1");
    std::fs::remove_dir_all(&dir).unwrap();
}
