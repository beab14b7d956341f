//! The door controller's side of a verdict (issue 17; docs/integrators.md): every check a
//! controller must make before it opens a door, sans-IO. `livegate door` (`cmd::door`) wires
//! it to MQTT and a relay; `tools/door_controller.py` is the same controller in Python, with
//! the same checks in the same order and the same reasons.
//!
//! A message on the verdict topic is first asked whether it is the answer to *this*
//! challenge at all (not retained, well-formed, signed by the pinned key, from this device,
//! carrying the nonce just sent). One that is not is set aside with its reason and the
//! controller keeps waiting, so whoever can publish there can neither open the door nor
//! deny it. The authentic answer is then judged: `seq` above the last accepted one, not
//! expired (with a clock-skew allowance), from a camera, a pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::verdict::signing::{canonical_json, decode_hex};

/// What the controller expects of the answer to the challenge it started.
#[derive(Debug, Clone)]
pub struct Expect {
    pub device_id: String,
    /// The terminal's Ed25519 public key, pinned by the installer.
    pub public_key: VerifyingKey,
    /// The nonce sent with this challenge's start request.
    pub nonce: String,
    /// The last `seq` accepted from this device and key (`None`: none yet).
    pub last_seq: Option<u64>,
    /// The controller's clock, Unix milliseconds.
    pub now_ms: i64,
    /// Clock-skew allowance for `expires_at` and `decided_at`, milliseconds.
    pub skew_ms: i64,
    /// Sources accepted besides `v4l2` (tests only: `--allow-source`).
    pub extra_sources: Vec<String>,
}

/// What a message on the verdict topic means for the challenge in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Not the answer to this challenge (retained, malformed, forged, another device's or
    /// another challenge's): set aside with the reason; keep waiting.
    NotOurs { reason: String, seq: Option<u64> },
    /// The authentic answer, and the door stays shut. `newer`: its `seq` is above the last
    /// accepted one, so it becomes the last accepted (a replay or a reset counter is not).
    Deny { reason: String, seq: u64, newer: bool },
    /// The authentic answer, and a pass from a camera, fresh: open.
    Open { seq: u64 },
}

/// Parses a public key of 64 hex digits.
///
/// # Errors
/// A message saying what is wrong with it.
pub fn public_key(hex: &str) -> Result<VerifyingKey, String> {
    let bytes =
        decode_hex::<32>(hex.trim()).ok_or("a public key is 64 hex digits (`livegate keygen` prints it)")?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// Judges one message on the verdict topic (`retained`: the MQTT retain flag).
pub fn judge(payload: &[u8], retained: bool, e: &Expect) -> Judgement {
    let not_ours = |reason: String, seq: Option<u64>| Judgement::NotOurs { reason, seq };
    if retained {
        return not_ours("retained message (an old verdict kept by the broker)".into(), None);
    }
    let mut v = match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return not_ours("malformed: not a JSON object".into(), None),
        Err(err) => return not_ours(format!("malformed: not JSON ({err})"), None),
    };
    let seq = v.get("seq").and_then(Value::as_u64);
    let Some(Value::String(sig)) = v.remove("sig") else {
        return not_ours("malformed: no string `sig`".into(), seq);
    };
    let Some(sig) = decode_hex::<64>(&sig) else {
        return not_ours("malformed: `sig` is not 128 hex digits".into(), seq);
    };
    let signed = match canonical_json(&Value::Object(v.clone())) {
        Ok(text) => text,
        Err(err) => return not_ours(format!("malformed: {err}"), seq),
    };
    if e.public_key.verify(signed.as_bytes(), &Signature::from_bytes(&sig)).is_err() {
        return not_ours("bad signature (forged, or signed by another key)".into(), seq);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    if text("device_id") != e.device_id {
        return not_ours(format!("device_id {:?} is not {:?}", text("device_id"), e.device_id), seq);
    }
    if text("nonce") != e.nonce {
        return not_ours(
            "nonce mismatch (a replayed verdict, or another controller's challenge)".into(),
            seq,
        );
    }
    // Signed by the terminal, for this challenge: the answer. Now: may it open the door?
    let Some(seq) = seq else {
        return not_ours("malformed: `seq` is not a non-negative integer".into(), None);
    };
    if let Some(last) = e.last_seq.filter(|&last| seq <= last) {
        return Judgement::Deny {
            reason: format!(
                "seq {seq} is not above the last accepted {last} (a replay, or the terminal's counter was reset)"
            ),
            seq,
            newer: false,
        };
    }
    let deny = |reason: String| Judgement::Deny { reason, seq, newer: true };
    match parse_rfc3339_ms(text("expires_at")) {
        None => {
            return deny(format!("malformed: expires_at {:?} is not an RFC 3339 time", text("expires_at")));
        }
        Some(t) if e.now_ms > t + e.skew_ms => return deny(format!("expired at {}", text("expires_at"))),
        Some(_) => {}
    }
    match parse_rfc3339_ms(text("decided_at")) {
        None => {
            return deny(format!("malformed: decided_at {:?} is not an RFC 3339 time", text("decided_at")));
        }
        Some(t) if t > e.now_ms + e.skew_ms => {
            return deny(format!("decided_at {} is in the future (clock skew)", text("decided_at")));
        }
        Some(_) => {}
    }
    let source = text("source");
    if source != "v4l2" && !e.extra_sources.iter().any(|s| s == source) {
        return deny(format!("source is {source}, not a camera (only v4l2 opens a door)"));
    }
    if text("result") != "pass" {
        let reason =
            v.get("reason").map_or_else(|| "null".to_owned(), |r| r.as_str().unwrap_or("null").to_owned());
        return deny(format!("result is {} (reason {reason})", text("result")));
    }
    Judgement::Open { seq }
}

/// Unix milliseconds of `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (what verdicts carry: UTC).
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ms = match (b[19], b.last()) {
        (b'Z', _) if b.len() == 20 => 0,
        (b'.', Some(b'Z')) if b.len() > 21 => {
            let frac = &s[20..s.len() - 1];
            if !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            format!("{frac:0<3}")[..3].parse::<i64>().ok()?
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + m * 60 + sec) * 1000) + ms)
}

