use super::*;

const POLICY: RecoveryPolicy =
    RecoveryPolicy { initial_backoff_ms: 250, max_backoff_ms: 2000, stall_timeout_ms: 3000 };

fn streaming() -> CameraStatus {
    CameraStatus::Streaming { device: "/dev/video0".into(), format: "YUYV".into(), width: 640, height: 480 }
}

#[test]
fn the_first_open_is_due_at_once() {
    let r = Recovery::new(POLICY);
    assert_eq!(r.wait_before_open_ms(0), Some(0));
    assert_eq!(r.status(), &CameraStatus::Starting);
}

#[test]
fn a_missing_device_is_retried_with_doubling_backoff_up_to_the_cap() {
    let mut r = Recovery::new(POLICY);
    let mut now = 0;
    let mut waits = Vec::new();
    for _ in 0..7 {
        now += r.wait_before_open_ms(now).unwrap();
        r.open_failed(now, "/dev/video0: no such device".into());
        waits.push(r.wait_before_open_ms(now).unwrap());
    }
    assert_eq!(waits, [250, 500, 1000, 2000, 2000, 2000, 2000]);
    assert_eq!(r.failures(), 7);
    assert_eq!(r.status().to_string(), "camera error: /dev/video0: no such device");
    assert!(r.status().is_error());
    // Half-way through a wait the remainder is reported, not the whole delay.
    assert_eq!(r.wait_before_open_ms(now + 500), Some(1500));
    assert_eq!(r.wait_before_open_ms(now + 9000), Some(0));
}

#[test]
fn the_device_appearing_clears_the_error_and_the_backoff() {
    let mut r = Recovery::new(POLICY);
    r.open_failed(0, "gone".into());
    r.open_failed(250, "gone".into());
    r.opened(750, streaming());
    assert_eq!(r.wait_before_open_ms(800), None);
    assert_eq!(r.status().to_string(), "camera ok: /dev/video0 YUYV 640x480");
    r.frame(800);
    assert_eq!(r.failures(), 0);
    // Unplugged after streaming: reopen at once; if that fails, back off from the start.
    r.lost(5000, "unplugged".into());
    assert_eq!(r.wait_before_open_ms(5000), Some(0));
    r.open_failed(5000, "gone".into());
    assert_eq!(r.wait_before_open_ms(5000), Some(250));
}

#[test]
fn a_device_that_dies_before_its_first_frame_is_not_hammered() {
    let mut r = Recovery::new(POLICY);
    r.open_failed(0, "gone".into());
    r.opened(250, streaming());
    r.lost(260, "I/O error".into());
    assert_eq!(r.wait_before_open_ms(260), Some(500));
    assert_eq!(r.status().to_string(), "camera error: I/O error");
}

#[test]
fn a_stream_without_frames_for_the_timeout_is_stalled() {
    let mut r = Recovery::new(POLICY);
    assert!(!r.stalled(10_000), "a closed camera cannot stall");
    r.opened(1000, streaming());
    assert!(!r.stalled(3999));
    assert!(r.stalled(4000));
    r.frame(3500);
    assert!(!r.stalled(6499));
    assert!(r.stalled(6500));
    r.lost(6500, "stalled: no frame for 3000 ms".into());
    assert!(!r.stalled(20_000));
    assert_eq!(r.wait_before_open_ms(6500), Some(0));
}

#[test]
fn the_status_serialises_for_the_mqtt_state_message() {
    let json = serde_json::to_value(CameraStatus::Error { message: "x".into() }).unwrap();
    assert_eq!(json, serde_json::json!({"state": "error", "message": "x"}));
    let json = serde_json::to_value(streaming()).unwrap();
    assert_eq!(json["state"], "streaming");
    assert_eq!(json["width"], 640);
}
