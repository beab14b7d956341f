//! The light challenge (issue 18): while the visitor turns, the terminal's screen lights the
//! face with a short random sequence of saturated colours, a different one on each half of
//! the screen, and the colour of the skin must follow both halves alike.
//!
//! Skin is a diffuse reflector at arm's length from the screen: its colour moves with each
//! flash by the ratio of the screen's irradiance to the ambient light's, a few per cent indoors.
//! A phone or tablet replaying a video emits its own light and reflects the terminal's only
//! weakly (about 1 % diffusely, 4 % in a specular highlight where the geometry lines up), so
//! its "skin" does not follow a sequence drawn after the video was made.
//!
//! What is measured, per frame of the sequence: the mean colour of skin patches (forehead,
//! both cheeks, the nose bridge) located by the face mesh, and of two background patches beside
//! the head. The signal is the skin's log-chromaticity, `ln c_k − mean_k ln c_k`: a change of
//! exposure or gain scales all channels alike and drops out, so the check survives a camera
//! whose auto-exposure could not be locked; the expected signal is the emitted colour's
//! chromaticity excursion. Their correlation over frames and channels, at the display and
//! camera lag that fits best (searched up to `max_lag_ms`), says whether the skin follows the
//! sequence; the regression slope (`amplitude`, log-chromaticity per unit of emitted
//! chromaticity) says how strongly, which falls with ambient light and distance. Two more
//! tell a face from a glossy screen that happens to follow: skin at arm's length is lit by
//! the whole panel, so every patch answers both halves alike (`balance`), where a mirror shows
//! each spot one half; and nothing but the flashes changes the skin's colour (`residual`),
//! where a video of a face filmed under other coloured light flickers with its own.
//!
//! Sans-IO like the rest of `liveness`: the colours are drawn by the caller from the OS
//! CSPRNG (`entropy::light_colours`) and the patches are read from a frame the caller holds.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Saturated colours the screen flashes: each lights one or two of the camera's channels
/// fully and leaves the rest dark, so every flash moves the skin's chromaticity.
pub const PALETTE: [[u8; 3]; 6] =
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 255, 255], [255, 0, 255], [255, 255, 0]];

/// What to do when the skin does not visibly follow the flashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenTooBright {
    /// The challenge fails (`no_light_response`): a video on a screen cannot pass.
    Fail,
    /// The light check is left out and the verdict says so (`checks.light = "not_seen"`):
    /// for sunlit doors, at the cost of the protection against screen replays.
    PassWithout,
}

/// `[light]`: the light challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LightConfig {
    /// Flash the screen and check the face's response in the Nose state. Off (the default
    /// until its calibration separates live faces from phone screens with margins of ×2:
    /// docs/liveness.md "The light challenge"):
    /// the verdict states the weaker guarantee (`checks.light = "off"`).
    pub enabled: bool,
    /// Colours in one sequence.
    pub flashes: u32,
    /// How long each colour is shown, ms (at least 334: no more than 3 flashes per second).
    pub flash_ms: u32,
    /// The longest display-plus-camera latency searched for, ms.
    pub max_lag_ms: u32,
    /// Minimum correlation of the skin's chromaticity with the emitted sequence.
    pub min_correlation: f32,
    /// Minimum response of the skin (log-chromaticity per unit of emitted chromaticity).
    pub min_amplitude: f32,
    /// Minimum evenness of the response over the skin patches (second weakest over
    /// strongest): a phone's glass mirrors the terminal's screen in one patch of its picture.
    pub min_uniformity: f32,
    /// Minimum balance of the skin patches' responses to the screen's two halves
    /// (`LightMeasure::balance`): the whole panel lights skin, a mirror shows one half at a
    /// spot.
    pub min_balance: f32,
    /// Largest change of the skin's chromaticity that the flashes do not explain (RMS, log
    /// units): a screen with its own changing colours.
    pub max_residual: f32,
    /// Largest relative response of the eyebrows over the skin's: diffuse light scales both
    /// alike (about 1); a mirrored screen adds the same light to both, far more to the dark.
    pub max_additivity: f32,
    /// Largest response of the wall beside the head over the skin's (its absolute value,
    /// `LightMeasure::background_share`): light falls off with the square of the distance,
    /// so a wall a metre or more behind a face at 30–60 cm answers at most (0.6/1)² ≈ 0.36 of
    /// it, a few per cent at 2 m; a phone's glass scatters the flashes over the filmed wall as
    /// much as over the filmed face (about 1, more where the filmed wall is darker). Not
    /// calibrated on sessions: set from that physics, between the two.
    pub max_background_share: f32,
    /// `fail` (default) or `pass_without` when the response is too weak to decide.
    pub when_too_bright: WhenTooBright,
    /// Evaluation only (`livegate evaluate --light`, never from a file): wait for the flashes
    /// even when another check has already failed, so every session that reaches the target
    /// measures the light check.
    #[serde(skip)]
    pub measure_every_decision: bool,
}

