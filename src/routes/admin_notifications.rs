//! `POST /api/admin/notifications`: an admin tells people of their church something (all of
//! them, one role, or chosen users); an operator tells chosen churches or users. Each person
//! gets their own notification in their inbox, pushed live to their sockets.

use std::net::IpAddr;

use belfry_actors::ports::NewNotification;
use belfry_actors::protocol::{Category, Priority};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::send_request::parse_idempotency_key;
use crate::auth::{AuthUser, bearer};
use crate::db::notification_sends::{self, NewSend, Recipients, SendError};
use crate::domain::{Controls, Role};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::limits::http::client_ip;
use crate::state::{AppState, with_state};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 4000;
/// The most users or churches one send names.
const MAX_IDS: usize = 10_000;
/// What an admin's or operator's send may be about: the other categories are the system's.
const SENDABLE: [Category; 2] = [Category::Announcement, Category::System];

fn sendable_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::one_of(SENDABLE.map(Category::as_str)))
}

fn priority_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::one_of(
        [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Critical,
        ]
        .map(Priority::as_str),
    ))
}

fn title_schema() -> utoipa::openapi::schema::Object {
    schema::text(MAX_TITLE_CHARS, Controls::None)
}

fn body_schema() -> utoipa::openapi::schema::Object {
    schema::text(MAX_BODY_CHARS, Controls::LineBreaks)
}

fn role_schema() -> utoipa::openapi::schema::Object {
    schema::one_of([Role::Staff.as_str(), Role::Admin.as_str()])
}

fn ids_schema() -> utoipa::openapi::schema::Array {
    schema::ids(1, Some(MAX_IDS))
}

/// Exactly one of: `userIds`; `role` (the caller's church's staff or admins); `church: true`
/// (everyone in the caller's church); `churchIds` (operators: everyone in those churches).
/// The others may be left out or `null`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AudienceRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    church: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    church_ids: Option<Vec<i64>>,
}

impl utoipa::PartialSchema for AudienceRequest {
    /// One object per way to name people: its own key required, the others null at most.
    fn schema() -> RefOr<Schema> {
        let keys = ["userIds", "role", "church", "churchIds"];
        let value_of = |key: &str| -> RefOr<Schema> {
            match key {
                "userIds" | "churchIds" => ids_schema().into(),
                "role" => role_schema().into(),
                _ => ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .enum_values(Some([true]))
                    .into(),
            }
        };
        let mut one_of = OneOfBuilder::new();
        for key in keys {
            let mut branch = ObjectBuilder::new()
                .property(key, value_of(key))
                .required(key)
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
            for other in keys.iter().filter(|k| **k != key) {
                branch = branch.property(*other, ObjectBuilder::new().schema_type(Type::Null));
            }
            one_of = one_of.item(branch);
        }
        one_of.into()
    }
}

impl ToSchema for AudienceRequest {}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NotificationSendRequest {
    audience: AudienceRequest,
    /// `announcement` (the default) or `system`.
    #[schema(schema_with = sendable_schema)]
    category: Option<String>,
    /// The category's own when left out (`normal` for announcements). `critical` reaches
    /// people whatever they chose.
    #[schema(schema_with = priority_schema)]
    priority: Option<String>,
    #[schema(schema_with = title_schema)]
    title: String,
    #[schema(schema_with = body_schema)]
    body: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecipientsPage {
    /// The previous page's `nextAfter` (a user id).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let show = endpoint!(GET, "api" / "admin" / "notifications" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<RecipientsPage>())
        .then(
            |id, state, user, page| async move { into_response(show(state, user, id, page).await) },
        );
    let post = endpoint!(POST, "api" / "admin" / "notifications")
        .and(with_state(state.clone()))
        .and(client_ip(&state.limits))
        .and(bearer(state.auth.clone()))
        .map(|state, client, user| (state, (client, user)))
        .untuple_one()
        .and(warp::header::optional::<String>("idempotency-key"))
        .and(json_body::<NotificationSendRequest>(&state))
        .then(
            |state, user, key, req| async move { into_response(send(state, user, key, req).await) },
        );
    post.or(show).unify()
}

#[utoipa::path(get, path = "/api/admin/notifications/{id}", tag = "notifications",
    operation_id = "notificationSend",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The send (`POST /api/admin/notifications`'s `id`)"),
        RecipientsPage),
    responses(
        (status = 200, description = "The send and a page of its recipients, each with their \
            marks and every channel's delivery (status, times, reason)",
            body = notification_sends::SendDetail),
        (status = 400, description = "Bad `after` or `limit`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
        (status = 404, description = "No such send of the caller's church", body = ErrorBody),
    ))]
async fn show(state: AppState, user: AuthUser, id: i64, page: RecipientsPage) -> ApiResult {
    user.require_admin()?;
    let limit = super::paging::limit(page.limit, 100, 1000)?;
    let after = page.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "after must be a nextAfter",
        ));
    }
    let church = match user.is_operator() {
        true => None,
        false => Some(user.church()?),
    };
    let detail = notification_sends::detail(&state.pool, id, church, after, limit)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no notification send {id} of yours")))?;
    Ok(json_reply(StatusCode::OK, &detail))
}

