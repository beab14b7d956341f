//! The real networks (through tract) on real photographs from the package registries,
//! compared with an independent onnxruntime float reference (`tools/reference.py` →
//! `tests/data/reference.json`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::RgbImage;
use livegate::cmd::inspect::{InspectOptions, faces_in, read_rgb};
use livegate::models::{self, Precision};
use livegate::vision::{FaceDetector, FaceTracker, Kernels, LandmarkModel, Operators, Roi, VisionConfig};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn image(name: &str) -> RgbImage {
    read_rgb(&data(name)).unwrap()
}

struct Nets {
    detector: FaceDetector,
    int8: LandmarkModel,
    fp32: LandmarkModel,
}

fn nets() -> &'static Nets {
    static NETS: OnceLock<Nets> = OnceLock::new();
    NETS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let (detector, int8) = models::load(&dir, Precision::Int8, 0.5).unwrap();
        let fp32 = LandmarkModel::load_with(&dir.join(models::MESH_FP32), Operators::Tract).unwrap();
        Nets { detector, int8, fp32 }
    })
}

fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| serde_json::from_slice(&std::fs::read(data("reference.json")).unwrap()).unwrap())
}

fn ref_faces(name: &str) -> &'static Vec<Value> {
    reference()["images"][name]["faces"].as_array().unwrap()
}

fn xy(v: &Value) -> [f32; 2] {
    [v[0].as_f64().unwrap() as f32, v[1].as_f64().unwrap() as f32]
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

const OPTS: InspectOptions = InspectOptions { with_landmarks: true, hfov_deg: 62.0, presence_min: 0.5 };

#[test]
fn astronaut_has_one_face_with_the_nose_where_the_float_reference_puts_it() {
    let img = image("astronaut.png");
    let n = nets();
    let reference_nose = xy(&ref_faces("astronaut.png")[0]["landmarks"][1]);
    for mesh in [&n.fp32, &n.int8] {
        let faces = faces_in(&img, &n.detector, mesh, OPTS).unwrap();
        assert_eq!(faces.len(), 1);
        let d = dist(faces[0].nose, reference_nose);
        assert!(d < 3.0, "nose {:?} is {d:.2} px from the reference {reference_nose:?}", faces[0].nose);
        assert!(faces[0].presence > 0.9);
    }
}

#[test]
fn faces_match_the_onnxruntime_reference_on_every_picture() {
    let n = nets();
    for (name, entry) in reference()["images"].as_object().unwrap() {
        let img = image(name);
        let found = n.detector.detect(&img).unwrap();
        let want = entry["faces"].as_array().unwrap();
        let confirmed = faces_in(&img, &n.detector, &n.int8, OPTS).unwrap();
        assert_eq!(confirmed.len(), want.len(), "{name}: face count");
        for w in want {
            let b = &w["box"];
            let centre = [
                (b[0].as_f64().unwrap() + b[2].as_f64().unwrap() / 2.0) as f32,
                (b[1].as_f64().unwrap() + b[3].as_f64().unwrap() / 2.0) as f32,
            ];
            let nearest = found.iter().map(|f| dist(f.centre(), centre)).fold(f32::MAX, f32::min);
            let side = b[2].as_f64().unwrap() as f32;
            assert!(nearest < 0.05 * side, "{name}: box centre off by {nearest:.1} px (face {side:.0} px)");
        }
    }
}

#[test]
fn pictures_without_faces_have_none() {
    let n = nets();
    for name in ["chelsea.png", "coffee.png"] {
        assert_eq!(faces_in(&image(name), &n.detector, &n.int8, OPTS).unwrap().len(), 0, "{name}");
    }
}

#[test]
fn two_people_are_two_faces() {
    let n = nets();
    let faces = faces_in(&image("two_faces.jpg"), &n.detector, &n.int8, OPTS).unwrap();
    assert_eq!(faces.len(), 2);
    assert!(faces.iter().all(|f| f.presence > 0.9));
}

#[test]
fn int8_landmarks_stay_within_one_and_a_half_pixels_of_float_on_every_face() {
    let n = nets();
    for (name, entry) in reference()["images"].as_object().unwrap() {
        if entry["faces"].as_array().unwrap().is_empty() {
            continue;
        }
        let img = image(name);
        for det in n.detector.detect(&img).unwrap() {
            let roi = Roi::from_detection(&det);
            let b = n.fp32.landmarks(&img, &roi).unwrap();
            if b.presence < 0.5 {
                continue; // not a face (the mesh rejects it)
            }
            let a = n.int8.landmarks(&img, &roi).unwrap();
            let mean =
                a.points.iter().zip(&b.points).map(|(p, q)| dist([p[0], p[1]], [q[0], q[1]])).sum::<f32>()
                    / a.points.len() as f32;
            // In frame pixels; scaled to the 192-px crop for comparison with models/README.md.
            assert!(mean < 1.5, "{name}: int8 mean error {mean:.2} px");
        }
    }
}

/// The service's int8 mesh runs in tract with livegate's fused operators, on every kernel path
/// this CPU has (under qemu-aarch64, the Pi's); tract's own operators run the very same int8
/// graph as the reference. They differ only by float summation order inside the depthwise
/// convolutions, which moves a value across a uint8 step now and then: a landmark then moves
/// by one output step (0.84 crop px) and the mean over 468 points stays a fraction of that.
/// (Measured when written: bit-identical on four of six faces, mean 0.07 and 0.09 crop px on
/// the other two.)
#[test]
fn livegates_int8_operators_agree_with_tracts_own_on_the_same_int8_graph_on_every_face() {
    let n = nets();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(models::MESH_INT8);
    let tract = LandmarkModel::load_with(&path, Operators::Tract).unwrap();
    assert_eq!(n.int8.operators(), Operators::Livegate(Kernels::detect()));
    for k in Kernels::ALL.into_iter().filter(|k| k.available()) {
        let ours = LandmarkModel::load_with(&path, Operators::Livegate(k)).unwrap();
        let faces = compare_meshes(&n.detector, &ours, &tract, k);
        assert!(faces >= 6, "{k}: only {faces} detections compared");
        eprintln!("kernels {k}: {faces} faces agree with tract's own operators");
    }
}

/// Every detection of every reference face through `ours` and `tract`; returns how many.
fn compare_meshes(detector: &FaceDetector, ours: &LandmarkModel, tract: &LandmarkModel, k: Kernels) -> usize {
    let mut faces = 0;
    for name in reference()["images"].as_object().unwrap().keys() {
        let img = image(name);
        for det in detector.detect(&img).unwrap() {
            let roi = Roi::from_detection(&det);
            let input = livegate::vision::landmarks::crop_input(&img, &roi);
            let (ours, our_logit) = ours.infer(&input).unwrap();
            let (theirs, their_logit) = tract.infer(&input).unwrap();
            let diffs: Vec<f32> = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).collect();
            let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
            let max = diffs.iter().copied().fold(0.0, f32::max);
            // At most one output step (0.8408 crop px; the presence logit's step is 0.144).
            assert!(mean < 0.2 && max < 0.85, "{k} {name}: mean {mean:.3}, max {max:.3} crop px");
            assert!((our_logit - their_logit).abs() < 0.15, "{k} {name}: logit {our_logit} vs {their_logit}");
            faces += 1;
        }
    }
    faces
}

