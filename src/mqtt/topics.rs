//! Topics and payloads of SPEC §4 as plain types and pure functions, so every byte the
//! service puts on the wire is unit-tested without a broker.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Largest request payload accepted (SPEC §4).
pub const MAX_REQUEST_BYTES: usize = 4096;

/// The topics of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// `<base_topic>`: the tree every livegate device publishes under.
    pub root: String,
    /// `<base_topic>/<device id>`: this device's topics.
    pub base: String,
    pub device_id: String,
    pub discovery_prefix: String,
}

impl Topics {
    pub fn new(base_topic: &str, device_id: &str, discovery_prefix: &str) -> Self {
        Self {
            root: base_topic.trim_end_matches('/').into(),
            base: format!("{}/{device_id}", base_topic.trim_end_matches('/')),
            device_id: device_id.into(),
            discovery_prefix: discovery_prefix.into(),
        }
    }
    fn sub(&self, leaf: &str) -> String {
        format!("{}/{leaf}", self.base)
    }

    /// Whether an MQTT 5 response topic may be answered on. Not a wildcard or an empty topic;
    /// nothing in the livegate tree (`<base_topic>/…`: any device's verdicts, states, events and
    /// requests) but this device's own `response` and the topics under it; nothing in the
    /// discovery tree. Otherwise a client could make the device publish where its ACL lets only
    /// the device write (issue 17, D10).
    pub fn reply_allowed(&self, topic: &str) -> bool {
        let under = |tree: &str| topic == tree || topic.starts_with(&format!("{tree}/"));
        let response = self.response();
        !topic.is_empty()
            && !topic.contains(['+', '#', '\0'])
            && (!under(&self.root) || under(&response))
            && !under(&self.discovery_prefix)
    }
    pub fn availability(&self) -> String {
        self.sub("availability")
    }
    pub fn state(&self) -> String {
        self.sub("state")
    }
    pub fn start(&self) -> String {
        self.sub("challenge/start")
    }
    pub fn cancel(&self) -> String {
        self.sub("challenge/cancel")
    }
    pub fn verdict(&self) -> String {
        self.sub("verdict")
    }
    pub fn event(&self) -> String {
        self.sub("event")
    }
    pub fn response(&self) -> String {
        self.sub("response")
    }
    /// Home Assistant's birth/will topic.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }
}

/// Which request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Start,
    Cancel,
}

/// A validated request body: `{request_id?, nonce?}` (cancel ignores `nonce`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub request_id: Option<String>,
    pub nonce: Option<String>,
}

/// A request that was refused, with whatever `request_id` could be read from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadRequest {
    pub request_id: Option<String>,
    pub message: String,
}

/// Validates a request payload: at most 4 KiB, a JSON object, only known fields. An empty
/// payload is an empty request (a Home Assistant button press).
///
/// # Errors
/// [`BadRequest`] with a message for the `response`.
pub fn parse_request(payload: &[u8]) -> Result<Request, BadRequest> {
    let bad = |request_id, message: String| BadRequest { request_id, message };
    if payload.len() > MAX_REQUEST_BYTES {
        return Err(bad(None, format!("payload of {} bytes exceeds {MAX_REQUEST_BYTES}", payload.len())));
    }
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Request::default());
    }
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| bad(None, format!("payload is not valid JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(bad(None, "payload must be a JSON object".into()));
    };
    let request_id = map.get("request_id").and_then(Value::as_str).map(str::to_owned);
    // Each field's type on its own, so that the answer names the field (issue 17 D13).
    for (field, v) in map {
        if matches!(field.as_str(), "request_id" | "nonce") && !(v.is_string() || v.is_null()) {
            return Err(bad(request_id, format!("invalid request: `{field}` must be a string, not {v}")));
        }
    }
    serde_json::from_value(value).map_err(|e| bad(request_id, format!("invalid request: {e}")))
}

/// The answer to every request on `…/response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub request_id: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
}

impl Response {
    pub fn ok(request_id: Option<String>) -> Self {
        Self { request_id, status: Status::Ok, error: None }
    }
    pub fn error(request_id: Option<String>, message: impl Into<String>) -> Self {
        Self { request_id, status: Status::Error, error: Some(message.into()) }
    }
}

