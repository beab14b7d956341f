//! `livegate --version`: the version, and the engine's fingerprint as the service would load
//! it (tract, the operators and kernels this CPU gets, the model files' sha256).

use std::path::Path;

use anyhow::Context;

use super::Exit;
use crate::models::{self, Precision};
use crate::vision::VisionConfig;

/// Prints the version line, then the engine and the model directory.
///
/// # Errors
/// After the version line, when the models cannot be located or loaded (`engine: …`).
pub fn exec(models_dir: Option<&Path>) -> anyhow::Result<Exit> {
    println!("livegate {}", env!("CARGO_PKG_VERSION"));
    let (dir, engine) = (|| {
        let dir = models::locate(models_dir)?;
        let (detector, mesh) =
            models::load(&dir, Precision::Int8, VisionConfig::default().detector_min_score)?;
        anyhow::Ok((dir, crate::vision::fingerprint(&detector, &mesh)))
    })()
    .context("engine")?;
    println!("engine {engine}");
    println!("models {}", dir.canonicalize().unwrap_or(dir).display());
    Ok(Exit::Success)
}
