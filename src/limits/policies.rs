//! Which limits apply: the policies, their defaults, and their configuration.
//!
//! Each policy is `quota/window_secs[/burst]` in an environment variable, with an optional
//! override per role (`BELFRY_LIMIT_API_ADMIN`) and per church
//! (`BELFRY_LIMIT_CHURCH_OVERRIDES`, which wins over the role's). See docs/operations.md.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use belfry_actors::limiter::{Limit, Lockout, Policy};
use ipnet::IpNet;

use super::church_overrides::ChurchOverrides;
#[cfg(test)]
use super::church_overrides::OVERRIDES_VAR;
use crate::config::{ConfigError, Source, cidrs};
use crate::db::new_message::DailyQuota;
use crate::domain::Role;

use super::spec::parse_limit;
pub use super::spec::{
    API, CHURCH_RECIPIENTS, LOGIN_ACCOUNT, LOGIN_EMAIL, LOGIN_IP, NOTIFY, SMS, WS_IP, WS_USER,
};

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
const NOTIFY_VARS: RoleVars = [
    "BELFRY_LIMIT_NOTIFY",
    "BELFRY_LIMIT_NOTIFY_STAFF",
    "BELFRY_LIMIT_NOTIFY_ADMIN",
];
const WS_USER_VARS: RoleVars = [
    "BELFRY_LIMIT_WS_USER",
    "BELFRY_LIMIT_WS_USER_STAFF",
    "BELFRY_LIMIT_WS_USER_ADMIN",
];

/// A policy's limit for each role, and for churches that have one of their own.
#[derive(Debug, Clone)]
pub struct ByRole {
    staff: Policy,
    admin: Policy,
    churches: HashMap<i64, Policy>,
}

impl ByRole {
    /// The church's own limit if it has one, else the role's.
    /// Operators, who need not belong to a church, have the admins' limit.
    pub fn for_user(&self, church_id: Option<i64>, role: Role) -> Policy {
        if !self.churches.is_empty()
            && let Some(policy) = church_id.and_then(|id| self.churches.get(&id))
        {
            return *policy;
        }
        match role {
            Role::Operator | Role::Admin => self.admin,
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
    /// `POST /api/admin/notifications`, per sender (a church may have its own).
    pub notify: ByRole,
    /// Login attempts per client IP and per email address, with growing lock-outs.
    pub login_ip: Policy,
    /// An account tried from one address (with lock-outs).
    pub login_email: Policy,
    /// An account tried from anywhere (no lock-out: it would let anyone lock an owner out).
    pub login_account: Policy,
    /// WebSocket connects per client IP and per user.
    pub ws_ip: Policy,
    pub ws_user: ByRole,
    /// Clients never limited (service hosts, the load balancer's health checks).
    pub exempt: Vec<IpNet>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Users never limited: the accounts services call the API with.
    pub exempt_users: HashSet<i64>,
    /// Recipients each church may send to in any 24 hours; `None`: no quota.
    church_recipients_per_day: Option<DailyQuota>,
    /// Churches with a daily quota of their own (`None`: none at all).
    church_quotas: HashMap<i64, Option<DailyQuota>>,
}

impl LimitsConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let lockout = lockout(src, "BELFRY_LIMIT_LOGIN_LOCKOUT", (60, 3600))?;
        let overrides = ChurchOverrides::from_source(src)?;
        let with_churches = |mut by_role: ByRole| {
            by_role.churches = overrides.policies(by_role.staff.name);
            by_role
        };
        Ok(Self {
            api: with_churches(by_role(src, API, API_VARS, (1000, 3600, 200))?),
            sms: with_churches(by_role(src, SMS, SMS_VARS, (100, 3600, 100))?),
            notify: with_churches(by_role(src, NOTIFY, NOTIFY_VARS, (60, 3600, 20))?),
            login_ip: policy(src, LOGIN_IP, "BELFRY_LIMIT_LOGIN_IP", (5, 60, 5))?
                .with_lockout(lockout),
            login_email: policy(src, LOGIN_EMAIL, "BELFRY_LIMIT_LOGIN_EMAIL", (10, 900, 10))?
                .with_lockout(lockout),
            login_account: policy(
                src,
                LOGIN_ACCOUNT,
                "BELFRY_LIMIT_LOGIN_ACCOUNT",
                (100, 900, 100),
            )?,
            ws_ip: policy(src, WS_IP, "BELFRY_LIMIT_WS_IP", (120, 60, 60))?,
            ws_user: with_churches(by_role(src, WS_USER, WS_USER_VARS, (30, 60, 20))?),
            exempt: cidrs(src, "BELFRY_LIMIT_EXEMPT_CIDRS")?,
            trusted_proxies: cidrs(src, "BELFRY_TRUSTED_PROXIES")?,
            exempt_users: exempt_users(src)?,
            church_recipients_per_day: daily_quota(src)?,
            church_quotas: overrides.quotas,
        })
    }

    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy; then, reading
    /// `X-Forwarded-For` from the right (the entry the nearest proxy added), the first address
    /// that is not a trusted proxy. A malformed entry ends the walk at the last good one, so
    /// a client cannot choose its address by writing the header itself.
    pub fn client_of(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        let Some(forwarded_for) = forwarded_for.filter(|_| trusted(&peer)) else {
            return peer;
        };
        let mut client = peer;
        for entry in forwarded_for.rsplit(',') {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !trusted(&ip) {
                break;
            }
        }
        client
    }

