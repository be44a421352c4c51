//! SQLite implementation of [`esrs::store::EventStore`], with the guarantees of esrs's `PgStore`.
//!
//! esrs only ships a PostgreSQL store; single-node deployments and most tests run on SQLite, so
//! this module provides the same contract on a real SQLite file:
//!
//! * **Durability**: the file is opened in WAL mode with `synchronous=FULL` (a commit is on disk
//!   when `persist` returns), foreign keys on and a `busy_timeout`; [`check_durability`] refuses a
//!   pool that lost those settings.
//! * **Atomicity**: `persist` writes every event of a command and runs every transactional event
//!   handler inside ONE transaction (savepoint); any failure rolls all of it back. Once handed to
//!   the committer (below) a command is written whether or not its caller still waits, exactly
//!   like a command whose acknowledgement is lost on the way back: the idempotency record written
//!   with it makes the client's retry harmless.
//! * **Optimistic concurrency**: the unique index on `(aggregate_id, sequence_number)` rejects a
//!   second writer of the same version; that violation surfaces as
//!   [`SqliteStoreError::Conflict`], never as a raw sqlx error, so callers can map it to a
//!   conflict.
//! * **No SQLITE_BUSY upgrade failures**: the transaction starts with `BEGIN IMMEDIATE`, which
//!   takes the database write lock up front (waiting up to `busy_timeout`). A deferred `BEGIN`
//!   would start as a reader and fail with `SQLITE_BUSY` when upgrading under concurrency. Taking
//!   the write lock before any rowid is allocated is also what makes rowid order equal commit
//!   order, which the global log relies on.
//! * **Group commit**: `persist` hands its events to the store's committer task, which writes
//!   every command waiting at that moment in ONE `BEGIN IMMEDIATE` transaction, each command in
//!   its own `SAVEPOINT` (a command whose insert or handler fails is rolled back alone; the
//!   others commit), then one `COMMIT`: one WAL sync for the whole group instead of one per
//!   command. `persist` returns only after that commit, so "returned" still means "on disk"; if
//!   the commit fails, every command of the group gets the error. The aggregate lock travels with
//!   the command and is released only once its group has committed or failed. With a
//!   [`super::WriteGate`] ([`SqliteStoreBuilder::with_write_gate`]) the committer holds the gate
//!   while it writes a group, so other writers of the process queue in order instead of spinning
//!   in SQLite's busy handler.
//! * **A command's own rows**: [`SqliteStore::persist_with_rows`] takes, with the events, the
//!   [`Rows`] the command writes beside them (the engine's hash chain, vault records,
//!   idempotency record, outbox, snapshot and read models); they stand for the transactional
//!   handlers, which are not called for that command. They are prepared in the caller's task,
//!   before the command's turn on the single writer, unless they need a read in the
//!   transaction: then the committer prepares them there, on the pool's connection. A group
//!   whose every command was prepared ahead is written on the committer's own connection
//!   (`store/direct.rs`: rusqlite over the same SQLite, the whole transaction on one blocking
//!   thread, no hand-off per statement); any other group goes through the pool's connection.
//!   Same transaction, savepoints and errors on both paths.
//! * **Pessimistic lock**: [`EventStore::lock`] is an in-process per-aggregate
//!   [`tokio::sync::Mutex`]. It only avoids wasted work inside one process; correctness never
//!   depends on it (another process writing the same file is stopped by `BEGIN IMMEDIATE` and the
//!   unique index).
//!
//! Table name: the store uses `{A::NAME}_events`, like esrs. Our migrations
//! (`engine/migrations/sqlite`) only create `case_events`, i.e. the store is meant for the
//! aggregate named `"case"`; building it for another name fails with
//! [`SqliteStoreError::MissingTable`] unless that table was created by other means.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use esrs::handler::{EventHandler, TransactionalEventHandler};
use esrs::store::{EventStore, EventStoreLockGuard, StoreEvent, UnlockOnDrop};
use esrs::types::SequenceNumber;
use esrs::{Aggregate, AggregateState};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex, OwnedMutexGuard, RwLock};
use uuid::Uuid;

use super::direct::{self, DirectWriter};
use crate::db::{Batch, Conn, Value};

/// How long a connection waits for the database write lock before failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of connections opened by [`open`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// Prepared statements kept per connection (sqlx's default is 100).
const STATEMENT_CACHE: usize = 400;

/// The statement that starts every write transaction (see the module docs).
const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";
/// Every command of a group opens a savepoint of this one name: `ROLLBACK TO` and `RELEASE`
/// act on the most recent savepoint of a name, which is the failing command's (see
/// `write_group`), and a statement text does not depend on the command's place in its group
/// (prepared once, found in the statement cache).
const SAVEPOINT_JOB: &str = "SAVEPOINT job";
const ROLLBACK_JOB: &str = "ROLLBACK TO job; RELEASE job";

/// Most commands the committer writes in one transaction.
const MAX_GROUP: usize = 64;

/// A transactional event handler usable with [`SqliteStore`]: it runs inside the `persist`
/// transaction on the same [`SqliteConnection`].
pub type SqliteTransactionalEventHandler<A> =
    dyn TransactionalEventHandler<A, SqliteStoreError, SqliteConnection> + Send;

