//! Notification templates (`/api/admin/templates`): write one, change it (every change is a new
//! version, and the old ones are kept), list them, and preview one filled in with variables. A
//! church's admins keep their church's templates; operators keep the platform's. Rendering is
//! `domain::notification_template`'s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::db::notification_templates::{self, EmailPart, InAppPart, SmsPart, TemplateView};
use crate::domain::notification_template::{
    self as template, NAME_PATTERN, Rendered, TemplateError, TemplateParts,
};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let list = endpoint!(GET, "api" / "admin" / "templates")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(list(state, user).await) });
    let create = endpoint!(POST, "api" / "admin" / "templates")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<NewTemplate>(&state))
        .then(|state, user, new| async move { into_response(create(state, user, new).await) });
    let show = endpoint!(GET, "api" / "admin" / "templates" / String)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|name, state, user| async move { into_response(show(state, user, name).await) });
    let change = endpoint!(PUT, "api" / "admin" / "templates" / String)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<TemplateChange>(&state))
        .then(|name, state, user, change| async move {
            into_response(update(state, user, name, change).await)
        });
    let preview = endpoint!(POST, "api" / "admin" / "templates" / String / "preview")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<TemplatePreviewRequest>(&state))
        .then(|name, state, user, req| async move {
            into_response(preview(state, user, name, req).await)
        });
    list.or(create)
        .unify()
        .or(show)
        .unify()
        .or(change)
        .unify()
        .or(preview)
        .unify()
}

fn name_schema() -> utoipa::openapi::schema::Object {
    schema::matching(NAME_PATTERN)
}

fn category_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::one_of(["announcement", "system"]))
}

/// A new template.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewTemplate {
    /// Lower-case letters, digits, `-` and `_`; unique among the caller's church's templates.
    #[schema(schema_with = name_schema)]
    name: String,
    /// `announcement` (the default) or `system`.
    #[schema(schema_with = category_schema)]
    category: Option<String>,
    in_app: InAppPart,
    email: EmailPart,
    sms: Option<SmsPart>,
}

impl NewTemplate {
    fn content(self) -> (String, TemplateChange) {
        let content = TemplateChange {
            category: self.category,
            in_app: self.in_app,
            email: self.email,
            sms: self.sms,
        };
        (self.name, content)
    }
}

/// A template's content: each part minijinja (`{{ variable }}`); the HTML part escapes values.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateChange {
    /// `announcement` (the default) or `system`.
    #[schema(schema_with = category_schema)]
    category: Option<String>,
    in_app: InAppPart,
    email: EmailPart,
    sms: Option<SmsPart>,
}

impl TemplateChange {
    fn parts(&self) -> Result<(&'static str, TemplateParts), ApiError> {
        let category = match self.category.as_deref() {
            None | Some("announcement") => "announcement",
            Some("system") => "system",
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_category",
                    "category must be announcement or system",
                ));
            }
        };
        let parts = TemplateParts {
            title: self.in_app.title.clone(),
            body: self.in_app.body.clone(),
            email_subject: self.email.subject.clone(),
            email_text: self.email.text.clone(),
            email_html: self.email.html.clone(),
            sms_text: self.sms.as_ref().map(|s| s.text.clone()),
        };
        parts.check().map_err(invalid)?;
        Ok((category, parts))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewRequest {
    /// The values the template's variables take.
    #[serde(default)]
    #[schema(value_type = Object)]
    vars: Map<String, Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    templates: Vec<TemplateView>,
}

/// A template filled in: what each channel would say.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePreview {
    version: i32,
    in_app: InAppPart,
    email: EmailPart,
    sms: Option<SmsPart>,
}

impl TemplatePreview {
    fn of(version: i32, done: Rendered) -> Self {
        TemplatePreview {
            version,
            in_app: InAppPart {
                title: done.title,
                body: done.body,
            },
            email: EmailPart {
                subject: done.email_subject,
                text: done.email_text,
                html: done.email_html,
            },
            sms: done.sms_text.map(|text| SmsPart { text }),
        }
    }
}

/// A template that cannot be kept: named by its part.
fn invalid(e: TemplateError) -> ApiError {
    ApiError::bad_request("invalid_template", e.to_string())
        .with_details(serde_json::json!({ "field": e.field() }))
}

/// A template that cannot be filled in with what was given: `422`, naming the variable.
pub fn unfilled(e: TemplateError) -> ApiError {
    match &e {
        TemplateError::MissingVariable { field, variable } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_variable",
            e.to_string(),
        )
        .with_details(serde_json::json!({ "field": field, "variable": variable })),
        _ => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "template_unrenderable",
            e.to_string(),
        )
        .with_details(serde_json::json!({ "field": e.field() })),
    }
}

