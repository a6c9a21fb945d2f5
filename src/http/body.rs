//! Request bodies: the one place that reads and parses a JSON body, so every route refuses
//! bad input the same way.
//!
//! - not `application/json` → `415 unsupported_media_type`, before the body is read;
//! - larger than the configured limit (`BELFRY_MAX_BODY_BYTES`) → `413 payload_too_large`,
//!   from `Content-Length` when it is given, while reading when the body is chunked, so an
//!   oversized body is never held whole;
//! - not JSON, wrong types, missing or unknown fields → `400 invalid_json`, with `details`
//!   saying which kind of problem and where;
//! - a string with the NUL character (`\u0000`), which PostgreSQL cannot store in text →
//!   `400 invalid_text`, whatever the field.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// The body limit when `BELFRY_MAX_BODY_BYTES` is not set.
pub const DEFAULT_MAX_BODY: u64 = 256 * 1024;

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
    .with_details(serde_json::json!({ "limitBytes": limit }))
}

fn unsupported_media_type(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("send the body as {expected}"),
    )
}

/// Whether `content_type`'s essence (its part before any `;`) is `expected`.
fn is_type(content_type: Option<&str>, expected: &str) -> bool {
    content_type.is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case(expected)
    })
}

/// A body of type `expected` (else `415`), at most `limit` bytes, as its bytes.
pub fn typed_bytes(
    expected: &'static str,
    limit: u64,
) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and_then(move |content_type: Option<String>| async move {
            if is_type(content_type.as_deref(), expected) {
                Ok(())
            } else {
                Err(warp::reject::custom(unsupported_media_type(expected)))
            }
        })
        .untuple_one()
        .and(bytes_limited(limit))
}

/// The body's bytes, at most `limit` of them.
pub fn bytes_limited(limit: u64) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and_then(move |length: Option<u64>| async move {
            match length {
                Some(length) if length > limit => Err(warp::reject::custom(too_large(limit))),
                _ => Ok(()),
            }
        })
        .untuple_one()
        .and(warp::body::stream())
        .and_then(move |stream| async move {
            collect(stream, limit).await.map_err(warp::reject::custom)
        })
}

async fn collect<S, B>(stream: S, limit: u64) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request("invalid_body", format!("could not read the body: {e}"))
        })?;
        if (body.len() + chunk.remaining()) as u64 > limit {
            return Err(too_large(limit));
        }
        body.put(chunk);
    }
    Ok(body.freeze())
}

/// Why a body did not parse into its type, for the error's `details`.
fn problem(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "syntax",
        Category::Data if e.to_string().starts_with("unknown field") => "unknown_field",
        Category::Data if e.to_string().starts_with("missing field") => "missing_field",
        Category::Data => "type",
    }
}

/// Whether JSON text holds the NUL character. Valid JSON can only write it escaped, and a
/// backslash only appears inside strings, escaping the character after it.
pub fn has_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            0 => return true,
            b'\\' if json[i + 1..].starts_with(b"u0000") => return true,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    false
}

pub fn nul_refused() -> ApiError {
    ApiError::bad_request(
        "invalid_text",
        "text must not contain the NUL character (\\u0000)",
    )
}

/// Parses JSON bytes into `T`, or the `400` that says what is wrong.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if has_nul(body) {
        return Err(nul_refused());
    }
    // Every body is an object; serde would also read a struct from an array of its fields.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(
            ApiError::bad_request("invalid_json", "the body must be a JSON object")
                .with_details(serde_json::json!({ "problem": "type", "line": 1, "column": 1 })),
        );
    }
    serde_json::from_slice::<T>(body)
        .or_else(|e| whole_numbers_as_integers(body).ok_or(e))
        .map_err(|e| {
            ApiError::bad_request("invalid_json", e.to_string()).with_details(serde_json::json!({
                "problem": problem(&e),
                "line": e.line(),
                "column": e.column(),
            }))
        })
}