/// An eventual (after-commit) event handler usable with [`SqliteStore`].
pub type SqliteEventHandler<A> = dyn EventHandler<A> + Send;

/// The rows one command writes beside its events, handed to [`SqliteStore::persist_with_rows`]
/// with the command (the engine's are built in `pipeline/record.rs`). They stand for the
/// transactional handlers, which are not called for that command.
#[async_trait]
pub trait Rows<E>: Send + Sync {
    /// The rows for `events` (the command's, with their ids and persistence time fixed),
    /// prepared in the caller's task before the command's turn on the single writer, so that the
    /// committer only runs SQL (the events and these rows in one statement text, one round
    /// trip). `Ok(None)` when they need a read in the transaction: the committer then calls
    /// [`Rows::prepare_in`].
    ///
    /// # Errors
    ///
    /// The command is refused and nothing of it is written.
    fn prepare(&self, events: &[StoreEvent<E>]) -> Result<Option<Batch>, SqliteStoreError>;

    /// The rows for `events`, prepared in the command's savepoint on the writer's connection
    /// (after the events were inserted), reading there what they need.
    ///
    /// # Errors
    ///
    /// The command's savepoint is rolled back: nothing of it is written.
    async fn prepare_in(
        &self,
        events: &[StoreEvent<E>],
        conn: &mut SqliteConnection,
    ) -> Result<Batch, SqliteStoreError>;
}

/// Errors of [`SqliteStore`] and of the SQLite helpers.
#[derive(Debug, thiserror::Error)]
pub enum SqliteStoreError {
    /// Another writer already stored an event with this sequence number for this aggregate
    /// (optimistic concurrency conflict: the caller worked on a stale state).
    #[error("concurrency conflict: aggregate {aggregate_id} already has an event with sequence number {sequence_number}")]
    Conflict {
        /// The aggregate written concurrently.
        aggregate_id: Uuid,
        /// The sequence number that was already taken.
        sequence_number: SequenceNumber,
    },
    /// Database error.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Payload serialization or deserialization error.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A stored row could not be decoded (bad uuid text, timestamp out of range, ...).
    #[error("corrupt event row: {0}")]
    CorruptRow(String),
    /// The pool is not configured for durable commits (see [`check_durability`]).
    #[error("SQLite database is not durable: {0}")]
    NotDurable(String),
    /// `A::NAME` cannot be used to build a table name.
    #[error("aggregate name {0:?} is not a valid table name prefix (expected [a-z0-9_]+)")]
    InvalidAggregateName(&'static str),
    /// The events table does not exist (run [`super::migrate_sqlite`]).
    #[error("event table {0} does not exist (migrations only create case_events)")]
    MissingTable(String),
    /// The transaction of the command's group failed (commit, savepoint or begin): nothing of
    /// the command was written. `unavailable` when the store refused for a passing reason
    /// (busy, disk full, read-only, I/O): the caller may retry.
    #[error("the group commit failed: {message}")]
    GroupFailed {
        /// The database's message.
        message: String,
        /// A passing condition (see [`super::is_unavailable`]).
        unavailable: bool,
    },
    /// A statement of the command failed on the committer's own connection (see
    /// `store/direct.rs`): its savepoint was rolled back, nothing of it was written.
    /// `unavailable` as for [`SqliteStoreError::GroupFailed`].
    #[error("the command's write failed: {message}")]
    Statement {
        /// The database's message.
        message: String,
        /// A passing condition (busy, full, read-only, I/O).
        unavailable: bool,
    },
    /// Error returned by a transactional event handler.
    #[error(transparent)]
    Custom(Box<dyn std::error::Error + Send + Sync>),
}

impl SqliteStoreError {
    /// Whether this error is an optimistic-concurrency conflict.
    #[must_use]
    pub const fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

/// Connection options with the pragmas every store connection must have: WAL journal,
/// `synchronous=FULL`, [`BUSY_TIMEOUT`], foreign keys on, file created if missing.
///
/// sqlx applies these pragmas to every connection it opens.
#[must_use]
pub fn connect_options(path: impl AsRef<Path>) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        // Savepoints' sub-journals in memory, not in temporary files.
        .pragma("temp_store", "MEMORY")
        // Room for every prepared statement, including the variants of the write path's batches
        // (one text per number of deadline rows, with or without a milestone...): a miss parses
        // the statement again.
        .statement_cache_capacity(STATEMENT_CACHE)
}

/// Opens (creating it if needed) the SQLite file at `path` with [`connect_options`] and a pool of
/// [`DEFAULT_MAX_CONNECTIONS`].
///
/// # Errors
///
/// Returns the sqlx error if the file cannot be opened or a pragma cannot be applied.
pub async fn open(path: impl AsRef<Path>) -> Result<SqlitePool, sqlx::Error> {
    open_with(path, DEFAULT_MAX_CONNECTIONS).await
}

/// Like [`open`] with an explicit pool size.
///
/// # Errors
///
/// Returns the sqlx error if the file cannot be opened or a pragma cannot be applied.
pub async fn open_with(
    path: impl AsRef<Path>,
    max_connections: u32,
) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        // A local file does not drop connections: skip sqlx's ping before every acquire (one
        // round trip to the connection's worker thread per statement batch).
        .test_before_acquire(false)
        // When SQLite ends a transaction by itself (disk full, I/O error), sqlx's own ROLLBACK
        // then fails and leaves its transaction depth above zero: every later `BEGIN` on that
        // connection would fail ("non-zero transaction depth") long after the disk recovered.
        // Such a connection is closed when it comes back instead of being reused.
        //
        // A transaction dropped without commit (every read snapshot ends so) only queues its
        // ROLLBACK on the connection's worker thread, and the depth drops when the worker has run
        // it: a ping, queued behind it, waits for that before the depth is read. Without it
        // nearly every read closed its connection (and the next request paid for a new one).
        .after_release(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Connection as _;
                use sqlx::TransactionManager as _;
                let depth_of = |conn: &SqliteConnection| {
                    <sqlx::Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth(
                        conn,
                    )
                };
                let mut depth = depth_of(conn);
                if depth != 0 {
                    if conn.ping().await.is_err() {
                        return Ok(false);
                    }
                    depth = depth_of(conn);
                }
                if depth != 0 {
                    tracing::warn!(
                        depth,
                        "closing a SQLite connection left inside a transaction"
                    );
                }
                Ok(depth == 0)
            })
        })
        .connect_with(connect_options(path))
        .await
}

