//! Event stores, the command pipeline, the clock and the personal-data vault.
//!
//! Layout:
//! - [`store`]: the embedded SQLite `esrs::store::EventStore`, esrs's `PgStore` over our migrations,
//!   the global log (catch-up reading in commit order) and the write gate;
//! - [`pipeline`]: [`pipeline::Engine`], the command pipeline (idempotency, bounded waits, per-case
//!   lock, cached states checked against the stored version), the rows a command writes beside
//!   its events in the same transaction (hash chain, vault records, idempotency record, outbox,
//!   snapshot, read models) and how they reach each store, replay, reads and verification;
//! - [`aggregate`]: the `esrs::Aggregate` adapter over the domain's `decide`/`evolve`;
//! - [`vault`], [`crypto`], [`keys`]: personal data sealed per case, erasure by key destruction,
//!   key files outside the database;
//! - [`integrity`]: canonical JSON and the keyed hash chain;
//! - [`snapshot`]: a case's state kept every so many events, MAC-bound to its hash chain, so a
//!   cold load folds only the events after it;
//! - [`relay`]: the outbox relay, publishing committed events to RabbitMQ (at least once);
//! - [`tokens`]: the deny list of revoked API tokens;
//! - [`accounts`], [`security`]: the web application's accounts and sessions, and the hash-chained
//!   security log;
//! - [`db`], [`open`]: the two backends, connection, migrations and durability checks;
//! - [`backup`]: a consistent online copy of the SQLite store (`VACUUM INTO`) and its check;
//! - [`clock`]: injected time;
//! - `testkit` (feature `testkit`, for tests and benchmarks only): throw-away PostgreSQL and
//!   SQLite stores that remove themselves also when a test panics, one way to run a test on both
//!   stores, and the registered case most tests start from.

pub mod accounts;
pub mod aggregate;
pub mod backup;
pub mod checkpoint;
pub mod clock;
pub mod crypto;
pub mod db;
pub mod integrity;
pub mod keys;
pub mod open;
pub mod pipeline;
pub mod relay;
pub mod security;
pub mod snapshot;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tokens;
pub mod vault;
