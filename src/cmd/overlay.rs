//! `verify --overlay DIR`: each replayed frame as a PNG with what the challenge runner saw
//! drawn on it, so an installer can see why a visitor was refused: the face area (and the
//! grown box the face must stay inside during the Nose state), the target and its hit zone,
//! the face box, the nose's path so far, the tracked keypoints and a one-line header.
//!
//! Drawn in raw camera pixels (not mirrored, as the networks see the frame) with
//! embedded-graphics onto the frame itself; anything outside the frame is clipped, never a
//! panic.

use std::path::{Path, PathBuf};

use anyhow::Context;
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, Polyline, PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};
use image::RgbImage;

use crate::liveness::ChallengeGeometry;
use crate::liveness::geometry::grow;
use crate::pipeline::FrameTrace;
use crate::vision::Rect;

/// The face area (where the face must be to start the Nose state).
const AREA: Rgb888 = Rgb888::new(255, 255, 255);
/// The area grown by `nose_area_growth`: the Nose state fails when the face leaves it.
const AREA_GROWN: Rgb888 = Rgb888::new(128, 128, 128);
/// The target square as the visitor sees it.
const TARGET: Rgb888 = Rgb888::new(255, 220, 0);
/// The hit zone: the nose counts as in the target inside it.
const HIT: Rgb888 = Rgb888::new(255, 140, 0);
/// The followed face (one face counted) and more than one face counted.
const FACE: Rgb888 = Rgb888::new(0, 230, 0);
const FACES: Rgb888 = Rgb888::new(255, 40, 40);
const NOSE_PATH: Rgb888 = Rgb888::new(0, 220, 255);
const KEYPOINT: Rgb888 = Rgb888::new(255, 0, 255);
/// Half the arm of a keypoint's cross, pixels.
const CROSS: i32 = 3;

/// An `RgbImage` as an embedded-graphics target; pixels outside the image are dropped.
struct ImageTarget<'a>(&'a mut RgbImage);

impl OriginDimensions for ImageTarget<'_> {
    fn size(&self) -> Size {
        Size::new(self.0.width(), self.0.height())
    }
}

impl DrawTarget for ImageTarget<'_> {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        let (w, h) = self.0.dimensions();
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < w && (p.y as u32) < h {
                self.0.put_pixel(p.x as u32, p.y as u32, image::Rgb([c.r(), c.g(), c.b()]));
            }
        }
        Ok(())
    }
}

/// The nearest pixel to a point, saturated to what embedded-graphics can hold (a NaN becomes 0,
/// far-away values stay far away and are clipped).
fn point(p: [f32; 2]) -> Point {
    let c = |v: f32| v.clamp(-1e6, 1e6).round() as i32;
    Point::new(c(p[0]), c(p[1]))
}

/// Draws a rectangle's outline; an empty or non-finite rectangle draws nothing.
fn outline(t: &mut ImageTarget<'_>, r: Rect, color: Rgb888, width: u32) {
    if !(r.x.is_finite() && r.y.is_finite() && r.w.is_finite() && r.h.is_finite()) || r.w < 1.0 || r.h < 1.0 {
        return;
    }
    let rect = Rectangle::new(point([r.x, r.y]), Size::new(r.w.round() as u32, r.h.round() as u32));
    let _ = rect.into_styled(PrimitiveStyle::with_stroke(color, width)).draw(t);
}

/// The name a value has in JSON (`no_rotation`), for enums serialised as strings.
pub fn name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The text of the header line: time, phase, faces, turn and keypoints, and the decision.
pub fn header(trace: &FrameTrace) -> String {
    let phase = trace.phase.map_or("-".into(), name);
    let mut s = format!("{} ms  {phase}  faces {}", trace.t_ms, trace.faces);
    if trace.detector_ran {
        s.push('*');
    }
    if let Some(yaw) = trace.yaw {
        s.push_str(&format!("  yaw {yaw:+.1}"));
    }
    if let Some(turn) = trace.turn_deg {
        s.push_str(&format!("  turn {turn:+.1}"));
    }
    if trace.points_seeded > 0 {
        s.push_str(&format!("  pts {}/{}", trace.points_kept, trace.points_seeded));
    }
    if let Some(m) = trace.motion {
        s.push_str(&format!("  motion {m:.4}"));
    }
    if let Some(d) = &trace.decision {
        let reason = d.reason.map_or(String::new(), |r| format!(" {}", name(r)));
        s.push_str(&format!("  => {}{reason}", name(d.result)));
    }
    if trace.skipped.is_some() {
        s.push_str("  skipped");
    }
    s
}

