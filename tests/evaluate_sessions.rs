//! `livegate evaluate --sessions DIR` as an installer runs it: recorded sessions sorted into
//! `live/` and `attack/<species>/`, replayed through the real networks.

mod common;

use std::path::{Path, PathBuf};

use common::livegate;

fn copy_session(from: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(from);
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A door's recordings: the saved live session, the saved print attack, and a broken one.
fn recordings(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("livegate-evalsessions-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_session("tests/sessions/live_astronaut", &root.join("live/a"));
    copy_session("tests/sessions/print_astronaut", &root.join("attack/print/a"));
    let broken = root.join("attack/phone/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("session.json"), b"{\"version\": 1,").unwrap();
    root
}

#[test]
fn both_classes_are_reported_with_a_snippet_and_a_broken_session_is_skipped() {
    let root = recordings("report");
    let out = root.join("report.md");
    let o = livegate(&["evaluate", "--sessions", root.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("attack/phone/broken") && stderr.contains("not a valid session"), "{stderr}");
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains("| live | 1 | 1 | BPCER 0.0 % |"), "{md}");
    assert!(md.contains("| attack/print | 1 | 0 | APCER 0.0 % | no_rotation 1 |"), "{md}");
    assert!(md.contains("`attack/phone/broken`: unusable session"), "{md}");
    assert!(!md.contains("| attack/phone |"), "a skipped session is not counted: {md}");
    let snippet = md.split("```toml\n").nth(1).and_then(|s| s.split("```").next()).unwrap();
    let parsed: toml::Table = snippet.parse().unwrap_or_else(|e| panic!("{e}\n{snippet}"));
    let liveness = parsed["liveness"].as_table().unwrap();
    // The saved live session's 3-D motion (~0.02) is well above the print's (~0.001): they
    // separate, and the proposal lies between them.
    let p = liveness["min_parallax"].as_float().unwrap();
    assert!(p > 0.002 && p < 0.015, "{snippet}");
    assert!(liveness["min_yaw_deg"].as_float().unwrap() >= 5.0);
    assert!(liveness["max_path_rms"].as_float().unwrap() <= 0.02);
}

#[test]
fn a_config_files_thresholds_judge_the_sessions() {
    let root = recordings("config");
    let cfg = root.join("door.toml");
    // A motion minimum above the live session's value refuses it as flat.
    std::fs::write(&cfg, "[liveness]\nmin_parallax = 0.05\n").unwrap();
    let o = livegate(&["evaluate", "--sessions", root.to_str().unwrap(), "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("| live | 1 | 0 | BPCER 100.0 % | flat_motion 1 |"), "{md}");
    assert!(md.contains("| parallax | 0.0500 |"), "{md}");
}

#[test]
fn a_folder_without_live_or_attack_is_an_error_naming_it() {
    let o = livegate(&["evaluate", "--sessions", "tests/data"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("tests/data") && stderr.contains("live/"), "{stderr}");
}
