//! `GET /api/analytics/delivery`: how a church's sending went, per day or week of its own
//! calendar: recipients, sent, delivered, failed, delivery rate, replies and opt-outs, with
//! its failures ranked by carrier code. The figures are kept as sending goes (see
//! `db::delivery_analytics`); this route reads the period and fills the quiet intervals in.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::db::delivery_analytics::{self, FailureCount, ReplyFigures, SendFigures};
use crate::db::quiet_hours;
use crate::domain::{Interval, ReportPeriod, TimeZoneName};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_reply, schema};
use crate::state::{AppState, with_state};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "analytics" / "delivery")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<AnalyticsQuery>())
        .then(|state, user, query| async move { into_response(delivery(state, user, query).await) })
}

fn interval_schema() -> utoipa::openapi::schema::Object {
    schema::one_of(Interval::ALL.map(Interval::as_str))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// The first day, in the church's time zone (default: 29 days before `until`; by week,
    /// the Monday 11 weeks before `until`'s week).
    #[param(format = Date)]
    since: Option<String>,
    /// The last day, included (default: today in the church's time zone). At most 731 days
    /// from `since`.
    #[param(format = Date)]
    until: Option<String>,
    /// `day` (default) or `week` (weeks start on Monday).
    #[param(schema_with = interval_schema)]
    interval: Option<String>,
    /// Operators only: the church to report on. Others may name only their own.
    #[param(schema_with = schema::id)]
    church_id: Option<i64>,
}

/// What became of the messages that went out in a stretch of time, and what came back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Recipients of the messages that went out (at their `sendAt`, else when accepted).
    recipients: i64,
    /// Of those, accepted by the carrier.
    sent: i64,
    delivered: i64,
    /// Failed at the carrier, given up on, or skipped because the member had opted out.
    failed: i64,
    /// `delivered / sent`, 0 to 1; `null` when nothing was sent.
    delivery_rate: Option<f64>,
    /// Texts members sent back (STOP and START not counted).
    replies: i64,
    /// Members who opted out.
    opt_outs: i64,
}

impl Figures {
    fn new(sends: SendFigures, replies: ReplyFigures) -> Self {
        let mut figures = Self {
            recipients: sends.recipients,
            sent: sends.sent,
            delivered: sends.delivered,
            failed: sends.failed,
            delivery_rate: None,
            replies: replies.replies,
            opt_outs: replies.opt_outs,
        };
        figures.rate();
        figures
    }

    fn add(&mut self, other: &Self) {
        self.recipients += other.recipients;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.replies += other.replies;
        self.opt_outs += other.opt_outs;
        self.rate();
    }

    fn rate(&mut self) {
        self.delivery_rate = (self.sent > 0).then(|| {
            let rate = self.delivered.min(self.sent) as f64 / self.sent as f64;
            (rate * 10_000.0).round() / 10_000.0
        });
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntervalFigures {
    /// The interval's first day (a Monday for weeks, which may be before `since`).
    start: NaiveDate,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureReason {
    /// The carrier's error code (e.g. `30003`), else the status it ended in (`failed` when
    /// Belfry gave up without one, `skipped` for members who had opted out).
    code: String,
    /// One of the reasons given under this code.
    example: String,
    count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReport {
    since: NaiveDate,
    until: NaiveDate,
    #[schema(schema_with = interval_schema)]
    interval: &'static str,
    /// The church's time zone, in which days and weeks are cut.
    timezone: String,
    /// Every interval of the period, in order, quiet ones included.
    intervals: Vec<IntervalFigures>,
    totals: Figures,
    /// Failures of the period by code, most first (at most 20).
    failure_reasons: Vec<FailureReason>,
}

#[utoipa::path(get, path = "/api/analytics/delivery", tag = "analytics",
    operation_id = "deliveryAnalytics",
    security(("bearer" = [])),
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "The church's delivery figures per interval", body = DeliveryReport),
        (status = 400, description = "A date that is not YYYY-MM-DD, an unknown interval, \
            `since` after `until`, or more than 731 days", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Another church named by someone who is not an operator, \
            or an operator naming none", body = ErrorBody),
        (status = 404, description = "No such church (operators)", body = ErrorBody),
    ))]
async fn delivery(state: AppState, user: AuthUser, query: AnalyticsQuery) -> ApiResult {
    let church = user.church_scope(query.church_id)?;
    let settings = quiet_hours::settings(&state.pool, church)
        .await?
        .ok_or_else(|| ApiError::not_found("no such church"))?;
    // A zone the store holds was checked when it was set; UTC only if it no longer parses.
    let zone = TimeZoneName::parse(&settings.timezone)
        .map(TimeZoneName::zone)
        .unwrap_or(chrono_tz::UTC);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let period = ReportPeriod::parse(
        query.since.as_deref(),
        query.until.as_deref(),
        query.interval.as_deref(),
        today,
    )
    .map_err(|e| ApiError::bad_request("invalid_period", e.to_string()))?;
    let kept = delivery_analytics::delivery(&state.pool, church, zone.name(), &period).await?;
    Ok(json_reply(
        StatusCode::OK,
        &report(period, zone.name(), kept),
    ))
}

fn report(
    period: ReportPeriod,
    timezone: &str,
    kept: delivery_analytics::DeliveryAnalytics,
) -> DeliveryReport {
    let sends: HashMap<NaiveDate, SendFigures> = kept.sends.into_iter().collect();
    let replies: HashMap<NaiveDate, ReplyFigures> = kept.replies.into_iter().collect();
    let mut totals = Figures::default();
    let intervals = period
        .starts()
        .into_iter()
        .map(|start| {
            let figures = Figures::new(
                sends.get(&start).copied().unwrap_or_default(),
                replies.get(&start).copied().unwrap_or_default(),
            );
            totals.add(&figures);
            IntervalFigures { start, figures }
        })
        .collect();
    DeliveryReport {
        since: period.since,
        until: period.until,
        interval: period.interval.as_str(),
        timezone: timezone.to_owned(),
        intervals,
        totals,
        failure_reasons: kept
            .failures
            .into_iter()
            .map(
                |FailureCount {
                     code,
                     example,
                     count,
                 }| FailureReason {
                    code,
                    example,
                    count,
                },
            )
            .collect(),
    }
}