/// What the terminal is doing (`…/state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    Idle,
    Challenge,
    Verifying,
    Locked,
    Error,
}

/// The retained `…/state` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatePayload {
    pub state: Activity,
    pub camera: String,
    pub model: String,
    /// The engine's fingerprint (tract, operators, kernels, model hashes).
    pub engine: String,
    pub version: String,
    pub since: String,
    /// Set while locked out after repeated failures (SPEC §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Set (with `state: error`) while verdicts the spool could not store are held in memory:
    /// how many, and that no challenge starts until the broker has acknowledged them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<String>,
    /// Set while a challenge holds the V4L2 camera's exposure, white balance and gain still:
    /// per control `locked`, `absent` or `refused: <OS error>` (issue 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_controls: Option<crate::camera::ControlsReport>,
}

/// A progress message on `…/event` (QoS 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPayload {
    pub challenge_id: String,
    pub state: String,
    /// What the visitor is asked to do, as a code (`look_at_camera`, `come_closer`,
    /// `centre_face`, `move_nose`, `hold_still`).
    pub prompt: crate::liveness::session::Prompt,
    /// The same in the screen's English words.
    pub message: String,
}

/// Home Assistant discovery: `(topic, config)` for the start button, the last-result sensor
/// and the live-person binary sensor.
pub fn discovery(t: &Topics, version: &str) -> Vec<(String, Value)> {
    let id = &t.device_id;
    let uid = format!("livegate_{}", id.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    let device = json!({
        "identifiers": [uid], "name": format!("livegate {id}"),
        "manufacturer": "livegate", "model": "face-liveness terminal", "sw_version": version,
    });
    let common = |name: &str, key: &str| {
        json!({
            "name": name, "unique_id": format!("{uid}_{key}"), "object_id": format!("{uid}_{key}"),
            "availability_topic": t.availability(), "device": device,
        })
    };
    let with = |mut base: Value, extra: Value| {
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        base
    };
    let topic = |component: &str, key: &str| format!("{}/{component}/{uid}/{key}/config", t.discovery_prefix);
    vec![
        (
            topic("button", "start"),
            with(
                common("Start liveness check", "start"),
                json!({"command_topic": t.start(), "payload_press": "{}"}),
            ),
        ),
        (
            topic("sensor", "last_result"),
            with(
                common("Last liveness result", "last_result"),
                json!({"state_topic": t.verdict(), "value_template": "{{ value_json.result }}"}),
            ),
        ),
        (
            topic("binary_sensor", "live_person"),
            with(
                common("Live person", "live_person"),
                json!({
                    "state_topic": t.verdict(), "device_class": "occupancy", "off_delay": 10,
                    "value_template": "{{ 'ON' if value_json.result == 'pass' else 'OFF' }}",
                }),
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_response_topic_inside_the_livegate_tree_is_refused_but_the_devices_own_response() {
        let t = Topics::new("livegate", "door1", "homeassistant");
        for ok in ["ctrl/reply/7", "livegate/door1/response", "livegate/door1/response/ctrl-7", "livegatex/a"]
        {
            assert!(t.reply_allowed(ok), "{ok}");
        }
        for bad in [
            "livegate/door1/verdict",
            "livegate/door1/state",
            "livegate/door1/challenge/start",
            "livegate/door2/verdict",
            "livegate/door2/response",
            "livegate",
            "homeassistant/status",
            "homeassistant/binary_sensor/x/config",
            "ctrl/+/reply",
            "ctrl/#",
            "",
        ] {
            assert!(!t.reply_allowed(bad), "{bad}");
        }
    }
    use super::*;

    fn topics() -> Topics {
        Topics::new("livegate", "door-3", "homeassistant")
    }

    #[test]
    fn topics_follow_the_spec_layout() {
        let t = topics();
        assert_eq!(t.availability(), "livegate/door-3/availability");
        assert_eq!(t.start(), "livegate/door-3/challenge/start");
        assert_eq!(t.cancel(), "livegate/door-3/challenge/cancel");
        assert_eq!(t.verdict(), "livegate/door-3/verdict");
        assert_eq!(t.response(), "livegate/door-3/response");
        assert_eq!(t.ha_status(), "homeassistant/status");
    }

    #[test]
    fn a_full_request_and_an_empty_payload_are_accepted() {
        let r = parse_request(br#"{"request_id":"ctrl-77","nonce":"n1"}"#).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("ctrl-77"));
        assert_eq!(r.nonce.as_deref(), Some("n1"));
        assert_eq!(parse_request(b"").unwrap(), Request::default());
        assert_eq!(parse_request(b"{}").unwrap(), Request::default());
    }

    #[test]
    fn malformed_json_is_refused_with_a_message() {
        let e = parse_request(b"{not json").unwrap_err();
        assert!(e.message.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused_but_the_request_id_is_echoed() {
        let e = parse_request(br#"{"request_id":"r9","open_door":true}"#).unwrap_err();
        assert_eq!(e.request_id.as_deref(), Some("r9"));
        assert!(e.message.contains("open_door"), "{e}");
    }

    #[test]
    fn oversize_payloads_are_refused_before_parsing() {
        let big = format!(r#"{{"request_id":"{}"}}"#, "x".repeat(MAX_REQUEST_BYTES));
        assert!(parse_request(big.as_bytes()).unwrap_err().message.contains("exceeds 4096"));
    }

    #[test]
    fn arrays_and_scalars_are_not_requests() {
        for p in [&b"[\"a\",\"b\"]"[..], b"42", b"\"start\"", b"null"] {
            assert!(parse_request(p).unwrap_err().message.contains("JSON object"));
        }
        let e = parse_request(br#"{"request_id":5}"#).unwrap_err().message;
        assert!(e.contains("`request_id` must be a string, not 5"), "{e}");
        let e = parse_request(br#"{"request_id":"r","nonce":[1]}"#).unwrap_err();
        assert_eq!(e.request_id.as_deref(), Some("r"));
        assert!(e.message.contains("`nonce` must be a string, not [1]"), "{}", e.message);
    }

    #[test]
    fn responses_carry_status_and_error_only_when_failing() {
        let ok = serde_json::to_string(&Response::ok(Some("a".into()))).unwrap();
        assert_eq!(ok, r#"{"request_id":"a","status":"ok"}"#);
        let err = serde_json::to_string(&Response::error(None, "busy")).unwrap();
        assert_eq!(err, r#"{"request_id":null,"status":"error","error":"busy"}"#);
    }

    #[test]
    fn the_state_carries_the_camera_control_lock_only_while_one_is_held() {
        let mut s = StatePayload {
            state: Activity::Challenge,
            camera: "camera ok: /dev/video0 YUYV 640x480".into(),
            model: "m".into(),
            engine: "e".into(),
            version: "0.1.0".into(),
            since: "2026-01-01T00:00:00.000Z".into(),
            locked_until: None,
            verdicts: None,
            camera_controls: None,
        };
        assert!(!serde_json::to_string(&s).unwrap().contains("camera_controls"));
        s.camera_controls = serde_json::from_str(
            r#"{"exposure":"locked","white_balance":"absent","gain":"refused: Invalid argument (os error 22)"}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["camera_controls"],
            json!({"exposure": "locked", "white_balance": "absent", "gain": "refused: Invalid argument (os error 22)"})
        );
        assert_eq!(serde_json::from_value::<StatePayload>(json).unwrap(), s);
    }

    #[test]
    fn discovery_announces_a_button_a_sensor_and_a_binary_sensor() {
        let d = discovery(&topics(), "0.1.0");
        let names: Vec<&str> = d.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "homeassistant/button/livegate_door_3/start/config",
                "homeassistant/sensor/livegate_door_3/last_result/config",
                "homeassistant/binary_sensor/livegate_door_3/live_person/config",
            ]
        );
        assert_eq!(d[0].1["command_topic"], "livegate/door-3/challenge/start");
        assert_eq!(d[2].1["state_topic"], "livegate/door-3/verdict");
        assert_eq!(d[1].1["availability_topic"], "livegate/door-3/availability");
    }
}
