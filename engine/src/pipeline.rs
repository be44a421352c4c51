//! The command pipeline: [`Engine::execute`] turns a caller's request into recorded facts.
//!
//! Steps: idempotency look-up (a repeat of a success returns the first outcome even though its
//! expected version is now stale); a bounded wait for a write slot (a semaphore of at most half
//! the pool, because esrs's PostgreSQL lock holds one pooled connection while `persist` needs a
//! second: with as many writers as connections nothing would ever commit); the per-case lock;
//! load (from a bounded in-memory cache checked against the stored version, else a replay);
//! the expected-version check; `decide` (a refusal writes nothing); `persist`, whose
//! transactional handler writes, in the same transaction as the events, the hash chain, the
//! encrypted personal records and the idempotency record; commit.
//!
//! Two layers of result, as esrs's `AggregateManager::handle_command`: the outer `Result` is
//! "could not record" ([`EngineError`]), the inner one "refused" ([`DomainError`]).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use esrs::handler::TransactionalEventHandler;
use esrs::store::{EventStore, StoreEvent};
use esrs::AggregateState;
use lru::LruCache;
use ptl_domain::{Action, Actor, CaseEvent, CaseState, Command, DomainError, RuleBook};
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use crate::aggregate::CaseAggregate;
use crate::clock::Clock;
use crate::db::{Batch, Conn, Db};
use crate::integrity::{canonical_json, canonical_timestamp, chain_hash};
use crate::keys::KeyRing;
use crate::store::{PgStore, PgStoreError, SqliteStore, SqliteStoreError, WriteGate};
use crate::vault::{CaseRows, PersonalText, Vault};
use crate::{fetch_all, fetch_optional, run};

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
}

/// How many other cases of the same person a registration names at most (the HTTP answer
/// carries them in a header, which must stay small however often a person applied).
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
    /// Other cases of the same person (duplicate warning, registration only): the first
    /// [`SAME_PERSON_LISTED`] in id order; a person search lists them all.
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

#[derive(Clone, Copy)]
enum DbKind {
    Sqlite,
    Postgres,
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

/// The outcome of one try of the write path.
enum Attempt {
    Done(Result<Executed, DomainError>),
    /// The cached state was behind the store: try again with a checked state.
    StaleCache,
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

#[derive(Debug)]
struct Pending {
    /// The command's events: the handler writes this record only with these very events (a
    /// command abandoned by its caller can never lend its record to another, or borrow one).
    events: Vec<CaseEvent>,
    prev_hash: Option<String>,
    personal: Personal,
    idempotency: Option<Idempotency>,
    version_after: u64,
    now: DateTime<Utc>,
    first_done: bool,
    /// The state after each event of the batch, by sequence (for the projector).
    states: Vec<(u64, Arc<CaseState>)>,
    /// The hash-chain rows of the events handled so far, written together with the last one.
    chain: Vec<ChainRow>,
    /// The other rows of the events handled so far (vault, idempotency, outbox), written in the
    /// same batch as the chain rows.
    rows: Batch,
    /// The state after the batch's last event, when the batch completes a snapshot interval.
    snapshot: Option<Arc<CaseState>>,
}

type PendingMap = Arc<StdMutex<HashMap<Uuid, Pending>>>;

/// The transactional handler that writes, with each batch of events, the hash chain, the vault
/// records and the idempotency record.
#[derive(Clone)]
struct IntegrityHandler {
    pending: PendingMap,
    keys: Arc<KeyRing>,
    vault: Arc<Vault>,
    projector: Option<Arc<dyn Projector>>,
    /// Write every event to the outbox for the RabbitMQ relay.
    outbox: bool,
}

/// One `event_integrity` row waiting for the command's last event.
#[derive(Debug)]
struct ChainRow {
    sequence: i64,
    event_id: String,
    hash: String,
    prev_hash: Option<String>,
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

impl IntegrityHandler {
    /// Takes the command's record for `event` out of the map: `None` if there is none or it is
    /// another command's (one abandoned by its caller can never lend its record to another).
    fn take(&self, event: &StoreEvent<CaseEvent>) -> Option<Pending> {
        let case_id = event.aggregate_id;
        let mut map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let p = map.remove(&case_id)?;
        if p.holds(event) {
            Some(p)
        } else {
            map.insert(case_id, p);
            None
        }
    }

    fn put_back(&self, case_id: Uuid, p: Pending) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(case_id, p);
    }

    async fn handle_event(
        &self,
        mut conn: Conn<'_>,
        event: &StoreEvent<CaseEvent>,
    ) -> Result<(), HandlerError> {
        let Some(mut p) = self.take(event) else {
            return Err(abandoned(event));
        };
        let result = self.write(conn.reborrow(), event, &mut p).await;
        self.put_back(event.aggregate_id, p);
        result
    }

    async fn write(
        &self,
        mut conn: Conn<'_>,
        event: &StoreEvent<CaseEvent>,
        p: &mut Pending,
    ) -> Result<(), HandlerError> {
        if !p.first_done {
            p.first_done = true;
            let (new_case, person) = p.vault_input(event);
            let mut rows = Batch::new();
            let input = CaseRows {
                case_id: event.aggregate_id,
                new_case,
                records: &p.personal.texts,
                person,
                now: p.now,
            };
            self.vault
                .stage(conn.reborrow(), &mut rows, &input)
                .await
                .map_err(HandlerError::vault)?;
            p.rows = rows;
            p.push_idempotency(event.aggregate_id);
        }
        if let Some(batch) = self.add_event(event, p)? {
            batch.execute(conn.reborrow()).await?;
        }
        Ok(())
    }

