//! The surround check: does the scene around the face stay put while the face moves?
//!
//! The door camera is fixed. A visitor who turns their head to aim the nose at the target
//! moves only the head: the wall and the door frame around it stay where they were. An attacker
//! who moves a phone or a printed photo to aim moves the picture's own background (and the
//! phone's bezel, the photo's edge) together with the face.
//!
//! At the start of a challenge ([`Surround::seed`]) textured patches are cut from a ring beside
//! the head and above the hair, never below the chin (neck and shoulders move with a live
//! head). In each later frame where the face has moved far enough ([`Surround::observe`]) every
//! patch is looked for where it was (it stayed) and displaced like the face (it followed), by
//! zero-mean normalised cross-correlation, so a colour flash or an exposure step drops out.
//! [`Surround::measure`] gives the share that followed; a flat wall gives no evidence either way.
//!
//! All on a grey picture box-filtered down ([`Grey`]): one pass over the frame, noise and MJPEG
//! blocks average out. Per 640×480 frame on one desktop core: 0.2 ms to downsample, 0.08 ms to
//! match. Sans-IO like the rest of `liveness`: frames and face boxes come from the caller.

use image::RgbImage;

use crate::vision::Rect;

/// Downsampling factor for [`Grey::of`]: 640×480 becomes 160×120, face boxes of 100–250 px
/// become 25–60 grey px (room for the ring's bands), and one MJPEG block of 8×8 spans 2×2.
pub const DEFAULT_FACTOR: u32 = 4;

/// Largest factor [`Grey::of`] uses: a column of 64 channel values ≤ 255 still fits a `u16`.
const MAX_FACTOR: u32 = 64;

/// Side of a patch, grey px (24 full-res px at factor 4): enough to hold a corner or some
/// texture at quarter resolution, small enough that a band 0.4 box widths wide holds one. Of
/// the textured ones, the 32 most textured are kept: plenty of votes, matching far below 1 ms.
const PATCH: usize = 6;
const MAX_PATCHES: usize = 32;

/// Least texture of a patch: the smaller eigenvalue of its structure tensor per pixel (grey
/// levels² per grey px²), i.e. an RMS gradient of 3 levels per grey px in its weakest
/// direction, so the patch can be located along any displacement. Camera noise of σ 5 levels
/// at full resolution averages to σ 1.25 over 4×4 pixels, a central-difference gradient σ 0.9,
/// a tensor eigenvalue ≈ 0.8: a tenth of this floor. Plain edges (one strong direction only)
/// are left out: along an edge parallel to the displacement the two places look alike.
const MIN_TEXTURE: f32 = 9.0;

/// The ring around the face box, in box sizes from the box centre. A head with hair is 1.3
/// box widths wide (0.65 from the centre) and reaches 0.3 box heights above the box, i.e.
/// 0.8 above its centre: the side bands start 0.2 box widths beyond the hair, the top band
/// 0.15 box heights above it. The ring stops a quarter box height above the chin (the box's
/// bottom): shoulders start well below the chin, the neck lies inside the side bands' gap.
const SIDE_INNER: f32 = 0.85;
const SIDE_OUTER: f32 = 1.25;
const TOP_INNER: f32 = 0.95;
const TOP_OUTER: f32 = 1.35;
const RING_BOTTOM: f32 = -0.25;

/// The live head's extent in a later frame (box sizes from the current box centre): hair to
/// 0.65 box widths and 0.8 box heights, plus a margin. Patches under it are not judged there:
/// a live head moved over them hides them, and its hair would move with the face.
const HEAD_HALF_WIDTH: f32 = 0.7;
const HEAD_TOP: f32 = 0.85;

/// Least face shift, grey px, for a frame to count (12 full-res px at factor 4): closer, the
/// two places are a pixel or two apart, where a patch still resembles itself.
const MIN_SHIFT: f32 = 3.0;

/// Search slack, grey px: ±1 around "stayed" absorbs the downsample's sub-pixel rounding;
/// ±2 around "followed" also the box centre's jitter (landmarks, a picture tilted a little).
/// The "followed" search leaves out the "stayed" shifts, so no place counts for both.
const STAY_SLACK: isize = 1;
const FOLLOW_SLACK: isize = 2;

