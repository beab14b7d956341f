//! The part that touches the kernel: find and open a V4L2 capture node, negotiate, MMAP-stream,
//! read and set controls.
//!
//! Everything here is a thin layer over the `v4l` crate's ioctls; the choices (format, size,
//! retries) are made by pure code elsewhere, so this file only translates between the driver
//! and our types and turns `errno`s into messages an installer can act on.

use std::io;
use std::path::{Path, PathBuf};

use v4l::buffer::{Flags, Type};
use v4l::control::{Control, Value};
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::video::capture::Parameters;
use v4l::{Device, FourCC};

use super::V4l2Options;
use crate::camera::CameraError;
use crate::camera::controls::ControlDevice;
use crate::camera::convert::Layout;
use crate::camera::negotiate::{self, Offered, OfferedSize};

/// `ENODEV`: the device node exists no more (unplugged) or the driver went away.
const ENODEV: i32 = 19;

/// An open, negotiated device; streaming starts with the first [`OpenStream::read`].
pub(super) struct OpenStream {
    pub path: PathBuf,
    pub layout: Layout,
    stream: Option<MmapStream<'static>>,
    /// The node the stream runs on, for its controls (one open file for both).
    dev: Device,
}

/// What one read gave.
pub(super) enum Read<'a> {
    Buffer { data: &'a [u8], t_ms: Option<u64>, damaged: bool },
    TimedOut,
    Failed(io::Error),
}

/// Opens the configured device (or the first capture device) and negotiates a stream.
///
/// # Errors
/// [`CameraError::Disconnected`] when there is no device, [`CameraError::PermissionDenied`]
/// naming the `video` group, [`CameraError::Unusable`] when the node cannot capture anything
/// we can convert.
pub(super) fn open(opts: &V4l2Options) -> Result<OpenStream, CameraError> {
    let path = match &opts.device {
        Some(p) => p.clone(),
        None => first_capture_device()?,
    };
    let dev = Device::with_path(&path).map_err(|e| open_error(&path, &e))?;
    let caps = dev.query_caps().map_err(|e| match e.raw_os_error() {
        // ENOTTY from the kernel; ENOSYS where the ioctl is not passed on at all (qemu-user,
        // which runs our aarch64 tests in CI, answers so for a regular file).
        Some(libc::ENOTTY | libc::ENOSYS) => {
            CameraError::Unusable(format!("{}: not a V4L2 device", path.display()))
        }
        _ => open_error(&path, &e),
    })?;
    let (layout, how) = configure(&dev, &path, opts)?;
    tracing::info!(
        device = %path.display(),
        card = %caps.card,
        driver = %caps.driver,
        negotiated = %how,
        "camera opened"
    );
    let mut stream = MmapStream::with_buffers(&dev, Type::VideoCapture, opts.buffers)
        .map_err(|e| open_error(&path, &e))?;
    stream.set_timeout(std::time::Duration::from_millis(opts.stall_timeout_ms));
    Ok(OpenStream { path, layout, stream: Some(stream), dev })
}

/// Negotiates format, size and frame rate; returns the confirmed layout and a log line.
fn configure(dev: &Device, path: &Path, opts: &V4l2Options) -> Result<(Layout, String), CameraError> {
    let offered = offered(dev).map_err(|e| open_error(path, &e))?;
    let choice = negotiate::choose(&offered, opts.width, opts.height, opts.pixel_format)
        .map_err(|e| CameraError::Unusable(format!("{}: {e}", path.display())))?;
    let wanted = v4l::Format::new(choice.width, choice.height, FourCC::new(&choice.format.fourcc()));
    let got = dev.set_format(&wanted).map_err(|e| open_error(path, &e))?;
    if got.fourcc.repr != choice.format.fourcc() {
        let (p, f) = (path.display(), got.fourcc);
        return Err(CameraError::Unusable(format!(
            "{p}: asked for {choice}, the driver set {f} {}x{}",
            got.width, got.height
        )));
    }
    let fps = match dev.set_params(&Parameters::with_fps(opts.fps)) {
        Ok(p) if p.interval.numerator > 0 => {
            format!("{:.1} fps", p.interval.denominator as f32 / p.interval.numerator as f32)
        }
        Ok(_) => "driver-chosen fps".into(),
        Err(e) => format!("fps not settable ({e})"),
    };
    let layout =
        Layout { format: choice.format, width: got.width, height: got.height, stride: got.stride as usize };
    let how = format!(
        "offers {}; chose {choice}, driver confirmed {}x{} stride {} at {fps}",
        negotiate::describe(&offered),
        got.width,
        got.height,
        got.stride
    );
    Ok((layout, how))
}

