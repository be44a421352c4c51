//! Event stores: our SQLite store, esrs's PostgreSQL store over our own schema, the global log,
//! migrations and the write gate.
//!
//! Why it is built this way:
//!
//! * Production on PostgreSQL uses esrs's own [`PgStore`] (battle-tested insert/load/handler
//!   logic), but the schema is owned by OUR migrations (`engine/migrations/postgres`) because we
//!   add two columns esrs does not know about (`global_position`, `xact_id`) that the commit-order
//!   global log needs. esrs names its insert columns, so defaults fill them. Always build the store
//!   with [`pg_store_builder`], which turns esrs's own migrations off.
//! * Single-node installs and tests use [`SqliteStore`], our implementation of the same
//!   [`esrs::store::EventStore`] contract on a durable SQLite file.
//! * Both schemas only create the `case_events` table: the product has one aggregate, named
//!   [`CASE_AGGREGATE_NAME`].
//! * [`WriteGate`] exists because esrs's PostgreSQL `lock` pins one pool connection (the advisory
//!   lock session) while the `load` and `persist` that follow need a second one: with as many
//!   concurrent writers as pool connections, every connection is pinned by a lock holder or
//!   waiter and nobody can persist. Admitting at most `pool_size / 2` writers at a time makes that
//!   impossible.

mod direct;
pub mod global_log;
pub mod sqlite;

use std::sync::Arc;

pub use esrs::store::postgres::{PgStore, PgStoreBuilder, PgStoreError};
pub use global_log::{GlobalLog, LogCursor, LogCursorParseError, LoggedEvent};
pub use sqlite::{SqliteStore, SqliteStoreBuilder, SqliteStoreError};

use esrs::Aggregate;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{PgPool, SqlitePool};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

/// The only aggregate name the migrations create a table for.
pub const CASE_AGGREGATE_NAME: &str = "case";

/// The events table created by both migration sets.
pub const CASE_EVENTS_TABLE: &str = "case_events";

/// Name of the unique index that enforces one event per `(aggregate_id, sequence_number)` on
/// PostgreSQL (the same name esrs gives it).
pub const PG_SEQUENCE_UNIQUE_INDEX: &str = "case_events_aggregate_id_sequence_number";

/// Migrations for the SQLite store (`engine/migrations/sqlite`).
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Migrations for the PostgreSQL store (`engine/migrations/postgres`).
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Applies the SQLite migrations.
///
/// # Errors
///
/// Returns the migration error (database error, or a previously applied migration changed).
pub async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), MigrateError> {
    SQLITE_MIGRATOR.run(pool).await
}

/// Applies the PostgreSQL migrations, then repairs the `xact_id`s of a database restored from a
/// logical dump into a cluster with a lower transaction counter
/// ([`global_log::renumber_restored_xact_ids`]: without it the global log would never return
/// those events).
///
/// # Errors
///
/// Returns the migration error (database error, or a previously applied migration changed).
pub async fn migrate_postgres(pool: &PgPool) -> Result<(), MigrateError> {
    POSTGRES_MIGRATOR.run(pool).await?;
    global_log::renumber_restored_xact_ids(pool).await?;
    Ok(())
}

/// An esrs [`PgStoreBuilder`] that does NOT run esrs's migrations (ours own the schema; run
/// [`migrate_postgres`] first). Add handlers, then call `try_build()`.
#[must_use]
pub fn pg_store_builder<A: Aggregate>(pool: PgPool) -> PgStoreBuilder<A> {
    PgStoreBuilder::new(pool).without_running_migrations()
}

/// Whether a [`PgStoreError`] is a unique violation, i.e. an optimistic-concurrency conflict
/// when it comes from `persist` (two writers appended the same sequence number).
#[must_use]
pub fn is_unique_violation(error: &PgStoreError) -> bool {
    match error {
        PgStoreError::Sqlx(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}

/// Whether a [`PgStoreError`] is a violation of the `(aggregate_id, sequence_number)` unique
/// index specifically (stricter than [`is_unique_violation`]).
#[must_use]
pub fn is_sequence_conflict(error: &PgStoreError) -> bool {
    match error {
        PgStoreError::Sqlx(sqlx::Error::Database(db)) => {
            db.is_unique_violation() && db.constraint() == Some(PG_SEQUENCE_UNIQUE_INDEX)
        }
        _ => false,
    }
}

/// Whether a database error is a passing condition worth a retry ("unavailable") rather than a
/// fault: the pool or connection is gone, or the database is busy, locked, read-only, full or
/// failing I/O (SQLite primary codes 5, 6, 8, 10, 13, 14; PostgreSQL classes 08, 53, 57 and
/// `read_only_sql_transaction`).
#[must_use]
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if let Ok(n) = code.parse::<i64>() {
                sqlite_code_is_passing(n)
            } else {
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57")
                    || code == "25006"
            }
        }
        _ => false,
    }
}

/// Whether a SQLite result code (primary or extended: the primary code is in the low byte) is a
/// passing condition: busy, locked, read-only, I/O error, disk full, cannot open.
pub(crate) fn sqlite_code_is_passing(code: i64) -> bool {
    matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14)
}

/// Admission control for writers: at most `permits` commands may be between
/// `lock_and_load` and the end of `persist` at once.
///
/// Take a permit BEFORE `AggregateManager::lock_and_load` and hold it until the command has been
/// persisted (or failed). With esrs's PostgreSQL store each admitted writer needs at most two pool
/// connections (the advisory-lock session plus one for load/persist), so
/// [`WriteGate::for_pool_size`] admits `pool_size / 2` writers and the pool can never be
/// exhausted by lock holders. Also give the pool an `acquire_timeout` so that a mistake shows up as
/// an error instead of a hang. On SQLite the lock does not use a connection; the gate is harmless
/// there and simply bounds concurrency.
#[derive(Debug, Clone)]
pub struct WriteGate {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

/// A writer's admission; dropping it lets the next writer in.
#[derive(Debug)]
pub struct WritePermit {
    _permit: OwnedSemaphorePermit,
}

impl WriteGate {
    /// A gate admitting `permits` writers at once (at least one).
    #[must_use]
    pub fn new(permits: usize) -> Self {
        let permits = permits.max(1);
        Self {
            semaphore: Arc::new(Semaphore::new(permits)),
            permits,
        }
    }

    /// A gate sized for a PostgreSQL pool of `max_connections`: `max(1, max_connections / 2)`.
    ///
    /// The pool needs at least 2 connections: a single admitted writer already uses two.
    #[must_use]
    pub fn for_pool_size(max_connections: u32) -> Self {
        Self::new(usize::try_from(max_connections / 2).unwrap_or(usize::MAX))
    }

    /// The number of writers admitted at once.
    #[must_use]
    pub const fn permits(&self) -> usize {
        self.permits
    }

    /// Waits for admission.
    ///
    /// # Errors
    ///
    /// Only if the gate was closed with [`WriteGate::close`].
    pub async fn enter(&self) -> Result<WritePermit, AcquireError> {
        let permit = Arc::clone(&self.semaphore).acquire_owned().await?;
        Ok(WritePermit { _permit: permit })
    }

    /// Closes the gate: waiting and future [`WriteGate::enter`] calls fail (for shutdown).
    pub fn close(&self) {
        self.semaphore.close();
    }
}
