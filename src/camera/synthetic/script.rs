//! The poses each script asks for: where the performer starts, where the movement ends, how
//! the hand or head trembles, and the passer-by's walk.

use super::conditions::{Conditions, Speed};
use super::head::{FaceModel, Lens, Placement, Prop};
use super::performance::{Motion, Nod, Passer, PasserScene, Tremor, place};
use super::screen::Phone;
use super::{SETTLE_S, Script, SeededRng};
use crate::liveness::ChallengeGeometry;

/// Tremor of a head held up by its own neck: a fraction of a pixel, a fraction of a degree.
const HEAD_TREMOR: (f32, f32) = (0.35, 0.25);
/// Tremor of a hand holding a picture up at arm's length: larger and faster.
pub(crate) const HAND_TREMOR: (f32, f32) = (1.2, 0.6);

/// The movement of `script`'s object (`prop` made from `face`) for `geometry`.
pub fn motion(
    script: Script,
    prop: Prop,
    face: &FaceModel,
    lens: &Lens,
    geometry: &ChallengeGeometry,
    conditions: &Conditions,
    rng: &mut SeededRng,
) -> Motion {
    let (width, height) = (geometry.width as f32, geometry.height as f32);
    let k = height / 480.0;
    // The distance at which the face box covers `face_fraction` of the area box.
    let area = geometry.area.w * geometry.area.h;
    let z = lens.focal * (face.face_size[0] * face.face_size[1] / (conditions.face_fraction * area)).sqrt();
    let nose = face.nose_local(prop);
    let centre = [width / 2.0 + rng.noise(6.0) * k, height / 2.0 + rng.noise(6.0) * k];
    let frontal = Placement {
        tilt_deg: conditions.pitch_deg,
        yaw_deg: 0.0,
        pitch_deg: 0.0,
        roll_deg: rng.noise(1.5),
        pos: [0.0, 0.0, z],
    };
    let from = place(lens, frontal, nose, centre, z);
    let toward = if geometry.target_is_right() { 1.0 } else { -1.0 };
    let up = if geometry.target.y + geometry.target.h / 2.0 < height / 2.0 { 1.0 } else { -1.0 };
    let (yaw, pitch, roll) = match script {
        Script::Live | Script::TwoFaces | Script::Leaves => {
            let yaw = rng.uniform(10.0, 25.0);
            (toward * yaw, up * rng.uniform(0.15, 0.5) * yaw, rng.noise(2.0))
        }
        Script::Slide => (rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0), rng.noise(2.0)),
        Script::TurnAway => (-toward * rng.uniform(10.0, 20.0), up * rng.uniform(0.0, 5.0), rng.noise(2.0)),
        Script::Print | Script::Cutout | Script::Screen | Script::BentPrint => {
            let (yaw, pitch, roll) = attack_turn(rng);
            (toward * yaw, up * pitch, roll)
        }
        Script::VideoReplay => unreachable!("a video replay's display is held still: video::Replay moves it"),
    };
    let t = geometry.target;
    let goal = [t.x + t.w / 2.0 + rng.uniform(-4.0, 4.0) * k, t.y + t.h / 2.0 + rng.uniform(-4.0, 4.0) * k];
    let end = Placement { yaw_deg: yaw, pitch_deg: pitch, roll_deg: frontal.roll_deg + roll, ..frontal };
    let mut to = place(lens, end, nose, goal, z * rng.uniform(0.97, 1.03));
    if script == Script::Leaves {
        // Walks out sideways instead of reaching the target.
        to.pos[0] += toward * z * 1.2;
    }
    // 14–30 frames at 15 fps, the same time at any frame rate.
    let mut moving_s = rng.uniform(14.0, 30.0) / 15.0;
    if conditions.speed == Speed::Quick {
        moving_s /= rng.uniform(2.0, 3.0);
    }
    let (px, deg) = if prop.is_picture() { HAND_TREMOR } else { HEAD_TREMOR };
    let tremor = Tremor::new(px, deg, rng);
    let nod = (!prop.is_picture())
        .then(|| Nod(rng.uniform(0.5, 1.5), rng.uniform(0.4, 1.0), rng.uniform(0.0, std::f32::consts::TAU)));
    Motion { from, to, start_s: SETTLE_S, moving_s, tremor, nod }
}

/// How an attacker turns a picture toward the target: tilted (yaw and pitch, 10–45° in
/// all), rotated in its plane (up to ±20°), or both, in a random mix. Returns the yaw (toward
/// the target), the pitch (toward its height) and the roll.
fn attack_turn(rng: &mut SeededRng) -> (f32, f32, f32) {
    let (tilt, rotate) = match rng.next_u64() % 3 {
        0 => (true, false),
        1 => (false, true),
        _ => (true, true),
    };
    let amount = if tilt { rng.uniform(10.0, 45.0) } else { rng.uniform(0.0, 5.0) };
    // Mostly a yaw (the target is to the side), some pitch (it is also above or below).
    let a = rng.uniform(0.0, 0.6);
    let roll = if rotate {
        let r = rng.uniform(5.0, 20.0);
        if rng.next_u64().is_multiple_of(2) { r } else { -r }
    } else {
        rng.noise(2.0)
    };
    (amount * a.cos(), amount * a.sin(), roll)
}

/// A phone: the ceiling light it reflects and how strongly it shows glare and moiré.
pub fn phone(picture_width: f32, rng: &mut SeededRng) -> Phone {
    // From the glass toward a light above the camera, a little to one side.
    let l = [rng.uniform(-0.3, 0.3), rng.uniform(-0.5, -0.1), -1.0f32];
    let n = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
    Phone {
        light: l.map(|v| v / n),
        glare: rng.uniform(0.35, 0.8),
        // A blob of 5–9° half width.
        glare_width: 1.0 - rng.uniform(5.0, 9.0).to_radians().cos(),
        moire: rng.uniform(0.05, 0.15),
        picture_width,
    }
}

/// The passer-by of [`Script::TwoFaces`]: `other` walking behind `face`'s visitor.
pub fn passer(
    face: &FaceModel,
    other: &FaceModel,
    motion: &Motion,
    lens: &Lens,
    conditions: &Conditions,
    total: u64,
    rng: &mut SeededRng,
) -> Passer {
    let fps = conditions.fps;
    // The visitor's head (its ellipsoid is 1.24 face boxes wide) over the whole movement.
    let x = |p: &Placement| lens.project(p.pos)[0];
    let half = |p: &Placement| 0.62 * face.face_size[0] * lens.focal / p.pos[2];
    let left = (x(&motion.from) - half(&motion.from)).min(x(&motion.to) - half(&motion.to));
    let right = (x(&motion.from) + half(&motion.from)).max(x(&motion.to) + half(&motion.to));
    // The challenge's Area and Nose states: from the second frame until the nose is near
    // the target (the decision comes when it enters the hit box, which the eased movement
    // reaches at about two thirds of its time).
    let last = ((motion.start_s + 0.6 * motion.moving_s) * fps as f32) as u64;
    let scene = PasserScene {
        lens: *lens,
        fps,
        head_x: (left + right) / 2.0,
        head_half_width: (right - left) / 2.0,
        face_width: other.face_width,
        face_y: lens.project(motion.from.pos)[1],
        window: 1..last.clamp(2, total),
    };
    scene.walk(conditions.pitch_deg, rng)
}
