//! Who an admin's or operator's notification send reaches: the `audience` of `POST
//! /api/admin/notifications` (exactly one way of naming people), its schema, and the one rule
//! of reach: admins name their own church's users or roles, operators any church or user.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use warp::http::StatusCode;

use crate::auth::AuthUser;
use crate::db::notification_sends::Recipients;
use crate::domain::Role;
use crate::error::ApiError;
use crate::http::schema;

/// The most users or churches one send names.
const MAX_IDS: usize = 10_000;

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

fn invalid_audience(message: &str) -> ApiError {
    ApiError::bad_request("invalid_audience", message.to_owned())
}

/// Who the send reaches, as far as the caller may reach.
pub fn recipients(user: &AuthUser, audience: &AudienceRequest) -> Result<Recipients, ApiError> {
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
