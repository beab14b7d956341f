//! The verdict (SPEC §3, §5), all of it in one place: the document, its construction from a
//! decision ([`Verdict::issue`], used by the service and by `verify`/`record` alike), its
//! timestamps and expiry ([`SigningConfig::verdict_ttl_s`]), the canonical JSON and the Ed25519
//! signature ([`signing`]), and the `seq` counter ([`seq`]).

pub(crate) mod seq;
pub mod signing;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::liveness::session::{Checks, Decision, Outcome, Reason};

pub use seq::SeqFile;
pub use signing::{DeviceKey, SigningError};

/// `[signing]`: the verdict signature (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// The Ed25519 device key written by `livegate keygen`.
    pub key_file: PathBuf,
    /// The last used `seq`, persisted before each verdict.
    pub seq_file: PathBuf,
    /// How long a verdict stays fresh (`expires_at - decided_at`).
    pub verdict_ttl_s: u64,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            key_file: "/var/lib/livegate/verdict.key".into(),
            seq_file: "/var/lib/livegate/seq".into(),
            verdict_ttl_s: 10,
        }
    }
}

/// Where the frames came from; only `v4l2` is valid for a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    V4l2,
    Replay,
    Synthetic,
}

/// The verdict's `result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictResult {
    Pass,
    Fail,
    Timeout,
    Aborted,
    Error,
}

/// A verdict as published (SPEC §3). `sig` is filled by the signer (MQTT issue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub device_id: String,
    pub source: Source,
    pub challenge_id: String,
    pub request_id: Option<String>,
    pub nonce: Option<String>,
    pub result: VerdictResult,
    pub reason: Option<Reason>,
    pub checks: Checks,
    pub started_at: String,
    pub decided_at: String,
    pub frames: u32,
    /// The engine's fingerprint (tract, operators, kernels, model hashes) that decided it.
    /// Absent only from verdicts spooled by a release before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub engine: String,
    pub seq: u64,
    pub expires_at: String,
    pub sig: Option<String>,
}

impl From<Outcome> for VerdictResult {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Pass => Self::Pass,
            Outcome::Fail => Self::Fail,
            Outcome::Timeout => Self::Timeout,
        }
    }
}

/// Who issues verdicts and for how long they hold: the same for every verdict of one device
/// (the service, `verify`, `record`).
#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    pub device_id: String,
    pub source: Source,
    /// The engine's fingerprint (`vision::fingerprint`).
    pub engine: String,
    /// From the decision to `expires_at` (`[signing] verdict_ttl_s`).
    pub ttl: Duration,
}

/// The challenge a verdict answers: its id and what the request carried.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answering {
    pub challenge_id: String,
    pub request_id: Option<String>,
    pub nonce: Option<String>,
}

/// How a challenge ended, in the verdict's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub result: VerdictResult,
    pub reason: Option<Reason>,
    pub checks: Checks,
    /// Frames analysed.
    pub frames: u32,
}

impl From<&Decision> for Ended {
    fn from(d: &Decision) -> Self {
        Self { result: d.result.into(), reason: d.reason, checks: d.checks.clone(), frames: d.frames }
    }
}

impl Verdict {
    /// The verdict of a challenge that ran from `started` to `decided`: unsigned and unnumbered
    /// (`seq` 0, no `sig`: the signer numbers and signs it), expiring `issuer.ttl` after the
    /// decision, its check values rounded to 4 decimals (what is published and signed).
    pub fn issue(
        issuer: &Issuer,
        answering: Answering,
        ended: Ended,
        (started, decided): (SystemTime, SystemTime),
    ) -> Self {
        let r4 = |x: Option<f32>| x.map(round4);
        let c = ended.checks;
        Self {
            device_id: issuer.device_id.clone(),
            source: issuer.source,
            challenge_id: answering.challenge_id,
            request_id: answering.request_id,
            nonce: answering.nonce,
            result: ended.result,
            reason: ended.reason,
            checks: Checks {
                yaw_deg: r4(c.yaw_deg),
                layout_change: r4(c.layout_change),
                parallax: r4(c.parallax),
                path_rms: r4(c.path_rms),
                light_correlation: r4(c.light_correlation),
                light_amplitude: r4(c.light_amplitude),
                light_uniformity: r4(c.light_uniformity),
                light_additivity: r4(c.light_additivity),
                light_balance: r4(c.light_balance),
                light_residual: r4(c.light_residual),
                light_background: r4(c.light_background),
                ..c
            },
            started_at: rfc3339_ms(started),
            decided_at: rfc3339_ms(decided),
            frames: ended.frames,
            engine: issuer.engine.clone(),
            seq: 0,
            expires_at: rfc3339_ms(decided + issuer.ttl),
            sig: None,
        }
    }
}

/// A check value as verdicts carry it: four decimals, so its JSON has no exponent and reads
/// back equal (and no `-0`).
pub fn round4(x: f32) -> f32 {
    let r = (f64::from(x) * 1e4).round() / 1e4;
    if r.abs() < 1e-4 { 0.0 } else { r as f32 }
}

/// `2026-11-23T18:40:01.120Z` for a system time (UTC, milliseconds).
pub fn rfc3339_ms(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let (secs, ms) = (d.as_secs() as i64, d.subsec_millis());
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_459_201_120);
        assert_eq!(rfc3339_ms(t), "2026-11-23T18:40:01.120Z");
        assert_eq!(rfc3339_ms(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn a_decision_is_issued_with_its_request_rounded_checks_and_the_issuers_lifetime() {
        let issuer = Issuer {
            device_id: "door1".into(),
            source: Source::V4l2,
            engine: "e".into(),
            ttl: Duration::from_secs(7),
        };
        let d = Decision {
            result: Outcome::Timeout,
            reason: Some(Reason::NoRotation),
            checks: Checks { yaw_deg: Some(12.345_678), parallax: Some(-0.000_04), ..Checks::default() },
            frames: 31,
            decided_t_ms: 900,
        };
        let answering =
            Answering { challenge_id: "c1".into(), request_id: Some("r".into()), nonce: Some("n".into()) };
        let decided = UNIX_EPOCH + Duration::from_millis(1_795_459_201_120);
        let v =
            Verdict::issue(&issuer, answering, Ended::from(&d), (decided - Duration::from_secs(3), decided));
        assert_eq!((v.result, v.reason, v.frames), (VerdictResult::Timeout, Some(Reason::NoRotation), 31));
        assert_eq!((v.checks.yaw_deg, v.checks.parallax), (Some(12.3457), Some(0.0)));
        assert_eq!((v.device_id.as_str(), v.source, v.engine.as_str()), ("door1", Source::V4l2, "e"));
        assert_eq!(
            (v.challenge_id.as_str(), v.request_id.as_deref(), v.nonce.as_deref()),
            ("c1", Some("r"), Some("n"))
        );
        assert_eq!(
            (v.started_at.as_str(), v.decided_at.as_str()),
            ("2026-11-23T18:39:58.120Z", "2026-11-23T18:40:01.120Z")
        );
        assert_eq!(v.expires_at, "2026-11-23T18:40:08.120Z");
        assert_eq!((v.seq, v.sig), (0, None), "numbered and signed by the signer");
        assert_eq!(
            [Outcome::Pass, Outcome::Fail].map(VerdictResult::from),
            [VerdictResult::Pass, VerdictResult::Fail]
        );
    }
}
