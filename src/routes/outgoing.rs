//! What every way of sending a text shares (a broadcast from `POST /api/messages`, a reply from
//! a conversation): the body's rules, the sender's `sms` limit, the church's quiet hours (a send
//! that would start inside them waits for their end unless an admin marks it urgent), storing
//! the message with its recipients, the church's daily quota, waking the outbox, and telling the
//! church's room about lines added to its conversations.

use std::net::IpAddr;

use belfry_actors::limiter::Decision;
use belfry_actors::protocol::{
    ConversationMessageEvent, MessageCreatedEvent, RoomEvent, church_room,
};
use belfry_actors::status::MessageStatus;
use chrono::{DateTime, Utc};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::AuthUser;
use crate::db::new_message::MAX_SEGMENTS;
use crate::db::new_message::{
    self, Audience, CreateError, DailyQuota, IdempotentRequest, NewMessage,
};
use crate::db::quiet_hours;
use crate::domain::{BodyTemplate, Controls, MergeError, Role};
use crate::error::ApiError;
use crate::http::json_reply;
use crate::limits::http::header_value;
use crate::limits::policies::CHURCH_RECIPIENTS;
use crate::state::AppState;

/// Telnyx splits long texts into parts; ten parts of GSM-7 is 1,530 characters.
pub const MAX_BODY_CHARS: usize = 1530;
/// Line breaks and tabs are the only control characters a text message may hold.
pub const BODY_CONTROLS: Controls = Controls::LineBreaks;

/// The body to send: at most [`MAX_BODY_CHARS`] characters as given (as the document's
/// `maxLength` counts), not empty once trimmed, no control characters but line breaks and tabs.
pub fn body(raw: &str) -> Result<&str, ApiError> {
    let body = raw.trim();
    if body.is_empty() || raw.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("body must be 1 to {MAX_BODY_CHARS} characters"),
        ));
    }
    if BODY_CONTROLS.refuses_any(raw) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "body must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(body)
}

/// Counts the request against the user's `sms` policy; the decision, for the answer's headers.
pub async fn check_sms_limit(
    state: &AppState,
    client: Option<IpAddr>,
    user: &AuthUser,
) -> Result<Option<Decision>, ApiError> {
    // An operator of no church has nothing to send to; refused before the limit counts it.
    user.church()?;
    let policy = state
        .limits
        .config()
        .sms
        .for_user(user.church_id, user.role);
    state.limits.check_user(client, user, policy).await
}

/// When a send should go, as asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// Later than now, or `None` for at once.
    pub send_at: Option<DateTime<Utc>>,
    /// Goes even during the church's quiet hours (admins only).
    pub urgent: bool,
}

/// What kind of send it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Broadcast,
    /// A reply in a conversation: its sender is not told when it finishes.
    ConversationReply,
}

/// When it will go: as asked, or moved to the end of the church's quiet hours (with the time
/// it would have gone).
async fn when_it_goes(
    state: &AppState,
    user: &AuthUser,
    church_id: i64,
    timing: Timing,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), ApiError> {
    if timing.urgent {
        if user.role < Role::Admin {
            return Err(ApiError::forbidden(
                "only admins may mark a message urgent (sent even in quiet hours)",
            ));
        }
        return Ok((timing.send_at, None));
    }
    let hours = quiet_hours::settings(&state.pool, church_id)
        .await?
        .and_then(|settings| settings.hours());
    let starts = timing.send_at.unwrap_or_else(|| state.clock.now());
    Ok(match hours.and_then(|hours| hours.held_until(starts)) {
        Some(end) => (Some(end), Some(starts)),
        None => (timing.send_at, None),
    })
}

/// A stored send: the `202` answer (with the quota's headers) and whether it was a replay.
pub struct Sent {
    pub reply: Response,
    pub replayed: bool,
}

