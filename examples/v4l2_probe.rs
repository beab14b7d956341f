//! The V4L2 probe that `tools/vivid/run.sh` boots inside a qemu VM with the `vivid` driver
//! (see `tests/v4l2_vivid.rs`). It drives our real camera code against a real V4L2 driver
//! and reports over stdout (the VM's serial console), one `PROBE …` line per fact:
//!
//! 1. recovery: started before `vivid` is loaded, the camera thread (as the service runs it)
//!    reports a camera error and picks the device up when it appears;
//! 2. capture: frames in several pixel formats and sizes, format, size and count asserted;
//! 3. close/reopen: the same camera closed and reopened, then a second camera on the node;
//! 4. faults, injected through vivid's test controls: a buffer flagged as damaged (dropped
//!    and counted), a stalled stream (100 % dropped buffers: restarted), a fatal streaming
//!    error (reopened);
//! 5. unplug: vivid's "Disconnect" mid-stream (and its automatic replug), then, when
//!    `PROBE_UNLOAD` / `PROBE_LOAD` name shell commands that unload and load the driver, the
//!    node vanishing and coming back.
//!
//! Exit status 0 when every check passed. Usage: `v4l2_probe [DEVICE] [RECOVERY_TIMEOUT_S]`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use livegate::camera::convert::PixelFormat;
use livegate::camera::{Camera, CameraError, CameraStatus, CaptureThread, Frame, V4l2Camera, V4l2Options};
use v4l::Device;
use v4l::control::{Control, Value};

const CAPTURES: [(PixelFormat, u32, u32); 4] = [
    (PixelFormat::Yuyv, 640, 480),
    (PixelFormat::Yuyv, 1280, 720),
    (PixelFormat::Nv12, 640, 360),
    (PixelFormat::Rgb3, 320, 180),
];
const FRAMES: usize = 5;
/// vivid's "75% Colorbar": white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [[u8; 3]; 8] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
    [0, 0, 0],
];

fn main() {
    let mut args = std::env::args().skip(1);
    let device = PathBuf::from(args.next().unwrap_or_else(|| "/dev/video0".into()));
    let timeout_s: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut failures = 0;
    let mut check = |name: &str, result: Result<String, String>| match result {
        Ok(line) => println!("PROBE ok {name} {line}"),
        Err(why) => {
            failures += 1;
            println!("PROBE FAIL {name} {why}");
        }
    };
    check("recovery", recovery(&device, Duration::from_secs(timeout_s)));
    for (format, w, h) in CAPTURES {
        check("capture", capture(&device, format, w, h));
    }
    check("auto", auto());
    check("reopen", reopen(&device));
    check("faults", faults(&device));
    match (std::env::var("PROBE_UNLOAD"), std::env::var("PROBE_LOAD")) {
        (Ok(unload), Ok(load)) => check("unplug", unplug(&device, &unload, &load)),
        _ => println!("PROBE skip unplug (PROBE_UNLOAD / PROBE_LOAD not set)"),
    }
    println!("PROBE DONE failures={failures}");
    std::process::exit(i32::from(failures > 0));
}

fn options(device: &Path) -> V4l2Options {
    V4l2Options {
        device: Some(device.to_path_buf()),
        reconnect_initial_ms: 200,
        reconnect_max_ms: 1000,
        ..Default::default()
    }
}

/// Waits for the device to appear, the way the service does: the camera on its own thread
/// ([`CaptureThread`]), its status readable meanwhile.
fn recovery(device: &Path, timeout: Duration) -> Result<String, String> {
    let cam = V4l2Camera::new(options(device)).map_err(|e| e.to_string())?;
    let thread = CaptureThread::v4l2(cam).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut reported = false;
    while t0.elapsed() < timeout {
        if let Some(frame) = thread.next_frame(Duration::from_millis(100)) {
            let (_, errors) = thread.counts();
            return Ok(format!(
                "errors={errors} waited_ms={} status=\"{}\" size={}x{}",
                t0.elapsed().as_millis(),
                thread.status(),
                frame.image.width(),
                frame.image.height()
            ));
        }
        let status = thread.status();
        if status.is_error() && !reported {
            println!("PROBE status \"{status}\"");
            reported = true;
        }
    }
    Err(format!("no frame within {timeout:?}; last status \"{}\"", thread.status()))
}