/// JSON (and the OpenAPI document's JSON Schema) counts `3.0` as the integer 3, as JavaScript
/// does; serde does not. A body that failed to parse is read again with each whole number
/// written as an integer: `Some` if that parses. Only failed bodies pay for the second read.
fn whole_numbers_as_integers<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    fn rewrite(value: &mut serde_json::Value) -> bool {
        use serde_json::Value;
        match value {
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // Only where an f64 holds every whole number exactly (JavaScript's safe
                // integers): beyond, `1e19` or `-9223372036854775809` would become a
                // different number.
                let bound = 2f64.powi(53);
                if f.fract() == 0.0 && (-bound..=bound).contains(&f) {
                    *value = Value::from(f as i64);
                    return true;
                }
                false
            }
            // `|`, not `||`: every member is rewritten.
            Value::Array(items) => items.iter_mut().fold(false, |any, v| rewrite(v) | any),
            Value::Object(map) => map.values_mut().fold(false, |any, v| rewrite(v) | any),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !rewrite(&mut value) {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// For `Option<Option<String>>` fields of a change: a field that is there, `null` included
/// (`Some(None)`: clear it); absent stays `None` (leave it).
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A JSON body of at most `limit` bytes, parsed into `T`.
pub fn json<T: DeserializeOwned + Send>(
    limit: u64,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    typed_bytes("application/json", limit)
        .and_then(|body: Bytes| async move { parse::<T>(&body).map_err(warp::reject::custom) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
    }

    #[test]
    fn each_kind_of_bad_body_is_named() {
        let kind = |body: &str| {
            parse::<Sample>(body.as_bytes())
                .unwrap_err()
                .details
                .unwrap()["problem"]
                .clone()
        };
        assert_eq!(kind("{not json"), "syntax");
        assert_eq!(kind("{\"name\": 1}"), "type");
        assert_eq!(kind("{}"), "missing_field");
        assert_eq!(kind("{\"name\": \"a\", \"x\": 1}"), "unknown_field");
        assert_eq!(kind(" [\"a\"]"), "type");
        assert!(parse::<Sample>(b"{\"name\": \"a\"}").is_ok());
    }

    #[test]
    fn whole_numbers_written_with_a_fraction_are_integers() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Ids {
            ids: Vec<i64>,
            one: i64,
        }
        let ids: Ids = parse(br#"{"ids": [1.0, 2, -3.0e0], "one": 7.0}"#).unwrap();
        assert_eq!(
            ids,
            Ids {
                ids: vec![1, 2, -3],
                one: 7
            }
        );
        let error = parse::<Ids>(br#"{"ids": [1.5], "one": 1}"#).unwrap_err();
        assert_eq!(error.details.unwrap()["problem"], "type");
        assert!(parse::<Ids>(br#"{"ids": [], "one": 1e300}"#).is_err());
        assert!(parse::<Ids>(br#"{"ids": [], "one": -9223372036854775809}"#).is_err());
        // Between 2^51 and 2^52 an f64 has halves: parsed inexactly, this would be ….5.
        let big: Ids = parse(br#"{"ids": [4017693329720738.0], "one": 1}"#).unwrap();
        assert_eq!(big.ids, [4017693329720738]);
    }

    #[test]
    fn a_nul_anywhere_is_refused_but_an_escaped_backslash_before_u0000_is_text() {
        assert!(has_nul(br#"{"name":"a\u0000b"}"#));
        assert!(has_nul(br#"{"a\u0000":1}"#));
        assert!(
            !has_nul(br#"{"name":"a\\u0000b"}"#),
            "a backslash, then u0000"
        );
        assert!(has_nul(br#"{"name":"a\\\u0000b"}"#));
        assert!(!has_nul(br#"{"name":"\u0041"}"#));
        assert_eq!(
            parse::<Sample>(br#"{"name":"\u0000"}"#).unwrap_err().code,
            "invalid_text"
        );
    }

    #[test]
    fn only_json_media_types_are_taken() {
        assert!(is_type(Some("application/json"), "application/json"));
        assert!(is_type(
            Some("Application/JSON; charset=utf-8"),
            "application/json"
        ));
        assert!(!is_type(Some("application/jsonp"), "application/json"));
        assert!(!is_type(Some("text/plain"), "application/json"));
        assert!(!is_type(None, "application/json"));
    }
}
