//! `livegate screens --out DIR`: every UI state rendered to PNG at the given sizes, for the
//! docs, for design reviews and as the golden images of `tests/screens.rs`. The challenge
//! screens use the shipped camera frame with the nose the int8 mesh finds in it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use image::RgbImage;

use super::{Exit, LOG_TARGET};
use crate::screen::samples::samples_in;
use crate::screen::{Canvas, Language, View, draw};

/// The shipped frame the challenge screens show.
pub const FRAME: &str = "assets/frame_640x480.jpg";

/// One view rendered at one size.
pub fn render(view: &View, width: u32, height: u32) -> Canvas {
    let mut canvas = Canvas::new(width, height);
    let Ok(()) = draw(view, &mut canvas);
    canvas
}

/// "240x240,800x480" → [(240, 240), (800, 480)].
///
/// # Errors
/// A size that is not `WxH` with both at least 64.
pub fn parse_sizes(s: &str) -> anyhow::Result<Vec<(u32, u32)>> {
    s.split(',')
        .map(|part| {
            let (w, h) = part.trim().split_once('x').with_context(|| format!("size {part:?} is not WxH"))?;
            let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
            if w < 64 || h < 64 || w > 4096 || h > 4096 {
                bail!("size {part:?} must be between 64 and 4096 pixels each way");
            }
            Ok((w, h))
        })
        .collect()
}

/// The file a sample is written to: `DIR/NAME_WxH.png`.
pub fn file_name(name: &str, (w, h): (u32, u32)) -> String {
    format!("{name}_{w}x{h}.png")
}

/// Load the sample frame.
///
/// # Errors
/// When the frame cannot be read or decoded.
pub fn load_frame(path: &Path) -> anyhow::Result<Arc<RgbImage>> {
    let img =
        image::open(path).with_context(|| format!("cannot read the sample frame {}", path.display()))?;
    Ok(Arc::new(img.to_rgb8()))
}

/// Render every sample at every size into `out`; returns the files written.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_all(
    out: &Path,
    sizes: &[(u32, u32)],
    frame: Arc<RgbImage>,
    language: Language,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for (name, view) in samples_in(frame, language) {
        for &size in sizes {
            let path = out.join(file_name(name, size));
            render(&view, size.0, size.1).save_png(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Show every sample on a framebuffer device through the drawing thread, `dwell` each (an
/// installer's check that the HDMI/DSI panel works); returns the geometry the kernel reported.
///
/// # Errors
/// When the device cannot be opened or a frame cannot be written.
pub fn show_on_framebuffer(
    path: &Path,
    frame: Arc<RgbImage>,
    language: Language,
    dwell: std::time::Duration,
) -> anyhow::Result<crate::screen::fbdev::FbGeometry> {
    let fb = crate::screen::Framebuffer::open(path)?;
    let geometry = fb.geometry();
    let (tx, handle) = crate::screen::ScreenThread::spawn(fb, 30.0)?;
    for (_, view) in samples_in(frame, language) {
        tx.send(view);
        std::thread::sleep(dwell);
    }
    drop(tx);
    let stats = handle.join().map_err(|_| anyhow::anyhow!("the screen thread panicked"))?;
    if stats.failed > 0 {
        bail!("{} of {} frames could not be written to {}", stats.failed, stats.drawn, path.display());
    }
    Ok(geometry)
}

/// Show every sample in a desktop window through the real drawing thread, `dwell` each.
///
/// # Errors
/// When the thread cannot start or the window was closed.
#[cfg(feature = "simulator")]
pub fn show_in_window(
    size: (u32, u32),
    frame: Arc<RgbImage>,
    language: Language,
    dwell: std::time::Duration,
) -> anyhow::Result<()> {
    use crate::screen::ScreenThread;
    use crate::screen::window::WindowTarget;
    let scale = if size.0 <= 320 { 2 } else { 1 };
    let (tx, handle) =
        ScreenThread::spawn(WindowTarget::new(size.0, size.1, scale, "livegate screens"), 30.0)?;
    for (name, view) in samples_in(frame, language) {
        tracing::info!("showing {name}");
        tx.send(view);
        std::thread::sleep(dwell);
    }
    drop(tx);
    let stats = handle.join().map_err(|_| anyhow::anyhow!("the screen thread panicked"))?;
    if stats.failed > 0 {
        bail!("{} of {} frames failed to show", stats.failed, stats.drawn);
    }
    Ok(())
}

/// What `livegate screens` is asked to do: its command-line arguments (clap reads the field
/// docs as their help).
#[derive(Debug, Clone, clap::Args)]
pub struct ScreensCommand {
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Comma-separated WxH sizes.
    #[arg(long, default_value = "240x240,800x480")]
    pub sizes: String,
    /// The camera frame shown on the challenge screens.
    #[arg(long, default_value = FRAME)]
    pub frame: PathBuf,
    /// Also show every screen on this framebuffer device (e.g. /dev/fb0), at its own size.
    #[arg(long, value_name = "DEVICE")]
    pub fbdev: Option<PathBuf>,
    /// Seconds each screen stays on the framebuffer or window.
    #[arg(long, default_value_t = 2.0)]
    pub dwell: f32,
    /// The language of the words: en, de, fr or es (`[screen] language`).
    #[arg(long, default_value = "en")]
    pub language: Language,
    /// Also show each screen in a window, at the first size.
    #[cfg(feature = "simulator")]
    #[arg(long)]
    pub window: bool,
}

/// Writes every screen at every size to `out`, then shows them where `cmd` asks.
///
/// # Errors
/// A bad size, an unreadable frame, or a file, framebuffer or window that fails.
pub fn exec(cmd: ScreensCommand) -> anyhow::Result<Exit> {
    let sizes = parse_sizes(&cmd.sizes)?;
    let frame = load_frame(&cmd.frame)?;
    let written = write_all(&cmd.out, &sizes, Arc::clone(&frame), cmd.language)?;
    tracing::info!(target: LOG_TARGET, "wrote {} screens to {}", written.len(), cmd.out.display());
    let dwell = std::time::Duration::from_secs_f32(cmd.dwell.clamp(0.0, 600.0));
    if let Some(dev) = &cmd.fbdev {
        let g = show_on_framebuffer(dev, Arc::clone(&frame), cmd.language, dwell)?;
        tracing::info!(target: LOG_TARGET, "showed every screen on {}: {g:?}", dev.display());
    }
    #[cfg(feature = "simulator")]
    if cmd.window {
        show_in_window(sizes[0], frame, cmd.language, dwell)?;
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_sizes_say_why() {
        assert_eq!(parse_sizes("240x240, 800x480").unwrap(), vec![(240, 240), (800, 480)]);
        assert!(parse_sizes("240").unwrap_err().to_string().contains("not WxH"));
        assert!(parse_sizes("10x10").unwrap_err().to_string().contains("between"));
    }
}
