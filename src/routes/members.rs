//! `/api/members`: the people of the caller's church. Staff list, add, edit and remove them; a
//! removed member receives nothing more and what was sent to them stays.

use crate::http::registry::endpoint;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::fields::{self, FieldNames, FieldsQuery};
use crate::auth::{AuthUser, bearer};
use crate::db::{groups, members};
use crate::domain::{GroupName, ParsedImport, PersonName, PhoneNumber, SkippedRow};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::body::typed_bytes;
use crate::http::{json_body, json_reply, schema};
use crate::state::AppState;
use crate::state::with_state;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// 1 to 200 characters, no control characters.
    #[schema(schema_with = schema::person_name)]
    name: String,
    /// E.164, e.g. `+442071838750`.
    #[schema(schema_with = schema::phone)]
    phone: String,
}

/// Only what is given changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChanges {
    /// 1 to 200 characters, no control characters.
    #[schema(schema_with = schema::person_name_or_null)]
    name: Option<String>,
    /// E.164.
    #[schema(schema_with = schema::phone_or_null)]
    phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    #[schema(schema_with = fields::partial_list::<members::Member>)]
    members: serde_json::Value,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let create = endpoint!(POST, "api" / "members")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<NewMember>(&state))
        .then(|state, user, req| async move { into_response(create(state, user, req).await) });
    let list = endpoint!(GET, "api" / "members")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<FieldsQuery<members::Member>>())
        .then(|state, user, query| async move { into_response(list(state, user, query).await) });
    let update = endpoint!(PATCH, "api" / "members" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<MemberChanges>(&state))
        .then(
            |id, state, user, req| async move { into_response(update(state, user, id, req).await) },
        );
    let remove = endpoint!(DELETE, "api" / "members" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|id, state, user| async move { into_response(remove(state, user, id).await) });
    let import = endpoint!(POST, "api" / "members" / "import")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(typed_bytes("text/csv", state.max_body))
        .then(|state, user, csv| async move { into_response(import(state, user, csv).await) });
    create
        .or(import)
        .unify()
        .or(list)
        .unify()
        .or(update)
        .unify()
        .or(remove)
        .unify()
}

fn parse_name(raw: &str) -> Result<PersonName, ApiError> {
    PersonName::parse(raw).map_err(|e| ApiError::bad_request("invalid_name", e.to_string()))
}

fn parse_phone(raw: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(raw.trim())
        .map_err(|e| ApiError::bad_request("invalid_phone", e.to_string()))
}

fn phone_taken(phone: &PhoneNumber) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "member_exists",
        format!("a member with phone {phone} already exists"),
    )
}

