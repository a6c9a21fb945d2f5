//! What `POST /api/messages` accepts: the request, its hand-written schema (one of the ways to
//! choose recipients), and reading the audience, `sendAt` and the `Idempotency-Key` from it.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ObjectBuilder, OneOfBuilder, Schema,
    SchemaType, Type,
};

use super::outgoing::{BODY_CONTROLS, MAX_BODY_CHARS};
use crate::db::new_message::Audience;
use crate::error::ApiError;
use crate::http::schema;

const MAX_MEMBER_IDS: usize = 10_000;
const MAX_GROUP_IDS: usize = 1_000;

/// `memberIds` and/or `groupIds`, or `"allMembers": true` (see [`audience`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendRequest {
    pub body: String,
    #[serde(default)]
    pub member_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub group_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub all_members: Option<bool>,
    /// RFC 3339: send then instead of now.
    #[serde(default)]
    pub send_at: Option<String>,
    /// Admins: send even during the church's quiet hours.
    #[serde(default)]
    pub urgent: Option<bool>,
}

/// Written by hand because the document must say what [`audience`] accepts: one of the two
/// ways to choose recipients, which derived field schemas cannot.
impl utoipa::PartialSchema for SendRequest {
    fn schema() -> RefOr<Schema> {
        let member_ids = || schema::ids(1, Some(MAX_MEMBER_IDS));
        let group_ids = || schema::ids(1, Some(MAX_GROUP_IDS));
        let or_null = |mut ids: utoipa::openapi::schema::Array| {
            ids.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
            ids
        };
        let values = |values: &[Value]| ObjectBuilder::new().enum_values(Some(values.to_vec()));
        let fields = ObjectBuilder::new()
            .description(Some(
                "`body` and the audience: `memberIds` and/or `groupIds` (each member once, \
                 opted-out members skipped and listed), or `\"allMembers\": true`.",
            ))
            .property("body", schema::text(MAX_BODY_CHARS, BODY_CONTROLS))
            .property("memberIds", or_null(member_ids()))
            .property("groupIds", or_null(group_ids()))
            .property(
                "allMembers",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null])),
            )
            .property(
                "sendAt",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::DateTime,
                    )))
                    .description(Some(
                        "RFC 3339: send then (at most a year ahead) instead of now; the answer's \
                         status is `scheduled`",
                    )),
            )
            .property(
                "urgent",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
                    .description(Some(
                        "Admins only: send even during the church's quiet hours. Otherwise a \
                         send that would start inside them is scheduled for their end \
                         (`heldForQuietHours` in the answer)",
                    )),
            )
            .required("body")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        let chosen = AllOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .property("allMembers", values(&[Value::Bool(false), Value::Null])),
            )
            .item(
                AnyOfBuilder::new()
                    .item(
                        ObjectBuilder::new()
                            .property("memberIds", member_ids())
                            .required("memberIds"),
                    )
                    .item(
                        ObjectBuilder::new()
                            .property("groupIds", group_ids())
                            .required("groupIds"),
                    ),
            );
        let everyone = ObjectBuilder::new()
            .property("memberIds", ObjectBuilder::new().schema_type(Type::Null))
            .property("groupIds", ObjectBuilder::new().schema_type(Type::Null))
            .property("allMembers", values(&[Value::Bool(true)]))
            .required("allMembers");
        AllOfBuilder::new()
            .item(fields)
            .item(OneOfBuilder::new().item(chosen).item(everyone))
            .into()
    }
}

impl ToSchema for SendRequest {}

pub fn audience(req: &SendRequest) -> Result<Audience<'_>, ApiError> {
    let members = req.member_ids.as_deref();
    let groups = req.group_ids.as_deref();
    let either = || {
        ApiError::bad_request(
            "invalid_recipients",
            "give memberIds and/or groupIds, or \"allMembers\": true",
        )
    };
    if req.all_members == Some(true) {
        return match (members, groups) {
            (None, None) => Ok(Audience::AllMembers),
            _ => Err(either()),
        };
    }
    if members.is_none() && groups.is_none() {
        return Err(either());
    }
    for (name, ids, max) in [
        ("memberIds", members, MAX_MEMBER_IDS),
        ("groupIds", groups, MAX_GROUP_IDS),
    ] {
        match ids {
            Some([]) => {
                return Err(ApiError::bad_request(
                    "invalid_recipients",
                    format!("{name} must not be empty"),
                ));
            }
            Some(ids) if ids.len() > max => {
                return Err(ApiError::bad_request(
                    "invalid_recipients",
                    format!("at most {max} {name}; use allMembers for everyone"),
                ));
            }
            _ => {}
        }
    }
    Ok(Audience::Chosen {
        member_ids: members.unwrap_or(&[]),
        group_ids: groups.unwrap_or(&[]),
    })
}

/// How far ahead a message may be scheduled.
const MAX_SCHEDULE_AHEAD: chrono::TimeDelta = chrono::TimeDelta::days(366);

/// `sendAt`: a moment from now to a year ahead.
pub fn send_at(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let at = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_send_at",
                "sendAt must be an RFC 3339 date and time, such as 2026-12-24T18:00:00-06:00",
            )
        })?
        .with_timezone(&Utc);
    let now = Utc::now();
    if at <= now {
        return Err(ApiError::bad_request(
            "invalid_send_at",
            "sendAt is in the past: leave it out to send now",
        ));
    }
    if at > now + MAX_SCHEDULE_AHEAD {
        return Err(ApiError::bad_request(
            "invalid_send_at",
            "sendAt may be at most a year ahead",
        ));
    }
    Ok(Some(at))
}

/// Printable ASCII, as most APIs that take an `Idempotency-Key` require.
pub fn parse_idempotency_key(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(key) = raw else { return Ok(None) };
    let valid =
        !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if !valid {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(Some(key))
}
