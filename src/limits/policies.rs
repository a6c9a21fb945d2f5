//! Which limits apply: the policies, their defaults, and their configuration.
//!
//! Each policy is `quota/window_secs[/burst]` in an environment variable, with an optional
//! override per role (`BELFRY_LIMIT_API_ADMIN`). See docs/operations.md for the table.

use std::net::IpAddr;
use std::time::Duration;

use belfry_actors::limiter::{Limit, Lockout, Policy};
use ipnet::IpNet;

use crate::config::{ConfigError, Source};
use crate::db::new_message::DailyQuota;
use crate::domain::Role;

pub const API: &str = "api";
pub const SMS: &str = "sms";
pub const LOGIN_IP: &str = "login-ip";
pub const LOGIN_EMAIL: &str = "login-email";
pub const WS_IP: &str = "ws-ip";
pub const WS_USER: &str = "ws-user";

const API_VARS: RoleVars = [
    "BELFRY_LIMIT_API",
    "BELFRY_LIMIT_API_STAFF",
    "BELFRY_LIMIT_API_ADMIN",
];
const SMS_VARS: RoleVars = [
    "BELFRY_LIMIT_SMS",
    "BELFRY_LIMIT_SMS_STAFF",
    "BELFRY_LIMIT_SMS_ADMIN",
];
const WS_USER_VARS: RoleVars = [
    "BELFRY_LIMIT_WS_USER",
    "BELFRY_LIMIT_WS_USER_STAFF",
    "BELFRY_LIMIT_WS_USER_ADMIN",
];

/// A policy's limit for each role.
#[derive(Debug, Clone, Copy)]
pub struct ByRole {
    staff: Policy,
    admin: Policy,
}

impl ByRole {
    pub fn for_role(&self, role: Role) -> Policy {
        match role {
            Role::Admin => self.admin,
            Role::Staff => self.staff,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Every authenticated API request, per user.
    pub api: ByRole,
    /// `POST /api/messages`, per user.
    pub sms: ByRole,
    /// Login attempts per client IP and per email address, with growing lock-outs.
    pub login_ip: Policy,
    pub login_email: Policy,
    /// WebSocket connects per client IP and per user.
    pub ws_ip: Policy,
    pub ws_user: ByRole,
    /// Clients never limited (service hosts, the load balancer's health checks).
    pub exempt: Vec<IpNet>,
    /// Recipients each church may send to in any 24 hours; `None`: no quota.
    pub church_recipients_per_day: Option<DailyQuota>,
}

impl LimitsConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let lockout = lockout(src, "BELFRY_LIMIT_LOGIN_LOCKOUT", (60, 3600))?;
        Ok(Self {
            api: by_role(src, API, API_VARS, (1000, 3600, 200))?,
            sms: by_role(src, SMS, SMS_VARS, (100, 3600, 100))?,
            login_ip: policy(src, LOGIN_IP, "BELFRY_LIMIT_LOGIN_IP", (5, 60, 5))?
                .with_lockout(lockout),
            login_email: policy(src, LOGIN_EMAIL, "BELFRY_LIMIT_LOGIN_EMAIL", (10, 900, 10))?
                .with_lockout(lockout),
            ws_ip: policy(src, WS_IP, "BELFRY_LIMIT_WS_IP", (120, 60, 60))?,
            ws_user: by_role(src, WS_USER, WS_USER_VARS, (30, 60, 20))?,
            exempt: exempt(src)?,
            church_recipients_per_day: daily_quota(src)?,
        })
    }

    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|net| net.contains(&ip))
    }
}

fn policy(
    src: &dyn Source,
    name: &'static str,
    var: &'static str,
    default: (u32, u64, u32),
) -> Result<Policy, ConfigError> {
    let limit = match src.get(var) {
        Some(text) => parse_limit(&text).map_err(|problem| ConfigError { var, problem })?,
        None => Limit::new(default.0, Duration::from_secs(default.1), default.2),
    };
    Ok(Policy::new(name, limit))
}

/// `[all roles, staff, admin]`: the variables of a policy set per role.
type RoleVars = [&'static str; 3];

fn by_role(
    src: &dyn Source,
    name: &'static str,
    [all, staff_var, admin_var]: RoleVars,
    default: (u32, u64, u32),
) -> Result<ByRole, ConfigError> {
    let common = policy(src, name, all, default)?;
    let for_role = |var: &'static str| match src.get(var) {
        Some(_) => policy(src, name, var, default),
        None => Ok(common),
    };
    Ok(ByRole {
        staff: for_role(staff_var)?,
        admin: for_role(admin_var)?,
    })
}

/// `quota/window_secs` or `quota/window_secs/burst`; the burst defaults to the quota.
fn parse_limit(text: &str) -> Result<Limit, String> {
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

/// `base_secs/max_secs`.
fn lockout(
    src: &dyn Source,
    var: &'static str,
    default: (u64, u64),
) -> Result<Lockout, ConfigError> {
    let (base, max) = match src.get(var) {
        Some(text) => {
            let parts: Vec<Option<u64>> = text.split('/').map(|p| p.trim().parse().ok()).collect();
            match parts[..] {
                [Some(base), Some(max)] if base > 0 && max >= base => (base, max),
                _ => {
                    return Err(ConfigError {
                        var,
                        problem: format!("{text:?} is not base_secs/max_secs"),
                    });
                }
            }
        }
        None => default,
    };
    Ok(Lockout {
        base: Duration::from_secs(base),
        max: Duration::from_secs(max),
    })
}

/// `BELFRY_LIMIT_CHURCH_RECIPIENTS_PER_DAY`: 10,000 unless set; `0` turns it off.
fn daily_quota(src: &dyn Source) -> Result<Option<DailyQuota>, ConfigError> {
    let var = "BELFRY_LIMIT_CHURCH_RECIPIENTS_PER_DAY";
    let quota = match src.get(var) {
        Some(text) => text.trim().parse::<u32>().map_err(|_| ConfigError {
            var,
            problem: format!("{text:?} is not a number of recipients"),
        })?,
        None => 10_000,
    };
    Ok((quota > 0).then_some(DailyQuota(quota)))
}

fn exempt(src: &dyn Source) -> Result<Vec<IpNet>, ConfigError> {
    let var = "BELFRY_LIMIT_EXEMPT_CIDRS";
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_with_and_without_a_burst() {
        let limit = parse_limit("1000/3600/200").unwrap();
        assert_eq!(
            (limit.quota, limit.window, limit.burst),
            (1000, Duration::from_secs(3600), 200)
        );
        assert_eq!(parse_limit("5/60").unwrap().burst, 5);
        for bad in ["", "5", "0/60", "5/0", "5/60/6", "a/60", "5/60/1/2"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }
}