#[utoipa::path(post, path = "/api/members", tag = "members", operation_id = "createMember",
    security(("bearer" = [])),
    request_body = NewMember,
    responses(
        (status = 201, description = "The new member", body = members::Member),
        (status = 400, description = "Invalid name or phone, or a bad body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "A member with this phone exists", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn create(state: AppState, user: AuthUser, req: NewMember) -> ApiResult {
    let name = parse_name(&req.name)?;
    let phone = parse_phone(&req.phone)?;
    match members::create(&state.pool, user.church()?, name.as_str(), &phone).await {
        Ok(member) => Ok(json_reply(StatusCode::CREATED, &member)),
        Err(e) if e.is_unique_violation() => Err(phone_taken(&phone)),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(patch, path = "/api/members/{id}", tag = "members", operation_id = "updateMember",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = MemberChanges,
    responses(
        (status = 200, description = "The member after the change", body = members::Member),
        (status = 400, description = "Invalid name or phone, or a bad body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such member in the church", body = ErrorBody),
        (status = 409, description = "Another member has this phone", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn update(state: AppState, user: AuthUser, id: i64, req: MemberChanges) -> ApiResult {
    let name = req.name.as_deref().map(parse_name).transpose()?;
    let phone = req.phone.as_deref().map(parse_phone).transpose()?;
    let church = user.church()?;
    let updated = members::update(
        &state.pool,
        church,
        id,
        name.as_ref().map(PersonName::as_str),
        phone.as_ref(),
    )
    .await;
    match (updated, &phone) {
        (Ok(Some(member)), _) => Ok(json_reply(StatusCode::OK, &member)),
        (Ok(None), _) => Err(no_member(id)),
        (Err(e), Some(phone)) if e.is_unique_violation() => Err(phone_taken(phone)),
        (Err(e), _) => Err(e.into()),
    }
}

#[utoipa::path(delete, path = "/api/members/{id}", tag = "members", operation_id = "removeMember",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Removed: they receive nothing more; past sends keep them"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such member in the church", body = ErrorBody),
    ))]
async fn remove(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    if !members::remove(&state.pool, user.church()?, id).await? {
        return Err(no_member(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn no_member(id: i64) -> ApiError {
    ApiError::not_found(format!("no member {id} in your church"))
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    /// Members added.
    created: usize,
    /// Rows not added, in file order: unreadable, a bad name or phone, a phone repeated in
    /// the file, or one a member already has.
    skipped: Vec<SkippedRow>,
}

#[utoipa::path(post, path = "/api/members/import", tag = "members", operation_id = "importMembers",
    security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "`name,phone` or `name,phone,groups` per line, the groups' names split by \
            `;` (made when the church has none of that name); a first line `name,phone` or \
            `name,phone,groups` is a header; fields may be quoted as spreadsheets export them"),
    responses(
        (status = 200, description = "How many were added, and each row skipped with its \
            line and reason", body = ImportResult),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, description = "Not `text/csv`", body = ErrorBody),
    ))]
async fn import(state: AppState, user: AuthUser, csv: bytes::Bytes) -> ApiResult {
    let church = user.church()?;
    let ParsedImport { rows, mut skipped } = ParsedImport::parse(&csv);
    let values: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.phone.as_str()))
        .collect();
    let added: std::collections::HashMap<String, i64> =
        members::create_many(&state.pool, church, &values)
            .await?
            .into_iter()
            .collect();
    // A row for someone already a member is not added again, but still puts them in its
    // groups: a spreadsheet of the choir is how a church fills its Choir group.
    let existing_with_groups: Vec<&str> = rows
        .iter()
        .filter(|r| !r.groups.is_empty() && !added.contains_key(r.phone.as_str()))
        .map(|r| r.phone.as_str())
        .collect();
    let existing = match existing_with_groups.is_empty() {
        true => Default::default(),
        false => members::ids_by_phone(&state.pool, church, &existing_with_groups).await?,
    };
    let memberships: Vec<(i64, Vec<GroupName>)> = rows
        .iter()
        .filter(|r| !r.groups.is_empty())
        .filter_map(|r| {
            let phone = r.phone.as_str();
            let id = added.get(phone).or_else(|| existing.get(phone))?;
            Some((*id, r.groups.clone()))
        })
        .collect();
    groups::join_by_name(&state.pool, church, &memberships).await?;
    for row in rows
        .iter()
        .filter(|r| !added.contains_key(r.phone.as_str()))
    {
        let grouped = existing.contains_key(row.phone.as_str());
        skipped.push(SkippedRow {
            row: row.row,
            reason: match grouped {
                true => format!(
                    "a member with phone {} already exists; put in the row's groups",
                    row.phone
                ),
                false => format!("a member with phone {} already exists", row.phone),
            },
        });
    }
    skipped.sort_by_key(|s| s.row);
    Ok(json_reply(
        StatusCode::OK,
        &ImportResult {
            created: added.len(),
            skipped,
        },
    ))
}

#[utoipa::path(get, path = "/api/members", tag = "members", operation_id = "listMembers",
    security(("bearer" = [])),
    params(FieldsQuery<members::Member>),
    responses(
        (status = 200, description = "Every member of the caller's church; items keep only \
            `fields` when given", body = MemberList),
        (status = 400, description = "Unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, query: FieldsQuery<members::Member>) -> ApiResult {
    let fields = query.parse()?;
    let members = members::list(&state.pool, user.church()?).await?;
    Ok(json_reply(
        StatusCode::OK,
        &MemberList {
            members: fields.project_all(&members)?,
        },
    ))
}

impl FieldNames for members::Member {}
