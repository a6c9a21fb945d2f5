//! `GET /api/admin/limits`: the abuse view. Who is being refused now, how often each policy
//! refused in the last hour, and who uses the most of their allowance. A church's admin sees
//! their own church's users and the refusals of them; operators see every user, the client
//! addresses and every refusal. Email addresses are only ever counted.

use crate::http::registry::endpoint;
use std::collections::BTreeMap;

use belfry_actors::limiter::{KeyUsage, LimitKey};
use serde::Serialize;
use tokio::time::Instant;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::error::{ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::state::AppState;
use crate::state::with_state;

/// Consumers listed, most first.
const TOP: usize = 10;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "admin" / "limits")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(limits(state, user).await) })
}

/// What one caller may see of the limiter's keys.
#[derive(Clone, Copy)]
enum Sight {
    Platform,
    Church(i64),
}

impl Sight {
    fn of(user: &AuthUser) -> Result<Self, crate::error::ApiError> {
        Ok(if user.is_operator() {
            Self::Platform
        } else {
            Self::Church(user.church()?)
        })
    }

    /// The user a key is about, if this sight includes them.
    fn user(self, key: &LimitKey) -> Option<i64> {
        match (self, key) {
            (Self::Platform, LimitKey::User { user_id, .. }) => Some(*user_id),
            (Self::Church(church), LimitKey::User { user_id, church_id })
                if *church_id == Some(church) =>
            {
                Some(*user_id)
            }
            _ => None,
        }
    }

    /// Whether a key's refusals count in this sight.
    fn includes(self, key: &LimitKey) -> bool {
        matches!(self, Self::Platform) || self.user(key).is_some()
    }
}

/// How much of one policy's allowance a key has used.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Allowance {
    policy: &'static str,
    /// Requests' worth of the burst in use now.
    used: u32,
    burst: u32,
    quota: u32,
    window_secs: u64,
}

impl From<&KeyUsage> for Allowance {
    fn from(usage: &KeyUsage) -> Self {
        Self {
            policy: usage.policy,
            used: usage.used,
            burst: usage.limit.burst,
            quota: usage.limit.quota,
            window_secs: usage.limit.window.as_secs(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserAllowance {
    user_id: i64,
    #[serde(flatten)]
    allowance: Allowance,
}

#[derive(Serialize, ToSchema)]
struct AddressAllowance {
    ip: String,
    #[serde(flatten)]
    allowance: Allowance,
}

/// Keys refused now.
#[derive(Serialize, ToSchema)]
struct Limited {
    /// The users in sight: the admin's church's, or every one for operators.
    users: Vec<UserAllowance>,
    /// Client addresses: shown to operators only (empty for a church's admin).
    ips: Vec<AddressAllowance>,
    /// Email addresses refused logins, counted only (operators only; 0 for a church's admin).
    emails: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AbuseView {
    limited: Limited,
    /// Refusals per policy in the last hour.
    denials_last_hour: BTreeMap<&'static str, u64>,
    /// The church's users using the largest share of their allowance, most first.
    top_consumers: Vec<UserAllowance>,
    /// Keys the limiter tracks now, every church and address included (operators only).
    #[serde(skip_serializing_if = "Option::is_none")]
    keys_tracked: Option<usize>,
}

#[utoipa::path(get, path = "/api/admin/limits", tag = "admin", operation_id = "abuseView",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users and addresses limited now (`limited`), refusals per \
            policy in the last hour (`denialsLastHour`), the top consumers of the church \
            (`topConsumers`) and how many keys are tracked (`keysTracked`)", body = AbuseView),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn limits(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    let sight = Sight::of(&user)?;
    let platform = matches!(sight, Sight::Platform);
    let ledger = state.system.directory().limits_ledger();
    let now = Instant::now();
    let usage = ledger.usage(now);

    let mut limited = Limited {
        users: Vec::new(),
        ips: Vec::new(),
        emails: 0,
    };
    for u in usage.iter().filter(|u| u.limited) {
        match &u.key {
            LimitKey::User { .. } => {
                if let Some(user_id) = sight.user(&u.key) {
                    limited.users.push(UserAllowance {
                        user_id,
                        allowance: u.into(),
                    });
                }
            }
            LimitKey::Ip(ip) if platform => limited.ips.push(AddressAllowance {
                ip: ip.to_string(),
                allowance: u.into(),
            }),
            LimitKey::Email(_) | LimitKey::EmailAt { .. } if platform => limited.emails += 1,
            LimitKey::Ip(_) | LimitKey::Email(_) | LimitKey::EmailAt { .. } => {}
        }
    }

    let mut top: Vec<(i64, &KeyUsage)> = usage
        .iter()
        .filter(|u| u.used > 0)
        .filter_map(|u| sight.user(&u.key).map(|id| (id, u)))
        .collect();
    // By the share of the allowance in use, then by requests.
    top.sort_by(|(_, a), (_, b)| {
        let share = |u: &KeyUsage| u64::from(u.used) * 1_000_000 / u64::from(u.limit.burst.max(1));
        share(b).cmp(&share(a)).then(b.used.cmp(&a.used))
    });
    let top_consumers = top
        .into_iter()
        .take(TOP)
        .map(|(user_id, u)| UserAllowance {
            user_id,
            allowance: u.into(),
        })
        .collect();

    let mut denials_last_hour: BTreeMap<&str, u64> = BTreeMap::new();
    for (policy, key) in ledger.denials(now) {
        if sight.includes(&key) {
            *denials_last_hour.entry(policy).or_default() += 1;
        }
    }
    Ok(json_reply(
        StatusCode::OK,
        &AbuseView {
            limited,
            denials_last_hour,
            top_consumers,
            keys_tracked: platform.then(|| ledger.len()),
        },
    ))
}
