//! `GET /api/admin/mail`: the emails the sandbox mailer kept instead of sending (no
//! `BELFRY_SMTP_URL`), newest first, as the sandbox carrier's texts are seen on their messages.
//! A church's admins see the mail of their church's people; operators see all of it.

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::error::{ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::http::registry::endpoint;
use crate::mail::KeptEmail;
use crate::state::{AppState, with_state};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "admin" / "mail")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<MailPage>())
        .then(|state, user, page| async move { into_response(kept(state, user, page).await) })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MailPage {
    /// At most this many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The sandbox mailer's emails.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeptMail {
    /// Whether emails are kept here: `false` when they go to an SMTP server, and `mail` is empty.
    sandbox: bool,
    mail: Vec<KeptEmail>,
}

#[utoipa::path(get, path = "/api/admin/mail", tag = "notifications", operation_id = "sandboxMail",
    security(("bearer" = [])),
    params(MailPage),
    responses(
        (status = 200, description = "The kept emails, newest first", body = KeptMail),
        (status = 400, description = "Bad `limit`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff", body = ErrorBody),
    ))]
async fn kept(state: AppState, user: AuthUser, page: MailPage) -> ApiResult {
    user.require_admin()?;
    let limit = super::paging::limit(page.limit, 50, 200)?;
    let scope = if user.is_operator() {
        None
    } else {
        Some(user.church()?)
    };
    let body = match &state.sandbox_mail {
        Some(sandbox) => KeptMail {
            sandbox: true,
            mail: sandbox.latest(scope, limit as usize),
        },
        None => KeptMail {
            sandbox: false,
            mail: Vec::new(),
        },
    };
    Ok(json_reply(StatusCode::OK, &body))
}
