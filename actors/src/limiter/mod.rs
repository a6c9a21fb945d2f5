//! Rate limits in the tree: one actor per key (user, IP address, email address) under the
//! limiter supervisor, each publishing a cell with that key's GCRA buckets for every policy
//! it has used.
//!
//! Callers find a live key in a shared map and count their request in the [`KeyCell`] its
//! actor publishes, in their own task; only a key without an actor goes through the
//! supervisor, which starts one, and only a policy the key has not used yet goes to the key's
//! actor, which makes its first bucket. The cells are kept in the [`Ledger`], which outlives
//! any actor: a restarted actor or supervisor continues from them. Policies whose requests
//! are stored (SMS sends) are rebuilt from the store through the
//! [`LimitHistory`](crate::ports::LimitHistory) port when a key first uses them, so a process
//! restart does not refill them either.

mod cell;
pub mod gcra;
mod key;
pub mod ledger;
mod supervisor;

pub use crate::ports::LimitKey;
pub use cell::{CellCheck, KeyCell};
pub use gcra::{Decision, Limit, Lockout, Policy};
pub use key::{KeyActors, KeyHandle, KeyMsg};
pub use ledger::{KeyUsage, Ledger};
pub use supervisor::{LimiterArgs, LimiterMsg, LimiterSupervisor};

use std::time::Duration;

use ractor::ActorRef;
use ractor::rpc::CallResult;

/// Starting a key's actor that takes longer than this lets the request through: limits are
/// not worth an outage.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Counts `cost` requests of `key` against `policy`, in the key's cell, or through its actor
/// (or the supervisor, to start one) when the cell cannot decide. `None` when the limiter is
/// not running or did not answer in time.
pub async fn check(
    actors: &KeyActors,
    ledger: &Ledger,
    supervisor: Option<ActorRef<LimiterMsg>>,
    key: &LimitKey,
    policy: Policy,
    cost: u32,
) -> Option<Decision> {
    let decision = decide(actors, supervisor, key, policy, cost).await?;
    if !decision.allowed {
        ledger.record_denial(policy.name, key, tokio::time::Instant::now());
    }
    Some(decision)
}

