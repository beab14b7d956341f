//! Generates `src/vision/face_template.rs`, the rigid 3-D face that `vision::pose` fits to the
//! landmarks (run by `tools/make_face_template.sh`, which writes and formats the file).
//!
//! 1. The float mesh (detector, then the mesh twice: detection ROI, then landmark ROI, as
//!    `cmd::synth::face_model` does) on the committed frontal photos `tests/data/astronaut.png`,
//!    `obama.jpg`, `biden.jpg`: 468 points each, x/y in frame pixels, z in the same units.
//! 2. Generalised Procrustes over all 468 points: each set's rotation, scale and translation
//!    removed by Horn's similarity alignment to the running mean, then the mean taken.
//! 3. The head frame: the mean is turned into the photos' average camera orientation, then yaw
//!    and roll are removed by making the left−right axis (mean of the symmetric pairs) the x
//!    axis; y is the camera's down direction made perpendicular to it; z = x × y.
//! 4. Depth × [`DEPTH_SCALE`] (see its doc), the chosen points made exactly left-right
//!    symmetric, scaled to a biocular width (outer eye corners 33–263) of [`BIOCULAR_CM`] cm,
//!    centred on their centroid.
//!
//! It prints the Rust source on stdout and the measurements on stderr.
//!
//! Usage: `cargo run --release --example face_template [MODEL_DIR] > src/vision/face_template.rs`.

use std::path::{Path, PathBuf};

use livegate::cmd::inspect::read_rgb;
use livegate::models::{self, Precision};
use livegate::vision::pose::rotation::{self, M3, V3};
use livegate::vision::{FaceDetector, LandmarkModel, Roi};

/// The photos, in `tests/data`.
const PHOTOS: [&str; 3] = ["astronaut.png", "obama.jpg", "biden.jpg"];
/// Outer eye corners to outer eye corners (exocanthion–exocanthion), cm: adult norms are about
/// 8.7 (women) to 9.1 (men) (Farkas, *Anthropometry of the Head and Face*, 1994).
const BIOCULAR_CM: f64 = 9.0;
/// Multiplier of the mesh's depth. FaceMesh's model card says its z is "roughly the same scale
/// as x"; checked here against MediaPipe's metric canonical face model and face anthropometry
/// (the numbers go into the generated module doc): the mesh's nose-tip protrusion and ear-level
/// depth are within a few per cent of both, so the depth is kept as the mesh gives it.
const DEPTH_SCALE: f64 = 1.0;

/// Symmetric pairs (subject's right, subject's left) and what they are.
const PAIRS: [(usize, usize, &str); 24] = [
    (33, 263, "outer eye corner"),
    (133, 362, "inner eye corner"),
    (71, 301, "brow, lateral"),
    (70, 300, "brow, outer end"),
    (105, 334, "brow, middle"),
    (107, 336, "brow, inner end"),
    (108, 337, "forehead"),
    (69, 299, "forehead, lateral"),
    (139, 368, "temple"),
    (34, 264, "beside the eye, lateral"),
    (143, 372, "beside the outer eye corner"),
    (36, 266, "cheek under the eye"),
    (227, 447, "outer cheek, below the eye"),
    (137, 366, "outer cheek, nose level"),
    (177, 401, "outer cheek, below nose level"),
    (147, 376, "cheek, lateral"),
    (50, 280, "cheek"),
    (116, 345, "cheekbone"),
    (123, 352, "cheek, under the cheekbone"),
    (205, 425, "cheek, low"),
    (98, 327, "nose wing, base"),
    (64, 294, "nose wing"),
    (61, 291, "mouth corner"),
    (32, 262, "chin, side"),
];
/// Points on the face's midline and what they are.
const MIDLINE: [(usize, &str); 15] = [
    (151, "forehead"),
    (9, "glabella"),
    (168, "nose bridge, top"),
    (6, "nose bridge"),
    (197, "nose bridge, low"),
    (195, "nose dorsum"),
    (5, "nose dorsum, low"),
    (4, "above the nose tip"),
    (1, "nose tip"),
    (2, "subnasale"),
    (0, "upper lip"),
    (17, "lower lip"),
    (18, "below the lower lip"),
    (200, "chin, upper"),
    (175, "chin"),
];
/// Outer eye corners, nose tip, and the face-oval points at ear level (not in the template,
/// measured for the depth check).
const EX_R: usize = 33;
const EX_L: usize = 263;
const NOSE: usize = 1;
const CHEEK_R: usize = 234;
const CHEEK_L: usize = 454;
/// MediaPipe's canonical face model (`canonical_face_model.obj`, cm, z toward the camera), a
/// reference number only: outer eye corners ±4.445859 cm, z 3.173422; nose tip (#1) z 7.475604;
/// #234/#454 z −2.435867.
const CANONICAL: (f64, f64, f64, f64) = (2.0 * 4.445859, 3.173422, 7.475604, -2.435867);

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::args().nth(1).map_or_else(|| root.join("models"), PathBuf::from);
    let (detector, mesh) = models::load(&dir, Precision::Float, 0.5)?;
    let sets = PHOTOS
        .iter()
        .map(|name| landmarks(&root.join("tests/data").join(name), &detector, &mesh))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (mean, rotations) = procrustes(&sets);
    let camera: Vec<M3> = rotations.iter().map(rotation::transpose).collect();
    let mean_camera = rotation::mean(&camera);
    let head = head_axes(&mean.iter().map(|p| rotation::apply(&mean_camera, *p)).collect::<Vec<_>>());
    let full: Vec<V3> = mean
        .iter()
        .map(|p| rotation::apply(&head, rotation::apply(&mean_camera, *p)))
        .map(|p| [p[0], p[1], p[2] * DEPTH_SCALE])
        .collect();
    let (template, asymmetry_cm) = symmetric_template(&full);
    let facts = depth_facts(&full, &sets);
    // The tool's report beside the generated source on stdout, not a log.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{facts}");
    }
    print!("{}", render(&template, asymmetry_cm, &facts));
    Ok(())
}