/// Checks that a pool connection runs with `journal_mode=wal` and `synchronous=FULL` (2).
///
/// # Errors
///
/// [`SqliteStoreError::NotDurable`] if either setting differs, [`SqliteStoreError::Sqlx`] if the
/// pragmas cannot be read.
pub async fn check_durability(pool: &SqlitePool) -> Result<(), SqliteStoreError> {
    let mut conn = pool.acquire().await?;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(SqliteStoreError::NotDurable(format!(
            "journal_mode is {journal_mode}, expected wal"
        )));
    }
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?;
    if synchronous != 2 {
        return Err(SqliteStoreError::NotDurable(format!(
            "synchronous is {synchronous}, expected 2 (FULL)"
        )));
    }
    Ok(())
}

/// The multi-row insert texts for up to this many events are built once; a longer command builds
/// its own.
const PREBUILT_INSERTS: usize = 8;

/// SQL text for one aggregate's table.
#[derive(Debug, Clone)]
struct Statements {
    table: String,
    /// `inserts[n - 1]` inserts `n` events in one statement.
    inserts: Vec<String>,
    select_by_aggregate_id: String,
    delete_by_aggregate_id: String,
}

impl Statements {
    fn new(name: &'static str) -> Result<Self, SqliteStoreError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(SqliteStoreError::InvalidAggregateName(name));
        }
        let table = format!("{name}_events");
        Ok(Self {
            inserts: (1..=PREBUILT_INSERTS)
                .map(|n| Self::insert_text(&table, n))
                .collect(),
            select_by_aggregate_id: format!(
                "SELECT id, aggregate_id, payload, occurred_on, sequence_number, version \
                 FROM {table} WHERE aggregate_id = ?1 ORDER BY sequence_number ASC"
            ),
            delete_by_aggregate_id: format!("DELETE FROM {table} WHERE aggregate_id = ?1"),
            table,
        })
    }

    fn insert_text(table: &str, rows: usize) -> String {
        let values = vec!["(?, ?, ?, ?, ?, ?)"; rows.max(1)].join(", ");
        format!(
            "INSERT INTO {table} (id, aggregate_id, payload, occurred_on, sequence_number, version) \
             VALUES {values}"
        )
    }

    /// The statement that inserts `rows` events (six parameters per row, in column order).
    fn insert(&self, rows: usize) -> std::borrow::Cow<'_, str> {
        match self.inserts.get(rows.wrapping_sub(1)) {
            Some(text) => std::borrow::Cow::Borrowed(text),
            None => std::borrow::Cow::Owned(Self::insert_text(&self.table, rows)),
        }
    }
}

/// Builder for [`SqliteStore`], mirroring esrs's `PgStoreBuilder`.
pub struct SqliteStoreBuilder<A: Aggregate> {
    pool: SqlitePool,
    gate: Option<super::WriteGate>,
    event_handlers: Vec<Box<SqliteEventHandler<A>>>,
    transactional_event_handlers: Vec<Box<SqliteTransactionalEventHandler<A>>>,
}

