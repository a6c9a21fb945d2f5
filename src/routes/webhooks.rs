//! `POST /webhooks/telnyx`: verifies the signature over the raw bytes and ignores events already
//! applied. Status reports move a recipient forward (never backward) and publish the change;
//! inbound texts join the church's conversation with the phone, and STOP or START opt the
//! sender out or back in.

use crate::http::registry::endpoint;
use belfry_actors::CallError;
use belfry_actors::ports::{Report, ReportOutcome};
use belfry_actors::protocol::{ConversationMessageEvent, RoomEvent, church_room};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::db::inbound::{self, InboundText, Received};
use crate::db::notification_texts;
use crate::domain::OptKeyword;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::state::AppState;
use crate::state::with_state;
use crate::telnyx::webhook::{Envelope, EventData};

const MAX_WEBHOOK_BODY: u64 = 512 * 1024;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(POST, "webhooks" / "telnyx")
        .and(with_state(state))
        .and(warp::header::optional::<String>("telnyx-signature-ed25519"))
        .and(warp::header::optional::<String>("telnyx-timestamp"))
        .and(crate::http::body::bytes_limited(MAX_WEBHOOK_BODY))
        .then(|state, signature, timestamp, body| async move {
            into_response(receive(state, signature, timestamp, body).await)
        })
}

fn ok(outcome: &str) -> ApiResult {
    Ok(json_reply(
        StatusCode::OK,
        &WebhookOutcome {
            outcome: outcome.to_owned(),
        },
    ))
}

/// What the webhook answers Telnyx.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// `applied`, `stale`, `duplicate`, `ignored`, `received`, `unrouted`, `opted_out`,
    /// `opted_in`
    outcome: String,
}

#[utoipa::path(post, path = "/webhooks/telnyx", tag = "telnyx", operation_id = "telnyxWebhook",
    params(
        ("telnyx-signature-ed25519" = String, Header, description = "Base64 Ed25519 signature of `{timestamp}|{body}`"),
        ("telnyx-timestamp" = String, Header, description = "Unix seconds; refused beyond the tolerance"),
    ),
    request_body(content = Object, description = "A Telnyx API v2 event envelope \
        (`message.sent`, `message.finalized`, `message.received`)"),
    responses(
        (status = 200, description = "Applied, or already applied, or ignored", body = WebhookOutcome),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Missing or invalid signature, or a stale timestamp", body = ErrorBody),
        (status = 404, description = "Unknown carrier message id: Telnyx retries later", body = ErrorBody),
        (status = 413, body = ErrorBody),
    ))]
async fn receive(
    state: AppState,
    signature: Option<String>,
    timestamp: Option<String>,
    body: bytes::Bytes,
) -> ApiResult {
    state
        .verifier
        .verify(
            signature.as_deref(),
            timestamp.as_deref(),
            &body,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|e| {
            tracing::warn!(reason = %e, "webhook refused");
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
        })?;
    let envelope: Envelope = crate::http::body::parse(&body)?;
    let event = envelope.data;
    match event.event_type.as_str() {
        "message.sent" | "message.finalized" => status_report(state, event).await,
        "message.received" => inbound(state, event).await,
        _ => ok("ignored"),
    }
}

/// A phone texted a church: the text joins the church's conversation with the phone (made on
/// the first), and STOP or START opts it out or back in (see `db::inbound`).
async fn inbound(state: AppState, event: EventData) -> ApiResult {
    let (Some(from), Some(body)) = (&event.payload.from, &event.payload.text) else {
        return ok("ignored");
    };
    let keyword = OptKeyword::parse(body);
    let text = InboundText {
        event_id: &event.id,
        event_type: &event.event_type,
        from: &from.phone_number,
        to: event.payload.to.first().map(|to| to.phone_number.as_str()),
        platform_number: &state.platform_number,
        body,
        keyword,
    };
    let arrived = match inbound::receive(&state.pool, &text).await? {
        Received::Duplicate => return ok("duplicate"),
        Received::Unrouted { opted } => {
            tracing::warn!(to = ?text.to, opted, "a text for no church was kept for operators");
            return ok(match keyword {
                Some(keyword) => opt_outcome(keyword),
                None => "unrouted",
            });
        }
        Received::Church(arrived) => arrived,
    };
    let directory = state.system.directory();
    for line in arrived.lines {
        directory.publish(
            church_room(arrived.church_id),
            RoomEvent::ConversationMessage(ConversationMessageEvent {
                conversation_id: arrived.conversation.id,
                direction: line.direction,
                message: line,
                unread: i64::from(arrived.conversation.unread),
                unread_total: arrived.unread_total,
            }),
        );
    }
    if let Some(keyword) = keyword {
        tracing::info!(?keyword, members = arrived.opted, "inbound opt keyword");
        return ok(opt_outcome(keyword));
    }
    ok("received")
}

fn opt_outcome(keyword: OptKeyword) -> &'static str {
    match keyword {
        OptKeyword::OptOut => "opted_out",
        OptKeyword::OptIn => "opted_in",
    }
}

/// Telnyx reports a recipient's progress.
async fn status_report(state: AppState, event: EventData) -> ApiResult {
    let Some(report) = event.status_report() else {
        return ok("ignored");
    };
    let carrier_id = report.provider_message_id.clone();
    let (status, failure) = (report.status, report.failure_reason.clone());
    let outcome = state
        .system
        .directory()
        .report(Report::Carrier(report))
        .await
        .map_err(|e| match e {
            CallError::Failed(e) => ApiError::internal(e),
            unavailable => {
                tracing::warn!(%unavailable, "report writer");
                ApiError::unavailable("status reports cannot be applied right now")
            }
        })?;
    match outcome {
        ReportOutcome::Applied(_) => ok("applied"),
        ReportOutcome::Stale => ok("stale"),
        ReportOutcome::Duplicate => ok("duplicate"),
        // Not a member's: perhaps a notification's text.
        ReportOutcome::Unknown => {
            match notification_texts::apply_report(
                &state.pool,
                &carrier_id,
                status,
                failure.as_deref(),
            )
            .await?
            {
                Some(true) => ok("applied"),
                Some(false) => ok("stale"),
                // Not recorded: Telnyx retries, and by then the send may have been recorded.
                None => Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_message",
                    format!("no recipient has carrier message id {carrier_id}"),
                )),
            }
        }
    }
}