/// The float mesh's 468 points on the photo's strongest face, in f64.
fn landmarks(path: &Path, detector: &FaceDetector, mesh: &LandmarkModel) -> anyhow::Result<Vec<V3>> {
    let photo = read_rgb(path)?;
    let det = detector
        .detect(&photo)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no face in {}", path.display()))?;
    let lm = mesh.landmarks(&photo, &Roi::from_detection(&det))?;
    let lm = mesh.landmarks(&photo, &Roi::from_landmarks(&lm))?;
    Ok(lm.points.iter().map(|p| p.map(f64::from)).collect())
}

/// Generalised Procrustes: the mean shape (centred, unit rms radius) and each set's rotation
/// into it.
fn procrustes(sets: &[Vec<V3>]) -> (Vec<V3>, Vec<M3>) {
    let mut mean = normalised(&sets[0]);
    let mut rotations = vec![rotation::IDENTITY; sets.len()];
    for _ in 0..20 {
        let mut sum = vec![[0.0; 3]; mean.len()];
        for (set, r) in sets.iter().zip(rotations.iter_mut()) {
            let s = rotation::align(set, &mean).expect("a face mesh aligns");
            *r = s.rotation;
            for (acc, p) in sum.iter_mut().zip(set) {
                let q = rotation::apply(&s.rotation, *p);
                for k in 0..3 {
                    acc[k] += s.scale * q[k] + s.translation[k];
                }
            }
        }
        mean = normalised(&sum);
    }
    (mean, rotations)
}

/// Centred on the centroid, scaled to unit rms radius.
fn normalised(points: &[V3]) -> Vec<V3> {
    let c = rotation::centroid(points);
    let centred: Vec<V3> = points.iter().map(|p| [p[0] - c[0], p[1] - c[1], p[2] - c[2]]).collect();
    let rms = (centred.iter().map(|p| rotation::dot(*p, *p)).sum::<f64>() / points.len() as f64).sqrt();
    centred.iter().map(|p| p.map(|v| v / rms)).collect()
}

/// Rows of the head frame in the (camera-oriented) mean: x along the pairs' left − right,
/// y the camera's down made perpendicular to x, z = x × y (into the head).
fn head_axes(mean: &[V3]) -> M3 {
    let lateral =
        PAIRS.iter().fold([0.0; 3], |acc, &(r, l, _)| [0, 1, 2].map(|k| acc[k] + mean[l][k] - mean[r][k]));
    let x = unit(lateral);
    let y = unit([-x[1] * x[0], 1.0 - x[1] * x[1], -x[1] * x[2]]);
    [x, y, rotation::cross(x, y)]
}

fn unit(v: V3) -> V3 {
    let n = rotation::dot(v, v).sqrt();
    v.map(|x| x / n)
}