impl<A: Aggregate> std::fmt::Debug for SqliteStoreBuilder<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStoreBuilder")
            .field("aggregate", &A::NAME)
            .field("event_handlers", &self.event_handlers.len())
            .field(
                "transactional_event_handlers",
                &self.transactional_event_handlers.len(),
            )
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate> SqliteStoreBuilder<A> {
    /// Starts a builder over `pool` (open it with [`open`] so the pragmas are set).
    #[must_use]
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            gate: None,
            event_handlers: Vec::new(),
            transactional_event_handlers: Vec::new(),
        }
    }

    /// The process's write gate: the committer holds a permit while it writes a group.
    #[must_use]
    pub fn with_write_gate(mut self, gate: super::WriteGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Adds an eventual handler, run after commit.
    #[must_use]
    pub fn add_event_handler(mut self, handler: impl EventHandler<A> + Send + 'static) -> Self {
        self.event_handlers.push(Box::new(handler));
        self
    }

    /// Adds a transactional handler, run inside the `persist` transaction; its error aborts the
    /// whole command.
    #[must_use]
    pub fn add_transactional_event_handler(
        mut self,
        handler: impl TransactionalEventHandler<A, SqliteStoreError, SqliteConnection> + Send + 'static,
    ) -> Self {
        self.transactional_event_handlers.push(Box::new(handler));
        self
    }

    /// Builds the store after checking that `{A::NAME}_events` exists.
    ///
    /// # Errors
    ///
    /// [`SqliteStoreError::InvalidAggregateName`] if `A::NAME` is not `[a-z0-9_]+`,
    /// [`SqliteStoreError::MissingTable`] if the table was not migrated, or a database error.
    pub async fn try_build(self) -> Result<SqliteStore<A>, SqliteStoreError>
    where
        A: 'static,
        A::Event: Send + Sync + 'static,
    {
        let statements = Statements::new(A::NAME)?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
                .bind(&statements.table)
                .fetch_optional(&self.pool)
                .await?;
        if exists.is_none() {
            return Err(SqliteStoreError::MissingTable(statements.table));
        }
        let options = self.pool.connect_options();
        let file = options.get_filename();
        let direct = (!file.as_os_str().is_empty() && file != Path::new(":memory:"))
            .then(|| file.to_path_buf());
        let shared = Arc::new(Shared {
            direct,
            pool: self.pool,
            statements,
            transactional_event_handlers: self.transactional_event_handlers,
        });
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(committer(Arc::clone(&shared), self.gate, queue));
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                shared,
                jobs,
                event_handlers: RwLock::new(self.event_handlers),
                locks: Arc::new(LockRegistry::default()),
            }),
        })
    }
}

/// SQLite event store for aggregate `A` (see the module docs for its guarantees).
///
/// Cloning is cheap and clones share the pool, handlers and lock table.
pub struct SqliteStore<A: Aggregate> {
    inner: Arc<Inner<A>>,
}

struct Inner<A: Aggregate> {
    shared: Arc<Shared<A>>,
    /// The committer's queue (it ends when the last store clone is dropped).
    jobs: mpsc::UnboundedSender<Job<A::Event>>,
    event_handlers: RwLock<Vec<Box<SqliteEventHandler<A>>>>,
    locks: Arc<LockRegistry>,
}

/// What the committer task needs.
struct Shared<A: Aggregate> {
    pool: SqlitePool,
    statements: Statements,
    transactional_event_handlers: Vec<Box<SqliteTransactionalEventHandler<A>>>,
    /// The database file, for the committer's own connection (`store/direct.rs`, opened at the
    /// first group of commands whose rows were all prepared ahead); `None` in memory.
    direct: Option<std::path::PathBuf>,
}

/// One command's events on their way to the committer.
struct Job<E> {
    events: Vec<StoreEvent<E>>,
    payloads: Vec<String>,
    micros: i64,
    /// Who writes the rows beside the events.
    rows: JobRows<E>,
    /// Released once the group has committed or failed.
    lock: Option<EventStoreLockGuard>,
    reply: oneshot::Sender<Answer<E>>,
}

/// Who writes a command's rows beside its events.
enum JobRows<E> {
    /// The transactional handlers (a plain `persist`).
    Handlers,
    /// Rows prepared in the caller's task ([`Rows::prepare`]).
    Prepared(Batch),
    /// Rows prepared in the transaction ([`Rows::prepare_in`]).
    InTransaction(Box<dyn Rows<E>>),
}

impl<E> JobRows<E> {
    fn prepared(&self) -> Option<&Batch> {
        match self {
            Self::Prepared(batch) => Some(batch),
            Self::Handlers | Self::InTransaction(_) => None,
        }
    }
}

/// The committer's answer: the command's events back, and whether they are on disk.
type Answer<E> = (Vec<StoreEvent<E>>, Result<(), SqliteStoreError>);