    /// Every row a command writes with its events, prepared in the caller's task before the
    /// command's turn on SQLite's single writer (see [`crate::store::sqlite::Stager`]). `None`
    /// when a row needs a read on the writer's connection first (an existing case's vault key):
    /// the handler then does it all in the transaction.
    fn stage_events(
        &self,
        events: &[StoreEvent<CaseEvent>],
    ) -> Result<Option<Batch>, HandlerError> {
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let Some(mut p) = self.take(first) else {
            return Err(abandoned(first));
        };
        let result = self.stage_taken(events, &mut p);
        self.put_back(first.aggregate_id, p);
        result
    }

    fn stage_taken(
        &self,
        events: &[StoreEvent<CaseEvent>],
        p: &mut Pending,
    ) -> Result<Option<Batch>, HandlerError> {
        let (first, last) = match (events.first(), events.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Ok(None),
        };
        let whole = !p.first_done
            && u64::try_from(last.sequence_number).ok() == Some(p.version_after)
            && events.iter().all(|e| p.holds(e));
        if !whole {
            return Ok(None);
        }
        let case_id = first.aggregate_id;
        let (new_case, person) = p.vault_input(first);
        let mut rows = Batch::new();
        let input = CaseRows {
            case_id,
            new_case,
            records: &p.personal.texts,
            person,
            now: p.now,
        };
        let staged = self
            .vault
            .stage_without_reads(&mut rows, &input)
            .map_err(HandlerError::vault)?;
        if !staged {
            return Ok(None);
        }
        p.first_done = true;
        p.rows = rows;
        p.push_idempotency(case_id);
        let mut batch = None;
        for event in events {
            batch = self.add_event(event, p)?;
        }
        Ok(batch)
    }

    /// Adds `event`'s hash-chain link and outbox row; for the command's last event, returns the
    /// batch of all its rows (vault, idempotency, outbox, hash chain, snapshot, read models).
    fn add_event(
        &self,
        event: &StoreEvent<CaseEvent>,
        p: &mut Pending,
    ) -> Result<Option<Batch>, HandlerError> {
        let case_id = event.aggregate_id;
        let hash = event_hash(&self.keys, p.prev_hash.as_deref(), event)?;
        p.chain.push(ChainRow {
            sequence: i64::from(event.sequence_number),
            event_id: event.id.to_string(),
            hash: hash.clone(),
            prev_hash: p.prev_hash.take(),
        });
        p.prev_hash = Some(hash);
        if self.outbox {
            p.rows.push(
                "INSERT INTO outbox (event_id, case_id, sequence, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    event.id.to_string().into(),
                    case_id.to_string().into(),
                    i64::from(event.sequence_number).into(),
                    event.payload.body.type_name().into(),
                    serde_json::to_string(&event.payload)
                        .map_err(HandlerError::custom)?
                        .into(),
                    p.now.timestamp_micros().into(),
                ],
            );
        }
        if u64::try_from(event.sequence_number).ok() != Some(p.version_after) {
            return Ok(None);
        }
        // The command's last event: its rows (vault, idempotency, outbox, hash chain, snapshot,
        // read models) are written together, in one batch.
        let mut batch = std::mem::take(&mut p.rows);
        let case = case_id.to_string();
        batch.push(
            format!(
                "INSERT INTO event_integrity (case_id, sequence, event_id, hash, prev_hash) VALUES {}",
                crate::db::values_placeholders(p.chain.len(), 5)
            ),
            p.chain
                .iter()
                .flat_map(|r| {
                    [
                        case.clone().into(),
                        r.sequence.into(),
                        r.event_id.clone().into(),
                        r.hash.clone().into(),
                        r.prev_hash.clone().into(),
                    ]
                })
                .collect(),
        );
        if let Some(state) = p.snapshot.take() {
            let hash = p.prev_hash.as_deref().unwrap_or_default();
            crate::snapshot::write(
                &mut batch,
                &self.keys,
                case_id,
                p.version_after,
                hash,
                &state,
                p.now,
            )
            .map_err(HandlerError::custom)?;
        }
        if let Some(projector) = &self.projector {
            // `states` holds the state after each event, in the events' order.
            let projected: Vec<Projected<'_>> = p
                .events
                .iter()
                .zip(&p.states)
                .map(|(event, (sequence, state))| Projected {
                    sequence: *sequence,
                    event,
                    state,
                })
                .collect();
            if !projected.is_empty() {
                projector.project(&mut batch, case_id, &projected);
            }
        }
        Ok(Some(batch))
    }
}

impl Pending {
    /// Whether `event` is one of this command's events.
    fn holds(&self, event: &StoreEvent<CaseEvent>) -> bool {
        let sequence = u64::try_from(event.sequence_number).unwrap_or(0);
        let count = self.events.len() as u64;
        sequence + count > self.version_after
            && sequence <= self.version_after
            && self.events.get(
                usize::try_from(sequence + count - self.version_after - 1).unwrap_or(usize::MAX),
            ) == Some(&event.payload)
    }

