//! Requests a controller should not be able to misuse (issue 17): a retained request (D5) and
//! an MQTT 5 response topic inside the livegate tree (D10); and a challenge the service is
//! stopped in the middle of still ends in a verdict (D4).

use std::time::Duration;

use crate::harness::{
    Livegate, MQTT, Mosquitto, Sub, config, keygen, mosquitto_pub, publish, require, scratch,
};
use crate::{T, json};

#[test]
fn a_retained_start_is_answered_with_an_error_and_never_starts_a_challenge() {
    require!(MQTT);
    let dir = scratch("retained");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    // Published with retain on, the live copy reaches the device as a plain message (MQTT
    // clears the flag on live delivery): it is one request, answered and run once.
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"kept"}"#, &["-r"]);
    assert_eq!(json(&sub.wait_for("/response", |p| json(p)["request_id"] == "kept", T))["status"], "ok");
    sub.wait_for("/verdict", |p| json(p)["request_id"] == "kept", T);
    // The broker's stored copy, replayed at every (re)connect, is refused, never run again.
    for _ in 0..2 {
        svc.sigterm();
        svc.restart();
        sub.wait_for("/availability", |p| p == "online", T);
        let r = json(&sub.wait_for("/response", |p| json(p)["request_id"] == "kept", T));
        assert_eq!(r["status"], "error", "{r}");
        assert!(r["error"].as_str().unwrap().contains("retained"), "{r}");
    }
    assert!(sub.collect("/verdict", Duration::from_secs(6)).is_empty(), "a retained start ran a challenge");
    assert!(svc.log().contains("retained request ignored"), "{}", svc.log());
    // Clearing it (an empty retained message) reaches the device as an empty start: one more
    // challenge, run once.
    publish(broker.port, "livegate/t1/challenge/start", "", &["-r"]);
    sub.wait_for("/verdict", |p| json(p)["request_id"].is_null(), T);
    // A fresh request still works.
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"fresh"}"#, &[]);
    let r = json(&sub.wait_for("/response", |p| json(p)["request_id"] == "fresh", T));
    assert_eq!(r["status"], "ok", "{r}");
    let v = json(&sub.wait_for("/verdict", |p| json(p)["request_id"] == "fresh", T));
    assert_eq!(v["seq"], 3, "{v}");
}

#[test]
fn an_mqtt5_response_topic_inside_the_livegate_tree_is_not_published_to() {
    require!(MQTT);
    let dir = scratch("replytree");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    // Every verdict topic, on its own subscription: nothing it receives is read before the end.
    let verdicts = Sub::start(broker.port, &["livegate/+/verdict"], None, &[]);
    let svc = Livegate::start(
        &dir,
        &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), "protocol = \"5\""),
    );
    sub.wait_for("/availability", |p| p == "online", T);
    // Aimed at this device's verdict topic and at another device's.
    for (id, to) in [("own", "livegate/t1/verdict"), ("other", "livegate/t2/verdict")] {
        publish(
            broker.port,
            "livegate/t1/challenge/start",
            &format!(r#"{{"request_id":"{id}"}}"#),
            &["-V", "5", "-D", "publish", "response-topic", to],
        );
        let r = json(&sub.wait_for("/response", |p| json(p)["request_id"] == id, T));
        assert!(r["status"] == "ok" || r["status"] == "error", "{r}");
    }
    sub.wait_for("/verdict", |p| json(p)["request_id"] == "own", T);
    let verdict_topics: Vec<String> = verdicts
        .collect("/verdict", Duration::from_secs(2))
        .into_iter()
        .filter(|p| json(p).get("status").is_some())
        .collect();
    assert!(verdict_topics.is_empty(), "a response landed on a verdict topic: {verdict_topics:?}");
    assert!(svc.log().contains("response topic refused"), "{}", svc.log());
}

