//! This node's heartbeat: it is registered at start, before the outbox claims anything under
//! its id (a claim by a node with no fresh beat would be recovered by the others at once), beats
//! five times per lease with its open sockets and rooms, and is marked stopped on shutdown so
//! the others recover what it left without waiting for the lease to run out.

use std::sync::Arc;

use belfry_actors::Directory;
use tokio::sync::watch;

use crate::auth::OpenSockets;
use crate::db::nodes::{self, Beat, NodeLease};

/// Whether this node reaches Redis now: `off`, `up` or `down`.
pub type RedisState = Arc<dyn Fn() -> &'static str + Send + Sync>;
use crate::db::{DbError, DbPool};

/// The node's id: the one configured, else `{host name}:{port}` (two live processes cannot
/// share a host and a port, so a process that starts again under that id is the same node).
pub fn node_id(configured: Option<&str>, port: u16) -> String {
    if let Some(id) = configured {
        return id.to_owned();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{port}")
}

pub async fn register(pool: &DbPool, node: &NodeLease) -> Result<(), DbError> {
    nodes::register(pool, &node.id, env!("CARGO_PKG_VERSION")).await
}

/// Beats until shutdown, then marks the node stopped. `redis` says whether Redis answers
/// (`off`, `up`, `down`).
pub fn spawn(
    pool: DbPool,
    node: NodeLease,
    (sockets, directory, redis): (OpenSockets, Arc<Directory>, RedisState),
    shutdown: watch::Receiver<bool>,
) {
    let every = node.lease / 5;
    let mut stopping = shutdown.clone();
    {
        let (pool, node) = (pool.clone(), node.clone());
        crate::periodic::spawn_every(every, shutdown, move || {
            let (pool, node) = (pool.clone(), node.clone());
            let (sockets, directory, redis) =
                (sockets.clone(), Arc::clone(&directory), Arc::clone(&redis));
            async move {
                let beat = Beat {
                    sockets: sockets.count(),
                    rooms: directory.rooms().await.map(|r| r.len()).unwrap_or(0),
                    redis: redis(),
                };
                if let Err(e) = nodes::beat(&pool, &node.id, beat).await {
                    tracing::warn!(error = %e, "node heartbeat not recorded");
                }
            }
        });
    }
    tokio::spawn(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
        if let Err(e) = nodes::stopped(&pool, &node.id).await {
            tracing::warn!(error = %e, "node not marked stopped");
        }
    });
}
