//! The drawing thread. Vision must never wait for a panel: the pipeline hands views to a
//! slot that holds only the newest one, and the thread named `screen` draws whatever is newest
//! when it is free, at most once per display refresh. A slow SPI panel therefore shows fewer
//! frames, never older ones.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;

use super::{Canvas, Redraw, ScreenError, View, draw};

/// The one thing `DrawTarget` lacks: pushing a finished frame to the glass (or file).
pub trait Flush {
    /// Show everything drawn since the last flush.
    ///
    /// # Errors
    /// The device's write error; the thread logs it and keeps going.
    fn flush(&mut self) -> Result<(), ScreenError>;
}

/// What the drawing thread did, returned when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub drawn: u64,
    /// Views replaced by a newer one before they were drawn.
    pub dropped: u64,
    /// Frames whose draw or flush failed.
    pub failed: u64,
}

#[derive(Default)]
struct Slot {
    latest: Option<View>,
    closed: bool,
    dropped: u64,
}

struct Shared {
    slot: Mutex<Slot>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending end; dropping it stops the thread after the view it is drawing.
pub struct ViewSender {
    shared: Arc<Shared>,
}

impl ViewSender {
    /// Offer a view; it replaces one not yet drawn. Never blocks on drawing.
    pub fn send(&self, view: View) {
        let mut slot = self.shared.lock();
        if slot.latest.replace(view).is_some() {
            slot.dropped += 1;
        }
        drop(slot);
        self.shared.ready.notify_one();
    }
}

impl Drop for ViewSender {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
    }
}

/// The `screen` thread.
pub struct ScreenThread;

impl ScreenThread {
    /// Start drawing on `target`, at most `max_fps` frames per second (the panel's refresh).
    ///
    /// # Errors
    /// When the OS cannot start a thread.
    pub fn spawn<T>(target: T, max_fps: f32) -> std::io::Result<(ViewSender, JoinHandle<FrameStats>)>
    where
        T: DrawTarget + Flush + Send + 'static,
        T::Color: From<Rgb888>,
        T::Error: std::fmt::Debug,
    {
        let render =
            |view: &View, target: &mut T| draw(view, target).map_err(|e| ScreenError::Draw(format!("{e:?}")));
        spawn_rendering(target, max_fps, render)
    }
}

/// A device that shows a back buffer [`Canvas`]: the screen thread redraws there only what
/// changed since the last view ([`Redraw`]) and pushes only those rows to the glass.
pub trait BackBuffer {
    fn back(&mut self) -> &mut Canvas;

    /// Show rows `[y0, y1)` of the back buffer; the rest of the glass already shows it.
    ///
    /// # Errors
    /// The device's write error; the thread logs it, and the next frame is pushed whole.
    fn flush_rows(&mut self, y0: u32, y1: u32) -> Result<(), ScreenError>;
}

/// A [`BackBuffer`] device with what its next flush has to push.
struct Buffered<T> {
    device: T,
    redraw: Redraw,
    rows: Option<(u32, u32)>,
}

impl<T: BackBuffer> Flush for Buffered<T> {
    fn flush(&mut self) -> Result<(), ScreenError> {
        let Some((y0, y1)) = self.rows.take() else { return Ok(()) };
        let r = self.device.flush_rows(y0, y1);
        if r.is_err() {
            self.redraw.invalidate(); // the glass may show anything now
        }
        r
    }
}

impl ScreenThread {
    /// Like [`ScreenThread::spawn`], for a device with a back buffer: each view redraws and
    /// pushes only what changed (the same pixels as drawing it whole).
    ///
    /// # Errors
    /// When the OS cannot start a thread.
    pub fn spawn_buffered<T: BackBuffer + Send + 'static>(
        device: T,
        max_fps: f32,
    ) -> std::io::Result<(ViewSender, JoinHandle<FrameStats>)> {
        let target = Buffered { device, redraw: Redraw::new(), rows: None };
        let render = |view: &View, t: &mut Buffered<T>| {
            let dirty = t.redraw.draw(view, t.device.back());
            let rows = dirty.map(|d| (d.top_left.y as u32, d.top_left.y as u32 + d.size.height));
            t.rows = match (t.rows, rows) {
                (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
                (a, b) => a.or(b),
            };
            Ok(())
        };
        spawn_rendering(target, max_fps, render)
    }
}

impl ScreenThread {
    /// Like [`ScreenThread::spawn`], for a sink that draws each view itself (the PNG sink
    /// names its file after the scene).
    ///
    /// # Errors
    /// When the OS cannot start a thread.
    pub fn spawn_with<T, R>(
        target: T,
        max_fps: f32,
        render: R,
    ) -> std::io::Result<(ViewSender, JoinHandle<FrameStats>)>
    where
        T: Flush + Send + 'static,
        R: FnMut(&View, &mut T) -> Result<(), ScreenError> + Send + 'static,
    {
        spawn_rendering(target, max_fps, render)
    }
}

