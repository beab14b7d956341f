//! The synthetic camera: test material without hardware, deterministic from a seed.
//!
//! A real face photo becomes a 3-D head ([`head`]) or a picture, and a scripted performer
//! reads the challenge and moves ([`script`], [`performance`]): a live visitor turning
//! toward the target, one who only slides, one who turns away, a passer-by walking behind
//! the visitor, a face leaving the frame, and attackers tilting, rotating and moving a print,
//! a bent print, a cut-out or a phone screen ([`screen`]) so its nose reaches the target.
//!
//! Each session draws its door and camera ([`Conditions`]): frame rate, lens, mounting
//! height, distance, light, AE/WB steps, rolling shutter, codec, speed, the wall behind
//! ([`Wall`]). Frames are rendered by forward splatting ([`render`]: rolling shutter and
//! motion blur included), pass through the sensor and the codec ([`optics`]) and come out as
//! a decoder would give them to the service, which runs the same vision code on them as on a
//! real camera's.

pub(crate) mod conditions;
pub(crate) mod head;
pub(crate) mod illumination;
pub(crate) mod optics;
pub(crate) mod performance;
pub(crate) mod relief;
pub(crate) mod render;
pub(crate) mod screen;
mod script;
mod video;
pub(crate) mod wall;

use image::RgbImage;
use serde::{Deserialize, Serialize};

pub use conditions::{Codec, Conditions, Light, Speed};
pub use head::{FaceModel, Lens, Placement, Prop};
use optics::Sensor;
use performance::{Motion, Passer};
use render::{Canvas, Moving, Shader, Shutter, Surface, Transform, image_motion};
use screen::{Phone, ScreenLook};
pub use wall::Wall;

use super::{Camera, CameraError, Frame, Lit};
use crate::liveness::ChallengeGeometry;
use crate::liveness::light::LightPlan;
use crate::vision::Landmarks;
use crate::vision::pose::Intrinsics;

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
    /// The photo on a phone screen (glare, moiré), tilted and moved the same way.
    Screen,
    /// A print curled about a vertical axis (radius 6–20 cm), tilted and moved the same way.
    BentPrint,
    /// A video of the face performing the challenge (a recording, a re-enactment or a puppet
    /// that follows the target) played on a phone or tablet held still in front of the
    /// camera (`video`): the head in the picture turns, the picture does not move.
    VideoReplay,
}

impl Script {
    /// Every script, bona fide first.
    pub const ALL: [Script; 10] = [
        Script::Live,
        Script::Slide,
        Script::TurnAway,
        Script::TwoFaces,
        Script::Leaves,
        Script::Print,
        Script::Cutout,
        Script::Screen,
        Script::BentPrint,
        Script::VideoReplay,
    ];

    /// Whether this is a presentation attack (a flat picture instead of a person).
    pub fn is_attack(self) -> bool {
        self.is_flat_attack() || self == Script::VideoReplay
    }

    /// Whether this is an attack that moves a flat picture as a whole to aim it (the 3-D
    /// motion check's target): every attack but a video replay, whose picture shows a head
    /// that really turns.
    pub fn is_flat_attack(self) -> bool {
        matches!(self, Script::Print | Script::Cutout | Script::Screen | Script::BentPrint)
    }

