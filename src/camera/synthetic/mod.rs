//! The synthetic camera: test material without hardware, deterministic from a seed.
//!
//! A real face photo becomes a 3-D head ([`head`]) or a flat picture, and a scripted
//! performer reads the challenge and moves: a live visitor turning toward the target, one
//! who only slides, one who turns away, a second person stepping in, a face leaving the
//! frame, and attackers tilting a print, a cut-out or a phone screen so its nose reaches the
//! target. Frames come out as a camera would deliver them and go through the same vision
//! code as real ones.

pub mod conditions;
pub mod head;
pub mod optics;

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

pub use conditions::{Codec, Conditions, Light, Speed};
pub use head::{FaceModel, Lens, Placement, Prop};

use super::{Camera, CameraError, Frame};
use crate::liveness::ChallengeGeometry;

/// What the performer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum Script {
    /// A live visitor turning 10–25° toward the target while moving the nose into it.
    Live,
    /// A live visitor who slides the head without turning it.
    Slide,
    /// A live visitor who turns away from the target.
    TurnAway,
    /// A live visitor, and a second person stepping into view.
    TwoFaces,
    /// A live visitor who walks out of the frame.
    Leaves,
    /// A printed photo (with its paper border) tilted 10–45° and moved into the target.
    Print,
    /// A cut-out of the head, tilted and moved the same way.
    Cutout,
    /// The photo on a phone screen, tilted and moved the same way.
    Screen,
}

impl Script {
    /// Every script, bona fide first.
    pub const ALL: [Script; 8] = [
        Script::Live,
        Script::Slide,
        Script::TurnAway,
        Script::TwoFaces,
        Script::Leaves,
        Script::Print,
        Script::Cutout,
        Script::Screen,
    ];

    /// Whether this is a presentation attack (a flat picture instead of a person).
    pub fn is_attack(self) -> bool {
        matches!(self, Script::Print | Script::Cutout | Script::Screen)
    }

    /// The prop a script shows.
    fn prop(self) -> Prop {
        match self {
            Script::Print => Prop::Print,
            Script::Cutout => Prop::Cutout,
            Script::Screen => Prop::Screen,
            _ => Prop::Head,
        }
    }
}

/// SplitMix64: a tiny deterministic generator for scripts (never for challenge targets,
/// which come from the OS CSPRNG).
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }

    /// Approximately normal (sum of uniforms), mean 0.
    pub fn noise(&mut self, sigma: f32) -> f32 {
        (0..4).map(|_| self.uniform(-1.0, 1.0)).sum::<f32>() * sigma * 0.866
    }
}

/// The same wall every time: a soft gradient with a door frame and some texture.
pub fn background(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        let door = (0.08..0.16).contains(&u) || (0.84..0.92).contains(&u);
        let grain = ((x * 7 + y * 13) % 17) as f32 - 8.0;
        let base =
            if door { [120.0, 92.0, 70.0] } else { [168.0 - 30.0 * v, 170.0 - 28.0 * v, 160.0 - 20.0 * u] };
        Rgb(base.map(|c| (c + grain * 0.8).clamp(0.0, 255.0) as u8))
    })
}

fn smoothstep(k: f32) -> f32 {
    let k = k.clamp(0.0, 1.0);
    k * k * (3.0 - 2.0 * k)
}

/// Pose of the performer's object at the start and the end of the movement.
#[derive(Debug, Clone, Copy)]
struct Motion {
    from: Placement,
    to: Placement,
}

impl Motion {
    fn at(&self, k: f32) -> Placement {
        let s = smoothstep(k);
        let mix = |a: f32, b: f32| a + (b - a) * s;
        Placement {
            yaw_deg: mix(self.from.yaw_deg, self.to.yaw_deg),
            pitch_deg: mix(self.from.pitch_deg, self.to.pitch_deg),
            roll_deg: mix(self.from.roll_deg, self.to.roll_deg),
            pos: std::array::from_fn(|i| mix(self.from.pos[i], self.to.pos[i])),
        }
    }
}

/// Where the pivot must be so that `local` (object coordinates) projects to `pixel` at depth
/// `z` of the pivot, with the object rotated as in `pose`.
fn place(lens: &Lens, pose: Placement, local: [f32; 3], pixel: [f32; 2], z: f32) -> Placement {
    let probe = Placement { pos: [0.0, 0.0, z], ..pose };
    // Rotated local offset: project a unit pose at the origin and read the offset back.
    let r = head_offset(probe, local);
    let depth = z + r[2];
    let x = (pixel[0] - lens.width as f32 / 2.0) * depth / lens.focal - r[0];
    let y = (pixel[1] - lens.height as f32 / 2.0) * depth / lens.focal - r[1];
    Placement { pos: [x, y, z], ..pose }
}

fn head_offset(p: Placement, local: [f32; 3]) -> [f32; 3] {
    head::rotate(&head::rotation(&p), local)
}

/// Time before the performer starts moving (the old 4 frames at 15 fps).
const SETTLE_S: f32 = 4.0 / 15.0;
/// Time the performer holds still at the end (the old 8 frames at 15 fps).
const HOLD_S: f32 = 8.0 / 15.0;