/// The committer: takes every waiting command, writes them in one transaction (one savepoint
/// each), commits once, answers each. Ends when the store is dropped.
async fn committer<A: Aggregate + 'static>(
    shared: Arc<Shared<A>>,
    gate: Option<super::WriteGate>,
    mut queue: mpsc::UnboundedReceiver<Job<A::Event>>,
) where
    A::Event: Send + Sync + 'static,
{
    let mut group: Vec<Job<A::Event>> = Vec::with_capacity(MAX_GROUP);
    // The committer keeps one connection of the pool for itself (no wait for a connection at
    // every group); after a failed group it is given back (the pool closes it if it is stuck in
    // a transaction) and a fresh one is taken. When the pool is closed it is given back at once:
    // `SqlitePool::close` waits for every connection.
    let mut connection: Option<PoolConnection<Sqlite>> = None;
    // Groups of commands whose rows were all prepared ahead go through the committer's own
    // connection (`store/direct.rs`), opened at the first such group; `direct_refused` once it
    // could not be made durable.
    let mut direct: Option<DirectWriter> = None;
    let mut direct_refused = false;
    let mut pool_closed = std::pin::pin!(shared.pool.close_event());
    loop {
        let next = tokio::select! {
            biased;
            job = queue.recv() => job,
            () = &mut pool_closed, if connection.is_some() || direct.is_some() => {
                // The store's file is let go with the pool (its own connection too).
                connection = None;
                direct = None;
                continue;
            }
        };
        let Some(first) = next else {
            break;
        };
        group.push(first);
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // A command whose caller is gone (request cancelled) before its turn is not written:
        // nobody waits for it, and nothing of it is on disk.
        group.retain(|job| !job.reply.is_closed());
        if group.is_empty() {
            continue;
        }
        let permit = match &gate {
            Some(g) => match tokio::time::timeout(BUSY_TIMEOUT, g.enter()).await {
                Ok(Ok(p)) => Some(p),
                Ok(Err(_)) | Err(_) => {
                    fail_group(&mut group, "the store's write gate is closed or busy", true);
                    continue;
                }
            },
            None => None,
        };
        let started = std::time::Instant::now();
        let all_prepared = group
            .iter()
            .all(|job| job.rows.prepared().is_some() && !job.events.is_empty());
        let mut outcome = None;
        if let (Some(path), true, false) = (&shared.direct, all_prepared, shared.pool.is_closed()) {
            let writer = match direct.take() {
                Some(w) => Ok(w),
                None if direct_refused => Err(None),
                None => DirectWriter::open(path, BUSY_TIMEOUT).map_err(Some),
            };
            match writer {
                Ok(w) => {
                    let jobs = std::mem::take(&mut group);
                    let shared = Arc::clone(&shared);
                    let done = tokio::task::spawn_blocking(move || {
                        let mut w = w;
                        let mut jobs = jobs;
                        let outcome = write_group_direct(&shared, &mut w, &mut jobs);
                        (w, jobs, outcome)
                    })
                    .await;
                    match done {
                        Ok((w, jobs, o)) => {
                            direct = Some(w);
                            group = jobs;
                            outcome = Some(o);
                        }
                        Err(e) => {
                            // The group's callers were answered by dropping their jobs.
                            tracing::error!(error = %e, "the committer's direct write panicked");
                            drop(permit);
                            continue;
                        }
                    }
                }
                Err(Some(f)) => {
                    // The sqlx path below writes the group; a passing condition is tried again
                    // with the next group.
                    tracing::warn!(error = %f.message, "the committer's own connection could not be opened; writing through the pool");
                    direct_refused = !f.unavailable;
                }
                Err(None) => {}
            }
        }
        let through = if outcome.is_some() {
            "own connection"
        } else {
            "pool"
        };
        let outcome = match outcome {
            Some(o) => o,
            None => {
                let acquired = match connection.take() {
                    Some(c) if !shared.pool.is_closed() => Ok(c),
                    _ => shared.pool.acquire().await,
                };
                match acquired {
                    Ok(mut c) => {
                        let outcome = write_group(&shared, &mut c, &group).await;
                        if outcome.is_ok() {
                            connection = Some(c);
                        }
                        outcome.map_err(|e| (e.to_string(), super::is_unavailable(&e)))
                    }
                    Err(e) => Err((e.to_string(), super::is_unavailable(&e))),
                }
            }
        };
        drop(permit);
        tracing::debug!(
            commands = group.len(),
            micros = started.elapsed().as_micros(),
            ok = outcome.is_ok(),
            through,
            "group written"
        );
        match outcome {
            Ok(results) => {
                for (job, result) in group.drain(..).zip(results) {
                    let Job {
                        events,
                        lock,
                        reply,
                        ..
                    } = job;
                    drop(lock);
                    // The caller may have gone (its request was cancelled): the command stands.
                    let _ = reply.send((events, result));
                }
            }
            Err((message, unavailable)) => {
                fail_group(&mut group, &message, unavailable);
            }
        }
    }
}

/// [`write_group`] on the committer's own connection, for a group of commands whose rows were
/// all prepared ahead.
fn write_group_direct<E>(
    shared: &Shared<impl Aggregate<Event = E>>,
    writer: &mut DirectWriter,
    group: &mut [Job<E>],
) -> Result<Vec<Result<(), SqliteStoreError>>, (String, bool)> {
    // The payload texts are not needed once written: moved, not copied.
    let payloads: Vec<Vec<String>> = group
        .iter_mut()
        .map(|job| std::mem::take(&mut job.payloads))
        .collect();
    let empty = Batch::new();
    let inserts: Vec<_> = group
        .iter()
        .map(|job| shared.statements.insert(job.events.len()))
        .collect();
    let commands: Vec<direct::Command<'_>> = group
        .iter()
        .zip(&inserts)
        .zip(payloads)
        .map(|((job, insert), payloads)| direct::Command {
            insert,
            events: job
                .events
                .iter()
                .zip(payloads)
                .map(|(event, payload)| {
                    [
                        event.id.hyphenated().to_string().into(),
                        event.aggregate_id.hyphenated().to_string().into(),
                        payload.into(),
                        job.micros.into(),
                        i64::from(event.sequence_number).into(),
                        Value::Int(None),
                    ]
                })
                .collect(),
            rows: job.rows.prepared().unwrap_or(&empty),
        })
        .collect();
    let results = writer
        .write_group(&commands)
        .map_err(|f| (f.message, f.unavailable))?;
    Ok(group
        .iter()
        .zip(results)
        .map(|(job, result)| {
            result.map_err(|f| match job.events.first() {
                Some(first) if f.sequence_conflict => SqliteStoreError::Conflict {
                    aggregate_id: first.aggregate_id,
                    sequence_number: first.sequence_number,
                },
                _ => SqliteStoreError::Statement {
                    message: f.message,
                    unavailable: f.unavailable,
                },
            })
        })
        .collect())
}

