//! Reliability tests (issue #8): crash safety under SIGKILL, concurrency, graceful shutdown under
//! load, storage faults — and the hostile-input, access-control and secrets checks. Each test
//! records what it measured into docs/reliability.md (`report::record`).
mod report;
mod server;

mod access;
mod concurrency;
mod crash;
mod hostile;
mod secrets;
mod shutdown;
mod storage;
