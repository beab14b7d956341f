//! Every screen a visitor can meet, as sample views: what `livegate screens` renders, the
//! golden images of `tests/screens.rs`, and what the screen's own tests draw.

use std::sync::Arc;

use image::RgbImage;

use super::{Challenge, Fault, Language, Prompt, Scene, Status, View};
use crate::liveness::ChallengeGeometry;
use crate::liveness::geometry::TargetDraw;
use crate::liveness::session::{Phase, Reason};

/// The nose tip in the shipped camera frame (`assets/frame_640x480.jpg`), from `livegate inspect assets/frame_640x480.jpg` (int8 mesh).
pub const FRAME_NOSE: [f32; 2] = [288.874, 122.774];

/// The target of the sample challenge: on the image's right (the visitor's left, the screen's
/// left), a little above the centre.
pub const SAMPLE_TARGET: TargetDraw = TargetDraw { right: true, below: false, dx: 70, dy: 30 };

/// Every screen a visitor can meet, by file name.
pub fn samples(frame: Arc<RgbImage>) -> Vec<(&'static str, View)> {
    let geometry = ChallengeGeometry::new(frame.width(), frame.height(), SAMPLE_TARGET);
    let on_target =
        [geometry.target.x + geometry.target.w / 2.0, geometry.target.y + geometry.target.h / 2.0];
    let challenge = |phase, prompt, nose, remaining_fraction: f32| {
        Scene::Challenge(Challenge {
            frame: Some(Arc::clone(&frame)),
            geometry,
            nose,
            phase,
            remaining_fraction,
            remaining_ms: (remaining_fraction * 10_000.0) as u64,
            prompt,
            flash: None,
        })
    };
    let ok = Status::default();
    let v = |scene, status| View { scene, status, language: Language::En };
    vec![
        ("idle", v(Scene::Idle, ok)),
        ("face", v(challenge(Phase::Face, Prompt::LookAtCamera, None, 1.0), ok)),
        ("area", v(challenge(Phase::Area, Prompt::ComeCloser, Some(FRAME_NOSE), 0.8), ok)),
        ("nose", v(challenge(Phase::Nose, Prompt::MoveNose, Some(FRAME_NOSE), 0.6), ok)),
        ("nose_hurry", v(challenge(Phase::Nose, Prompt::MoveNose, Some(FRAME_NOSE), 0.15), ok)),
        ("nose_hit", v(challenge(Phase::Nose, Prompt::HoldStill, Some(on_target), 0.4), ok)),
        (
            "nose_flash",
            v(
                flashing(
                    challenge(Phase::Nose, Prompt::MoveNose, Some(FRAME_NOSE), 0.5),
                    ([255, 255, 0], [0, 255, 255]),
                ),
                ok,
            ),
        ),
        (
            "nose_flash_dark",
            v(
                flashing(
                    challenge(Phase::Nose, Prompt::MoveNose, Some(FRAME_NOSE), 0.45),
                    ([0, 0, 255], [255, 0, 0]),
                ),
                ok,
            ),
        ),
        ("pass", v(Scene::Pass, ok)),
        ("fail_no_rotation", v(Scene::Fail { reason: Reason::NoRotation }, ok)),
        ("fail_multiple_faces", v(Scene::Fail { reason: Reason::MultipleFaces }, ok)),
        ("timeout_nose", v(Scene::Timeout { reason: Reason::NoseTimeout }, ok)),
        ("lockout", v(Scene::Lockout { remaining_ms: 545_000 }, ok)),
        (
            "error_camera",
            v(Scene::Error(Fault::CameraMissing), Status { camera_ok: false, broker_connected: true }),
        ),
        ("idle_offline", v(Scene::Idle, Status { camera_ok: true, broker_connected: false })),
    ]
}

/// A challenge scene lit by the light challenge's `colour`.
fn flashing(scene: Scene, (left, right): ([u8; 3], [u8; 3])) -> Scene {
    match scene {
        Scene::Challenge(c) => {
            Scene::Challenge(Challenge { flash: Some(crate::liveness::light::Flash { left, right }), ..c })
        }
        other => other,
    }
}

/// [`samples`] worded in `language`.
pub fn samples_in(frame: Arc<RgbImage>, language: Language) -> Vec<(&'static str, View)> {
    let mut views = samples(frame);
    views.iter_mut().for_each(|(_, v)| v.language = language);
    views
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_names_are_unique() {
        let names: Vec<_> = samples(Arc::new(RgbImage::new(640, 480))).into_iter().map(|(n, _)| n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }
}