/// A patch is decided when the better place's correlation beats the other's by `MARGIN`: a
/// textured patch matches its true place at 0.9 or more under noise, a random place of 36
/// correlated pixels rarely above 0.6; closer (an edge along the displacement, a repeating
/// pattern) is undecided. The better must also reach `MIN_MATCH`: a patch hidden or changed
/// (a passer-by, a shadow) matches neither place and says nothing.
const MARGIN: f32 = 0.2;
const MIN_MATCH: f32 = 0.5;

/// A window flatter than this variance per pixel (σ 0.5 grey levels) correlates with nothing.
const FLAT_VARIANCE: f32 = 0.25;

/// Frames counted at most: a challenge lasts seconds; memory stays bounded (a minute at 30 fps).
const MAX_FRAMES: usize = 1800;

/// A grey (luma) picture of a frame, downsampled by an integer factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Grey {
    width: usize,
    height: usize,
    factor: u32,
    pixels: Vec<f32>,
}

/// BT.601 luma × 256 of (sums of) red, green and blue.
fn luma(p: &[u16]) -> u32 {
    77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])
}

impl Grey {
    /// The luma of `image` (BT.601 weights, 0–255) averaged over blocks of `factor`×`factor`
    /// pixels (clamped to 1–64); partial blocks at the right and bottom edges are left out.
    pub fn of(image: &RgbImage, factor: u32) -> Grey {
        let factor = factor.clamp(1, MAX_FACTOR);
        let f = factor as usize;
        let (width, height) = (image.width() as usize / f, image.height() as usize / f);
        let mut pixels = vec![0.0; width * height];
        let stride = image.width() as usize * 3;
        let scale = 1.0 / (256 * f * f) as f32;
        // Two passes a compiler vectorises: the frame's rows added into column sums per
        // channel (`u16`: at most 64 × 255), then each block's sums weighted into luma.
        let mut columns = vec![0u16; width * f * 3];
        for (gy, out) in pixels.chunks_exact_mut(width.max(1)).enumerate() {
            columns.fill(0);
            for row in image.as_raw()[gy * f * stride..].chunks_exact(stride).take(f) {
                for (c, &v) in columns.iter_mut().zip(row) {
                    *c += u16::from(v);
                }
            }
            for (o, block) in out.iter_mut().zip(columns.chunks_exact(3 * f)) {
                let sum: u32 = block.chunks_exact(3).map(luma).sum();
                *o = sum as f32 * scale;
            }
        }
        Grey { width, height, factor, pixels }
    }

    /// Width and height in grey pixels.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Full-resolution pixels per grey pixel, along each axis.
    pub fn factor(&self) -> u32 {
        self.factor
    }

    /// The grey levels (0–255), row by row.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * self.width + x]
    }
}

/// Whether the patch at `(x, y)` overlaps a head (grey px: centre, half width, top; down to
/// the picture's bottom with neck and shoulders).
fn covers([centre, half_width, top]: [f32; 3], x: usize, y: usize) -> bool {
    let (x, y, side) = (x as f32, y as f32, PATCH as f32);
    x < centre + half_width && x + side > centre - half_width && y + side > top
}

/// One textured patch of the start frame.
#[derive(Debug, Clone)]
struct Patch {
    /// Top-left corner, grey px.
    x: usize,
    y: usize,
    /// The start pixels, mean removed, row by row, and their Euclidean norm.
    pixels: [f32; PATCH * PATCH],
    norm: f32,
}

impl Patch {
    /// The patch at `(x, y)` (at least one pixel inside every edge) and its texture, `None`
    /// when below [`MIN_TEXTURE`].
    fn cut(grey: &Grey, x: usize, y: usize) -> Option<(f32, Patch)> {
        let mut pixels = [0.0; PATCH * PATCH];
        let (mut xx, mut xy, mut yy) = (0.0, 0.0, 0.0);
        for (k, p) in pixels.iter_mut().enumerate() {
            let (u, v) = (x + k % PATCH, y + k / PATCH);
            let gx = (grey.at(u + 1, v) - grey.at(u - 1, v)) / 2.0;
            let gy = (grey.at(u, v + 1) - grey.at(u, v - 1)) / 2.0;
            (xx, xy, yy) = (xx + gx * gx, xy + gx * gy, yy + gy * gy);
            *p = grey.at(u, v);
        }
        let n = (PATCH * PATCH) as f32;
        let texture = ((xx + yy) / 2.0 - ((xx - yy) / 2.0).hypot(xy)) / n;
        if texture < MIN_TEXTURE {
            return None;
        }
        let mean = pixels.iter().sum::<f32>() / n;
        pixels.iter_mut().for_each(|p| *p -= mean);
        let norm = pixels.iter().map(|p| p * p).sum::<f32>().sqrt();
        Some((texture, Patch { x, y, pixels, norm }))
    }

