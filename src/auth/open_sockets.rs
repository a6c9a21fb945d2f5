//! The authenticated sockets this process holds, by user, so that a change to a user's standing
//! (disabled, demoted, signed out, password changed) closes their open sockets too: a socket is
//! authenticated once, when it opens, and would otherwise outlive the change by hours.

use std::sync::Arc;

use dashmap::DashMap;

use super::AuthUser;
use super::standing::{Standing, judge};
use crate::server::Wire;

struct OpenSocket {
    conn: u64,
    /// The caller as the socket was admitted.
    user: AuthUser,
    wire: Arc<Wire>,
}

#[derive(Clone, Default)]
pub struct OpenSockets {
    by_user: Arc<DashMap<i64, Vec<OpenSocket>>>,
}

impl OpenSockets {
    pub fn add(&self, user: &AuthUser, conn: u64, wire: Arc<Wire>) {
        self.by_user
            .entry(user.user_id)
            .or_default()
            .push(OpenSocket {
                conn,
                user: user.clone(),
                wire,
            });
    }

    pub fn remove(&self, user_id: i64, conn: u64) {
        self.by_user.remove_if_mut(&user_id, |_, sockets| {
            sockets.retain(|s| s.conn != conn);
            sockets.is_empty()
        });
    }

    pub fn holds(&self, user_id: i64) -> bool {
        self.by_user.contains_key(&user_id)
    }

    /// Authenticated sockets open now.
    pub fn count(&self) -> usize {
        self.by_user.iter().map(|entry| entry.value().len()).sum()
    }

    /// Closes the user's sockets that their standing no longer allows, or that were opened
    /// with a role they no longer have (they were put in rooms for it). Returns how many.
    pub fn enforce(&self, user_id: i64, standing: Option<&Standing>) -> usize {
        let Some(sockets) = self.by_user.get(&user_id) else {
            return 0;
        };
        let mut closed = 0;
        for socket in sockets.iter() {
            let allowed =
                judge(&socket.user, standing).is_ok_and(|now| now.role == socket.user.role);
            if !allowed {
                socket.wire.revoke();
                closed += 1;
            }
        }
        closed
    }
}
