//! The limiter supervisor: will own one token-bucket actor per user, spawned on demand and
//! retired when idle. It has no children yet; it holds the place in the tree.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::stats::ActorStats;

pub struct LimiterSupervisor;

pub enum LimiterMsg {}

impl Actor for LimiterSupervisor {
    type Msg = LimiterMsg;
    type State = Arc<ActorStats>;
    type Arguments = Arc<ActorStats>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        stats: Arc<ActorStats>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(stats)
    }
}
