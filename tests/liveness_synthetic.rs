//! The liveness checks on synthetic sessions the calibration never saw (seeds apart from
//! both evaluation sets): a 3-D head turning into the target, and flat pictures tilted and
//! moved into it, rendered, JPEG-encoded and run through the real pipeline.

use std::path::Path;
use std::sync::OnceLock;

use livegate::camera::synthetic::{FaceModel, Script};
use livegate::cmd::evaluate::{measuring, run_case};
use livegate::cmd::inspect::read_rgb;
use livegate::cmd::synth::face_model;
use livegate::liveness::light::LightConfig;
use livegate::liveness::session::LightOutcome;
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
    run_lit(script, seed, config, &LightConfig::default())
}

fn run_lit(
    script: Script,
    seed: u64,
    config: &LivenessConfig,
    light: &LightConfig,
) -> livegate::liveness::session::Decision {
    let f = fixture();
    let vision = VisionConfig::default();
    run_case(f.tracker.clone(), &f.astronaut, &f.obama, script, seed, (config, light), &vision).unwrap()
}

/// Issue 18: with the light challenge on, a live visitor at the baseline door (300 lux, 45 %
/// of the area) waits for the flashes, and their skin follows them; off, the verdict says so.
#[test]
fn a_live_face_follows_the_screens_flashes_and_a_disabled_challenge_says_off() {
    let defaults = LivenessConfig::default();
    let on = LightConfig { enabled: true, ..LightConfig::default() };
    for seed in SEEDS {
        let d = run_lit(Script::Live, seed, &defaults, &on);
        assert_eq!(
            (d.result, d.checks.light),
            (Outcome::Pass, Some(LightOutcome::Seen)),
            "seed {seed}: {d:?}"
        );
        assert!(d.checks.light_correlation.is_some_and(|c| c > 0.8), "seed {seed}: {d:?}");
        // The decision waited for the whole sequence and its lag.
        assert!(d.decided_t_ms >= u64::from(on.flashes * on.flash_ms), "seed {seed}: {d:?}");
    }
    let d = run(Script::Live, SEEDS.start, &defaults);
    assert_eq!(
        (d.result, d.checks.light, d.checks.light_correlation),
        (Outcome::Pass, Some(LightOutcome::Off), None)
    );
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

/// Issue 18's threat, as the generator renders it: a video of the face performing the
/// challenge, played on a phone or tablet held still. The head in the picture really turns, so
/// the checks of the flat-motion kind see a live head's 3-D motion and a surround that does not
/// follow; only the light challenge can refuse it (docs/liveness.md).
#[test]
fn a_video_replayed_on_a_screen_moves_in_3d_like_a_live_head() {
    let defaults = LivenessConfig::default();
    let mut live_like = 0;
    for seed in SEEDS {
        let d = run(Script::VideoReplay, seed, &measuring(&defaults));
        assert!(d.checks.nose_hit, "seed {seed}: the video's nose reaches the target: {d:?}");
        let p = d.checks.parallax.unwrap_or(f32::NEG_INFINITY);
        live_like += usize::from(
            p > defaults.min_parallax && d.checks.yaw_deg.is_some_and(|y| y >= defaults.min_yaw_deg),
        );
        assert!(
            d.checks.surround_following.is_none_or(|f| f <= defaults.max_surround_following),
            "seed {seed}: {d:?}"
        );
    }
    assert!(live_like >= 2, "only {live_like} of 3 replays showed a live head's turn and 3-D motion");
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

/// Texture behind the head (bricks, tiles, posters: `Conditions::wall`) is what the surround
/// check measures, and what a head's outline moves over: a live head in front of it, at the
/// door its seed draws, still shows 3-D motion, and its wall stays put.
#[test]
fn a_live_head_in_front_of_a_textured_wall_passes_and_its_wall_stays_put() {
    use livegate::camera::synthetic::Wall;
    use livegate::cmd::evaluate::door;
    let defaults = LivenessConfig::default();
    let mut measured = 0;
    for wall in [Wall::Bricks, Wall::Tiles, Wall::Posters] {
        let seed = (3_000_100..).find(|&s| door(s).wall == wall).expect("every wall is drawn");
        let d = live_at_door(seed, &LightConfig::default());
        let p = d.checks.parallax.expect("reached the target");
        assert!(p > defaults.min_parallax, "seed {seed} ({wall:?}): parallax {p}");
        if let Some(f) = d.checks.surround_following {
            measured += 1;
            assert!(f <= 0.1, "seed {seed} ({wall:?}): the wall followed the head: {f}");
        }
    }
    assert!(measured >= 2, "the surround was measured in front of {measured} of 3 textured walls");
}

/// A live visitor (the astronaut) at the door `livegate evaluate` draws for `seed`, every
/// check measured, with the light challenge configured as `light`.
fn live_at_door(seed: u64, light: &LightConfig) -> livegate::liveness::session::Decision {
    let f = fixture();
    let config = measuring(&LivenessConfig::default());
    let vision = VisionConfig::default();
    let case = (&config, light);
    let (d, _, _) = livegate::cmd::evaluate::run_door_case(
        f.tracker.clone(),
        &f.astronaut,
        &f.obama,
        Script::Live,
        seed,
        case,
        &vision,
    )
    .unwrap();
    d
}

/// Issue 18's background cue: under the flashes, the wall beside a live head (read on the
/// same pixels all through the sequence while the head moves past its bricks, tiles or
/// posters) answers a few per cent of the skin's response, far below the bound a phone's
/// glass exceeds.
#[test]
fn the_wall_beside_a_live_head_barely_answers_the_flashes() {
    use livegate::camera::synthetic::Wall;
    use livegate::cmd::evaluate::{door, measuring_light};
    let mut measured = 0;
    for wall in [Wall::Bricks, Wall::Tiles, Wall::Posters] {
        let seed = (3_000_200..)
            .find(|&s| door(s).wall == wall && door(s).ambient_lux <= 500.0)
            .expect("every wall is drawn in dim light");
        let d = live_at_door(seed, &measuring_light());
        assert!(d.checks.light_correlation.is_some_and(|c| c > 0.5), "seed {seed} ({wall:?}): {d:?}");
        if let Some(b) = d.checks.light_background {
            measured += 1;
            let bound = LightConfig::default().max_background_share;
            assert!(b.abs() < bound / 4.0, "seed {seed} ({wall:?}): the wall answered {b} of the skin");
        }
    }
    assert!(measured >= 2, "the wall was measured beside {measured} of 3 heads");
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
            let d = runner.run(&mut camera, &mut ()).unwrap().decision().expect("decided");
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

/// The one challenge loop (`ChallengeRunner::run`) as its callers see it: a live visitor's
/// challenge with a corrupt frame in it. Skipped by default (the decision is the same as without
/// it, one frame fewer), refused when the watcher says so; every frame's event in order, the
/// probe's stages, and cancellation.
#[test]
fn the_challenge_loop_skips_or_refuses_a_bad_frame_and_reports_every_frame() {
    use livegate::camera::synthetic::{Conditions, SeededRng, SyntheticCamera};
    use livegate::camera::{Camera, CameraError, Frame};
    use livegate::cmd::synth::seeded_target;
    use livegate::liveness::ChallengeGeometry;
    use livegate::liveness::session::{Phase, Session};
    use livegate::pipeline::{BadFrames, ChallengeRunner, Ending, Event, Probe, Stage, Watcher};

    /// The synthetic camera with frame `bad` replaced by a decoding error.
    struct Corrupt {
        inner: SyntheticCamera,
        n: usize,
        bad: usize,
    }
    impl Camera for Corrupt {
        fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
            let f = self.inner.next_frame()?;
            self.n += 1;
            if self.n - 1 == self.bad {
                return Err(CameraError::BadFrame {
                    index: self.bad,
                    name: "x".into(),
                    reason: "corrupt".into(),
                });
            }
            Ok(f)
        }
    }
    #[derive(Default)]
    struct Log {
        refuse: bool,
        cancel_after: Option<usize>,
        events: Vec<String>,
        phases: Vec<Phase>,
        laps: Vec<Stage>,
        begun: usize,
    }
    impl Probe for Log {
        fn begin(&mut self) {
            self.begun += 1;
        }
        fn lap(&mut self, stage: Stage) {
            self.laps.push(stage);
        }
    }
    impl Watcher for Log {
        fn cancelled(&self) -> bool {
            self.cancel_after.is_some_and(|n| self.events.len() >= n)
        }
        fn bad_frames(&self) -> BadFrames {
            if self.refuse { BadFrames::Refuse } else { BadFrames::Skip }
        }
        fn probe(&mut self) -> Option<&mut dyn Probe> {
            Some(self)
        }
        fn seen(&mut self, _frame: Frame, event: Event<'_>, runner: &ChallengeRunner) -> anyhow::Result<()> {
            assert_eq!(runner.trace().phase, Some(runner.session().phase()));
            self.events.push(match event {
                Event::Progress { phase, prompt, new_phase } => {
                    if new_phase {
                        self.phases.push(phase);
                    }
                    assert_eq!((phase, prompt), runner.shown());
                    "progress".into()
                }
                Event::Skipped { error } => format!("skipped {error}"),
                Event::Decided(d) => format!("decided {:?}", d.result),
            });
            Ok(())
        }
    }

    let f = fixture();
    let config = LivenessConfig::default();
    let seed = 3_200_000u64;
    let run = |bad: Option<usize>, log: &mut Log| {
        let mut rng = SeededRng::new(seed);
        let geometry = ChallengeGeometry::new(640, 480, seeded_target(&mut rng));
        let inner = SyntheticCamera::new(
            f.astronaut.clone(),
            f.obama.clone(),
            Script::Live,
            &geometry,
            &Conditions::baseline(),
            rng.next_u64(),
        );
        let mut camera = Corrupt { inner, n: 0, bad: bad.unwrap_or(usize::MAX) };
        let mut runner = ChallengeRunner::new(f.tracker.clone(), Session::new(config.clone(), geometry));
        runner.run(&mut camera, log).unwrap()
    };

    let mut clean = Log::default();
    let Ending::Decided(whole) = run(None, &mut clean) else { panic!("not decided") };
    assert_eq!(whole.result, Outcome::Pass, "{whole:?}");
    assert_eq!(clean.events.len(), whole.frames as usize);
    assert_eq!(clean.events.last().unwrap(), "decided Pass");
    assert!(clean.events[..clean.events.len() - 1].iter().all(|e| e == "progress"), "{:?}", clean.events);
    // Each phase is announced once, when it begins (the visitor is centred at once here: the
    // first frame goes through Face and Area into Nose).
    assert_eq!(clean.phases.first(), Some(&Phase::Nose), "{:?}", clean.phases);
    assert!(clean.phases.windows(2).all(|w| w[0] != w[1]), "{:?}", clean.phases);
    // Every frame is probed: the tracker and the checks on each, the keypoints from the Nose
    // state on (seeded on its first frame, tracked on the rest).
    assert_eq!(clean.begun, whole.frames as usize);
    let count = |s: Stage| clean.laps.iter().filter(|&&l| l == s).count();
    assert!(count(Stage::Track) >= clean.begun && count(Stage::Checks) >= clean.begun);
    assert!(count(Stage::Keypoints) > clean.begun, "keypoints seeded and tracked");

    // Skipping frame 5 (in the Nose state) leaves the decision as it was, a frame early or late.
    let mut skipped = Log::default();
    let Ending::Decided(d) = run(Some(5), &mut skipped) else { panic!("not decided") };
    assert_eq!(d.result, Outcome::Pass, "{d:?}");
    assert!(d.frames + 1 >= whole.frames && d.frames <= whole.frames + 1, "{} vs {}", d.frames, whole.frames);
    assert!(
        !skipped.events.iter().any(|e| e.starts_with("skipped")),
        "a camera's bad frame never reaches the vision"
    );

    let mut refusing = Log { refuse: true, ..Log::default() };
    match run(Some(5), &mut refusing) {
        Ending::CameraFailed { frames: 5, error: CameraError::BadFrame { index: 5, .. } } => {}
        other => panic!("{other:?}"),
    }

    let mut cancelling = Log { cancel_after: Some(3), ..Log::default() };
    assert!(matches!(run(None, &mut cancelling), Ending::Cancelled { frames: 3 }));
}