    /// Whether the command starts a case (its first event), and its person-index entry.
    fn vault_input(&self, first: &StoreEvent<CaseEvent>) -> (bool, Option<(&str, NaiveDate)>) {
        let new_case = matches!(
            first.payload.body,
            ptl_domain::EventBody::ApplicationRegistered { .. }
        );
        let person = self
            .personal
            .person_index
            .as_ref()
            .map(|(name, birth)| (name.as_str(), *birth));
        (new_case, person)
    }

    fn push_idempotency(&mut self, case_id: Uuid) {
        if let Some(i) = &self.idempotency {
            self.rows.push(
                "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, case_id, version, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    i.scope.clone().into(),
                    i.key.clone().into(),
                    i.fingerprint.clone().into(),
                    case_id.to_string().into(),
                    i64::try_from(self.version_after).unwrap_or(i64::MAX).into(),
                    i64::from(i.status).into(),
                    self.now.timestamp_micros().into(),
                ],
            );
        }
    }
}

fn abandoned(event: &StoreEvent<CaseEvent>) -> HandlerError {
    // Not this command's record (or none): refuse rather than write the event without its
    // hash-chain link, vault records or idempotency record.
    HandlerError::custom(format!(
        "no pending record for event {} of case {}: the command was abandoned",
        event.sequence_number, event.aggregate_id
    ))
}

/// The canonical content a hash covers: case, sequence, event id, persistence time (microseconds)
/// and the payload, in RFC 8785 form (JSONB key order and timestamp rounding cannot change it).
fn event_hash(
    keys: &KeyRing,
    prev: Option<&str>,
    event: &StoreEvent<CaseEvent>,
) -> Result<String, HandlerError> {
    Ok(chain_hash(keys.hash_key(), prev, &event_canonical(event)?))
}

fn event_canonical(event: &StoreEvent<CaseEvent>) -> Result<String, HandlerError> {
    let content = serde_json::json!({
        "case_id": event.aggregate_id.to_string(),
        "sequence": event.sequence_number,
        "event_id": event.id.to_string(),
        "stored_at": canonical_timestamp(event.occurred_on),
        "payload": serde_json::to_value(&event.payload).map_err(HandlerError::custom)?,
    });
    canonical_json(&content).map_err(HandlerError::custom)
}

async fn last_hash(conn: Conn<'_>, case_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = fetch_optional!(
        conn,
        (String,),
        "SELECT hash FROM event_integrity WHERE case_id = $1 ORDER BY sequence DESC LIMIT 1",
        case_id.to_string()
    )?;
    Ok(row.map(|r| r.0))
}

/// A transactional handler's failure; `unavailable` keeps a passing store condition (busy, full,
/// connection lost) apart from a fault all the way up to the API's 503.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct HandlerError {
    message: String,
    unavailable: bool,
}

impl HandlerError {
    fn custom(e: impl std::fmt::Display) -> Self {
        Self {
            message: e.to_string(),
            unavailable: false,
        }
    }

    fn vault(e: crate::vault::VaultError) -> Self {
        match e {
            crate::vault::VaultError::Db(e) => Self::from(e),
            other => Self::custom(other),
        }
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        Self {
            unavailable: crate::store::is_unavailable(&e),
            message: e.to_string(),
        }
    }
}

/// The engine's error for a store error that carries a [`HandlerError`].
fn handler_failure(e: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<EngineError> {
    e.downcast_ref::<HandlerError>().map(|h| {
        if h.unavailable {
            EngineError::Unavailable(h.message.clone())
        } else {
            EngineError::Internal(h.message.clone())
        }
    })
}

#[async_trait]
impl TransactionalEventHandler<CaseAggregate, SqliteStoreError, SqliteConnection>
    for IntegrityHandler
{
    async fn handle(
        &self,
        event: &StoreEvent<CaseEvent>,
        executor: &mut SqliteConnection,
    ) -> Result<(), SqliteStoreError> {
        self.handle_event(Conn::Sqlite(executor), event)
            .await
            .map_err(|e| SqliteStoreError::Custom(Box::new(e)))
    }
}

impl crate::store::sqlite::Stager<CaseEvent> for IntegrityHandler {
    fn stage(&self, events: &[StoreEvent<CaseEvent>]) -> Result<Option<Batch>, SqliteStoreError> {
        self.stage_events(events)
            .map_err(|e| SqliteStoreError::Custom(Box::new(e)))
    }
}

#[async_trait]
impl TransactionalEventHandler<CaseAggregate, PgStoreError, PgConnection> for IntegrityHandler {
    async fn handle(
        &self,
        event: &StoreEvent<CaseEvent>,
        executor: &mut PgConnection,
    ) -> Result<(), PgStoreError> {
        self.handle_event(Conn::Postgres(executor), event)
            .await
            .map_err(|e| PgStoreError::Custom(Box::new(e)))
    }
}

#[derive(Debug)]
struct Cached {
    version: u64,
    state: Arc<CaseState>,
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
    pending: PendingMap,
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
    /// released at commit, but the command's bookkeeping (pending record, cache) must finish
    /// before the next writer of the case in this process starts.
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

/// Removes an in-flight idempotency key when the request ends, however it ends.
struct InFlight<'a> {
    set: &'a StdMutex<std::collections::HashSet<(String, String)>>,
    key: Option<(String, String)>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.set
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&k);
        }
    }
}

