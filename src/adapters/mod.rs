//! The server's implementations of the ports the actor tree declares
//! (`belfry_actors::ports`): the delivery store, the limit history and the notification store
//! on PostgreSQL, the carriers (Telnyx, the sandbox), and the socket end of a room; and of the
//! server's own `Mailer` (`crate::mail`): SMTP, and the sandbox that keeps what it is given.

pub mod carriers;
pub mod delivery_store;
pub mod limit_history;
pub mod measured_carrier;
pub mod notification_store;
pub mod sandbox_mailer;
pub mod smtp_mailer;
pub mod socket_sink;