    /// The prop a script shows (a bent print's curl drawn from `rng`).
    fn prop(self, rng: &mut SeededRng) -> Prop {
        match self {
            Script::Print => Prop::Print,
            Script::Cutout => Prop::Cutout,
            Script::Screen | Script::VideoReplay => Prop::Screen,
            Script::BentPrint => {
                let r = rng.uniform(6.0, 20.0);
                Prop::BentPrint { curl_cm: if rng.next_u64().is_multiple_of(2) { r } else { -r } }
            }
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

/// Colours of a light a video was filmed under (not the challenge's): 12 palette indices from
/// `rng`, no colour twice in a row.
fn foreign_flashes(rng: &mut SeededRng) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    while out.len() < 12 {
        let i = (rng.next_u64() % crate::liveness::light::PALETTE.len() as u64) as usize;
        if out.last() != Some(&i) {
            out.push(i);
        }
    }
    out
}

/// Eases 0..=1 in and out (a movement that starts and stops gently).
pub(crate) fn smoothstep(k: f32) -> f32 {
    let k = k.clamp(0.0, 1.0);
    k * k * (3.0 - 2.0 * k)
}

/// Time before the performer starts moving (the old 4 frames at 15 fps).
const SETTLE_S: f32 = 4.0 / 15.0;
/// The replayed video's own coloured light: relative brightening of a lit channel.
const VIDEO_LIGHT: f32 = 0.3;
/// After the last flash, frames go on this long (the check's largest lag and a frame more).
const LIGHT_TAIL_MS: u64 = 500;
/// Time the performer holds still at the end (the old 8 frames at 15 fps).
const HOLD_S: f32 = 8.0 / 15.0;
/// Motion during the exposure below this many pixels is not worth sub-frames.
const BLUR_MIN_PX: f32 = 1.0;
/// One sub-frame per this many pixels of motion during the exposure (each sub-frame's
/// 2×2 splat already spreads a sample over two pixels)...
const BLUR_PX_PER_LAYER: f32 = 2.0;
/// ...up to this many (beyond, the steps are a few pixels apart and the codec smooths them;
/// rendering stays cheap).
const MAX_LAYERS: usize = 5;

/// A scripted performance in front of the synthetic camera.
#[derive(Debug)]
pub struct SyntheticCamera {
    lens: Lens,
    wall: RgbImage,
    conditions: Conditions,
    motion: Motion,
    surface: Surface,
    /// The face template's landmarks on the object, object-local.
    landmarks: Vec<(usize, [f32; 3])>,
    /// Object-local points whose image motion decides the motion blur.
    probe: Vec<[f32; 3]>,
    phone: Option<Phone>,
    passer: Option<(Passer, Surface)>,
    sensor: Sensor,
    canvas: Canvas,
    total: u64,
    next: u64,
    rng: SeededRng,
    /// The terminal screen's flashes, once the challenge shows them (`Camera::light`).
    plan: Option<LightPlan>,
    /// For half the phone-screen attacks, the replayed video's own coloured light: the
    /// victim filmed under flashes of another sequence, not synchronised with the challenge.
    video_light: Option<LightPlan>,
    /// Metres per texel (a face is [`head::FACE_WIDTH_CM`] wide; a video replay's display:
    /// per video pixel).
    m_per_texel: f32,
    /// The terminal's panel as it flashes: how much of it lights the scene, and where.
    panel: &'static illumination::Panel,
    /// The video a [`Script::VideoReplay`]'s display plays; its surface changes every frame.
    replay: Option<video::Replay>,
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
        let prop = script.prop(&mut rng);
        let glow = match conditions.light {
            Light::Bright => 0.8,
            Light::Normal => 1.0,
            Light::Dim => 1.35,
        };
        // What is held up to the camera: the face itself (a head or a picture), or a display
        // playing a video of it (`video`), whose surface is the video's frame of the moment.
        let mut replay = None;
        let (motion, surface, probe, landmarks, picture_width, m_per_texel) = if script == Script::VideoReplay
        {
            let (r, motion) =
                video::Replay::new(face.clone(), other.clone(), geometry, conditions, &lens, glow, &mut rng);
            let parts = (motion, Surface::default(), r.corners(), Vec::new(), r.size()[0], r.m_per_texel());
            replay = Some(r);
            parts
        } else {
            let motion = script::motion(script, prop, &face, &lens, geometry, conditions, &mut rng);
            let mag = focal / motion.from.pos[2].min(motion.to.pos[2]);
            // Samples about a pixel apart at the nearest pose (each fills 2×2 pixels, so gaps
            // open only where the surface stretches 2×); a head's sides stretch as they turn
            // toward the camera, so it is sampled finer than a picture. Never coarser than
            // 1.5 texels, so a distant texture is not skipped over.
            let step = (if prop == Prop::Head { 1.0 } else { 1.4 } / mag).min(1.5);
            (
                motion,
                face.surface(prop, step, glow),
                face.extent(prop),
                face.landmarks_local(prop),
                face.picture_width(),
                head::FACE_WIDTH_CM / 100.0 / face.face_width.max(1.0),
            )
        };
        let total = ((motion.start_s + motion.moving_s + HOLD_S) * conditions.fps as f32).ceil() as u64;
        let phone = (prop == Prop::Screen).then(|| script::phone(picture_width, &mut rng));
        let passer = (script == Script::TwoFaces).then(|| {
            let walk = script::passer(&face, &other, &motion, &lens, conditions, total, &mut rng);
            let step = (walk.pose.pos[2] / focal).min(1.5);
            (walk, other.surface(Prop::Head, step, 1.0))
        });
        let turn = (motion.start_s, motion.start_s + motion.moving_s);
        let sensor = Sensor::new(conditions, turn, &mut rng);
        // Its own generator, so that every other draw of the session stays as it was.
        let mut video = SeededRng::new(seed ^ 0x0C01_0BED_F1A5);
        let video_light = (script == Script::Screen && video.next_u64().is_multiple_of(2)).then(|| {
            let indices = foreign_flashes(&mut video);
            let flash_ms = video.uniform(250.0, 600.0) as u32;
            // The video's light is one colour on the whole face.
            LightPlan::new((&indices, &indices), flash_ms, (video.uniform(0.0, 1.0) * 600.0) as u64)
        });
        Self {
            lens,
            // Its own generator, like the video's light below.
            wall: conditions.wall.render(width, height, &mut SeededRng::new(seed ^ 0x0057_A11E)),
            conditions: *conditions,
            motion,
            surface,
            landmarks,
            probe,
            phone,
            passer,
            sensor,
            canvas: Canvas::default(),
            total,
            next: 0,
            rng,
            plan: None,
            video_light,
            m_per_texel,
            panel: illumination::Panel::of(width, height),
            replay,
        }
    }

    /// The capture time of frame `i` in ms.
    pub fn frame_ms(&self, i: u64) -> u64 {
        i * 1000 / u64::from(self.conditions.fps)
    }

    /// The frames in which the passer-by's face is in view (fully visible, clear of the
    /// visitor): 3–8 consecutive frames for [`Script::TwoFaces`], empty otherwise.
    pub fn passer_frames(&self) -> std::ops::Range<u64> {
        self.passer.as_ref().map_or(0..0, |(p, _)| p.frames.clone())
    }

    /// The performer's pose at `t_ms` after the first frame, tremor and nods included (the
    /// truth the frames are rendered from, without the exposure's spread).
    pub fn true_pose_at_ms(&self, t_ms: u64) -> Placement {
        self.motion.at(t_ms as f32 / 1000.0, self.lens.focal)
    }

    /// The performer's noise-free pose at the start and at the end of the movement.
    pub fn turn_poses(&self) -> (Placement, Placement) {
        (self.motion.along(0.0), self.motion.along(1.0))
    }

    /// The face template's landmarks where a perfect landmark model would find them with the
    /// object at `pose`: image x, y and depth relative to the pivot, in pixels (other mesh
    /// indices are zero).
    pub fn landmarks_at(&self, pose: &Placement) -> Landmarks {
        let to_camera = Transform::of(pose);
        let mut points = vec![[0.0; 3]; 468];
        for &(i, local) in &self.landmarks {
            let p = to_camera.apply(local);
            let [u, v] = self.lens.project(p);
            points[i] = [u, v, (p[2] - pose.pos[2]) * self.lens.focal / pose.pos[2]];
        }
        Landmarks { points, presence: 1.0 }
    }

    /// The camera's intrinsics, as the vision code models them.
    pub fn intrinsics(&self) -> Intrinsics {
        let (w, h) = (self.lens.width as f32, self.lens.height as f32);
        Intrinsics { focal: self.lens.focal, cx: w / 2.0, cy: h / 2.0 }
    }

    /// The scene (before the sensor) at frame `i`.
    fn radiance(&mut self, i: u64) -> RgbImage {
        let (focal, t) = (self.lens.focal, i as f32 * self.conditions.frame_s());
        if let Some(replay) = &mut self.replay {
            // What the display shows when this frame's exposure starts.
            self.surface = replay.surface_at((1000.0 * t) as u64);
        }
        let exposure_s = self.sensor.exposure_s();
        let readout_s = self.conditions.rolling_shutter_ms / 1000.0;
        let span = readout_s + exposure_s;
        let poses = |at: &dyn Fn(f32) -> Placement| {
            (Transform::of(&at(t)), Transform::of(&at(t + span)), Transform::of(&at(t + exposure_s)))
        };
        let (from, to, blur_to) = poses(&|t| self.motion.at(t, focal));
        let mut blur = image_motion(&self.lens, &from, &blur_to, &self.probe);
        // The terminal screen's light in the middle of the exposure.
        let t_ms = (1000.0 * (t + exposure_s / 2.0)) as u64;
        let lit = self.plan.as_ref().and_then(|p| p.colour_at(t_ms));
        let lux = self.conditions.ambient_lux;
        let ratio_at = |z: f32| self.panel.screen_lux(z * self.m_per_texel) / lux;
        let ratio = ratio_at(self.motion.at(t, focal).pos[2]);
        let mut look = self.phone.map(|phone| ScreenLook::new(phone, &from, &self.lens));
        let tint = if self.phone.is_some() {
            let own = self.video_light.as_ref().and_then(|p| p.colour_at(t_ms));
            if let (Some(c), Some(l)) = (lit, look.take()) {
                look = Some(l.mirroring(illumination::mirrored(c, lux), self.m_per_texel, self.panel));
            }
            (lit.is_some() || own.is_some()).then(|| {
                let gain = own.map_or([0.0; 3], |f| f.mix()).map(|c| 1.0 + VIDEO_LIGHT * c);
                let add = lit.map_or([0.0; 3], |f| f.mix()).map(|c| illumination::GLASS_DIFFUSE * ratio * c);
                illumination::Tint::new(gain, add)
            })
        } else {
            lit.map(|c| illumination::Tint::diffuse(c, ratio))
        };
        let shader = look.as_ref().map(|l| l as &dyn Shader);
        let mut objects = vec![Moving { surface: &self.surface, from, to, shader, tint: tint.as_ref() }];
        let passer_tint;
        if let Some((walk, surface)) = &self.passer
            && walk.is_drawn(t)
        {
            let (from, to, blur_to) = poses(&|t| walk.at(t));
            blur = blur.max(image_motion(&self.lens, &from, &blur_to, &[[0.0; 3]]));
            passer_tint = lit.map(|c| illumination::Tint::diffuse(c, ratio_at(walk.at(t).pos[2])));
            objects.push(Moving { surface, from, to, shader: None, tint: passer_tint.as_ref() });
        }
        let layers = if blur < BLUR_MIN_PX {
            1
        } else {
            ((blur / BLUR_PX_PER_LAYER).ceil() as usize).clamp(2, MAX_LAYERS)
        };
        let shutter = Shutter { readout_s, exposure_s, layers };
        match lit {
            Some(c) => {
                let wall_tint =
                    illumination::Tint::diffuse(c, self.panel.screen_lux(illumination::WALL_M) / lux);
                let mut wall = self.wall.clone();
                for p in wall.pixels_mut() {
                    p.0 = wall_tint.apply(p.0);
                }
                self.canvas.render(&wall, &self.lens, &objects, shutter)
            }
            None => self.canvas.render(&self.wall, &self.lens, &objects, shutter),
        }
    }

    /// Renders frame `i` (0-based) as the camera delivers it: scene, sensor, codec.
    fn render(&mut self, i: u64) -> image::ImageResult<RgbImage> {
        let radiance = self.radiance(i);
        let t = i as f32 * self.conditions.frame_s();
        let developed = self.sensor.develop(&radiance, t, &mut self.rng);
        optics::codec_round_trip(&developed, self.conditions.codec)
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
        let image = self.render(i).map_err(|e| CameraError::BadFrame {
            index: i as usize,
            name: "synthetic".into(),
            reason: e.to_string(),
        })?;
        Ok(Some(Frame { image, t_ms: self.frame_ms(i) }))
    }

    /// Renders the flashes from now on; the performer holds still at the end until they
    /// have been seen.
    fn light(&mut self, plan: &LightPlan) -> Lit {
        // The service holds the camera's controls from the Nose state on, before the flashes.
        self.sensor.hold(self.frame_ms(self.next) as f32 / 1000.0);
        let end_s = (plan.end_ms() + LIGHT_TAIL_MS) as f32 / 1000.0;
        self.total = self.total.max((end_s * self.conditions.fps as f32).ceil() as u64);
        self.plan = Some(plan.clone());
        Lit::Rendered
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Rgb;

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
        // The template's points where a frontal photo shows them (10 px per cm).
        for &(i, p) in crate::vision::face_template::FACE_TEMPLATE.iter() {
            points[i] = [cx + 10.0 * p[0], cy + 10.0 * p[1], 10.0 * p[2]];
        }
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
    fn the_passer_by_is_in_view_for_three_to_eight_consecutive_frames_during_the_challenge() {
        for fps in [15, 30] {
            for seed in 0..6 {
                let cam = camera(Script::TwoFaces, &Conditions { fps, ..Conditions::baseline() }, seed);
                let frames = cam.passer_frames();
                assert!((3..=8).contains(&(frames.end - frames.start)), "{frames:?}");
                // Before the nose nears the target (the decision ends the challenge).
                let reached = (cam.motion.start_s + 0.6 * cam.motion.moving_s) * fps as f32;
                assert!(
                    frames.start >= 1 && (frames.end as f32) < reached,
                    "{frames:?}, target at {reached}"
                );
            }
        }
        assert!(camera(Script::Live, &Conditions::baseline(), 0).passer_frames().is_empty());
    }

    #[test]
    fn the_passer_by_changes_the_frames_it_is_in() {
        let mut cam =
            camera(Script::TwoFaces, &Conditions { light: Light::Bright, ..Conditions::baseline() }, 3);
        let frames = cam.passer_frames();
        let mut without =
            camera(Script::Live, &Conditions { light: Light::Bright, ..Conditions::baseline() }, 3);
        let i = frames.start + 1;
        let (a, b) = (cam.radiance(i), without.radiance(i));
        // The two performances differ only by the passer (same seed, same visitor).
        let differ = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
        assert!(differ > 70 * 70, "only {differ} pixels show the passer");
    }

    /// The standard deviation of the green channel over a patch of bare wall (top left).
    fn wall_std(light: Light) -> f32 {
        let mut cam = camera(Script::Live, &Conditions { light, ..Conditions::baseline() }, 2);
        let frame = cam.next_frame().unwrap().unwrap().image;
        let g: Vec<f32> = (10..40)
            .flat_map(|y| (10..40).map(move |x| (x, y)))
            .map(|(x, y)| f32::from(frame.get_pixel(x, y)[1]))
            .collect();
        let m = g.iter().sum::<f32>() / g.len() as f32;
        (g.iter().map(|v| (v - m).powi(2)).sum::<f32>() / g.len() as f32).sqrt()
    }

    #[test]
    fn a_dim_frame_is_noisier_than_a_normal_one() {
        let (normal, dim) = (wall_std(Light::Normal), wall_std(Light::Dim));
        assert!(dim > 1.3 * normal, "wall noise: normal {normal}, dim {dim}");
    }

    #[test]
    fn a_live_heads_visible_turn_matches_its_label_whatever_the_camera_height() {
        use crate::vision::pose::{head_pose, turn_deg};
        for pitch_deg in [-30.0, -20.0, -10.0, 0.0, 10.0, 20.0] {
            for seed in 0..6 {
                let conditions =
                    Conditions { pitch_deg, hfov_deg: 55.0 + 7.0 * seed as f32, ..Conditions::baseline() };
                let cam = camera(Script::Live, &conditions, seed);
                let (start, end) = cam.turn_poses();
                let label = end.yaw_deg - start.yaw_deg;
                let fit = |p: &Placement| head_pose(&cam.landmarks_at(p), &cam.intrinsics());
                let (a, b) = (fit(&start), fit(&end));
                assert!(a.is_fitted() && b.is_fitted(), "pitch {pitch_deg} seed {seed}: no fit");
                let read = turn_deg(&a.rotation, &b.rotation);
                let ratio = read / label;
                assert!(
                    (0.9..=1.1).contains(&ratio),
                    "pitch {pitch_deg} seed {seed}: label {label:.1}°, read {read:.1}°"
                );
            }
        }
    }

    #[test]
    fn a_quick_visitor_finishes_sooner() {
        let at = |speed| camera(Script::Live, &Conditions { speed, ..Conditions::baseline() }, 5).len();
        assert!(at(Speed::Quick) < at(Speed::Slow));
    }
}
