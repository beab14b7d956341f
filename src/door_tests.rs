use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::liveness::session::Checks;
use crate::verdict::signing::DeviceKey;
use crate::verdict::{Source, Verdict, VerdictResult, rfc3339_ms};

const NOW_MS: i64 = 1_795_459_205_000;

fn key() -> DeviceKey {
    DeviceKey::generate().unwrap()
}

/// A signed verdict answering nonce `n1`, decided a second before `NOW_MS`, fresh for 10 s.
fn verdict(key: &DeviceKey, edit: impl FnOnce(&mut Verdict)) -> Vec<u8> {
    let decided = UNIX_EPOCH + Duration::from_millis(NOW_MS as u64 - 1_000);
    let mut v = Verdict {
        device_id: "door1".into(),
        source: Source::V4l2,
        challenge_id: "c".into(),
        request_id: Some("r".into()),
        nonce: Some("n1".into()),
        result: VerdictResult::Pass,
        reason: None,
        checks: Checks { yaw_deg: Some(14.2), ..Checks::default() },
        started_at: rfc3339_ms(decided - Duration::from_secs(3)),
        decided_at: rfc3339_ms(decided),
        frames: 40,
        engine: "e".into(),
        seq: 7,
        expires_at: rfc3339_ms(decided + Duration::from_secs(10)),
        sig: None,
    };
    edit(&mut v);
    key.sign(&mut v).unwrap();
    serde_json::to_vec(&v).unwrap()
}

fn expect(key: &DeviceKey) -> Expect {
    Expect {
        device_id: "door1".into(),
        public_key: public_key(&key.public_hex()).unwrap(),
        nonce: "n1".into(),
        last_seq: Some(5),
        now_ms: NOW_MS,
        skew_ms: 5_000,
        extra_sources: Vec::new(),
    }
}

fn reason(j: &Judgement) -> &str {
    match j {
        Judgement::NotOurs { reason, .. } | Judgement::Deny { reason, .. } => reason,
        Judgement::Open { .. } => "open",
    }
}

#[test]
fn a_fresh_signed_pass_from_the_camera_answering_our_nonce_opens() {
    let k = key();
    assert_eq!(judge(&verdict(&k, |_| {}), false, &expect(&k)), Judgement::Open { seq: 7 });
    let first = Expect { last_seq: None, ..expect(&k) };
    assert_eq!(judge(&verdict(&k, |_| {}), false, &first), Judgement::Open { seq: 7 });
}

#[test]
fn what_is_not_the_answer_to_this_challenge_is_set_aside_with_its_reason() {
    let k = key();
    let e = expect(&k);
    let good = verdict(&k, |_| {});
    let cases: Vec<(Vec<u8>, bool, &str)> = vec![
        (good.clone(), true, "retained message"),
        (b"not json".to_vec(), false, "malformed: not JSON"),
        (b"[1]".to_vec(), false, "malformed: not a JSON object"),
        (
            String::from_utf8(good.clone()).unwrap().replace("\"sig\":", "\"gis\":").into_bytes(),
            false,
            "malformed",
        ),
        (verdict(&key(), |_| {}), false, "bad signature"),
        (
            String::from_utf8(good.clone()).unwrap().replace("\"seq\":7", "\"seq\":8").into_bytes(),
            false,
            "bad signature",
        ),
        (verdict(&k, |v| v.device_id = "door2".into()), false, "device_id \"door2\" is not \"door1\""),
        (verdict(&k, |v| v.nonce = Some("n0".into())), false, "nonce mismatch"),
        (verdict(&k, |v| v.nonce = None), false, "nonce mismatch"),
    ];
    for (payload, retained, want) in cases {
        let j = judge(&payload, retained, &e);
        assert!(matches!(j, Judgement::NotOurs { .. }) && reason(&j).starts_with(want), "{want}: {j:?}");
    }
}