async fn decide(
    actors: &KeyActors,
    supervisor: Option<ActorRef<LimiterMsg>>,
    key: &LimitKey,
    policy: Policy,
    cost: u32,
) -> Option<Decision> {
    // A key that retired between the lookup and the check turns it away; the next round
    // finds or starts its successor. Starting one takes a round of its own (the next finds
    // it in the map), so six rounds are three tries.
    for _ in 0..6 {
        let found = actors.get(key).and_then(|handle| {
            match handle.cell.check(policy, cost, tokio::time::Instant::now()) {
                CellCheck::Decided(decision) => Some(Ok(decision)),
                CellCheck::NoBucket => Some(Err(handle.actor.clone())),
                CellCheck::Closed => None,
            }
        });
        let actor = match found {
            Some(Ok(decision)) => return Some(decision),
            Some(Err(actor)) => actor,
            None => {
                actors.remove_if(key, |_, handle| handle.cell.is_closed());
                let key = key.clone();
                supervisor
                    .as_ref()?
                    .call(
                        |reply| LimiterMsg::Spawn { key, reply },
                        Some(SPAWN_TIMEOUT),
                    )
                    .await
                    .ok()?
                    .success_or(())
                    .ok()?;
                // The supervisor put the new key in the map: the next round finds it there.
                continue;
            }
        };
        // No timer per call (arming one cost a tenth of a cheap request's time): a key
        // actor only computes, and bounds its one wait (the history port) itself; a dead
        // actor answers at once with an error.
        let answer = actor
            .call(
                |reply| KeyMsg::Check {
                    policy,
                    cost,
                    reply,
                },
                None,
            )
            .await;
        match answer {
            Ok(CallResult::Success(decision)) => return Some(decision),
            Ok(CallResult::Timeout) => return None,
            _ => {
                let id = actor.get_id();
                actors.remove_if(key, |_, handle| handle.actor.get_id() == id);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ractor::Actor;

    use super::*;
    use crate::ports::NoLimitHistory;
    use crate::stats::{ActorStats, StatsRegistry};

    async fn start(ledger: &Arc<Ledger>, actors: &KeyActors) -> ActorRef<LimiterMsg> {
        let args = LimiterArgs {
            ledger: Arc::clone(ledger),
            history: Arc::new(NoLimitHistory),
            actors: Arc::clone(actors),
            registry: Arc::new(StatsRegistry::default()),
            stats: ActorStats::new("supervisor", "limiter", 0),
        };
        Actor::spawn(None, LimiterSupervisor, args).await.unwrap().0
    }

    fn policy(quota: u32) -> Policy {
        Policy::new("api", Limit::new(quota, Duration::from_secs(3600), quota))
    }

    #[tokio::test]
    async fn one_actor_per_key_and_a_restart_keeps_every_budget() {
        let (ledger, actors): (Arc<Ledger>, KeyActors) = Default::default();
        let supervisor = start(&ledger, &actors).await;
        let alice = LimitKey::User {
            user_id: 1,
            church_id: Some(1),
        };
        let bob = LimitKey::User {
            user_id: 2,
            church_id: Some(1),
        };
        for remaining in [1, 0] {
            let d = check(
                &actors,
                &ledger,
                Some(supervisor.clone()),
                &alice,
                policy(2),
                1,
            )
            .await;
            assert_eq!(d.unwrap().remaining, remaining);
        }
        let d = check(
            &actors,
            &ledger,
            Some(supervisor.clone()),
            &bob,
            policy(2),
            1,
        )
        .await;
        assert!(d.unwrap().allowed, "another user has a budget of their own");
        assert_eq!(actors.len(), 2, "one actor per key");

        // The supervisor dies, its key actors with it; a new one starts.
        supervisor.kill();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let supervisor = start(&ledger, &actors).await;
        let d = check(
            &actors,
            &ledger,
            Some(supervisor.clone()),
            &alice,
            policy(2),
            1,
        )
        .await;
        assert!(!d.unwrap().allowed, "alice's spent budget was not refilled");
        let d = check(
            &actors,
            &ledger,
            Some(supervisor.clone()),
            &bob,
            policy(2),
            1,
        )
        .await;
        assert_eq!(d.unwrap().remaining, 0, "bob has one left from before");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_key_retires_once_its_bucket_is_full_again() {
        let (ledger, actors): (Arc<Ledger>, KeyActors) = Default::default();
        let supervisor = start(&ledger, &actors).await;
        let key = LimitKey::Ip([10, 0, 0, 1].into());
        let short = Policy::new("ws-ip", Limit::new(2, Duration::from_secs(2), 2));
        check(&actors, &ledger, Some(supervisor.clone()), &key, short, 1).await;
        assert_eq!((actors.len(), ledger.len()), (1, 1));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(actors.len(), 1, "not full yet");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            (actors.len(), ledger.len()),
            (0, 0),
            "retired and forgotten"
        );
        // A new request starts a new actor with a full bucket.
        let d = check(&actors, &ledger, Some(supervisor), &key, short, 1)
            .await
            .unwrap();
        assert_eq!(d.remaining, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_taken_over_after_a_restart_still_retires() {
        let (ledger, actors): (Arc<Ledger>, KeyActors) = Default::default();
        let supervisor = start(&ledger, &actors).await;
        let key = LimitKey::Ip([10, 0, 0, 2].into());
        let short = Policy::new("ws-ip", Limit::new(2, Duration::from_secs(2), 2));
        check(&actors, &ledger, Some(supervisor.clone()), &key, short, 1).await;
        supervisor.kill();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let supervisor = start(&ledger, &actors).await;
        // The successor finds the bucket in the cell: this check never reaches the actor.
        let d = check(&actors, &ledger, Some(supervisor), &key, short, 1)
            .await
            .unwrap();
        assert_eq!(d.remaining, 0, "the first request still counts");
        assert_eq!(actors.len(), 1);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            (actors.len(), ledger.len()),
            (0, 0),
            "retired without a check of its own to start the clock"
        );
    }

    #[tokio::test]
    async fn a_refusal_is_kept_for_the_abuse_view() {
        let (ledger, actors): (Arc<Ledger>, KeyActors) = Default::default();
        let supervisor = start(&ledger, &actors).await;
        let key = LimitKey::Email("c@d.test".to_owned());
        for _ in 0..3 {
            check(
                &actors,
                &ledger,
                Some(supervisor.clone()),
                &key,
                policy(2),
                1,
            )
            .await;
        }
        let denials = ledger.denials(tokio::time::Instant::now());
        assert_eq!(
            denials,
            vec![("api", key)],
            "the third request, refused in the cell"
        );
    }

    #[tokio::test]
    async fn without_a_limiter_requests_are_let_through() {
        let (ledger, actors): (Ledger, KeyActors) = Default::default();
        let key = LimitKey::Email("a@b.test".to_owned());
        assert_eq!(
            check(&actors, &ledger, None, &key, policy(1), 1).await,
            None
        );
    }
}