/// Stores the message and its recipients and hands them to the outbox: at once, at the time
/// asked, or when the church's quiet hours end.
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    body: &str,
    audience: Audience<'_>,
    (kind, timing): (Kind, Timing),
    idempotency: Option<IdempotentRequest<'_>>,
) -> Result<Sent, ApiError> {
    let church_id = user.church()?;
    let template = BodyTemplate::parse(body).map_err(merge_refusal)?;
    let (send_at, held_from) = when_it_goes(state, user, church_id, timing).await?;
    let daily_quota = state.limits.config().daily_quota(church_id);
    let message = NewMessage {
        church_id,
        sender_id: user.user_id,
        body: &template,
        audience,
        send_at,
        urgent: timing.urgent,
        held_from,
        conversation_reply: kind == Kind::ConversationReply,
    };
    let created = new_message::create(&state.pool, message, idempotency, daily_quota)
        .await
        .map_err(|e| refusal(state, e))?;
    let directory = state.system.directory();
    if !created.replayed {
        // The recipients are in the outbox; wake it rather than wait for its next poll.
        match send_at {
            Some(at) => directory.wake_outbox_in((at - Utc::now()).to_std().unwrap_or_default()),
            None => directory.wake_outbox(),
        }
        let receipt = &created.receipt;
        directory.publish(
            church_room(church_id),
            RoomEvent::MessageCreated(MessageCreatedEvent {
                message_id: receipt.id,
                sender_id: user.user_id,
                body: body.to_owned(),
                status: match send_at {
                    Some(_) => MessageStatus::Scheduled,
                    None => MessageStatus::Pending,
                },
                recipient_count: receipt.recipient_count as i64,
                send_at,
                held_for_quiet_hours: held_from.is_some(),
            }),
        );
    }
    // Sending reads nothing: the church's unread total is what it was.
    let unread_total = match created.conversation_lines.is_empty() {
        true => 0,
        false => crate::db::conversations::unread_total(&state.pool, church_id).await?,
    };
    for added in created.conversation_lines {
        directory.publish(
            church_room(church_id),
            RoomEvent::ConversationMessage(ConversationMessageEvent {
                conversation_id: added.conversation_id,
                direction: added.line.direction,
                message: added.line,
                unread: added.unread,
                unread_total,
            }),
        );
    }
    let mut reply = json_reply(StatusCode::ACCEPTED, &created.receipt);
    if let (Some(left), Some(DailyQuota(quota))) = (created.quota_left, daily_quota) {
        let headers = reply.headers_mut();
        headers.append(
            "ratelimit-policy",
            header_value(format!("\"{CHURCH_RECIPIENTS}\";q={quota};w=86400")),
        );
        headers.append(
            "ratelimit",
            header_value(format!("\"{CHURCH_RECIPIENTS}\";r={left}")),
        );
    }
    Ok(Sent {
        reply,
        replayed: created.replayed,
    })
}

fn refusal(state: &AppState, e: CreateError) -> ApiError {
    match e {
        CreateError::QuotaExceeded {
            quota,
            remaining,
            requested,
        } => {
            state.limits.denials().record(CHURCH_RECIPIENTS);
            church_quota_refusal(quota, remaining, requested)
        }
        CreateError::UnknownMembers(ids) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_members",
            format!("these members do not exist in your church: {ids:?}"),
        ),
        CreateError::Merge(e) => merge_refusal(e),
        CreateError::TooLong { segments } => too_long(segments),
        CreateError::UnknownGroups(ids) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_groups",
            format!("these groups do not exist in your church: {ids:?}"),
        ),
        CreateError::NoRecipients => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_recipients",
            "nobody to send to: no members were chosen, or the chosen groups are empty",
        ),
        CreateError::AllOptedOut(ids) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "all_opted_out",
            format!("every chosen member has opted out: {ids:?}"),
        ),
        CreateError::IdempotencyMismatch => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        ),
        CreateError::Db(e) => e.into(),
    }
}

/// A body whose merge fields cannot be filled in.
pub fn merge_refusal(e: MergeError) -> ApiError {
    let code = match e {
        MergeError::UnknownFields(_) => "unknown_merge_field",
        MergeError::Syntax(_) | MergeError::Render(_) => "invalid_template",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
}

/// A text that would take more than [`MAX_SEGMENTS`] segments for some recipient.
pub fn too_long(segments: usize) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_long",
        format!(
            "a recipient's text would take {segments} segments, merge fields filled in; at most \
             {MAX_SEGMENTS}"
        ),
    )
}

/// A broadcast larger than what is left of the church's quota is refused whole.
fn church_quota_refusal(quota: u32, remaining: u32, requested: usize) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "quota_exceeded",
        format!(
            "this broadcast has {requested} recipients; your church may send to {remaining} more \
             in the last 24 hours (quota {quota}); nothing was sent"
        ),
    )
    .with_details(serde_json::json!({
        "policy": CHURCH_RECIPIENTS,
        "quota": quota,
        "windowSecs": 86_400,
        "remaining": remaining,
        "requested": requested,
    }))
}
