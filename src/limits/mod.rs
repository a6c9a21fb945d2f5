//! Rate limits: which policies apply ([`policies`]), how a request is counted and answered at
//! the HTTP edge ([`http`]), and the stored history that rebuilds SMS budgets ([`history`]).
//! The counting itself happens in the actor tree (`belfry_actors::limiter`).

mod church_overrides;
pub mod denials;
pub mod history;
pub mod http;
pub mod policies;

pub use http::Limits;
pub use policies::LimitsConfig;
