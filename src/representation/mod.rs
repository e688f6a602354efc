//! Representations: content negotiation ([`negotiate`]) and the renderers — Twilio JSON
//! ([`json`]), HAL and HAL-FORMS ([`hal`]), HTML pages ([`html`]) — plus the responder every
//! handler returns ([`reply`]), which also applies ETags and conditional GETs.
pub mod hal;
pub mod html;
pub mod json;
pub mod negotiate;
pub mod reply;

pub use negotiate::Format;
pub use reply::Reply;
