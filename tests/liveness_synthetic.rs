//! The liveness checks on synthetic sessions the calibration never saw (seeds apart from
//! both evaluation sets): a 3-D head turning into the target, and flat pictures tilted and
//! moved into it, rendered, JPEG-encoded and run through the real pipeline.

use std::path::Path;
use std::sync::OnceLock;

use livegate::camera::synthetic::{FaceModel, Script};
use livegate::cmd::evaluate::{measuring, run_case};
use livegate::cmd::inspect::read_rgb;
use livegate::cmd::synth::face_model;
use livegate::liveness::session::{LivenessConfig, Outcome};
use livegate::models::{self, Precision};
use livegate::vision::{FaceTracker, VisionConfig};

struct Fixture {
    tracker: FaceTracker,
    astronaut: FaceModel,
    obama: FaceModel,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("models");
        let (detector, mesh_f) = models::load(&dir, Precision::Float, 0.5).unwrap();
        let (detector_i8, mesh_i8) = models::load(&dir, Precision::Int8, 0.5).unwrap();
        let model = |name: &str| {
            face_model(&read_rgb(&root.join("tests/data").join(name)).unwrap(), &detector, &mesh_f).unwrap()
        };
        Fixture {
            tracker: FaceTracker::new(detector_i8, mesh_i8, VisionConfig::default()),
            astronaut: model("astronaut.png"),
            obama: model("obama.jpg"),
        }
    })
}

const SEEDS: std::ops::Range<u64> = 3_000_000..3_000_003;

fn run(script: Script, seed: u64, config: &LivenessConfig) -> livegate::liveness::session::Decision {
    let f = fixture();
    run_case(f.tracker.clone(), &f.astronaut, &f.obama, script, seed, config, &VisionConfig::default())
        .unwrap()
}

#[test]
fn flat_pictures_moved_into_the_target_never_pass_and_their_motion_is_planar() {
    let defaults = LivenessConfig::default();
    for script in [Script::Print, Script::Cutout, Script::Screen] {
        for seed in SEEDS {
            let d = run(script, seed, &defaults);
            assert_ne!(d.result, Outcome::Pass, "{script:?} seed {seed} passed: {d:?}");
            // Whatever stopped it, the flat-motion check on its own would have too.
            let m = run(script, seed, &measuring(&defaults));
            if let Some(p) = m.checks.parallax {
                assert!(p < defaults.min_parallax, "{script:?} seed {seed}: parallax {p}");
            }
        }
    }
}

#[test]
fn a_live_head_turning_into_the_target_moves_in_3d() {
    let defaults = LivenessConfig::default();
    let mut passed = 0;
    for seed in SEEDS {
        let d = run(Script::Live, seed, &defaults);
        let p = d.checks.parallax.expect("reached the target");
        assert!(p > defaults.min_parallax, "seed {seed}: parallax {p}");
        passed += usize::from(d.result == Outcome::Pass);
    }
    // BPCER is about 4 % at scale (docs/evaluation.md); three sessions may lose one at most.
    assert!(passed >= SEEDS.count() - 1, "only {passed} live sessions passed");
}

#[test]
fn a_second_person_stepping_in_fails_the_challenge() {
    let d = run(Script::TwoFaces, SEEDS.start, &LivenessConfig::default());
    assert_eq!(d.reason, Some(livegate::liveness::session::Reason::MultipleFaces));
}

/// SPEC §2.1 end to end: a passer-by in view for 3–8 consecutive frames at a random moment of
/// the challenge, at 15 and 30 fps, is counted whatever its timing — the challenge fails with
/// `multiple_faces` (or ended earlier for another reason, never as a pass).
#[test]
fn a_passer_by_in_view_for_a_few_frames_is_always_counted() {
    use livegate::camera::synthetic::{Conditions, SeededRng, SyntheticCamera};
    use livegate::cmd::synth::seeded_target;
    use livegate::liveness::ChallengeGeometry;
    use livegate::liveness::session::{Reason, Session};
    use livegate::pipeline::ChallengeRunner;

    let f = fixture();
    let config = measuring(&LivenessConfig::default());
    let mut counted = 0;
    for fps in [15, 30] {
        for seed in 3_100_000..3_100_004u64 {
            let conditions = Conditions { fps, ..Conditions::baseline() };
            let mut rng = SeededRng::new(seed);
            let geometry = ChallengeGeometry::new(640, 480, seeded_target(&mut rng));
            let mut camera = SyntheticCamera::new(
                f.astronaut.clone(),
                f.obama.clone(),
                Script::TwoFaces,
                &geometry,
                &conditions,
                rng.next_u64(),
            );
            let passer = camera.passer_frames();
            let mut runner = ChallengeRunner::new(f.tracker.clone(), Session::new(config.clone(), geometry));
            let d = runner.run(&mut camera, |_| Ok(())).unwrap();
            assert_ne!(
                d.result,
                Outcome::Pass,
                "{fps} fps seed {seed}: passer in frames {passer:?} was missed"
            );
            if d.reason == Some(Reason::MultipleFaces) {
                counted += 1;
                // Counted at the latest on its last fully visible frame (a face partly in view at
                // the edge of the frame may be counted before).
                assert!(
                    u64::from(d.frames) <= passer.end,
                    "{fps} fps seed {seed}: counted late ({passer:?})"
                );
            }
        }
    }
    assert!(counted >= 6, "only {counted} of 8 challenges saw the passer-by (the rest ended first)");
}
