//! The terminal's screen (issue 4). A visitor stands at a door, not at a desk: the screen
//! tells them at a glance what to do, shows where their nose is and where it must go, and
//! says plainly whether they may enter and, if not, what to try.
//!
//! The UI is one pure function, [`draw()`], from a plain-data [`View`] onto any
//! embedded-graphics `DrawTarget` (STYLE.md habit 3: no display trait of our own). Sizes and
//! fonts follow the target's bounding box. The concrete targets:
//!
//! | target | module | for |
//! |---|---|---|
//! | [`Canvas`] (RGB888 in memory, saves PNG) | [`canvas`] | development, demo, golden tests; the back buffer of the others |
//! | [`Framebuffer`] (`/dev/fb0`, 16/24/32-bit) | [`fbdev`] | HDMI and DSI panels |
//! | [`SpiPanel`] (ST7789, ILI9341 via mipidsi) | [`spi`] | SPI TFTs on the Pi header (rppal) |
//! | `Window` (SDL, feature `simulator`) | `window` | a desktop window |
//!
//! Drawing runs on its own thread ([`thread`]) behind a newest-wins slot, so a slow panel
//! drops stale frames instead of slowing vision.

pub mod canvas;
pub mod countdown;
pub mod draw;
pub mod fbdev;
mod fbioctl;
mod glyphs;
pub mod mapping;
mod preview;
pub mod sink;
pub mod spi;
mod spi_bus;
pub mod spi_rppal;
pub mod style;
pub mod text;
pub mod thread;
pub mod view;
#[cfg(feature = "simulator")]
pub mod window;

use std::path::PathBuf;

pub use canvas::Canvas;
pub use countdown::{Countdown, Remaining};
pub use draw::draw;
pub use fbdev::Framebuffer;
pub use mapping::PreviewMap;
pub use sink::{PngDir, Screen};
pub use spi::{SpiPanel, SpiPanelOptions};
pub use thread::{Flush, FrameStats, ScreenThread, ViewSender};
pub use view::{Challenge, Fault, Instruction, Scene, Status, View};

/// Errors of the screen targets.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("cannot write PNG {path}: {reason}")]
    Png { path: PathBuf, reason: String },
    #[error("framebuffer {path}: {reason}")]
    Framebuffer { path: PathBuf, reason: String },
    #[error("SPI panel: {0}")]
    Spi(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("screen window: {0}")]
    Window(String),
}

/// Every device target must move to the `screen` thread.
const _: () = {
    const fn sendable<T: Send>() {}
    sendable::<Canvas>();
    sendable::<Framebuffer>();
    sendable::<spi_rppal::RppalPanel>();
};
