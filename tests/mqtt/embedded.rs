//! The demo's set-up: the embedded broker (rumqttd on loopback) and the synthetic camera.
//! A flat print attack performed in front of the synthetic camera ends in a signed `fail`.

use std::time::Duration;

use crate::harness::{Livegate, Sub, config, free_port, keygen, publish, python_verifies, scratch};
use crate::harness::{MQTT, require};

#[test]
fn the_embedded_broker_carries_a_synthetic_print_attack_to_a_signed_fail() {
    require!(MQTT, &["python3-venv"]);
    let dir = scratch("embedded");
    let public = keygen(&dir);
    let port = free_port();
    let root = env!("CARGO_MANIFEST_DIR");
    let toml = config(&dir, "embedded", &format!("embedded_port = {port}")).replace(
        "source = \"replay\"",
        &format!("source = \"synthetic\"\nface = \"{root}/tests/data/astronaut.png\"\nscripts = [\"print\"]"),
    );
    // The config's `[log] level` applies: the MQTT module's debug events show, no one else's.
    let toml = format!("{toml}[log]\nlevel = \"info,livegate::mqtt=debug\"\n");
    let mut svc = Livegate::start(&dir, &toml);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(svc.log().contains("mqtt: connected") && svc.log().contains("subscribing")) {
        assert!(svc.is_running(), "service died:\n{}", svc.log());
        assert!(std::time::Instant::now() < deadline, "never connected:\n{}", svc.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = svc.log();
    let debug: Vec<&str> = log.lines().filter(|l| l.contains("DEBUG")).collect();
    assert!(
        debug.iter().any(|l| l.contains("subscribing") && l.contains("livegate/t1/challenge/start")),
        "{log}"
    );
    assert!(debug.iter().all(|l| l.contains("livegate::mqtt")), "{log}");
    let sub = Sub::start(port, &["livegate/t1/#"], None, &[]);
    publish(port, "livegate/t1/challenge/start", r#"{"request_id":"demo","nonce":"d1"}"#, &[]);
    let payload = sub.wait_for("/verdict", |_| true, Duration::from_secs(60));
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!((v["source"].as_str(), v["result"].as_str()), (Some("synthetic"), Some("fail")), "{v}");
    assert_eq!(v["nonce"], "d1");
    python_verifies(&payload, &public).unwrap();
}