fn name_of(raw: &str) -> Result<&str, ApiError> {
    template::parse_name(raw).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_name",
            "a template's name is 1 to 64 lower-case letters, digits, - and _",
        )
    })
}

fn no_such(name: &str) -> ApiError {
    ApiError::not_found(format!("no template named {name:?}"))
}

#[utoipa::path(get, path = "/api/admin/templates", tag = "notifications",
    operation_id = "listTemplates", security(("bearer" = [])),
    responses(
        (status = 200, description = "Each template's latest version, by name", body = TemplateList),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    let rows = notification_templates::list(&state.pool, user.church_id).await?;
    let templates = rows.into_iter().map(TemplateView::from).collect();
    Ok(json_reply(StatusCode::OK, &TemplateList { templates }))
}

#[utoipa::path(post, path = "/api/admin/templates", tag = "notifications",
    operation_id = "createTemplate", security(("bearer" = [])),
    request_body = NewTemplate,
    responses(
        (status = 201, description = "Version 1 of the template", body = TemplateView),
        (status = 400, description = "A bad name (`invalid_name`), a part that is not a valid \
            template (`invalid_template`, `details.field` naming it), a bad category", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
        (status = 409, description = "The name is taken (`template_exists`)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn create(state: AppState, user: AuthUser, new: NewTemplate) -> ApiResult {
    user.require_admin()?;
    let (name, content) = new.content();
    let name = name_of(&name)?;
    let (category, parts) = content.parts()?;
    let saved = notification_templates::save(
        &state.pool,
        (user.church_id, user.user_id),
        (name, category),
        &parts,
        true,
    )
    .await?
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "template_exists",
            format!("a template named {name:?} exists: change it with PUT"),
        )
    })?;
    Ok(json_reply(StatusCode::CREATED, &TemplateView::from(saved)))
}

#[utoipa::path(get, path = "/api/admin/templates/{name}", tag = "notifications",
    operation_id = "showTemplate", security(("bearer" = [])),
    params(("name" = String, Path, description = "The template's name")),
    responses(
        (status = 200, description = "The latest version", body = TemplateView),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
        (status = 404, description = "No such template of the caller's church", body = ErrorBody),
    ))]
async fn show(state: AppState, user: AuthUser, name: String) -> ApiResult {
    user.require_admin()?;
    let found = notification_templates::latest(&state.pool, user.church_id, &name)
        .await?
        .ok_or_else(|| no_such(&name))?;
    Ok(json_reply(StatusCode::OK, &TemplateView::from(found)))
}

#[utoipa::path(put, path = "/api/admin/templates/{name}", tag = "notifications",
    operation_id = "updateTemplate", security(("bearer" = [])),
    params(("name" = String, Path, description = "The template's name")),
    request_body = TemplateChange,
    responses(
        (status = 200, description = "The new version (the earlier ones are kept)", body = TemplateView),
        (status = 400, description = "A part that is not a valid template, a bad category", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
        (status = 404, description = "No such template of the caller's church", body = ErrorBody),
        (status = 409, description = "Changed by someone else at the same moment", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn update(
    state: AppState,
    user: AuthUser,
    name: String,
    change: TemplateChange,
) -> ApiResult {
    user.require_admin()?;
    let (category, parts) = change.parts()?;
    let exists = notification_templates::latest(&state.pool, user.church_id, &name).await?;
    if exists.is_none() {
        return Err(no_such(&name));
    }
    let saved = notification_templates::save(
        &state.pool,
        (user.church_id, user.user_id),
        (&name, category),
        &parts,
        false,
    )
    .await?
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "template_changed",
            "the template was changed at the same moment: read it and try again",
        )
    })?;
    Ok(json_reply(StatusCode::OK, &TemplateView::from(saved)))
}

#[utoipa::path(post, path = "/api/admin/templates/{name}/preview", tag = "notifications",
    operation_id = "previewTemplate", security(("bearer" = [])),
    params(("name" = String, Path, description = "The template's name")),
    request_body = TemplatePreviewRequest,
    responses(
        (status = 200, description = "Each channel filled in", body = TemplatePreview),
        (status = 400, description = "Bad JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
        (status = 404, description = "No such template of the caller's church", body = ErrorBody),
        (status = 422, description = "A variable the template uses was not given \
            (`missing_variable`, `details.variable` and `details.field` naming it), or a part \
            that is empty or too long once filled in", body = ErrorBody),
    ))]
async fn preview(
    state: AppState,
    user: AuthUser,
    name: String,
    req: TemplatePreviewRequest,
) -> ApiResult {
    user.require_admin()?;
    let found = notification_templates::latest(&state.pool, user.church_id, &name)
        .await?
        .ok_or_else(|| no_such(&name))?;
    let done = found.parts().render(&req.vars).map_err(unfilled)?;
    Ok(json_reply(
        StatusCode::OK,
        &TemplatePreview::of(found.version, done),
    ))
}