#[test]
fn the_authentic_answer_is_denied_for_a_replayed_seq_expiry_the_source_or_the_result() {
    let k = key();
    let e = expect(&k);
    let cases: Vec<(Vec<u8>, &str, bool)> = vec![
        (verdict(&k, |v| v.seq = 5), "seq 5 is not above the last accepted 5", false),
        (verdict(&k, |v| v.seq = 1), "seq 1 is not above the last accepted 5", false),
        (
            verdict(&k, |v| {
                v.expires_at = rfc3339_ms(UNIX_EPOCH + Duration::from_millis(NOW_MS as u64 - 5_001))
            }),
            "expired at",
            true,
        ),
        (
            verdict(&k, |v| {
                v.decided_at = rfc3339_ms(UNIX_EPOCH + Duration::from_millis(NOW_MS as u64 + 5_001))
            }),
            "decided_at",
            true,
        ),
        (verdict(&k, |v| v.expires_at = "tomorrow".into()), "malformed: expires_at", true),
        (verdict(&k, |v| v.source = Source::Synthetic), "source is synthetic, not a camera", true),
        (verdict(&k, |v| v.source = Source::Replay), "source is replay", true),
        (
            verdict(&k, |v| {
                v.result = VerdictResult::Fail;
                v.reason = Some(crate::liveness::session::Reason::NoRotation);
            }),
            "result is fail (reason ",
            true,
        ),
    ];
    for (payload, want, newer) in cases {
        let j = judge(&payload, false, &e);
        assert!(
            matches!(j, Judgement::Deny { newer: n, .. } if n == newer) && reason(&j).starts_with(want),
            "{want}: {j:?}"
        );
    }
    // Within the skew allowance: still fresh.
    let late =
        verdict(&k, |v| v.expires_at = rfc3339_ms(UNIX_EPOCH + Duration::from_millis(NOW_MS as u64 - 4_000)));
    assert_eq!(judge(&late, false, &e), Judgement::Open { seq: 7 });
    // --allow-source (tests only) lets a replay through, nothing else.
    let replay = verdict(&k, |v| v.source = Source::Replay);
    let e = Expect { extra_sources: vec!["replay".into()], ..e };
    assert_eq!(judge(&replay, false, &e), Judgement::Open { seq: 7 });
}

#[test]
fn rfc3339_times_read_back_what_verdicts_carry() {
    for ms in [0_u64, 951_782_400_000, 1_795_459_201_120, 4_102_444_799_999] {
        let t = UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(parse_rfc3339_ms(&rfc3339_ms(t)), Some(ms as i64), "{}", rfc3339_ms(t));
    }
    assert_eq!(parse_rfc3339_ms("2026-11-23T18:40:01Z"), Some(1_795_459_201_000));
    assert_eq!(parse_rfc3339_ms("2026-11-23T18:40:01.1Z"), Some(1_795_459_201_100));
    for bad in [
        "",
        "2026-11-23 18:40:01Z",
        "2026-11-23T18:40:01+01:00",
        "2026-13-23T18:40:01Z",
        "2026-11-23T18:40:01.Z",
    ] {
        assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
    }
}

#[test]
fn the_seq_state_persists_per_device_and_key_and_a_corrupt_file_is_an_error() {
    let dir = std::env::temp_dir().join(format!("livegate-door-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    let _ = std::fs::remove_file(&path);
    let mut s = SeqState::load(&path).unwrap();
    assert_eq!(s.last("door1", "aa"), None);
    s.accept("door1", "aa", 9).unwrap();
    let s = SeqState::load(&path).unwrap();
    assert_eq!((s.last("door1", "aa"), s.last("door1", "bb"), s.last("door2", "aa")), (Some(9), None, None));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"version":1,"last_seq":{"door1/aa":9}}"#);
    std::fs::write(&path, "{").unwrap();
    assert!(SeqState::load(&path).unwrap_err().contains("not a door-controller state file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_public_key_is_64_hex_digits() {
    assert!(public_key(&key().public_hex()).is_ok());
    assert!(public_key("abc").unwrap_err().contains("64 hex digits"));
}
