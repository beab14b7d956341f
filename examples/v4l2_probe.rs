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
//! 5. controls: exposure, white balance and gain locked and restored through the camera
//!    thread as the service does it, read back through a second handle: what the driver has
//!    is locked at its current value and restored exactly, what it lacks is reported absent;
//!    a reconnect and a stopped thread restore too;
//! 6. unplug: vivid's "Disconnect" mid-stream (and its automatic replug), then, when
//!    `PROBE_UNLOAD` / `PROBE_LOAD` name shell commands that unload and load the driver, the
//!    node vanishing and coming back.
//!
//! Exit status 0 when every check passed. Usage: `v4l2_probe [DEVICE] [RECOVERY_TIMEOUT_S]`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use livegate::camera::controls::{
    AUTO_WHITE_BALANCE, AUTOGAIN, Automatic, EXPOSURE_ABSOLUTE, EXPOSURE_AUTO, GAIN,
    WHITE_BALANCE_TEMPERATURE,
};
use livegate::camera::convert::PixelFormat;
use livegate::camera::{
    Camera, CameraError, CameraStatus, CaptureThread, ControlState, Frame, V4l2Camera, V4l2Options,
};
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
    // The camera's own log lines (opens, faults, the control lock) go to the console too.
    let _logging = livegate::logging::init();
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
    check("controls", controls(&device));
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

/// A control's name and V4L2 id.
type Named = (&'static str, u32);

/// The controls the lock touches, by name, as (switch, value) per automatic.
const CONTROLS: [(Automatic, Named, Named); 3] = [
    (Automatic::Exposure, ("exposure_auto", EXPOSURE_AUTO), ("exposure_absolute", EXPOSURE_ABSOLUTE)),
    (
        Automatic::WhiteBalance,
        ("auto_white_balance", AUTO_WHITE_BALANCE),
        ("white_balance_temperature", WHITE_BALANCE_TEMPERATURE),
    ),
    (Automatic::Gain, ("autogain", AUTOGAIN), ("gain", GAIN)),
];
/// How long a locked value must stay put (vivid's auto gain moves it every second).
const HELD: Duration = Duration::from_millis(1500);
const COMMAND: Duration = Duration::from_secs(2);

/// A control's value through `dev` (`None`: the driver has no such control).
fn read(dev: &Device, id: u32) -> Option<i64> {
    match dev.control(id).ok()?.value {
        Value::Integer(v) => Some(v),
        Value::Boolean(b) => Some(i64::from(b)),
        _ => None,
    }
}

fn write(dev: &Device, id: u32, v: i64) -> Result<(), String> {
    dev.set_control(Control { id, value: Value::Integer(v) }).map_err(|e| format!("set {id:#x}={v}: {e}"))
}

/// Every lock-related control the driver has, with its value.
fn snapshot(dev: &Device) -> Vec<(&'static str, i64)> {
    CONTROLS
        .iter()
        .flat_map(|(_, s, v)| [*s, *v])
        .filter_map(|(name, id)| read(dev, id).map(|v| (name, v)))
        .collect()
}

fn show(values: &[(&str, i64)]) -> String {
    values.iter().map(|(n, v)| format!("{n}:{v}")).collect::<Vec<_>>().join(",")
}

/// The switches among `values` (the driven values move while they are on).
fn switches<'a>(values: &[(&'a str, i64)]) -> Vec<(&'a str, i64)> {
    values.iter().filter(|(n, _)| n.contains("auto")).copied().collect()
}

/// Whether `id` changes within `within` (an automatic at work).
fn moves(dev: &Device, id: u32, within: Duration) -> bool {
    let (first, t0) = (read(dev, id), Instant::now());
    while t0.elapsed() < within {
        std::thread::sleep(Duration::from_millis(100));
        if read(dev, id) != first {
            return true;
        }
    }
    false
}

/// A camera thread as the service runs it, with a first frame.
fn thread_on(device: &Path, lock: bool) -> Result<CaptureThread, String> {
    let cam =
        V4l2Camera::new(V4l2Options { lock_controls: lock, ..options(device) }).map_err(|e| e.to_string())?;
    let thread = CaptureThread::v4l2(cam).map_err(|e| e.to_string())?;
    thread.next_frame(Duration::from_secs(10)).ok_or("no first frame")?;
    Ok(thread)
}

/// Locks through `thread`; checks the report against what `watch` shows the driver has, and
/// that every present automatic is off with its value held for [`HELD`].
fn lock_and_check(thread: &CaptureThread, watch: &Device) -> Result<String, String> {
    let before = snapshot(watch);
    let report = thread.lock_controls(COMMAND).ok_or("no lock report")?;
    let mut held = Vec::new();
    for (a, (switch_name, switch), (_, value)) in CONTROLS {
        let want = if read(watch, switch).is_some() { ControlState::Locked } else { ControlState::Absent };
        if report.of(a) != &want {
            return Err(format!("{} is {} but the driver says {want}", a.name(), report.of(a)));
        }
        if want == ControlState::Locked {
            let manual = if a == Automatic::Exposure { 1 } else { 0 };
            if read(watch, switch) != Some(manual) {
                return Err(format!("{switch_name} reads {:?} while locked", read(watch, switch)));
            }
            held.push((value, read(watch, value)));
        }
    }
    std::thread::sleep(HELD);
    for (id, v) in held {
        if read(watch, id) != v {
            return Err(format!("control {id:#x} moved from {v:?} to {:?} while locked", read(watch, id)));
        }
    }
    let locked = snapshot(watch);
    Ok(format!("before={} locked={}", show(&before), show(&locked)))
}