/// The last accepted `seq` of each terminal, persisted across the controller's restarts:
/// `{"version": 1, "last_seq": {"<device_id>/<public key hex>": N}}`. Keyed by device and key:
/// a new terminal key starts a new sequence; a reset counter under the same key is refused.
#[derive(Debug)]
pub struct SeqState {
    path: PathBuf,
    file: StateFile,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    last_seq: BTreeMap<String, u64>,
}

impl SeqState {
    /// Reads the state file; a missing file is an empty state.
    ///
    /// # Errors
    /// An unreadable or corrupt file (never taken as empty: that would accept replays).
    pub fn load(path: &Path) -> Result<Self, String> {
        let file = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<StateFile>(&bytes)
                .map_err(|e| format!("{}: not a door-controller state file ({e})", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                StateFile { version: 1, ..StateFile::default() }
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        if file.version != 1 {
            return Err(format!(
                "{}: state file version {} (this controller reads 1)",
                path.display(),
                file.version
            ));
        }
        Ok(Self { path: path.into(), file })
    }

    /// The last accepted `seq` of `device` under `key_hex`.
    pub fn last(&self, device: &str, key_hex: &str) -> Option<u64> {
        self.file.last_seq.get(&format!("{device}/{key_hex}")).copied()
    }

    /// Records `seq` as the last accepted, durably, before the door acts on it.
    ///
    /// # Errors
    /// The I/O error, naming the file.
    pub fn accept(&mut self, device: &str, key_hex: &str, seq: u64) -> Result<(), String> {
        self.file.last_seq.insert(format!("{device}/{key_hex}"), seq);
        let text = serde_json::to_vec(&self.file).map_err(|e| e.to_string())?;
        crate::durable::write(&self.path, &text).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// One message set aside while waiting ([`Judgement::NotOurs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub reason: String,
    pub seq: Option<u64>,
}

/// The controller's one line of output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `open` or `deny`.
    pub decision: &'static str,
    pub reason: String,
    pub seq: Option<u64>,
    pub request_id: String,
    pub nonce: String,
    pub rejected: Vec<Rejected>,
    /// Set when `--on-open` or the relay failed after an open decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_open_failed: Option<String>,
}

#[cfg(test)]
#[path = "door_tests.rs"]
mod tests;