impl Default for LightConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            flashes: 6,
            flash_ms: 350,
            max_lag_ms: 300,
            min_correlation: 0.5,
            min_amplitude: 0.004,
            min_uniformity: 0.15,
            // Skin turned 35° from the camera is lit by the panel's near half at most ~1.4×
            // its far half (cosines of the two halves' directions at 30 cm): a balance of
            // 1 − 0.4/2.4 ≈ 0.83 for real skin, ~0 for a mirror; 0.4 is half the first.
            min_balance: 0.4,
            // Camera noise and codec rounding on a patch's mean colour: well under 0.01 (a
            // level in 200); a video's own coloured light changes skin by several per cent.
            max_residual: 0.02,
            max_additivity: 1.6,
            max_background_share: 0.5,
            when_too_bright: WhenTooBright::Fail,
            measure_every_decision: false,
        }
    }
}

impl LightConfig {
    /// Whether a measured response shows the flashes on skin.
    pub fn seen(&self, m: &LightMeasure) -> bool {
        self.seen_in(&LightValues::of(m))
    }

    /// Whether measured values (a verdict's `checks`) show the flashes on skin.
    pub fn seen_in(&self, v: &LightValues) -> bool {
        v.correlation >= self.min_correlation
            && v.amplitude >= self.min_amplitude
            && v.uniformity >= self.min_uniformity
            && v.balance >= self.min_balance
            && v.residual <= self.max_residual
            && v.additivity.is_none_or(|a| a <= self.max_additivity)
            && v.background_share.is_none_or(|b| b.abs() <= self.max_background_share)
    }

    /// Checks the values.
    ///
    /// # Errors
    /// A message naming the bad key and its allowed range.
    pub fn validate(&self) -> Result<(), String> {
        if !(3..=10).contains(&self.flashes) {
            return Err("light.flashes must be between 3 and 10".into());
        }
        if !(334..=1000).contains(&self.flash_ms) {
            return Err("light.flash_ms must be between 334 (at most 3 flashes per second) and 1000".into());
        }
        if self.max_lag_ms > 1000 {
            return Err("light.max_lag_ms must be at most 1000".into());
        }
        if !(0.0..=1.0).contains(&self.min_correlation) {
            return Err("light.min_correlation must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&self.min_amplitude) {
            return Err("light.min_amplitude must be between 0 and 1".into());
        }
        if !(1.0..=10.0).contains(&self.max_additivity) {
            return Err("light.max_additivity must be between 1 and 10".into());
        }
        if !(0.0..=1.0).contains(&self.min_uniformity) {
            return Err("light.min_uniformity must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&self.max_residual) {
            return Err("light.max_residual must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&self.min_balance) {
            return Err("light.min_balance must be between 0 and 1".into());
        }
        if !(0.1..=10.0).contains(&self.max_background_share) {
            return Err("light.max_background_share must be between 0.1 and 10".into());
        }
        Ok(())
    }
}

/// Whether a draw of palette indices makes a usable sequence: consecutive colours differ, and
/// every channel is both lit and dark at some point (so each channel's response is measured).
pub fn usable(indices: &[usize]) -> bool {
    indices.iter().all(|&i| i < PALETTE.len())
        && indices.windows(2).all(|w| w[0] != w[1])
        && (0..3).all(|k| {
            indices.iter().any(|&i| PALETTE[i][k] > 0) && indices.iter().any(|&i| PALETTE[i][k] == 0)
        })
}

/// Whether two draws make a usable pair of half-screen sequences: each [`usable`], as long as
/// the other, and the halves' chromaticities far from collinear (their correlation at most
/// [`MAX_HALF_CORRELATION`]), so the response to each half can be told apart.
pub fn usable_pair(left: &[usize], right: &[usize]) -> bool {
    usable(left)
        && usable(right)
        && left.len() == right.len()
        && half_correlation(left, right).is_some_and(|r| r.abs() <= MAX_HALF_CORRELATION)
}

/// A usable pair of `n`-flash sequences ([`usable_pair`]) drawn from `index`, a source of
/// palette indices (below [`PALETTE`]`.len()`): the OS CSPRNG in service
/// (`entropy::light_colours`), a seeded generator in `livegate evaluate`.
///
/// # Errors
/// Whatever `index` returns.
pub fn draw_pair<E>(
    n: usize,
    mut index: impl FnMut() -> Result<usize, E>,
) -> Result<(Vec<usize>, Vec<usize>), E> {
    loop {
        let left = (0..n).map(|_| index()).collect::<Result<Vec<_>, _>>()?;
        let right = (0..n).map(|_| index()).collect::<Result<Vec<_>, _>>()?;
        if usable_pair(&left, &right) {
            return Ok((left, right));
        }
    }
}

/// The halves' sequences may be this correlated at most: the two-colour regression then
/// loses at most a factor 1/(1 − 0.5²) ≈ 1.33 of variance to their overlap.
pub const MAX_HALF_CORRELATION: f32 = 0.5;

/// A colour's chromaticity excursion as the regression sees it: channels 0..=1 less their mean.
fn excursion(c: [u8; 3]) -> [f32; 3] {
    let v = c.map(|x| f32::from(x) / 255.0);
    let m = (v[0] + v[1] + v[2]) / 3.0;
    v.map(|x| x - m)
}

/// Correlation of two index sequences' excursions over flashes and channels (each channel
/// centred over the flashes); `None` when one does not vary.
fn half_correlation(left: &[usize], right: &[usize]) -> Option<f32> {
    let ex = |ix: &[usize]| ix.iter().map(|&i| excursion(PALETTE[i % PALETTE.len()])).collect::<Vec<_>>();
    let (u, v) = (ex(left), ex(right));
    let n = u.len().min(v.len()) as f32;
    let (mut uu, mut vv, mut uv) = (0.0, 0.0, 0.0);
    for k in 0..3 {
        let (mu, mv) = (u.iter().map(|x| x[k]).sum::<f32>() / n, v.iter().map(|x| x[k]).sum::<f32>() / n);
        for (a, b) in u.iter().zip(&v) {
            let (a, b) = (a[k] - mu, b[k] - mv);
            (uu, vv, uv) = (uu + a * a, vv + b * b, uv + a * b);
        }
    }
    (uu > 1e-6 && vv > 1e-6).then(|| uv / (uu * vv).sqrt())
}

/// What the screen shows at one moment of the sequence: one colour on its left half, another
/// on its right. A diffuse face in front of the panel is lit by both (their mean); a mirror
/// (a phone's glass) shows each half where it reflects it, and neither where it reflects the
/// camera picture between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub left: [u8; 3],
    pub right: [u8; 3],
}

impl Flash {
    /// Both halves one colour.
    pub fn uniform(c: [u8; 3]) -> Self {
        Self { left: c, right: c }
    }

    /// The light of the whole panel per channel, 0..=1: the mean of the halves.
    pub fn mix(&self) -> [f32; 3] {
        std::array::from_fn(|k| (f32::from(self.left[k]) + f32::from(self.right[k])) / 510.0)
    }
}

/// One challenge's sequence: which colours are on the screen's halves when, on the frames'
/// clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LightPlan {
    /// The left half's colours, one per flash.
    pub left: Vec<[u8; 3]>,
    /// The right half's colours, as many.
    pub right: Vec<[u8; 3]>,
    pub flash_ms: u32,
    /// When the first colours are shown (frame clock, ms).
    pub start_ms: u64,
}

impl LightPlan {
    /// The sequence of palette `left` and `right` indices (see [`usable_pair`]) from
    /// `start_ms`.
    pub fn new((left, right): (&[usize], &[usize]), flash_ms: u32, start_ms: u64) -> Self {
        let colours = |ix: &[usize]| ix.iter().map(|&i| PALETTE[i % PALETTE.len()]).collect::<Vec<_>>();
        Self { left: colours(left), right: colours(right), flash_ms, start_ms }
    }

