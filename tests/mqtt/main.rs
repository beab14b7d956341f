//! The service against a real Debian `mosquitto` on loopback (SPEC §4–5, issue 6): a request
//! runs a challenge on the replay camera and ends in a verdict the integrators' Python check
//! accepts; broker outages, a SIGKILLed service and bad input lose nothing and stop nothing.

mod acl;
mod camera;
#[path = "../common/mod.rs"]
mod common;
mod demo;
mod door;
mod embedded;
mod harness;
mod requests;
mod systemd;
mod tls;
mod v5;

use std::time::Duration;

use harness::{Livegate, MQTT, Mosquitto, Sub, config, keygen, publish, python_verifies, require, scratch};
use serde_json::Value;

pub(crate) const T: Duration = Duration::from_secs(30);

pub(crate) fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn is_response(id: &'static str) -> impl Fn(&str) -> bool {
    move |p| json(p)["request_id"] == id
}

fn spooled(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("spool"))
        .map(|d| d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json")).count())
        .unwrap_or(0)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + T;
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_request_ends_in_a_verdict_the_python_check_accepts() {
    require!(MQTT, &["python3-venv"]);
    let dir = scratch("verdict");
    let public = keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"ctrl-77","nonce":"n-ü-1"}"#, &[]);
    let r = json(&sub.wait_for("/response", is_response("ctrl-77"), T));
    assert_eq!(r["status"], "ok", "{r}");
    // Progress events name the prompt by its code, with its English words.
    let e = json(&sub.wait_for("/event", |p| json(p)["state"] == "nose", T));
    assert_eq!(
        (e["prompt"].as_str(), e["message"].as_str()),
        (Some("move_nose"), Some("Turn your head: nose into the square")),
        "{e}"
    );
    let payload = sub.wait_for("/verdict", |_| true, T);
    let v = json(&payload);
    assert_eq!((v["result"].as_str(), v["source"].as_str()), (Some("pass"), Some("replay")), "{v}");
    assert_eq!((v["request_id"].as_str(), v["nonce"].as_str()), (Some("ctrl-77"), Some("n-ü-1")));
    assert_eq!(v["seq"], 1);
    let ok = python_verifies(&payload, &public).unwrap_or_else(|e| panic!("python check failed: {e}"));
    assert!(ok.contains("seq=1 result=pass"), "{ok}");
    let forged = payload.replace("\"seq\":1", "\"seq\":2");
    assert!(python_verifies(&forged, &public).is_err(), "a changed seq must not verify");
    wait_until("the spool to empty after PUBACK", || spooled(&dir) == 0);
    // The screen followed the challenge: its frames, then the result.
    for name in ["idle", "challenge", "pass"] {
        let png = dir.join("screen").join(format!("{name}.png"));
        wait_until("the screen's PNG", || png.exists());
        let img = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert_eq!((img.width(), img.height()), (240, 240));
    }
    drop(svc);
}

#[test]
fn a_broker_killed_during_a_challenge_gets_the_verdict_after_its_restart() {
    require!(MQTT);
    let dir = scratch("broker-restart");
    keygen(&dir);
    let mut broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], Some("ctrl-restart"), &[]);
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"r1"}"#, &[]);
    sub.wait_for("/response", is_response("r1"), T);
    broker.stop();
    drop(sub);
    wait_until("the verdict to be spooled while the broker is down", || spooled(&dir) == 1);
    std::thread::sleep(Duration::from_secs(1));
    broker.restart();
    let sub = Sub::start(broker.port, &["livegate/t1/#"], Some("ctrl-restart"), &[]);
    let v = json(&sub.wait_for("/verdict", |_| true, T));
    assert_eq!((v["request_id"].as_str(), v["seq"].as_u64()), (Some("r1"), Some(1)));
    wait_until("the spool to empty", || spooled(&dir) == 0);
    assert!(svc.is_running());
}

#[test]
fn a_verdict_spooled_before_a_sigkill_arrives_once_after_the_restart() {
    require!(MQTT, &["python3-venv"]);
    let dir = scratch("sigkill");
    let public = keygen(&dir);
    let mut broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], Some("ctrl-sigkill"), &[]);
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"r1","nonce":"k1"}"#, &[]);
    sub.wait_for("/response", is_response("r1"), T);
    broker.stop();
    drop(sub);
    wait_until("the verdict to be spooled", || spooled(&dir) == 1);
    svc.sigkill();
    broker.restart();
    let sub = Sub::start(broker.port, &["livegate/t1/#"], Some("ctrl-sigkill"), &[]);
    svc.restart();
    let verdicts = {
        let first = sub.wait_for("/verdict", |_| true, T);
        let mut all = vec![first];
        all.extend(sub.collect("/verdict", Duration::from_secs(3)));
        all
    };
    let seqs: Vec<u64> = verdicts.iter().map(|p| json(p)["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1], "exactly once: {verdicts:?}");
    python_verifies(&verdicts[0], &public).unwrap();
    wait_until("the spool to empty", || spooled(&dir) == 0);
    // The next verdict continues the sequence across the crash.
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"r2"}"#, &[]);
    let v = json(&sub.wait_for("/verdict", |p| json(p)["request_id"] == "r2", T));
    assert_eq!(v["seq"], 2);
}