/// One template point: mesh index, position in cm, name.
struct Point {
    index: usize,
    at: V3,
    name: String,
}

/// The chosen points, exactly symmetric, in cm, centred; and the largest left-right mismatch
/// (cm) the averaging removed.
fn symmetric_template(full: &[V3]) -> (Vec<Point>, f64) {
    let cm = BIOCULAR_CM / (full[EX_L][0] - full[EX_R][0]);
    let mut points = Vec::new();
    let mut worst: f64 = 0.0;
    for &(r, l, name) in &PAIRS {
        let (pr, pl) = (full[r], full[l]);
        let mirrored = [-pr[0], pr[1], pr[2]];
        worst = worst.max((0..3).map(|k| (mirrored[k] - pl[k]).powi(2)).sum::<f64>().sqrt() * cm);
        let avg = [(pl[0] - pr[0]) / 2.0, (pl[1] + pr[1]) / 2.0, (pl[2] + pr[2]) / 2.0];
        points.push(Point {
            index: r,
            at: [-avg[0], avg[1], avg[2]],
            name: format!("{name} (subject's right)"),
        });
        points.push(Point { index: l, at: avg, name: format!("{name} (subject's left)") });
    }
    for &(i, name) in &MIDLINE {
        worst = worst.max(full[i][0].abs() * cm);
        points.push(Point { index: i, at: [0.0, full[i][1], full[i][2]], name: name.to_string() });
    }
    let c = rotation::centroid(&points.iter().map(|p| p.at).collect::<Vec<_>>());
    for p in &mut points {
        p.at = [0, 1, 2].map(|k| (p.at[k] - c[k]) * cm);
    }
    assert!(worst < 1.0, "a pair is {worst:.2} cm from mirror symmetry: wrong pair?");
    (points, worst)
}

/// The depth numbers the module doc reports.
struct DepthFacts {
    /// Nose tip in front of the outer-eye-corner plane, cm at the template's biocular width.
    nose_cm: f64,
    /// The same per photo (own Procrustes-free frame: depth along the mesh z).
    nose_per_photo_cm: Vec<f64>,
    /// Ear-level face-oval points (#234/#454) behind the outer-eye-corner plane, cm.
    ear_cm: f64,
    /// The canonical face model's numbers at the same biocular width.
    canonical_nose_cm: f64,
    canonical_ear_cm: f64,
}

impl std::fmt::Display for DepthFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per: Vec<String> = self.nose_per_photo_cm.iter().map(|v| format!("{v:.2}")).collect();
        write!(
            f,
            "nose tip {:.2} cm in front of the outer-eye-corner plane (photos: {}; canonical model {:.2}); \
             ear-level face oval #234/#454 {:.2} cm behind it (canonical {:.2}); depth scale {DEPTH_SCALE}",
            self.nose_cm,
            per.join(", "),
            self.canonical_nose_cm,
            self.ear_cm,
            self.canonical_ear_cm
        )
    }
}

fn depth_facts(full: &[V3], sets: &[Vec<V3>]) -> DepthFacts {
    let cm = BIOCULAR_CM / (full[EX_L][0] - full[EX_R][0]);
    let eyes_z = |p: &[V3]| (p[EX_R][2] + p[EX_L][2]) / 2.0;
    let ears_z = (full[CHEEK_R][2] + full[CHEEK_L][2]) / 2.0;
    let nose_per_photo_cm = sets
        .iter()
        .map(|p| {
            let d = [0, 1, 2].map(|k| p[EX_L][k] - p[EX_R][k]);
            (eyes_z(p) - p[NOSE][2]) * DEPTH_SCALE * BIOCULAR_CM / rotation::dot(d, d).sqrt()
        })
        .collect();
    let (width, eye_z, nose_z, ear_z) = CANONICAL;
    let k = BIOCULAR_CM / width;
    DepthFacts {
        nose_cm: (eyes_z(full) - full[NOSE][2]) * cm,
        nose_per_photo_cm,
        ear_cm: (ears_z - eyes_z(full)) * cm,
        canonical_nose_cm: (nose_z - eye_z) * k,
        canonical_ear_cm: (eye_z - ear_z) * k,
    }
}

