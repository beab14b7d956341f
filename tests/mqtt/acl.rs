//! The broker ACL template (`systemd/mosquitto-livegate.acl`, issue 17): with it, the terminal
//! works; another client cannot publish a verdict; the terminal cannot publish outside its tree.

use std::process::Command;
use std::time::Duration;

use crate::harness::{Livegate, MQTT, Mosquitto, Sub, config, keygen, publish, require, scratch};
use crate::{T, json};

const PASSWORD: &str = "acl-test-pw";

#[test]
fn with_the_acl_template_only_the_terminal_writes_its_verdicts_and_only_its_own() {
    require!(MQTT, &["mosquitto_passwd"]);
    let dir = scratch("acl");
    keygen(&dir);
    let passwd = dir.join("passwd");
    for (i, user) in ["t1", "door-controller", "intruder"].into_iter().enumerate() {
        let mut c = Command::new("mosquitto_passwd");
        if i == 0 {
            c.arg("-c");
        }
        assert!(c.args(["-b"]).arg(&passwd).args([user, PASSWORD]).status().unwrap().success());
    }
    let acl = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/mosquitto-livegate.acl");
    let broker = Mosquitto::start(
        &dir,
        &format!("allow_anonymous false\npassword_file {}\nacl_file {acl}\n", passwd.display()),
    );
    let login = |user: &'static str| ["-u", user, "-P", PASSWORD];
    let controller = Sub::start(broker.port, &["livegate/#"], None, &login("door-controller"));
    let extra = format!("username = \"t1\"\npassword_file = \"{}/mqtt-password\"", dir.display());
    std::fs::write(dir.join("mqtt-password"), PASSWORD).unwrap();
    let _svc = Livegate::start(&dir, &config(&dir, &format!("mqtt://127.0.0.1:{}", broker.port), &extra));
    controller.wait_for("/t1/availability", |p| p == "online", T);

    // The terminal works: a controller starts a challenge and reads its signed verdict.
    publish(
        broker.port,
        "livegate/t1/challenge/start",
        r#"{"request_id":"acl1"}"#,
        &login("door-controller"),
    );
    let v = json(&controller.wait_for("/t1/verdict", |p| json(p)["request_id"] == "acl1", T));
    assert_eq!(v["seq"], 1, "{v}");

    // Nobody else writes a verdict: not another client, not the controller, not another
    // terminal's user; and the terminal's user writes nothing outside its own tree.
    let forged = r#"{"result":"pass","forged":true}"#;
    publish(broker.port, "livegate/t1/verdict", forged, &login("intruder"));
    publish(broker.port, "livegate/t1/verdict", forged, &login("door-controller"));
    publish(broker.port, "livegate/t2/verdict", forged, &login("t1"));
    publish(
        broker.port,
        "livegate/t1/challenge/start",
        r#"{"request_id":"by-intruder"}"#,
        &login("intruder"),
    );
    // Everything the controller receives for a while (a challenge would end within it).
    let seen = controller.collect("", Duration::from_secs(4));
    assert!(seen.iter().all(|p| !p.contains("forged")), "a forged verdict got through: {seen:?}");
    assert!(seen.iter().all(|p| !p.contains("by-intruder")), "an intruder started a challenge: {seen:?}");
}