fn frames(cam: &mut V4l2Camera, n: usize) -> Result<Vec<Frame>, String> {
    (0..n)
        .map(|_| cam.next_frame().map_err(|e| e.to_string())?.ok_or_else(|| "camera ended".to_string()))
        .collect()
}

/// Captures `FRAMES` frames in a forced format and checks what came out.
fn capture(device: &Path, format: PixelFormat, w: u32, h: u32) -> Result<String, String> {
    let opts = V4l2Options { pixel_format: Some(format), width: w, height: h, ..options(device) };
    let mut cam = V4l2Camera::new(opts).map_err(|e| e.to_string())?;
    let got = frames(&mut cam, FRAMES)?;
    let want = CameraStatus::Streaming {
        device: device.display().to_string(),
        format: format.to_string(),
        width: w,
        height: h,
    };
    if cam.status() != &want {
        return Err(format!("status {} instead of {want}", cam.status()));
    }
    if let Some(f) = got.iter().find(|f| f.image.dimensions() != (w, h)) {
        return Err(format!("a frame is {:?}", f.image.dimensions()));
    }
    if got.windows(2).any(|p| p[1].t_ms < p[0].t_ms) {
        return Err("timestamps go backwards".into());
    }
    // vivid's default pattern is the 75 % colour bar: every bar must come out in every format
    // (a wrong chroma order, plane offset or range shows up here).
    let colours: HashSet<[u8; 3]> = got[FRAMES - 1].image.pixels().map(|p| p.0).collect();
    let missing: Vec<[u8; 3]> = BARS
        .into_iter()
        .filter(|bar| !colours.iter().any(|c| c.iter().zip(bar).all(|(&a, &b)| a.abs_diff(b) <= 8)))
        .collect();
    if !missing.is_empty() {
        let mut seen: Vec<_> = colours.into_iter().collect();
        seen.sort();
        seen.truncate(16);
        return Err(format!("colour bars {missing:?} missing; got {seen:?}"));
    }
    let span = got[FRAMES - 1].t_ms - got[0].t_ms;
    Ok(format!(
        "format={format} size={w}x{h} frames={} bars=8 span_ms={span} dropped={}",
        got.len(),
        cam.stats().dropped
    ))
}

/// No device configured: the first capture node is found and VGA negotiates YUYV.
fn auto() -> Result<String, String> {
    let mut cam = V4l2Camera::new(V4l2Options::default()).map_err(|e| e.to_string())?;
    let got = frames(&mut cam, 2)?;
    match cam.status() {
        CameraStatus::Streaming { device, format, width, height } => {
            Ok(format!("device={device} format={format} size={width}x{height} frames={}", got.len()))
        }
        other => Err(format!("status {other}")),
    }
}

/// Close and reopen the same camera, then open the node again from a new camera.
fn reopen(device: &Path) -> Result<String, String> {
    let mut cam = V4l2Camera::new(options(device)).map_err(|e| e.to_string())?;
    let mut total = frames(&mut cam, 3)?.len();
    cam.close();
    if cam.status() != &CameraStatus::Starting {
        return Err(format!("after close the status is {}", cam.status()));
    }
    total += frames(&mut cam, 3)?.len();
    let opens = cam.stats().opens;
    drop(cam);
    let mut again = V4l2Camera::new(options(device)).map_err(|e| e.to_string())?;
    total += frames(&mut again, 3)?.len();
    if opens != 2 {
        return Err(format!("{opens} opens instead of 2"));
    }
    Ok(format!("opens={} frames={total}", opens + again.stats().opens))
}

/// Sets one of vivid's test controls (by name) through a second handle on the node.
fn poke(device: &Path, name: &str, value: Value) -> Result<(), String> {
    let dev = Device::with_path(device).map_err(|e| format!("control handle: {e}"))?;
    let ctrl = dev
        .query_controls()
        .map_err(|e| format!("query controls: {e}"))?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no control {name:?}"))?;
    dev.set_control(Control { id: ctrl.id, value }).map_err(|e| format!("set {name:?}: {e}"))
}

