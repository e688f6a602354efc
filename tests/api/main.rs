//! Integration tests: the real server (real SQLite file in a temp dir, real HTTP on a random
//! port), reached from `/` by relation names only. One binary; one module per area.
mod helpers;

mod accounts_sessions;
mod browser;
mod crawler;
mod dispatch;
mod foundation;
mod http_semantics;
mod messages;
