//! The Belfry supervision tree.
//!
//! Everything with a lifetime of its own (rooms that fan events out to sockets, the circuit
//! breaker in front of the SMS carrier, the pool of sender workers, the dead-letter queue) is an
//! actor here. This crate knows nothing about HTTP, SQL or Telnyx: it declares the ports it needs
//! in [`ports`] and the server crate implements them.

pub mod batcher;
pub mod delivery;
mod directory;
pub mod dlq;
pub mod limiter;
pub mod notifier;
pub mod ports;
pub mod presence;
pub mod protocol;
pub mod report_writer;
pub mod rooms;
mod root_supervisor;
pub mod stats;
pub mod status;
mod system;

pub use delivery::church_holds::Hold;
pub use directory::{CallError, Directory};
pub use system::{ActorSystem, SystemConfig};
