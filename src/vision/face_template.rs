//! The rigid 3-D face that [`super::pose`] fits to the landmarks: 63 FaceMesh points, cm.
//!
//! **Generated** by `tools/make_face_template.sh` (`examples/face_template.rs`); do not edit by
//! hand. Made from the float mesh on the committed frontal photos in `tests/data`:
//! `astronaut.png`, `obama.jpg`, `biden.jpg`.
//! Detector, then the mesh twice as `cmd::synth::face_model` does; the three 468-point sets
//! aligned by generalised Procrustes (Horn's similarity alignment removes each photo's small
//! rotation, scale and translation) and averaged; turned into the photos' mean camera
//! orientation, with yaw and roll removed (x along the symmetric pairs); the chosen points made
//! exactly left-right symmetric (largest mismatch averaged away: 0.09 cm), scaled to a
//! biocular width (outer eye corners 33–263) of 9.0 cm, centred on their centroid.
//!
//! Head frame: x toward the subject's left (image +x for a frontal face), y down, z away from
//! the camera (the nose tip has the most negative z), origin at the points' centroid.
//!
//! Points: eye corners, brows, forehead, temples, cheeks, nose bridge, tip, wings and subnasale,
//! lips, mouth corners and chin. Not the face-oval (jaw) points, which slide along the occluding
//! contour as the head turns, nor the eyelids, which blink. The lateral cheek and temple points
//! give the template its depth: a turn moves each point sideways in proportion to its depth, so
//! the turn's precision grows with the spread of z (here 2.11 cm rms about the mean over
//! the 63 points).
//!
//! Depth check (the turn a rigid fit reads scales inversely with the template's depth), at a
//! biocular width of 9.0 cm:
//!
//! | | mean of the photos | each photo | canonical model |
//! |---|---|---|---|
//! | nose tip (#1) in front of the outer-eye-corner plane | 4.49 cm | 3.88, 4.95, 4.68 | 4.35 cm |
//! | ear-level face oval (#234/#454) behind that plane | 5.37 cm | | 5.68 cm |
//!
//! The canonical model is MediaPipe's metric `canonical_face_model.obj` (a reference number
//! only). Face anthropometry agrees: with tragion–tragion ≈ 14.5 cm, tragion–subnasale ≈ 12 cm,
//! exocanthion–tragion ≈ 7.7 cm and nasal tip protrusion ≈ 2 cm (adult norms, Farkas 1994), the
//! nose tip lies ≈ 4 cm in front of the exocanthion plane. The mesh's depth is within 5 %
//! of the canonical model; its z is used as it is (depth scale 1).

