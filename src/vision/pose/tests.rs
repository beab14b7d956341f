//! The pose fit on rigid synthetic heads: the face template placed in front of a pinhole
//! camera, projected, with Gaussian landmark noise. No image and no network: what is tested is
//! the geometry (perspective-n-point, swing–twist, the rotation mean), on the door's cases —
//! a camera above or below eye level, a tilted head, a turn, a sideways slide.

// libc's `clock_gettime` for this thread's CPU time (`thread_cpu_s`).
#![allow(unsafe_code)]

use super::rotation::{self, M3, V3};
use super::*;
use crate::camera::synthetic::SeededRng;

fn rx(deg: f64) -> M3 {
    rotation::exp_map([deg.to_radians(), 0.0, 0.0])
}
fn ry(deg: f64) -> M3 {
    rotation::exp_map([0.0, deg.to_radians(), 0.0])
}
fn rz(deg: f64) -> M3 {
    rotation::exp_map([0.0, 0.0, deg.to_radians()])
}

/// A normal deviate (Box–Muller over the seeded generator).
fn gauss(rng: &mut SeededRng) -> f64 {
    let u = f64::from(rng.uniform(0.0, 1.0)).max(1e-9);
    let v = f64::from(rng.uniform(0.0, 1.0));
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The landmarks a camera sees of the template at `rotation`, `translation` (cm): the template
/// points projected, `sigma` px of noise on each coordinate; every other mesh point is NaN (the
/// fit must not read them).
fn landmarks(cam: &Intrinsics, rotation: &M3, translation: V3, sigma: f64, rng: &mut SeededRng) -> Landmarks {
    let mut points = vec![[f32::NAN; 3]; 468];
    for &(i, p) in FACE_TEMPLATE.iter() {
        let q = rotation::apply(rotation, p.map(f64::from));
        let c = [0, 1, 2].map(|k| q[k] + translation[k]);
        let u = f64::from(cam.focal) * c[0] / c[2] + f64::from(cam.cx) + sigma * gauss(rng);
        let v = f64::from(cam.focal) * c[1] / c[2] + f64::from(cam.cy) + sigma * gauss(rng);
        points[i] = [u as f32, v as f32, 0.0];
    }
    Landmarks { points, presence: 1.0 }
}

/// One door case: camera, the head's start pose, its turn and its slide.
#[derive(Debug)]
struct Case {
    hfov: f64,
    distance_cm: f64,
    camera_pitch: f64,
    roll: f64,
    start_yaw: f64,
    turn: f64,
    slide_px: f64,
}

impl Case {
    fn draw(rng: &mut SeededRng, turn: bool) -> Self {
        let mut u = |lo: f64, hi: f64| f64::from(rng.uniform(lo as f32, hi as f32));
        let side = if u(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
        Case {
            hfov: u(55.0, 90.0),
            distance_cm: u(40.0, 90.0),
            camera_pitch: u(-35.0, 35.0),
            roll: u(-15.0, 15.0),
            start_yaw: u(-10.0, 10.0),
            turn: if turn { side * u(0.0, 30.0) } else { 0.0 },
            slide_px: side * u(55.0, 85.0),
        }
    }

    /// The start and end landmarks and the camera.
    fn frames(&self, sigma: f64, rng: &mut SeededRng) -> (Intrinsics, Landmarks, Landmarks) {
        let cam = Intrinsics::from_hfov(640, 480, self.hfov as f32);
        let (f, z) = (f64::from(cam.focal), self.distance_cm);
        // The head's camera pitch and roll, then its yaw about its own vertical axis
        // (a negative angle about +y swings the nose toward +x).
        let start =
            rotation::mul(&rotation::mul(&rx(self.camera_pitch), &rz(self.roll)), &ry(-self.start_yaw));
        let end = rotation::mul(&start, &ry(-self.turn));
        // Start half a slide off centre so that the face slides across the middle.
        let x0 = -self.slide_px / 2.0 * z / f;
        let x1 = x0 + self.slide_px * z / f;
        let a = landmarks(&cam, &start, [x0, 0.0, z], sigma, rng);
        let b = landmarks(&cam, &end, [x1, 0.0, z], sigma, rng);
        (cam, a, b)
    }
}

/// The allowed turn error: the brief's 1.5° for a face 100 px across the outer eye corners
/// with 1 px of landmark noise, scaled by noise / face size. No estimator can do better than
/// that scaling: a turn moves each point sideways by (its depth × the turn), so the information
/// about the turn is (face scale × depth spread / noise)² per point (Cramér–Rao). With 63
/// points and 2.2 cm of depth spread, a 35 px face (90 cm away, 90° lens) with 2 px noise has
/// an rms turn error of ~2°: no fixed 1.5° bound can hold there. A face that passes the Area
/// state (≥ 30 % of the area box, i.e. a detector box ≥ 171 px at 640×480) is ≥ ~90 px across
/// the eyes.
fn tolerance_deg(sigma_px: f64, biocular_px: f64) -> f64 {
    1.5 * sigma_px * 100.0 / biocular_px
}

/// Distance between the template's outer eye corners, cm.
fn biocular_cm() -> f64 {
    let at = |i: usize| FACE_TEMPLATE.iter().find(|(j, _)| *j == i).expect("eye corner in the template").1;
    f64::from(at(263)[0] - at(33)[0])
}

/// Over `n` seeded cases, the worst turn error as a fraction of [`tolerance_deg`], that error in
/// degrees, and its case.
fn worst_turn_error(seed: u64, n: usize, sigma: f64, turn: bool) -> (f64, f64, Case) {
    worst_turn_error_of(head_pose, seed, n, sigma, turn)
}

/// [`worst_turn_error`] of the pose read by `pose`.
fn worst_turn_error_of(
    pose: impl Fn(&Landmarks, &Intrinsics) -> Pose,
    seed: u64,
    n: usize,
    sigma: f64,
    turn: bool,
) -> (f64, f64, Case) {
    let mut rng = SeededRng::new(seed);
    let mut worst = (0.0, 0.0, None);
    for _ in 0..n {
        let case = Case::draw(&mut rng, turn);
        let (cam, a, b) = case.frames(sigma, &mut rng);
        let (pa, pb) = (pose(&a, &cam), pose(&b, &cam));
        assert!(pa.is_fitted() && pb.is_fitted(), "{case:?}");
        let err = (f64::from(turn_deg(&pa.rotation, &pb.rotation)) - case.turn).abs();
        let biocular_px = f64::from(cam.focal) * biocular_cm() / case.distance_cm;
        let ratio = err / tolerance_deg(sigma, biocular_px);
        if ratio > worst.0 {
            worst = (ratio, err, Some(case));
        }
    }
    (worst.0, worst.1, worst.2.expect("at least one case"))
}

#[test]
fn a_noise_free_head_is_recovered_exactly_from_any_door_view() {
    let mut rng = SeededRng::new(1);
    for _ in 0..200 {
        let case = Case::draw(&mut rng, true);
        let cam = Intrinsics::from_hfov(640, 480, case.hfov as f32);
        let r = rotation::mul(&rx(case.camera_pitch), &rz(case.roll));
        let t = [3.0, -2.0, case.distance_cm];
        let p = head_pose(&landmarks(&cam, &r, t, 0.0, &mut rng), &cam);
        let err = r.iter().flatten().zip(p.rotation.iter().flatten()).map(|(a, b)| (a - f64::from(*b)).abs());
        assert!(err.fold(0.0, f64::max) < 1e-4, "{case:?}: {p:?}");
        assert!((f64::from(p.translation[2]) - t[2]).abs() < 1e-2 && p.rms_px < 1e-2, "{case:?}: {p:?}");
    }
}

#[test]
fn a_turn_reads_within_1_5_degrees_on_a_100_px_face_under_1_px_noise_and_proportionally_elsewhere() {
    let (ratio, err, case) = worst_turn_error(2, 2000, 1.0, true);
    eprintln!("σ = 1 px: worst error {ratio:.2} of the tolerance ({err:.2}°, {case:?})");
    assert!(ratio < 1.0, "{err:.2}° at {case:?}");
}

#[test]
fn a_turn_reads_within_the_tolerance_under_2_px_noise() {
    let (ratio, err, case) = worst_turn_error(3, 2000, 2.0, true);
    eprintln!("σ = 2 px: worst error {ratio:.2} of the tolerance ({err:.2}°, {case:?})");
    assert!(ratio < 1.0, "{err:.2}° at {case:?}");
}

/// The pose of the template points among the tracked keypoints (the liveness motion's
/// [`KEYPOINTS`](crate::liveness::motion::KEYPOINTS)), as the challenge reads the turn.
fn seed_pose(lm: &Landmarks, cam: &Intrinsics) -> Pose {
    let points: Vec<(usize, [f32; 2])> =
        crate::liveness::motion::KEYPOINTS.iter().map(|&i| (i, [lm.points[i][0], lm.points[i][1]])).collect();
    fit_points(&points, cam).unwrap_or(Pose::NONE)
}

#[test]
fn the_tracked_keypoints_alone_read_a_turn_within_the_tolerance_scaled_by_what_they_lack() {
    let seeds = crate::liveness::motion::KEYPOINTS;
    let depths = |only_seeds: bool| -> Vec<f64> {
        FACE_TEMPLATE
            .iter()
            .filter(|(i, _)| !only_seeds || seeds.contains(i))
            .map(|(_, p)| f64::from(p[2]))
            .collect()
    };
    // What a point set tells about a turn grows with its count times its depth spread squared
    // (see `tolerance_deg`): the tolerance grows by the square root of what the seeds lack.
    let information = |z: &[f64]| {
        let m = z.iter().sum::<f64>() / z.len() as f64;
        z.iter().map(|v| (v - m).powi(2)).sum::<f64>()
    };
    let (all, some) = (depths(false), depths(true));
    let n = some.len();
    assert!(n >= 30, "{n} template points among the seeds");
    let scale = (information(&all) / information(&some)).sqrt();
    eprintln!("{n} keypoints carry 1/{:.2} of the template's turn information", scale * scale);
    assert!(scale * scale < 1.5, "the keypoints lack the template's depth");
    for (seed, sigma) in [(11, 1.0), (12, 2.0)] {
        let (ratio, err, case) = worst_turn_error_of(seed_pose, seed, 1000, sigma, true);
        eprintln!("{n} keypoints, σ = {sigma} px: worst error {ratio:.2} of the tolerance ({err:.2}°)");
        assert!(ratio < scale, "σ {sigma}: {err:.2}° at {case:?}");
    }
}

#[test]
fn too_few_template_points_give_no_pose() {
    let cam = Intrinsics::from_hfov(640, 480, 60.0);
    let lm = landmarks(&cam, &rotation::IDENTITY, [0.0, 0.0, 50.0], 0.0, &mut SeededRng::new(13));
    let some: Vec<(usize, [f32; 2])> =
        FACE_TEMPLATE.iter().map(|&(i, _)| (i, [lm.points[i][0], lm.points[i][1]])).collect();
    assert!(fit_points(&some[..MIN_FIT_POINTS], &cam).is_some());
    assert!(fit_points(&some[..MIN_FIT_POINTS - 1], &cam).is_none());
    // Points the template does not have are not counted.
    let strangers: Vec<(usize, [f32; 2])> = (0..468)
        .filter(|i| !FACE_TEMPLATE.iter().any(|(j, _)| j == i))
        .map(|i| (i, [320.0, 240.0]))
        .collect();
    assert!(fit_points(&strangers, &cam).is_none());
}

#[test]
fn a_pure_slide_reads_no_turn() {
    for (seed, sigma) in [(4, 1.0), (5, 2.0)] {
        let (ratio, err, case) = worst_turn_error(seed, 1000, sigma, false);
        eprintln!("slide only, σ = {sigma} px: worst |turn| {ratio:.2} of the tolerance ({err:.2}°)");
        assert!(ratio < 1.0, "σ {sigma}: {err:.2}° at {case:?}");
    }
}

#[test]
fn the_angles_follow_the_documented_signs() {
    let cam = Intrinsics::from_hfov(640, 480, 60.0);
    let mut rng = SeededRng::new(6);
    let mut pose = |r: M3| head_pose(&landmarks(&cam, &r, [0.0, 0.0, 50.0], 0.0, &mut rng), &cam);
    let p = pose(ry(-15.0));
    assert!((p.yaw - 15.0).abs() < 0.01 && p.pitch.abs() < 0.01, "nose toward image +x: {p:?}");
    let p = pose(rx(-10.0));
    assert!((p.pitch - 10.0).abs() < 0.01 && p.yaw.abs() < 0.01, "nose up: {p:?}");
    let p = pose(rz(8.0));
    assert!((p.roll - 8.0).abs() < 0.01, "eye line clockwise on screen: {p:?}");
}

#[test]
fn a_turn_counts_the_twist_about_the_head_axis_not_a_nod_or_a_tilt() {
    let f32r = |r: M3| r.map(|row| row.map(|v| v as f32));
    let start = rotation::mul(&rx(30.0), &ry(-5.0));
    let turned = rotation::mul(&start, &ry(-20.0));
    assert!((turn_deg(&f32r(start), &f32r(turned)) - 20.0).abs() < 1e-3);
    let nodded = rotation::mul(&start, &rx(12.0));
    assert!(turn_deg(&f32r(start), &f32r(nodded)).abs() < 1e-3);
    let both = rotation::mul(&rotation::mul(&start, &rx(12.0)), &ry(20.0));
    assert!((turn_deg(&f32r(start), &f32r(both)) + 20.0).abs() < 1e-3);
}

#[test]
fn the_mean_of_identical_rotations_is_that_rotation() {
    let r = rotation::mul(&rx(25.0), &rotation::mul(&rz(-10.0), &ry(40.0))).map(|row| row.map(|v| v as f32));
    let m = mean_rotation(&[r, r, r]);
    assert!(m.iter().flatten().zip(r.iter().flatten()).all(|(a, b)| (a - b).abs() < 1e-6), "{m:?}");
}

#[test]
fn the_mean_of_two_turns_is_the_turn_between_them() {
    let a = ry(-10.0).map(|row| row.map(|v| v as f32));
    let b = ry(-16.0).map(|row| row.map(|v| v as f32));
    let m = mean_rotation(&[a, b]);
    assert!((turn_deg(&Pose::NONE.rotation, &m) - 13.0).abs() < 1e-3);
}

#[test]
fn the_fit_does_not_depend_on_the_order_of_points() {
    let mut rng = SeededRng::new(7);
    let cam = Intrinsics::from_hfov(640, 480, 70.0);
    let lm = landmarks(&cam, &rotation::mul(&rx(20.0), &ry(12.0)), [4.0, 1.0, 60.0], 2.0, &mut rng);
    let model: Vec<V3> = FACE_TEMPLATE.iter().map(|(_, p)| p.map(f64::from)).collect();
    let image: Vec<[f64; 2]> = FACE_TEMPLATE
        .iter()
        .map(|&(i, _)| [f64::from(lm.points[i][0]), f64::from(lm.points[i][1])])
        .collect();
    let camera = cam.to_fit();
    let a = fit::fit(&model, &image, &camera).unwrap();
    let b = fit::fit(
        &model.iter().rev().copied().collect::<Vec<_>>(),
        &image.iter().rev().copied().collect::<Vec<_>>(),
        &camera,
    )
    .unwrap();
    let diff = a.rotation.iter().flatten().zip(b.rotation.iter().flatten()).map(|(x, y)| (x - y).abs());
    assert!(diff.fold(0.0, f64::max) < 1e-9 && (a.translation[2] - b.translation[2]).abs() < 1e-9);
}

#[test]
fn degenerate_landmarks_give_a_finite_no_pose() {
    let cam = Intrinsics::from_hfov(640, 480, 60.0);
    let same = Landmarks { points: vec![[320.0, 240.0, 0.0]; 468], presence: 1.0 };
    let mut nan = landmarks(&cam, &rotation::IDENTITY, [0.0, 0.0, 50.0], 0.0, &mut SeededRng::new(8));
    nan.points[FACE_TEMPLATE[3].0][0] = f32::NAN;
    let short = Landmarks { points: vec![[1.0, 2.0, 3.0]; 10], presence: 1.0 };
    for lm in [same, nan, short] {
        let p = head_pose(&lm, &cam);
        assert_eq!(p, Pose::NONE);
        assert!(!p.is_fitted() && p.yaw.is_finite() && p.rms_px.is_finite());
    }
}

/// This thread's CPU time, s (wall time is meaningless on a machine shared with builds).
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable, aligned timespec that outlives the call, which writes
    // only it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// A measurement, not a check of speed: `cargo test --release --lib vision::pose::tests::cost
/// -- --ignored --nocapture` prints the CPU time per call.
#[test]
#[ignore]
fn cost_per_call() {
    let mut rng = SeededRng::new(9);
    let cases: Vec<_> = (0..200)
        .map(|_| {
            let case = Case::draw(&mut rng, true);
            let (cam, a, _) = case.frames(1.0, &mut rng);
            (cam, a)
        })
        .collect();
    let rounds = 50;
    let start = thread_cpu_s();
    for _ in 0..rounds {
        for (cam, lm) in &cases {
            assert!(head_pose(std::hint::black_box(lm), cam).is_fitted());
        }
    }
    let per = (thread_cpu_s() - start) / (rounds * cases.len()) as f64;
    eprintln!("head_pose: {:.1} µs CPU per call ({} points)", per * 1e6, FACE_TEMPLATE.len());
}

/// A measurement: the turn error against the face's size in the image, over the whole grid
/// above. `cargo test --release --lib vision::pose::tests::turn_error_by_face_size --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn turn_error_by_face_size() {
    for sigma in [1.0, 2.0] {
        let mut rng = SeededRng::new(10);
        let mut bins: Vec<Vec<f64>> = vec![Vec::new(); 6];
        for _ in 0..4000 {
            let case = Case::draw(&mut rng, true);
            let (cam, a, b) = case.frames(sigma, &mut rng);
            let (pa, pb) = (head_pose(&a, &cam), head_pose(&b, &cam));
            let biocular = f64::from(cam.focal) * 9.0 / case.distance_cm;
            let err = f64::from(turn_deg(&pa.rotation, &pb.rotation)) - case.turn;
            bins[((biocular / 25.0) as usize).min(5)].push(err);
        }
        for (i, errs) in bins.iter().enumerate().filter(|(_, e)| !e.is_empty()) {
            let rms = (errs.iter().map(|e| e * e).sum::<f64>() / errs.len() as f64).sqrt();
            let worst = errs.iter().fold(0.0f64, |m, e| m.max(e.abs()));
            eprintln!(
                "σ {sigma} px, biocular {:>3}–{:<3} px: {:>4} cases, rms {rms:.2}°, worst {worst:.2}°",
                i * 25,
                i * 25 + 25,
                errs.len()
            );
        }
    }
}
