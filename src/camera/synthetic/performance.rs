//! What the performer does over time: the start and end poses a script asks for, the smooth
//! movement between them, the tremor of a head or of a hand holding a picture, a live head's
//! small nods, and the passer-by who walks behind the visitor.
//!
//! Poses are functions of time (seconds), not of frame index, so a performance lasts the
//! same at any frame rate and the renderer can ask for the pose at any instant of a frame's
//! exposure (rolling shutter, motion blur).

use std::f32::consts::TAU;

use super::head::{Lens, Placement, rotate, rotation};
use super::{SeededRng, smoothstep};

/// Where the pivot must be so that `local` (object coordinates) projects to `pixel` at depth
/// `z` of the pivot, with the object rotated as in `pose`.
pub fn place(lens: &Lens, pose: Placement, local: [f32; 3], pixel: [f32; 2], z: f32) -> Placement {
    let r = rotate(&rotation(&pose), local);
    let depth = z + r[2];
    let x = (pixel[0] - lens.width as f32 / 2.0) * depth / lens.focal - r[0];
    let y = (pixel[1] - lens.height as f32 / 2.0) * depth / lens.focal - r[1];
    Placement { pos: [x, y, z], ..pose }
}

/// A smooth involuntary movement: per axis (x, y in pixels at the object's distance; yaw,
/// pitch, roll in degrees) the sum of two sinusoids of 3–11 Hz with random phases.
#[derive(Debug, Clone, PartialEq)]
pub struct Tremor {
    /// Per axis: two (amplitude, frequency Hz, phase) terms.
    axes: [[(f32, f32, f32); 2]; 5],
}

impl Tremor {
    /// A tremor of about `px` pixels and `deg` degrees.
    pub fn new(px: f32, deg: f32, rng: &mut SeededRng) -> Self {
        let axes = std::array::from_fn(|i| {
            let amp = if i < 2 { px } else { deg };
            std::array::from_fn(|_| {
                (amp * rng.uniform(0.4, 0.8), rng.uniform(3.0, 11.0), rng.uniform(0.0, TAU))
            })
        });
        Self { axes }
    }

    fn axis(&self, i: usize, t: f32) -> f32 {
        self.axes[i].iter().map(|&(a, f, p)| a * (TAU * f * t + p).sin()).sum()
    }

    /// `pose` shaken at time `t`; `focal` converts pixels to the pose's units.
    pub fn apply(&self, mut pose: Placement, t: f32, focal: f32) -> Placement {
        let px = pose.pos[2] / focal;
        pose.pos[0] += self.axis(0, t) * px;
        pose.pos[1] += self.axis(1, t) * px;
        pose.yaw_deg += self.axis(2, t);
        pose.pitch_deg += self.axis(3, t);
        pose.roll_deg += self.axis(4, t);
        pose
    }
}

/// A slow nod a live head makes while it moves: `(amplitude °, frequency Hz, phase)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nod(pub f32, pub f32, pub f32);

/// The performer's object from the start pose to the end pose.
#[derive(Debug, Clone, PartialEq)]
pub struct Motion {
    pub from: Placement,
    pub to: Placement,
    /// When the movement starts and how long it takes (s).
    pub start_s: f32,
    pub moving_s: f32,
    pub tremor: Tremor,
    pub nod: Option<Nod>,
}

impl Motion {
    /// The noise-free pose along the movement, `k` in 0..=1.
    pub fn along(&self, k: f32) -> Placement {
        let s = smoothstep(k);
        let mix = |a: f32, b: f32| a + (b - a) * s;
        Placement {
            tilt_deg: self.from.tilt_deg,
            yaw_deg: mix(self.from.yaw_deg, self.to.yaw_deg),
            pitch_deg: mix(self.from.pitch_deg, self.to.pitch_deg),
            roll_deg: mix(self.from.roll_deg, self.to.roll_deg),
            pos: std::array::from_fn(|i| mix(self.from.pos[i], self.to.pos[i])),
        }
    }

    /// The pose at time `t` (s), tremor and nods included.
    pub fn at(&self, t: f32, focal: f32) -> Placement {
        let mut pose = self.along((t - self.start_s) / self.moving_s);
        if let Some(Nod(amp, f, phase)) = self.nod {
            // Nods only while moving: a still head at the start and end is still.
            let k = ((t - self.start_s) / self.moving_s).clamp(0.0, 1.0);
            pose.pitch_deg += amp * (TAU * f * t + phase).sin() * (std::f32::consts::PI * k).sin();
        }
        self.tremor.apply(pose, t, focal)
    }
}

/// A second person walking behind the visitor, in view (face fully visible, clear of the
/// visitor's head and inside the frame) for a few consecutive frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Passer {
    /// Head pose (position at time `t0_s`).
    pub pose: Placement,
    /// Walking velocity in camera units per second (x only).
    pub speed: f32,
    pub t0_s: f32,
    /// When the passer is drawn at all (before and after, far behind the visitor or
    /// out of the frame).
    pub drawn_s: (f32, f32),
    /// Frame indices with the face in view.
    pub frames: std::ops::Range<u64>,
}

impl Passer {
    /// The passer's pose at `t` (walking on, drawn or not).
    pub fn at(&self, t: f32) -> Placement {
        let mut pose = self.pose;
        pose.pos[0] += self.speed * (t - self.t0_s);
        pose
    }

    /// Whether the passer is drawn at `t`.
    pub fn is_drawn(&self, t: f32) -> bool {
        (self.drawn_s.0..=self.drawn_s.1).contains(&t)
    }
}

