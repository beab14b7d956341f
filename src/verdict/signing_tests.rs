use super::*;
use crate::liveness::session::Checks;
use crate::verdict::{Source, VerdictResult, round4};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("livegate-signing-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn verdict() -> Verdict {
    Verdict {
        device_id: "door-3".into(),
        source: Source::V4l2,
        challenge_id: "0b4f".repeat(8),
        request_id: Some("ctrl-77".into()),
        nonce: Some("ünï \"q\" \u{1}".into()),
        result: VerdictResult::Pass,
        reason: None,
        checks: Checks {
            single_face: true,
            nose_hit: true,
            yaw_deg: Some(round4(14.2)),
            layout_change: Some(round4(0.21)),
            parallax: Some(round4(0.000_083)),
            path_rms: Some(round4(0.006_123_4)),
            ..Checks::default()
        },
        started_at: "2026-11-23T18:40:01.120Z".into(),
        decided_at: "2026-11-23T18:40:05.870Z".into(),
        frames: 57,
        engine: "tract-0.23.9/livegate/portable/mesh:24813aa929c0/det:9622e4c58b2d".into(),
        seq: 1042,
        expires_at: "2026-11-23T18:40:15.870Z".into(),
        sig: None,
    }
}

#[test]
fn canonical_json_sorts_keys_and_drops_whitespace_and_sig() {
    let mut v = verdict();
    v.sig = Some("ff".into());
    let s = String::from_utf8(signed_bytes(&v).unwrap()).unwrap();
    assert!(s.starts_with(r#"{"challenge_id":"#), "{s}");
    assert!(
        s.contains(r#""checks":{"layout_change":0.21,"nose_hit":true,"parallax":0.0001,"path_rms":0.0061,"#)
    );
    assert!(s.contains(r#""nonce":"ünï \"q\" \u0001""#), "{s}");
    assert!(!s.contains("sig") && !s.contains(": ") && !s.contains(", "));
}

#[test]
fn exponent_numbers_are_refused_instead_of_signed() {
    let v: Value = serde_json::from_str(r#"{"a":1e-7}"#).unwrap();
    assert!(canonical_json(&v).is_err());
}

#[test]
fn rounded_check_values_never_need_an_exponent() {
    for i in 0..20_000u32 {
        let x = (i as f32) * 0.000_37 - 3.0;
        let wire = serde_json::to_string(&round4(x)).unwrap();
        let v: Value = serde_json::from_str(&format!("{{\"x\":{wire}}}")).unwrap();
        canonical_json(&v).unwrap_or_else(|e| panic!("{x}: {e}"));
        assert!(!wire.contains('e'), "{wire}");
    }
    assert_eq!(round4(0.000_04), 0.0);
}

#[test]
fn a_signed_verdict_verifies_and_any_change_breaks_it() {
    let key = DeviceKey::generate().unwrap();
    let mut v = verdict();
    key.sign(&mut v).unwrap();
    verify(&v, &key.public_hex()).unwrap();
    let mut forged = v.clone();
    forged.seq += 1;
    assert!(verify(&forged, &key.public_hex()).is_err());
    let other = DeviceKey::generate().unwrap();
    assert!(verify(&v, &other.public_hex()).is_err());
}

#[test]
fn keys_round_trip_through_a_0600_file_that_is_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let path = tmp("verdict.key");
    let key = DeviceKey::generate().unwrap();
    key.save(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(DeviceKey::load(&path).unwrap().public_hex(), key.public_hex());
    assert!(key.save(&path).is_err());
}

#[test]
fn a_bad_key_file_is_named_in_the_error() {
    let path = tmp("bad.key");
    std::fs::write(&path, "hello").unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let e = DeviceKey::load(&path).err().unwrap().to_string();
    assert!(e.contains("bad.key") && e.contains("keygen"), "{e}");
}

#[test]
fn a_key_other_users_can_read_is_refused() {
    // Issue 17 D9: a 0644 key lets any local user forge verdicts.
    let path = tmp("open.key");
    DeviceKey::generate().unwrap().save(&path).unwrap();
    assert!(DeviceKey::load(&path).is_ok(), "keygen's 0600 file loads");
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
        let e = DeviceKey::load(&path).err().unwrap().to_string();
        assert!(
            e.contains("open.key") && e.contains(&format!("{mode:04o}")) && e.contains("chmod 600"),
            "{e}"
        );
    }
}

#[test]
fn serde_json_alone_rebuilds_the_signed_bytes_from_the_wire() {
    // docs/integrators.md's Rust snippet: parse the published text, drop `sig`, re-serialise.
    let key = DeviceKey::generate().unwrap();
    let mut v = verdict();
    key.sign(&mut v).unwrap();
    let wire = serde_json::to_string(&v).unwrap();
    let mut parsed: Value = serde_json::from_str(&wire).unwrap();
    parsed.as_object_mut().unwrap().remove("sig");
    assert_eq!(serde_json::to_string(&parsed).unwrap().into_bytes(), signed_bytes(&v).unwrap());
}