/// Damaged buffer, stall and fatal streaming error on one camera, which must carry on.
fn faults(device: &Path) -> Result<String, String> {
    let opts = V4l2Options { stall_timeout_ms: 1000, ..options(device) };
    let mut cam = V4l2Camera::new(opts).map_err(|e| e.to_string())?;
    frames(&mut cam, 2)?;

    poke(device, "Inject V4L2_BUF_FLAG_ERROR", Value::None)?;
    frames(&mut cam, 3)?;
    let dropped = cam.stats().dropped;
    if dropped != 1 {
        return Err(format!("{dropped} buffers dropped after one flagged as damaged"));
    }

    poke(device, "Percentage of Dropped Buffers", Value::Integer(100))?;
    let t0 = Instant::now();
    let stalled = loop {
        match cam.next_frame() {
            Err(e @ CameraError::Stalled(_)) => break e,
            Err(e) => return Err(format!("expected a stall, got {e}")),
            Ok(_) if t0.elapsed() > Duration::from_secs(10) => return Err("frames kept coming".into()),
            Ok(_) => {}
        }
    };
    let stall_status = cam.status().to_string();
    poke(device, "Percentage of Dropped Buffers", Value::Integer(0))?;
    frames(&mut cam, 2)?;

    poke(device, "Inject Fatal Streaming Error", Value::None)?;
    let fatal = loop {
        match cam.next_frame() {
            Err(e) => break e,
            Ok(_) if t0.elapsed() > Duration::from_secs(20) => return Err("no streaming error".into()),
            Ok(_) => {}
        }
    };
    frames(&mut cam, 2)?;
    let s = cam.stats();
    if s.stalls != 1 || s.opens != 3 || !cam.status().to_string().starts_with("camera ok") {
        return Err(format!("after the faults: {s:?}, {}", cam.status()));
    }
    println!("PROBE fault stall: {stalled} / {stall_status}");
    println!("PROBE fault fatal: {fatal}");
    Ok(format!("dropped={} stalls={} opens={}", s.dropped, s.stalls, s.opens))
}

/// Runs a shell command inside the VM (module loading), failing with its status.
fn shell(cmd: &str) -> Result<(), String> {
    let status = Command::new("sh").args(["-c", cmd]).status().map_err(|e| format!("{cmd}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd}: {status}")) }
}

/// Frames again within 30 s of `t0`, counting the errors on the way.
fn until_back(cam: &mut V4l2Camera, t0: Instant) -> Result<(u32, Frame), String> {
    let mut errors = 0;
    loop {
        match cam.next_frame() {
            Ok(Some(frame)) => return Ok((errors, frame)),
            _ if t0.elapsed() > Duration::from_secs(30) => return Err(format!("not back: {}", cam.status())),
            _ => errors += 1,
        }
    }
}

/// Mid-stream unplug: vivid's "Disconnect" makes every call fail with ENODEV like a pulled USB
/// cable, and re-registers the device once its last user closed it (a replug), so the camera
/// must drop the stream and come back. Then the driver is unloaded while the camera is closed
/// (`unload`: the node disappears) and loaded again (`load`).
fn unplug(device: &Path, unload: &str, load: &str) -> Result<String, String> {
    let mut cam = V4l2Camera::new(options(device)).map_err(|e| e.to_string())?;
    frames(&mut cam, 2)?;
    poke(device, "Disconnect", Value::None)?;
    let t0 = Instant::now();
    let gone = loop {
        match cam.next_frame() {
            Err(e) => break e,
            Ok(_) if t0.elapsed() > Duration::from_secs(10) => {
                return Err("still streaming after Disconnect".into());
            }
            Ok(_) => {}
        }
    };
    if !matches!(gone, CameraError::Disconnected(_)) || !cam.status().is_error() {
        return Err(format!("after Disconnect: {gone:?}, status {}", cam.status()));
    }
    println!("PROBE unplug gone: {}", cam.status());
    let (replug_errors, _) = until_back(&mut cam, t0)?;
    let replug_ms = t0.elapsed().as_millis();

    cam.close();
    shell(unload)?;
    if device.exists() {
        return Err(format!("{} still there after `{unload}`", device.display()));
    }
    let absent = cam.next_frame().err().map(|e| e.to_string()).unwrap_or_default();
    println!("PROBE unplug absent: {absent} / {}", cam.status());
    shell(load)?;
    let t1 = Instant::now();
    let (reload_errors, frame) = until_back(&mut cam, t1)?;
    Ok(format!(
        "replug_errors={replug_errors} replug_ms={replug_ms} reload_errors={reload_errors} reload_ms={} size={}x{} status=\"{}\"",
        t1.elapsed().as_millis(),
        frame.image.width(),
        frame.image.height(),
        cam.status()
    ))
}
