//! The verdict document (SPEC §3) and its timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::session::{Checks, Reason};

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
}
