//! Counters each actor keeps about itself, and the live tree built from them.
//!
//! ractor exposes an actor's children and status but not its mailbox length, so every actor
//! counts what it handled and every [`Mailbox`] counts what was sent to it; the difference is
//! the backlog shown by `GET /api/admin/actors`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use ractor::{ActorCell, ActorId, ActorRef, Message};
use serde::Serialize;

#[derive(Debug)]
pub struct ActorStats {
    pub kind: &'static str,
    pub name: String,
    sent: AtomicU64,
    handled: AtomicU64,
    failures: AtomicU64,
    restarts: u64,
    /// What the unregistered children of this actor are (a factory's workers, say).
    children_kind: Option<&'static str>,
}

impl ActorStats {
    pub fn new(kind: &'static str, name: impl Into<String>, restarts: u64) -> Arc<Self> {
        Self::with_children_kind(kind, name, restarts, None)
    }

    /// For an actor whose children ractor spawns for it, such as a factory's workers.
    pub fn with_children_kind(
        kind: &'static str,
        name: impl Into<String>,
        restarts: u64,
        children_kind: Option<&'static str>,
    ) -> Arc<Self> {
        Arc::new(Self {
            kind,
            name: name.into(),
            sent: AtomicU64::new(0),
            handled: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            restarts,
            children_kind,
        })
    }

    pub fn record_handled(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    /// Messages sent to the actor and not yet taken up by it.
    pub fn backlog(&self) -> u64 {
        self.sent
            .load(Ordering::Relaxed)
            .saturating_sub(self.handled.load(Ordering::Relaxed))
    }
}

/// The counters of every live actor of one [`crate::ActorSystem`], by actor id.
#[derive(Debug, Default)]
pub struct StatsRegistry {
    by_actor: DashMap<ActorId, Arc<ActorStats>>,
}

impl StatsRegistry {
    pub fn insert(&self, id: ActorId, stats: Arc<ActorStats>) {
        self.by_actor.insert(id, stats);
    }

    pub fn remove(&self, id: ActorId) {
        self.by_actor.remove(&id);
    }

    /// Walks the live tree below `root`, children sorted by name for stable output.
    pub fn snapshot(&self, root: &ActorCell) -> ActorNode {
        self.node(root, None)
    }

    fn node(&self, root: &ActorCell, parent_children_kind: Option<&'static str>) -> ActorNode {
        let stats = self.by_actor.get(&root.get_id()).map(|s| Arc::clone(&s));
        let children_kind = stats.as_ref().and_then(|s| s.children_kind);
        let mut children: Vec<ActorNode> = root
            .get_children()
            .iter()
            .map(|child| self.node(child, children_kind))
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let status = format!("{:?}", root.get_status()).to_lowercase();
        match stats {
            Some(s) => ActorNode {
                id: root.get_id().to_string(),
                name: s.name.clone(),
                kind: s.kind.to_owned(),
                status,
                handled: s.handled(),
                backlog: s.backlog(),
                failures: s.failures.load(Ordering::Relaxed),
                restarts: s.restarts,
                children,
            },
            None => ActorNode {
                id: root.get_id().to_string(),
                name: root.get_name().unwrap_or_else(|| {
                    format!(
                        "{}-{}",
                        parent_children_kind.unwrap_or("actor"),
                        root.get_id()
                    )
                }),
                kind: parent_children_kind.unwrap_or("internal").to_owned(),
                status,
                handled: 0,
                backlog: 0,
                failures: 0,
                restarts: 0,
                children,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActorNode {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub handled: u64,
    /// Messages sent to the actor and not yet handled.
    pub backlog: u64,
    pub failures: u64,
    pub restarts: u64,
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<ActorNode>,
}

impl ActorNode {
    /// Drops, with their subtrees, the nodes below this one that `keep` refuses.
    pub fn retain(&mut self, keep: &impl Fn(&ActorNode) -> bool) {
        self.children.retain(|child| keep(child));
        for child in &mut self.children {
            child.retain(keep);
        }
    }
}

/// An actor reference that counts what is sent through it.
#[derive(Debug)]
pub struct Mailbox<M: Message> {
    actor: ActorRef<M>,
    stats: Arc<ActorStats>,
}

impl<M: Message> Clone for Mailbox<M> {
    fn clone(&self) -> Self {
        Self {
            actor: self.actor.clone(),
            stats: Arc::clone(&self.stats),
        }
    }
}

impl<M: Message> Mailbox<M> {
    pub fn new(actor: ActorRef<M>, stats: Arc<ActorStats>) -> Self {
        Self { actor, stats }
    }

    /// Sends without waiting. Returns `false` if the actor is gone.
    pub fn send(&self, msg: M) -> bool {
        self.stats.sent.fetch_add(1, Ordering::Relaxed);
        if self.actor.send_message(msg).is_err() {
            self.stats.sent.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub fn actor(&self) -> &ActorRef<M> {
        &self.actor
    }
}
