//! Issue 17 item 3: the reference door controllers, `livegate door` and
//! `tools/door_controller.py`, against mosquitto. A terminal played by the test answers each
//! start request with a live verdict, a replayed one, an expired one, a forged one, one from a
//! synthetic camera, a retained one and one after a seq reset: only the live ones open, each
//! other is rejected with its reason. Then the real terminal (replay camera): its verdicts
//! verify, and are refused for their source.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use livegate::liveness::session::Checks;
use livegate::verdict::signing::DeviceKey;
use livegate::verdict::{Source, Verdict, VerdictResult, rfc3339_ms};
use serde_json::Value;

use crate::harness::{Livegate, MQTT, Mosquitto, Sub, config, keygen, publish, python, require, scratch};
use crate::{T, json};

#[derive(Clone, Copy, Debug)]
enum Controller {
    Rust,
    Python,
}

/// Starts one door attempt of `ctl` against the terminal `t1` on the broker at `port`.
fn spawn(ctl: Controller, port: u16, public: &str, state: &Path, timeout_s: u32, extra: &[&str]) -> Child {
    let mut cmd = match ctl {
        Controller::Rust => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_livegate"));
            c.arg("door");
            c
        }
        Controller::Python => {
            let mut c = Command::new(python());
            c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/door_controller.py"));
            c
        }
    };
    cmd.args(["--broker", &format!("mqtt://127.0.0.1:{port}"), "--device", "t1", "--public-key", public])
        .arg("--state")
        .arg(state)
        .args(["--timeout", &timeout_s.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The attempt's exit code and its one JSON line.
fn outcome(ctl: Controller, child: Child) -> (i32, Value) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!("{ctl:?} controller printed nothing; stderr: {}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), json(line))
}

/// A verdict of `t1` answering `nonce`, decided just now, fresh for 10 s, signed by `key`.
fn verdict(key: &DeviceKey, nonce: &str, seq: u64, edit: impl FnOnce(&mut Verdict)) -> String {
    let now = SystemTime::now();
    let mut v = Verdict {
        device_id: "t1".into(),
        source: Source::V4l2,
        challenge_id: "c".repeat(32),
        request_id: None,
        nonce: Some(nonce.into()),
        result: VerdictResult::Pass,
        reason: None,
        checks: Checks { single_face: true, nose_hit: true, yaw_deg: Some(14.25), ..Checks::default() },
        started_at: rfc3339_ms(now - Duration::from_secs(4)),
        decided_at: rfc3339_ms(now),
        frames: 60,
        engine: "test".into(),
        seq,
        expires_at: rfc3339_ms(now + Duration::from_secs(10)),
        sig: None,
    };
    edit(&mut v);
    key.sign(&mut v).unwrap();
    serde_json::to_string(&v).unwrap()
}

/// The terminal played by the test: it sees each start request and answers as told.
struct Terminal {
    port: u16,
    starts: Sub,
}

impl Terminal {
    /// Waits for the controller's start request; returns its nonce.
    fn start_request(&self) -> String {
        let req = json(&self.starts.wait_for("challenge/start", |_| true, T));
        assert!(req["request_id"].as_str().is_some_and(|r| r.starts_with("door-")), "{req}");
        let nonce = req["nonce"].as_str().unwrap().to_owned();
        assert!(
            nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()),
            "a 128-bit nonce: {nonce}"
        );
        nonce
    }

    fn send(&self, payload: &str, extra: &[&str]) {
        publish(self.port, "livegate/t1/verdict", payload, extra);
    }
}

/// One attempt: the terminal answers the start request with `answer(nonce)` (or not at all).
fn attempt(
    ctl: Controller,
    term: &Terminal,
    (public, state): (&str, &Path),
    timeout_s: u32,
    extra: &[&str],
    answer: impl FnOnce(&str) -> Option<String>,
) -> (i32, Value) {
    let child = spawn(ctl, term.port, public, state, timeout_s, extra);
    let nonce = term.start_request();
    if let Some(payload) = answer(&nonce) {
        term.send(&payload, &[]);
    }
    let (code, out) = outcome(ctl, child);
    assert_eq!(out["nonce"], nonce.as_str(), "{ctl:?}: {out}");
    (code, out)
}

fn reason(out: &Value) -> &str {
    out["reason"].as_str().unwrap_or("")
}

fn rejected(out: &Value) -> Vec<String> {
    out["rejected"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap().to_owned()).collect()
}

/// Every case, in one state file: seq state carries across the controller's restarts.
fn every_case_is_decided_with_its_reason(ctl: Controller) {
    let dir = scratch(&format!("door-{ctl:?}"));
    let broker = Mosquitto::start(&dir, "");
    let term = Terminal {
        port: broker.port,
        starts: Sub::start(broker.port, &["livegate/t1/challenge/start"], None, &[]),
    };
    let key = DeviceKey::generate().unwrap();
    let public = key.public_hex();
    let state = dir.join("door-state.json");
    let ctx = (public.as_str(), state.as_path());
    let opened = dir.join("opened");
    let on_open = format!("echo $LIVEGATE_SEQ > {}", opened.display());

    // Live: a fresh pass from the camera, answering our nonce, opens (and runs --on-open).
    let mut live = String::new();
    let (code, out) = attempt(ctl, &term, ctx, 20, &["--on-open", &on_open], |n| {
        live = verdict(&key, n, 5, |_| {});
        Some(live.clone())
    });
    assert_eq!(
        (code, out["decision"].as_str(), out["seq"].as_u64()),
        (0, Some("open"), Some(5)),
        "{ctl:?} live: {out}"
    );
    assert_eq!(std::fs::read_to_string(&opened).unwrap().trim(), "5", "--on-open ran with LIVEGATE_SEQ");
    let state_text = std::fs::read_to_string(&state).unwrap();
    assert_eq!(json(&state_text)["last_seq"][format!("t1/{public}")], 5, "{state_text}");

    // Replayed: the same verdict again. Not the answer to this challenge: set aside, no open.
    let (code, out) = attempt(ctl, &term, ctx, 3, &[], |_| Some(live.clone()));
    assert_eq!((code, out["decision"].as_str()), (1, Some("deny")), "{ctl:?} replayed: {out}");
    assert!(reason(&out).starts_with("timeout"), "{ctl:?} replayed: {out}");
    assert!(rejected(&out).iter().any(|r| r.starts_with("nonce mismatch")), "{ctl:?} replayed: {out}");

    // Expired: the authentic answer, a minute old.
    let (code, out) = attempt(ctl, &term, ctx, 20, &[], |n| {
        Some(verdict(&key, n, 6, |v| v.expires_at = rfc3339_ms(SystemTime::now() - Duration::from_secs(60))))
    });
    assert_eq!(code, 1, "{ctl:?} expired: {out}");
    assert!(reason(&out).starts_with("expired at"), "{ctl:?} expired: {out}");

    // Forged: our nonce, signed by another key. Set aside; the door waits for the real one.
    let (code, out) =
        attempt(ctl, &term, ctx, 3, &[], |n| Some(verdict(&DeviceKey::generate().unwrap(), n, 7, |_| {})));
    assert_eq!(code, 1, "{ctl:?} forged: {out}");
    assert!(reason(&out).starts_with("timeout"), "{ctl:?} forged: {out}");
    assert!(rejected(&out).iter().any(|r| r.starts_with("bad signature")), "{ctl:?} forged: {out}");

    // A synthetic camera's verdict: authentic, a pass, and never valid for a door.
    let (code, out) =
        attempt(ctl, &term, ctx, 20, &[], |n| Some(verdict(&key, n, 8, |v| v.source = Source::Synthetic)));
    assert_eq!(code, 1, "{ctl:?} synthetic: {out}");
    assert!(reason(&out).starts_with("source is synthetic"), "{ctl:?} synthetic: {out}");

    // Retained: a verdict the broker kept is delivered at subscription, flagged retained.
    term.send(&live, &["-r"]);
    let (code, out) = attempt(ctl, &term, ctx, 3, &[], |_| None);
    publish(term.port, "livegate/t1/verdict", "", &["-r"]); // clears it
    assert_eq!(code, 1, "{ctl:?} retained: {out}");
    assert!(rejected(&out).iter().any(|r| r.starts_with("retained message")), "{ctl:?} retained: {out}");

    // A seq reset: the terminal's counter starts over (its seq file lost and remade at 0).
    let (code, out) = attempt(ctl, &term, ctx, 20, &[], |n| Some(verdict(&key, n, 1, |_| {})));
    assert_eq!(code, 1, "{ctl:?} seq reset: {out}");
    assert!(reason(&out).starts_with("seq 1 is not above the last accepted 8"), "{ctl:?} seq reset: {out}");

    // A live visitor after all that still opens: nothing above wedged the controller.
    let (code, out) = attempt(ctl, &term, ctx, 20, &[], |n| Some(verdict(&key, n, 9, |_| {})));
    assert_eq!((code, out["seq"].as_u64()), (0, Some(9)), "{ctl:?} live again: {out}");
    assert!(rejected(&out).is_empty(), "{ctl:?}: {out}");
}

/// The real terminal on its replay camera: its verdict verifies (nothing set aside) and is
/// refused for its source; the testing-only `--allow-source replay` lets it open.
fn the_real_terminals_verdict_verifies_and_is_refused_for_its_source(ctl: Controller) {
    let dir: PathBuf = scratch(&format!("door-real-{ctl:?}"));
    let broker = Mosquitto::start(&dir, "");
    let public = keygen(&dir);
    let _svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    let state = dir.join("door-state.json");
    let online = Sub::start(broker.port, &["livegate/t1/availability"], None, &[]);
    online.wait_for("availability", |p| p == "online", T);
    let (code, out) = outcome(ctl, spawn(ctl, broker.port, &public, &state, 60, &[]));
    assert_eq!(code, 1, "{ctl:?}: {out}");
    assert!(reason(&out).starts_with("source is replay"), "{ctl:?}: {out}");
    assert!(rejected(&out).is_empty(), "the terminal's own signature verifies: {out}");
    let (code, out) =
        outcome(ctl, spawn(ctl, broker.port, &public, &state, 60, &["--allow-source", "replay"]));
    assert_eq!((code, out["decision"].as_str()), (0, Some("open")), "{ctl:?}: {out}");
    assert_eq!(out["seq"], 2, "{out}");
}

#[test]
fn the_rust_controller_opens_only_for_a_fresh_live_verdict() {
    require!(MQTT);
    every_case_is_decided_with_its_reason(Controller::Rust);
    the_real_terminals_verdict_verifies_and_is_refused_for_its_source(Controller::Rust);
}

#[test]
fn the_python_controller_opens_only_for_a_fresh_live_verdict() {
    require!(MQTT, &["python3-venv"]);
    every_case_is_decided_with_its_reason(Controller::Python);
    the_real_terminals_verdict_verifies_and_is_refused_for_its_source(Controller::Python);
}
