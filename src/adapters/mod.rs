//! The server's implementations of the ports the actor tree declares
//! (`belfry_actors::ports`): the delivery store and the limit history on PostgreSQL, the
//! carriers (Telnyx, the sandbox), and the socket end of a room.

pub mod carriers;
pub mod delivery_store;
pub mod limit_history;
pub mod measured_carrier;
pub mod socket_sink;
