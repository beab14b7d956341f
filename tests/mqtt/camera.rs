//! `livegate run` with `source = "v4l2"` and no camera: the service keeps running, says
//! `camera error` in its retained state, and a challenge fails as `camera_error` instead of
//! taking the terminal down; GPIO pins that cannot be opened (not a Pi) do not stop it either.
//! (Frames arriving once a device appears are proven against the real vivid driver in
//! `tests/v4l2_vivid.rs`, through the same camera thread.)

use super::harness::{Livegate, Mosquitto, Sub, keygen, publish, scratch};
use super::{T, json};
use crate::harness::{MQTT, require};

#[test]
fn a_missing_camera_is_reported_and_the_service_keeps_serving() {
    require!(MQTT);
    let dir = scratch("nocamera");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let toml = format!(
        "[device]\nid = \"t1\"\n[camera]\nsource = \"v4l2\"\ndevice = \"{d}/video-not-here\"\n\
         [camera.v4l2]\nreconnect_initial_ms = 100\nreconnect_max_ms = 400\n\
         [mqtt]\nurl = \"mqtt://127.0.0.1:{p}\"\nspool_dir = \"{d}/spool\"\nreconnect_min_ms = 200\n\
         reconnect_max_ms = 1000\nkeepalive_s = 5\n[signing]\nkey_file = \"{d}/verdict.key\"\n\
         seq_file = \"{d}/seq\"\n[lockout]\nstate_file = \"{d}/lockout.json\"\n[screen]\npath = \"{d}/screen\"\nwidth = 240\nheight = 240\n\
         [gpio]\nbutton_pin = 17\nrelay_pin = 22\n",
        d = dir.display(),
        p = broker.port
    );
    let mut svc = Livegate::start(&dir, &toml);
    sub.wait_for("/availability", |p| p == "online", T);
    let state =
        json(&sub.wait_for("/state", |p| json(p)["camera"].as_str().unwrap_or("").contains("error"), T));
    assert_eq!(state["state"], "error", "{state}");
    assert!(state["camera"].as_str().unwrap().contains("video-not-here"), "names the device: {state}");
    let screen = dir.join("screen/error.png");
    let t0 = std::time::Instant::now();
    while !screen.exists() {
        assert!(t0.elapsed() < T, "the screen never showed the camera fault");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"r-cam"}"#, &[]);
    let verdict = json(&sub.wait_for("/verdict", |_| true, T));
    assert_eq!(
        (&verdict["result"], &verdict["reason"]),
        (&json("\"error\""), &json("\"camera_error\"")),
        "{verdict}"
    );
    assert_eq!(verdict["request_id"], "r-cam");
    assert!(svc.is_running(), "a missing camera never stops the service: {}", svc.log());
    // Off a Pi the configured pins cannot be had: said once, and the terminal goes on.
    assert!(svc.log().contains("running without the button and relay"), "{}", svc.log());
    // Still serving: the next request is answered too.
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"r-cam-2"}"#, &[]);
    let r = json(&sub.wait_for("/response", |p| json(p)["request_id"] == "r-cam-2", T));
    assert_eq!(r["status"], "ok", "{r}");
}
