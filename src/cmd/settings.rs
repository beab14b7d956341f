//! `-c FILE` for the offline commands (`verify`, `record`, `evaluate --sessions`): an
//! installer judges recordings with the thresholds (`[liveness]`) and the lens
//! (`[vision] hfov_deg`) of the door's own config file, not with the built-in defaults.
//!
//! The file is parsed and validated as [`Config::load`] does (same messages as the service). `[vision]` is not part of [`Config`] yet, so it is taken out of the file first
//! and read on its own (`VisionConfig`, unknown keys rejected).

use std::path::Path;

use anyhow::Context;

use crate::config::{Config, ConfigError, line_of};
use crate::liveness::session::LivenessConfig;
use crate::vision::VisionConfig;

/// The parts of a config file the offline commands use.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The whole file (the camera section for `record`).
    pub config: Config,
    pub liveness: LivenessConfig,
    pub vision: VisionConfig,
}

/// A lens narrower or wider than this is a typo, not a camera (degrees, horizontal).
const HFOV_RANGE: std::ops::RangeInclusive<f32> = 20.0..=170.0;

impl Settings {
    /// The file's settings, or the defaults without a file.
    ///
    /// # Errors
    /// When the file cannot be read, parsed or validated (naming the file and key).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut table: toml::Table =
            text.parse().map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
        let (config, vision) = match table.remove("vision") {
            None => (parse(path, &text)?, VisionConfig::default()),
            Some(v) => {
                let vision: VisionConfig =
                    v.try_into().map_err(|e| anyhow::anyhow!("config {}: [vision]: {e}", path.display()))?;
                let config: Config =
                    table.try_into().map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
                config.validate().with_context(|| format!("config {}", path.display()))?;
                (config, vision)
            }
        };
        if !HFOV_RANGE.contains(&vision.hfov_deg) {
            anyhow::bail!("config {}: vision.hfov_deg must be between 20 and 170", path.display());
        }
        Ok(Self { liveness: config.liveness.clone(), config, vision })
    }
}

/// [`Config::load`]'s parsing and validation on text already read (the file is read once:
/// it may be a pipe), with the same messages naming the file, the key and its line.
fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let config = Config::parse(text).map_err(|message| ConfigError::Parse { path: path.into(), message })?;
    config.validate().map_err(|e| match e {
        ConfigError::Invalid { key, message } => match line_of(text, key) {
            Some(line) => ConfigError::InvalidAt { path: path.into(), line, key, message },
            None => ConfigError::Invalid { key, message },
        },
        other => other,
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("livegate-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn no_file_gives_the_defaults() {
        let s = Settings::load(None).unwrap();
        assert_eq!((s.liveness, s.vision), (LivenessConfig::default(), VisionConfig::default()));
    }

    #[test]
    fn liveness_and_vision_sections_are_read() {
        let path = file("both.toml", "[liveness]\nmin_yaw_deg = 8.0\n\n[vision]\nhfov_deg = 78.0\n");
        let s = Settings::load(Some(&path)).unwrap();
        assert_eq!(s.liveness.min_yaw_deg, 8.0);
        assert_eq!(s.liveness.min_parallax, LivenessConfig::default().min_parallax);
        assert_eq!(s.vision.hfov_deg, 78.0);
    }

    #[test]
    fn a_file_without_vision_keeps_the_services_line_numbered_errors() {
        let path = file("typo.toml", "[liveness]\nmin_yaw = 8.0\n");
        let e = format!("{:#}", Settings::load(Some(&path)).unwrap_err());
        assert!(e.contains("min_yaw") && e.contains("typo.toml"), "{e}");
    }

    #[test]
    fn a_bad_value_is_named_with_its_line() {
        let path = file("value.toml", "[device]\nid = \"door\"\n[mqtt]\nkeepalive_s = 1\n");
        let e = format!("{:#}", Settings::load(Some(&path)).unwrap_err());
        assert!(e.contains("mqtt.keepalive_s") && e.contains("line 4"), "{e}");
    }

    #[test]
    fn an_unknown_vision_key_or_an_impossible_lens_is_refused() {
        let path = file("vtypo.toml", "[vision]\nhfov = 70.0\n");
        let e = format!("{:#}", Settings::load(Some(&path)).unwrap_err());
        assert!(e.contains("hfov") && e.contains("[vision]"), "{e}");
        let path = file("lens.toml", "[vision]\nhfov_deg = 7.0\n");
        let e = format!("{:#}", Settings::load(Some(&path)).unwrap_err());
        assert!(e.contains("hfov_deg"), "{e}");
    }
}
