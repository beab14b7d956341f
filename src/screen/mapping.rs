//! The one transform between camera pixels and screen pixels. The visitor sees a mirrored
//! "selfie" preview (turning to their left moves the picture to their left), while every
//! geometry in the liveness code is in raw camera pixels (SPEC §1). The preview, the area
//! frame, the target square and the nose marker all go through this type, so they cannot
//! disagree about where anything is.

use embedded_graphics::prelude::{Point, Size};
use embedded_graphics::primitives::Rectangle;

use crate::vision::Rect;

/// A camera frame letterboxed (aspect kept, centred) and mirrored into a screen rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviewMap {
    frame_w: u32,
    frame_h: u32,
    /// Where the scaled frame lands on the screen.
    dest: Rectangle,
    /// Screen pixels per camera pixel.
    scale: f32,
}

impl PreviewMap {
    /// Fit a `frame_w × frame_h` frame into `space`, as large as it goes without cropping.
    /// Returns `None` for an empty frame or space.
    pub fn fit(frame_w: u32, frame_h: u32, space: Rectangle) -> Option<Self> {
        if frame_w == 0 || frame_h == 0 || space.size.width == 0 || space.size.height == 0 {
            return None;
        }
        let scale = (space.size.width as f32 / frame_w as f32).min(space.size.height as f32 / frame_h as f32);
        let w = ((frame_w as f32 * scale).round() as u32).clamp(1, space.size.width);
        let h = ((frame_h as f32 * scale).round() as u32).clamp(1, space.size.height);
        let x = space.top_left.x + (space.size.width - w) as i32 / 2;
        let y = space.top_left.y + (space.size.height - h) as i32 / 2;
        let dest = Rectangle::new(Point::new(x, y), Size::new(w, h));
        Some(Self { frame_w, frame_h, dest, scale })
    }

    /// The screen rectangle the preview covers.
    pub fn dest(&self) -> Rectangle {
        self.dest
    }

    /// Screen pixels per camera pixel.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// A camera point (raw, un-mirrored pixels) on the screen.
    pub fn to_screen(&self, p: [f32; 2]) -> Point {
        let x = self.dest.top_left.x as f32 + (self.frame_w as f32 - p[0]) * self.scale;
        let y = self.dest.top_left.y as f32 + p[1] * self.scale;
        Point::new(x.round() as i32, y.round() as i32)
    }

    /// A camera rectangle on the screen: mirrored, so its left edge becomes the right one.
    pub fn rect_to_screen(&self, r: &Rect) -> Rectangle {
        let a = self.to_screen([r.x + r.w, r.y]);
        let b = self.to_screen([r.x, r.y + r.h]);
        Rectangle::with_corners(a, b - Point::new(1, 1))
    }

    /// The camera column range `[x0, x1)` shown in screen column `col` of the preview
    /// (0-based inside `dest`): mirrored, at least one column wide.
    pub fn source_columns(&self, col: u32) -> (u32, u32) {
        let (a, b) = self.source_span(col, self.frame_w);
        (self.frame_w - b, self.frame_w - a)
    }

    /// The camera row range `[y0, y1)` shown in screen row `row` of the preview.
    pub fn source_rows(&self, row: u32) -> (u32, u32) {
        self.source_span(row, self.frame_h)
    }

    fn source_span(&self, i: u32, limit: u32) -> (u32, u32) {
        let a = ((i as f32 / self.scale) as u32).min(limit - 1);
        let b = ((((i + 1) as f32) / self.scale) as u32).clamp(a + 1, limit);
        (a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_800x480() -> PreviewMap {
        PreviewMap::fit(640, 480, Rectangle::new(Point::zero(), Size::new(800, 480))).unwrap()
    }

    #[test]
    fn a_4_by_3_frame_is_pillarboxed_on_a_wide_screen() {
        let m = screen_800x480();
        assert_eq!(m.dest(), Rectangle::new(Point::new(80, 0), Size::new(640, 480)));
        assert_eq!(m.scale(), 1.0);
    }

    #[test]
    fn a_4_by_3_frame_is_letterboxed_on_a_square_screen() {
        let m = PreviewMap::fit(640, 480, Rectangle::new(Point::new(0, 20), Size::new(240, 240))).unwrap();
        assert_eq!(m.dest(), Rectangle::new(Point::new(0, 50), Size::new(240, 180)));
    }

    #[test]
    fn a_point_on_the_camera_left_lands_on_the_screen_right() {
        let m = screen_800x480();
        assert_eq!(m.to_screen([100.0, 240.0]), Point::new(80 + 540, 240));
        assert_eq!(m.to_screen([0.0, 0.0]), Point::new(720, 0));
    }

    #[test]
    fn rectangles_are_mirrored_with_the_same_transform_as_points() {
        let m = screen_800x480();
        let r = m.rect_to_screen(&Rect { x: 395.0, y: 280.0, w: 20.0, h: 20.0 });
        assert_eq!(r, Rectangle::new(Point::new(80 + 225, 280), Size::new(20, 20)));
        let centre = m.to_screen([405.0, 290.0]);
        assert_eq!(
            r.top_left + Point::new(10, 10),
            centre,
            "the target's centre maps to the square's centre"
        );
    }

    #[test]
    fn source_columns_run_backwards_so_the_preview_is_a_mirror() {
        let m = PreviewMap::fit(640, 480, Rectangle::new(Point::zero(), Size::new(320, 240))).unwrap();
        assert_eq!(m.source_columns(0), (638, 640));
        assert_eq!(m.source_columns(319), (0, 2));
        assert_eq!(m.source_rows(0), (0, 2));
    }

    #[test]
    fn empty_frames_and_spaces_have_no_mapping() {
        assert!(PreviewMap::fit(0, 480, Rectangle::new(Point::zero(), Size::new(8, 8))).is_none());
        assert!(PreviewMap::fit(640, 480, Rectangle::new(Point::zero(), Size::zero())).is_none());
    }
}
