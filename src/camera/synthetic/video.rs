//! Issue 18's threat: a video of the victim performing the challenge, played on a phone or
//! tablet held still in front of the camera.
//!
//! The video is a live performance rendered by a second synthetic camera ([`Replay::inner`]) at
//! a door of its own, for the same challenge geometry: a re-enactment, or a puppet streamed
//! to the screen, that turns toward whatever target the terminal drew. Its head really turns,
//! so the picture carries genuine 3-D motion, and its background (the inner door's wall) stays
//! put; what it cannot carry is the terminal's own light on the skin. For half of the replays
//! the video was filmed under coloured light of its own that is not synchronised with the
//! challenge.
//!
//! The attacker holds the display square to the camera at the distance where its picture
//! maps onto the camera's image about 1:1 (scale 0.92–1.08, a few pixels off centre), so the
//! video's nose lands where the video put it: on the target. The display is a flat surface
//! whose texture is the video's current frame each camera frame ([`Replay::surface_at`]),
//! shaded as every phone screen is (display gamma, glare, moiré, the terminal's screen
//! mirrored in the glass and 1 % of its light scattered).

use image::RgbImage;

use super::conditions::{Codec, Conditions};
use super::head::{FaceModel, Lens, Placement};
use super::performance::{Motion, Tremor};
use super::render::Surface;
use super::screen::{BEZEL, BEZEL_RGB, emitted};
use super::{SETTLE_S, Script, SeededRng, SyntheticCamera, foreign_flashes};
use crate::camera::Camera;
use crate::liveness::ChallengeGeometry;
use crate::liveness::light::LightPlan;

/// A video playing on a handheld display.
#[derive(Debug)]
pub struct Replay {
    /// The recorded (or puppeted) performance the display plays.
    inner: Box<SyntheticCamera>,
    /// The video frame on the display now.
    shown: Option<RgbImage>,
    /// The display's width, m (a phone 12–15 cm, a tablet 20–25 cm).
    pub width_m: f32,
    /// Spacing of the display's samples, in video pixels.
    step: f32,
    /// The display's brightness against the scene's light.
    glow: f32,
}

impl Replay {
    /// A replay of `face` performing the challenge `geometry`, held up to a camera with
    /// `lens` at a door with `conditions`, and the display's movement (held still, with a
    /// hand's tremor).
    pub fn new(
        face: FaceModel,
        other: FaceModel,
        geometry: &ChallengeGeometry,
        conditions: &Conditions,
        lens: &Lens,
        glow: f32,
        rng: &mut SeededRng,
    ) -> (Self, Motion) {
        let k = lens.height as f32 / 480.0;
        let scale = rng.uniform(0.92, 1.08);
        // Filmed elsewhere, with a phone: 30 fps, good compression, its own light and lens.
        let mut door = Conditions::sample(rng);
        door.fps = 30;
        door.codec = Codec::Jpeg { quality: rng.uniform(80.0, 96.0) as u8 };
        // Shown at `scale`, the video's face covers the share of the area box the door's
        // visitor would.
        door.face_fraction = conditions.face_fraction / (scale * scale);
        let mut inner = SyntheticCamera::new(face, other, Script::Live, geometry, &door, rng.next_u64());
        if rng.next_u64().is_multiple_of(2) {
            // Filmed under coloured flashes of another sequence, not this challenge's.
            let (left, right) = (foreign_flashes(rng), foreign_flashes(rng));
            let flash_ms = rng.uniform(150.0, 400.0) as u32;
            let start_ms = (rng.uniform(0.0, 1.0) * 500.0) as u64;
            inner.light(&LightPlan::new((&left, &right), flash_ms, start_ms));
        }
        let z = lens.focal / scale;
        let (dx, dy) = (rng.noise(4.0) * k, rng.noise(4.0) * k);
        let held = Placement {
            tilt_deg: 0.0,
            yaw_deg: rng.noise(2.5),
            pitch_deg: rng.noise(2.5),
            roll_deg: rng.noise(1.0),
            pos: [dx * z / lens.focal, dy * z / lens.focal, z],
        };
        let (px, deg) = super::script::HAND_TREMOR;
        let motion = Motion {
            from: held,
            to: held,
            start_s: SETTLE_S,
            moving_s: inner.motion.start_s + inner.motion.moving_s - SETTLE_S,
            tremor: Tremor::new(px, deg, rng),
            nod: None,
        };
        let width_m =
            if rng.next_u64().is_multiple_of(2) { rng.uniform(0.12, 0.15) } else { rng.uniform(0.20, 0.25) };
        // Samples about a camera pixel apart (each fills 2×2), as for a still phone screen.
        let step = (1.4 * scale).min(1.5);
        (Self { inner: Box::new(inner), shown: None, width_m, step, glow }, motion)
    }

