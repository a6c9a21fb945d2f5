//! What a batch of reports does, decided apart from the store that applies it.
//!
//! The store locks the recipients a batch names and records which event ids are new; these
//! functions then decide each report's outcome in order: unknown send, duplicate event, stale
//! (ranked at or below the recipient's status, as a late `sent` after `delivered` is), or
//! applied. A recipient named several times in one batch moves once, to the furthest status,
//! and each applied report gets its own event with the message's totals just after it.

use std::collections::{HashMap, HashSet};

use super::{RecipientStatus, Totals, Transition};
use crate::ports::{ReportOutcome, StatusReport};
use crate::protocol::MessageEvent;

/// A recipient one of the batch's webhooks names, as the store holds it.
#[derive(Debug, Clone)]
pub struct Named {
    pub recipient_id: i64,
    pub message_id: i64,
    pub member_id: i64,
    pub provider_message_id: String,
    pub rank: i16,
}

/// A recipient whose acceptance the store recorded, with its status afterwards.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub recipient_id: i64,
    pub message_id: i64,
    pub member_id: i64,
    pub status: Option<RecipientStatus>,
}

/// One applied change, with the place of the report it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub index: usize,
    pub transition: Transition,
}

/// The furthest status a batch moves one recipient to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Furthest {
    pub status: RecipientStatus,
    pub reason: Option<String>,
}

/// A batch's outcomes, one place per report; a place left empty is stale.
pub type Outcomes = [Option<ReportOutcome>];

/// Acceptances: a recipient the acceptance made `queued` changed; any other was further on
/// already (a webhook overtook the acceptance) and is stale.
pub fn accepted(
    rows: Vec<Accepted>,
    index_of: &HashMap<i64, usize>,
    outcomes: &mut Outcomes,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for row in rows {
        let Some(&index) = index_of.get(&row.recipient_id) else {
            continue;
        };
        match row.status {
            Some(RecipientStatus::Queued) => changes.push(Change {
                index,
                transition: Transition {
                    recipient_id: row.recipient_id,
                    message_id: row.message_id,
                    member_id: row.member_id,
                    status: RecipientStatus::Queued,
                    failure_reason: None,
                },
            }),
            _ => outcomes[index] = Some(ReportOutcome::Stale),
        }
    }
    changes
}

/// Carrier reports, in the order given (each with its place in the batch): the outcome of
/// each, the changes to publish, and the furthest status of each recipient.
pub fn carrier(
    named: Vec<Named>,
    mut new_events: HashSet<String>,
    reports: &[(usize, &StatusReport)],
    outcomes: &mut Outcomes,
) -> (Vec<Change>, HashMap<i64, Furthest>) {
    let mut recipients: HashMap<String, Named> = named
        .into_iter()
        .map(|n| (n.provider_message_id.clone(), n))
        .collect();
    let mut changes = Vec::new();
    let mut furthest: HashMap<i64, Furthest> = HashMap::new();
    for &(index, report) in reports {
        let Some(recipient) = recipients.get_mut(&report.provider_message_id) else {
            outcomes[index] = Some(ReportOutcome::Unknown);
            continue;
        };
        if !new_events.remove(&report.event_id) {
            outcomes[index] = Some(ReportOutcome::Duplicate);
            continue;
        }
        if report.status.rank() <= recipient.rank {
            outcomes[index] = Some(ReportOutcome::Stale);
            continue;
        }
        recipient.rank = report.status.rank();
        furthest.insert(
            recipient.recipient_id,
            Furthest {
                status: report.status,
                reason: report.failure_reason.clone(),
            },
        );
        changes.push(Change {
            index,
            transition: Transition {
                recipient_id: recipient.recipient_id,
                message_id: recipient.message_id,
                member_id: recipient.member_id,
                status: report.status,
                failure_reason: report.failure_reason.clone(),
            },
        });
    }
    (changes, furthest)
}

/// How much each message's totals grow with these changes: (delivered, failed).
pub fn increments(changes: &[Change]) -> HashMap<i64, (i64, i64)> {
    let mut grow: HashMap<i64, (i64, i64)> = HashMap::new();
    for change in changes {
        let (delivered, failed) = change.transition.status.counts_as().increments();
        let entry = grow.entry(change.transition.message_id).or_default();
        entry.0 += delivered;
        entry.1 += failed;
    }
    grow
}

