//! Redrawing only what changed. A door screen mostly shows the same challenge view with a new
//! camera frame and a moved nose marker: the background, the instruction, the time bar and
//! the status bar stay as they were. [`Redraw`] remembers the last view it drew on a canvas
//! and redraws, for the next one, only the rectangles where the two can differ, with exactly
//! the pixels a full [`super::draw()`] would give (the tests compare byte for byte).

use std::sync::Arc;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::Canvas;
use super::draw::draw_in;
use super::glyphs;
use super::preview::{overlay_bounds, preview_rect, time_track};
use super::style::Style;
use super::view::{Challenge, Scene, Status, View};

/// Draws views onto one canvas, each over the one before.
#[derive(Debug, Default)]
pub struct Redraw {
    /// The view the canvas shows, and the canvas size it was drawn at.
    last: Option<(View, Size)>,
}

impl Redraw {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget the last view: the next [`Redraw::draw`] draws everything (after the canvas was
    /// drawn on by someone else, or a device missed a frame).
    pub fn invalidate(&mut self) {
        self.last = None;
    }

    /// Draw `view` on `canvas`, which must still show what the previous call drew there.
    /// Returns the bounding box of the pixels that may have changed (`None`: none did).
    pub fn draw(&mut self, view: &View, canvas: &mut Canvas) -> Option<Rectangle> {
        let size = canvas.size();
        let screen = canvas.bounding_box();
        let dirty = match &self.last {
            Some((last, last_size)) if *last_size == size => changed(last, view, &Style::for_screen(screen)),
            _ => Some(vec![screen]),
        };
        let dirty = prune(dirty.unwrap_or_else(|| vec![screen]));
        if !dirty.is_empty() {
            let Ok(()) = draw_in(view, canvas, &dirty);
        }
        self.last = Some((view.clone(), size));
        dirty.into_iter().reduce(|a, b| envelope(&a, &b))
    }
}

/// Where `next` can differ from `last` on the same screen; `None` for "anywhere".
fn changed(last: &View, next: &View, s: &Style) -> Option<Vec<Rectangle>> {
    if last.language != next.language {
        return None;
    }
    let mut dirty = Vec::new();
    if last.status != next.status {
        dirty.extend(status_bounds(s, last.status));
        dirty.extend(status_bounds(s, next.status));
    }
    match (&last.scene, &next.scene) {
        (Scene::Challenge(a), Scene::Challenge(b)) => dirty.extend(challenge_changes(a, b, s)?),
        (a, b) if a == b => {}
        _ => return None,
    }
    Some(dirty)
}

/// Two challenge views with the same instruction and camera size differ at most in the
/// preview, the overlay (old and new place) and the time bar.
fn challenge_changes(a: &Challenge, b: &Challenge, s: &Style) -> Option<Vec<Rectangle>> {
    let (ga, gb) = (&a.geometry, &b.geometry);
    if a.prompt != b.prompt || a.flash != b.flash || (ga.width, ga.height) != (gb.width, gb.height) {
        return None;
    }
    let mut dirty = Vec::new();
    let same_frame = match (&a.frame, &b.frame) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        (None, None) => true,
        _ => false,
    };
    let overlay_same = a.phase == b.phase && a.nose == b.nose && ga == gb;
    if !same_frame || !overlay_same {
        // Old and new overlay, and under them the preview (or the background it covered).
        dirty.extend(overlay_bounds(s, a));
        dirty.extend(overlay_bounds(s, b));
    }
    if !same_frame {
        dirty.extend(preview_rect(s, b));
    }
    if a.remaining_fraction.to_bits() != b.remaining_fraction.to_bits() {
        dirty.push(time_track(s, b));
    }
    Some(dirty)
}

/// The pixels the status bar draws for `status`.
fn status_bounds(s: &Style, status: Status) -> Option<Rectangle> {
    let mut rec = Recorder::new(s.screen);
    let Ok(()) = glyphs::status_bar(&mut rec, s, status);
    rec.bounds()
}

/// The non-empty rectangles not inside another one (the overlay usually lies inside the
/// preview, which is redrawn anyway).
fn prune(rects: Vec<Rectangle>) -> Vec<Rectangle> {
    let inside = |r: &Rectangle, o: &Rectangle| o.intersection(r) == *r;
    let covered = |i: usize, r: &Rectangle| {
        rects.iter().enumerate().any(|(j, o)| j != i && inside(r, o) && (j < i || !inside(o, r)))
    };
    rects.iter().enumerate().filter(|&(i, r)| !r.is_zero_sized() && !covered(i, r)).map(|(_, r)| *r).collect()
}

/// The smallest rectangle holding both.
fn envelope(a: &Rectangle, b: &Rectangle) -> Rectangle {
    let x0 = a.top_left.x.min(b.top_left.x);
    let y0 = a.top_left.y.min(b.top_left.y);
    let x1 = (a.top_left.x + a.size.width as i32).max(b.top_left.x + b.size.width as i32);
    let y1 = (a.top_left.y + a.size.height as i32).max(b.top_left.y + b.size.height as i32);
    Rectangle::new(Point::new(x0, y0), Size::new((x1 - x0) as u32, (y1 - y0) as u32))
}

