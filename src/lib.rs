//! signpost: a hypermedia-driven HTTP API server speaking Twilio's 2010-04-01 REST API.
//!
//! Module map (each module's header says what it owns and what it must not do):
//! - [`config`]: the command line / environment settings.
//! - [`startup`]: builds the application (listener, storage, background tasks) — shared by `main` and the tests.
//! - [`routes`]: the one route table; every resource is named after its link relation.
//! - [`handlers`]: one file per resource; handlers return resource models, never URLs or headers.
//! - [`hypermedia`]: the URI table, links, actions and the `Resource` model every response goes through.
//! - [`representation`]: content negotiation and the JSON / HAL / HAL-FORMS / HTML renderers.
//! - [`http`]: request-side HTTP: credentials, parameters, paging, conditional requests, the gate middleware.
//! - [`error`]: the one error type and its rendering.
//! - [`domain`]: plain types and rules (sids, phone numbers, segments); no actix, no SQL.
//! - [`store`]: the only module that names rusqlite.
//! - [`dispatch`]: the background dispatcher and status-callback sender.
//! - [`crypto`]: tokens, hashes, encryption at rest, Twilio request signatures.
pub mod config;
pub mod crypto;
pub mod dispatch;
pub mod docs;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod http;
pub mod hypermedia;
pub mod openapi;
pub mod representation;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
