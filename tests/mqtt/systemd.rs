//! `livegate run` under systemd's notify protocol: READY once serving, WATCHDOG while it
//! lives, and on SIGTERM `offline` published, STOPPING sent and a clean exit.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use super::T;
use super::harness::{Mosquitto, Sub, config, keygen, scratch};
use crate::harness::{MQTT, require};

/// Collects notify messages until `want` has been seen (or the time is up).
fn wait_message(sock: &UnixDatagram, want: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + T;
    let mut buf = [0u8; 512];
    while !seen.iter().any(|m| m == want) {
        assert!(Instant::now() < deadline, "no {want} within {T:?}; got {seen:?}");
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

#[test]
fn under_systemd_it_reports_ready_feeds_the_watchdog_and_stops_cleanly_on_sigterm() {
    require!(MQTT);
    let dir = scratch("notify");
    keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/availability"], None, &[]);
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let cfg = dir.join("livegate.toml");
    std::fs::write(&cfg, config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), "")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_livegate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-c"])
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &sock_path)
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    wait_message(&sock, "READY=1", &mut seen);
    wait_message(&sock, "WATCHDOG=1", &mut seen);
    // Fed again and again, not once: a second WATCHDOG after the first was taken away.
    seen.retain(|m| m != "WATCHDOG=1");
    wait_message(&sock, "WATCHDOG=1", &mut seen);
    sub.wait_for("/availability", |p| p == "online", T);

    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    sub.wait_for("/availability", |p| p == "offline", T);
    wait_message(&sock, "STOPPING=1", &mut seen);
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running {T:?} after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}