/// Gives every change its event, with its message's totals as they stood just after it,
/// counting from the totals before the batch.
pub fn publish(
    changes: Vec<Change>,
    mut running: HashMap<i64, Totals>,
    timestamp: &str,
    outcomes: &mut Outcomes,
) {
    for change in changes {
        let Some(totals) = running.get_mut(&change.transition.message_id) else {
            // Its message is gone (deleted meanwhile): nothing to count it into.
            continue;
        };
        totals.count(change.transition.status);
        let event = MessageEvent::new(&change.transition, totals, timestamp.to_owned());
        outcomes[change.index] = Some(ReportOutcome::Applied(Box::new(event)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::MessageStatus;

    fn report(event: &str, carrier_id: &str, status: RecipientStatus) -> StatusReport {
        StatusReport {
            event_id: event.to_owned(),
            event_type: "message.finalized".to_owned(),
            provider_message_id: carrier_id.to_owned(),
            status,
            failure_reason: status
                .is_failure()
                .then(|| "40008 Undeliverable".to_owned()),
        }
    }

    fn named(id: i64, carrier_id: &str, status: RecipientStatus) -> Named {
        Named {
            recipient_id: id,
            message_id: 100,
            member_id: id + 10,
            provider_message_id: carrier_id.to_owned(),
            rank: status.rank(),
        }
    }

    fn kinds(outcomes: &Outcomes) -> Vec<&'static str> {
        outcomes
            .iter()
            .map(|o| match o {
                None => "-",
                Some(ReportOutcome::Applied(_)) => "applied",
                Some(ReportOutcome::Stale) => "stale",
                Some(ReportOutcome::Duplicate) => "duplicate",
                Some(ReportOutcome::Unknown) => "unknown",
            })
            .collect()
    }

    #[test]
    fn unknown_duplicate_and_stale_reports_change_nothing() {
        use RecipientStatus::*;
        let reports = [
            report("e1", "nobody", Delivered),
            report("e2", "c1", Delivered),
            report("e2", "c1", Delivered),
            report("e3", "c2", Sent),
        ];
        let indexed: Vec<(usize, &StatusReport)> = reports.iter().enumerate().collect();
        let new_events: HashSet<String> = ["e1", "e2", "e3"].map(String::from).into();
        let mut outcomes = vec![None; reports.len()];
        let (changes, furthest) = carrier(
            vec![named(1, "c1", Queued), named(2, "c2", Delivered)],
            new_events,
            &indexed,
            &mut outcomes,
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].index, 1);
        assert_eq!(furthest[&1].status, Delivered);
        assert!(!furthest.contains_key(&2));
        // Not yet published: the applied one's place is filled by `publish`.
        assert_eq!(kinds(&outcomes), ["unknown", "-", "duplicate", "stale"]);
    }

    #[test]
    fn an_event_recorded_by_an_earlier_batch_is_a_duplicate() {
        let reports = [report("old", "c1", RecipientStatus::Sent)];
        let indexed: Vec<(usize, &StatusReport)> = reports.iter().enumerate().collect();
        let mut outcomes = vec![None; 1];
        let (changes, _) = carrier(
            vec![named(1, "c1", RecipientStatus::Queued)],
            HashSet::new(),
            &indexed,
            &mut outcomes,
        );
        assert!(changes.is_empty());
        assert_eq!(kinds(&outcomes), ["duplicate"]);
    }

    #[test]
    fn out_of_order_reports_end_at_the_furthest_status_and_a_late_sent_is_stale() {
        use RecipientStatus::*;
        let reports = [
            report("a", "c1", Delivered),
            report("b", "c1", Sent),
            report("c", "c2", Sent),
            report("d", "c2", DeliveryFailed),
        ];
        let indexed: Vec<(usize, &StatusReport)> = reports.iter().enumerate().collect();
        let new_events: HashSet<String> = ["a", "b", "c", "d"].map(String::from).into();
        let mut outcomes = vec![None; reports.len()];
        let (changes, furthest) = carrier(
            vec![named(1, "c1", Queued), named(2, "c2", Queued)],
            new_events,
            &indexed,
            &mut outcomes,
        );
        assert_eq!(furthest[&1].status, Delivered);
        assert_eq!(furthest[&2].status, DeliveryFailed);
        assert_eq!(furthest[&2].reason.as_deref(), Some("40008 Undeliverable"));
        let indexes: Vec<usize> = changes.iter().map(|c| c.index).collect();
        assert_eq!(indexes, [0, 2, 3]);
        assert_eq!(kinds(&outcomes), ["-", "stale", "-", "-"]);

        let before = HashMap::from([(
            100,
            Totals {
                church_id: 7,
                recipients: 2,
                delivered: 0,
                failed: 0,
            },
        )]);
        assert_eq!(increments(&changes)[&100], (1, 1));
        publish(changes, before, "2026-12-03T08:00:00.000Z", &mut outcomes);
        let events: Vec<MessageEvent> = outcomes
            .iter()
            .filter_map(|o| match o {
                Some(ReportOutcome::Applied(e)) => Some((**e).clone()),
                _ => None,
            })
            .collect();
        // Each event carries the totals just after its own change, in order.
        let totals: Vec<(i64, i64, MessageStatus)> = events
            .iter()
            .map(|e| (e.delivered_count, e.failed_count, e.message_status))
            .collect();
        assert_eq!(
            totals,
            [
                (1, 0, MessageStatus::Sending),
                (1, 0, MessageStatus::Sending),
                (1, 1, MessageStatus::Completed)
            ]
        );
        assert!(events.iter().all(|e| e.church_id == 7));
        assert_eq!(events[2].status, DeliveryFailed);
    }

    #[test]
    fn an_acceptance_overtaken_by_a_webhook_is_stale() {
        let rows = vec![
            Accepted {
                recipient_id: 1,
                message_id: 100,
                member_id: 11,
                status: Some(RecipientStatus::Queued),
            },
            Accepted {
                recipient_id: 2,
                message_id: 100,
                member_id: 12,
                status: Some(RecipientStatus::Delivered),
            },
        ];
        let index_of = HashMap::from([(1, 0), (2, 1)]);
        let mut outcomes = vec![None; 2];
        let changes = accepted(rows, &index_of, &mut outcomes);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].transition.status, RecipientStatus::Queued);
        assert_eq!(kinds(&outcomes), ["-", "stale"]);
    }

    #[test]
    fn a_change_whose_message_is_gone_publishes_nothing() {
        let change = Change {
            index: 0,
            transition: Transition {
                recipient_id: 1,
                message_id: 404,
                member_id: 1,
                status: RecipientStatus::Delivered,
                failure_reason: None,
            },
        };
        let mut outcomes = vec![None; 1];
        publish(vec![change], HashMap::new(), "now", &mut outcomes);
        assert!(outcomes[0].is_none());
    }
}
