//! `[camera]`: where frames come from (aggregated by `crate::config`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::synthetic::Script;

/// Where frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraSource {
    V4l2,
    Replay,
    Synthetic,
}

/// `[camera]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    pub source: CameraSource,
    /// V4L2 device node.
    pub device: PathBuf,
    /// Replay: a session directory (SPEC §6).
    pub path: PathBuf,
    /// Synthetic: the face photo re-rendered as a head or a flat prop.
    pub face: PathBuf,
    /// Synthetic: what the performer does, one script per challenge in turn.
    pub scripts: Vec<Script>,
    /// V4L2 tuning (`[camera.v4l2]`: size, fps, pixel format, stall and reconnect timing);
    /// the device node is `camera.device`.
    pub v4l2: super::V4l2Options,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            source: CameraSource::V4l2,
            device: "/dev/video0".into(),
            path: "/var/lib/livegate/session".into(),
            face: "tests/data/astronaut.png".into(),
            scripts: vec![Script::Live, Script::Print],
            v4l2: super::V4l2Options::default(),
        }
    }
}
