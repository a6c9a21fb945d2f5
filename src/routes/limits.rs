//! `GET /api/admin/limits`: the abuse view. Who is being refused now, how often each policy
//! refused in the last hour, and who uses the most of their allowance. An admin sees their own
//! church's users; addresses are shown for everyone, email addresses only as a count.

use crate::routes::registry::endpoint;
use std::collections::BTreeMap;

use belfry_actors::limiter::{KeyUsage, LimitKey};
use serde_json::{Value, json};
use tokio::time::Instant;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::error::{ApiResult, ErrorBody, into_response};

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

fn entry(usage: &KeyUsage, who: (&str, Value)) -> Value {
    json!({
        who.0: who.1,
        "policy": usage.policy,
        "used": usage.used,
        "burst": usage.limit.burst,
        "quota": usage.limit.quota,
        "windowSecs": usage.limit.window.as_secs(),
    })
}

#[utoipa::path(get, path = "/api/admin/limits", tag = "admin", operation_id = "abuseView",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users and addresses limited now (`limited`), refusals per \
            policy in the last hour (`denialsLastHour`), the top consumers of the church \
            (`topConsumers`) and how many keys are tracked (`keysTracked`)", body = Object),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn limits(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    let ledger = state.system.directory().limits_ledger();
    let now = Instant::now();
    let usage = ledger.usage(now);

    let mut limited_users = Vec::new();
    let mut limited_ips = Vec::new();
    let mut limited_emails = 0;
    for u in usage.iter().filter(|u| u.limited) {
        match &u.key {
            LimitKey::User { .. } => {
                if let Some(id) = visible_user(u, user.church_id) {
                    limited_users.push(entry(u, ("userId", json!(id))));
                }
            }
            LimitKey::Ip(ip) => limited_ips.push(entry(u, ("ip", json!(ip.to_string())))),
            LimitKey::Email(_) => limited_emails += 1,
        }
    }

    let mut top: Vec<&KeyUsage> = usage
        .iter()
        .filter(|u| visible_user(u, user.church_id).is_some() && u.used > 0)
        .collect();
    // By the share of the allowance in use, then by requests.
    top.sort_by(|a, b| {
        let share = |u: &KeyUsage| u64::from(u.used) * 1_000_000 / u64::from(u.limit.burst.max(1));
        share(b).cmp(&share(a)).then(b.used.cmp(&a.used))
    });
    let top: Vec<Value> = top
        .into_iter()
        .take(TOP)
        .map(|u| entry(u, ("userId", json!(visible_user(u, user.church_id)))))
        .collect();

    let mut denials: BTreeMap<&str, u64> = BTreeMap::new();
    for (policy, _) in ledger.denials(now) {
        *denials.entry(policy).or_default() += 1;
    }
    Ok(json_reply(
        StatusCode::OK,
        &json!({
            "limited": {
                "users": limited_users,
                "ips": limited_ips,
                "emails": limited_emails,
            },
            "denialsLastHour": denials,
            "topConsumers": top,
            "keysTracked": ledger.len(),
        }),
    ))
}
