//! The reconciler: asks the carrier about recipients whose reports are late.
//!
//! A webhook the carrier could not deliver (this server down during a restart, the network)
//! would leave its recipient `queued` or `sent` for ever. A recipient the carrier accepted that
//! has no settling report [`ReconcileConfig::after`] after its acceptance (or after its last
//! look) is looked up with the carrier, and the answer is applied as a report like a webhook's:
//! the same precedence (a late look never undoes a later status), the same events. One that is
//! still unsettled [`ReconcileConfig::unconfirmed_after`] after acceptance is given up on as
//! `delivery_unconfirmed`.
//!
//! Looks are batched (the store hands out a round's worth, never the same row to two nodes)
//! and paced at [`ReconcileConfig::rate`], since they share the carrier's API limits with
//! sending. A carrier that fails or throttles a look ends the round early; what was not asked
//! is asked again after the next wait.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::Directory;
use crate::ports::{
    CarrierStatus, DeliveryStore, Report, SmsGateway, StatusReport, StoreError, Unsettled,
};
use crate::stats::{ActorStats, Mailbox};
use crate::status::RecipientStatus;

#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// How long a recipient waits for a settling report before the carrier is asked (again).
    pub after: Duration,
    /// How long after acceptance an unsettled recipient is given up on.
    pub unconfirmed_after: Duration,
    /// Looks per second at most.
    pub rate: f64,
    /// Recipients taken per round.
    pub batch: usize,
    /// How often to look for late recipients when the last round found few.
    pub poll: Duration,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            after: Duration::from_secs(900),
            unconfirmed_after: Duration::from_secs(259_200),
            rate: 10.0,
            batch: 100,
            poll: Duration::from_secs(10),
        }
    }
}

pub enum ReconcilerMsg {
    Round,
}

pub struct Reconciler;

pub struct ReconcilerArgs {
    pub config: ReconcileConfig,
    pub gateway: Arc<dyn SmsGateway>,
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
}

/// What a round did.
#[derive(Debug, Default, PartialEq, Eq)]
struct RoundOutcome {
    /// The store had more waiting than one round takes.
    more: bool,
    /// The carrier failed or throttled a look.
    carrier_failed: bool,
}

impl Actor for Reconciler {
    type Msg = ReconcilerMsg;
    type State = ReconcilerArgs;
    type Arguments = ReconcilerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: ReconcilerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Mailbox::new(myself, Arc::clone(&args.stats)).send(ReconcilerMsg::Round);
        Ok(args)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.record_handled();
        let ReconcilerMsg::Round = msg;
        let next = match round(state).await {
            Ok(RoundOutcome {
                more: true,
                carrier_failed: false,
            }) => Duration::ZERO,
            Ok(_) => state.config.poll,
            Err(err) => {
                state.stats.record_failure();
                tracing::warn!(%err, "cannot take late recipients to look up");
                state.config.poll
            }
        };
        let mailbox = Mailbox::new(myself, Arc::clone(&state.stats));
        tokio::spawn(async move {
            tokio::time::sleep(next).await;
            mailbox.send(ReconcilerMsg::Round);
        });
        Ok(())
    }
}

async fn round(state: &ReconcilerArgs) -> Result<RoundOutcome, StoreError> {
    let config = &state.config;
    let taken = state.store.take_lookups(config.after, config.batch).await?;
    let mut outcome = RoundOutcome {
        more: taken.taken >= config.batch,
        carrier_failed: false,
    };
    let pace = Duration::from_secs_f64(1.0 / config.rate.max(0.001));
    let mut unsettled = taken.unsettled.into_iter().peekable();
    while let Some(recipient) = unsettled.next() {
        let answer = if outcome.carrier_failed {
            None
        } else {
            match state
                .gateway
                .lookup(recipient.provider_message_id.clone())
                .await
            {
                Ok(answer) => answer,
                Err(failure) => {
                    tracing::warn!(
                        detail = %failure.detail,
                        status = ?failure.http_status,
                        "the carrier did not answer a look-up; the rest wait for the next round"
                    );
                    outcome.carrier_failed = true;
                    None
                }
            }
        };
        if let Some(report) = report_for(&recipient, answer, config.unconfirmed_after)
            && state
                .directory
                .report(Report::Carrier(report))
                .await
                .is_err()
        {
            tracing::warn!("the report writer did not take a looked-up status; asked again later");
        }
        if !outcome.carrier_failed && unsettled.peek().is_some() {
            tokio::time::sleep(pace).await;
        }
    }
    Ok(outcome)
}

/// What to apply for a recipient, given the carrier's answer (`None`: unknown, or not asked).
fn report_for(
    recipient: &Unsettled,
    answer: Option<CarrierStatus>,
    unconfirmed_after: Duration,
) -> Option<StatusReport> {
    let id = &recipient.provider_message_id;
    let given_up = recipient.accepted_for >= unconfirmed_after;
    match answer {
        Some(answer) if answer.status.is_settled() || !given_up => Some(StatusReport {
            // A look that finds the same status again is a duplicate, not a second change.
            event_id: format!("lookup:{id}:{}", answer.status.as_str()),
            event_type: "carrier.lookup".to_owned(),
            provider_message_id: id.clone(),
            status: answer.status,
            failure_reason: answer.failure_reason,
        }),
        _ if given_up => Some(StatusReport {
            event_id: format!("unconfirmed:{id}"),
            event_type: "carrier.unconfirmed".to_owned(),
            provider_message_id: id.clone(),
            status: RecipientStatus::DeliveryUnconfirmed,
            failure_reason: None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn waiting(for_: Duration) -> Unsettled {
        Unsettled {
            provider_message_id: "m-1".to_owned(),
            accepted_for: for_,
        }
    }

    fn said(status: RecipientStatus) -> Option<CarrierStatus> {
        Some(CarrierStatus {
            status,
            failure_reason: None,
        })
    }

    #[test]
    fn the_carriers_answer_is_applied_until_the_recipient_is_given_up_on() {
        let delivered = report_for(&waiting(DAY), said(RecipientStatus::Delivered), 3 * DAY);
        let delivered = delivered.unwrap();
        assert_eq!(delivered.status, RecipientStatus::Delivered);
        assert_eq!(delivered.event_id, "lookup:m-1:delivered");

        let sent = report_for(&waiting(DAY), said(RecipientStatus::Sent), 3 * DAY).unwrap();
        assert_eq!(sent.status, RecipientStatus::Sent);

        // Unknown to the carrier, or not asked: nothing yet.
        assert!(report_for(&waiting(DAY), None, 3 * DAY).is_none());
    }

    #[test]
    fn past_the_deadline_an_unsettled_recipient_is_unconfirmed() {
        let late = waiting(3 * DAY);
        for answer in [None, said(RecipientStatus::Sent)] {
            let report = report_for(&late, answer, 3 * DAY).unwrap();
            assert_eq!(report.status, RecipientStatus::DeliveryUnconfirmed);
            assert_eq!(report.event_id, "unconfirmed:m-1");
        }
        // A final answer still wins over giving up.
        let failed = report_for(&late, said(RecipientStatus::DeliveryFailed), 3 * DAY).unwrap();
        assert_eq!(failed.status, RecipientStatus::DeliveryFailed);
    }
}