/// What a passer walk needs to know about the scene.
#[derive(Debug, Clone)]
pub struct PasserScene {
    pub lens: Lens,
    pub fps: u32,
    /// The visitor's head: image x of its centre and half width (px) while the passer passes.
    pub head_x: f32,
    pub head_half_width: f32,
    /// The passer's face width in its own texture units.
    pub face_width: f32,
    /// Image y of the visitor's face centre.
    pub face_y: f32,
    /// Frames in which the passer may appear (the challenge's Area and Nose states).
    pub window: std::ops::Range<u64>,
}

impl PasserScene {
    /// A walk in view for 3–8 consecutive frames, on the side with more room, emerging from
    /// behind the visitor's head or disappearing behind it.
    pub fn walk(&self, tilt_deg: f32, rng: &mut SeededRng) -> Passer {
        let lens = self.lens;
        let k = lens.height as f32 / 480.0;
        // 3–8 frames, fewer when the challenge is short (a quick visitor at 15 fps).
        let room = self.window.end.saturating_sub(self.window.start).max(3);
        let n = (3 + rng.next_u64() % 6).min(room);
        // Big enough for a face detector (≥ ~70 px at 640×480), small enough to be behind.
        let face_px = rng.uniform(80.0, 100.0) * k;
        let z = lens.focal * self.face_width / face_px;
        let side = if self.head_x > lens.width as f32 / 2.0 { -1.0 } else { 1.0 };
        // Face-centre x range where the face box is clear of the head and inside the frame.
        let near = self.head_x + side * (self.head_half_width + face_px / 2.0);
        let far = if side > 0.0 { lens.width as f32 - face_px / 2.0 } else { face_px / 2.0 };
        let travel = (far - near).abs().max(8.0 * k);
        let outward = rng.next_u64().is_multiple_of(2);
        let dir = if outward { side } else { -side };
        let v_px = travel / (n as f32 / self.fps as f32);
        let span = self.window.end.saturating_sub(self.window.start).saturating_sub(n).max(1);
        let first = self.window.start + rng.next_u64() % span;
        // Enter half a frame before `first`, leave half a frame after the last: exactly `n`
        // frame times fall inside.
        let t_enter = (first as f32 - 0.5) / self.fps as f32;
        let x_enter = if outward { near } else { far };
        let y = self.face_y + rng.uniform(-0.12, 0.04) * lens.height as f32;
        let to_units = z / lens.focal;
        let pose = Placement {
            tilt_deg,
            yaw_deg: -dir * rng.uniform(5.0, 20.0),
            pitch_deg: rng.uniform(-4.0, 4.0),
            roll_deg: rng.noise(2.0),
            pos: [
                (x_enter - lens.width as f32 / 2.0) * to_units,
                (y - lens.height as f32 / 2.0) * to_units,
                z,
            ],
        };
        // Drawn from a whole face width behind the head (or beyond the frame edge) to as far
        // past the other end.
        let margin_s = face_px * 1.5 / v_px;
        let t_exit = t_enter + n as f32 / self.fps as f32;
        Passer {
            pose,
            speed: dir * v_px * to_units,
            t0_s: t_enter,
            drawn_s: (t_enter - margin_s, t_exit + margin_s),
            frames: first..first + n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens() -> Lens {
        Lens { width: 640, height: 480, focal: 530.0 }
    }

    #[test]
    fn a_tremor_is_small_and_smooth() {
        let tremor = Tremor::new(0.5, 0.3, &mut SeededRng::new(2));
        let still =
            Placement { tilt_deg: 0.0, yaw_deg: 0.0, pitch_deg: 0.0, roll_deg: 0.0, pos: [0.0, 0.0, 530.0] };
        let mut last = tremor.apply(still, 0.0, 530.0);
        for i in 1..300 {
            let p = tremor.apply(still, i as f32 * 0.001, 530.0);
            assert!(p.pos[0].abs() <= 0.5 * 1.6 + 1e-3 && p.yaw_deg.abs() <= 0.3 * 1.6 + 1e-3, "{p:?}");
            // At 1 ms steps a smooth movement changes by far less than its amplitude.
            assert!((p.pos[0] - last.pos[0]).abs() < 0.05, "{p:?} after {last:?}");
            last = p;
        }
    }

    #[test]
    fn the_passer_is_in_view_for_three_to_eight_frames_inside_the_window() {
        for fps in [15, 30] {
            for seed in 0..40 {
                let scene = PasserScene {
                    lens: lens(),
                    fps,
                    head_x: 300.0,
                    head_half_width: 130.0,
                    face_width: 180.0,
                    face_y: 240.0,
                    window: 2..25,
                };
                let p = scene.walk(0.0, &mut SeededRng::new(seed));
                let n = p.frames.end - p.frames.start;
                assert!((3..=8).contains(&n), "{n}");
                assert!(p.frames.start >= 2 && p.frames.end <= 25, "{:?}", p.frames);
                // Face box clear of the visitor's head and inside the frame on exactly these frames.
                let in_view = |i: u64| {
                    let t = i as f32 / fps as f32;
                    if !p.is_drawn(t) {
                        return false;
                    }
                    let pose = p.at(t);
                    let x = lens().project(pose.pos)[0];
                    let half = 180.0 / 2.0 * lens().focal / pose.pos[2];
                    (x - 300.0).abs() >= 130.0 + half && x - half >= 0.0 && x + half <= 640.0
                };
                let seen: Vec<u64> = (0..40).filter(|&i| in_view(i)).collect();
                assert_eq!(seen, p.frames.clone().collect::<Vec<_>>(), "fps {fps} seed {seed}");
            }
        }
    }
}