/// A target that only draws inside a few rectangles of its parent, and reports the parent's
/// size (layouts follow the whole screen, not the clip).
pub struct Clip<'a, T> {
    parent: &'a mut T,
    rects: &'a [Rectangle],
}

impl<'a, T> Clip<'a, T> {
    pub fn new(parent: &'a mut T, rects: &'a [Rectangle]) -> Self {
        Self { parent, rects }
    }
}

impl<T: DrawTarget> Dimensions for Clip<'_, T> {
    fn bounding_box(&self) -> Rectangle {
        self.parent.bounding_box()
    }
}

impl<T: DrawTarget> DrawTarget for Clip<'_, T> {
    type Color = T::Color;
    type Error = T::Error;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        let rects = self.rects;
        self.parent.draw_iter(pixels.into_iter().filter(|Pixel(p, _)| rects.iter().any(|r| r.contains(*p))))
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        for r in self.rects {
            let part = area.intersection(r);
            if !part.is_zero_sized() {
                self.parent.fill_solid(&part, color)?;
            }
        }
        Ok(())
    }
}

/// A target that draws nothing and remembers the bounding box of what it was asked to draw
/// inside `screen`.
pub struct Recorder {
    screen: Rectangle,
    bounds: Option<Rectangle>,
}

impl Recorder {
    pub fn new(screen: Rectangle) -> Self {
        Self { screen, bounds: None }
    }

    pub fn bounds(&self) -> Option<Rectangle> {
        self.bounds
    }

    fn add(&mut self, r: &Rectangle) {
        let r = r.intersection(&self.screen);
        if !r.is_zero_sized() {
            self.bounds = Some(self.bounds.map_or(r, |b| envelope(&b, &r)));
        }
    }
}

impl Dimensions for Recorder {
    fn bounding_box(&self) -> Rectangle {
        self.screen
    }
}

