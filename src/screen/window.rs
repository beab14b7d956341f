//! A desktop window for development and `livegate demo` (cargo feature `simulator`, needs
//! SDL2: `apt-get install libsdl2-dev`). SDL windows must stay on the thread that made them,
//! so the window is created lazily on the first flush, on the `screen` thread, and the target
//! itself holds only pixels (and can be moved to that thread).

use std::cell::RefCell;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics_simulator::{OutputSettingsBuilder, SimulatorDisplay, SimulatorEvent, Window};

use super::{Flush, ScreenError};

thread_local! {
    static WINDOW: RefCell<Option<Window>> = const { RefCell::new(None) };
}

/// A window showing a `width × height` screen, magnified by `scale`.
pub struct WindowTarget {
    display: SimulatorDisplay<Rgb888>,
    title: String,
    scale: u32,
}

impl WindowTarget {
    pub fn new(width: u32, height: u32, scale: u32, title: &str) -> Self {
        Self {
            display: SimulatorDisplay::new(Size::new(width, height)),
            title: title.into(),
            scale: scale.max(1),
        }
    }
}

drawn_into!(WindowTarget => display);

impl Flush for WindowTarget {
    /// Show the frame; closing the window is reported as an error so the caller can stop.
    fn flush(&mut self) -> Result<(), ScreenError> {
        WINDOW.with(|cell| {
            let mut slot = cell.borrow_mut();
            let window = slot.get_or_insert_with(|| {
                let settings = OutputSettingsBuilder::new().scale(self.scale).build();
                Window::new(&self.title, &settings)
            });
            window.update(&self.display);
            if window.events().any(|e| matches!(e, SimulatorEvent::Quit)) {
                return Err(ScreenError::Window("the window was closed".into()));
            }
            Ok(())
        })
    }
}
