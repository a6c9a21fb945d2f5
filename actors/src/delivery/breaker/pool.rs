//! Starting the sender pool: a ractor factory of sender workers fed from one queue, so a slow
//! call holds up only its own worker.

use std::sync::Arc;

use ractor::factory::{
    Factory, FactoryArguments, queues::DefaultQueue, routing::QueuerRouting, worker_builder,
};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::BreakerMsg;
use crate::delivery::sender::{SenderContext, SenderFactoryMsg, SenderWorker};
use crate::ports::OutboundSms;
use crate::stats::StatsRegistry;

type SenderFactory = Factory<
    u64,
    OutboundSms,
    (),
    SenderWorker,
    QueuerRouting<u64, OutboundSms>,
    DefaultQueue<u64, OutboundSms>,
>;

pub(super) async fn spawn_senders(
    myself: &ActorRef<BreakerMsg>,
    ctx: &Arc<SenderContext>,
    workers: usize,
    registry: &StatsRegistry,
) -> Result<ActorRef<SenderFactoryMsg>, ActorProcessingErr> {
    let builder_ctx = Arc::clone(ctx);
    let args = FactoryArguments::builder()
        .worker_builder(Box::new(worker_builder(move |_wid| {
            (
                SenderWorker {
                    ctx: Arc::clone(&builder_ctx),
                },
                (),
            )
        })))
        .queue(Default::default())
        .router(Default::default())
        .num_initial_workers(workers.max(1))
        .build();
    let (factory, _) =
        Actor::spawn_linked(None, SenderFactory::default(), args, myself.get_cell()).await?;
    registry.insert(factory.get_id(), Arc::clone(&ctx.pool_stats));
    Ok(factory)
}
