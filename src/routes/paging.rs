//! `?limit=` on the list routes: how many items a page holds, within the route's bounds.

use crate::error::ApiError;

/// `given`, else `default`; `400 invalid_limit` outside 1 to `max`.
pub fn limit(given: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    let limit = given.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {max}"),
        ));
    }
    Ok(limit)
}