/// Exposure, white balance and gain locked and restored through our camera thread; vivid's
/// auto gain moves the gain every second, so a lock that does not hold shows.
fn controls(device: &Path) -> Result<String, String> {
    let watch = Device::with_path(device).map_err(|e| format!("control handle: {e}"))?;
    let present: Vec<&str> = CONTROLS
        .iter()
        .flat_map(|(_, s, v)| [*s, *v])
        .filter(|(_, id)| read(&watch, *id).is_some())
        .map(|(n, _)| n)
        .collect();
    let absent: Vec<&str> = CONTROLS
        .iter()
        .flat_map(|(_, s, v)| [*s, *v])
        .filter(|(_, id)| read(&watch, *id).is_none())
        .map(|(n, _)| n)
        .collect();
    println!("PROBE controls present={} absent={}", present.join(","), absent.join(","));
    // What else the driver offers, for the record (its own test controls left out).
    let names: Vec<String> = watch
        .query_controls()
        .map_err(|e| format!("query controls: {e}"))?
        .into_iter()
        .filter(|c| c.id < 0x00f0_0000 && c.typ != v4l::control::Type::CtrlClass)
        .map(|c| c.name)
        .collect();
    println!("PROBE controls driver offers: {}", names.join(", "));
    let original = snapshot(&watch);
    let gain_auto = read(&watch, AUTOGAIN) == Some(1);
    if gain_auto && !moves(&watch, GAIN, HELD + HELD) {
        return Err("gain does not move under auto gain before the lock".into());
    }

    // 1. Locked at the current values and held; restored: the switches as before, the
    //    automatics at work again.
    let thread = thread_on(device, true)?;
    let locked = lock_and_check(&thread, &watch)?;
    println!("PROBE controls report {}", serde_json::to_string(&thread.controls()).unwrap_or_default());
    println!("PROBE controls lock {locked}");
    thread.restore_controls(COMMAND);
    if thread.controls().is_some() {
        return Err("a lock is still reported after the restore".into());
    }
    if switches(&snapshot(&watch)) != switches(&original) {
        return Err(format!("restored to {} instead of {}", show(&snapshot(&watch)), show(&original)));
    }
    if gain_auto && !moves(&watch, GAIN, HELD + HELD) {
        return Err("gain does not move again after the restore".into());
    }

    // 2. A camera already in manual: the values read before come back exactly.
    write(&watch, AUTOGAIN, 0)?;
    write(&watch, GAIN, 77)?;
    let manual = snapshot(&watch);
    lock_and_check(&thread, &watch)?;
    thread.restore_controls(COMMAND);
    let after = snapshot(&watch);
    write(&watch, AUTOGAIN, 1)?;
    if after != manual {
        return Err(format!("manual camera restored to {} instead of {}", show(&after), show(&manual)));
    }

    // 3. A stream lost while locked: the reopened camera gets the values back, unlocked.
    lock_and_check(&thread, &watch)?;
    let (_, errors) = thread.counts();
    poke(device, "Inject Fatal Streaming Error", Value::None)?;
    let t0 = Instant::now();
    let waiting = |what: &str| {
        std::thread::sleep(Duration::from_millis(20));
        if t0.elapsed() > Duration::from_secs(15) {
            return Err(format!("no reconnect ({what}): {}", thread.status()));
        }
        Ok(())
    };
    while thread.counts().1 == errors {
        waiting("no error")?;
    }
    // A frame of the reopened stream (not one left from before the fault).
    let (frames, _) = thread.counts();
    while thread.counts().0 == frames {
        waiting("no frame")?;
    }
    let reconnected = snapshot(&watch);
    if thread.controls().is_some() || switches(&reconnected) != switches(&original) {
        return Err(format!("after a reconnect: {:?} {}", thread.controls(), show(&reconnected)));
    }

    // 4. The thread stopped (the service shutting down) while locked.
    lock_and_check(&thread, &watch)?;
    drop(thread);
    let stopped = snapshot(&watch);
    if switches(&stopped) != switches(&original) {
        return Err(format!("after the thread stopped: {}", show(&stopped)));
    }

    // 5. `lock_controls = false`: nothing is touched.
    let off = thread_on(device, false)?;
    let ignored = off.lock_controls(COMMAND);
    if ignored.is_some() || switches(&snapshot(&watch)) != switches(&original) {
        return Err(format!("lock_controls=false locked: {ignored:?} {}", show(&snapshot(&watch))));
    }
    drop(off);
    Ok(format!(
        "manual_restored={} reconnect_restored={} shutdown_restored={} disabled=untouched",
        show(&after),
        show(&reconnected),
        show(&stopped)
    ))
}
