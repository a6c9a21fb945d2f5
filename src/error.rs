//! The one error shape of Belfry's HTTP API: `{"error": {"code", "message", "details"?}}` with
//! a status, and the translation of warp's own rejections into it.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::http::header::{HeaderName, HeaderValue};
use warp::reply::Response;
use warp::{Rejection, Reply};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Machine-readable particulars (e.g. which rate limit, how long to wait).
    pub details: Option<serde_json::Value>,
    /// Headers the answer carries (e.g. `Retry-After`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Every error answer's body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail<'a> {
    /// Stable, machine-readable: `invalid_json`, `rate_limited`, `unknown_field`, …
    code: &'a str,
    /// For people: what is wrong and what to do.
    message: &'a str,
    /// Particulars of some errors (the limit and when to retry, the unknown field, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    details: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            headers: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Pool(_) | crate::db::DbError::Connect(_) => {
                tracing::error!(error = %e, "database unavailable");
                Self::unavailable("the database is unavailable; try again shortly")
            }
            other => Self::internal(other),
        }
    }
}

impl warp::reject::Reject for ApiError {}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
                details: self.details.as_ref(),
            },
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

/// What every handler returns; both sides are replies.
pub type ApiResult = Result<Response, ApiError>;

pub fn into_response(result: ApiResult) -> Response {
    match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Turns any rejection into the JSON error shape.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if let Some(e) = rejection.find::<ApiError>() {
        e.clone()
    } else if rejection.is_not_found() {
        ApiError::not_found("no such route")
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        // Before the method: the route of this method refused the query, and the path's
        // other routes refused the method.
        ApiError::bad_request("invalid_query", e.to_string())
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route",
        )
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "a Content-Length header is required",
        )
    } else if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        ApiError::bad_request("missing_header", e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        ApiError::bad_request("invalid_header", e.to_string())
    } else {
        tracing::warn!(?rejection, "unhandled rejection");
        ApiError::bad_request("bad_request", "the request could not be processed")
    };
    Ok(error.into_response())
}
