//! One key's limiter actor (a user, an IP address or an email address): the only writer of
//! that key's buckets. It starts on the key's first request, and stops itself once every
//! bucket is full again, so that memory follows the keys active within their windows.

use std::sync::Arc;
use std::time::SystemTime;

use dashmap::DashMap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::time::Instant;

use super::gcra::{Bucket, Decision, Policy};
use super::ledger::{Buckets, Ledger, LimitKey};
use crate::ports::{LimitHistory, StoreError};
use crate::stats::ActorStats;

pub struct KeyLimiter;

/// Callers wait on this actor without a timer of their own: its one wait is bounded here.
const HISTORY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

pub enum KeyMsg {
    Check {
        policy: Policy,
        cost: u32,
        reply: RpcReplyPort<Decision>,
    },
    /// Stop if nothing would be lost by forgetting this key.
    Retire,
}

/// The live key actors, shared by the limiter supervisor (which adds them) and the callers
/// (which find them without a hop through the supervisor).
pub type KeyActors = Arc<DashMap<LimitKey, ActorRef<KeyMsg>>>;

pub struct KeyLimiterArgs {
    pub key: LimitKey,
    pub ledger: Arc<Ledger>,
    pub history: Arc<dyn LimitHistory>,
    pub actors: KeyActors,
    pub stats: Arc<ActorStats>,
}

pub struct KeyState {
    args: KeyLimiterArgs,
    buckets: Buckets,
    retire_pending: bool,
}

impl KeyState {
    /// When every bucket can be forgotten.
    fn forgettable_at(&self) -> Instant {
        self.buckets
            .values()
            .map(|(policy, bucket)| bucket.forgettable_at(policy))
            .max()
            .unwrap_or_else(Instant::now)
    }

    fn schedule_retire(&mut self, myself: &ActorRef<KeyMsg>) {
        if self.retire_pending {
            return;
        }
        self.retire_pending = true;
        let wait = self
            .forgettable_at()
            .saturating_duration_since(Instant::now());
        myself.send_after(wait + std::time::Duration::from_millis(10), || {
            KeyMsg::Retire
        });
    }

    /// A bucket for a policy this key has not used yet: rebuilt from the requests stored
    /// under it, if any are, so that a restart does not hand out a fresh budget.
    async fn new_bucket(&self, policy: &Policy, now: Instant) -> Bucket {
        let since = SystemTime::now() - policy.limit.window;
        let recent = self.args.history.recent(&self.args.key, policy.name, since);
        let recent = match tokio::time::timeout(HISTORY_TIMEOUT, recent).await {
            Ok(recent) => recent,
            Err(_) => Err(StoreError("no answer in time".to_owned())),
        };
        match recent {
            Ok(past) if !past.is_empty() => {
                let wall_now = SystemTime::now();
                let instants = past.into_iter().map(|at| {
                    now.checked_sub(wall_now.duration_since(at).unwrap_or_default())
                        .unwrap_or(now)
                });
                Bucket::replayed(&policy.limit, instants, now)
            }
            Ok(_) => Bucket::new(now),
            Err(error) => {
                tracing::warn!(%error, policy = policy.name, "limit history unavailable; counting from now");
                Bucket::new(now)
            }
        }
    }
}

impl Actor for KeyLimiter {
    type Msg = KeyMsg;
    type State = KeyState;
    type Arguments = KeyLimiterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: KeyLimiterArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let buckets = args.ledger.buckets(&args.key).unwrap_or_default();
        Ok(KeyState {
            args,
            buckets,
            retire_pending: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.record_handled();
        match msg {
            KeyMsg::Check {
                policy,
                cost,
                reply,
            } => {
                let now = Instant::now();
                if !state.buckets.contains_key(policy.name) {
                    let bucket = state.new_bucket(&policy, now).await;
                    state.buckets.insert(policy.name, (policy, bucket));
                }
                let (kept_policy, bucket) =
                    state.buckets.get_mut(policy.name).expect("inserted above");
                // The configuration is the caller's: a changed limit applies at once.
                *kept_policy = policy;
                let decision = bucket.check(&policy, cost, now);
                if !decision.allowed {
                    state
                        .args
                        .ledger
                        .record_denial(policy.name, &state.args.key, now);
                }
                state.args.ledger.save(&state.args.key, policy, *bucket);
                let _ = reply.send(decision);
                state.schedule_retire(&myself);
            }
            KeyMsg::Retire => {
                state.retire_pending = false;
                if state.forgettable_at() <= Instant::now() {
                    let id = myself.get_id();
                    state
                        .args
                        .actors
                        .remove_if(&state.args.key, |_, actor| actor.get_id() == id);
                    state.args.ledger.forget(&state.args.key);
                    myself.stop(Some("idle".to_owned()));
                } else {
                    state.schedule_retire(&myself);
                }
            }
        }
        Ok(())
    }
}
