//! The screen as the service sees it. The challenge worker sends a challenge view for every
//! frame it analyses; the service task sends everything between challenges: the invitation,
//! the result (held for `screen.result_ms`), the lockout countdown and camera faults. Both
//! go into the `screen` thread's newest-wins slot, so neither ever waits for the panel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::camera::Frame;
use crate::liveness::light::LightPlan;
use crate::liveness::session::{LivenessConfig, Reason};
use crate::mqtt::topics::Activity;
use crate::pipeline::ChallengeRunner;
use crate::screen::{Challenge, Countdown, Fault, Language, Scene, Status, View, ViewSender};
use crate::verdict::VerdictResult;

/// A handle on the screen (or on nothing, without one); cheap to clone into the worker.
#[derive(Clone)]
pub struct Ui {
    views: Option<Arc<ViewSender>>,
    broker: Arc<AtomicBool>,
    language: Language,
}

impl Ui {
    /// Views go to `views` (none: drawn nowhere), worded in `language`; `broker` is the MQTT
    /// link's "connected".
    pub fn new(views: Option<ViewSender>, broker: Arc<AtomicBool>, language: Language) -> Self {
        Self { views: views.map(Arc::new), broker, language }
    }

    /// A view of `scene` made now: the status glyphs and the screen's language.
    pub fn view(&self, scene: Scene, camera_ok: bool) -> View {
        View { scene, status: self.status(camera_ok), language: self.language }
    }

    /// Whether anything draws the views (the worker skips building them otherwise).
    pub fn is_shown(&self) -> bool {
        self.views.is_some()
    }

    /// The status glyphs for a view made now.
    pub fn status(&self, camera_ok: bool) -> Status {
        Status { camera_ok, broker_connected: self.broker.load(Ordering::Relaxed) }
    }

    /// Offers a view to the screen.
    pub fn show(&self, view: View) {
        if let Some(v) = &self.views {
            v.send(view);
        }
    }
}

/// The challenge screen of a running challenge: what the worker shows for each analysed frame
/// (and what `bench` draws, to time it).
#[derive(Debug, Default)]
pub struct ChallengeScreen {
    countdown: Countdown,
    /// The light challenge's sequence, once the Nose state has drawn it.
    light: Option<LightPlan>,
}

impl ChallengeScreen {
    /// The scene for `frame`, just analysed by `runner`: the frame, the challenge's area and
    /// target, the nose, the visitor's prompt and the time left in the phase.
    pub fn scene(&mut self, frame: Frame, runner: &ChallengeRunner, liveness: &LivenessConfig) -> Scene {
        let (phase, prompt) = runner.shown();
        let left = self.countdown.update(phase, frame.t_ms, liveness);
        let flash = self.light.as_ref().and_then(|p| p.colour_at(frame.t_ms));
        Scene::Challenge(Challenge {
            frame: Some(Arc::new(frame.image)),
            geometry: *runner.geometry(),
            nose: runner.nose(),
            phase,
            remaining_fraction: left.fraction,
            remaining_ms: left.ms,
            prompt,
            flash,
        })
    }

    /// Flashes `plan` from now on (frame clock).
    pub fn light(&mut self, plan: &LightPlan) {
        self.light = Some(plan.clone());
    }
}

/// The screen a verdict leaves up.
pub fn result_scene(result: VerdictResult, reason: Option<Reason>) -> Scene {
    let reason = reason.unwrap_or(Reason::Incomplete);
    match result {
        VerdictResult::Pass => Scene::Pass,
        VerdictResult::Fail => Scene::Fail { reason },
        VerdictResult::Timeout => Scene::Timeout { reason },
        VerdictResult::Error => Scene::Error(Fault::CameraMissing),
        VerdictResult::Aborted => Scene::Idle,
    }
}

/// What the service task shows between challenges, and when it must redraw.
pub struct Between {
    ui: Ui,
    result_for: Duration,
    /// The result on screen and until when it stays.
    result: Option<(Scene, Instant)>,
    last: Option<View>,
}

impl Between {
    pub fn new(ui: Ui, result_for: Duration) -> Self {
        Self { ui, result_for, result: None, last: None }
    }

    /// A challenge ended: hold its result on screen (shown by the next [`Between::refresh`]).
    pub fn hold(&mut self, scene: Scene) {
        self.result = Some((scene, Instant::now() + self.result_for));
    }

    /// A challenge started: the worker draws from now on.
    pub fn challenge_started(&mut self) {
        self.result = None;
        self.last = None;
    }

    /// Called every tick between challenges (and after changes): shows the held result, or
    /// the resting screen once it expired; redraws only when something visible changed.
    pub fn refresh(&mut self, camera_ok: bool, resting: Activity, locked_ms: Option<u64>) {
        let held = self.result.as_ref().filter(|(_, until)| Instant::now() < *until).map(|(s, _)| s.clone());
        let resting = match (resting, locked_ms) {
            (Activity::Locked, Some(ms)) => Scene::Lockout { remaining_ms: ms },
            (Activity::Error, _) => Scene::Error(Fault::CameraMissing),
            _ => Scene::Idle,
        };
        let scene = held.unwrap_or(resting);
        let view = self.ui.view(scene, camera_ok);
        if self.last.as_ref() != Some(&view) {
            self.ui.show(view.clone());
            self.last = Some(view);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::{ScreenThread, thread::FrameStats};

    #[test]
    fn a_result_is_held_then_the_resting_screen_returns_and_nothing_is_redrawn_needlessly() {
        let dir = std::env::temp_dir().join(format!("livegate-ui-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sink = crate::screen::PngDir::create(&dir, 240, 240).unwrap();
        let drawn = Arc::new(std::sync::Mutex::new(Vec::<Scene>::new()));
        let log = drawn.clone();
        let render = move |view: &View, _: &mut crate::screen::PngDir| {
            log.lock().unwrap().push(view.scene.clone());
            Ok(())
        };
        let (tx, thread) = ScreenThread::spawn_with(sink, 1000.0, render).unwrap();
        let ui = Ui::new(Some(tx), Arc::new(AtomicBool::new(true)), Language::En);
        let mut between = Between::new(ui, Duration::from_millis(150));
        let settle = || std::thread::sleep(Duration::from_millis(40));
        between.refresh(true, Activity::Idle, None);
        settle();
        between.refresh(true, Activity::Idle, None);
        settle();
        between.hold(Scene::Pass);
        between.refresh(true, Activity::Idle, None);
        settle();
        between.refresh(true, Activity::Idle, None);
        std::thread::sleep(Duration::from_millis(200));
        between.refresh(true, Activity::Idle, None);
        settle();
        between.refresh(false, Activity::Error, None);
        settle();
        between.refresh(true, Activity::Locked, Some(9_000));
        settle();
        drop(between);
        let _: FrameStats = thread.join().unwrap();
        let drawn = drawn.lock().unwrap().clone();
        assert_eq!(
            drawn,
            vec![
                Scene::Idle,
                Scene::Pass,
                Scene::Idle,
                Scene::Error(Fault::CameraMissing),
                Scene::Lockout { remaining_ms: 9_000 }
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn verdicts_map_to_the_screens_a_visitor_understands() {
        assert_eq!(result_scene(VerdictResult::Pass, None), Scene::Pass);
        assert_eq!(
            result_scene(VerdictResult::Fail, Some(Reason::FlatMotion)),
            Scene::Fail { reason: Reason::FlatMotion }
        );
        assert_eq!(
            result_scene(VerdictResult::Error, Some(Reason::CameraError)),
            Scene::Error(Fault::CameraMissing)
        );
    }
}
