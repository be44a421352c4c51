//! The command pipeline: [`Engine::execute`] turns a caller's request into recorded facts.
//!
//! Files, in the order a command meets them:
//! - this module: [`Engine`] and its construction, the types the pipeline takes and returns, and
//!   the accessors the API uses;
//! - `execute.rs`: [`Engine::register`] and [`Engine::execute`], from the idempotency look-up to
//!   the cache update (below);
//! - `register.rs`: register numbers (`{office}-{year}-{n:06}`), drawn only for a registration
//!   the rules accept;
//! - `record.rs`: the rows a command adds beside its events, built by ONE function
//!   (`RowWriter::rows`), and how they reach each store (below);
//! - `read.rs`: replay (from the cache, a snapshot or the stream), `load*`, `history`, `verify`;
//! - `person.rs`: person look-ups written to the matched cases' access logs, and the rebuild of
//!   the person index when the name normalisation changes;
//! - `erasure.rs`: the erasure log line written before an erasure commits, and the repair of a
//!   case whose history says erased while its key is live.
//!
//! The deny list of revoked tokens, which shares only the database with the pipeline, is in
//! [`crate::tokens`].
//!
//! Steps of a command: idempotency look-up (a repeat of a success returns the first outcome even
//! though its expected version is now stale); a bounded wait for a write slot (a semaphore of at
//! most half the pool, because esrs's PostgreSQL lock holds one pooled connection while `persist`
//! needs a second: with as many writers as connections nothing would ever commit); the per-case
//! lock; load (from a bounded in-memory cache checked against the stored version, else a
//! replay); the expected-version check; `decide` (a refusal writes nothing); the command's
//! record (what its rows need: previous hash, personal data, idempotency key, states after each
//! event, a snapshot when due); `persist`, which writes, in the same transaction as the events,
//! the rows built from that record; commit; the cache keeps the new state and the hash of the
//! last event.
//!
//! # How a command's rows travel
//!
//! The rows beside the events (vault records, an erasure's key destruction and ledger row,
//! idempotency record, outbox, hash chain, snapshot, read models) need the events' ids and persistence time, which the store gives them inside
//! `persist`. So the pipeline hands the store the command's record, and the store calls
//! `RowWriter::rows` once the events have their ids; that one function builds every row, as one
//! value (`CommandRows`), in the order they are written. The only read some rows need is an
//! existing case's data key (to seal personal records or index a person); it is done in the
//! transaction, right before the rows are built. On each write path:
//!
//! 1. **SQLite, rows prepared ahead, committer's own connection.** The record goes with the call
//!    ([`crate::store::SqliteStore::persist_with_rows`], as a [`crate::store::sqlite::Rows`]);
//!    `persist` gives the events their ids and builds the rows in the caller's task (no read
//!    needed: a new case, or nothing to seal); the committer writes a group made only of such
//!    commands on its own rusqlite connection (`store/direct.rs`), events and rows of each
//!    command in its savepoint.
//! 2. **SQLite, rows prepared ahead, pool connection.** The same rows, in a group that also holds
//!    a command of path 3 (or when the committer's own connection cannot be opened): the
//!    committer writes the group on its pool connection, each command's events and prepared
//!    rows in one statement text.
//! 3. **SQLite, rows read in the transaction.** When the case's key must be read, the record
//!    travels with the command to the committer, which (after inserting the events, in the
//!    command's savepoint) reads the key and builds the rows there (`Rows::prepare_in`).
//! 4. **PostgreSQL.** esrs's `PgStore::persist` calls its transactional handlers with one event
//!    and the connection, nothing else. The record reaches the engine's handler through a task
//!    local scoped to that one `persist` call (esrs runs the handlers inline, in the caller's
//!    task): the handler keeps the command's events until the last, then reads the key if
//!    needed, builds the rows and runs them. No record can outlive its command or reach another.
//!
//! On every path, a failing row rolls back the command's events with it, and the hash of the
//! command's last event comes back to the pipeline for its cache.
//!
//! Two layers of result, as esrs's `AggregateManager::handle_command`: the outer `Result` is
//! "could not record" ([`EngineError`]), the inner one "refused"
//! ([`DomainError`](ptl_domain::DomainError)).

mod erasure;
mod execute;
mod person;
mod read;
mod record;
mod register;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use lru::LruCache;
use ptl_domain::{Action, Actor, CaseEvent, CaseState, Command, RuleBook};
use uuid::Uuid;

