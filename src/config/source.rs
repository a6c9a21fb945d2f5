//! Reading variables: the environment (or a map of it in tests), and the one error every
//! bad value becomes.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// The environment, or a map of it in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Source for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

pub(crate) fn err(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

pub(crate) fn parsed<T: std::str::FromStr>(
    src: &dyn Source,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| err(var, format!("cannot parse {raw:?}: {e}"))),
    }
}

pub(crate) fn millis(
    src: &dyn Source,
    var: &'static str,
    default_ms: u64,
) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(parsed(src, var, default_ms)?))
}

/// A comma-separated list of addresses and CIDR blocks (`10.0.0.0/8, ::1`); none when unset.
pub fn cidrs(src: &dyn Source, var: &'static str) -> Result<Vec<IpNet>, ConfigError> {
    let Some(text) = src.get(var) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError {
                    var,
                    problem: format!("{s:?} is not an address or CIDR block"),
                })
        })
        .collect()
}
