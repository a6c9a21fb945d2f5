//! Rate limits in the tree: one actor per key (user, IP address, email address) under the
//! limiter supervisor, each holding that key's GCRA buckets for every policy it has used.
//!
//! Callers find a key's actor in a shared map and ask it directly; only a key without an
//! actor goes through the supervisor, which starts one. What the actors know is copied to
//! the [`Ledger`], which outlives any of them: a restarted actor or supervisor continues from
//! it. Policies whose requests are stored (SMS sends) are rebuilt from the store through the
//! [`LimitHistory`](crate::ports::LimitHistory) port when a key first uses them, so a process
//! restart does not refill them either.

pub mod gcra;
mod key;
pub mod ledger;
mod supervisor;

pub use gcra::{Decision, Limit, Lockout, Policy};
pub use key::{KeyActors, KeyMsg};
pub use ledger::{KeyUsage, Ledger, LimitKey};
pub use supervisor::{LimiterArgs, LimiterMsg, LimiterSupervisor};

use std::time::Duration;

use ractor::ActorRef;
use ractor::rpc::CallResult;

/// Starting a key's actor that takes longer than this lets the request through: limits are
/// not worth an outage.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Counts `cost` requests of `key` against `policy`: asks the key's actor, or the supervisor
/// to start one. `None` when the limiter is not running or did not answer in time.
pub async fn check(
    actors: &KeyActors,
    supervisor: Option<ActorRef<LimiterMsg>>,
    key: &LimitKey,
    policy: Policy,
    cost: u32,
) -> Option<Decision> {
    // A key actor that retired between the lookup and the call refuses the call; the next
    // round finds or starts its successor.
    for _ in 0..3 {
        let found = actors.get(key).map(|a| a.value().clone());
        let actor = match found {
            Some(actor) => actor,
            None => {
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
                    .ok()?
            }
        };
        // No timer per check (arming one cost a tenth of a cheap request's time): a key
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
                actors.remove_if(key, |_, a| a.get_id() == id);
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
            church_id: 1,
        };
        let bob = LimitKey::User {
            user_id: 2,
            church_id: 1,
        };
        for remaining in [1, 0] {
            let d = check(&actors, Some(supervisor.clone()), &alice, policy(2), 1).await;
            assert_eq!(d.unwrap().remaining, remaining);
        }
        let d = check(&actors, Some(supervisor.clone()), &bob, policy(2), 1).await;
        assert!(d.unwrap().allowed, "another user has a budget of their own");
        assert_eq!(actors.len(), 2, "one actor per key");

        // The supervisor dies, its key actors with it; a new one starts.
        supervisor.kill();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let supervisor = start(&ledger, &actors).await;
        let d = check(&actors, Some(supervisor.clone()), &alice, policy(2), 1).await;
        assert!(!d.unwrap().allowed, "alice's spent budget was not refilled");
        let d = check(&actors, Some(supervisor.clone()), &bob, policy(2), 1).await;
        assert_eq!(d.unwrap().remaining, 0, "bob has one left from before");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_key_retires_once_its_bucket_is_full_again() {
        let (ledger, actors): (Arc<Ledger>, KeyActors) = Default::default();
        let supervisor = start(&ledger, &actors).await;
        let key = LimitKey::Ip([10, 0, 0, 1].into());
        let short = Policy::new("ws-ip", Limit::new(2, Duration::from_secs(2), 2));
        check(&actors, Some(supervisor.clone()), &key, short, 1).await;
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
        let d = check(&actors, Some(supervisor), &key, short, 1)
            .await
            .unwrap();
        assert_eq!(d.remaining, 1);
    }

    #[tokio::test]
    async fn without_a_limiter_requests_are_let_through() {
        let actors: KeyActors = Default::default();
        let key = LimitKey::Email("a@b.test".to_owned());
        assert_eq!(check(&actors, None, &key, policy(1), 1).await, None);
    }
}