use crate::aggregate::CaseAggregate;
use crate::clock::Clock;
use crate::db::{Batch, Conn, Db};
use crate::keys::KeyRing;
use crate::store::{PgStore, SqliteStore, WriteGate};
use crate::vault::{ErasureReason, PersonalText, Vault};

pub use person::{Lookup, DUPLICATE_CHECK_REASON};
use record::RowWriter;

/// Why a command could not be recorded (as opposed to refused by the rules).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The caller's expected version is stale (HTTP 412), or a concurrent writer won the race.
    #[error("the case is at version {current}, not {expected}")]
    Conflict {
        /// What the caller expected.
        expected: u64,
        /// What the case is at now.
        current: u64,
    },
    /// The case does not exist.
    #[error("no such case")]
    NotFound,
    /// The same idempotency key was used with another request.
    #[error("the idempotency key was used for another request")]
    IdempotencyKeyReused,
    /// The first request with this idempotency key is still running.
    #[error("a request with this idempotency key is still running")]
    RequestInProgress,
    /// The store or the pool is saturated or down: retry later (HTTP 503).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (HTTP 500; details are logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        if crate::store::is_unavailable(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<crate::vault::VaultError> for EngineError {
    /// A vault statement that failed for a passing reason is "unavailable"; anything else
    /// (tampered ciphertext, a missing key) is internal.
    fn from(e: crate::vault::VaultError) -> Self {
        match e {
            crate::vault::VaultError::Db(e) => Self::from(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// An idempotency key, scoped to the caller, with the fingerprint of the request it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The caller (`sub`).
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// Hash of the request (method, path, body): the same key with another request is refused.
    pub fingerprint: String,
    /// HTTP status the first success returned (stored with the key).
    pub status: u16,
}

/// What the API hands over besides the command: personal data to seal in the vault.
#[derive(Debug, Default, Clone)]
pub struct Personal {
    /// Free text and the person record, already replaced by references in the command.
    pub texts: Vec<PersonalText>,
    /// Name and birth date for the keyed person index (registration only).
    pub person_index: Option<(String, NaiveDate)>,
    /// The free-text reason of an erasure (`erase-personal-data` only): it goes to the erasure
    /// ledger, sealed under the master key, in the command's transaction.
    pub erasure_reason: Option<ErasureReason>,
}

/// How many other cases of the same person in the caller's scope a registration names at most
/// (the HTTP answer carries them in a header, which must stay small however often a person
/// applied; cases outside the scope are only counted per office).
pub const SAME_PERSON_LISTED: usize = 20;

/// A recorded command.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The case.
    pub case_id: Uuid,
    /// Its version after the command.
    pub version: u64,
    /// Its state after the command.
    pub state: Arc<CaseState>,
    /// The events written (empty for an idempotent replay).
    pub events: Vec<CaseEvent>,
    /// This was a repeat of an earlier success: nothing was written.
    pub replayed: bool,
    /// Other cases of the same person (duplicate warning, registration only), every one in id
    /// order, whoever's scope they are in: the caller decides what to show (ids only within the
    /// registering user's scope, at most [`SAME_PERSON_LISTED`]). Each is written to that case's
    /// access log as a duplicate check.
    pub same_person: Vec<Uuid>,
}

/// One event of a case's history as recorded.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// 1-based sequence.
    pub sequence: u64,
    /// Store event id.
    pub id: Uuid,
    /// Persistence time (the store's clock).
    pub stored_at: DateTime<Utc>,
    /// The event.
    pub event: CaseEvent,
    /// Its keyed hash.
    pub hash: Option<String>,
    /// The previous event's hash.
    pub prev_hash: Option<String>,
}

/// The result of verifying a case's hash chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// Every event's hash recomputes and links.
    pub valid: bool,
    /// Number of events.
    pub events: u64,
    /// The first event that does not verify.
    pub first_invalid_sequence: Option<u64>,
}

/// A write transaction holding its write slot until it ends.
#[derive(Debug)]
pub struct WriteTx {
    tx: crate::db::Tx,
    _permit: crate::store::WritePermit,
}

