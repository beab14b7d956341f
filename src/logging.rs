//! Where livegate's log goes, and how much of it.
//!
//! Every part of livegate logs through `tracing` events with a level and fields; rumqttc's and
//! tract's `log` records are collected into the same stream. Lines go to stderr:
//!
//! * under systemd (journald sets `JOURNAL_STREAM` for a service whose stderr it reads), each
//!   line starts with the syslog priority (`<3>` error … `<7>` debug), which journald turns
//!   into the record's priority (`journalctl -u livegate -p warning`), and carries no
//!   timestamp or colour: journald adds its own;
//! * in a terminal or a pipe, each line starts with a UTC timestamp (coloured on a terminal).
//!
//! How much: `RUST_LOG` when it is set (and valid), else the config's `[log] level` once the
//! config is read, else [`DEFAULT_LEVEL`]. Both take a level (`error`, `warn`, `info`, `debug`, `trace`)
//! or a filter such as `info,livegate::mqtt=debug,rumqttc=debug`.

use std::fmt;
use std::io::IsTerminal;

use serde::{Deserialize, Serialize};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter when neither `RUST_LOG` nor `[log] level` says otherwise: the embedded broker
/// (rumqttd) logs every client's connection and subscription at `info`, so only its warnings.
pub const DEFAULT_LEVEL: &str = "info,rumqttd=warn,rumqttd::router::routing=off,rumqttd::server::broker=off";

/// `[log]`: how much the service logs (`RUST_LOG`, when set, wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A level (`error`, `warn`, `info`, `debug`, `trace`) or a filter such as
    /// `info,rumqttc=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: DEFAULT_LEVEL.into() }
    }
}

/// A handle on the installed filter, to apply the config's `[log] level` once it is read.
pub struct Logging {
    filter: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
    /// `RUST_LOG` was set and valid: it wins over the config.
    from_env: bool,
}

/// Parses a `[log] level` / `RUST_LOG` value.
///
/// # Errors
/// The filter parser's message, for a value that is neither a level nor a filter.
pub fn parse_filter(spec: &str) -> Result<EnvFilter, String> {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    let hint = "use error, warn, info, debug or trace, or a filter such as \"info,rumqttc=debug\"";
    if spec.trim().is_empty() {
        return Err(format!("is empty ({hint})"));
    }
    // A bare word is a target at every level to the filter parser ("loud" would log nothing
    // of livegate, silently): every directive is a level or names one after `=`.
    if let Some(d) = spec
        .split(',')
        .map(str::trim)
        .find(|d| !d.contains('=') && !LEVELS.contains(&d.to_ascii_lowercase().as_str()))
    {
        return Err(format!("{d:?} is not a level ({hint})"));
    }
    EnvFilter::builder().parse(spec).map_err(|e| format!("{e} ({hint})"))
}

/// Whether stderr goes to journald (systemd sets `JOURNAL_STREAM` to its device and inode).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let stderr = std::fs::metadata("/proc/self/fd/2");
    stderr.is_ok_and(|m| dev.parse() == Ok(m.dev()) && ino.parse() == Ok(m.ino()))
}

/// Installs the global subscriber: `RUST_LOG` if set (a bad value is reported and
/// [`DEFAULT_LEVEL`] used), else [`DEFAULT_LEVEL`] until [`Logging::apply_config`]. Also
/// collects `log` records. Call once, first thing; a second call (tests) leaves the first
/// subscriber in place.
pub fn init() -> Logging {
    let env = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let (filter, from_env, bad_env) = match env.as_deref().map(parse_filter) {
        Some(Ok(f)) => (f, true, None),
        Some(Err(e)) => (EnvFilter::new(DEFAULT_LEVEL), false, Some(e)),
        None => (EnvFilter::new(DEFAULT_LEVEL), false, None),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let journal = stderr_is_journal();
    let format = tracing_subscriber::fmt::format().with_target(true);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = if journal {
        let layer = layer.with_ansi(false).event_format(Journald(format.without_time()));
        registry.with(layer).try_init()
    } else {
        let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        registry.with(layer.with_ansi(ansi).event_format(format)).try_init()
    };
    if installed.is_ok()
        && let Some(e) = bad_env
    {
        tracing::warn!(
            RUST_LOG = env.as_deref().unwrap_or_default(),
            "RUST_LOG {e}; logging at {DEFAULT_LEVEL}"
        );
    }
    Logging { filter: handle, from_env }
}

impl Logging {
    /// Applies the config's `[log] level` (already validated), unless `RUST_LOG` set the filter.
    pub fn apply_config(&self, level: &str) {
        if self.from_env {
            return;
        }
        match parse_filter(level) {
            Ok(f) => {
                if let Err(e) = self.filter.reload(f) {
                    tracing::warn!(error = %e, "cannot apply [log] level");
                }
            }
            Err(e) => tracing::warn!(level, "[log] level {e}"),
        }
    }
}

/// The syslog priority journald reads at the start of a line (`sd-daemon.h`).
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// A line for journald: the priority prefix, then the plain line without a timestamp.
struct Journald(Format<Full, ()>);

impl<S, N> FormatEvent<S, N> for Journald
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_filters_parse_and_nonsense_is_refused() {
        for ok in ["info", "debug", "warn,livegate::mqtt=debug", "info,rumqttc=trace", "error"] {
            assert!(parse_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "  ", "loud", "info,=debug=", "livegate=verbose", "info,,"] {
            let e = parse_filter(bad).expect_err(bad);
            assert!(e.contains("error, warn, info, debug or trace"), "{bad}: {e}");
        }
    }

    #[test]
    fn journald_priorities_follow_syslog() {
        assert_eq!(
            [Level::ERROR, Level::WARN, Level::INFO, Level::DEBUG, Level::TRACE].map(|l| priority(&l)),
            [3, 4, 6, 7, 7]
        );
    }
}
