use std::io;
use std::path::Path;
use std::time::Instant;

use super::*;

fn opts_for(device: &Path) -> V4l2Options {
    V4l2Options {
        device: Some(device.to_owned()),
        reconnect_initial_ms: 50,
        reconnect_max_ms: 200,
        ..V4l2Options::default()
    }
}

#[test]
fn a_missing_device_is_a_camera_error_status_and_the_camera_keeps_retrying() {
    let dir = std::env::temp_dir().join(format!("livegate-cam-{}", std::process::id()));
    let path = dir.join("video-not-yet");
    let mut cam = V4l2Camera::new(opts_for(&path)).unwrap();
    assert_eq!(cam.status(), &CameraStatus::Starting);
    let t0 = Instant::now();
    for _ in 0..4 {
        let err = cam.next_frame().unwrap_err();
        assert!(matches!(err, CameraError::Disconnected(_)), "{err}");
    }
    // Backoff 50 + 100 + 200 ms between the four attempts: it waited, it did not spin. The
    // deadlines are kept in whole milliseconds, so each wait may come up to 1 ms short.
    assert!(t0.elapsed().as_millis() >= 347, "{:?}", t0.elapsed());
    let status = cam.status().to_string();
    assert!(status.starts_with("camera error: ") && status.contains("no such device"), "{status}");
    assert_eq!(cam.stats().opens, 0);
}

#[test]
fn a_file_that_is_not_a_v4l2_device_says_so() {
    let path = std::env::temp_dir().join(format!("livegate-notvideo-{}", std::process::id()));
    std::fs::write(&path, b"not a camera").unwrap();
    let mut cam = V4l2Camera::new(opts_for(&path)).unwrap();
    let err = cam.next_frame().unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(err.to_string().contains("not a V4L2 device"), "{err}");
    assert!(cam.status().is_error());
}

#[test]
fn permission_denied_names_the_video_group() {
    let e = device::open_error(Path::new("/dev/video0"), &io::Error::from(io::ErrorKind::PermissionDenied));
    assert!(matches!(e, CameraError::PermissionDenied(_)));
    assert!(e.to_string().contains("needs the `video` group"), "{e}");
}

#[test]
fn an_unplug_during_capture_reads_as_disconnected() {
    let e = device::read_error(Path::new("/dev/video0"), &io::Error::from_raw_os_error(19));
    assert!(matches!(e, CameraError::Disconnected(_)));
    assert!(e.to_string().contains("unplugged"), "{e}");
}

#[test]
fn options_have_defaults_and_reject_unknown_keys() {
    let o: V4l2Options =
        serde_json::from_str(r#"{"device": "/dev/video2", "pixel_format": "NV12"}"#).unwrap();
    assert_eq!(o.device.as_deref(), Some(Path::new("/dev/video2")));
    assert_eq!(o.pixel_format, Some(PixelFormat::Nv12));
    assert_eq!((o.width, o.height, o.stall_timeout_ms), (640, 480, 3000));
    let err = serde_json::from_str::<V4l2Options>(r#"{"devcie": "/dev/video2"}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `devcie`"), "{err}");
    assert!(serde_json::from_str::<V4l2Options>(r#"{"pixel_format": "H264"}"#).is_err());
}

#[test]
fn invalid_options_are_refused_before_any_device_is_touched() {
    for bad in [
        V4l2Options { width: 0, ..V4l2Options::default() },
        V4l2Options { fps: 0, ..V4l2Options::default() },
        V4l2Options { stall_timeout_ms: 10, ..V4l2Options::default() },
        V4l2Options { reconnect_max_ms: 1, ..V4l2Options::default() },
        V4l2Options { buffers: 1, ..V4l2Options::default() },
    ] {
        assert!(matches!(V4l2Camera::new(bad), Err(CameraError::Unusable(_))));
    }
}

#[test]
fn the_monotonic_clock_moves_forward() {
    let a = now_ms();
    std::thread::sleep(Duration::from_millis(5));
    assert!(now_ms() >= a + 5);
}