    /// Zero-mean normalised cross-correlation with the window at `(x, y)`, `None` when the
    /// window is not wholly inside the picture.
    fn ncc(&self, grey: &Grey, x: isize, y: isize) -> Option<f32> {
        let (x, y) = (usize::try_from(x).ok()?, usize::try_from(y).ok()?);
        if x + PATCH > grey.width || y + PATCH > grey.height {
            return None;
        }
        let (mut tw, mut sw, mut ww) = (0.0f32, 0.0f32, 0.0f32);
        for (j, template) in self.pixels.chunks_exact(PATCH).enumerate() {
            let start = (y + j) * grey.width + x;
            for (t, &w) in template.iter().zip(&grey.pixels[start..start + PATCH]) {
                (tw, sw, ww) = (tw + t * w, sw + w, ww + w * w);
            }
        }
        let n = (PATCH * PATCH) as f32;
        let variance = ww - sw * sw / n;
        // The template's mean is zero, so Σ t·(w − w̄) = Σ t·w.
        Some(if variance > FLAT_VARIANCE * n { tw / (self.norm * variance.sqrt()) } else { 0.0 })
    }

    /// The best correlation over shifts within `slack` of `around` (those within the stay
    /// window left out when `beyond_stay`), `None` when no window fits the picture.
    fn best(&self, grey: &Grey, around: [isize; 2], slack: isize, beyond_stay: bool) -> Option<f32> {
        let mut best: Option<f32> = None;
        for sy in around[1] - slack..=around[1] + slack {
            for sx in around[0] - slack..=around[0] + slack {
                if beyond_stay && sx.abs() <= STAY_SLACK && sy.abs() <= STAY_SLACK {
                    continue;
                }
                if let Some(c) = self.ncc(grey, self.x as isize + sx, self.y as isize + sy) {
                    best = Some(best.map_or(c, |b| b.max(c)));
                }
            }
        }
        best
    }

    /// Whether the patch followed the face's shift `follow` (`Some(false)`: it stayed put);
    /// `None` when undecided.
    fn followed(&self, grey: &Grey, follow: [isize; 2]) -> Option<bool> {
        let stay = self.best(grey, [0, 0], STAY_SLACK, false)?;
        let moved = self.best(grey, follow, FOLLOW_SLACK, true)?;
        let wins = |a: f32, b: f32| a >= MIN_MATCH && a >= b + MARGIN;
        (wins(stay, moved) || wins(moved, stay)).then_some(moved > stay)
    }
}

/// What the surround check measured over one challenge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurroundMeasure {
    /// The share of decided patches that followed the face (median over frames): near 0 for
    /// a live scene, near 1 for a picture moved in front of the camera.
    pub following: f32,
    /// Patch observations decided (stayed or followed), all frames.
    pub decided: usize,
    /// Frames that moved the face enough and decided at least one patch.
    pub frames: usize,
    /// Patches seeded.
    pub patches: usize,
    /// The largest face shift seen, full-resolution pixels.
    pub max_shift_px: f32,
}

/// The surround of one challenge: the patches cut at its start and what became of them.
#[derive(Debug, Clone)]
pub struct Surround {
    patches: Vec<Patch>,
    /// The face box's centre at the start, grey px.
    centre: [f32; 2],
    /// The start's width, height and factor: later frames must match.
    shape: (usize, usize, u32),
    stayed: usize,
    followed: usize,
    /// Per counted frame, the share of its decided patches that followed.
    fractions: Vec<f32>,
    /// Largest face shift seen, grey px.
    max_shift: f32,
}

/// The centre of `face` (full-res px) in grey px of `factor`.
fn centre(face: Rect, factor: u32) -> [f32; 2] {
    let f = factor as f32;
    [(face.x + face.w / 2.0) / f, (face.y + face.h / 2.0) / f]
}

