//! What operators are told when the breaker changes state: that sending stopped (it opened,
//! or an operator forced it open) and that it works again. A breaker that probes and opens
//! again during one outage tells them once, not at every probe. Each node has its own
//! breaker, and an operator's order reaches every node: the notice's dedup key is the
//! transition and the minute, so nodes that make the same change together tell them once.

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
        dedup_key: Some(format!("breaker:{}:{}", to.name(), minute_now())),
    })
}

/// Minutes since the Unix epoch.
fn minute_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or_default()
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

    #[test]
    fn nodes_making_the_same_change_together_share_one_notice() {
        let here = notice(Closed, ForcedOpen, "operator").unwrap();
        let there = notice(Closed, ForcedOpen, "operator").unwrap();
        let key = here.dedup_key.clone().unwrap();
        assert!(key.starts_with("breaker:forced_open:"), "{key}");
        assert_eq!(here.dedup_key, there.dedup_key);
        let closed = notice(ForcedOpen, Closed, "operator").unwrap();
        assert_ne!(closed.dedup_key, here.dedup_key);
    }
}