/// Mesh index and position (cm, head frame) of each template point.
pub const FACE_TEMPLATE: [(usize, [f32; 3]); 63] = [
    (33, [-4.500, -2.095, 0.543]),   // outer eye corner (subject's right)
    (263, [4.500, -2.095, 0.543]),   // outer eye corner (subject's left)
    (133, [-1.729, -1.985, 0.029]),  // inner eye corner (subject's right)
    (362, [1.729, -1.985, 0.029]),   // inner eye corner (subject's left)
    (71, [-6.119, -3.733, 1.867]),   // brow, lateral (subject's right)
    (301, [6.119, -3.733, 1.867]),   // brow, lateral (subject's left)
    (70, [-5.682, -3.343, 0.613]),   // brow, outer end (subject's right)
    (300, [5.682, -3.343, 0.613]),   // brow, outer end (subject's left)
    (105, [-4.044, -4.251, -0.870]), // brow, middle (subject's right)
    (334, [4.044, -4.251, -0.870]),  // brow, middle (subject's left)
    (107, [-1.396, -4.123, -1.766]), // brow, inner end (subject's right)
    (336, [1.396, -4.123, -1.766]),  // brow, inner end (subject's left)
    (108, [-1.636, -5.767, -1.388]), // forehead (subject's right)
    (337, [1.636, -5.767, -1.388]),  // forehead (subject's left)
    (69, [-3.078, -5.674, -0.937]),  // forehead, lateral (subject's right)
    (299, [3.078, -5.674, -0.937]),  // forehead, lateral (subject's left)
    (139, [-6.502, -2.688, 2.847]),  // temple (subject's right)
    (368, [6.502, -2.688, 2.847]),   // temple (subject's left)
    (34, [-6.853, -1.428, 3.483]),   // beside the eye, lateral (subject's right)
    (264, [6.853, -1.428, 3.483]),   // beside the eye, lateral (subject's left)
    (143, [-6.243, -1.484, 1.975]),  // beside the outer eye corner (subject's right)
    (372, [6.243, -1.484, 1.975]),   // beside the outer eye corner (subject's left)
    (36, [-3.186, 1.033, -0.954]),   // cheek under the eye (subject's right)
    (266, [3.186, 1.033, -0.954]),   // cheek under the eye (subject's left)
    (227, [-6.965, -0.106, 3.668]),  // outer cheek, below the eye (subject's right)
    (447, [6.965, -0.106, 3.668]),   // outer cheek, below the eye (subject's left)
    (137, [-6.947, 1.251, 3.771]),   // outer cheek, nose level (subject's right)
    (366, [6.947, 1.251, 3.771]),    // outer cheek, nose level (subject's left)
    (177, [-6.821, 2.705, 3.673]),   // outer cheek, below nose level (subject's right)
    (401, [6.821, 2.705, 3.673]),    // outer cheek, below nose level (subject's left)
    (147, [-6.418, 2.167, 1.790]),   // cheek, lateral (subject's right)
    (376, [6.418, 2.167, 1.790]),    // cheek, lateral (subject's left)
    (50, [-5.055, 0.895, -0.141]),   // cheek (subject's right)
    (280, [5.055, 0.895, -0.141]),   // cheek (subject's left)
    (116, [-6.366, -0.410, 1.765]),  // cheekbone (subject's right)
    (345, [6.366, -0.410, 1.765]),   // cheekbone (subject's left)
    (123, [-6.400, 0.832, 1.589]),   // cheek, under the cheekbone (subject's right)
    (352, [6.400, 0.832, 1.589]),    // cheek, under the cheekbone (subject's left)
    (205, [-4.263, 1.763, -0.674]),  // cheek, low (subject's right)
    (425, [4.263, 1.763, -0.674]),   // cheek, low (subject's left)
    (98, [-1.969, 2.015, -1.535]),   // nose wing, base (subject's right)
    (327, [1.969, 2.015, -1.535]),   // nose wing, base (subject's left)
    (64, [-2.145, 1.660, -1.995]),   // nose wing (subject's right)
    (294, [2.145, 1.660, -1.995]),   // nose wing (subject's left)
    (61, [-3.290, 4.074, 0.216]),    // mouth corner (subject's right)
    (291, [3.290, 4.074, 0.216]),    // mouth corner (subject's left)
    (32, [-2.403, 7.595, -0.290]),   // chin, side (subject's right)
    (262, [2.403, 7.595, -0.290]),   // chin, side (subject's left)
    (151, [0.000, -5.742, -1.538]),  // forehead
    (9, [0.000, -4.006, -1.841]),    // glabella
    (168, [0.000, -2.548, -1.727]),  // nose bridge, top
    (6, [0.000, -1.868, -2.207]),    // nose bridge
    (197, [0.000, -1.155, -2.720]),  // nose bridge, low
    (195, [0.000, -0.483, -3.297]),  // nose dorsum
    (5, [0.000, 0.242, -3.901]),     // nose dorsum, low
    (4, [0.000, 1.133, -4.152]),     // above the nose tip
    (1, [0.000, 1.816, -3.946]),     // nose tip
    (2, [0.000, 2.420, -2.367]),     // subnasale
    (0, [0.000, 3.631, -2.159]),     // upper lip
    (17, [0.000, 5.883, -1.618]),    // lower lip
    (18, [0.000, 6.592, -1.142]),    // below the lower lip
    (200, [0.000, 7.319, -1.125]),   // chin, upper
    (175, [0.000, 8.959, -0.815]),   // chin
];