/// The Rust source of `src/vision/face_template.rs`.
fn render(points: &[Point], asymmetry_cm: f64, facts: &DepthFacts) -> String {
    let photos: Vec<String> = PHOTOS.iter().map(|p| format!("`{p}`")).collect();
    let per: Vec<String> = facts.nose_per_photo_cm.iter().map(|v| format!("{v:.2}")).collect();
    let deviation = ((facts.nose_cm / facts.canonical_nose_cm - 1.0).abs())
        .max((facts.ear_cm / facts.canonical_ear_cm - 1.0).abs())
        * 100.0;
    let mut s = format!(
        "//! The rigid 3-D face that [`super::pose`] fits to the landmarks: {n} FaceMesh points, cm.
//!
//! **Generated** by `tools/make_face_template.sh` (`examples/face_template.rs`); do not edit by
//! hand. Made from the float mesh on the committed frontal photos in `tests/data`:
//! {photos}.
//! Detector, then the mesh twice as `cmd::synth::face_model` does; the three 468-point sets
//! aligned by generalised Procrustes (Horn's similarity alignment removes each photo's small
//! rotation, scale and translation) and averaged; turned into the photos' mean camera
//! orientation, with yaw and roll removed (x along the symmetric pairs); the chosen points made
//! exactly left-right symmetric (largest mismatch averaged away: {asym:.2} cm), scaled to a
//! biocular width (outer eye corners 33–263) of {bio:.1} cm, centred on their centroid.
//!
//! Head frame: x toward the subject's left (image +x for a frontal face), y down, z away from
//! the camera (the nose tip has the most negative z), origin at the points' centroid.
//!
//! Points: eye corners, brows, forehead, temples, cheeks, nose bridge, tip, wings and subnasale,
//! lips, mouth corners and chin. Not the face-oval (jaw) points, which slide along the occluding
//! contour as the head turns, nor the eyelids, which blink. The lateral cheek and temple points
//! give the template its depth: a turn moves each point sideways in proportion to its depth, so
//! the turn's precision grows with the spread of z (here {zsd:.2} cm rms about the mean over
//! the {n} points).
//!
//! Depth check (the turn a rigid fit reads scales inversely with the template's depth), at a
//! biocular width of {bio:.1} cm:
//!
//! | | mean of the photos | each photo | canonical model |
//! |---|---|---|---|
//! | nose tip (#1) in front of the outer-eye-corner plane | {nose:.2} cm | {per} | {cnose:.2} cm |
//! | ear-level face oval (#234/#454) behind that plane | {ear:.2} cm | | {cear:.2} cm |
//!
//! The canonical model is MediaPipe's metric `canonical_face_model.obj` (a reference number
//! only). Face anthropometry agrees: with tragion–tragion ≈ 14.5 cm, tragion–subnasale ≈ 12 cm,
//! exocanthion–tragion ≈ 7.7 cm and nasal tip protrusion ≈ 2 cm (adult norms, Farkas 1994), the
//! nose tip lies ≈ 4 cm in front of the exocanthion plane. The mesh's depth is within {dev:.0} %
//! of the canonical model; {scale}.

/// Mesh index and position (cm, head frame) of each template point.
pub const FACE_TEMPLATE: [(usize, [f32; 3]); {n}] = [
",
        n = points.len(),
        photos = photos.join(", "),
        asym = asymmetry_cm,
        bio = BIOCULAR_CM,
        nose = facts.nose_cm,
        per = per.join(", "),
        cnose = facts.canonical_nose_cm,
        ear = facts.ear_cm,
        cear = facts.canonical_ear_cm,
        dev = deviation,
        zsd = {
            let mean = points.iter().map(|p| p.at[2]).sum::<f64>() / points.len() as f64;
            (points.iter().map(|p| (p.at[2] - mean).powi(2)).sum::<f64>() / points.len() as f64).sqrt()
        },
        scale = if DEPTH_SCALE == 1.0 {
            "its z is used as it is (depth scale 1)".to_string()
        } else {
            format!("its z is multiplied by {DEPTH_SCALE} (see `DEPTH_SCALE` in the example)")
        },
    );
    for p in points {
        s.push_str(&format!(
            "    ({}, [{:.3}, {:.3}, {:.3}]), // {}\n",
            p.index,
            tidy(p.at[0]),
            tidy(p.at[1]),
            tidy(p.at[2]),
            p.name
        ));
    }
    s.push_str("];\n");
    s
}

/// Rounds away a "-0.000" on the midline.
fn tidy(v: f64) -> f64 {
    if v.abs() < 5e-4 { 0.0 } else { v }
}
