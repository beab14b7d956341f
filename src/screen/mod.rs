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

/// `OriginDimensions` + `DrawTarget` (RGB888, infallible) for a device that is drawn into a
/// back buffer field and shows it on [`Flush`]: every call goes to the field.
macro_rules! drawn_into {
    (impl<$($g:ident: $b:path),+> $ty:ty => $field:ident) => {
        drawn_into!(@impl [$($g: $b),+] $ty => $field);
    };
    ($ty:ty => $field:ident) => {
        drawn_into!(@impl [] $ty => $field);
    };
    (@impl [$($generics:tt)*] $ty:ty => $field:ident) => {
        impl<$($generics)*> embedded_graphics::geometry::OriginDimensions for $ty {
            fn size(&self) -> embedded_graphics::geometry::Size {
                self.$field.size()
            }
        }

        impl<$($generics)*> embedded_graphics::draw_target::DrawTarget for $ty {
            type Color = embedded_graphics::pixelcolor::Rgb888;
            type Error = core::convert::Infallible;

            fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
            where
                I: IntoIterator<Item = embedded_graphics::Pixel<Self::Color>>,
            {
                self.$field.draw_iter(pixels)
            }

            fn fill_solid(
                &mut self,
                area: &embedded_graphics::primitives::Rectangle,
                color: Self::Color,
            ) -> Result<(), Self::Error> {
                self.$field.fill_solid(area, color)
            }
        }
    };
}

pub(crate) mod canvas;
mod config;
pub(crate) mod countdown;
pub(crate) mod draw;
pub mod fbdev;
mod fbioctl;
mod glyphs;
pub(crate) mod mapping;
mod preview;
pub(crate) mod redraw;
pub mod samples;
pub(crate) mod sink;
pub mod spi;
mod spi_bus;
pub(crate) mod spi_rppal;
pub mod style;
pub(crate) mod text;
pub(crate) mod thread;
pub(crate) mod view;
#[cfg(feature = "simulator")]
pub(crate) mod window;

use std::path::PathBuf;

pub use canvas::Canvas;
pub use config::{ScreenConfig, ScreenKind};
pub use countdown::{Countdown, Remaining};
pub use draw::draw;
pub use fbdev::Framebuffer;
pub use mapping::PreviewMap;
pub use redraw::Redraw;
pub use sink::{PngDir, Screen};
pub use spi::{SpiPanel, SpiPanelOptions};
pub use thread::{BackBuffer, Flush, FrameStats, ScreenThread, ViewSender};
pub use view::{Challenge, Fault, Language, Prompt, Scene, Status, View};

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