impl Engine {
    /// Builds the engine over a migrated database. The store gets the engine's transactional
    /// handler (hash chain, vault, idempotency, and the projector if given).
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
        let pending: PendingMap = Arc::default();
        let db_kind = match &db {
            Db::Sqlite(_) => DbKind::Sqlite,
            Db::Postgres(_) => DbKind::Postgres,
        };
        let vault = Arc::new(Vault::new(keys.clone()));
        let has_projector = projector.is_some();
        let handler = IntegrityHandler {
            pending: pending.clone(),
            keys: keys.clone(),
            vault: vault.clone(),
            projector,
            outbox: options.outbox,
        };
        // SQLite has one writer at a time: queueing writers here, in order, beats letting them
        // spin in SQLite's busy handler (which sleeps in growing steps). Commands do not take
        // this one-slot gate themselves: the store's committer takes it for each group it
        // writes (group commit), so commands wait in its queue, not here.
        let gate = if matches!(db_kind, DbKind::Sqlite) {
            WriteGate::new(1)
        } else {
            WriteGate::new(options.write_slots.max(1))
        };
        let command_gate = if matches!(db_kind, DbKind::Sqlite) {
            WriteGate::new(SQLITE_COMMANDS_IN_FLIGHT)
        } else {
            gate.clone()
        };
        let store = match &db {
            Db::Sqlite(pool) => CaseStore::Sqlite(
                crate::store::SqliteStoreBuilder::new(pool.clone())
                    .with_write_gate(gate.clone())
                    .with_stager(handler.clone())
                    .add_transactional_event_handler(handler)
                    .try_build()
                    .await
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
            ),
            Db::Postgres(pool) => CaseStore::Postgres(
                crate::store::pg_store_builder::<CaseAggregate>(pool.clone())
                    .add_transactional_event_handler(handler)
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
            pending,
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
            action,
        }
    }

    /// Registers an application as a new case (a fresh UUIDv4 id), assigning the register number.
    ///
    /// # Errors
    /// [`EngineError`] when it cannot be recorded; the inner `Err` when the rules refuse it.
    #[tracing::instrument(skip_all, fields(action = "register"), err(level = "debug"))]
    pub async fn register(
        &self,
        mut command: Command,
        personal: Personal,
        idempotency: Option<Idempotency>,
    ) -> Result<Result<Executed, DomainError>, EngineError> {
        if let Some(done) = self.idempotent_replay(idempotency.as_ref(), None).await? {
            return Ok(Ok(done));
        }
        // Validate with a placeholder number first, so a refused registration uses no number.
        if let Action::Register(reg) = &mut command.action {
            reg.register_no = "pending".into();
        }
        if let Err(e) = ptl_domain::decide(&CaseState::default(), command.clone()) {
            return Ok(Err(e));
        }
        if let Action::Register(reg) = &mut command.action {
            reg.register_no = self
                .next_register_no(&reg.office, command.occurred_on)
                .await?;
        }
        let case_id = Uuid::new_v4();
        let same_person = match &personal.person_index {
            Some((name, birth)) => {
                let mut conn = self.db.acquire().await?;
                self.vault
                    .find_person_up_to(conn.conn(), name, *birth, SAME_PERSON_LISTED)
                    .await
                    .map_err(EngineError::from)?
            }
            None => Vec::new(),
        };
        let mut out = self
            .execute_inner(case_id, Some(0), command, personal, idempotency)
            .await?;
        if let Ok(done) = &mut out {
            done.same_person = same_person;
        }
        Ok(out)
    }

    async fn next_register_no(&self, office: &str, on: NaiveDate) -> Result<String, EngineError> {
        use chrono::Datelike;
        let year = on.year();
        let mut tx = self.begin_write().await?;
        let row: Option<(i64,)> = fetch_optional!(
            tx.conn(),
            (i64,),
            "INSERT INTO register_counters (office, year, last) VALUES ($1, $2, 1) \
             ON CONFLICT (office, year) DO UPDATE SET last = register_counters.last + 1 \
             RETURNING last",
            office.to_string(),
            year
        )?;
        tx.commit().await?;
        let n = row.map_or(1, |r| r.0);
        Ok(format!("{office}-{year}-{n:06}"))
    }

    /// Executes one command on an existing case.
    ///
    /// # Errors
    /// [`EngineError`] when it cannot be recorded (stale version, store down, ...); the inner
    /// `Err` when the rules refuse it. Nothing is written in either case.
    #[tracing::instrument(skip_all, fields(case_id = %case_id, action = %command.action.name()), err(level = "debug"))]
    pub async fn execute(
        &self,
        case_id: Uuid,
        expected_version: Option<u64>,
        command: Command,
        personal: Personal,
        idempotency: Option<Idempotency>,
    ) -> Result<Result<Executed, DomainError>, EngineError> {
        if let Some(done) = self
            .idempotent_replay(idempotency.as_ref(), Some(case_id))
            .await?
        {
            return Ok(Ok(done));
        }
        self.execute_inner(case_id, expected_version, command, personal, idempotency)
            .await
    }