/// Draws one frame's trace onto `img`; `path` is the nose's path so far (this frame's
/// included), `nose_area_growth` the liveness key the grown box is drawn with.
pub fn draw(
    img: &mut RgbImage,
    geometry: &ChallengeGeometry,
    nose_area_growth: f32,
    trace: &FrameTrace,
    path: &[[f32; 2]],
) {
    let mut t = ImageTarget(img);
    outline(&mut t, grow(geometry.area, nose_area_growth), AREA_GROWN, 1);
    outline(&mut t, geometry.area, AREA, 1);
    outline(&mut t, geometry.hit_box(), HIT, 1);
    outline(&mut t, geometry.target, TARGET, 2);
    if let Some(b) = trace.face_box {
        outline(&mut t, b, if trace.faces >= 2 { FACES } else { FACE }, 2);
    }
    if path.len() >= 2 {
        let pts: Vec<Point> = path.iter().copied().map(point).collect();
        let _ = Polyline::new(&pts).into_styled(PrimitiveStyle::with_stroke(NOSE_PATH, 1)).draw(&mut t);
    }
    for p in trace.points.iter().copied().map(point) {
        let style = PrimitiveStyle::with_stroke(KEYPOINT, 1);
        let _ = Line::new(p - Point::new(CROSS, 0), p + Point::new(CROSS, 0)).into_styled(style).draw(&mut t);
        let _ = Line::new(p - Point::new(0, CROSS), p + Point::new(0, CROSS)).into_styled(style).draw(&mut t);
    }
    // A dark strip keeps the header readable on any background.
    let strip = Rectangle::new(Point::zero(), Size::new(t.size().width, 12));
    let _ = strip.into_styled(PrimitiveStyle::with_fill(Rgb888::BLACK)).draw(&mut t);
    let style = MonoTextStyle::new(&FONT_6X10, Rgb888::WHITE);
    let _ = Text::with_baseline(&header(trace), Point::new(2, 1), style, Baseline::Top).draw(&mut t);
}

/// Writes `0000.png`, `0001.png`, … into a directory, one per frame fed.
#[derive(Debug)]
pub struct OverlayWriter {
    dir: PathBuf,
    geometry: ChallengeGeometry,
    nose_area_growth: f32,
    path: Vec<[f32; 2]>,
    written: usize,
}