    /// Flashes.
    pub fn len(&self) -> usize {
        self.left.len().min(self.right.len())
    }

    /// Whether the plan has no flash.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When the last colours end.
    pub fn end_ms(&self) -> u64 {
        self.start_ms + self.len() as u64 * u64::from(self.flash_ms)
    }

    /// What the screen shows at `t_ms`, `None` outside the sequence.
    pub fn colour_at(&self, t_ms: u64) -> Option<Flash> {
        let i = usize::try_from(t_ms.checked_sub(self.start_ms)? / u64::from(self.flash_ms.max(1))).ok()?;
        Some(Flash { left: *self.left.get(i)?, right: *self.right.get(i)? })
    }
}

/// The mean colours of one frame (8-bit channel values as the camera delivered them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightSample {
    pub t_ms: u64,
    /// All skin patches together.
    pub skin: [f32; 3],
    /// Each skin patch ([`SKIN_LANDMARKS`]) on its own.
    pub patches: [[f32; 3]; SKIN_PATCHES],
    /// The eyebrows ([`DARK_LANDMARKS`]).
    pub dark: [f32; 3],
    pub background: [f32; 3],
}

/// Skin patches measured.
pub const SKIN_PATCHES: usize = 4;

/// What the light check measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightMeasure {
    /// Correlation of the skin's chromaticity with the emitted sequence, at `lag_ms`.
    pub correlation: f32,
    /// The skin's response (regression slope) at `lag_ms`.
    pub amplitude: f32,
    /// The background's response at the same lag (a prop held up moves its own "background"
    /// and may reflect too; a live scene's wall is far from the screen); `None` when no
    /// background patch was in the image.
    pub background_amplitude: Option<f32>,
    /// How evenly the skin patches responded: the second-weakest patch's response over the
    /// strongest's (≤ 0 when two did not respond). Diffuse skin is lit all over; a phone's
    /// glass mirrors the terminal's screen in one patch of its picture. One patch may fail
    /// on a live face (a lock of hair, a spectacle frame over the nose bridge, a patch the
    /// turn took past the cheek's edge): the weakest is left out.
    pub uniformity: f32,
    /// The eyebrows' relative response over the skin's: about 1 for diffuse reflection, the
    /// skin's brightness over the eyebrows' for light added by a mirror (`None`: eyebrows too
    /// light to tell).
    pub additivity: Option<f32>,
    /// How alike the skin patches respond to the screen's two halves ([`balance_of`]: 1 for
    /// equal responses at every patch, 0 when each follows one half only). Diffuse skin at
    /// arm's length is lit by the whole panel, so about 1; a mirror shows each spot of its
    /// picture one half, or the camera picture between them.
    pub balance: f32,
    /// How much the skin's chromaticity changed in ways the flashes do not explain (RMS about
    /// the fit, log units): camera noise and codec rounding for a face; a screen that flickers
    /// with its own coloured light (a video of a face under other flashes) changes far more.
    pub residual: f32,
    /// The display-plus-camera latency that fitted best.
    pub lag_ms: u32,
    /// Frames inside the sequence at that lag.
    pub frames: usize,
}