#[test]
fn the_last_will_says_offline_and_a_restart_says_online_again() {
    require!(MQTT);
    let dir = scratch("lwt");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    let sub = Sub::start(broker.port, &["livegate/t1/availability"], None, &[]);
    sub.wait_for("/availability", |p| p == "online", T);
    svc.sigkill();
    sub.wait_for("/availability", |p| p == "offline", T);
    svc.restart();
    sub.wait_for("/availability", |p| p == "online", T);
    drop(sub);
    // Retained: a subscriber arriving later still sees it.
    let late = Sub::start(broker.port, &["livegate/t1/availability", "livegate/t1/state"], None, &[]);
    late.wait_for("/availability", |p| p == "online", T);
    let state = json(&late.wait_for("/state", |_| true, T));
    assert_eq!(state["state"], "idle");
    assert!(state["engine"].as_str().is_some_and(|e| e.contains("/mesh:") && e.contains("/det:")), "{state}");
    assert_eq!(
        state["model"], "face_detection_short_range_fp32+face_landmark_int8",
        "the loaded networks: {state}"
    );
}

#[test]
fn bad_requests_and_a_start_while_busy_get_errors_and_the_service_keeps_serving() {
    require!(MQTT);
    let dir = scratch("bad");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    let start = "livegate/t1/challenge/start";
    let error_of = |pred: &dyn Fn(&Value) -> bool| {
        let r = json(&sub.wait_for("/response", |p| pred(&json(p)), T));
        assert_eq!(r["status"], "error", "{r}");
        r["error"].as_str().unwrap().to_owned()
    };
    publish(broker.port, start, "{not json", &[]);
    assert!(error_of(&|r| r["request_id"].is_null()).contains("not valid JSON"));
    publish(broker.port, start, &format!(r#"{{"request_id":"big","nonce":"{}"}}"#, "x".repeat(5000)), &[]);
    assert!(error_of(&|r| r["request_id"].is_null()).contains("exceeds 4096"));
    publish(broker.port, start, r#"{"request_id":"unk","open":true}"#, &[]);
    assert!(error_of(&|r| r["request_id"] == "unk").contains("unknown field"));
    publish(broker.port, "livegate/t1/challenge/cancel", r#"{"request_id":"c0"}"#, &[]);
    assert!(error_of(&|r| r["request_id"] == "c0").contains("no challenge"));
    publish(broker.port, start, r#"{"request_id":"a"}"#, &[]);
    publish(broker.port, start, r#"{"request_id":"b"}"#, &[]);
    assert!(error_of(&|r| r["request_id"] == "b").contains("busy"));
    let v = json(&sub.wait_for("/verdict", |_| true, T));
    assert_eq!(v["request_id"], "a");
    // Still serving: a new request after all that runs to a verdict.
    publish(broker.port, start, r#"{"request_id":"after"}"#, &[]);
    let v = json(&sub.wait_for("/verdict", |p| json(p)["request_id"] == "after", T));
    assert_eq!(v["seq"], 2);
    assert!(svc.is_running());
}

#[test]
fn a_cancel_ends_the_challenge_with_an_aborted_verdict() {
    require!(MQTT);
    let dir = scratch("cancel");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let _svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"s"}"#, &[]);
    sub.wait_for("/response", is_response("s"), T);
    publish(broker.port, "livegate/t1/challenge/cancel", r#"{"request_id":"c"}"#, &[]);
    assert_eq!(json(&sub.wait_for("/response", is_response("c"), T))["status"], "ok");
    let v = json(&sub.wait_for("/verdict", |_| true, T));
    assert_eq!((v["result"].as_str(), v["reason"].as_str()), (Some("aborted"), Some("cancelled")), "{v}");
}

#[test]
fn home_assistant_coming_online_gets_discovery_again() {
    require!(MQTT);
    let dir = scratch("discovery");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let _svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    let sub = Sub::start(broker.port, &["homeassistant/+/+/+/config"], None, &[]);
    // Retained from the connect: all three entities.
    let first: Vec<String> = sub.collect("/config", Duration::from_secs(4));
    assert!(first.len() >= 3, "{first:?}");
    publish(broker.port, "homeassistant/status", "online", &[]);
    let again = sub.collect("/config", Duration::from_secs(3));
    assert_eq!(again.len(), 3, "{again:?}");
    assert!(again.iter().any(|p| json(p)["command_topic"] == "livegate/t1/challenge/start"));
}