impl WriteTx {
    /// The transaction's connection.
    pub fn conn(&mut self) -> Conn<'_> {
        self.tx.conn()
    }

    /// Commits and frees the slot.
    ///
    /// # Errors
    /// The commit failed: nothing was written.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// The event store behind the engine.
#[derive(Clone)]
pub enum CaseStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore<CaseAggregate>),
    /// PostgreSQL through esrs's `PgStore`.
    Postgres(PgStore<CaseAggregate>),
}

impl std::fmt::Debug for CaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "CaseStore::Sqlite",
            Self::Postgres(_) => "CaseStore::Postgres",
        })
    }
}

/// One event of a command as a [`Projector`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Projected<'a> {
    /// The event's sequence number in its case.
    pub sequence: u64,
    /// The event.
    pub event: &'a CaseEvent,
    /// The case's state after this event.
    pub state: &'a CaseState,
}

/// Read models updated in the same transaction as the events (implemented by the projections
/// crate; the engine only calls it, keeping the dependency direction).
pub trait Projector: Send + Sync {
    /// Adds the statements that apply the committed-to-be events of one command, in order (never
    /// empty), to `batch`. Called once per command, so rows that follow from the case's state are
    /// written once, from the state after the last event. The engine runs the batch with the
    /// command's own rows, in the command's transaction: a failing statement aborts the command
    /// and nothing is written.
    fn project(&self, batch: &mut Batch, case_id: Uuid, events: &[Projected<'_>]);
}

/// A case's state as the engine keeps it in memory.
#[derive(Debug)]
struct Cached {
    version: u64,
    state: Arc<CaseState>,
    /// The hash of the case's last event: the next command's previous hash.
    last_hash: Option<String>,
}

impl Cached {
    /// A case without events.
    fn empty() -> Arc<Self> {
        Arc::new(Self {
            version: 0,
            state: Arc::new(CaseState::default()),
            last_hash: None,
        })
    }
}

/// Stripes of the engine's in-process case locks.
const CASE_LOCK_STRIPES: usize = 256;

/// Commands admitted at once on SQLite (they queue for the store's group committer).
const SQLITE_COMMANDS_IN_FLIGHT: usize = 64;

/// Options for [`Engine::new`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Most case states kept in memory (bounded cache).
    pub cache_capacity: usize,
    /// Longest wait for a write slot or a case lock before "unavailable, retry".
    pub write_timeout: Duration,
    /// Write slots (at most half the PostgreSQL pool; see the module docs).
    pub write_slots: usize,
    /// Data directory (erasure ledger file).
    pub data_dir: Option<PathBuf>,
    /// Write every event to the outbox (when a RabbitMQ relay is configured).
    pub outbox: bool,
    /// Keep a snapshot of a case's state after every this many events (0: never), so that a
    /// cold load folds only the events after it (see [`crate::snapshot`]).
    pub snapshot_every: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            cache_capacity: 10_000,
            write_timeout: Duration::from_secs(5),
            write_slots: 4,
            data_dir: None,
            outbox: false,
            snapshot_every: 100,
        }
    }
}

