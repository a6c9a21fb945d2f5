//! Rooms: one actor per room (`church:{id}`, `user:{id}`), fanning events out to sockets.
//!
//! The [`RoomsSupervisor`] routes by room name, spawns a room on its first member, stops it once
//! it has been empty for as long as its history lasts, and restarts a room that panicked with
//! the members it had, so the sockets in it keep receiving events. Each room numbers its events
//! and keeps the recent ones ([`event_log`]) so that a reconnecting socket gets what it missed.

pub mod event_log;
mod room;
mod supervisor;

pub use event_log::{HistoryLimits, ResumeFrom};
pub use room::RoomMsg;
pub use supervisor::{RoomCensus, RoomsMsg, RoomsSupervisor, RoomsSupervisorArgs};

/// Identifies one socket across the rooms it joined.
pub type ConnectionId = u64;