    /// The first outcome of a request repeated with the same idempotency key, if any.
    ///
    /// # Errors
    /// [`EngineError::IdempotencyKeyReused`] when the key named another request.
    pub async fn idempotent_replay(
        &self,
        idem: Option<&Idempotency>,
        case_id: Option<Uuid>,
    ) -> Result<Option<Executed>, EngineError> {
        let Some(idem) = idem else { return Ok(None) };
        let mut tx = self.db.read().await?;
        let row: Option<(String, String, i64)> = fetch_optional!(
            tx.conn(),
            (String, String, i64),
            "SELECT fingerprint, case_id, version FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
            idem.scope.clone(),
            idem.key.clone()
        )?;
        drop(tx);
        let Some((fingerprint, stored_case, version)) = row else {
            return Ok(None);
        };
        let stored_case =
            Uuid::parse_str(&stored_case).map_err(|e| EngineError::Internal(e.to_string()))?;
        if fingerprint != idem.fingerprint || case_id.is_some_and(|c| c != stored_case) {
            return Err(EngineError::IdempotencyKeyReused);
        }
        let version = u64::try_from(version).unwrap_or(0);
        let state = self
            .load_version(stored_case, version)
            .await?
            .ok_or(EngineError::NotFound)?;
        Ok(Some(Executed {
            case_id: stored_case,
            version,
            state: Arc::new(state),
            events: Vec::new(),
            replayed: true,
            same_person: Vec::new(),
        }))
    }