/// A title or body: 1 to `max` characters, trimmed, no control characters but `controls`.
fn text(
    (name, code): (&str, &'static str),
    raw: &str,
    max: usize,
    controls: Controls,
) -> Result<String, ApiError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > max {
        return Err(ApiError::bad_request(
            code,
            format!("{name} must be 1 to {max} characters"),
        ));
    }
    if controls.refuses_any(raw) {
        return Err(ApiError::bad_request(
            code,
            format!("{name} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn invalid_audience(message: &str) -> ApiError {
    ApiError::bad_request("invalid_audience", message.to_owned())
}

/// Who the send reaches, as far as the caller may reach.
fn recipients(user: &AuthUser, audience: &AudienceRequest) -> Result<Recipients, ApiError> {
    let given = [
        audience.user_ids.is_some(),
        audience.role.is_some(),
        audience.church.is_some(),
        audience.church_ids.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(invalid_audience(
            "audience must name exactly one of userIds, role, church or churchIds",
        ));
    }
    let own = || {
        user.church().map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_church",
                "operators belong to no church: name churchIds or userIds",
            )
        })
    };
    // Operators reach every church; anyone else only their own.
    let reach = match user.is_operator() {
        true => None,
        false => Some(user.church()?),
    };
    Ok(match audience {
        AudienceRequest {
            user_ids: Some(ids),
            ..
        } => {
            if ids.is_empty() || ids.len() > MAX_IDS {
                return Err(invalid_audience("userIds must name 1 to 10000 users"));
            }
            Recipients::Users {
                ids: ids.clone(),
                church: reach,
            }
        }
        AudienceRequest {
            role: Some(role), ..
        } => {
            let role = match Role::parse(role) {
                Some(Role::Staff) => Role::Staff.as_str(),
                Some(Role::Admin) => Role::Admin.as_str(),
                _ => return Err(invalid_audience("role must be staff or admin")),
            };
            Recipients::Churches {
                ids: vec![own()?],
                role: Some(role),
            }
        }
        AudienceRequest {
            church: Some(true), ..
        } => Recipients::Churches {
            ids: vec![own()?],
            role: None,
        },
        AudienceRequest {
            church_ids: Some(ids),
            ..
        } => {
            if !user.is_operator() {
                return Err(ApiError::forbidden(
                    "only operators send to other churches: use church or role",
                ));
            }
            if ids.is_empty() || ids.len() > MAX_IDS {
                return Err(invalid_audience("churchIds must name 1 to 10000 churches"));
            }
            Recipients::Churches {
                ids: ids.clone(),
                role: None,
            }
        }
        _ => return Err(invalid_audience("church must be true when given")),
    })
}

#[utoipa::path(post, path = "/api/admin/notifications", tag = "notifications",
    operation_id = "sendNotification",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "The same key and request within 24 hours answer the first send again")),
    request_body = NotificationSendRequest,
    responses(
        (status = 202, description = "Stored for everyone it reaches; pushed to their sockets",
            body = notification_sends::SendReceipt),
        (status = 400, description = "Bad JSON, audience, category, priority, title or body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff, or an admin naming churches", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Users outside the caller's church, churches that do not \
            exist, an operator naming `church` or `role` (`no_church`), or an Idempotency-Key \
            used with another request", body = ErrorBody),
    ))]
async fn send(
    state: AppState,
    (client, user): (Option<IpAddr>, AuthUser),
    key: Option<String>,
    req: NotificationSendRequest,
) -> ApiResult {
    user.require_admin()?;
    let policy = state
        .limits
        .config()
        .notify
        .for_user(user.church_id, user.role);
    let decision = state.limits.check_user(client, &user, policy).await?;
    let key = parse_idempotency_key(key)?;
    let category = match req.category.as_deref() {
        None => Category::Announcement,
        Some(text) => Category::parse(text)
            .filter(|c| SENDABLE.contains(c))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_category",
                    "category must be announcement or system",
                )
            })?,
    };
    let priority = match req.priority.as_deref() {
        None => category.default_priority(),
        Some(text) => Priority::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_priority",
                "priority must be low, normal, high or critical",
            )
        })?,
    };
    let title = text(
        ("title", "invalid_title"),
        &req.title,
        MAX_TITLE_CHARS,
        Controls::None,
    )?;
    let body = text(
        ("body", "invalid_body"),
        &req.body,
        MAX_BODY_CHARS,
        Controls::LineBreaks,
    )?;
    let recipients = recipients(&user, &req.audience)?;
    let church_id = user.church().ok();
    let notification = NewNotification {
        category,
        priority,
        title,
        body,
        data: serde_json::Value::Object(Default::default()),
        church_id,
        dedup_key: None,
    };
    let request = serde_json::to_string(&req).unwrap_or_default();
    let audience = serde_json::to_value(&req.audience).unwrap_or_default();
    let stored = notification_sends::create(
        &state.pool,
        NewSend {
            sender_id: user.user_id,
            church_id,
            notification: &notification,
            recipients,
            audience,
            idempotency: key.as_deref().map(|k| (k, request.as_str())),
            now: state.clock.now(),
        },
    )
    .await
    .map_err(refusal)?;
    state.metrics.notifications_stored(&stored.announcements);
    state.system.directory().announce(stored.announcements);
    let reply = json_reply(StatusCode::ACCEPTED, &stored.receipt);
    let mut reply = crate::limits::http::with_headers(reply, decision.as_ref());
    if stored.replayed {
        reply.headers_mut().insert(
            "idempotent-replayed",
            warp::http::HeaderValue::from_static("true"),
        );
    }
    Ok(reply)
}

fn refusal(e: SendError) -> ApiError {
    let unprocessable = |code: &'static str, message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    };
    match e {
        SendError::UnknownUsers(ids) => unprocessable(
            "unknown_users",
            format!("these users do not exist in your reach: {ids:?}"),
        ),
        SendError::UnknownChurches(ids) => unprocessable(
            "unknown_churches",
            format!("these churches do not exist: {ids:?}"),
        ),
        SendError::IdempotencyMismatch => unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request".to_owned(),
        ),
        SendError::Db(e) => e.into(),
    }
}