impl LightMeasure {
    /// The background's response over the skin's: a wall metres behind the visitor answers a
    /// few per cent of the skin's response (inverse square: 45 cm against 2 m, 5 %), a phone's
    /// glass scatters the flashes over its whole picture, the filmed background as much as the
    /// filmed face (1 or more: the light is added, so the darker background answers more).
    /// Reported in the verdict, not decided on: measured on the synthetic doors, a live
    /// wall's value scatters up to ~0.7 (and beyond) about its few per cent, the noise of a
    /// small patch of flat wall against a weak response (docs/liveness.md). `None` without a
    /// background patch, or when the skin did not respond.
    pub fn background_share(&self) -> Option<f32> {
        self.background_amplitude.filter(|_| self.amplitude > 0.0).map(|b| b / self.amplitude)
    }
}

/// The values of a [`LightMeasure`] the thresholds apply to (what a verdict's `checks` keep).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightValues {
    pub correlation: f32,
    pub amplitude: f32,
    pub uniformity: f32,
    pub balance: f32,
    pub residual: f32,
    pub additivity: Option<f32>,
    /// `None` where no wall beside the head was in the image.
    pub background_share: Option<f32>,
}

impl LightValues {
    /// The thresholded values of `m`.
    pub fn of(m: &LightMeasure) -> Self {
        let LightMeasure { correlation, amplitude, uniformity, balance, residual, additivity, .. } = *m;
        let background_share = m.background_share();
        Self { correlation, amplitude, uniformity, balance, residual, additivity, background_share }
    }
}

/// Lag candidates are this far apart.
const LAG_STEP_MS: u32 = 20;

/// Frames within this many ms of a colour change are left out (the exposure may straddle it).
const EDGE_MS: u64 = 40;

/// The skin's response to `plan` in `samples`; `None` with fewer than two frames per colour.
pub fn measure(plan: &LightPlan, samples: &[LightSample], max_lag_ms: u32) -> Option<LightMeasure> {
    let mut best: Option<LightMeasure> = None;
    for lag in (0..=max_lag_ms).step_by(LAG_STEP_MS as usize) {
        let Some(m) = measure_at(plan, samples, lag) else { continue };
        if best.is_none_or(|b| m.correlation > b.correlation) {
            best = Some(m);
        }
    }
    best
}

fn chroma(c: [f32; 3]) -> [f32; 3] {
    let l = c.map(|v| v.max(0.5).ln());
    let m = (l[0] + l[1] + l[2]) / 3.0;
    l.map(|v| v - m)
}

/// One frame inside the sequence: the emitted colour and what the camera saw.
struct Row {
    /// The emitted colour's chromaticity (both halves' mean), its channels 0..=1, and each
    /// half's excursion ([`excursion`]).
    emitted: [f32; 3],
    lit: [f32; 3],
    halves: [[f32; 3]; 2],
    /// The skin's chromaticity (a change of exposure drops out; one of white balance does
    /// not: `camera.v4l2.lock_controls`), all patches, each patch.
    skin: [f32; 3],
    patches: [[f32; 3]; SKIN_PATCHES],
    background: [f32; 3],
    /// Whether the frame had a background patch in the image.
    has_background: bool,
    /// Linear-light skin and eyebrow colours, for the additivity test.
    skin_linear: [f32; 3],
    dark_linear: [f32; 3],
}

