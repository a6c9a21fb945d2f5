//! OpenAPI schemas of the inputs the server checks by hand (names, texts, phone numbers,
//! enumerations, `fields=`), so the document declares exactly what a request may hold: a
//! generated client or a fuzzer that keeps to the document is never refused, and whatever the
//! document forbids is refused. Each schema takes its limits from the code that checks them.

use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};

use crate::auth::password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use crate::domain::{ChannelName, ClockTime, Controls, EmailAddress, PersonName, PhoneNumber};

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Text the server trims and then wants 1 to `max` characters of: at least one character that
/// is not white space, and no refused control character.
pub fn text(max: usize, controls: Controls) -> Object {
    let refused = controls.refused_class();
    string()
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!(r"^[^{refused}]*[^\s{refused}][^{refused}]*$")))
        .build()
}

/// Text that may be empty (or only white space), of at most `max` characters.
pub fn optional_text(max: usize, controls: Controls) -> Object {
    let refused = controls.refused_class();
    string()
        .max_length(Some(max))
        .pattern(Some(format!(r"^[^{refused}]*$")))
        .build()
}

/// Any text but the NUL character, which no request may carry ([`super::body::has_nul`]).
pub const NO_NUL: &str = r"^[^\x00]*$";

/// Free text: anything but NUL.
pub fn free_text() -> Object {
    matching(NO_NUL)
}

/// Free text of at least one character.
pub fn nonempty_free_text() -> Object {
    string().min_length(Some(1)).pattern(Some(NO_NUL)).build()
}

/// A new password ([`crate::auth::password::check_length`]).
pub fn password() -> Object {
    string()
        .min_length(Some(MIN_PASSWORD_LEN))
        .max_length(Some(MAX_PASSWORD_LEN))
        .pattern(Some(NO_NUL))
        .build()
}

/// A string matching `pattern`.
pub fn matching(pattern: &str) -> Object {
    string().pattern(Some(pattern)).build()
}

/// One of `values`.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    string().enum_values(Some(values)).build()
}

/// An id the server stores: a positive 64-bit integer.
pub fn id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .maximum(Some(i64::MAX))
        .build()
}

/// The same schema, also allowing `null` (a field a PATCH may leave alone).
pub fn or_null(mut object: Object) -> Object {
    if let SchemaType::Type(kind) = object.schema_type {
        object.schema_type = SchemaType::from_iter([kind, Type::Null]);
    }
    // An enumeration lists every value allowed: null too, or the type's null is refused.
    if let Some(values) = object.enum_values.as_mut() {
        values.push(serde_json::Value::Null);
    }
    object
}

/// Ids of one church's rows, each positive: `min` to `max` (if given) of them.
pub fn ids(min: usize, max: Option<usize>) -> Array {
    ArrayBuilder::new()
        .items(id())
        .min_items(Some(min))
        .max_items(max)
        .build()
}

pub fn person_name_or_null() -> Object {
    or_null(person_name())
}

pub fn phone_or_null() -> Object {
    or_null(phone())
}

/// An IANA time zone name ([`crate::domain::TimeZoneName`]), every one the server knows; or
/// null.
pub fn time_zone_or_null() -> Object {
    or_null(one_of(
        chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()),
    ))
}

/// A time of day `HH:MM` ([`ClockTime`]), or null.
pub fn clock_time_or_null() -> Object {
    or_null(matching(ClockTime::PATTERN))
}

/// A person's name ([`PersonName`]).
pub fn person_name() -> Object {
    text(PersonName::MAX_LEN, Controls::None)
}

/// An E.164 phone number ([`PhoneNumber`]).
pub fn phone() -> Object {
    matching(PhoneNumber::PATTERN)
}

/// An email address ([`EmailAddress`]).
pub fn email() -> Object {
    string()
        .max_length(Some(EmailAddress::MAX_LEN))
        .pattern(Some(EmailAddress::PATTERN))
        .build()
}

/// A channel's name ([`ChannelName`]).
pub fn channel_name() -> Object {
    text(ChannelName::MAX_LEN, Controls::TabsAndNewlines)
}

/// `fields=`: a comma-separated list of `known` names, each perhaps padded with spaces.
pub fn field_list(known: &[String]) -> Object {
    let names = known
        .iter()
        .map(|name| regex_escape(name))
        .collect::<Vec<_>>()
        .join("|");
    let one = format!(r" *(?:{names}) *");
    matching(&format!("^{one}(?:,{one})*$"))
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = r"\^$.|?*+()[]{}/".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(object: &Object) -> String {
        serde_json::to_value(object).unwrap()["pattern"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn text_wants_something_besides_spaces_and_no_refused_control() {
        let p = pattern(&text(200, Controls::None));
        assert_eq!(
            p,
            r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
        );
    }

    #[test]
    fn field_lists_name_only_known_fields() {
        let p = pattern(&field_list(&["id".into(), "status".into()]));
        assert_eq!(p, r"^ *(?:id|status) *(?:, *(?:id|status) *)*$");
        assert_eq!(regex_escape("a.b"), r"a\.b");
    }

    #[test]
    fn an_enumeration_that_may_be_null_lists_null() {
        let schema = serde_json::to_value(or_null(one_of(["admin", "staff"]))).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["admin", "staff", null]));
    }
}