fn fail_group<E>(group: &mut Vec<Job<E>>, message: &str, unavailable: bool) {
    for job in group.drain(..) {
        let Job {
            events,
            lock,
            reply,
            ..
        } = job;
        drop(lock);
        let _ = reply.send((
            events,
            Err(SqliteStoreError::GroupFailed {
                message: message.to_string(),
                unavailable,
            }),
        ));
    }
}

/// One transaction for the group; a command's own failure (conflict, handler error) rolls back
/// its savepoint only. `Err` when the transaction itself failed: nothing was written.
///
/// Each command opens its savepoint in the same statement text as its events' insert (and its
/// rows prepared ahead, see [`Rows`]) and never releases it: savepoints nest, a failing command
/// is always the innermost one (`ROLLBACK TO` undoes it alone), and the group's `COMMIT` keeps
/// every other. Two round trips to the connection's worker thread per command fewer than a
/// savepoint and a release of their own: on this single-writer path the round trips, not the
/// SQL, bound the write rate.
async fn write_group<A: Aggregate>(
    shared: &Shared<A>,
    conn: &mut SqliteConnection,
    group: &[Job<A::Event>],
) -> Result<Vec<Result<(), SqliteStoreError>>, sqlx::Error>
where
    A::Event: Send + Sync,
{
    let mut transaction = sqlx::Connection::begin_with(conn, BEGIN_IMMEDIATE).await?;
    let mut results = Vec::with_capacity(group.len());
    let alone = group.len() == 1;
    for job in group {
        // Alone: no savepoint needed, a failure rolls the whole transaction back.
        let result = write_job(shared, &mut transaction, job, !alone).await;
        if result.is_err() {
            if alone {
                transaction.rollback().await?;
                return Ok(vec![result]);
            }
            sqlx::query(ROLLBACK_JOB).execute(&mut *transaction).await?;
        }
        results.push(result);
    }
    transaction.commit().await?;
    Ok(results)
}

async fn write_job<A: Aggregate>(
    shared: &Shared<A>,
    conn: &mut SqliteConnection,
    job: &Job<A::Event>,
    savepoint: bool,
) -> Result<(), SqliteStoreError>
where
    A::Event: Send + Sync,
{
    // The savepoint and every event of the command in one statement text (one round trip); a
    // conflict on any row fails the insert. Rows prepared ahead go in the same text.
    let prepared = job.rows.prepared();
    if let Some(first) = job.events.first() {
        let insert = shared.statements.insert(job.events.len());
        let text = match (savepoint, prepared) {
            (false, None) => insert,
            (true, None) => std::borrow::Cow::Owned(format!("{SAVEPOINT_JOB};\n{insert}")),
            (savepoint, Some(batch)) => {
                let mut text = String::new();
                if savepoint {
                    text.push_str(SAVEPOINT_JOB);
                    text.push_str(";\n");
                }
                text.push_str(&insert);
                if !batch.is_empty() {
                    text.push_str(";\n");
                    // The events' placeholders are positional (`?`, bound first); the batch's
                    // are numbered after them.
                    text.push_str(&batch.sqlite_text(job.events.len() * 6));
                }
                std::borrow::Cow::Owned(text)
            }
        };
        let mut insert = sqlx::query(&text);
        for (event, payload) in job.events.iter().zip(&job.payloads) {
            insert = insert
                .bind(event.id.hyphenated().to_string())
                .bind(event.aggregate_id.hyphenated().to_string())
                .bind(payload)
                .bind(job.micros)
                .bind(event.sequence_number)
                .bind(None::<i32>);
        }
        if let Some(batch) = prepared {
            insert = batch.bind_sqlite(insert);
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(|e| insert_error(e, first.aggregate_id, first.sequence_number))?;
    } else if savepoint {
        sqlx::query(SAVEPOINT_JOB).execute(&mut *conn).await?;
    }
    match &job.rows {
        JobRows::Prepared(_) => return Ok(()),
        JobRows::InTransaction(rows) => {
            let batch = rows.prepare_in(&job.events, conn).await?;
            batch.execute(Conn::Sqlite(conn)).await?;
            return Ok(());
        }
        JobRows::Handlers => {}
    }
    for store_event in &job.events {
        for handler in &shared.transactional_event_handlers {
            if let Err(error) = handler.handle(store_event, conn).await {
                tracing::error!(
                    event_id = %store_event.id,
                    aggregate_id = %store_event.aggregate_id,
                    transactional_event_handler = handler.name(),
                    error = ?error,
                    "transactional event handler failed to handle event"
                );
                return Err(error);
            }
        }
    }
    Ok(())
}

impl<A: Aggregate> Clone for SqliteStore<A> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A: Aggregate> std::fmt::Debug for SqliteStore<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("table", &self.inner.shared.statements.table)
            .field(
                "transactional_event_handlers",
                &self.inner.shared.transactional_event_handlers.len(),
            )
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate> SqliteStore<A> {
    /// Shortcut for `SqliteStoreBuilder::new(pool).try_build()` (no handlers).
    ///
    /// # Errors
    ///
    /// Same as [`SqliteStoreBuilder::try_build`].
    pub async fn new(pool: SqlitePool) -> Result<Self, SqliteStoreError>
    where
        A: 'static,
        A::Event: Send + Sync + 'static,
    {
        SqliteStoreBuilder::new(pool).try_build().await
    }

    /// The events table name (`{A::NAME}_events`).
    #[must_use]
    pub fn table_name(&self) -> &str {
        &self.inner.shared.statements.table
    }

    /// The underlying pool.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.inner.shared.pool
    }

    /// Adds an eventual handler at run time (e.g. a saga that needs the store itself).
    pub async fn add_event_handler(&self, handler: impl EventHandler<A> + Send + 'static) {
        self.inner
            .event_handlers
            .write()
            .await
            .push(Box::new(handler));
    }

    /// Number of aggregates with an entry in the in-process lock table (for tests and metrics).
    #[must_use]
    pub fn lock_table_len(&self) -> usize {
        self.inner.locks.len()
    }
}