/// The command pipeline over one store.
pub struct Engine {
    store: CaseStore,
    db: Db,
    clock: Arc<dyn Clock>,
    rules: Arc<RuleBook>,
    keys: Arc<KeyRing>,
    vault: Arc<Vault>,
    /// Builds the rows each command writes beside its events.
    rows: Arc<RowWriter>,
    cache: StdMutex<LruCache<Uuid, Arc<Cached>>>,
    gate: WriteGate,
    /// Admission of commands: the same gate on PostgreSQL; on SQLite a wider one (commands
    /// queue for the store's committer, which takes `gate` per group).
    command_gate: WriteGate,
    in_flight: StdMutex<std::collections::HashSet<(String, String)>>,
    options: EngineOptions,
    /// A projector runs in the event transaction and needs the state after each event.
    has_projector: bool,
    /// In-process per-case locks (striped), held for a whole attempt: the store's lock is
    /// released at commit, but the command's bookkeeping (cache) must finish before the next
    /// writer of the case in this process starts.
    case_locks: Vec<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine over a migrated database. On PostgreSQL the store gets the engine's
    /// transactional handler, which writes each command's rows (hash chain, vault, idempotency,
    /// outbox, snapshot, and the projector's read models if given); on SQLite they go with each
    /// command (see the module docs).
    ///
    /// # Errors
    /// The store cannot be built (e.g. the SQLite table is missing).
    pub async fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        rules: Arc<RuleBook>,
        keys: Arc<KeyRing>,
        projector: Option<Arc<dyn Projector>>,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        let sqlite = matches!(db, Db::Sqlite(_));
        let vault = Arc::new(Vault::new(keys.clone()));
        let has_projector = projector.is_some();
        let rows = Arc::new(RowWriter::new(
            keys.clone(),
            vault.clone(),
            projector,
            options.outbox,
        ));
        // SQLite has one writer at a time: queueing writers here, in order, beats letting them
        // spin in SQLite's busy handler (which sleeps in growing steps). Commands do not take
        // this one-slot gate themselves: the store's committer takes it for each group it
        // writes (group commit), so commands wait in its queue, not here.
        let gate = if sqlite {
            WriteGate::new(1)
        } else {
            WriteGate::new(options.write_slots.max(1))
        };
        let command_gate = if sqlite {
            WriteGate::new(SQLITE_COMMANDS_IN_FLIGHT)
        } else {
            gate.clone()
        };
        let store = match &db {
            Db::Sqlite(pool) => CaseStore::Sqlite(
                crate::store::SqliteStoreBuilder::new(pool.clone())
                    .with_write_gate(gate.clone())
                    .try_build()
                    .await
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
            ),
            Db::Postgres(pool) => CaseStore::Postgres(
                crate::store::pg_store_builder::<CaseAggregate>(pool.clone())
                    .add_transactional_event_handler(record::PgRows)
                    .try_build()
                    .await
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
            ),
        };
        let capacity =
            NonZeroUsize::new(options.cache_capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Ok(Self {
            store,
            db,
            clock,
            rules,
            keys,
            vault,
            rows,
            cache: StdMutex::new(LruCache::new(capacity)),
            gate,
            command_gate,
            in_flight: StdMutex::default(),
            options,
            has_projector,
            case_locks: (0..CASE_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// The database.
    #[must_use]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A write transaction admitted by the engine's write gate. On SQLite every writer of the
    /// process must pass the gate: a second `BEGIN IMMEDIATE` beside the command path would wait
    /// in SQLite's busy handler, which sleeps in growing steps.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`] when no slot frees within the write timeout.
    pub async fn begin_write(&self) -> Result<WriteTx, EngineError> {
        let permit = tokio::time::timeout(self.options.write_timeout, self.gate.enter())
            .await
            .map_err(|_| EngineError::Unavailable("all write slots are busy".into()))?
            .map_err(|_| EngineError::Unavailable("the engine is shutting down".into()))?;
        let tx = self.db.begin().await?;
        Ok(WriteTx {
            tx,
            _permit: permit,
        })
    }

    /// An engine for long background reads (the integrity report): the same keys, rules, clock
    /// and data directory over its own pool of `connections` to the same store, with no
    /// projector and a small cache. Called from the thread that will use it, its SQLite
    /// connections' worker threads inherit that thread's scheduling priority. Writes belong to
    /// the server's engine, whose write gate this one does not share.
    ///
    /// # Errors
    /// The store cannot be reached.
    pub async fn reader(&self, connections: u32) -> Result<Self, EngineError> {
        let db = self.db.another_pool(connections).await?;
        Self::new(
            db,
            self.clock.clone(),
            self.rules.clone(),
            self.keys.clone(),
            None,
            EngineOptions {
                cache_capacity: 16,
                data_dir: self.options.data_dir.clone(),
                snapshot_every: 0,
                ..self.options.clone()
            },
        )
        .await
    }

    /// The data directory (erasure ledger), if configured.
    #[must_use]
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.options.data_dir.as_deref()
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> bool {
        match &self.db {
            Db::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.is_ok(),
            Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.is_ok(),
        }
    }

    /// The rule book.
    #[must_use]
    pub fn rules(&self) -> &Arc<RuleBook> {
        &self.rules
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The vault.
    #[must_use]
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The key ring.
    #[must_use]
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    /// Builds a command stamped with the engine's clock.
    #[must_use]
    pub fn command(&self, actor: Actor, occurred_on: NaiveDate, action: Action) -> Command {
        Command {
            actor,
            recorded_at: self.clock.now(),
            occurred_on,
            rules: self.rules.clone(),
            child: None,
            action,
            lookups: Default::default(),
        }
    }
}