/// A scripted performance in front of the synthetic camera.
#[derive(Debug, Clone)]
pub struct SyntheticCamera {
    lens: Lens,
    wall: RgbImage,
    face: FaceModel,
    other: FaceModel,
    script: Script,
    conditions: Conditions,
    motion: Motion,
    /// Seconds from the start to the end of the movement.
    moving_s: f32,
    total: u64,
    next: u64,
    rng: SeededRng,
}

impl SyntheticCamera {
    /// A performance of `script` by `face` (and `other` as a second person or a stand-in
    /// when the script needs one) for the challenge `geometry`, seen by a camera under
    /// `conditions`, deterministic from `seed`.
    pub fn new(
        face: FaceModel,
        other: FaceModel,
        script: Script,
        geometry: &ChallengeGeometry,
        conditions: &Conditions,
        seed: u64,
    ) -> Self {
        let (width, height) = (geometry.width, geometry.height);
        let focal = width as f32 / 2.0 / (conditions.hfov_deg.to_radians() / 2.0).tan();
        let lens = Lens { width, height, focal };
        let mut rng = SeededRng::new(seed);
        let k = height as f32 / 480.0;
        // The distance at which the face box covers `face_fraction` of the area box.
        let area = geometry.area.w * geometry.area.h;
        let z = focal * (face.face_size[0] * face.face_size[1] / (conditions.face_fraction * area)).sqrt();
        let prop = script.prop();
        let nose = face.nose_local(prop);
        let centre = [width as f32 / 2.0 + rng.noise(6.0) * k, height as f32 / 2.0 + rng.noise(6.0) * k];
        let frontal =
            Placement { yaw_deg: 0.0, pitch_deg: 0.0, roll_deg: rng.noise(1.5), pos: [0.0, 0.0, z] };
        let from = place(&lens, frontal, nose, centre, z);
        let toward = if geometry.target_is_right() { 1.0 } else { -1.0 };
        let up = if geometry.target.y + geometry.target.h / 2.0 < height as f32 / 2.0 { 1.0 } else { -1.0 };
        let (yaw, pitch) = match script {
            Script::Live | Script::TwoFaces | Script::Leaves => {
                let yaw = rng.uniform(10.0, 25.0);
                (toward * yaw, up * rng.uniform(0.15, 0.5) * yaw)
            }
            Script::Slide => (rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0)),
            Script::TurnAway => (-toward * rng.uniform(10.0, 20.0), up * rng.uniform(0.0, 5.0)),
            Script::Print | Script::Cutout | Script::Screen => {
                (toward * rng.uniform(10.0, 45.0), up * rng.uniform(0.0, 15.0))
            }
        };
        let t = geometry.target;
        let goal =
            [t.x + t.w / 2.0 + rng.uniform(-4.0, 4.0) * k, t.y + t.h / 2.0 + rng.uniform(-4.0, 4.0) * k];
        let end = Placement {
            yaw_deg: yaw,
            pitch_deg: pitch,
            roll_deg: frontal.roll_deg + rng.noise(2.0),
            pos: [0.0; 3],
        };
        let mut to = place(&lens, end, nose, goal, z * rng.uniform(0.97, 1.03));
        if script == Script::Leaves {
            // Walks out sideways instead of reaching the target.
            to.pos[0] += toward * z * 1.2;
        }
        // 14–30 frames at 15 fps, the same time at any frame rate.
        let mut moving_s = rng.uniform(14.0, 30.0) / 15.0;
        if conditions.speed == Speed::Quick {
            moving_s /= rng.uniform(2.0, 3.0);
        }
        let total = ((SETTLE_S + moving_s + HOLD_S) * conditions.fps as f32).ceil() as u64;
        Self {
            lens,
            wall: background(width, height),
            face,
            other,
            script,
            conditions: *conditions,
            motion: Motion { from, to },
            moving_s,
            total,
            next: 0,
            rng,
        }
    }

    /// The capture time of frame `i` in ms.
    pub fn frame_ms(&self, i: u64) -> u64 {
        i * 1000 / u64::from(self.conditions.fps)
    }

    /// Renders frame `i` (0-based) of the performance.
    fn render(&mut self, i: u64) -> RgbImage {
        let mut frame = self.wall.clone();
        let mut zbuf = vec![f32::INFINITY; (self.lens.width * self.lens.height) as usize];
        let t = i as f32 * self.conditions.frame_s();
        let k = (t - SETTLE_S) / self.moving_s;
        let mut pose = self.motion.at(k);
        // Hand or head tremor: a fraction of a pixel, a fraction of a degree.
        let px = pose.pos[2] / self.lens.focal;
        pose.pos[0] += self.rng.noise(0.35) * px;
        pose.pos[1] += self.rng.noise(0.35) * px;
        pose.yaw_deg += self.rng.noise(0.25);
        pose.pitch_deg += self.rng.noise(0.25);
        self.face.render(self.script.prop(), &pose, &self.lens, &mut frame, &mut zbuf);
        if self.script == Script::TwoFaces && t >= SETTLE_S + self.moving_s / 3.0 {
            let side = if pose.pos[0] > 0.0 { -1.0 } else { 1.0 };
            // Behind the visitor and to the side; world units are each model's texture pixels.
            let z = pose.pos[2] * 1.3 * self.other.face_width / self.face.face_width;
            let other = Placement {
                yaw_deg: -side * 12.0,
                pitch_deg: 0.0,
                roll_deg: 0.0,
                pos: [side * 0.36 * z * self.lens.width as f32 / self.lens.focal, -0.05 * z, z],
            };
            self.other.render(Prop::Head, &other, &self.lens, &mut frame, &mut zbuf);
        }
        frame
    }

    /// Number of frames of the performance.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the performance has no frames (never: there is always a settle phase).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl Camera for SyntheticCamera {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        if self.next >= self.total {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        let image = optics::codec_round_trip(&self.render(i), self.conditions.codec).map_err(|e| {
            CameraError::BadFrame { index: i as usize, name: "synthetic".into(), reason: e.to_string() }
        })?;
        Ok(Some(Frame { image, t_ms: self.frame_ms(i) }))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::liveness::TargetDraw;
    use crate::vision::Landmarks;

    /// A drawn face without the networks: a skin-coloured oval with dark eyes and mouth on a
    /// grey photo, and 468 landmarks laid over it (the oval's outline on the face-oval
    /// indices, the nose tip forward, the rest on a grid).
    pub(crate) fn drawn_face() -> FaceModel {
        let (w, h) = (240u32, 300u32);
        let (cx, cy, ax, ay) = (120.0f32, 150.0f32, 70.0f32, 92.0f32);
        let photo = RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = ((x as f32 - cx) / ax, (y as f32 - cy) / ay);
            let eye = ((x as f32 - cx).abs() - 28.0).hypot(y as f32 - cy + 22.0) < 9.0;
            let mouth = (x as f32 - cx).abs() < 24.0 && (y as f32 - cy - 45.0).abs() < 5.0;
            let grain = ((x * 7 + y * 13) % 11) as u8;
            match () {
                _ if eye || mouth => Rgb([40 + grain, 30, 30]),
                _ if u * u + v * v < 1.0 => Rgb([200 + grain, 150 + grain, 120]),
                _ => Rgb([90 + grain, 95, 100]),
            }
        });
        let mut points = vec![[cx, cy, 0.0f32]; 468];
        for (i, p) in points.iter_mut().enumerate() {
            let (gx, gy) = ((i % 20) as f32 / 19.0 - 0.5, (i / 20) as f32 / 23.0 - 0.5);
            *p = [cx + gx * ax * 1.3, cy + gy * ay * 1.3, -20.0 * (1.0 - 4.0 * (gx * gx + gy * gy)).max(0.0)];
        }
        for (k, &i) in head::FACE_OVAL.iter().enumerate() {
            let a =
                k as f32 / head::FACE_OVAL.len() as f32 * std::f32::consts::TAU - std::f32::consts::FRAC_PI_2;
            points[i] = [cx + ax * a.cos(), cy + ay * a.sin(), 0.0];
        }
        points[1] = [cx, cy + 10.0, -40.0];
        FaceModel::new(&photo, &Landmarks { points, presence: 1.0 })
    }

    pub(crate) fn geometry() -> ChallengeGeometry {
        ChallengeGeometry::new(640, 480, TargetDraw { right: true, below: false, dx: 70, dy: 30 })
    }

    pub(crate) fn camera(script: Script, conditions: &Conditions, seed: u64) -> SyntheticCamera {
        let face = drawn_face();
        SyntheticCamera::new(face.clone(), face, script, &geometry(), conditions, seed)
    }

    #[test]
    fn frames_at_30_fps_are_33_or_34_ms_apart() {
        let conditions = Conditions { fps: 30, ..Conditions::baseline() };
        let mut cam = camera(Script::Live, &conditions, 1);
        let mut times = Vec::new();
        while let Some(frame) = cam.next_frame().unwrap() {
            assert_eq!(frame.image.dimensions(), (640, 480));
            times.push(frame.t_ms);
        }
        assert!(times.len() > 20, "{times:?}");
        for pair in times.windows(2) {
            assert!(matches!(pair[1] - pair[0], 33 | 34), "{times:?}");
        }
    }

    #[test]
    fn a_performance_lasts_the_same_time_at_15_and_30_fps() {
        let at = |fps| camera(Script::Live, &Conditions { fps, ..Conditions::baseline() }, 5).len();
        let (slow, fast) = (at(15), at(30));
        assert!(fast.abs_diff(2 * slow) <= 2, "15 fps: {slow} frames, 30 fps: {fast}");
    }

    #[test]
    fn a_quick_visitor_finishes_sooner() {
        let at = |speed| camera(Script::Live, &Conditions { speed, ..Conditions::baseline() }, 5).len();
        assert!(at(Speed::Quick) < at(Speed::Slow));
    }
}