/// The float detector runs in tract with livegate's operators (the service's,
/// `FaceDetector::load`), on every kernel path this CPU has; against tract's own operators on
/// the same file and input, only float summation order differs.
#[test]
fn the_detector_in_livegates_operators_agrees_with_tracts_own() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(models::DETECTOR);
    let tract = &FaceDetector::load_with(&path, 0.5, Operators::Tract).unwrap();
    for k in Kernels::ALL.into_iter().filter(|k| k.available()) {
        let ours = &FaceDetector::load_with(&path, 0.5, Operators::Livegate(k)).unwrap();
        compare_detectors(ours, tract, k);
        eprintln!("kernels {k}: the detector agrees with tract's own operators");
    }
}

fn compare_detectors(ours: &FaceDetector, tract: &FaceDetector, k: Kernels) {
    for name in reference()["images"].as_object().unwrap().keys() {
        let img = image(name);
        let lb = livegate::vision::detector::Letterbox::fit(img.width(), img.height());
        let input = livegate::vision::detector::letterbox_input(&img, lb);
        let (a, b) = (ours.infer(&input).unwrap(), tract.infer(&input).unwrap());
        for (a, b) in [(&a.0, &b.0), (&a.1, &b.1)] {
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs() / (1.0 + y.abs())).fold(0.0, f32::max);
            assert!(worst < 1e-4, "{k} {name}: relative difference {worst}");
        }
        let boxes = |d: &FaceDetector| d.detect(&img).unwrap().iter().map(|f| f.score).collect::<Vec<_>>();
        assert_eq!(boxes(ours).len(), boxes(tract).len(), "{k} {name}");
    }
}

#[test]
fn mirroring_the_picture_flips_the_sign_of_yaw_and_roll() {
    let n = nets();
    let img = image("astronaut.png");
    let mirrored = image::imageops::flip_horizontal(&img);
    let a = &faces_in(&img, &n.detector, &n.fp32, OPTS).unwrap()[0];
    let b = &faces_in(&mirrored, &n.detector, &n.fp32, OPTS).unwrap()[0];
    assert!(a.yaw.abs() > 2.0, "the astronaut is turned a little: yaw {}", a.yaw);
    assert!(a.yaw.signum() != b.yaw.signum(), "yaw {} vs mirrored {}", a.yaw, b.yaw);
    assert!((a.yaw + b.yaw).abs() < 3.0, "yaw {} vs mirrored {}", a.yaw, b.yaw);
    assert!((a.roll + b.roll).abs() < 3.0, "roll {} vs mirrored {}", a.roll, b.roll);
    assert!((a.pitch - b.pitch).abs() < 3.0, "pitch {} vs mirrored {}", a.pitch, b.pitch);
}