impl OverlayWriter {
    /// Creates `dir` (if missing) for a challenge with this geometry.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn create(dir: &Path, geometry: ChallengeGeometry, nose_area_growth: f32) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self { dir: dir.to_owned(), geometry, nose_area_growth, path: Vec::new(), written: 0 })
    }

    /// Draws the trace onto a copy of the frame and writes it as the next PNG.
    ///
    /// # Errors
    /// When the PNG cannot be written.
    pub fn push(&mut self, frame: &RgbImage, trace: &FrameTrace) -> anyhow::Result<()> {
        if let Some(n) = trace.nose {
            self.path.push(n);
        }
        let mut img = frame.clone();
        draw(&mut img, &self.geometry, self.nose_area_growth, trace, &self.path);
        let file = self.dir.join(format!("{:04}.png", self.written));
        img.save(&file).with_context(|| format!("cannot write {}", file.display()))?;
        self.written += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::TargetDraw;
    use crate::liveness::session::Phase;

    const GREY: image::Rgb<u8> = image::Rgb([40, 40, 40]);

    fn geometry() -> ChallengeGeometry {
        ChallengeGeometry::new(640, 480, TargetDraw { right: true, below: true, dx: 85, dy: 50 })
    }

    fn px(img: &RgbImage, x: u32, y: u32) -> [u8; 3] {
        img.get_pixel(x, y).0
    }

    #[test]
    fn the_face_box_is_drawn_on_its_edges_and_not_inside() {
        let mut img = RgbImage::from_pixel(640, 480, GREY);
        let trace = FrameTrace {
            faces: 1,
            face_box: Some(Rect { x: 100.0, y: 150.0, w: 60.0, h: 80.0 }),
            ..FrameTrace::default()
        };
        draw(&mut img, &geometry(), 0.15, &trace, &[]);
        let green = [FACE.r(), FACE.g(), FACE.b()];
        assert_eq!(px(&img, 130, 150), green, "top edge");
        assert_eq!(px(&img, 100, 190), green, "left edge");
        assert_eq!(px(&img, 130, 190), GREY.0, "inside stays the frame");
    }

    #[test]
    fn a_second_face_turns_the_face_box_red() {
        let mut img = RgbImage::from_pixel(640, 480, GREY);
        let trace = FrameTrace {
            faces: 2,
            face_box: Some(Rect { x: 100.0, y: 150.0, w: 60.0, h: 80.0 }),
            ..FrameTrace::default()
        };
        draw(&mut img, &geometry(), 0.15, &trace, &[]);
        assert_eq!(px(&img, 130, 150), [FACES.r(), FACES.g(), FACES.b()]);
    }

    #[test]
    fn the_area_target_and_hit_zone_are_where_the_geometry_says() {
        let g = geometry();
        let mut img = RgbImage::from_pixel(640, 480, GREY);
        draw(&mut img, &g, 0.15, &FrameTrace::default(), &[]);
        // Area 185,60 270×360 at 640×480; target 395,280 20×20; hit zone 42 px around it.
        assert_eq!(px(&img, 185, 240), [255, 255, 255]);
        assert_eq!(px(&img, 405, 280), [TARGET.r(), TARGET.g(), TARGET.b()]);
        let hit = g.hit_box();
        assert_eq!(px(&img, hit.x.round() as u32, 290), [HIT.r(), HIT.g(), HIT.b()]);
        let grown = grow(g.area, 0.15);
        assert_eq!(px(&img, grown.x.round() as u32, 240), [AREA_GROWN.r(), AREA_GROWN.g(), AREA_GROWN.b()]);
    }

    #[test]
    fn the_nose_path_and_keypoints_are_drawn() {
        let mut img = RgbImage::from_pixel(640, 480, GREY);
        let trace = FrameTrace { points: vec![[300.0, 300.0]], ..FrameTrace::default() };
        draw(&mut img, &geometry(), 0.15, &trace, &[[250.0, 350.0], [290.0, 350.0]]);
        assert_eq!(px(&img, 270, 350), [NOSE_PATH.r(), NOSE_PATH.g(), NOSE_PATH.b()]);
        let magenta = [KEYPOINT.r(), KEYPOINT.g(), KEYPOINT.b()];
        assert_eq!(px(&img, 303, 300), magenta);
        assert_eq!(px(&img, 300, 297), magenta);
        assert_eq!(px(&img, 302, 302), GREY.0, "a cross, not a square");
    }

    #[test]
    fn points_and_boxes_outside_the_image_are_ignored_without_panicking() {
        let mut img = RgbImage::from_pixel(32, 24, GREY);
        let g = geometry(); // a 640×480 challenge on a 32×24 image: mostly outside
        let trace = FrameTrace {
            faces: 1,
            face_box: Some(Rect { x: -50.0, y: -50.0, w: 1e9, h: f32::NAN }),
            nose: Some([f32::INFINITY, -1e12]),
            points: vec![[-10.0, -10.0], [1e7, 5.0], [f32::NAN, 3.0]],
            ..FrameTrace::default()
        };
        draw(&mut img, &g, 0.15, &trace, &[[-100.0, -100.0], [1e9, 1e9], [f32::NEG_INFINITY, 0.0]]);
        assert_eq!(img.dimensions(), (32, 24));
    }

    #[test]
    fn the_header_says_phase_faces_and_the_decision() {
        let trace = FrameTrace {
            t_ms: 1200,
            phase: Some(Phase::Nose),
            faces: 1,
            detector_ran: true,
            yaw: Some(7.25),
            points_seeded: 9,
            points_kept: 8,
            ..FrameTrace::default()
        };
        let h = header(&trace);
        assert!(
            h.starts_with("1200 ms  nose  faces 1*") && h.contains("yaw +7.2") && h.contains("pts 8/9"),
            "{h}"
        );
    }
}
