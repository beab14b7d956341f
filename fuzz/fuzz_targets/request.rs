//! Fuzzes the MQTT request parser (`src/mqtt/topics.rs`, compiled in directly so the fuzz
//! build does not pull in the vision stack). Any input must give `Ok` or a `BadRequest` with a
//! message, never a panic; accepted requests fit the 4 KiB limit, and an echoed `request_id`
//! is one the payload really carried.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/mqtt/topics.rs"]
mod topics;

fuzz_target!(|data: &[u8]| {
    match topics::parse_request(data) {
        Ok(r) => {
            assert!(data.len() <= topics::MAX_REQUEST_BYTES);
            for s in [&r.request_id, &r.nonce].into_iter().flatten() {
                assert!(s.len() <= data.len());
            }
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            if let Some(id) = &e.request_id {
                let v: serde_json::Value = serde_json::from_slice(data).expect("id only from valid JSON");
                assert_eq!(v["request_id"].as_str(), Some(id.as_str()));
            }
        }
    }
});
