//! `livegate demo` as a newcomer runs it: the whole service with no hardware prints signed
//! verdicts for live visitors and flat-photo attacks, leaves the screens as PNG files, and its
//! embedded broker serves Debian's `mosquitto_sub` meanwhile.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{Sub, free_port, scratch, wait_port};
use super::json;
use crate::harness::{MQTT, require};

#[test]
fn the_demo_passes_live_visitors_fails_photos_leaves_screens_and_serves_mosquitto_sub() {
    require!(MQTT);
    let dir = scratch("demo");
    let port = free_port();
    let out = dir.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_livegate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["demo", "--challenges", "4", "--port", &port.to_string(), "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_port(port, true);
    let sub = Sub::start(port, &["livegate/demo/#"], None, &[]);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the demo did not finish 4 challenges within 300 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "demo failed: {status}\n{stderr}");

    let verdicts: Vec<serde_json::Value> = stdout.lines().map(json).collect();
    assert_eq!(verdicts.len(), 4, "one verdict per challenge:\n{stdout}");
    let results: Vec<&str> = verdicts.iter().map(|v| v["result"].as_str().unwrap()).collect();
    // Challenges alternate live visitor, flat photo: no photo may pass.
    assert!(results[1] != "pass" && results[3] != "pass", "a photo passed: {results:?}");
    assert!(results.contains(&"pass"), "no live visitor passed: {results:?}\n{stderr}");
    assert!(results.contains(&"fail"), "{results:?}");
    for v in &verdicts {
        assert_eq!(v["source"], "synthetic", "demo verdicts are never valid for a door: {v}");
        assert!(v["sig"].as_str().is_some_and(|s| s.len() == 128), "{v}");
        let engine = v["engine"].as_str().unwrap_or_default();
        assert!(
            engine.starts_with("tract-") && engine.contains("/livegate/"),
            "the engine is signed in: {v}"
        );
    }

    // mosquitto_sub, connected to the embedded broker during the run, saw the verdicts.
    let seen = sub.collect("/verdict", Duration::from_millis(500));
    let last = verdicts.last().unwrap();
    assert!(seen.iter().any(|p| json(p)["seq"] == last["seq"]), "mosquitto_sub saw {seen:?}");

    for name in ["idle", "challenge", "pass", "fail"] {
        let png = out.join("screen").join(format!("{name}.png"));
        let img = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert_eq!((img.width(), img.height()), (800, 480), "{name}");
    }
}

#[test]
fn the_demo_refuses_a_busy_port_with_a_clear_message() {
    require!(MQTT);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = scratch("demo-busy");
    let out = Command::new(env!("CARGO_BIN_EXE_livegate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["demo", "--port", &port.to_string(), "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&port.to_string()) && err.contains("--port"), "{err}");
}