impl Surround {
    /// Cuts up to 32 textured patches from the ring around the face box `face` (full-res
    /// px) in the challenge's first frame `start`; none when the surround is flat, off the
    /// picture, or the box is empty.
    pub fn seed(start: &Grey, face: Rect) -> Surround {
        let [cx, cy] = centre(face, start.factor);
        let (w, h) = (face.w / start.factor as f32, face.h / start.factor as f32);
        let mut found: Vec<(f32, Patch)> = Vec::new();
        if [cx, cy, w, h].iter().all(|v| v.is_finite()) && w > 0.0 && h > 0.0 {
            // Squares wholly inside the ring and one pixel inside the picture (gradients).
            let right = (cx + SIDE_OUTER * w).min(start.width as f32 - 1.0);
            let bottom = (cy - RING_BOTTOM * h).min(start.height as f32 - 1.0);
            let left = (cx - SIDE_OUTER * w).ceil().max(1.0).min(right) as usize;
            let top = (cy - TOP_OUTER * h).ceil().max(1.0).min(bottom) as usize;
            let head = [cx, SIDE_INNER * w, cy - TOP_INNER * h];
            let fits = |v: usize, end: f32| (v + PATCH) as f32 <= end;
            for y in (top..).step_by(PATCH).take_while(|&y| fits(y, bottom)) {
                for x in (left..).step_by(PATCH).take_while(|&x| fits(x, right)) {
                    if !covers(head, x, y) {
                        found.extend(Patch::cut(start, x, y));
                    }
                }
            }
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        found.truncate(MAX_PATCHES);
        Surround {
            patches: found.into_iter().map(|(_, p)| p).collect(),
            centre: [cx, cy],
            shape: (start.width, start.height, start.factor),
            stayed: 0,
            followed: 0,
            fractions: Vec::new(),
            max_shift: 0.0,
        }
    }

    /// Patches seeded (0: a flat or hidden surround, nothing will be measured).
    pub fn patches(&self) -> usize {
        self.patches.len()
    }

    /// Judges each patch in a later frame `now` (same size and factor as the start; other
    /// frames are ignored) with the face box `face` there. A frame whose face moved less than
    /// 3 grey px from the start is not counted: there "stayed" and "followed" look alike.
    pub fn observe(&mut self, now: &Grey, face: Rect) {
        let (width, height, factor) = self.shape;
        let same = (now.width, now.height, now.factor) == self.shape;
        if self.patches.is_empty() || !same || self.fractions.len() >= MAX_FRAMES {
            return;
        }
        let [cx, cy] = centre(face, factor);
        let d = [cx - self.centre[0], cy - self.centre[1]];
        let shift = d[0].hypot(d[1]);
        // Also a bogus box (NaN, or beyond the picture: no window could follow it there).
        if shift.is_nan() || shift > (width + height) as f32 {
            return;
        }
        self.max_shift = self.max_shift.max(shift);
        if shift < MIN_SHIFT {
            return;
        }
        let f = factor as f32;
        let head = [cx, HEAD_HALF_WIDTH * face.w / f, cy - HEAD_TOP * face.h / f];
        let follow = d.map(|v| v.round() as isize);
        let visible = self.patches.iter().filter(|p| !covers(head, p.x, p.y));
        let fates: Vec<bool> = visible.filter_map(|p| p.followed(now, follow)).collect();
        let followed = fates.iter().filter(|&&f| f).count();
        if !fates.is_empty() {
            self.stayed += fates.len() - followed;
            self.followed += followed;
            self.fractions.push(followed as f32 / fates.len() as f32);
        }
    }

    /// What was measured; `None` when no patch was decided (a flat surround, or a face that
    /// never moved enough): no evidence either way.
    ///
    /// `following` is the median over frames of each frame's share of followers, not the
    /// share of all decided patches: each frame is one vote however many patches it decided,
    /// so the frames where a live head's hair or ear crosses a band edge, or motion blurs the
    /// picture, shift the answer little; a picture moved about follows in every frame.
    pub fn measure(&self) -> Option<SurroundMeasure> {
        let mut sorted = self.fractions.clone();
        sorted.sort_by(f32::total_cmp);
        let (low, high) = (sorted.get((sorted.len().max(1) - 1) / 2)?, sorted.get(sorted.len() / 2)?);
        let following = (low + high) / 2.0;
        Some(SurroundMeasure {
            following,
            decided: self.stayed + self.followed,
            frames: sorted.len(),
            patches: self.patches.len(),
            max_shift_px: self.max_shift * self.shape.2 as f32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// The face box at the start: 120×160 px centred at (320, 250) in a 640×480 frame.
    const FACE: Rect = Rect { x: 260.0, y: 170.0, w: 120.0, h: 160.0 };

    fn xorshift(mut s: u32) -> u32 {
        s ^= s << 13;
        s ^= s >> 17;
        s ^ (s << 5)
    }

    /// Random colour blocks of 12 px (3 grey px), a different pattern per `seed`.
    fn blocks(seed: u32, x: i32, y: i32) -> [u8; 3] {
        let (bx, by) = (x.div_euclid(12) as u32, y.div_euclid(12) as u32);
        let h = xorshift(xorshift(xorshift(
            (seed ^ bx.wrapping_mul(0x9E37_79B9) ^ by.wrapping_mul(0x85EB_CA6B)) | 1,
        )));
        [0, 8, 16].map(|s| 40 + ((h >> s) & 0xff) as u8 % 160)
    }

    fn moved(face: Rect, d: [i32; 2]) -> Rect {
        Rect { x: face.x + d[0] as f32, y: face.y + d[1] as f32, ..face }
    }

    /// A frame: a wall (textured by `wall`, flat grey for `None`) shifted by `wall_at`, and a
    /// textured head (hair included: 1.3 box widths and heights, up to 0.3 heights above the
    /// box) around the box moved by `face_at`.
    fn scene(wall: Option<u32>, wall_at: [i32; 2], face_at: [i32; 2]) -> RgbImage {
        let f = moved(FACE, face_at);
        let (hx, hy) = (f.x + f.w / 2.0, f.y + f.h / 2.0 - 0.15 * f.h);
        RgbImage::from_fn(640, 480, |x, y| {
            let (x, y) = (x as i32, y as i32);
            let (u, v) = ((x as f32 - hx) / (0.65 * f.w), (y as f32 - hy) / (0.65 * f.h));
            Rgb(if u * u + v * v <= 1.0 {
                blocks(99, x - face_at[0], y - face_at[1])
            } else {
                wall.map_or([128; 3], |s| blocks(s, x - wall_at[0], y - wall_at[1]))
            })
        })
    }

    /// Frame by frame, the face from rest to 37 px right and 24 px up, off the grey grid.
    fn path() -> Vec<[i32; 2]> {
        (0..=12).map(|k| [3 * k + 1, -2 * k]).collect()
    }

    /// Seeds on the scene at rest and observes frame `i` with the face moved by `path[i - 1]`,
    /// the wall too when `handheld`, each frame passed through `camera(i, frame)`.
    fn watch(wall: Option<u32>, handheld: bool, path: &[[i32; 2]], camera: Cam) -> Surround {
        let frame = |i, d| camera(i, scene(wall, if handheld { d } else { [0, 0] }, d));
        let mut s = Surround::seed(&Grey::of(&frame(0, [0, 0]), DEFAULT_FACTOR), FACE);
        for (i, &d) in (1..).zip(path) {
            s.observe(&Grey::of(&frame(i, d), DEFAULT_FACTOR), moved(FACE, d));
        }
        s
    }

    type Cam = fn(u32, RgbImage) -> RgbImage;

    fn clean(_: u32, img: RgbImage) -> RgbImage {
        img
    }

    /// ±4 grey levels per pixel and channel, a new draw per frame.
    fn noisy(frame: u32, mut img: RgbImage) -> RgbImage {
        let mut s = frame.wrapping_mul(7919) | 1;
        for v in img.iter_mut() {
            s = xorshift(s);
            *v = (i32::from(*v) + (s % 9) as i32 - 4).clamp(0, 255) as u8;
        }
        img
    }

    #[test]
    fn a_wall_around_a_moving_face_stays_put() {
        let m = watch(Some(1), false, &path(), clean).measure().expect("a textured wall");
        assert!(m.following < 0.2 && m.decided >= 100 && m.frames == 9, "{m:?}");
        assert!((20..=MAX_PATCHES).contains(&m.patches), "{m:?}");
        assert!((m.max_shift_px - 37.0f32.hypot(24.0)).abs() < 0.01, "{m:?}");
    }

    #[test]
    fn a_picture_moved_in_front_of_the_camera_follows_the_face() {
        let m = watch(Some(1), true, &path(), clean).measure().expect("a textured background");
        assert!(m.following > 0.8 && m.decided >= 100, "{m:?}");
    }

    #[test]
    fn a_colour_flash_or_exposure_step_does_not_change_a_live_answer() {
        let flash: Cam = |i, mut img| {
            let step = |v: u8| if i > 0 { (f32::from(v) * 1.3 + 10.0).min(255.0) as u8 } else { v };
            img.iter_mut().for_each(|v| *v = step(*v));
            img
        };
        let m = watch(Some(1), false, &path(), flash).measure().expect("a textured wall");
        assert!(m.following < 0.2 && m.decided >= 100, "{m:?}");
    }

    #[test]
    fn camera_noise_flips_neither_answer() {
        let m = watch(Some(1), false, &path(), noisy).measure().expect("live");
        assert!(m.following < 0.2 && m.decided >= 100, "live: {m:?}");
        let m = watch(Some(1), true, &path(), noisy).measure().expect("picture");
        assert!(m.following > 0.8 && m.decided >= 100, "picture: {m:?}");
    }

    #[test]
    fn a_flat_wall_seeds_nothing_and_measures_nothing() {
        let s = watch(None, false, &path(), clean);
        assert_eq!((s.patches(), s.measure()), (0, None));
    }

    #[test]
    fn a_face_that_barely_moves_measures_nothing() {
        let s = watch(Some(1), false, &[[4, 0], [8, -2], [-6, 7], [0, 11]], clean);
        assert!(s.patches() > 0);
        assert_eq!(s.measure(), None);
    }

    #[test]
    fn a_face_at_the_edge_a_tiny_picture_or_an_empty_box_do_not_panic() {
        let grey = Grey::of(&scene(Some(1), [0, 0], [0, 0]), DEFAULT_FACTOR);
        for face in [
            Rect { x: -40.0, y: -60.0, w: 120.0, h: 160.0 },
            Rect { x: 560.0, y: 400.0, w: 120.0, h: 160.0 },
            Rect { x: 0.0, y: 0.0, w: 0.0, h: 0.0 },
            Rect { x: f32::NAN, y: 0.0, w: 1e30, h: f32::INFINITY },
            Rect { x: -1e9, y: 1e9, w: 2e9, h: 2e9 },
            Rect { x: 1e38, y: -1e38, w: 1.0, h: 1.0 },
        ] {
            let mut s = Surround::seed(&grey, face);
            for d in [[40, 30], [-200, -200], [600, 0], [i32::MAX, 0]] {
                s.observe(&grey, moved(face, d));
            }
            assert!(s.patches() <= MAX_PATCHES && s.measure().is_none_or(|m| m.following <= 1.0));
        }
        let tiny = Grey::of(&RgbImage::new(8, 8), DEFAULT_FACTOR);
        let mut s = Surround::seed(&tiny, Rect { x: 2.0, y: 2.0, w: 4.0, h: 4.0 });
        s.observe(&tiny, Rect { x: 6.0, y: 6.0, w: 4.0, h: 4.0 });
        s.observe(&grey, FACE);
        assert_eq!((tiny.size(), s.patches(), s.measure()), ((2, 2), 0, None));
        let empty = Grey::of(&RgbImage::new(3, 100), DEFAULT_FACTOR);
        assert_eq!(
            (empty.size(), empty.pixels().len(), Surround::seed(&empty, FACE).patches()),
            ((0, 25), 0, 0)
        );
    }

    #[test]
    fn the_downsample_of_a_constant_is_that_constant_and_of_a_pattern_its_block_means() {
        let g = Grey::of(&RgbImage::from_pixel(640, 480, Rgb([90, 90, 90])), DEFAULT_FACTOR);
        assert_eq!((g.size(), g.factor()), ((160, 120), 4));
        assert!(g.pixels().iter().all(|&v| v == 90.0));
        // Grey value x + 8y in an 8×8 picture: the top-left block's mean is 1.5 + 8 · 1.5.
        let img = RgbImage::from_fn(8, 8, |x, y| Rgb([(x + 8 * y) as u8; 3]));
        assert_eq!(Grey::of(&img, 4).pixels(), &[13.5, 17.5, 45.5, 49.5]);
        assert_eq!(Grey::of(&img, 0).pixels().len(), 64, "factor 0 is taken as 1");
    }
}
