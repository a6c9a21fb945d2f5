//! Rooms: one actor per room (`church:{id}`, `user:{id}`), fanning events out to sockets.
//!
//! The [`RoomsSupervisor`] routes by room name, spawns a room on its first member, stops it when
//! the last one leaves, and restarts a room that panicked with the members it had, so the
//! sockets in it keep receiving events.

mod room;
mod supervisor;

pub use room::RoomMsg;
pub use supervisor::{RoomsMsg, RoomsSupervisor, RoomsSupervisorArgs};

/// Identifies one socket across the rooms it joined.
pub type ConnectionId = u64;
