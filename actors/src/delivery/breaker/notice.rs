//! What operators are told when the breaker changes state: that sending stopped (it opened,
//! or an operator forced it open) and that it works again. A breaker that probes and opens
//! again during one outage tells them once, not at every probe.

use super::BreakerState;
use crate::ports::NewNotification;
use crate::protocol::Category;

/// The notification's `data`: the transition.
#[derive(serde::Serialize)]
struct Change {
    from: BreakerState,
    to: BreakerState,
}

pub fn notice(from: BreakerState, to: BreakerState, reason: &str) -> Option<NewNotification> {
    use BreakerState::*;
    let stopped = matches!(to, Open | ForcedOpen) && matches!(from, Closed | Disabled);
    let works = to == Closed && matches!(from, Open | HalfOpen | ForcedOpen);
    let (title, priority) = match (stopped, works) {
        (true, _) => (
            "Sending stopped: the carrier breaker is open",
            crate::protocol::Priority::High,
        ),
        (_, true) => (
            "Sending works again: the carrier breaker closed",
            crate::protocol::Priority::Normal,
        ),
        _ => return None,
    };
    Some(NewNotification {
        category: Category::System,
        priority,
        title: title.to_owned(),
        body: format!(
            "The breaker went from {} to {}: {reason}",
            from.name(),
            to.name()
        ),
        data: serde_json::to_value(Change { from, to }).unwrap_or_default(),
        church_id: None,
        dedup_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use BreakerState::*;

    #[test]
    fn one_notice_per_outage() {
        assert!(notice(Closed, Open, "failure rate 60%").is_some());
        assert!(notice(Closed, ForcedOpen, "operator").is_some());
        assert!(notice(Open, HalfOpen, "probing").is_none());
        assert!(notice(HalfOpen, Open, "probe failed").is_none());
        let closed = notice(HalfOpen, Closed, "probes passed").unwrap();
        assert_eq!(closed.priority, crate::protocol::Priority::Normal);
        assert!(
            closed.body.contains("half_open to closed"),
            "{}",
            closed.body
        );
        assert!(notice(Closed, Disabled, "operator").is_none());
    }
}
