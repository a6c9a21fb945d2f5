//! The limiter supervisor: starts a key's actor on its first request and forgets it when it
//! stops. A key actor that fails is not restarted here: the next request for its key starts
//! a new one, which continues from the buckets the ledger kept.

use std::collections::HashMap;
use std::sync::Arc;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::key::{KeyActors, KeyHandle, KeyLimiter, KeyLimiterArgs};
use super::ledger::Ledger;
use crate::ports::LimitHistory;
use crate::ports::LimitKey;
use crate::stats::{ActorStats, StatsRegistry};

pub struct LimiterSupervisor;

pub enum LimiterMsg {
    /// The actor for `key` and its cell, started if there is none.
    Spawn {
        key: LimitKey,
        reply: RpcReplyPort<KeyHandle>,
    },
}

pub struct LimiterArgs {
    pub ledger: Arc<Ledger>,
    pub history: Arc<dyn LimitHistory>,
    pub actors: KeyActors,
    pub registry: Arc<StatsRegistry>,
    pub stats: Arc<ActorStats>,
}

pub struct LimiterState {
    args: LimiterArgs,
    by_actor: HashMap<ActorId, LimitKey>,
}

impl Actor for LimiterSupervisor {
    type Msg = LimiterMsg;
    type State = LimiterState;
    type Arguments = LimiterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: LimiterArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        // Key actors of a supervisor that failed would be a second writer beside the ones
        // this one starts: stop them; their buckets are in the ledger.
        for entry in args.actors.iter() {
            entry
                .value()
                .actor
                .stop(Some("limiter restarted".to_owned()));
        }
        args.actors.clear();
        Ok(LimiterState {
            args,
            by_actor: HashMap::new(),
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
            LimiterMsg::Spawn { key, reply } => {
                if let Some(handle) = state.args.actors.get(&key) {
                    let _ = reply.send(handle.clone());
                    return Ok(());
                }
                let cell = state.args.ledger.cell(&key);
                let stats = ActorStats::new("limiter", key_name(&key), 0);
                let args = KeyLimiterArgs {
                    key: key.clone(),
                    cell: Arc::clone(&cell),
                    ledger: Arc::clone(&state.args.ledger),
                    history: Arc::clone(&state.args.history),
                    actors: Arc::clone(&state.args.actors),
                    stats: Arc::clone(&stats),
                };
                let (actor, _) =
                    Actor::spawn_linked(None, KeyLimiter, args, myself.get_cell()).await?;
                state.args.registry.insert(actor.get_id(), stats);
                state.by_actor.insert(actor.get_id(), key.clone());
                let handle = KeyHandle { actor, cell };
                state.args.actors.insert(key, handle.clone());
                let _ = reply.send(handle);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        // ractor's default would stop this supervisor, and every key with it, on one failure.
        let cell = match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                state.args.stats.record_failure();
                tracing::error!(%error, "a limiter actor failed; its key restarts on its next request");
                cell
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => cell,
            _ => return Ok(()),
        };
        let id = cell.get_id();
        state.args.registry.remove(id);
        if let Some(key) = state.by_actor.remove(&id) {
            state
                .args
                .actors
                .remove_if(&key, |_, handle| handle.actor.get_id() == id);
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.actors.clear();
        Ok(())
    }
}

fn key_name(key: &LimitKey) -> String {
    match key {
        LimitKey::User { user_id, .. } => format!("limits:user:{user_id}"),
        LimitKey::Ip(ip) => format!("limits:ip:{ip}"),
        LimitKey::Email(_) | LimitKey::EmailAt { .. } => "limits:email".to_owned(),
    }
}
