//! One key's limiter actor (a user, an IP address or an email address). It starts on the
//! key's first request and publishes the key's [`KeyCell`], where callers then count their
//! requests themselves; it makes each policy's first bucket (rebuilt from the store when
//! requests of that policy are stored), and it stops itself once every bucket is full again,
//! so that memory follows the keys active within their windows.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::time::Instant;

use super::cell::KeyCell;
use super::gcra::{Bucket, Decision, Policy};
use super::ledger::Ledger;
use crate::ports::LimitKey;
use crate::ports::{LimitHistory, StoreError};
use crate::stats::ActorStats;

pub struct KeyLimiter;

/// Callers wait on this actor without a timer of their own: its one wait is bounded here.
const HISTORY_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a new actor waits for the check that started it before retiring an empty cell.
const FIRST_CHECK_GRACE: Duration = Duration::from_secs(1);

pub enum KeyMsg {
    /// A check for a policy the key's cell has no bucket for yet.
    Check {
        policy: Policy,
        cost: u32,
        reply: RpcReplyPort<Decision>,
    },
    /// Stop if nothing would be lost by forgetting this key.
    Retire,
}

/// A live key: its actor and the cell it publishes.
#[derive(Clone)]
pub struct KeyHandle {
    pub actor: ActorRef<KeyMsg>,
    pub cell: Arc<KeyCell>,
}

/// The live keys, shared by the limiter supervisor (which adds them) and the callers
/// (which find them without a hop through the supervisor).
pub type KeyActors = Arc<DashMap<LimitKey, KeyHandle>>;

pub struct KeyLimiterArgs {
    pub key: LimitKey,
    pub cell: Arc<KeyCell>,
    pub ledger: Arc<Ledger>,
    pub history: Arc<dyn LimitHistory>,
    pub actors: KeyActors,
    pub stats: Arc<ActorStats>,
}

pub struct KeyState {
    args: KeyLimiterArgs,
    retire_pending: bool,
}

impl KeyState {
    /// Asks for a `Retire` once the buckets are full again, and no sooner than `at_least`.
    fn schedule_retire(&mut self, myself: &ActorRef<KeyMsg>, at_least: Duration) {
        if self.retire_pending {
            return;
        }
        self.retire_pending = true;
        let now = Instant::now();
        let wait = self
            .args
            .cell
            .forgettable_at(now)
            .saturating_duration_since(now);
        myself.send_after(wait.max(at_least) + Duration::from_millis(10), || {
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
        Ok(KeyState {
            args,
            retire_pending: false,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        // Checks that find the cell never reach this actor, so retiring cannot wait for one;
        // the request that started it gets time to arrive before an empty cell is retired.
        state.schedule_retire(&myself, FIRST_CHECK_GRACE);
        Ok(())
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
                let first = if state.args.cell.has_bucket(policy.name) {
                    Bucket::new(now)
                } else {
                    state.new_bucket(&policy, now).await
                };
                let decision = state
                    .args
                    .cell
                    .check_with(policy, first, cost, Instant::now());
                let _ = reply.send(decision);
                state.schedule_retire(&myself, Duration::ZERO);
            }
            KeyMsg::Retire => {
                state.retire_pending = false;
                if state.args.cell.close_if_forgettable(Instant::now()) {
                    let id = myself.get_id();
                    state
                        .args
                        .actors
                        .remove_if(&state.args.key, |_, handle| handle.actor.get_id() == id);
                    state.args.ledger.forget(&state.args.key, &state.args.cell);
                    myself.stop(Some("idle".to_owned()));
                } else {
                    state.schedule_retire(&myself, Duration::ZERO);
                }
            }
        }
        Ok(())
    }
}