fn linear(c: [f32; 3]) -> [f32; 3] {
    c.map(|v| (v.max(0.0) / 255.0).powf(2.2))
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Per-channel mean over the rows.
fn mean_of(rows: &[Row], f: impl Fn(&Row) -> [f32; 3]) -> [f32; 3] {
    let n = rows.len().max(1) as f32;
    rows.iter().fold([0.0; 3], |a, r| {
        let v = f(r);
        [a[0] + v[0] / n, a[1] + v[1] / n, a[2] + v[2] / n]
    })
}

/// `Σ (e − ē)(x − x̄)` over rows and channels (`x` scaled per channel by `scale`).
fn co(rows: &[Row], e: impl Fn(&Row) -> [f32; 3], x: impl Fn(&Row) -> [f32; 3], scale: [f32; 3]) -> f32 {
    let (me, mx) = (mean_of(rows, &e), mean_of(rows, &x));
    let mut sum = 0.0;
    for r in rows {
        let (ev, xv) = (e(r), x(r));
        for k in 0..3 {
            sum += (ev[k] - me[k]) * (xv[k] - mx[k]) * scale[k];
        }
    }
    sum
}

fn measure_at(plan: &LightPlan, samples: &[LightSample], lag: u32) -> Option<LightMeasure> {
    let flash = u64::from(plan.flash_ms);
    let mut rows: Vec<Row> = Vec::new();
    for s in samples {
        let Some(t) = s.t_ms.checked_sub(u64::from(lag)) else { continue };
        let Some(shown) = plan.colour_at(t) else { continue };
        let colour = shown.mix();
        let into = (t - plan.start_ms) % flash;
        if into < EDGE_MS || flash - into < EDGE_MS {
            continue;
        }
        // Relative to the background, a white-balance step would drop out, but the patches
        // beside the face box catch hair and ears lit by the flashes too (measured: it
        // halved live correlations), so the skin's own chromaticity is used.
        let reference = [0.0; 3];
        rows.push(Row {
            emitted: chroma(colour.map(|v| v + 0.5)),
            lit: colour,
            halves: [excursion(shown.left), excursion(shown.right)],
            skin: sub(chroma(s.skin), reference),
            patches: s.patches.map(|p| sub(chroma(p), reference)),
            background: chroma(s.background),
            has_background: s.background != [0.0; 3],
            skin_linear: linear(s.skin),
            dark_linear: linear(s.dark),
        });
    }
    if rows.len() < 2 * plan.len() {
        return None;
    }
    let e = |r: &Row| r.emitted;
    let one = [1.0; 3];
    let ee = co(&rows, e, e, one);
    if ee <= f32::EPSILON {
        return None;
    }
    let es = co(&rows, e, |r| r.skin, one);
    let ss = co(&rows, |r| r.skin, |r| r.skin, one);
    let correlation = if ss > 0.0 { es / (ee * ss).sqrt() } else { 0.0 };
    // What the flashes leave unexplained: the RMS of the skin's chromaticity about its fit.
    let residual = ((ss - es * es / ee).max(0.0) / (3 * rows.len()) as f32).sqrt();
    let mut response: Vec<f32> =
        (0..SKIN_PATCHES).map(|i| co(&rows, e, |r| r.patches[i], one) / ee).collect();
    response.sort_by(f32::total_cmp);
    let (second_weakest, strongest) = (response[1], response[SKIN_PATCHES - 1]);
    let uniformity = if strongest > 0.0 { second_weakest / strongest } else { 0.0 };
    // Diffuse light scales each pixel's own colour; a mirrored screen adds the same light to
    // dark and bright pixels. Relative responses of eyebrows and skin: equal for the first,
    // the eyebrows' far larger for the second.
    let (skin_base, dark_base) = (mean_of(&rows, |r| r.skin_linear), mean_of(&rows, |r| r.dark_linear));
    let contrast = dark_base.iter().sum::<f32>() / skin_base.iter().sum::<f32>().max(1e-6);
    let relative = |base: [f32; 3], x: &dyn Fn(&Row) -> [f32; 3]| {
        co(&rows, |r| r.lit, x, base.map(|b| 1.0 / b.max(1e-4)))
    };
    let skin_rel = relative(skin_base, &|r| r.skin_linear);
    let dark_rel = relative(dark_base, &|r| r.dark_linear);
    let additivity = (contrast < MAX_CONTRAST && skin_rel > 0.0).then(|| dark_rel / skin_rel);
    let halves: Vec<[f32; 2]> = (0..SKIN_PATCHES).map(|i| halves_response(&rows, |r| r.patches[i])).collect();
    let balance = balance_of(&halves);
    Some(LightMeasure {
        correlation,
        amplitude: es / ee,
        background_amplitude: rows
            .iter()
            .all(|r| r.has_background)
            .then(|| co(&rows, e, |r| r.background, one) / ee),
        uniformity,
        additivity,
        balance,
        residual,
        lag_ms: lag,
        frames: rows.len(),
    })
}

/// The responses of `x` to the screen's left and right halves: a least-squares fit of both at
/// once over the rows (each channel centred), `[0, 0]` when the halves cannot be told apart.
fn halves_response(rows: &[Row], x: impl Fn(&Row) -> [f32; 3]) -> [f32; 2] {
    let (u, v, one) = (|r: &Row| r.halves[0], |r: &Row| r.halves[1], [1.0; 3]);
    let (uu, vv, uv) = (co(rows, u, u, one), co(rows, v, v, one), co(rows, u, v, one));
    let (ux, vx) = (co(rows, u, &x, one), co(rows, v, &x, one));
    let det = uu * vv - uv * uv;
    if det <= 1e-6 * uu * vv || det <= 0.0 {
        return [0.0; 2];
    }
    [(vv * ux - uv * vx) / det, (uu * vx - uv * ux) / det]
}

/// How alike the patches' responses to the two halves are, weighted by their strength:
/// `1 − Σ|a − b| / Σ(|a| + |b|)`. Diffuse skin answers both halves alike at every patch (about
/// 1); a mirror answers one half at each spot (about 0, below with opposite signs). A patch
/// that barely responds weighs little, so noise in a dim patch does not decide. 0 when no
/// patch responded.
fn balance_of(halves: &[[f32; 2]]) -> f32 {
    let (diff, total) =
        halves.iter().fold((0.0f32, 0.0f32), |(d, t), [a, b]| (d + (a - b).abs(), t + a.abs() + b.abs()));
    if total > 0.0 { 1.0 - diff / total } else { 0.0 }
}

/// The additivity test needs eyebrows at most this bright (linear light) against the skin.
const MAX_CONTRAST: f32 = 0.6;

/// Mesh landmarks at the centre of the skin patches: forehead, left and right cheek, nose
/// bridge (clear of eyes, brows, lips and hair in a frontal or turned view).
pub const SKIN_LANDMARKS: [usize; SKIN_PATCHES] = [151, 205, 425, 6];

/// Mesh landmarks in the middle of each eyebrow: the face's darkest diffuse patches.
pub const DARK_LANDMARKS: [usize; 2] = [105, 334];

/// One frame's colours ([`LightSample`] at `t_ms`): the skin patches around `skin` points
/// (squares of side `patch` pixels), the eyebrows around `dark` points (half that side), and
/// two background patches beside the box `wall` = `[x, y, w, h]` (half a box width out on
/// either side, as tall as the box's middle third; zero when both are off the image): the
/// face's box when the sequence began, so that every frame reads the same wall pixels. `None`
/// when a skin or eyebrow patch falls outside the image.
pub fn sample_colours(
    image: &RgbImage,
    (skin, dark): (&[[f32; 2]; SKIN_PATCHES], &[[f32; 2]; 2]),
    patch: f32,
    wall: [f32; 4],
    t_ms: u64,
) -> Option<LightSample> {
    let mean = |(s, n): ([f64; 3], usize)| s.map(|v| (v / n.max(1) as f64) as f32);
    let square = |p: [f32; 2], half: f32| [p[0] - half, p[1] - half, p[0] + half, p[1] + half];
    let half = (patch / 2.0).max(1.0);
    let mut skin_sum = ([0.0f64; 3], 0usize);
    let mut patches = [[0.0f32; 3]; SKIN_PATCHES];
    for (p, out) in skin.iter().zip(&mut patches) {
        let mut one = ([0.0f64; 3], 0usize);
        add_box(image, square(*p, half), &mut one)?;
        *out = mean(one);
        for k in 0..3 {
            skin_sum.0[k] += one.0[k];
        }
        skin_sum.1 += one.1;
    }
    let mut dark_sum = ([0.0f64; 3], 0usize);
    for p in dark {
        add_box(image, square(*p, (half / 2.0).max(1.0)), &mut dark_sum)?;
    }
    let [x, y, w, h] = wall;
    let (top, bottom) = (y + h / 3.0, y + 2.0 * h / 3.0);
    let side = w / 4.0;
    let mut bg_sum = ([0.0f64; 3], 0usize);
    let left = [x - w / 2.0 - side, top, x - w / 2.0, bottom];
    let right = [x + w * 1.5, top, x + w * 1.5 + side, bottom];
    for b in [left, right] {
        // A background patch off the image is left out; both off leaves no background.
        let _ = add_box(image, b, &mut bg_sum);
    }
    Some(LightSample {
        t_ms,
        skin: mean(skin_sum),
        patches,
        dark: mean(dark_sum),
        background: if bg_sum.1 == 0 { [0.0; 3] } else { mean(bg_sum) },
    })
}

fn add_box(image: &RgbImage, [x0, y0, x1, y1]: [f32; 4], sum: &mut ([f64; 3], usize)) -> Option<()> {
    let (w, h) = (image.width() as f32, image.height() as f32);
    if x0 < 0.0 || y0 < 0.0 || x1 > w || y1 > h || x1 - x0 < 1.0 || y1 - y0 < 1.0 {
        return None;
    }
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            for (s, &v) in sum.0.iter_mut().zip(&image.get_pixel(x, y).0) {
                *s += f64::from(v);
            }
            sum.1 += 1;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEFT: [usize; 5] = [0, 3, 1, 4, 2];
    const RIGHT: [usize; 5] = [5, 2, 0, 1, 3];

    fn plan() -> LightPlan {
        LightPlan::new((&LEFT, &RIGHT), 400, 1_000)
    }

    /// Skin lit by `ambient` plus the plan's colour scaled by `gain` (linear light, then a
    /// 1/2.2 gamma like a camera's), seen `lag` ms late, with per-frame noise `noise`.
    fn samples(plan: &LightPlan, gain: f32, lag: u64, noise: f32, fps: u64) -> Vec<LightSample> {
        let albedo = [0.62f32, 0.45, 0.36];
        let mut seed = 12345u32;
        let mut rnd = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        (0..(3_500 * fps / 1000))
            .map(|i| {
                let t = i * 1000 / fps;
                let lit = t.checked_sub(lag).and_then(|t| plan.colour_at(t)).map_or([0.0; 3], |f| f.mix());
                let skin = std::array::from_fn(|k| {
                    let linear = albedo[k] * (0.5 + gain * lit[k]);
                    255.0 * linear.powf(1.0 / 2.2) + noise * rnd()
                });
                // Eyebrows: a diffuse reflector of a third of the skin's albedo, lit alike.
                let dark = skin.map(|v| v * (1.0f32 / 3.0).powf(1.0 / 2.2));
                LightSample {
                    t_ms: t,
                    skin,
                    patches: [skin; SKIN_PATCHES],
                    dark,
                    background: [90.0 + noise * rnd(), 92.0, 95.0],
                }
            })
            .collect()
    }

    /// A camera-encoded colour (1/2.2 gamma) with `light` added in linear light: what glass in
    /// front of a picture does to it.
    fn plus_linear(colour: [f32; 3], light: [f32; 3]) -> [f32; 3] {
        std::array::from_fn(|k| 255.0 * ((colour[k] / 255.0).powf(2.2) + light[k]).powf(1.0 / 2.2))
    }

    #[test]
    fn draws_need_every_channel_lit_and_dark_and_no_repeats() {
        assert!(usable(&[0, 3, 1, 4, 2]));
        assert!(!usable(&[0, 0, 1, 2]), "a repeated colour is no flash");
        assert!(!usable(&[0, 4, 0, 4]), "green is never lit");
        assert!(!usable(&[0, 7]));
        assert!(usable_pair(&LEFT, &RIGHT));
        assert!(!usable_pair(&LEFT, &LEFT), "the same sequence on both halves");
        assert!(!usable_pair(&LEFT, &RIGHT[..4]));
    }

    #[test]
    fn the_plan_says_which_colour_is_on_when() {
        let p = plan();
        let flash = |l: usize, r: usize| Some(Flash { left: PALETTE[l], right: PALETTE[r] });
        assert_eq!(
            (p.colour_at(999), p.colour_at(1_000), p.colour_at(1_399)),
            (None, flash(0, 5), flash(0, 5))
        );
        assert_eq!((p.colour_at(1_400), p.end_ms(), p.colour_at(3_000)), (flash(3, 2), 3_000, None));
        assert_eq!(Flash { left: [255, 0, 0], right: [255, 255, 0] }.mix(), [1.0, 0.5, 0.0]);
    }

    #[test]
    fn skin_that_follows_the_flashes_correlates_at_the_right_lag() {
        let p = plan();
        for (fps, lag) in [(30, 0), (30, 130), (15, 90)] {
            let m = measure(&p, &samples(&p, 0.05, lag, 0.5, fps), 300).unwrap();
            assert!(m.correlation > 0.9, "{fps} fps, lag {lag}: {m:?}");
            // The lag is found to about a frame (frames near a colour change are left out).
            let frame = (1000 / fps as i64).max(40);
            assert!((i64::from(m.lag_ms) - lag as i64).abs() <= frame, "{fps} fps, lag {lag}: {m:?}");
            assert!(m.amplitude > 0.01 && m.background_amplitude.is_some_and(|b| b.abs() < 0.005), "{m:?}");
            let a = m.additivity.expect("eyebrows dark enough");
            assert!((0.8..1.25).contains(&a), "diffuse light scales dark and bright alike: {m:?}");
            assert!(m.balance > 0.8, "the whole panel lights the skin: {m:?}");
            assert!(LightConfig::default().seen(&m), "{m:?}");
        }
    }

    #[test]
    fn an_unlit_or_unsynchronised_face_does_not_correlate() {
        let p = plan();
        let still = measure(&p, &samples(&p, 0.0, 0, 0.5, 30), 300).unwrap();
        assert!(still.correlation < 0.5 && still.amplitude.abs() < 0.002, "{still:?}");
        // A video of the face under other coloured light: strong changes, another sequence.
        let other = LightPlan::new((&[2, 5, 0, 3, 1], &[2, 5, 0, 3, 1]), 400, 1_150);
        let m = measure(&p, &samples(&other, 0.3, 0, 0.5, 30), 300).unwrap();
        assert!(m.correlation < 0.5, "{m:?}");
        assert!(
            m.residual > 2.0 * LightConfig::default().max_residual,
            "its own changes are unexplained: {m:?}"
        );
        let lit = measure(&p, &samples(&p, 0.05, 0, 0.5, 30), 300).unwrap();
        assert!(lit.residual < LightConfig::default().max_residual / 2.0, "{lit:?}");
    }

    #[test]
    fn light_added_by_a_mirror_is_told_from_light_scaled_by_skin() {
        // The flashes mirrored by glass: the same light added to skin and eyebrows.
        let p = plan();
        let s: Vec<LightSample> = samples(&p, 0.0, 0, 0.0, 30)
            .into_iter()
            .map(|mut x| {
                let lit = p.colour_at(x.t_ms).map_or([0.0; 3], |f| f.mix()).map(|c| 0.03 * c);
                x.skin = plus_linear(x.skin, lit);
                x.dark = plus_linear(x.dark, lit);
                x.patches = [x.skin; SKIN_PATCHES];
                x
            })
            .collect();
        let m = measure(&p, &s, 300).unwrap();
        assert!(m.correlation > 0.9, "it follows the flashes: {m:?}");
        assert!(m.additivity.is_some_and(|a| a > 2.0), "but adds, not scales: {m:?}");
        assert!(!LightConfig::default().seen(&m));
    }

    #[test]
    fn glass_scattering_the_flashes_over_a_phones_picture_lights_the_filmed_background_too() {
        // A video on a phone held close to the terminal: the glass scatters 1 % of the flashes
        // evenly over the picture, face and filmed wall alike. The eyebrows are too light to
        // tell adding from scaling (no additivity), and every patch answers both halves.
        let p = plan();
        let glass: Vec<LightSample> = samples(&p, 0.0, 0, 0.3, 30)
            .into_iter()
            .map(|mut x| {
                let lit = p.colour_at(x.t_ms).map_or([0.0; 3], |f| f.mix()).map(|c| 0.015 * c);
                x.skin = plus_linear(x.skin, lit);
                x.patches = [x.skin; SKIN_PATCHES];
                x.dark = x.skin;
                x.background = plus_linear(x.background, lit);
                x
            })
            .collect();
        let m = measure(&p, &glass, 300).unwrap();
        assert!(m.correlation > 0.9 && m.balance > 0.9, "it follows both halves evenly: {m:?}");
        let share = m.background_share().unwrap();
        assert!(share > 1.0, "the filmed wall answers as much as the face, more being darker: {m:?}");
        let config = LightConfig::default();
        let rest = LightConfig { max_background_share: f32::INFINITY, ..config.clone() };
        assert!(rest.seen(&m) && !config.seen(&m), "only the wall gives it away: {m:?}");
        // A live face: its wall, metres behind, barely answers.
        let live = measure(&p, &samples(&p, 0.08, 0, 0.3, 30), 300).unwrap();
        assert!(live.background_share().is_some_and(|b| b.abs() < 0.1), "{live:?}");
        assert!(config.seen(&live), "{live:?}");
        // No background patch in the image: no evidence either way.
        let edge: Vec<LightSample> = samples(&p, 0.08, 0, 0.3, 30)
            .into_iter()
            .map(|x| LightSample { background: [0.0; 3], ..x })
            .collect();
        let edge = measure(&p, &edge, 300).unwrap();
        assert_eq!(edge.background_share(), None);
        assert!(config.seen(&edge), "{edge:?}");
    }

    #[test]
    fn one_spoiled_patch_leaves_the_skin_even_and_one_mirrored_spot_does_not() {
        let p = plan();
        let patched = |f: &dyn Fn(&mut LightSample)| {
            let s: Vec<LightSample> = samples(&p, 0.05, 0, 0.3, 30)
                .into_iter()
                .map(|mut x| {
                    f(&mut x);
                    x
                })
                .collect();
            measure(&p, &s, 300).unwrap()
        };
        // A spectacle frame over the nose bridge: that patch keeps one colour.
        let glasses = patched(&|x| x.patches[3] = [120.0, 110.0, 100.0]);
        assert!(glasses.uniformity > 0.9, "{glasses:?}");
        // A phone's glass mirroring the screen into one patch: the others answer only the
        // glass's 1 % (here nothing), so the second weakest is ~0.
        let spot = patched(&|x| {
            let lit = p.colour_at(x.t_ms).map_or([0.0; 3], |f| f.mix()).map(|c| 0.04 * c);
            x.patches = [[150.0, 110.0, 95.0]; SKIN_PATCHES];
            x.patches[1] = plus_linear(x.patches[1], lit);
        });
        assert!(spot.uniformity.abs() < 0.1, "{spot:?}");
        assert!(!LightConfig::default().seen(&spot));
    }

    #[test]
    fn a_mirror_showing_one_half_of_the_screen_at_each_spot_is_out_of_balance() {
        // Glass mirrors the left half at two patches and the right half at the other two: each
        // patch follows one half's colours only, strongly, and evenly over the patches.
        let p = plan();
        let s: Vec<LightSample> = samples(&p, 0.0, 0, 0.3, 30)
            .into_iter()
            .map(|mut x| {
                let f = p.colour_at(x.t_ms);
                let half = |right: bool| {
                    let c = f.map_or([0; 3], |f| if right { f.right } else { f.left });
                    plus_linear(x.skin, c.map(|c| 0.04 * f32::from(c) / 255.0))
                };
                x.patches = [half(false), half(true), half(false), half(true)];
                x.skin = std::array::from_fn(|k| x.patches.iter().map(|q| q[k]).sum::<f32>() / 4.0);
                x
            })
            .collect();
        let m = measure(&p, &s, 300).unwrap();
        assert!(m.uniformity > 0.5, "every patch responds: {m:?}");
        assert!(m.balance < 0.1, "each to one half only: {m:?}");
        assert!(!LightConfig::default().seen(&m));
    }

    #[test]
    fn a_change_of_exposure_drops_out_of_the_chromaticity() {
        let p = plan();
        let mut s = samples(&p, 0.05, 60, 0.5, 30);
        for x in s.iter_mut().skip(40) {
            x.skin = x.skin.map(|v| v * 1.4);
        }
        let m = measure(&p, &s, 300).unwrap();
        assert!(m.correlation > 0.9, "{m:?}");
    }

    #[test]
    fn too_few_frames_measure_nothing() {
        let p = plan();
        let s: Vec<LightSample> = samples(&p, 0.05, 0, 0.5, 30).into_iter().take(40).collect();
        assert_eq!(measure(&p, &s, 0), None);
    }

    #[test]
    fn patches_average_the_skin_and_the_background_beside_the_face() {
        let img = RgbImage::from_fn(200, 100, |x, _| {
            if (60..140).contains(&x) { image::Rgb([200, 150, 120]) } else { image::Rgb([50, 60, 70]) }
        });
        let face = [70.0, 20.0, 60.0, 60.0];
        let at = [[100.0, 50.0], [80.0, 40.0], [120.0, 40.0], [100.0, 30.0]];
        let brows = [[90.0, 30.0], [110.0, 30.0]];
        let c = sample_colours(&img, (&at, &brows), 10.0, face, 7).unwrap();
        assert_eq!(
            (c.t_ms, c.skin, c.patches[1], c.dark),
            (7, [200.0, 150.0, 120.0], [200.0, 150.0, 120.0], [200.0, 150.0, 120.0])
        );
        assert_eq!(c.background, [50.0, 60.0, 70.0]);
        let off = [[2.0, 50.0], [80.0, 40.0], [120.0, 40.0], [100.0, 30.0]];
        assert!(sample_colours(&img, (&off, &brows), 10.0, face, 7).is_none());
    }

    #[test]
    fn config_values_are_checked() {
        assert!(LightConfig::default().validate().is_ok());
        let e = LightConfig { flash_ms: 200, ..LightConfig::default() }.validate().unwrap_err();
        assert!(e.contains("light.flash_ms") && e.contains("3 flashes per second"), "{e}");
        let e = LightConfig { max_background_share: 0.0, ..LightConfig::default() }.validate().unwrap_err();
        assert!(e.contains("light.max_background_share"), "{e}");
    }
}