    pub fn is_exempt_user(&self, user_id: i64) -> bool {
        !self.exempt_users.is_empty() && self.exempt_users.contains(&user_id)
    }

    /// The recipients `church_id` may send to in any 24 hours; `None`: no quota.
    pub fn daily_quota(&self, church_id: i64) -> Option<DailyQuota> {
        match self.church_quotas.get(&church_id) {
            Some(own) => *own,
            None => self.church_recipients_per_day,
        }
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
        churches: HashMap::new(),
    })
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

/// `BELFRY_LIMIT_EXEMPT_USERS`: comma-separated user ids.
fn exempt_users(src: &dyn Source) -> Result<HashSet<i64>, ConfigError> {
    let var = "BELFRY_LIMIT_EXEMPT_USERS";
    let Some(text) = src.get(var) else {
        return Ok(HashSet::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().map_err(|_| ConfigError {
                var,
                problem: format!("{s:?} is not a user id"),
            })
        })
        .collect()
}

/// Comma-separated addresses or CIDR blocks.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_church_override_wins_over_the_role_and_bad_entries_are_named() {
        let env = |name: &str| match name {
            OVERRIDES_VAR => {
                Some("7:api=5000/3600/500, 7:recipients-per-day=0, 8:recipients-per-day=50".into())
            }
            "BELFRY_LIMIT_API_ADMIN" => Some("2000/3600".into()),
            _ => None,
        };
        let config = LimitsConfig::from_source(&env).unwrap();
        assert_eq!(config.api.for_user(Some(7), Role::Admin).limit.quota, 5000);
        assert_eq!(config.api.for_user(Some(7), Role::Staff).limit.quota, 5000);
        assert_eq!(config.api.for_user(Some(9), Role::Admin).limit.quota, 2000);
        assert_eq!(config.api.for_user(Some(9), Role::Staff).limit.quota, 1000);
        assert_eq!(config.sms.for_user(Some(7), Role::Staff).limit.quota, 100);
        assert!(config.daily_quota(7).is_none());
        assert_eq!(config.daily_quota(8).map(|q| q.0), Some(50));
        assert_eq!(config.daily_quota(9).map(|q| q.0), Some(10_000));
        for bad in [
            "7api=1/1",
            "x:api=1/1",
            "7:login-ip=1/60",
            "7:api=0/60",
            "7:recipients-per-day=x",
        ] {
            let env = |name: &str| (name == OVERRIDES_VAR).then(|| bad.to_owned());
            let error = LimitsConfig::from_source(&env).unwrap_err();
            assert_eq!(error.var, OVERRIDES_VAR, "{bad}");
        }
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let env = |name: &str| (name == "BELFRY_TRUSTED_PROXIES").then(|| "10.0.0.0/8".to_owned());
        let config = LimitsConfig::from_source(&env).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = ip("10.0.0.2");
        // Straight from a client: the header is the client's own words.
        assert_eq!(
            config.client_of(ip("198.51.100.7"), Some("1.2.3.4")),
            ip("198.51.100.7")
        );
        assert_eq!(config.client_of(proxy, None), proxy);
        assert_eq!(
            config.client_of(proxy, Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        // A client's forged entry stands left of the one the proxy wrote.
        assert_eq!(
            config.client_of(proxy, Some("1.2.3.4, 203.0.113.9, 10.0.0.9")),
            ip("203.0.113.9")
        );
        assert_eq!(
            config.client_of(proxy, Some("junk, 10.0.0.9")),
            ip("10.0.0.9")
        );
        assert_eq!(config.client_of(proxy, Some("junk")), proxy);
    }

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