    async fn execute_inner(
        &self,
        case_id: Uuid,
        expected_version: Option<u64>,
        command: Command,
        personal: Personal,
        idempotency: Option<Idempotency>,
    ) -> Result<Result<Executed, DomainError>, EngineError> {
        let _in_flight = match &idempotency {
            Some(i) => {
                let key = (i.scope.clone(), i.key.clone());
                if !self
                    .in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key.clone())
                {
                    return Err(EngineError::RequestInProgress);
                }
                InFlight {
                    set: &self.in_flight,
                    key: Some(key),
                }
            }
            None => InFlight {
                set: &self.in_flight,
                key: None,
            },
        };
        let timeout = self.options.write_timeout;
        let _permit = tokio::time::timeout(timeout, self.command_gate.enter())
            .await
            .map_err(|_| EngineError::Unavailable("all write slots are busy".into()))?
            .map_err(|_| EngineError::Unavailable("the engine is shutting down".into()))?;
        // First trust the cached state without asking the store: if another process wrote
        // meanwhile, the unique (case, sequence) index refuses our append and we retry once
        // with the state checked against the store.
        let first = self
            .attempt(
                case_id,
                expected_version,
                command.clone(),
                personal.clone(),
                idempotency.clone(),
                false,
            )
            .await?;
        match first {
            Attempt::Done(result) => Ok(result),
            Attempt::StaleCache => match self
                .attempt(
                    case_id,
                    expected_version,
                    command,
                    personal,
                    idempotency,
                    true,
                )
                .await?
            {
                Attempt::Done(result) => Ok(result),
                Attempt::StaleCache => Err(EngineError::Unavailable(
                    "the case changed during the command".into(),
                )),
            },
        }
    }

    #[allow(clippy::too_many_lines)]
    async fn attempt(
        &self,
        case_id: Uuid,
        expected_version: Option<u64>,
        command: Command,
        personal: Personal,
        idempotency: Option<Idempotency>,
        checked: bool,
    ) -> Result<Attempt, EngineError> {
        let timeout = self.options.write_timeout;
        let stripe = (case_id.as_u128() % CASE_LOCK_STRIPES as u128) as usize;
        let _case_lock = tokio::time::timeout(timeout, self.case_locks[stripe].lock())
            .await
            .map_err(|_| EngineError::Unavailable("the case is locked by another writer".into()))?;
        let lock = tokio::time::timeout(timeout, self.lock(case_id))
            .await
            .map_err(|_| {
                EngineError::Unavailable("the case is locked by another writer".into())
            })??;
        let (cached, from_cache) = if checked {
            (self.current(case_id).await?, false)
        } else if matches!(command.action, Action::Register(_)) {
            // A registration's case id is fresh (UUIDv4): nothing to read. Treated like a cache
            // hit, so an id that did exist is refused by the unique index and checked again.
            (Cached::empty(), true)
        } else {
            self.cached_or_replayed(case_id).await?
        };
        let current = cached.version;
        if current == 0 && !matches!(command.action, Action::Register(_)) {
            return Err(EngineError::NotFound);
        }
        if let Some(expected) = expected_version {
            if expected != current {
                if from_cache {
                    return Ok(Attempt::StaleCache);
                }
                return Err(EngineError::Conflict { expected, current });
            }
        }
        let now = command.recorded_at;
        let events = match ptl_domain::decide(&cached.state, command) {
            Ok(events) => events,
            Err(e) => return Ok(Attempt::Done(Err(e))),
        };
        let mut state = (*cached.state).clone();
        // The per-event states are kept only for a projector (the common case is one event).
        let mut states = Vec::new();
        for (i, e) in events.iter().enumerate() {
            state = ptl_domain::evolve(state, e.clone());
            if self.has_projector {
                states.push((current + i as u64 + 1, Arc::new(state.clone())));
            }
        }
        let version_after = current + events.len() as u64;
        let every = self.options.snapshot_every;
        let snapshot = (every > 0 && current / every != version_after / every)
            .then(|| Arc::new(state.clone()));
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                case_id,
                Pending {
                    events: events.clone(),
                    prev_hash: cached.last_hash.clone(),
                    personal,
                    idempotency,
                    version_after,
                    now,
                    first_done: false,
                    states,
                    chain: Vec::with_capacity(events.len()),
                    rows: Batch::new(),
                    snapshot,
                },
            );
        let mut aggregate_state: AggregateState<CaseState> = AggregateState::with_id(case_id);
        for _ in 0..current {
            aggregate_state.next_sequence_number();
        }
        aggregate_state.set_lock(lock);
        let persisted = match &self.store {
            CaseStore::Sqlite(s) => s
                .persist(&mut aggregate_state, events.clone())
                .await
                .map_err(|e| map_sqlite(e, current)),
            CaseStore::Postgres(s) => s
                .persist(&mut aggregate_state, events.clone())
                .await
                .map_err(|e| map_pg(e, current)),
        };
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&case_id);
        if let Err(e) = persisted {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop(&case_id);
            if from_cache && matches!(e, EngineError::Conflict { .. }) {
                return Ok(Attempt::StaleCache);
            }
            if let (EngineError::Conflict { .. }, Some(expected)) = (&e, expected_version) {
                let current = self.stored_version(case_id).await?;
                return Err(EngineError::Conflict { expected, current });
            }
            return Err(e);
        }
        let state = Arc::new(state);
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(
                case_id,
                Arc::new(Cached {
                    version: version_after,
                    state: state.clone(),
                    last_hash: pending.and_then(|p| p.prev_hash),
                }),
            );
        Ok(Attempt::Done(Ok(Executed {
            case_id,
            version: version_after,
            state,
            events,
            replayed: false,
            same_person: Vec::new(),
        })))
    }

    /// The cached state without asking the store (the write path's unique index catches a stale
    /// one), or a replay; the flag says whether it came from the cache.
    async fn cached_or_replayed(&self, case_id: Uuid) -> Result<(Arc<Cached>, bool), EngineError> {
        let hit = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&case_id)
            .cloned();
        match hit {
            Some(c) => Ok((c, true)),
            None => Ok((self.current(case_id).await?, false)),
        }
    }

    async fn lock(&self, case_id: Uuid) -> Result<esrs::store::EventStoreLockGuard, EngineError> {
        match &self.store {
            CaseStore::Sqlite(s) => s
                .lock(case_id)
                .await
                .map_err(|e| EngineError::Unavailable(e.to_string())),
            CaseStore::Postgres(s) => {
                // esrs takes a session advisory lock with `pg_advisory_lock`. Were this future
                // dropped while that statement waits (a client that disconnects while another
                // writer holds the case), PostgreSQL would still grant the lock to the pooled
                // session and nobody would ever release it: every later writer of the case would
                // wait until the connection is recycled. So the lock is taken by a task that
                // always runs to the end; if nobody wants the guard any more, the task drops it,
                // which releases the lock.
                let store = s.clone();
                let (give, take) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    let _ = give.send(store.lock(case_id).await);
                });
                take.await
                    .map_err(|_| EngineError::Unavailable("the lock task stopped".into()))?
                    .map_err(|e| match e {
                        PgStoreError::Sqlx(e) => EngineError::from(e),
                        other => EngineError::Internal(other.to_string()),
                    })
            }
        }
    }

    /// The stored version of a case (0 when it does not exist).
    async fn stored_version(&self, case_id: Uuid) -> Result<u64, EngineError> {
        let v: Option<(Option<i64>,)> =
            match &self.db {
                Db::Sqlite(p) => {
                    sqlx::query_as(
                        "SELECT MAX(sequence_number) FROM case_events WHERE aggregate_id = $1",
                    )
                    .bind(case_id.hyphenated().to_string())
                    .fetch_optional(p)
                    .await?
                }
                Db::Postgres(p) => sqlx::query_as(
                    "SELECT MAX(sequence_number)::BIGINT FROM case_events WHERE aggregate_id = $1",
                )
                .bind(case_id)
                .fetch_optional(p)
                .await?,
            };
        Ok(v.and_then(|r| r.0)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    /// The current state: from the cache when its version matches the store's, else replayed.
    async fn current(&self, case_id: Uuid) -> Result<Arc<Cached>, EngineError> {
        let stored = self.stored_version(case_id).await?;
        let hit = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&case_id)
            .cloned();
        if let Some(c) = hit {
            if c.version == stored {
                return Ok(c);
            }
        }
        if stored == 0 {
            return Ok(Cached::empty());
        }
        let (state, version, last_hash) = self.replay(case_id, stored).await?;
        let cached = Arc::new(Cached {
            version,
            state: Arc::new(state),
            last_hash,
        });
        if version > 0 {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(case_id, cached.clone());
        }
        Ok(cached)
    }

    /// Folds a case's stream straight from the stored payload text (one query, one decode per
    /// event: esrs's `by_aggregate_id` decodes PostgreSQL JSONB into a `serde_json::Value` first),
    /// starting from the case's snapshot when one can be trusted (see [`crate::snapshot`]).
    /// Returns the state, its version and the chain hash of its last event.
    async fn replay(
        &self,
        case_id: Uuid,
        stored: u64,
    ) -> Result<(CaseState, u64, Option<String>), EngineError> {
        let mut tx = self.db.read().await?;
        let snapshot = if self.options.snapshot_every > 0 && stored > 0 {
            crate::snapshot::read(tx.conn(), &self.keys, case_id, stored).await?
        } else {
            None
        };
        let (mut state, from, snapshot_hash) = match snapshot {
            Some(s) => (s.state, s.version, Some(s.hash)),
            None => (CaseState::default(), 0, None),
        };
        let mut n = from;
        let mut apply = |payload: &str| -> Result<(), EngineError> {
            let event: CaseEvent = serde_json::from_str(payload)
                .map_err(|e| EngineError::Internal(format!("undecodable event: {e}")))?;
            state = ptl_domain::evolve(std::mem::take(&mut state), event);
            n += 1;
            Ok(())
        };
        let after = i64::try_from(from).unwrap_or(i64::MAX);
        match tx.conn() {
            Conn::Sqlite(c) => {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT payload FROM case_events WHERE aggregate_id = $1 AND sequence_number > $2 ORDER BY sequence_number",
                )
                .bind(case_id.hyphenated().to_string())
                .bind(after)
                .fetch_all(&mut *c)
                .await?;
                for (payload,) in &rows {
                    apply(payload)?;
                }
            }
            Conn::Postgres(c) => {
                // One row instead of one per event: PostgreSQL renders JSONB on one line (a
                // newline inside a value is escaped), so the newline-joined text splits back
                // exactly, and the per-row protocol overhead of a long stream disappears.
                let joined: Option<String> = sqlx::query_scalar(
                    "SELECT string_agg(payload::text, E'\\n' ORDER BY sequence_number) FROM case_events WHERE aggregate_id = $1 AND sequence_number > $2",
                )
                .bind(case_id)
                .bind(i32::try_from(after).unwrap_or(i32::MAX))
                .fetch_one(&mut *c)
                .await?;
                for payload in joined.as_deref().unwrap_or("").lines() {
                    apply(payload)?;
                }
            }
        }
        let last = if n == from && snapshot_hash.is_some() {
            snapshot_hash
        } else {
            last_hash(tx.conn(), case_id).await?
        };
        Ok((state, n, last))
    }

    /// The case as it stands now, with its version; `None` if it does not exist.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn load(&self, case_id: Uuid) -> Result<Option<(Arc<CaseState>, u64)>, EngineError> {
        let c = self.current(case_id).await?;
        Ok((c.version > 0).then(|| (c.state.clone(), c.version)))
    }

    /// The case as it stood after `version` events.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn load_version(
        &self,
        case_id: Uuid,
        version: u64,
    ) -> Result<Option<CaseState>, EngineError> {
        let history = self.history(case_id).await?;
        if history.is_empty() || version == 0 || version > history.len() as u64 {
            return Ok(None);
        }
        Ok(Some(
            history
                .into_iter()
                .take(usize::try_from(version).unwrap_or(0))
                .map(|e| e.event)
                .fold(CaseState::default(), ptl_domain::evolve),
        ))
    }

    /// What had been recorded by instant `as_of` (recorded time), and its version.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn load_as_of(
        &self,
        case_id: Uuid,
        as_of: DateTime<Utc>,
    ) -> Result<Option<(CaseState, u64)>, EngineError> {
        let history = self.history(case_id).await?;
        let events: Vec<CaseEvent> = history
            .into_iter()
            .take_while(|e| e.event.recorded_at <= as_of)
            .map(|e| e.event)
            .collect();
        let n = events.len() as u64;
        Ok((n > 0).then(|| {
            (
                events
                    .into_iter()
                    .fold(CaseState::default(), ptl_domain::evolve),
                n,
            )
        }))
    }

    /// The facts that occurred by business date `on`, as known now.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn load_on(
        &self,
        case_id: Uuid,
        on: NaiveDate,
    ) -> Result<Option<CaseState>, EngineError> {
        let history = self.history(case_id).await?;
        if history.is_empty() {
            return Ok(None);
        }
        let mut events: Vec<CaseEvent> = history
            .into_iter()
            .map(|e| e.event)
            .filter(|e| e.occurred_on <= on)
            .collect();
        events.sort_by_key(|e| e.occurred_on);
        Ok(Some(
            events
                .into_iter()
                .fold(CaseState::default(), ptl_domain::evolve),
        ))
    }

    /// The case's history with hashes.
    ///
    /// # Errors
    /// The store cannot be read or an event does not decode.
    pub async fn history(&self, case_id: Uuid) -> Result<Vec<RecordedEvent>, EngineError> {
        let events = match &self.store {
            CaseStore::Sqlite(s) => s
                .by_aggregate_id(case_id)
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?,
            CaseStore::Postgres(s) => s.by_aggregate_id(case_id).await.map_err(|e| match e {
                PgStoreError::Sqlx(e) => EngineError::from(e),
                other => EngineError::Internal(other.to_string()),
            })?,
        };
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.read().await?;
        let hashes: Vec<(i64, String, Option<String>)> = fetch_all!(
            tx.conn(),
            (i64, String, Option<String>),
            "SELECT sequence, hash, prev_hash FROM event_integrity WHERE case_id = $1 ORDER BY sequence",
            case_id.to_string()
        )?;
        let by_seq: HashMap<i64, (String, Option<String>)> =
            hashes.into_iter().map(|(s, h, p)| (s, (h, p))).collect();
        Ok(events
            .into_iter()
            .map(|e| {
                let h = by_seq.get(&i64::from(e.sequence_number)).cloned();
                RecordedEvent {
                    sequence: u64::try_from(e.sequence_number).unwrap_or(0),
                    id: e.id,
                    stored_at: e.occurred_on,
                    hash: h.as_ref().map(|(h, _)| h.clone()),
                    prev_hash: h.and_then(|(_, p)| p),
                    event: e.payload,
                }
            })
            .collect())
    }

    /// Recomputes a case's hash chain from the stored events and names the first that fails.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn verify(&self, case_id: Uuid) -> Result<Verification, EngineError> {
        let history = self.history(case_id).await?;
        let mut canonical = Vec::with_capacity(history.len());
        for e in &history {
            let store_event = StoreEvent {
                id: e.id,
                aggregate_id: case_id,
                payload: e.event.clone(),
                occurred_on: e.stored_at,
                sequence_number: i32::try_from(e.sequence).unwrap_or(i32::MAX),
                version: None,
            };
            canonical
                .push(event_canonical(&store_event).map_err(|x| EngineError::Internal(x.message))?);
        }
        let first_invalid = crate::integrity::verify_chain(
            self.keys.hash_key(),
            history.iter().zip(&canonical).map(|(e, c)| {
                (
                    i64::try_from(e.sequence).unwrap_or(-1),
                    c.as_str(),
                    e.hash.as_deref().unwrap_or(""),
                    e.prev_hash.as_deref(),
                )
            }),
        )
        .and_then(|s| u64::try_from(s).ok());
        Ok(Verification {
            valid: first_invalid.is_none(),
            events: history.len() as u64,
            first_invalid_sequence: first_invalid,
        })
    }

    /// Every case id in the store.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn case_ids(&self) -> Result<Vec<Uuid>, EngineError> {
        let mut tx = self.db.read().await?;
        let rows: Vec<(String,)> = fetch_all!(
            tx.conn(),
            (String,),
            "SELECT DISTINCT case_id FROM event_integrity ORDER BY case_id"
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Uuid::parse_str(&r.0).ok())
            .collect())
    }

    /// Forgets cached states (after a restore or a direct edit of the database).
    pub fn clear_cache(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn map_sqlite(e: SqliteStoreError, current: u64) -> EngineError {
    match e {
        SqliteStoreError::Conflict { .. } => EngineError::Conflict {
            expected: current,
            current: current + 1,
        },
        SqliteStoreError::Sqlx(e) => EngineError::from(e),
        SqliteStoreError::GroupFailed {
            message,
            unavailable: true,
        }
        | SqliteStoreError::Statement {
            message,
            unavailable: true,
        } => EngineError::Unavailable(message),
        SqliteStoreError::Custom(b) => {
            handler_failure(b.as_ref()).unwrap_or_else(|| EngineError::Internal(b.to_string()))
        }
        other => EngineError::Internal(other.to_string()),
    }
}

fn map_pg(e: PgStoreError, current: u64) -> EngineError {
    if crate::store::is_unique_violation(&e) {
        return EngineError::Conflict {
            expected: current,
            current: current + 1,
        };
    }
    match e {
        PgStoreError::Sqlx(e) => EngineError::from(e),
        PgStoreError::Custom(b) => {
            handler_failure(b.as_ref()).unwrap_or_else(|| EngineError::Internal(b.to_string()))
        }
        other => EngineError::Internal(other.to_string()),
    }
}

impl Engine {
    /// Adds a token id to the deny list the server checks.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn revoke_token(&self, jti: &str) -> Result<(), EngineError> {
        let mut tx = self.db.begin().await?;
        run!(
            tx.conn(),
            "INSERT INTO revoked_tokens (jti, revoked_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            jti.to_string(),
            self.clock.now().timestamp_micros()
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// Every revoked token id.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn revoked_tokens(&self) -> Result<Vec<String>, EngineError> {
        let mut tx = self.db.read().await?;
        let rows: Vec<(String,)> =
            fetch_all!(tx.conn(), (String,), "SELECT jti FROM revoked_tokens")?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn a_handler_failure_keeps_its_class_through_both_stores() {
        // Lost connection while writing the hash chain or the vault: retry (503), not a fault.
        let lost = || HandlerError::from(sqlx::Error::Io(std::io::Error::other("reset by peer")));
        assert!(matches!(
            map_sqlite(SqliteStoreError::Custom(Box::new(lost())), 3),
            EngineError::Unavailable(_)
        ));
        assert!(matches!(
            map_pg(PgStoreError::Custom(Box::new(lost())), 3),
            EngineError::Unavailable(_)
        ));
        let vault = HandlerError::vault(crate::vault::VaultError::Db(sqlx::Error::PoolTimedOut));
        assert!(vault.unavailable);
        // A fault stays a fault.
        assert!(matches!(
            map_pg(
                PgStoreError::Custom(Box::new(HandlerError::custom("bad"))),
                3
            ),
            EngineError::Internal(_)
        ));
        assert!(matches!(
            map_sqlite(
                SqliteStoreError::GroupFailed {
                    message: "disk full".into(),
                    unavailable: true
                },
                3
            ),
            EngineError::Unavailable(_)
        ));
    }
}
