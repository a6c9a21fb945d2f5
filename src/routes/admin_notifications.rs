//! `POST /api/admin/notifications`: an admin tells people of their church something (all of
//! them, one role, or chosen users); an operator tells chosen churches or users (who it may
//! reach: [`super::notification_audience`]). Each person gets their own notification in their
//! inbox, pushed live to their sockets. `GET /api/admin/notifications/{id}` shows a send's
//! recipients and each channel's delivery.

use std::net::IpAddr;

use belfry_actors::notifier::BulkSend;
use belfry_actors::ports::NewNotification;
use belfry_actors::protocol::{BulkProgress, Category, Priority};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::notification_audience::{AudienceRequest, recipients};
use super::notification_templates::unfilled;
use super::send_request::parse_idempotency_key;
use crate::auth::{AuthUser, bearer};
use crate::db::notification_send_detail;
use crate::db::notification_sends::{self, FromTemplate, NewSend, SendError};
use crate::db::notification_templates;
use crate::domain::Controls;
use crate::domain::notification_template::NAME_PATTERN;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::limits::http::client_ip;
use crate::state::{AppState, with_state};
use serde_json::{Map, Value};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 4000;
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
    schema::or_null(schema::text(MAX_TITLE_CHARS, Controls::None))
}

fn body_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::text(MAX_BODY_CHARS, Controls::LineBreaks))
}

fn template_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::matching(NAME_PATTERN))
}

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
    /// With `body`; or give `template` instead.
    #[schema(schema_with = title_schema)]
    title: Option<String>,
    #[schema(schema_with = body_schema)]
    body: Option<String>,
    /// A template of the caller's church (operators: of the platform), instead of `title` and
    /// `body`: its latest version, filled in with `vars`, says what each channel says.
    #[schema(schema_with = template_schema)]
    template: Option<String>,
    /// The template's variables.
    #[schema(value_type = Option<Object>)]
    vars: Option<Map<String, Value>>,
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
            body = notification_send_detail::SendDetail),
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
    let detail = notification_send_detail::detail(&state.pool, id, church, after, limit)
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
    let content = content(&state, &user, &req).await?;
    let category = match req.category.as_deref() {
        None => content.category,
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
    let recipients = recipients(&user, &req.audience)?;
    let church_id = user.church().ok();
    let notification = NewNotification {
        category,
        priority,
        title: content.title,
        body: content.body,
        data: content.data,
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
            template: content.template,
        },
    )
    .await
    .map_err(refusal)?;
    state.metrics.notifications_stored(&stored.announcements);
    if !stored.replayed {
        state.system.directory().announce_send(BulkSend {
            sender_id: user.user_id,
            progress: BulkProgress {
                id: stored.receipt.id,
                recipient_count: stored.receipt.recipient_count,
                ..BulkProgress::default()
            },
            pending: stored.announcements,
        });
    }
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

/// What a send says: its own title and body, or a template filled in.
struct Content {
    title: String,
    body: String,
    /// The category when the request names none: the template's, or `announcement`.
    category: Category,
    data: Value,
    template: Option<FromTemplate>,
}

async fn content(
    state: &AppState,
    user: &AuthUser,
    req: &NotificationSendRequest,
) -> Result<Content, ApiError> {
    match (&req.template, &req.title, &req.body) {
        (None, Some(title), Some(body)) if req.vars.is_none() => Ok(Content {
            title: text(
                ("title", "invalid_title"),
                title,
                MAX_TITLE_CHARS,
                Controls::None,
            )?,
            body: text(
                ("body", "invalid_body"),
                body,
                MAX_BODY_CHARS,
                Controls::LineBreaks,
            )?,
            category: Category::Announcement,
            data: Value::Object(Default::default()),
            template: None,
        }),
        (Some(name), None, None) => {
            let found = notification_templates::latest(&state.pool, user.church_id, name)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unknown_template",
                        format!("no template named {name:?}"),
                    )
                })?;
            let vars = req.vars.clone().unwrap_or_default();
            let done = found.parts().render(&vars).map_err(unfilled)?;
            Ok(Content {
                title: done.title,
                body: done.body,
                category: Category::parse(&found.category).unwrap_or(Category::Announcement),
                data: serde_json::json!({"template": found.name, "templateVersion": found.version}),
                template: Some(FromTemplate {
                    template_id: found.id,
                    email_subject: done.email_subject,
                    email_text: done.email_text,
                    email_html: done.email_html,
                    sms_text: done.sms_text,
                }),
            })
        }
        _ => Err(ApiError::bad_request(
            "invalid_content",
            "give title and body, or template (with vars), not both",
        )),
    }
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
