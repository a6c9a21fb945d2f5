//! What of the running system a church's admin may see: the shared actors, and of the
//! per-key actors and rooms (`church:{id}`, `user:{id}`, `channel:{id}`, `limits:user:{id}`)
//! only their own church's. Operators see everything, or one church's share when they name it.

use std::collections::HashSet;

use belfry_actors::stats::ActorNode;

use crate::db::{chat, users};
use crate::error::ApiError;
use crate::state::AppState;

pub struct ChurchSight {
    church: i64,
    users: HashSet<i64>,
    channels: HashSet<i64>,
}

impl ChurchSight {
    /// The sight of `church`, or `None` for everything.
    pub async fn of(state: &AppState, church: Option<i64>) -> Result<Option<Self>, ApiError> {
        let Some(church) = church else {
            return Ok(None);
        };
        Ok(Some(Self {
            church,
            users: users::ids_in_church(&state.pool, church)
                .await?
                .into_iter()
                .collect(),
            channels: chat::channel_ids_of_church(&state.pool, church)
                .await?
                .into_iter()
                .collect(),
        }))
    }

    pub fn sees_actor(&self, node: &ActorNode) -> bool {
        match node.kind.as_str() {
            "room" => self.sees_room(&node.name),
            "limiter" => {
                id_after(&node.name, "limits:user:").is_some_and(|u| self.users.contains(&u))
            }
            _ => true,
        }
    }

    pub fn sees_room(&self, room: &str) -> bool {
        if let Some(church) = id_after(room, "church:") {
            church == self.church
        } else if let Some(user) = id_after(room, "user:") {
            self.users.contains(&user)
        } else if let Some(channel) = id_after(room, "channel:") {
            self.channels.contains(&channel)
        } else {
            false
        }
    }
}

/// The id in a name such as `church:7` or `church:7:admins`.
fn id_after(name: &str, prefix: &str) -> Option<i64> {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.split(':').next())
        .and_then(|id| id.parse().ok())
}
