//! `livegate run`: the service ([`crate::service`]) with the door's config file, the int8
//! networks and, with `[camera] source = "synthetic"`, the synthetic camera's performers.

use std::path::PathBuf;

use super::Exit;
use super::common::{face_tracker, synthetic_faces};
use crate::camera::CameraSource;
use crate::config::Config;
use crate::logging::Logging;
use crate::models;
use crate::vision::VisionConfig;

/// What `livegate run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    /// The config file.
    pub config: PathBuf,
}

/// Runs the service until SIGINT/SIGTERM, logging at the config's `[log] level` (unless
/// `RUST_LOG` says otherwise).
///
/// # Errors
/// No models, a config that does not load, a face photo without a face, or the service's
/// start-up failures.
pub fn exec(cmd: RunCommand, logging: &Logging) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let cfg = Config::load(&cmd.config)?;
    logging.apply_config(&cfg.log.level);
    let vision = VisionConfig::default();
    let tracker = face_tracker(&model_dir, vision.clone())?;
    let synthetic = match cfg.camera.source {
        CameraSource::Synthetic => {
            Some(synthetic_faces(&cfg.camera.face, cfg.camera.scripts.clone(), &model_dir, &vision)?)
        }
        _ => None,
    };
    crate::service::run(cfg, tracker, synthetic)?;
    Ok(Exit::Success)
}