/// The thread, with the drawing step given (tests record which view each frame showed).
fn spawn_rendering<T, R>(
    mut target: T,
    max_fps: f32,
    mut render: R,
) -> std::io::Result<(ViewSender, JoinHandle<FrameStats>)>
where
    T: Flush + Send + 'static,
    R: FnMut(&View, &mut T) -> Result<(), ScreenError> + Send + 'static,
{
    let shared = Arc::new(Shared { slot: Mutex::new(Slot::default()), ready: Condvar::new() });
    let period = Duration::from_secs_f32(1.0 / max_fps.clamp(0.1, 240.0));
    let inner = Arc::clone(&shared);
    let handle = std::thread::Builder::new().name("screen".into()).spawn(move || {
        let mut stats = FrameStats::default();
        while let Some(view) = next_view(&inner) {
            let started = Instant::now();
            if let Err(e) = render(&view, &mut target).and_then(|()| target.flush()) {
                stats.failed += 1;
                tracing::warn!(error = %e, "screen update failed");
            }
            stats.drawn += 1;
            if let Some(rest) = period.checked_sub(started.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        stats.dropped = inner.lock().dropped;
        stats
    })?;
    Ok((ViewSender { shared }, handle))
}

/// Wait for a view; `None` once the sender is gone and nothing is pending.
fn next_view(shared: &Shared) -> Option<View> {
    let mut slot = shared.lock();
    loop {
        if let Some(v) = slot.latest.take() {
            return Some(v);
        }
        if slot.closed {
            return None;
        }
        slot = shared.ready.wait(slot).unwrap_or_else(|p| p.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::{Canvas, Scene, Status};

    /// A canvas whose flush takes as long as a slow SPI panel and remembers which lockout
    /// time each frame showed.
    struct SlowPanel {
        canvas: Canvas,
        shown: Arc<Mutex<Vec<u64>>>,
        drawing: u64,
    }

    impl Flush for SlowPanel {
        fn flush(&mut self) -> Result<(), ScreenError> {
            std::thread::sleep(Duration::from_millis(40));
            self.shown.lock().unwrap().push(self.drawing);
            Ok(())
        }
    }

    fn lockout(ms: u64) -> View {
        View {
            scene: Scene::Lockout { remaining_ms: ms },
            status: Status::default(),
            language: Default::default(),
        }
    }

    #[test]
    fn a_slow_panel_drops_stale_views_instead_of_queueing_them() {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let panel = SlowPanel { canvas: Canvas::new(64, 48), shown: Arc::clone(&shown), drawing: 0 };
        let render = |view: &View, p: &mut SlowPanel| {
            if let Scene::Lockout { remaining_ms } = view.scene {
                p.drawing = remaining_ms;
            }
            let Ok(()) = draw(view, &mut p.canvas);
            Ok(())
        };
        let (tx, handle) = spawn_rendering(panel, 1000.0, render).unwrap();
        let t0 = Instant::now();
        for i in 1..=50u64 {
            tx.send(lockout(i * 1000));
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(t0.elapsed() < Duration::from_millis(50 * 2 + 100), "sending waited for the panel");
        drop(tx);
        let stats = handle.join().unwrap();
        let shown = shown.lock().unwrap().clone();
        assert_eq!(stats.drawn as usize, shown.len());
        assert!(shown.len() < 10, "drew {} of 50 views", shown.len());
        assert_eq!(stats.drawn + stats.dropped, 50);
        assert_eq!(*shown.last().unwrap(), 50_000, "the newest view is always drawn");
        assert!(shown.windows(2).all(|w| w[0] < w[1]), "never an older view after a newer one");
    }

    /// A device whose glass only learns the rows it is sent.
    struct Glass {
        back: Canvas,
        glass: Arc<Mutex<Canvas>>,
        rows_sent: Arc<Mutex<u32>>,
    }

    impl BackBuffer for Glass {
        fn back(&mut self) -> &mut Canvas {
            &mut self.back
        }

        fn flush_rows(&mut self, y0: u32, y1: u32) -> Result<(), ScreenError> {
            let mut glass = self.glass.lock().unwrap();
            for y in y0..y1 {
                for (x, c) in self.back.row(y).iter().enumerate() {
                    Pixel(Point::new(x as i32, y as i32), *c).draw(&mut *glass).unwrap();
                }
            }
            *self.rows_sent.lock().unwrap() += y1 - y0;
            Ok(())
        }
    }

    #[test]
    fn a_buffered_device_is_sent_the_changed_rows_and_ends_showing_the_last_view() {
        let glass = Arc::new(Mutex::new(Canvas::new(320, 240)));
        let rows_sent = Arc::new(Mutex::new(0));
        let device = Glass {
            back: Canvas::new(320, 240),
            glass: Arc::clone(&glass),
            rows_sent: Arc::clone(&rows_sent),
        };
        let (tx, handle) = ScreenThread::spawn_buffered(device, 240.0).unwrap();
        let frame = Arc::new(image::RgbImage::from_pixel(640, 480, image::Rgb([90, 60, 30])));
        let views: Vec<View> = crate::screen::samples::samples(frame).into_iter().map(|(_, v)| v).collect();
        for v in views.iter().chain([&views[0], &views[0], &views[3]]) {
            tx.send(v.clone());
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(tx);
        let stats = handle.join().unwrap();
        let mut want = Canvas::new(320, 240);
        let Ok(()) = draw(&views[3], &mut want);
        assert!(*glass.lock().unwrap() == want, "the glass shows the last view");
        assert!(*rows_sent.lock().unwrap() < stats.drawn as u32 * 240, "not every frame was sent whole");
    }

    #[test]
    fn frames_are_capped_at_the_refresh_rate() {
        let shown = Arc::new(Mutex::new(Vec::new()));
        struct Quick(Arc<Mutex<Vec<Instant>>>);
        impl Flush for Quick {
            fn flush(&mut self) -> Result<(), ScreenError> {
                self.0.lock().unwrap().push(Instant::now());
                Ok(())
            }
        }
        let (tx, handle) =
            spawn_rendering(Quick(Arc::clone(&shown)), 20.0, |_: &View, _: &mut Quick| Ok(())).unwrap();
        for i in 0..40u64 {
            tx.send(lockout(i));
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(tx);
        handle.join().unwrap();
        let times = shown.lock().unwrap().clone();
        assert!(times.len() >= 3);
        assert!(times.windows(2).all(|w| w[1] - w[0] >= Duration::from_millis(49)));
    }
}
