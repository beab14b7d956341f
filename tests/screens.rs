//! Golden images of every screen at 240×240 and 800×480, pixel for pixel, and the proof that
//! the preview, the target and the nose marker are mirrored together.
//!
//! After a deliberate design change, regenerate the goldens with
//! `LIVEGATE_BLESS=1 cargo test --test screens` and review the PNGs in the diff. On a
//! mismatch the test writes `NAME.actual.png` beside the golden for review.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use embedded_graphics::pixelcolor::Rgb888;
use image::RgbImage;
use livegate::cmd::screens::{self, FRAME};
use livegate::liveness::ChallengeGeometry;
use livegate::liveness::session::Phase;
use livegate::screen::samples::{SAMPLE_TARGET, samples, samples_in};
use livegate::screen::{Canvas, Challenge, Language, Prompt, Scene, Status, View, style};

const SIZES: [(u32, u32); 2] = [(240, 240), (800, 480)];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn frame() -> Arc<RgbImage> {
    screens::load_frame(&root().join(FRAME)).expect("the shipped frame")
}

/// Compare with the golden (or write it when blessing); the error names every mismatch.
fn check_golden(dir: &Path, file: &str, actual: &RgbImage) -> Result<(), String> {
    let path = dir.join(file);
    let review = dir.join(file.replace(".png", ".actual.png"));
    if std::env::var_os("LIVEGATE_BLESS").is_some() {
        let _ = std::fs::remove_file(&review);
        actual.save(&path).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = image::open(&path)
        .map_err(|e| format!("{file}: no golden ({e}); run LIVEGATE_BLESS=1 cargo test --test screens"))?
        .to_rgb8();
    if expected.dimensions() == actual.dimensions() && expected.as_raw() == actual.as_raw() {
        return Ok(());
    }
    let differing = expected.pixels().zip(actual.pixels()).filter(|(a, b)| a != b).count();
    actual.save(&review).map_err(|e| e.to_string())?;
    Err(format!("{file}: {differing} pixels differ; see {}", review.display()))
}

#[test]
fn every_screen_matches_its_golden_image_at_240x240_and_800x480() {
    let dir = root().join("tests/golden/screens");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, view) in samples(frame()) {
        for size in SIZES {
            let canvas = screens::render(&view, size.0, size.1);
            if let Err(e) = check_golden(&dir, &screens::file_name(name, size), &canvas.to_image()) {
                failures.push(e);
            }
            checked += 1;
        }
    }
    assert!(checked >= 26, "only {checked} screens");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every screen in German, French and Spanish at both sizes: each differs from the English one
/// (it has words of its own), and each full-screen message, plus the Nose challenge at
/// 240×240, matches its golden in `tests/golden/screens/<language>/` (the other challenge
/// screens differ from those only in their one prompt line, which
/// `every_message_and_prompt_of_every_language_fits_both_screen_sizes` checks for fit).
#[test]
fn every_screen_in_every_language_renders_its_own_words_and_matches_its_goldens() {
    let mut failures = Vec::new();
    let (mut rendered, mut golden) = (0, 0);
    let english = samples(frame());
    for lang in Language::ALL.into_iter().filter(|l| *l != Language::En) {
        let dir = root().join("tests/golden/screens").join(lang.code());
        for ((name, view), (_, en)) in samples_in(frame(), lang).iter().zip(&english) {
            assert_eq!(view.language, lang);
            for size in SIZES {
                let canvas = screens::render(view, size.0, size.1).to_image();
                let en = screens::render(en, size.0, size.1).to_image();
                assert!(canvas.as_raw() != en.as_raw(), "{lang:?} {name} at {size:?} is the English screen");
                rendered += 1;
                let challenge = matches!(view.scene, Scene::Challenge(_));
                if !challenge || (*name == "nose" && size == (240, 240)) {
                    if let Err(e) = check_golden(&dir, &screens::file_name(name, size), &canvas) {
                        failures.push(e);
                    }
                    golden += 1;
                }
            }
        }
    }
    assert_eq!(rendered, 3 * 30, "every screen, every other language, both sizes");
    assert!(golden >= 3 * 17, "only {golden} goldens");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_changed_pixel_fails_the_golden_check_and_leaves_the_actual_image_for_review() {
    let dir = std::env::temp_dir().join(format!("livegate-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut img = RgbImage::new(8, 8);
    img.save(dir.join("x.png")).unwrap();
    img.put_pixel(3, 3, image::Rgb([1, 0, 0]));
    if std::env::var_os("LIVEGATE_BLESS").is_none() {
        let err = check_golden(&dir, "x.png", &img).unwrap_err();
        assert!(err.contains("1 pixels differ"), "{err}");
        assert!(dir.join("x.actual.png").exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The pixels of one colour inside the rows above `max_y`, as (x, y).
fn pixels_of(c: &Canvas, color: Rgb888, max_y: u32) -> Vec<(u32, u32)> {
    (0..max_y.min(c.height()))
        .flat_map(|y| (0..c.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| c.pixel(x, y) == Some(color))
        .collect()
}

fn mean_x(px: &[(u32, u32)]) -> f32 {
    px.iter().map(|p| p.0 as f32).sum::<f32>() / px.len() as f32
}

#[test]
fn a_nose_on_the_camera_left_is_drawn_on_the_screen_right_and_the_target_where_the_visitor_must_move() {
    let frame = frame();
    let geometry = ChallengeGeometry::new(640, 480, SAMPLE_TARGET);
    assert!(geometry.target_is_right(), "the sample target is on the camera's right");
    for (w, h) in [(240, 240), (320, 240), (800, 480)] {
        let view = |nose| View {
            scene: Scene::Challenge(Challenge {
                frame: Some(Arc::clone(&frame)),
                geometry,
                nose,
                phase: Phase::Nose,
                remaining_fraction: 0.5,
                remaining_ms: 5000,
                prompt: Prompt::MoveNose,
                flash: None,
            }),
            status: Status::default(),
            language: Default::default(),
        };
        let with_nose = screens::render(&view(Some([100.0, 240.0])), w, h);
        let nose = pixels_of(&with_nose, style::NOSE, h);
        assert!(!nose.is_empty(), "{w}x{h}: no nose marker drawn");
        assert!(nose.iter().all(|p| p.0 > w / 2), "{w}x{h}: nose marker not on the right half");
        // Without a nose there is no guide line; the time bar at the bottom is excluded.
        let without = screens::render(&view(None), w, h);
        let square = pixels_of(&without, style::TARGET, h * 3 / 4);
        assert!(!square.is_empty(), "{w}x{h}: no target square drawn");
        assert!(square.iter().all(|p| p.0 < w / 2), "{w}x{h}: the target must be on the screen's left");
        // The visitor's nose (mirrored to the right) must travel left, toward the square.
        assert!(mean_x(&square) < mean_x(&nose));
    }
}
