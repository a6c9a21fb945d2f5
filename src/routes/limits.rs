//! `GET /api/admin/limits`: the abuse view. Who is being refused now, how often each policy
//! refused in the last hour, and who uses the most of their allowance. An admin sees their own
//! church's users; addresses are shown for everyone, email addresses only as a count.

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
        .and(bearer(state.jwt.clone()))
        .then(|state, user| async move { into_response(limits(state, user).await) })
}

fn visible_user(usage: &KeyUsage, church: i64) -> Option<i64> {
    match usage.key {
        LimitKey::User { user_id, church_id } if church_id == church => Some(user_id),
        _ => None,
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
    /// The admin's church's users.
    users: Vec<UserAllowance>,
    ips: Vec<AddressAllowance>,
    /// Email addresses refused logins, counted only.
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
    /// Keys the limiter tracks now, every church and address included.
    keys_tracked: usize,
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
                if let Some(user_id) = visible_user(u, user.church_id) {
                    limited.users.push(UserAllowance {
                        user_id,
                        allowance: u.into(),
                    });
                }
            }
            LimitKey::Ip(ip) => limited.ips.push(AddressAllowance {
                ip: ip.to_string(),
                allowance: u.into(),
            }),
            LimitKey::Email(_) | LimitKey::EmailAt { .. } => limited.emails += 1,
        }
    }

    let mut top: Vec<(i64, &KeyUsage)> = usage
        .iter()
        .filter(|u| u.used > 0)
        .filter_map(|u| visible_user(u, user.church_id).map(|id| (id, u)))
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
    for (policy, _) in ledger.denials(now) {
        *denials_last_hour.entry(policy).or_default() += 1;
    }
    Ok(json_reply(
        StatusCode::OK,
        &AbuseView {
            limited,
            denials_last_hour,
            top_consumers,
            keys_tracked: ledger.len(),
        },
    ))
}
