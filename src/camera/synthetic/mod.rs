//! The synthetic camera: test material without hardware, deterministic from a seed.
//!
//! A real face photo becomes a 3-D head ([`head`]) or a flat picture, and a scripted
//! performer reads the challenge and moves: a live visitor turning toward the target, one
//! who only slides, one who turns away, a second person stepping in, a face leaving the
//! frame, and attackers tilting a print, a cut-out or a phone screen so its nose reaches the
//! target. Frames come out as a camera would deliver them and go through the same vision
//! code as real ones.

pub mod head;

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

pub use head::{FaceModel, Lens, Placement, Prop};

use super::{Camera, CameraError, Frame};
use crate::liveness::ChallengeGeometry;

/// Frames per second of the synthetic camera.
pub const FPS: u64 = 15;

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

/// A scripted performance in front of the synthetic camera.
#[derive(Debug, Clone)]
pub struct SyntheticCamera {
    lens: Lens,
    wall: RgbImage,
    face: FaceModel,
    other: FaceModel,
    script: Script,
    motion: Motion,
    settle: u64,
    moving: u64,
    total: u64,
    next: u64,
    rng: SeededRng,
}

impl SyntheticCamera {
    /// A performance of `script` by `face` (and `other` as a second person or a stand-in
    /// when the script needs one) for the challenge `geometry`, deterministic from `seed`.
    pub fn new(
        face: FaceModel,
        other: FaceModel,
        script: Script,
        geometry: &ChallengeGeometry,
        hfov_deg: f32,
        seed: u64,
    ) -> Self {
        let (width, height) = (geometry.width, geometry.height);
        let focal = width as f32 / 2.0 / (hfov_deg.to_radians() / 2.0).tan();
        let lens = Lens { width, height, focal };
        let mut rng = SeededRng::new(seed);
        let k = height as f32 / 480.0;
        // Face about 190–225 px wide at 640×480: arm's length at a door.
        let z = focal * face.face_width / (rng.uniform(190.0, 225.0) * k);
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
        let settle = 4;
        let moving = rng.uniform(14.0, 30.0) as u64;
        Self {
            lens,
            wall: background(width, height),
            face,
            other,
            script,
            motion: Motion { from, to },
            settle,
            moving,
            total: settle + moving + 8,
            next: 0,
            rng,
        }
    }

    /// Renders frame `i` (0-based) of the performance.
    fn render(&mut self, i: u64) -> RgbImage {
        let mut frame = self.wall.clone();
        let mut zbuf = vec![f32::INFINITY; (self.lens.width * self.lens.height) as usize];
        let k = i.saturating_sub(self.settle) as f32 / self.moving as f32;
        let mut pose = self.motion.at(k);
        // Hand or head tremor: a fraction of a pixel, a fraction of a degree.
        let px = pose.pos[2] / self.lens.focal;
        pose.pos[0] += self.rng.noise(0.35) * px;
        pose.pos[1] += self.rng.noise(0.35) * px;
        pose.yaw_deg += self.rng.noise(0.25);
        pose.pitch_deg += self.rng.noise(0.25);
        self.face.render(self.script.prop(), &pose, &self.lens, &mut frame, &mut zbuf);
        if self.script == Script::TwoFaces && i >= self.settle + self.moving / 3 {
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
        Ok(Some(Frame { image: self.render(i), t_ms: i * 1000 / FPS }))
    }
}