impl<A> SqliteStore<A>
where
    A: Aggregate,
    A::State: Send,
    A::Event: Serialize + DeserializeOwned + Send + Sync,
{
    /// Like `persist`, with the rows the command writes beside its events (see [`Rows`] and the
    /// module docs): in the same transaction and savepoint as the events, instead of the
    /// transactional handlers.
    ///
    /// # Errors
    ///
    /// As `persist`; an error of `rows` refuses the command and nothing of it is written.
    pub async fn persist_with_rows(
        &self,
        aggregate_state: &mut AggregateState<A::State>,
        events: Vec<A::Event>,
        rows: Box<dyn Rows<A::Event>>,
    ) -> Result<Vec<StoreEvent<A::Event>>, SqliteStoreError> {
        self.persist_job(aggregate_state, events, Some(rows)).await
    }

    /// `persist`, with the command's own rows or (`None`) its transactional handlers.
    async fn persist_job(
        &self,
        aggregate_state: &mut AggregateState<A::State>,
        events: Vec<A::Event>,
        rows: Option<Box<dyn Rows<A::Event>>>,
    ) -> Result<Vec<StoreEvent<A::Event>>, SqliteStoreError> {
        if events.is_empty() {
            drop(aggregate_state.take_lock());
            return Ok(Vec::new());
        }
        let aggregate_id = *aggregate_state.id();
        // Truncated to the stored precision so the returned events equal what a reload yields.
        let now = Utc::now();
        let micros = now.timestamp_micros();
        let occurred_on = micros_to_datetime(micros).unwrap_or(now);

        let mut store_events: Vec<StoreEvent<A::Event>> = Vec::with_capacity(events.len());
        let mut payloads = Vec::with_capacity(events.len());
        for event in events {
            let sequence_number = aggregate_state.next_sequence_number();
            payloads.push(serde_json::to_string(&event)?);
            store_events.push(StoreEvent {
                id: Uuid::new_v4(),
                aggregate_id,
                payload: event,
                occurred_on,
                sequence_number,
                version: None,
            });
        }
        let rows = match rows {
            None => JobRows::Handlers,
            Some(rows) => match rows.prepare(&store_events)? {
                Some(batch) => JobRows::Prepared(batch),
                None => JobRows::InTransaction(rows),
            },
        };
        // The committer writes it with whatever else is waiting (see the module docs). The lock
        // goes with it: released once the group is on disk or failed, even if this future is
        // dropped meanwhile.
        let (reply, answer) = oneshot::channel();
        let job = Job {
            events: store_events,
            payloads,
            micros,
            rows,
            lock: aggregate_state.take_lock(),
            reply,
        };
        if self.inner.jobs.send(job).is_err() {
            return Err(SqliteStoreError::GroupFailed {
                message: "the store's committer has stopped".into(),
                unavailable: true,
            });
        }
        let (store_events, result) = answer.await.map_err(|_| SqliteStoreError::GroupFailed {
            message: "the store's committer has stopped".into(),
            unavailable: true,
        })?;
        result?;

        let event_handlers = self.inner.event_handlers.read().await;
        for store_event in &store_events {
            for handler in event_handlers.iter() {
                handler.handle(store_event).await;
            }
        }
        drop(event_handlers);

        self.publish(&store_events).await;
        Ok(store_events)
    }
}

/// Maps an insert error: a unique violation on `(aggregate_id, sequence_number)` is a conflict.
fn insert_error(
    error: sqlx::Error,
    aggregate_id: Uuid,
    sequence_number: SequenceNumber,
) -> SqliteStoreError {
    if let sqlx::Error::Database(db) = &error {
        if db.is_unique_violation() && db.message().contains("sequence_number") {
            return SqliteStoreError::Conflict {
                aggregate_id,
                sequence_number,
            };
        }
    }
    SqliteStoreError::Sqlx(error)
}

fn parse_uuid(text: &str) -> Result<Uuid, SqliteStoreError> {
    Uuid::parse_str(text).map_err(|e| SqliteStoreError::CorruptRow(format!("uuid {text:?}: {e}")))
}