#[test]
fn sigterm_during_a_challenge_still_publishes_its_aborted_verdict() {
    require!(MQTT);
    let dir = scratch("sigterm-verdict");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"cut","nonce":"n-cut"}"#, &[]);
    let r = json(&sub.wait_for("/response", |p| json(p)["request_id"] == "cut", T));
    assert_eq!(r["status"], "ok", "{r}");
    // The challenge is running (its first progress event), then systemd stops the service.
    sub.wait_for("/event", |_| true, T);
    let status = svc.sigterm();
    assert!(status.success(), "{status:?}: {}", svc.log());
    let v = json(&sub.wait_for("/verdict", |_| true, Duration::from_secs(5)));
    assert_eq!((v["request_id"].as_str(), v["nonce"].as_str()), (Some("cut"), Some("n-cut")), "{v}");
    assert_eq!((v["result"].as_str(), v["reason"].as_str()), (Some("aborted"), Some("cancelled")), "{v}");
    assert_eq!(v["seq"], 1);
    let spooled = std::fs::read_dir(dir.join("spool")).unwrap().count();
    assert_eq!(spooled, 0, "acknowledged before the exit, so not sent again at the next start");
}

/// Issue 17 D11: challenges with nobody in front of the camera never lock the door; faces that
/// fail the liveness checks do, and the lock survives a restart.
#[test]
fn only_failed_faces_lock_the_terminal_and_the_lock_survives_a_restart() {
    require!(MQTT);
    let dir = scratch("lockout");
    keygen(&dir);
    // An empty hall: frames without a face, for longer than the face timeout.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let frames: Vec<serde_json::Value> = (0..12)
        .map(|i| {
            let name = format!("{i:04}.jpg");
            image::RgbImage::from_pixel(640, 480, image::Rgb([80, 90, 100])).save(empty.join(&name)).unwrap();
            serde_json::json!({"file": name, "t_ms": i * 66})
        })
        .collect();
    let session = serde_json::json!({"version": 1, "width": 640, "height": 480,
        "challenge": {"area": [185, 60, 270, 360], "target": [380, 200, 20, 20]}, "frames": frames});
    std::fs::write(empty.join("session.json"), session.to_string()).unwrap();
    let broker = Mosquitto::start(&dir, "");
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let base = config(&dir, &url, "").replace("[lockout]\n", "[lockout]\nmax_fails = 2\n")
        + "[liveness]\nface_timeout_ms = 300\n";
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let recorded = format!("{}/tests/sessions/live_astronaut", env!("CARGO_MANIFEST_DIR"));
    let on = |session: &str| base.replace(&recorded, session);
    let start = |id: &str| {
        publish(broker.port, "livegate/t1/challenge/start", &format!(r#"{{"request_id":"{id}"}}"#), &[]);
        json(&sub.wait_for("/response", |p| json(p)["request_id"] == id, T))
    };
    let verdict = |id: &str| json(&sub.wait_for("/verdict", |p| json(p)["request_id"] == id, T));

    let mut svc = Livegate::start(&dir, &on(&empty.to_string_lossy()));
    sub.wait_for("/availability", |p| p == "online", T);
    for i in 0..4 {
        let id = format!("empty{i}");
        assert_eq!(start(&id)["status"], "ok");
        assert_eq!(verdict(&id)["reason"], "face_timeout");
    }
    assert_eq!(start("still-free")["status"], "ok", "nobody there never locks the door");
    verdict("still-free");

    // A printed photo fails the liveness checks: two of them lock the terminal.
    svc.sigkill();
    let cfg = dir.join("livegate.toml");
    std::fs::write(&cfg, on(&format!("{}/tests/sessions/print_astronaut", env!("CARGO_MANIFEST_DIR"))))
        .unwrap();
    svc.restart();
    sub.wait_for("/availability", |p| p == "online", T);
    for id in ["photo1", "photo2"] {
        assert_eq!(start(id)["status"], "ok");
        let v = verdict(id);
        assert_eq!(v["result"], "fail", "{v}");
    }
    let r = start("locked");
    assert!(r["status"] == "error" && r["error"].as_str().unwrap().contains("locked"), "{r}");
    svc.sigterm();
    svc.restart();
    sub.wait_for("/availability", |p| p == "online", T);
    let r = start("after-restart");
    assert!(
        r["status"] == "error" && r["error"].as_str().unwrap().contains("locked"),
        "a restart cleared the lock: {r}"
    );
}

/// Issue 17 D2: a verdict decided while the broker is down and the spool cannot store it (here
/// the spool directory is replaced by a file) is kept in memory and delivered at the reconnect;
/// the log says why, with the OS error, and no new challenge starts meanwhile.
#[test]
fn a_verdict_the_spool_cannot_store_is_held_and_delivered_at_the_reconnect() {
    require!(MQTT);
    let dir = scratch("unspooled");
    keygen(&dir);
    let mut broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], Some("ctrl-unspooled"), &[]);
    let svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"held"}"#, &[]);
    assert_eq!(json(&sub.wait_for("/response", |p| json(p)["request_id"] == "held", T))["status"], "ok");
    broker.stop();
    drop(sub);
    std::fs::remove_dir_all(dir.join("spool")).unwrap();
    std::fs::write(dir.join("spool"), b"not a directory").unwrap();
    let deadline = std::time::Instant::now() + T;
    while !svc.log().contains("verdict NOT spooled") {
        assert!(std::time::Instant::now() < deadline, "no verdict decided: {}", svc.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(svc.log().contains("Not a directory"), "the OS error is logged: {}", svc.log());
    // Long enough for the service's once-a-second look at the held verdicts.
    std::thread::sleep(Duration::from_millis(2500));
    broker.restart();
    // The controller's persistent session gets what was published while it was away.
    let sub = Sub::start(broker.port, &["livegate/t1/#"], Some("ctrl-unspooled"), &[]);
    // The retained state says why the terminal is in error, until the broker has the verdict.
    let s = json(&sub.wait_for("/state", |p| json(p)["state"] == "error", T));
    assert!(s["verdicts"].as_str().unwrap().contains("1 verdict(s) held in memory"), "{s}");
    let v = json(&sub.wait_for("/verdict", |_| true, T));
    assert_eq!((v["request_id"].as_str(), v["seq"].as_u64()), (Some("held"), Some(1)), "{v}");
    let deadline = std::time::Instant::now() + T;
    while !svc.log().contains("unspooled verdict acknowledged") {
        assert!(std::time::Instant::now() < deadline, "never acknowledged: {}", svc.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = json(&sub.wait_for("/state", |p| json(p)["state"] == "idle", T));
    assert!(s.get("verdicts").is_none(), "{s}");
    // Still no spool: the next challenge runs, and its verdict is held and delivered too.
    publish(broker.port, "livegate/t1/challenge/start", r#"{"request_id":"next"}"#, &[]);
    assert_eq!(json(&sub.wait_for("/response", |p| json(p)["request_id"] == "next", T))["status"], "ok");
    let v = json(&sub.wait_for("/verdict", |p| json(p)["request_id"] == "next", T));
    assert_eq!(v["seq"], 2);
}

/// Issue 17 D15: two terminals configured with the same device id take the broker connection
/// from each other; the log says so (not only "connection closed"), and the reconnects back off.
#[test]
fn two_services_with_one_device_id_are_told_why_they_keep_losing_the_broker() {
    require!(MQTT);
    let (a_dir, b_dir) = (scratch("same-id-a"), scratch("same-id-b"));
    keygen(&a_dir);
    keygen(&b_dir);
    let broker = Mosquitto::start(&a_dir, "");
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let a = Livegate::start(&a_dir, &config(&a_dir, &url, ""));
    let b = Livegate::start(&b_dir, &config(&b_dir, &url, ""));
    let deadline = std::time::Instant::now() + T;
    let said = |l: &Livegate| l.log().contains("same client id");
    while !(said(&a) || said(&b)) {
        assert!(std::time::Instant::now() < deadline, "no hint in 30 s:\nA: {}\nB: {}", a.log(), b.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 17 D1: a request far over the 4 KiB limit (300 KiB, over rumqttc's old 256 KiB packet
/// limit) is answered with an error; the link stays up (no `offline` will, no reconnect).
#[test]
fn an_oversized_request_is_answered_and_does_not_drop_the_link() {
    require!(MQTT);
    let dir = scratch("oversized");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    sub.wait_for("/availability", |p| p == "online", T);
    let big = dir.join("big.json");
    std::fs::write(&big, format!(r#"{{"request_id":"big","nonce":"{}"}}"#, "x".repeat(300 * 1024))).unwrap();
    let sent =
        mosquitto_pub(broker.port, "livegate/t1/challenge/start").arg("-f").arg(&big).status().unwrap();
    assert!(sent.success());
    let r = json(&sub.wait_for("/response", |_| true, T));
    assert_eq!(r["status"], "error", "{r}");
    let after = sub.collect("/availability", Duration::from_secs(2));
    assert!(after.is_empty(), "the link dropped: availability went {after:?}");
    assert!(!svc.log().contains("broker connection failed"), "{}", svc.log());
}

/// Issue 17 D14: a burst of 1 000 requests in a moment gets 1 000 answers (one starts the
/// challenge; the rest are told the terminal is busy or too many requests came at once).
#[test]
fn a_burst_of_a_thousand_requests_gets_a_thousand_answers() {
    require!(MQTT);
    let dir = scratch("burst");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/response"], None, &[]);
    let watch = Sub::start(broker.port, &["livegate/t1/availability"], None, &[]);
    let _svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), ""));
    watch.wait_for("/availability", |p| p == "online", T);
    let lines: String = (0..1000).map(|i| format!("{{\"request_id\":\"b{i}\"}}\n")).collect();
    let burst = dir.join("burst.txt");
    std::fs::write(&burst, lines).unwrap();
    // mosquitto_pub -l: one message per line of stdin, as fast as the broker takes them.
    let sent = mosquitto_pub(broker.port, "livegate/t1/challenge/start")
        .arg("-l")
        .stdin(std::fs::File::open(&burst).unwrap())
        .status()
        .unwrap();
    assert!(sent.success());
    let mut answered = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + T;
    while answered.len() < 1000 && std::time::Instant::now() < deadline {
        for p in sub.collect("/response", Duration::from_millis(500)) {
            answered.insert(json(&p)["request_id"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(answered.len(), 1000, "answers to {} of 1000 requests", answered.len());
    assert!(watch.collect("/availability", Duration::from_millis(500)).is_empty(), "the link dropped");
}

/// Issue 17 D12: with a second person in view, no challenge on the service passes. Before the
/// face count ran on a timetable (`[vision] count_interval_ms`), 3 of 8 such challenges on the
/// synthetic camera passed with `single_face: true`.
#[test]
fn a_second_face_in_view_fails_every_challenge_on_the_service() {
    require!(MQTT);
    let dir = scratch("twofaces");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let replay = format!(
        "source = \"replay\"\npath = \"{}/tests/sessions/live_astronaut\"",
        env!("CARGO_MANIFEST_DIR")
    );
    let toml = config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), "")
        .replace(&replay, "source = \"synthetic\"\nscripts = [\"two_faces\"]")
        .replace("[lockout]\n", "[lockout]\nmax_fails = 1000\n");
    assert!(toml.contains("two_faces"), "{toml}");
    let _svc = Livegate::start(&dir, &toml);
    sub.wait_for("/availability", |p| p == "online", T);
    for i in 0..8 {
        let id = format!("two-{i}");
        publish(broker.port, "livegate/t1/challenge/start", &format!(r#"{{"request_id":"{id}"}}"#), &[]);
        let v = json(&sub.wait_for("/verdict", |p| json(p)["request_id"] == id.as_str(), T));
        assert_eq!((&v["result"], &v["reason"]), (&json("\"fail\""), &json("\"multiple_faces\"")), "{v}");
        assert_eq!(v["checks"]["single_face"], false, "{v}");
    }
}
