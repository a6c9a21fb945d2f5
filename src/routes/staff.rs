//! `/api/admin/users`: a church's admins manage its staff accounts. They list, add, rename,
//! promote or demote (admin, staff), disable and re-enable them; "deleting" disables, so that
//! what the user sent keeps its author. Operators do the same for a church named with
//! `?churchId=`. Operator accounts are made from the command line only and are not listed.
//!
//! A change to a role or to disabled takes effect on the next request (every request checks
//! the account) and closes the user's open sockets.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::church_query::ChurchQuery;
use crate::accounts::{self, AccountError, NewAccount};
use crate::auth::{AuthUser, bearer};
use crate::db::users::{self, UserChanges, UserRow};
use crate::domain::{PersonName, Role};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::schema;
use crate::http::{json_body, json_reply};
use crate::state::{AppState, with_state};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffUser {
    id: i64,
    /// The church the account belongs to.
    church_id: Option<i64>,
    email: String,
    name: String,
    role: Role,
    disabled: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    disabled_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl StaffUser {
    fn of(row: UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            role: row.role()?,
            id: row.id,
            church_id: row.church_id,
            email: row.email,
            name: row.name,
            disabled: row.disabled_at.is_some(),
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct StaffList {
    users: Vec<StaffUser>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffUser {
    #[schema(schema_with = schema::email)]
    email: String,
    /// 1 to 200 characters.
    #[schema(schema_with = schema::person_name)]
    name: String,
    #[schema(schema_with = role_schema)]
    role: String,
    /// The user changes it with `POST /api/auth/password`.
    #[schema(schema_with = schema::password)]
    password: String,
}

/// Only what is given changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUserChanges {
    #[schema(schema_with = schema::person_name_or_null)]
    name: Option<String>,
    #[schema(schema_with = role_or_null_schema)]
    role: Option<String>,
    disabled: Option<bool>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone())
        .and(bearer(state.auth.clone()))
        .and(warp::query::<ChurchQuery>());
    let list = endpoint!(GET, "api" / "admin" / "users")
        .and(admin.clone())
        .then(|state, user, q| async move { into_response(list(state, user, q).await) });
    let create = endpoint!(POST, "api" / "admin" / "users")
        .and(admin.clone())
        .and(json_body::<NewStaffUser>(&state))
        .then(
            |state, user, q, req| async move { into_response(create(state, user, q, req).await) },
        );
    let update = endpoint!(PATCH, "api" / "admin" / "users" / i64)
        .and(admin.clone())
        .and(json_body::<StaffUserChanges>(&state))
        .then(|id, state, user, q, req| async move {
            into_response(update(state, user, q, id, req).await)
        });
    let disable = endpoint!(DELETE, "api" / "admin" / "users" / i64)
        .and(admin)
        .then(|id, state, user, q| async move { into_response(disable(state, user, q, id).await) });
    list.or(create)
        .unify()
        .or(update)
        .unify()
        .or(disable)
        .unify()
}

/// The church the caller manages users of.
/// The roles of a church: the only ones admins may give.
const CHURCH_ROLES: [Role; 2] = [Role::Admin, Role::Staff];

fn role_schema() -> utoipa::openapi::schema::Object {
    schema::one_of(CHURCH_ROLES.map(Role::as_str))
}

fn role_or_null_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(role_schema())
}

fn church_role(raw: &str) -> Result<Role, ApiError> {
    match Role::parse(raw) {
        Some(role) if CHURCH_ROLES.contains(&role) => Ok(role),
        _ => Err(ApiError::bad_request(
            "invalid_role",
            format!(
                "role {raw:?} is not one of {}",
                CHURCH_ROLES.map(Role::as_str).join(", ")
            ),
        )),
    }
}

#[utoipa::path(get, path = "/api/admin/users", tag = "admin", operation_id = "listStaffUsers",
    security(("bearer" = [])),
    params(ChurchQuery),
    responses(
        (status = 200, description = "The church's admin and staff users, oldest first, disabled ones included", body = StaffList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, q: ChurchQuery) -> ApiResult {
    let church = q.admin_church(&user)?;
    let users = users::list_in_church(&state.pool, church)
        .await?
        .into_iter()
        .filter(|u| u.role != Role::Operator.as_str())
        .map(StaffUser::of)
        .collect::<Result<_, _>>()?;
    Ok(json_reply(StatusCode::OK, &StaffList { users }))
}

#[utoipa::path(post, path = "/api/admin/users", tag = "admin", operation_id = "createStaffUser",
    security(("bearer" = [])),
    params(ChurchQuery),
    request_body = NewStaffUser,
    responses(
        (status = 201, description = "The new user, who can sign in now", body = StaffUser),
        (status = 400, description = "A bad email, name, role or password", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No church with the `churchId` an operator named", body = ErrorBody),
        (status = 409, description = "A user with this email exists", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn create(state: AppState, user: AuthUser, q: ChurchQuery, req: NewStaffUser) -> ApiResult {
    let church = q.admin_church(&user)?;
    church_role(&req.role)?;
    let new = NewAccount {
        church: Some(church),
        email: &req.email,
        name: &req.name,
        role: &req.role,
        password: req.password,
    };
    let created = accounts::create(&state.pool, new).await.map_err(|e| {
        let code = match &e {
            AccountError::Email => "invalid_email",
            AccountError::Name => "invalid_name",
            AccountError::Role => "invalid_role",
            AccountError::Password => "invalid_password",
            AccountError::EmailTaken(_) => {
                return ApiError::new(StatusCode::CONFLICT, "email_taken", e.to_string());
            }
            AccountError::ChurchNeeded | AccountError::NoSuchChurch(_) => {
                return ApiError::not_found(e.to_string());
            }
            AccountError::Db(_) | AccountError::Hash(_) => return ApiError::internal(e),
        };
        ApiError::bad_request(code, e.to_string())
    })?;
    tracing::info!(by = user.user_id, user = created.id, church, "user created");
    Ok(json_reply(StatusCode::CREATED, &StaffUser::of(created)?))
}

#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin", operation_id = "updateStaffUser",
    security(("bearer" = [])),
    params(("id" = i64, Path), ChurchQuery),
    request_body = StaffUserChanges,
    responses(
        (status = 200, description = "The user after the change", body = StaffUser),
        (status = 400, description = "A bad name or role", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No such user in the church", body = ErrorBody),
        (status = 409, description = "Admins cannot demote or disable themselves", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn update(
    state: AppState,
    user: AuthUser,
    q: ChurchQuery,
    id: i64,
    req: StaffUserChanges,
) -> ApiResult {
    let church = q.admin_church(&user)?;
    let name = req
        .name
        .as_deref()
        .map(PersonName::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_name", e.to_string()))?;
    let role = req.role.as_deref().map(church_role).transpose()?;
    let changes = UserChanges {
        name: name.as_ref().map(PersonName::as_str),
        role,
        disabled: req.disabled,
    };
    change(&state, &user, church, id, &changes).await
}

#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin", operation_id = "disableStaffUser",
    security(("bearer" = [])),
    params(("id" = i64, Path), ChurchQuery),
    responses(
        (status = 200, description = "The user, now disabled: they cannot sign in and their \
            tokens and sockets stop working; what they sent stays", body = StaffUser),
        (status = 400, description = "A bad query", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No such user in the church", body = ErrorBody),
        (status = 409, description = "Admins cannot disable themselves", body = ErrorBody),
    ))]
async fn disable(state: AppState, user: AuthUser, q: ChurchQuery, id: i64) -> ApiResult {
    let church = q.admin_church(&user)?;
    let changes = UserChanges {
        disabled: Some(true),
        ..UserChanges::default()
    };
    change(&state, &user, church, id, &changes).await
}

async fn change(
    state: &AppState,
    user: &AuthUser,
    church: i64,
    id: i64,
    changes: &UserChanges<'_>,
) -> ApiResult {
    let demotes = changes.role.is_some_and(|role| role < user.role);
    if id == user.user_id && (changes.disabled == Some(true) || demotes) {
        // A church must not lose its last admin by accident; another admin can do it.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_change_self",
            "you cannot demote or disable yourself; ask another admin",
        ));
    }
    let changed = users::update_in_church(&state.pool, church, id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {id} in this church")))?;
    if changes.role.is_some() || changes.disabled.is_some() {
        state.auth.standing_changed(id).await?;
    }
    tracing::info!(
        by = user.user_id,
        user = id,
        church,
        ?changes,
        "user changed"
    );
    Ok(json_reply(StatusCode::OK, &StaffUser::of(changed)?))
}
