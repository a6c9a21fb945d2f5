//! Log lines on stderr: readable text by default, one JSON object per line with
//! `BELFRY_LOG_FORMAT=json` for a log shipper. `RUST_LOG` chooses what is logged (`info`
//! unless set).

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `BELFRY_LOG_FORMAT`: `text` (or unset) or `json`.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("BELFRY_LOG_FORMAT").as_deref() {
            Err(_) | Ok("") | Ok("text") => Ok(Self::Text),
            Ok("json") => Ok(Self::Json),
            Ok(other) => Err(format!(
                "BELFRY_LOG_FORMAT must be `text` or `json`, not {other:?}"
            )),
        }
    }
}

/// Installs the process's log subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
}
