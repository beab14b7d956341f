//! Opening the configured screen (`[screen]`) as a running `screen` thread, and the PNG sink
//! that development machines and `livegate demo` use in place of glass.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use super::thread::FrameStats;
use super::{Canvas, Flush, Redraw, Scene, ScreenError, ScreenThread, View, ViewSender};
use super::{ScreenConfig, ScreenKind};

/// The name a screen is saved under by the PNG sink: one file per kind of screen, so a
/// directory of them shows everything a visitor met (`idle.png`, `challenge.png`, …).
pub fn scene_name(scene: &Scene) -> &'static str {
    match scene {
        Scene::Idle => "idle",
        Scene::Challenge(_) => "challenge",
        Scene::Pass => "pass",
        Scene::Fail { .. } => "fail",
        Scene::Timeout { .. } => "timeout",
        Scene::Lockout { .. } => "lockout",
        Scene::Error(_) => "error",
    }
}

/// PNG files in a directory; each flush replaces `<scene>.png` atomically (write, then
/// rename), so a reader never sees half a file.
pub struct PngDir {
    canvas: Canvas,
    redraw: Redraw,
    dir: PathBuf,
    name: &'static str,
}

impl PngDir {
    /// A `width × height` sink writing into `dir` (created if missing).
    ///
    /// # Errors
    /// [`ScreenError::Png`] when the directory cannot be created.
    pub fn create(dir: &Path, width: u32, height: u32) -> Result<Self, ScreenError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ScreenError::Png { path: dir.into(), reason: e.to_string() })?;
        let canvas = Canvas::new(width, height);
        Ok(Self { canvas, redraw: Redraw::new(), dir: dir.into(), name: "idle" })
    }

    fn render(&mut self, view: &View) -> Result<(), ScreenError> {
        self.name = scene_name(&view.scene);
        self.redraw.draw(view, &mut self.canvas);
        Ok(())
    }
}

impl Flush for PngDir {
    fn flush(&mut self) -> Result<(), ScreenError> {
        let path = self.dir.join(format!("{}.png", self.name));
        let tmp = self.dir.join(format!(".{}.part.png", self.name));
        self.canvas.save_png(&tmp)?;
        std::fs::rename(&tmp, &path).map_err(|e| ScreenError::Png { path, reason: e.to_string() })
    }
}

/// The PNG sink writes at most this many files a second, whatever `screen.max_fps` says.
pub const PNG_MAX_FPS: f32 = 2.0;

/// A started screen: the newest-wins view slot and the drawing thread.
pub struct Screen {
    pub views: ViewSender,
    pub thread: JoinHandle<FrameStats>,
    /// What is drawn on, for the log (`png /var/lib/livegate/screen 800×480`).
    pub describe: String,
}

/// Opens the configured screen and starts its thread; `Ok(None)` for `kind = "none"`.
///
/// # Errors
/// [`ScreenError`] naming the device, directory or pin that could not be opened.
pub fn open(cfg: &ScreenConfig) -> Result<Option<Screen>, ScreenError> {
    let spawned = |r: std::io::Result<(ViewSender, JoinHandle<FrameStats>)>, describe: String| {
        r.map(|(views, thread)| Some(Screen { views, thread, describe }))
            .map_err(|e| ScreenError::Draw(format!("cannot start the screen thread: {e}")))
    };
    match cfg.kind {
        ScreenKind::None => Ok(None),
        ScreenKind::Png => {
            let sink = PngDir::create(&cfg.path, cfg.width, cfg.height)?;
            let describe = format!("png {} {}×{}", cfg.path.display(), cfg.width, cfg.height);
            let render = |view: &View, sink: &mut PngDir| sink.render(view);
            // Encoding a PNG costs tens of ms and an SD card wears: a few files a second.
            let fps = cfg.max_fps.min(PNG_MAX_FPS);
            spawned(ScreenThread::spawn_with(sink, fps, render), describe)
        }
        ScreenKind::Framebuffer => {
            let fb = super::Framebuffer::open(&cfg.device)?;
            let g = fb.geometry();
            let describe = format!("framebuffer {} {}×{}", cfg.device.display(), g.width, g.height);
            spawned(ScreenThread::spawn_buffered(fb, cfg.max_fps), describe)
        }
        ScreenKind::Spi => {
            let panel = super::spi_rppal::RppalPanel::open(&cfg.spi)?;
            let s = cfg.spi.screen_size();
            let describe = format!(
                "spi {:?} /dev/spidev{}.{} {}×{}",
                cfg.spi.controller, cfg.spi.spi_bus, cfg.spi.cs, s.width, s.height
            );
            spawned(ScreenThread::spawn_buffered(panel, cfg.max_fps), describe)
        }
        #[cfg(feature = "simulator")]
        ScreenKind::Window => {
            let scale = if cfg.width <= 320 { 2 } else { 1 };
            let window = super::window::WindowTarget::new(cfg.width, cfg.height, scale, "livegate");
            spawned(ScreenThread::spawn(window, cfg.max_fps), format!("window {}×{}", cfg.width, cfg.height))
        }
        #[cfg(not(feature = "simulator"))]
        ScreenKind::Window => Err(ScreenError::Window(
            "this build has no window support (build with `--features simulator`)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::Status;

    #[test]
    fn the_png_sink_leaves_one_file_per_kind_of_screen() {
        let dir = std::env::temp_dir().join(format!("livegate-png-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = ScreenConfig {
            path: dir.join("screen"),
            width: 240,
            height: 240,
            max_fps: 100.0,
            ..ScreenConfig::default()
        };
        let screen = open(&cfg).unwrap().expect("png is a screen");
        let status = Status::default();
        for (name, scene) in [
            ("idle", Scene::Idle),
            ("pass", Scene::Pass),
            ("lockout", Scene::Lockout { remaining_ms: 5_000 }),
        ] {
            screen.views.send(View { scene, status, language: Default::default() });
            let path = cfg.path.join(format!("{name}.png"));
            let t0 = std::time::Instant::now();
            while !path.exists() && t0.elapsed().as_secs() < 10 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        drop(screen.views);
        let stats = screen.thread.join().unwrap();
        assert_eq!(stats.failed, 0);
        for name in ["idle", "pass", "lockout"] {
            let img = image::open(cfg.path.join(format!("{name}.png"))).unwrap();
            assert_eq!((img.width(), img.height()), (240, 240), "{name}");
        }
        let left: Vec<_> = std::fs::read_dir(&cfg.path).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 3, "no temporary files left: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_framebuffer_is_a_clear_error() {
        let cfg = ScreenConfig {
            kind: ScreenKind::Framebuffer,
            device: "/dev/no-such-fb".into(),
            ..ScreenConfig::default()
        };
        let e = open(&cfg).err().expect("no such device").to_string();
        assert!(e.contains("/dev/no-such-fb"), "{e}");
    }
}
