//! Request-side HTTP: credentials ([`auth`]), body and query parameters ([`params`]), paging
//! ([`paging`]), conditional requests ([`conditional`]), rate limiting ([`ratelimit`]),
//! idempotency keys ([`idempotency`]), and the gate middleware every request passes ([`gate`]).
pub mod auth;
pub mod conditional;
pub mod gate;
pub mod idempotency;
pub mod paging;
pub mod params;
pub mod ratelimit;
