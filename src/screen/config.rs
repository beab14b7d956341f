//! `[screen]`: where and how the UI is drawn (aggregated by `crate::config`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScreenKind {
    /// `/dev/fb0` and friends: HDMI and DSI panels.
    Framebuffer,
    /// An ST7789/ILI9341 TFT on the Pi's SPI header (`[screen.spi]`).
    Spi,
    /// PNG files in `screen.path`, one per kind of screen (development, demo).
    Png,
    /// A desktop window (only in builds with the `simulator` feature).
    Window,
    /// No screen (a headless terminal answering MQTT only).
    None,
}

/// `[screen]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenConfig {
    pub kind: ScreenKind,
    /// png: the directory the screens are written to.
    pub path: PathBuf,
    /// framebuffer: the device node.
    pub device: PathBuf,
    /// png and window: the size drawn (framebuffer and spi use the panel's own size).
    pub width: u32,
    pub height: u32,
    /// The most frames per second drawn (a slow panel shows fewer, never older, frames).
    pub max_fps: f32,
    /// How long the pass/fail screen stays before the terminal invites the next visitor.
    pub result_ms: u64,
    /// The language of every word on the screen.
    pub language: super::Language,
    /// spi: the panel's wiring and mounting.
    pub spi: super::SpiPanelOptions,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        Self {
            kind: ScreenKind::Png,
            path: "/var/lib/livegate/screen".into(),
            device: "/dev/fb0".into(),
            width: 800,
            height: 480,
            max_fps: 15.0,
            result_ms: 4_000,
            language: super::Language::En,
            spi: super::SpiPanelOptions::default(),
        }
    }
}