/// A print of `img` as a close camera sees it after turning the print by `deg` about the
/// vertical line through `(cx, cy)` (positive: the image's right half moves away). The camera
/// sits `d` pixels (in print pixels) in front of that point, as at a door (a face about 15 cm
/// wide seen from 40 cm is `d` ≈ 2.5 face widths).
fn turned_print(img: &RgbImage, deg: f32, (cx, cy): (f32, f32), d: f32) -> RgbImage {
    let (s, c) = deg.to_radians().sin_cos();
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let (u, v) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let big_x = u * d / (d * c - u * s);
        let big_y = v * (d + big_x * s) / d;
        let (sx, sy) = ((big_x + cx).floor(), (big_y + cy).floor());
        if sx < 0.0 || sy < 0.0 || sx >= img.width() as f32 || sy >= img.height() as f32 {
            image::Rgb([0, 0, 0])
        } else {
            *img.get_pixel(sx as u32, sy as u32)
        }
    })
}

#[test]
fn a_face_whose_right_side_recedes_reads_positive_yaw() {
    // Turning the head so the nose moves toward image +x makes the image-right half of the
    // face recede. A turned print shows the same cue (the mesh cannot tell the two apart,
    // which is exactly why liveness needs more than landmarks), so it pins the sign.
    let n = nets();
    let img = image("astronaut.png");
    let yaw = |im: &RgbImage| faces_in(im, &n.detector, &n.fp32, OPTS).unwrap()[0].yaw;
    let straight = yaw(&img);
    let face = n.detector.detect(&img).unwrap()[0].clone();
    let (centre, d) = ((face.centre()[0], face.centre()[1]), 2.5 * face.w);
    let right_recedes = yaw(&turned_print(&img, 40.0, centre, d));
    let left_recedes = yaw(&turned_print(&img, -40.0, centre, d));
    assert!(right_recedes - straight > 4.0, "straight {straight:.1}, turned {right_recedes:.1}");
    assert!(left_recedes - straight < -4.0, "straight {straight:.1}, turned {left_recedes:.1}");
    eprintln!(
        "yaw: straight {straight:.1}, right side receding {right_recedes:.1}, left side receding {left_recedes:.1}"
    );
}

#[test]
fn the_tracker_follows_one_face_and_recounts_with_the_detector() {
    let n = nets();
    let img = image("astronaut.png");
    // At 30 fps a face in view for 100 ms is in 3 frames: the detector counts every 3rd.
    let mut tracker = FaceTracker::new(n.detector.clone(), n.int8.clone(), VisionConfig::default());
    let ran: Vec<bool> = (0..7u64)
        .map(|i| {
            let obs = tracker.observe(&img, i * 1000 / 30).unwrap();
            assert_eq!(obs.faces, 1);
            let face = obs.face.expect("tracked");
            let reference_nose = xy(&ref_faces("astronaut.png")[0]["landmarks"][1]);
            assert!(dist(face.landmarks.nose_tip(), reference_nose) < 4.0);
            obs.detector_ran
        })
        .collect();
    assert_eq!(ran, [true, false, false, true, false, false, true]);
}

#[test]
fn the_tracker_counts_a_second_face_when_the_detector_runs() {
    let n = nets();
    let mut tracker = FaceTracker::new(n.detector.clone(), n.int8.clone(), VisionConfig::default());
    let obs = tracker.observe(&image("two_faces.jpg"), 0).unwrap();
    assert!(obs.detector_ran);
    assert_eq!(obs.faces, 2);
}

#[test]
fn a_detector_frame_beside_the_mesh_sees_what_running_them_in_turn_sees() {
    let n = nets();
    let img = image("two_faces.jpg");
    // Frames 100 ms apart: the detector counts on every one.
    let mut tracker = FaceTracker::new(n.detector.clone(), n.int8.clone(), VisionConfig::default());
    let first = tracker.observe(&img, 0).unwrap().face.expect("acquired");
    // Tracking, and the detector is due: it runs on its own thread beside the mesh.
    let obs = tracker.observe(&img, 100).unwrap();
    assert!(obs.detector_ran);
    assert_eq!(obs.faces, 2);
    let face = obs.face.expect("still tracked");
    let roi = Roi::from_landmarks(&first.landmarks);
    assert_eq!(face.roi, roi);
    assert_eq!(face.landmarks, n.int8.landmarks(&img, &roi).unwrap());
    let found = n.detector.detect(&img).unwrap();
    assert!(found.iter().any(|d| face.landmarks.bounds().contains(d.centre())), "its detection");
    assert_eq!(face.bounds, face.landmarks.bounds(), "one box definition on every frame");
}

#[test]
fn the_tracker_drops_the_face_when_it_leaves() {
    let n = nets();
    let mut tracker = FaceTracker::new(n.detector.clone(), n.int8.clone(), VisionConfig::default());
    assert!(tracker.observe(&image("astronaut.png"), 0).unwrap().face.is_some());
    let obs = tracker.observe(&image("coffee.png"), 33).unwrap();
    assert_eq!(obs.faces, 0);
    assert!(obs.face.is_none());
}
