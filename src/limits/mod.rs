//! Rate limits: which policies apply ([`policies`]), how a request is counted and answered at
//! the HTTP edge ([`http`]); the stored history that rebuilds SMS budgets is an adapter
//! (`adapters::limit_history`).
//! The counting itself happens in the actor tree (`belfry_actors::limiter`).

mod church_overrides;
pub mod denials;
pub mod http;
pub mod policies;
pub mod shared;
mod spec;

pub use http::Limits;
pub use policies::LimitsConfig;
