//! The names of the rate-limit policies, and the `quota/window_secs[/burst]` text in which
//! every limit is configured (per role, and per church).

use std::time::Duration;

use belfry_actors::limiter::Limit;

pub const API: &str = "api";
pub const SMS: &str = "sms";
/// An admin's or operator's notification sends (`POST /api/admin/notifications`).
pub const NOTIFY: &str = "notify";
pub const LOGIN_IP: &str = "login-ip";
/// An account from one address.
pub const LOGIN_EMAIL: &str = "login-email";
/// An account from everywhere: a ceiling only a distributed attack reaches.
pub const LOGIN_ACCOUNT: &str = "login-account";
pub const WS_IP: &str = "ws-ip";
pub const WS_USER: &str = "ws-user";
/// A church's recipients per day: checked when a broadcast is stored, not by a limiter key.
pub const CHURCH_RECIPIENTS: &str = "church-recipients";

/// `quota/window_secs` or `quota/window_secs/burst`; the burst defaults to the quota.
pub fn parse_limit(text: &str) -> Result<Limit, String> {
    let parts: Vec<&str> = text.trim().split('/').collect();
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
    };
    let problem = || format!("{text:?} is not quota/window_secs[/burst] with positive numbers");
    match parts[..] {
        [quota, window] | [quota, window, _] => {
            let quota = number(quota).ok_or_else(problem)? as u32;
            let window = number(window).ok_or_else(problem)?;
            let burst = match parts.get(2) {
                Some(burst) => number(burst).ok_or_else(problem)? as u32,
                None => quota,
            };
            if burst > quota {
                return Err(format!("{text:?}: the burst cannot exceed the quota"));
            }
            Ok(Limit::new(quota, Duration::from_secs(window), burst))
        }
        _ => Err(problem()),
    }
}