/// Microseconds since the epoch, the unit of `occurred_on`.
pub(crate) fn micros_to_datetime(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

fn decode_row<E: DeserializeOwned>(row: &SqliteRow) -> Result<StoreEvent<E>, SqliteStoreError> {
    let id: &str = row.try_get(0)?;
    let aggregate_id: &str = row.try_get(1)?;
    let payload: &str = row.try_get(2)?;
    let occurred_on: i64 = row.try_get(3)?;
    Ok(StoreEvent {
        id: parse_uuid(id)?,
        aggregate_id: parse_uuid(aggregate_id)?,
        payload: serde_json::from_str(payload)?,
        occurred_on: micros_to_datetime(occurred_on).ok_or_else(|| {
            SqliteStoreError::CorruptRow(format!("occurred_on {occurred_on} out of range"))
        })?,
        sequence_number: row.try_get(4)?,
        version: row.try_get(5)?,
    })
}

#[async_trait]
impl<A> EventStore for SqliteStore<A>
where
    A: Aggregate,
    A::State: Send,
    A::Event: Serialize + DeserializeOwned + Send + Sync,
{
    type Aggregate = A;
    type Error = SqliteStoreError;

    async fn lock(&self, aggregate_id: Uuid) -> Result<EventStoreLockGuard, Self::Error> {
        let mutex = self.inner.locks.handle(aggregate_id);
        let guard = mutex.lock_owned().await;
        Ok(EventStoreLockGuard::new(SqliteLockGuard {
            guard: Some(guard),
            registry: Arc::clone(&self.inner.locks),
            aggregate_id,
        }))
    }

    async fn by_aggregate_id(
        &self,
        aggregate_id: Uuid,
    ) -> Result<Vec<StoreEvent<A::Event>>, Self::Error> {
        let rows = sqlx::query(&self.inner.shared.statements.select_by_aggregate_id)
            .bind(aggregate_id.hyphenated().to_string())
            .fetch_all(&self.inner.shared.pool)
            .await?;
        rows.iter().map(decode_row).collect()
    }

    async fn persist(
        &self,
        aggregate_state: &mut AggregateState<A::State>,
        events: Vec<A::Event>,
    ) -> Result<Vec<StoreEvent<A::Event>>, Self::Error> {
        self.persist_job(aggregate_state, events, None).await
    }

    /// No event buses are configured for this store: a no-op.
    async fn publish(&self, _store_events: &[StoreEvent<A::Event>]) {}

    async fn delete(&self, aggregate_id: Uuid) -> Result<(), Self::Error> {
        let mut transaction = self.inner.shared.pool.begin_with(BEGIN_IMMEDIATE).await?;
        sqlx::query(&self.inner.shared.statements.delete_by_aggregate_id)
            .bind(aggregate_id.hyphenated().to_string())
            .execute(&mut *transaction)
            .await?;
        for handler in &self.inner.shared.transactional_event_handlers {
            handler.delete(aggregate_id, &mut transaction).await?;
        }
        transaction.commit().await?;

        let event_handlers = self.inner.event_handlers.read().await;
        for handler in event_handlers.iter() {
            handler.delete(aggregate_id).await;
        }
        Ok(())
    }
}

/// In-process per-aggregate mutexes.
///
/// The map holds [`Weak`] references: a mutex lives only while a guard or a waiter holds it. The
/// last guard to leave removes its entry; entries orphaned by cancelled waiters are purged when
/// the map has doubled since the last purge, so the map stays proportional to the aggregates
/// currently locked.
#[derive(Default)]
struct LockRegistry {
    inner: StdMutex<LockMap>,
}

#[derive(Default)]
struct LockMap {
    map: HashMap<Uuid, Weak<AsyncMutex<()>>>,
    next_purge: usize,
}

const MIN_PURGE_THRESHOLD: usize = 64;

impl LockRegistry {
    fn handle(&self, aggregate_id: Uuid) -> Arc<AsyncMutex<()>> {
        let mut locks = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mutex) = locks.map.get(&aggregate_id).and_then(Weak::upgrade) {
            return mutex;
        }
        if locks.map.len() >= locks.next_purge.max(MIN_PURGE_THRESHOLD) {
            locks.map.retain(|_, weak| weak.strong_count() > 0);
            locks.next_purge = locks.map.len().saturating_mul(2);
        }
        let mutex = Arc::new(AsyncMutex::new(()));
        locks.map.insert(aggregate_id, Arc::downgrade(&mutex));
        mutex
    }

    /// Called after a guard was dropped; `mutex` is the caller's last handle on it.
    fn release(&self, aggregate_id: Uuid, mutex: Arc<AsyncMutex<()>>) {
        let mut locks = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        // New handles are only created under this std mutex, so the count cannot grow meanwhile.
        if Arc::strong_count(&mutex) == 1 {
            let same = locks
                .map
                .get(&aggregate_id)
                .is_some_and(|weak| Weak::ptr_eq(weak, &Arc::downgrade(&mutex)));
            if same {
                locks.map.remove(&aggregate_id);
            }
        }
    }

    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }
}

/// The [`UnlockOnDrop`] guard returned by [`SqliteStore`]'s `lock`.
struct SqliteLockGuard {
    guard: Option<OwnedMutexGuard<()>>,
    registry: Arc<LockRegistry>,
    aggregate_id: Uuid,
}

impl Drop for SqliteLockGuard {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            let mutex = Arc::clone(OwnedMutexGuard::mutex(&guard));
            drop(guard);
            self.registry.release(self.aggregate_id, mutex);
        }
    }
}

impl UnlockOnDrop for SqliteLockGuard {}