impl OpenStream {
    /// Waits (up to the stall timeout) for the next buffer.
    pub fn read(&mut self) -> Read<'_> {
        let stream = self.stream.as_mut().expect("stream present until drop");
        match stream.next() {
            Ok((buf, meta)) => {
                let used = (meta.bytesused as usize).min(buf.len());
                let t_ms = meta
                    .flags
                    .contains(Flags::TIMESTAMP_MONOTONIC)
                    .then(|| (meta.timestamp.sec as u64) * 1000 + (meta.timestamp.usec as u64) / 1000)
                    .filter(|&t| t > 0);
                Read::Buffer { data: &buf[..used], t_ms, damaged: meta.flags.contains(Flags::ERROR) }
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Read::TimedOut,
            Err(e) => Read::Failed(e),
        }
    }
}

impl ControlDevice for OpenStream {
    fn read(&self, id: u32) -> io::Result<Option<i64>> {
        match self.dev.control(id) {
            Ok(Control { value: Value::Integer(v), .. }) => Ok(Some(v)),
            Ok(Control { value: Value::Boolean(b), .. }) => Ok(Some(i64::from(b))),
            Ok(Control { value, .. }) => Err(io::Error::other(format!("control {id:#x} holds {value:?}"))),
            // The driver knows no such control.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write(&mut self, id: u32, value: i64) -> io::Result<()> {
        // Booleans and menus too: the kernel reads them from the same integer.
        self.dev.set_control(Control { id, value: Value::Integer(value) })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        // v4l's stream panics in Drop when STREAMOFF fails with anything but ENODEV; a camera
        // fault must never take the service down, so contain it.
        let stream = self.stream.take();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(stream)));
    }
}

/// The message for a failed open/ioctl: what happened and, where we know, what to do.
pub(super) fn open_error(path: &Path, e: &io::Error) -> CameraError {
    let p = path.display();
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::NotFound, _) | (_, Some(ENODEV)) => {
            CameraError::Disconnected(format!("{p}: no such device (unplugged?); waiting for it"))
        }
        (io::ErrorKind::PermissionDenied, _) => CameraError::PermissionDenied(format!(
            "{p}: permission denied; the service user needs the `video` group \
             (sudo usermod -aG video <user>, then restart the service)"
        )),
        _ => CameraError::Disconnected(format!("{p}: {e}")),
    }
}

/// The read failure as a camera error (an unplug shows up as `ENODEV`).
pub(super) fn read_error(path: &Path, e: &io::Error) -> CameraError {
    match e.raw_os_error() {
        Some(ENODEV) => {
            CameraError::Disconnected(format!("{}: device gone (unplugged?); waiting for it", path.display()))
        }
        _ => CameraError::Disconnected(format!("{}: capture failed: {e}; reopening", path.display())),
    }
}

/// Formats and frame sizes the node offers for video capture.
fn offered(dev: &Device) -> io::Result<Vec<Offered>> {
    let mut out = Vec::new();
    for desc in dev.enum_formats()? {
        let sizes = dev
            .enum_framesizes(desc.fourcc)
            .unwrap_or_default()
            .into_iter()
            .map(|s| match s.size {
                FrameSizeEnum::Discrete(d) => OfferedSize::Discrete { width: d.width, height: d.height },
                FrameSizeEnum::Stepwise(s) => OfferedSize::Stepwise {
                    min_width: s.min_width,
                    max_width: s.max_width,
                    step_width: s.step_width,
                    min_height: s.min_height,
                    max_height: s.max_height,
                    step_height: s.step_height,
                },
            })
            .collect();
        out.push(Offered { fourcc: desc.fourcc.repr, sizes });
    }
    Ok(out)
}

/// The first `/dev/videoN` (lowest N) that offers a video-capture format.
fn first_capture_device() -> Result<PathBuf, CameraError> {
    let mut nodes: Vec<(u32, PathBuf)> = std::fs::read_dir("/dev")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    Some((name.strip_prefix("video")?.parse().ok()?, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes
        .into_iter()
        .map(|(_, p)| p)
        .find(|p| Device::with_path(p).and_then(|d| d.enum_formats()).is_ok_and(|f| !f.is_empty()))
        .ok_or_else(|| {
            CameraError::Disconnected("no V4L2 capture device under /dev/video*; waiting for one".into())
        })
}
