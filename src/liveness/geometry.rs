//! Challenge geometry (SPEC §1): the face area, the nose target and the hit test, in raw
//! (un-mirrored) camera pixels. Every pixel constant is defined at 640×480 and scales with
//! the frame height (factor H/480), so 1280×720 behaves the same.

use serde::{Deserialize, Serialize};

use crate::vision::Rect;

/// Reference frame height for the pixel constants.
const REF_HEIGHT: f32 = 480.0;
/// Target side at the reference height.
const TARGET_SIDE: f32 = 20.0;
/// How much of its side the target grows on every side for the hit test.
pub const HIT_GROWTH: f32 = 0.55;
/// Horizontal offset range of the target centre from the frame centre (reference px).
pub const TARGET_DX: std::ops::RangeInclusive<u32> = 55..=85;
/// Vertical offset range of the target centre from the frame centre (reference px).
pub const TARGET_DY: std::ops::RangeInclusive<u32> = 10..=50;

/// Where the target sits, as drawn from the CSPRNG (outside this module): side and offsets
/// in reference pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDraw {
    /// Target on the image's right (+x) of the centre line.
    pub right: bool,
    /// Target below (+y) the centre line.
    pub below: bool,
    /// Horizontal offset of the centre, in `TARGET_DX`.
    pub dx: u32,
    /// Vertical offset of the centre, in `TARGET_DY`.
    pub dy: u32,
}

/// The face area and the nose target of one challenge, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChallengeGeometry {
    pub width: u32,
    pub height: u32,
    pub area: Rect,
    pub target: Rect,
}

/// The centred face area of a `width × height` frame: height 0.75·H, width
/// min(0.75·W, 0.5625·H).
pub fn face_area(width: u32, height: u32) -> Rect {
    let (w, h) = (width as f32, height as f32);
    let area_h = 0.75 * h;
    let area_w = (0.75 * w).min(0.5625 * h);
    Rect { x: (w - area_w) / 2.0, y: (h - area_h) / 2.0, w: area_w, h: area_h }
}

impl ChallengeGeometry {
    /// The geometry for a frame size and a drawn target.
    pub fn new(width: u32, height: u32, draw: TargetDraw) -> Self {
        let k = height as f32 / REF_HEIGHT;
        let side = TARGET_SIDE * k;
        let sx = if draw.right { 1.0 } else { -1.0 };
        let sy = if draw.below { 1.0 } else { -1.0 };
        let cx = width as f32 / 2.0 + sx * draw.dx as f32 * k;
        let cy = height as f32 / 2.0 + sy * draw.dy as f32 * k;
        let target = Rect { x: cx - side / 2.0, y: cy - side / 2.0, w: side, h: side };
        Self { width, height, area: face_area(width, height), target }
    }

    /// Whether the target is on the image's right of the centre line.
    pub fn target_is_right(&self) -> bool {
        self.target.x + self.target.w / 2.0 > self.width as f32 / 2.0
    }

    /// The hit box: the target grown by 55 % of its side on every side.
    pub fn hit_box(&self) -> Rect {
        grow(self.target, HIT_GROWTH)
    }

    /// Whether the nose tip counts as in the target.
    pub fn is_hit(&self, nose: [f32; 2]) -> bool {
        self.hit_box().contains(nose)
    }
}

/// `r` grown by `fraction` of its own width/height on every side.
pub fn grow(r: Rect, fraction: f32) -> Rect {
    let (gx, gy) = (r.w * fraction, r.h * fraction);
    Rect { x: r.x - gx, y: r.y - gy, w: r.w + 2.0 * gx, h: r.h + 2.0 * gy }
}

/// Whether `inner` lies entirely inside `outer`.
pub fn is_inside(inner: &Rect, outer: &Rect) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.x + inner.w <= outer.x + outer.w
        && inner.y + inner.h <= outer.y + outer.h
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAR_RIGHT_DOWN: TargetDraw = TargetDraw { right: true, below: true, dx: 85, dy: 50 };

    #[test]
    fn face_area_at_640x480_is_185_60_270_360() {
        assert_eq!(face_area(640, 480), Rect { x: 185.0, y: 60.0, w: 270.0, h: 360.0 });
    }

    #[test]
    fn face_area_at_1280x720_scales_with_height() {
        assert_eq!(face_area(1280, 720), Rect { x: 437.5, y: 90.0, w: 405.0, h: 540.0 });
    }

    #[test]
    fn target_at_640x480_is_20px_and_offset_from_the_centre() {
        let g = ChallengeGeometry::new(640, 480, FAR_RIGHT_DOWN);
        assert_eq!(g.target, Rect { x: 395.0, y: 280.0, w: 20.0, h: 20.0 });
        let left_up =
            ChallengeGeometry::new(640, 480, TargetDraw { right: false, below: false, dx: 55, dy: 10 });
        assert_eq!(left_up.target, Rect { x: 255.0, y: 220.0, w: 20.0, h: 20.0 });
        assert!(g.target_is_right() && !left_up.target_is_right());
    }

    #[test]
    fn target_at_1280x720_scales_by_one_and_a_half() {
        let g = ChallengeGeometry::new(1280, 720, FAR_RIGHT_DOWN);
        assert_eq!(g.target, Rect { x: 640.0 + 127.5 - 15.0, y: 360.0 + 75.0 - 15.0, w: 30.0, h: 30.0 });
    }

    #[test]
    fn hit_box_is_42px_at_640x480() {
        let g = ChallengeGeometry::new(640, 480, FAR_RIGHT_DOWN);
        let hit = g.hit_box();
        assert!((hit.w - 42.0).abs() < 1e-4 && (hit.h - 42.0).abs() < 1e-4);
        assert!(g.is_hit([405.0 + 20.9, 290.0]));
        assert!(!g.is_hit([405.0 + 21.1, 290.0]));
    }

    #[test]
    fn there_are_about_5000_distinct_targets() {
        let n = 2 * TARGET_DX.count() * 2 * TARGET_DY.count();
        assert_eq!(n, 5084);
    }
}