    /// The picture's size in video pixels.
    pub fn size(&self) -> [f32; 2] {
        [self.inner.lens.width as f32, self.inner.lens.height as f32]
    }

    /// The display's corners (bezel included), object-local.
    pub fn corners(&self) -> Vec<[f32; 3]> {
        let [w, h] = self.size();
        let b = BEZEL * w;
        let (x, y) = (w / 2.0 + b, h / 2.0 + b);
        vec![[-x, -y, 0.0], [x, -y, 0.0], [x, y, 0.0], [-x, y, 0.0]]
    }

    /// Metres per video pixel on the display.
    pub fn m_per_texel(&self) -> f32 {
        self.width_m / self.size()[0]
    }

    /// The display at `t_ms` (the video's latest frame by then) as a surface: the picture
    /// emitted with the display's gamma, centred on the object's pivot, in its bezel.
    pub fn surface_at(&mut self, t_ms: u64) -> Surface {
        while self.inner.next < self.inner.total && self.inner.frame_ms(self.inner.next) <= t_ms {
            // A frame the video could not render (only its codec can fail) leaves the last one
            // on the display, as a player does.
            if let Ok(Some(frame)) = self.inner.next_frame() {
                self.shown = Some(frame.image);
            }
        }
        let [w, h] = self.size();
        let b = BEZEL * w;
        let mut out = Surface::default();
        let Some(frame) = &self.shown else { return out };
        let mut y = -b;
        while y < h + b {
            let mut x = -b;
            while x < w + b {
                let inside = x >= 0.0 && y >= 0.0 && x < w && y < h;
                let colour = if inside {
                    emitted(*frame.get_pixel(x as u32, y as u32), self.glow).0
                } else {
                    BEZEL_RGB
                };
                out.push([x - w / 2.0, y - h / 2.0, 0.0], colour);
                x += self.step;
            }
            y += self.step;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{drawn_face, geometry};
    use super::super::{Conditions, Script, SyntheticCamera};
    use crate::camera::Camera;

    fn replay(seed: u64) -> SyntheticCamera {
        let face = drawn_face();
        SyntheticCamera::new(
            face.clone(),
            face,
            Script::VideoReplay,
            &geometry(),
            &Conditions::baseline(),
            seed,
        )
    }

    /// The mean absolute difference between two frames in the middle (clear of the bezel).
    fn change(a: &image::RgbImage, b: &image::RgbImage) -> f32 {
        let (mut sum, mut n) = (0.0, 0.0);
        for y in 60..420 {
            for x in 100..540 {
                let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
                sum += (0..3).map(|c| (f32::from(p[c]) - f32::from(q[c])).abs()).sum::<f32>() / 3.0;
                n += 1.0;
            }
        }
        sum / n
    }

    #[test]
    fn the_video_turns_the_face_toward_the_target_while_the_display_is_held_still() {
        for seed in [3, 7] {
            let mut cam = replay(seed);
            let frames: Vec<_> = std::iter::from_fn(|| cam.next_frame().unwrap()).collect();
            assert!(frames.len() > 20, "{} frames", frames.len());
            // The target is to the right: the filmed performer moves right and turns.
            let (from, to) = cam.replay.as_ref().expect("a replay").inner.turn_poses();
            assert!(to.pos[0] > from.pos[0] + 20.0 && to.yaw_deg - from.yaw_deg > 10.0, "{from:?} {to:?}");
            // What the display shows changes (the video plays)...
            let shown = change(&frames[0].image, &frames[frames.len() - 1].image);
            assert!(shown > 5.0, "seed {seed}: the picture changed by {shown}");
            // ...while the display itself stays within a hand's tremor.
            let (a, b) = (cam.true_pose_at_ms(0), cam.true_pose_at_ms(frames[frames.len() - 1].t_ms));
            assert!((a.pos[0] - b.pos[0]).abs() < 5.0 && (a.yaw_deg - b.yaw_deg).abs() < 2.0, "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_replay_is_an_attack_but_not_a_flat_movement() {
        assert!(Script::VideoReplay.is_attack());
        assert!(!Script::VideoReplay.is_flat_attack());
        assert!(Script::Screen.is_flat_attack() && !Script::Live.is_flat_attack());
    }
}
