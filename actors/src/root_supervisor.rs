//! The root supervisor: starts the top-level services and restarts any that fails.
//!
//! ractor 0.16 has no restart strategies and its default handler stops a supervisor when a child
//! fails, so this one restarts the failed child from its [`ChildSpec`] (one-for-one). A child
//! that keeps failing — more than [`MAX_RESTARTS`] times within [`RESTART_WINDOW`] — takes the
//! root down with it rather than restarting forever.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};

use crate::ports::PortFuture;

pub(crate) const MAX_RESTARTS: usize = 10;
pub(crate) const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// How to start one top-level child; `restarts` is how many times it was started before.
pub(crate) type StartChild = Box<
    dyn Fn(ActorCell, u64) -> PortFuture<'static, Result<ActorCell, ActorProcessingErr>>
        + Send
        + Sync,
>;

pub(crate) struct ChildSpec {
    pub name: &'static str,
    pub start: StartChild,
}

struct ChildSlot {
    spec: ChildSpec,
    actor_id: ActorId,
    restarts: u64,
    recent_restarts: VecDeque<Instant>,
}

pub(crate) struct RootSupervisor;

pub(crate) enum RootMsg {}

pub(crate) struct RootState {
    children: Vec<ChildSlot>,
}

impl Actor for RootSupervisor {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = Vec<ChildSpec>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        specs: Vec<ChildSpec>,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut children = Vec::with_capacity(specs.len());
        for spec in specs {
            let cell = (spec.start)(myself.get_cell(), 0).await?;
            children.push(ChildSlot {
                spec,
                actor_id: cell.get_id(),
                restarts: 0,
                recent_restarts: VecDeque::new(),
            });
        }
        Ok(RootState { children })
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, why) = match event {
            SupervisionEvent::ActorFailed(cell, err) => (cell, err.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, reason.unwrap_or_else(|| "stopped".to_owned()))
            }
            _ => return Ok(()),
        };
        let Some(slot) = state
            .children
            .iter_mut()
            .find(|s| s.actor_id == cell.get_id())
        else {
            return Ok(());
        };
        let now = Instant::now();
        while slot
            .recent_restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
        {
            slot.recent_restarts.pop_front();
        }
        if slot.recent_restarts.len() >= MAX_RESTARTS {
            tracing::error!(
                child = slot.spec.name,
                "child keeps failing; stopping the tree"
            );
            return Err(format!("{} failed too often: {why}", slot.spec.name).into());
        }
        slot.recent_restarts.push_back(now);
        slot.restarts += 1;
        tracing::warn!(child = slot.spec.name, reason = %why, restarts = slot.restarts, "restarting child");
        let new_cell = (slot.spec.start)(myself.get_cell(), slot.restarts).await?;
        slot.actor_id = new_cell.get_id();
        Ok(())
    }
}
