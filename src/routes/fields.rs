//! Sparse fields: `?fields=id,status,deliveredCount` keeps only those fields of a detail
//! answer, or of every item of a list answer, so a client that polls a list downloads what it
//! shows and nothing else.
//!
//! The fields a route knows are read from its item type's OpenAPI schema, so the check and the
//! document cannot disagree: a field is accepted exactly when the document lists it.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::error::ApiError;

/// What a route can keep the fields of: the names a client may ask for. By default the
/// properties of the type's OpenAPI schema.
pub trait FieldNames: ToSchema + Sized {
    fn field_names() -> Vec<String> {
        of::<Self>()
    }
}

/// `fields=` in the OpenAPI document: a list of `T`'s field names and nothing else.
pub fn schema<T: FieldNames>() -> utoipa::openapi::schema::Object {
    crate::http::schema::field_list(&T::field_names())
}

/// A list of `T` in the OpenAPI document, where each item has only the fields `fields=` kept:
/// `T`'s properties, none of them required.
pub fn partial_list<T: FieldNames>() -> utoipa::openapi::schema::Array {
    let mut item = T::schema();
    if let RefOr::T(Schema::Object(object)) = &mut item {
        object.required.clear();
    }
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(item)
        .build()
}

/// The query of a route whose only parameter is `fields`, the fields of `T`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, bound = "")]
#[into_params(parameter_in = Query)]
pub struct FieldsQuery<T: FieldNames> {
    /// Comma-separated names of the fields to keep, e.g. `id,status`; all when absent.
    #[param(schema_with = schema::<T>)]
    pub fields: Option<String>,
    #[serde(skip)]
    #[param(ignore)]
    kept: PhantomData<T>,
}

impl<T: FieldNames> FieldsQuery<T> {
    pub fn parse(&self) -> Result<Fields, ApiError> {
        Fields::parse(self.fields.as_deref(), T::field_names)
    }
}

/// The property names of `T`'s schema, as they appear in JSON.
pub fn of<T: ToSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Which fields to keep; `None`: all of them.
#[derive(Debug, Default)]
pub struct Fields(Option<BTreeSet<String>>);

impl Fields {
    /// Parses `?fields=` against the fields the route knows (asked only when `fields` is
    /// given); an unknown one is a `400` naming it.
    pub fn parse(raw: Option<&str>, known: impl FnOnce() -> Vec<String>) -> Result<Self, ApiError> {
        let Some(raw) = raw else {
            return Ok(Self(None));
        };
        let known = known();
        let mut chosen = BTreeSet::new();
        for name in raw.split(',').map(str::trim) {
            if name.is_empty() {
                return Err(ApiError::bad_request(
                    "invalid_fields",
                    "fields is a comma-separated list of field names, e.g. fields=id,status",
                ));
            }
            if !known.iter().any(|k| k == name) {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!("unknown field {name:?}; known fields: {}", known.join(", ")),
                )
                .with_details(serde_json::json!({ "field": name, "known": known })));
            }
            chosen.insert(name.to_owned());
        }
        Ok(Self(Some(chosen)))
    }

    /// Keeps the chosen fields of one object.
    pub fn project(&self, mut value: Value) -> Value {
        if let (Some(chosen), Value::Object(map)) = (&self.0, &mut value) {
            map.retain(|key, _| chosen.contains(key));
        }
        value
    }

    /// Keeps the chosen fields of each item.
    pub fn project_all<T: serde::Serialize>(&self, items: &[T]) -> Result<Value, ApiError> {
        let value = serde_json::to_value(items).map_err(ApiError::internal)?;
        Ok(match value {
            Value::Array(items) if self.0.is_some() => {
                Value::Array(items.into_iter().map(|item| self.project(item)).collect())
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        id: i64,
        delivered_count: i32,
        body: String,
    }

    #[test]
    fn known_fields_come_from_the_schema_and_unknown_ones_are_named() {
        assert_eq!(of::<Item>(), ["body", "deliveredCount", "id"]);
        let fields = Fields::parse(Some("id, deliveredCount"), of::<Item>).unwrap();
        let items = [Item {
            id: 1,
            delivered_count: 2,
            body: "hi".into(),
        }];
        assert_eq!(
            fields.project_all(&items).unwrap(),
            serde_json::json!([{"id": 1, "deliveredCount": 2}])
        );
        let error = Fields::parse(Some("id,colour"), of::<Item>).unwrap_err();
        assert_eq!(error.code, "unknown_field");
        assert!(error.message.contains("colour"));
        assert_eq!(
            Fields::parse(Some("id,"), of::<Item>).unwrap_err().code,
            "invalid_fields"
        );
        assert!(Fields::parse(None, of::<Item>).unwrap().0.is_none());
    }
}
