//! Logging setup shared by every Switchboard binary.

use tracing_subscriber::EnvFilter;

/// Logs to stderr, `info` unless `RUST_LOG` says otherwise; JSON lines in containers.
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod spans;
pub mod trace;