impl DrawTarget for Recorder {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, _) in pixels {
            self.add(&Rectangle::new(p, Size::new(1, 1)));
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, _: Self::Color) -> Result<(), Self::Error> {
        self.add(area);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use image::RgbImage;

    use super::*;
    use crate::liveness::ChallengeGeometry;
    use crate::liveness::session::{Phase, Reason};
    use crate::screen::draw;
    use crate::screen::samples::samples;
    use crate::screen::view::{Fault, Prompt};

    /// A different, busy camera frame for every seed.
    fn frame(seed: u32) -> Arc<RgbImage> {
        Arc::new(RgbImage::from_fn(640, 480, |x, y| {
            let v = (x * 7 + y * 13 + seed * 101) ^ (x * y + seed);
            image::Rgb([v as u8, (v >> 3) as u8, (v >> 6) as u8 ^ seed as u8])
        }))
    }

    fn challenge(seed: u32, phase: Phase, nose: Option<[f32; 2]>, fraction: f32, i: Prompt) -> View {
        let geometry = ChallengeGeometry::new(640, 480, crate::screen::samples::SAMPLE_TARGET);
        View {
            scene: Scene::Challenge(Challenge {
                frame: Some(frame(seed)),
                geometry,
                nose,
                phase,
                remaining_fraction: fraction,
                remaining_ms: 5_000,
                prompt: i,
                flash: None,
            }),
            status: Status::default(),
            language: Default::default(),
        }
    }

    /// What a door sees in a session and around it: moving noses (in the picture, on its
    /// edges, far outside it, into the instruction), phase and instruction changes, a
    /// running time bar, status changes, frames missing or repeated, other scenes between.
    fn sequence() -> Vec<View> {
        use Prompt::*;
        let mut views = Vec::new();
        let noses = [
            Some([320.0, 240.0]),
            Some([330.0, 250.0]),
            None,
            Some([0.0, 0.0]),
            Some([639.0, 479.0]),
            Some([600.0, 470.0]),
            Some([-80.0, 600.0]),
            Some([405.0, 290.0]),
            Some([700.0, -50.0]),
            Some([320.0, 520.0]),
        ];
        for (k, nose) in noses.iter().enumerate() {
            let k = k as u32;
            views.push(challenge(k, Phase::Nose, *nose, 0.5, MoveNose));
        }
        views.push(challenge(20, Phase::Face, None, 1.0, LookAtCamera));
        views.push(challenge(21, Phase::Area, Some([300.0, 200.0]), 0.9, LookAtCamera));
        views.push(challenge(22, Phase::Area, Some([300.0, 200.0]), 0.9, ComeCloser));
        views.push(challenge(23, Phase::Nose, Some([310.0, 210.0]), 0.3, MoveNose));
        views.push(challenge(24, Phase::Nose, Some([320.0, 220.0]), 0.2, MoveNose));
        views.push(challenge(25, Phase::Done, Some([405.0, 290.0]), 0.0, HoldStill));
        let mut same = challenge(25, Phase::Done, Some([405.0, 290.0]), 0.0, HoldStill);
        views.push(same.clone());
        if let Scene::Challenge(c) = &mut same.scene {
            c.nose = Some([350.0, 300.0]); // the same frame (Arc), only the nose moved
        }
        views.push(same.clone());
        let mut offline = challenge(26, Phase::Nose, Some([350.0, 300.0]), 0.7, MoveNose);
        offline.status = Status { camera_ok: false, broker_connected: false };
        views.push(offline.clone());
        if let Scene::Challenge(c) = &mut offline.scene {
            c.frame = None;
        }
        views.push(offline.clone());
        views.push(challenge(27, Phase::Nose, Some([350.0, 300.0]), 0.7, MoveNose));
        let mut small = challenge(28, Phase::Nose, Some([100.0, 100.0]), 0.7, MoveNose);
        if let Scene::Challenge(c) = &mut small.scene {
            c.frame = Some(Arc::new(RgbImage::new(320, 240)));
            c.geometry = ChallengeGeometry::new(320, 240, crate::screen::samples::SAMPLE_TARGET);
        }
        views.push(small);
        views.push(challenge(29, Phase::Nose, Some([350.0, 300.0]), 0.7, MoveNose));
        let status = Status { camera_ok: true, broker_connected: false };
        for scene in [
            Scene::Pass,
            Scene::Pass,
            Scene::Fail { reason: Reason::NoRotation },
            Scene::Lockout { remaining_ms: 545_000 },
            Scene::Lockout { remaining_ms: 544_000 },
            Scene::Error(Fault::Other("disk full".into())),
        ] {
            views.push(View {
                scene: scene.clone(),
                status: Status::default(),
                language: Default::default(),
            });
            views.push(View { scene, status, language: Default::default() });
        }
        views.push(challenge(30, Phase::Face, None, 1.0, LookAtCamera));
        views.extend(samples(frame(31)).into_iter().map(|(_, v)| v));
        views
    }

    #[test]
    fn redrawing_what_changed_gives_the_pixels_of_a_full_draw() {
        for (w, h) in [(800, 480), (320, 240), (240, 240), (480, 800), (64, 48)] {
            let mut canvas = Canvas::new(w, h);
            let mut redraw = Redraw::new();
            for (n, view) in sequence().iter().enumerate() {
                let before = canvas.clone();
                let dirty = redraw.draw(view, &mut canvas);
                let mut full = Canvas::new(w, h);
                let Ok(()) = draw(view, &mut full);
                assert!(canvas == full, "view {n} at {w}x{h} differs from a full draw");
                // Every pixel that changed lies in the reported area.
                for y in 0..h {
                    for x in 0..w {
                        if before.pixel(x, y) != canvas.pixel(x, y) {
                            let inside = dirty.is_some_and(|d| d.contains(Point::new(x as i32, y as i32)));
                            assert!(inside, "view {n} at {w}x{h}: ({x}, {y}) changed outside {dirty:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_challenge_frame_redraws_the_preview_not_the_screen() {
        let mut canvas = Canvas::new(800, 480);
        let mut redraw = Redraw::new();
        let first =
            redraw.draw(&challenge(1, Phase::Nose, Some([320.0, 240.0]), 0.5, Prompt::MoveNose), &mut canvas);
        assert_eq!(first, Some(canvas.bounding_box()));
        let next = challenge(2, Phase::Nose, Some([330.0, 250.0]), 0.5, Prompt::MoveNose);
        let dirty = redraw.draw(&next, &mut canvas).expect("a new frame changes the preview");
        let s = Style::for_screen(canvas.bounding_box());
        let Scene::Challenge(c) = &next.scene else { unreachable!() };
        assert_eq!(Some(dirty), preview_rect(&s, c), "only the preview");
        assert_eq!(redraw.draw(&next, &mut canvas), None, "the same view again changes nothing");
    }

    #[test]
    fn rectangles_inside_others_are_not_redrawn_twice() {
        let r = |x, y, w, h| Rectangle::new(Point::new(x, y), Size::new(w, h));
        let big = r(10, 10, 100, 100);
        let rects = vec![r(20, 20, 5, 5), big, r(0, 0, 0, 0), big, r(105, 50, 10, 10)];
        assert_eq!(prune(rects), vec![big, r(105, 50, 10, 10)]);
    }

    #[test]
    fn a_clipped_draw_changes_only_the_clip_and_matches_a_full_draw_there() {
        let clip = [
            Rectangle::new(Point::new(100, 300), Size::new(500, 120)),
            Rectangle::new(Point::new(700, 0), Size::new(100, 40)),
        ];
        for (_, view) in samples(frame(3)) {
            let mut full = Canvas::new(800, 480);
            let Ok(()) = draw(&view, &mut full);
            let mut part = Canvas::new(800, 480);
            let Ok(()) = draw_in(&view, &mut part, &clip);
            for y in 0..480 {
                for x in 0..800 {
                    let inside = clip.iter().any(|r| r.contains(Point::new(x as i32, y as i32)));
                    let want = if inside { full.pixel(x, y) } else { Some(Rgb888::BLACK) };
                    assert_eq!(part.pixel(x, y), want, "({x}, {y})");
                }
            }
        }
    }
}
