//! The rows a command adds beside its events, and how they reach the store.
//!
//! A command's [`Record`] holds what its rows need besides the stored events themselves (the
//! previous chain hash, the personal data to seal, the idempotency key, the states after each
//! event for the read models, the snapshot when one is due). [`RowWriter::rows`] is the one
//! function that turns a record and the command's stored events (ids and persistence time
//! fixed by the store) into [`CommandRows`], every row in the order it is written:
//!
//! 1. vault: a new case's data key, the personal records sealed under the case's key, the
//!    person-index entry ([`crate::vault::Vault::stage_with_key`]); for a `personal_data_erased`
//!    event, the key destroyed, the person-index rows deleted and the erasure-ledger row with
//!    the category and the reason sealed under the master key
//!    ([`crate::vault::Vault::stage_erasure`]): the erasure commits or rolls back with its event;
//! 2. the idempotency record;
//! 3. the outbox, one row per event (when a relay is configured);
//! 4. the hash chain, one statement for all the events;
//! 5. the snapshot, when the command completes a snapshot interval;
//! 6. the read models ([`super::Projector`]).
//!
//! [`persist`] hands the record to the store; how it travels on each write path (SQLite with
//! rows prepared ahead, SQLite with rows prepared in the transaction, PostgreSQL through esrs's
//! transactional handler) is described in the module docs of [`super`].

use std::sync::{Arc, Mutex as StdMutex, OnceLock, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use esrs::handler::TransactionalEventHandler;
use esrs::store::{EventStore, StoreEvent};
use esrs::AggregateState;
use ptl_domain::{CaseEvent, CaseState};
use sqlx::{PgConnection, SqliteConnection};

use super::{CaseStore, EngineError, Idempotency, Personal, Projected, Projector};
use crate::aggregate::CaseAggregate;
use crate::db::{Batch, Conn};
use crate::integrity::{canonical_json, canonical_timestamp, chain_hash};
use crate::keys::KeyRing;
use crate::store::{PgStoreError, SqliteStoreError};
use crate::vault::{CaseRows, Erasure, StoredKey, Vault};

/// What a command's rows need besides its stored events, fixed once `decide` has run.
#[derive(Debug)]
pub(super) struct Record {
    /// How many events the command adds.
    pub(super) count: usize,
    /// The hash of the case's last event before the command.
    pub(super) prev_hash: Option<String>,
    /// Personal data to seal in the vault.
    pub(super) personal: Personal,
    /// The caller's idempotency key, recorded with the command's outcome.
    pub(super) idempotency: Option<Idempotency>,
    /// The case's version after the command (its last event's sequence number).
    pub(super) version_after: u64,
    /// The command's recording time (vault records, idempotency, outbox, snapshot).
    pub(super) now: DateTime<Utc>,
    /// The state after each event, by sequence (kept only when there is a projector).
    pub(super) states: Vec<(u64, Arc<CaseState>)>,
    /// The state after the last event, when the command completes a snapshot interval.
    pub(super) snapshot: Option<Arc<CaseState>>,
}

/// Every row a command adds beside its events, in the order they are written (see the module
/// docs): the one value each write path writes.
#[derive(Debug)]
pub(super) struct CommandRows {
    /// The statements, in that order.
    pub(super) batch: Batch,
    /// The hash of the command's last event: the next command's previous hash.
    pub(super) last_hash: String,
}

/// Builds the rows of a command (the engine-wide part: keys, vault, read models, outbox).
pub(super) struct RowWriter {
    keys: Arc<KeyRing>,
    vault: Arc<Vault>,
    projector: Option<Arc<dyn Projector>>,
    /// Write every event to the outbox for the RabbitMQ relay.
    outbox: bool,
}

impl RowWriter {
    pub(super) fn new(
        keys: Arc<KeyRing>,
        vault: Arc<Vault>,
        projector: Option<Arc<dyn Projector>>,
        outbox: bool,
    ) -> Self {
        Self {
            keys,
            vault,
            projector,
            outbox,
        }
    }

    /// The one function that builds a command's rows from its record and its stored events,
    /// given the case's key when the vault needs it ([`Vault::read_key`]). `Ok(None)` when the
    /// vault needs the key and `key` is `None`: the caller reads it in the transaction and calls
    /// again ([`RowWriter::rows_in`]). Nothing is built before the vault has what it needs.
    ///
    /// # Errors
    /// The events are not the record's, the vault refuses (an erased case, a tampered key), or a
    /// value does not serialise.
    pub(super) fn rows(
        &self,
        record: &Record,
        events: &[StoreEvent<CaseEvent>],
        key: Option<&StoredKey>,
    ) -> Result<Option<CommandRows>, RowsError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Err(RowsError::custom("a command without events"));
        };
        let case_id = first.aggregate_id;
        if events.len() != record.count
            || u64::try_from(last.sequence_number).ok() != Some(record.version_after)
        {
            // Never a half-linked chain: refuse rather than guess.
            return Err(RowsError::custom(format!(
                "events up to {} of case {case_id} are not the command's ({} events up to {})",
                last.sequence_number, record.count, record.version_after
            )));
        }
        let mut batch = Batch::new();
        // 1. Vault.
        let vault = CaseRows {
            case_id,
            new_case: matches!(
                first.payload.body,
                ptl_domain::EventBody::ApplicationRegistered { .. }
            ),
            records: &record.personal.texts,
            person: record
                .personal
                .person_index
                .as_ref()
                .map(|(name, birth)| (name.as_str(), *birth)),
            now: record.now,
        };
        if !self
            .vault
            .stage_with_key(&mut batch, &vault, key)
            .map_err(RowsError::vault)?
        {
            return Ok(None);
        }
        for event in events {
            if let ptl_domain::EventBody::PersonalDataErased { category } = &event.payload.body {
                let erasure = Erasure {
                    case_id,
                    by_sub: &event.payload.actor.sub,
                    erased_at: record.now,
                    category: *category,
                    reason: record.personal.erasure_reason.as_ref(),
                    repaired_at: None,
                    security_logged_at: None,
                };
                self.vault
                    .stage_erasure(&mut batch, &erasure)
                    .map_err(RowsError::vault)?;
            }
        }
        let case = case_id.to_string();
        let now = record.now.timestamp_micros();
        // 2. Idempotency.
        if let Some(i) = &record.idempotency {
            batch.push(
                "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, case_id, version, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    i.scope.clone().into(),
                    i.key.clone().into(),
                    i.fingerprint.clone().into(),
                    case.clone().into(),
                    i64::try_from(record.version_after).unwrap_or(i64::MAX).into(),
                    i64::from(i.status).into(),
                    now.into(),
                ],
            );
        }
        // 3. Outbox, and the chain links of 4.
        let mut prev = record.prev_hash.clone();
        let mut chain = Vec::with_capacity(events.len() * 5);
        for event in events {
            let hash = event_hash(&self.keys, prev.as_deref(), event)?;
            chain.extend([
                case.clone().into(),
                i64::from(event.sequence_number).into(),
                event.id.to_string().into(),
                hash.clone().into(),
                prev.take().into(),
            ]);
            prev = Some(hash);
            if self.outbox {
                batch.push(
                    "INSERT INTO outbox (event_id, case_id, sequence, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    vec![
                        event.id.to_string().into(),
                        case.clone().into(),
                        i64::from(event.sequence_number).into(),
                        event.payload.body.type_name().into(),
                        serde_json::to_string(&event.payload)
                            .map_err(RowsError::custom)?
                            .into(),
                        now.into(),
                    ],
                );
            }
        }
        let last_hash = prev.unwrap_or_default();
        // 4. Hash chain.
        batch.push(
            format!(
                "INSERT INTO event_integrity (case_id, sequence, event_id, hash, prev_hash) VALUES {}",
                crate::db::values_placeholders(events.len(), 5)
            ),
            chain,
        );
        // 5. Snapshot.
        if let Some(state) = &record.snapshot {
            crate::snapshot::write(
                &mut batch,
                &self.keys,
                case_id,
                record.version_after,
                &last_hash,
                state,
                record.now,
            )
            .map_err(RowsError::custom)?;
        }
        // 6. Read models. `states` holds the state after each event, in the events' order.
        if let Some(projector) = &self.projector {
            let projected: Vec<Projected<'_>> = events
                .iter()
                .zip(&record.states)
                .map(|(event, (sequence, state))| Projected {
                    sequence: *sequence,
                    event: &event.payload,
                    state,
                })
                .collect();
            if !projected.is_empty() {
                projector.project(&mut batch, case_id, &projected);
            }
        }
        Ok(Some(CommandRows { batch, last_hash }))
    }

    /// [`RowWriter::rows`] in the command's transaction: reads the case's key on `conn` first
    /// when the vault needs it.
    ///
    /// # Errors
    /// As [`RowWriter::rows`], and the key's read.
    async fn rows_in(
        &self,
        conn: Conn<'_>,
        record: &Record,
        events: &[StoreEvent<CaseEvent>],
    ) -> Result<CommandRows, RowsError> {
        if let Some(rows) = self.rows(record, events, None)? {
            return Ok(rows);
        }
        let case_id = events.first().map(|e| e.aggregate_id).unwrap_or_default();
        let key = self
            .vault
            .read_key(conn, case_id)
            .await
            .map_err(RowsError::vault)?;
        self.rows(record, events, Some(&key))?
            .ok_or_else(|| RowsError::custom("the vault still needs the case's key"))
    }
}

/// Writes the command's events and its rows in one transaction, and returns the hash of its
/// last event (for the engine's cache; `None` only if no rows were built, which no path does
/// on success).
///
/// # Errors
/// The store's or the rows' failure, as an [`EngineError`] (`current`: the case's version
/// before the command, for a conflict).
pub(super) async fn persist(
    store: &CaseStore,
    writer: &Arc<RowWriter>,
    aggregate_state: &mut AggregateState<CaseState>,
    events: Vec<CaseEvent>,
    record: Record,
    current: u64,
) -> Result<Option<String>, EngineError> {
    let command = Arc::new(Handover {
        writer: writer.clone(),
        record,
        events: StdMutex::default(),
        last_hash: OnceLock::new(),
    });
    match store {
        CaseStore::Sqlite(s) => s
            .persist_with_rows(aggregate_state, events, Box::new(command.clone()))
            .await
            .map_err(|e| map_sqlite(e, current))?,
        CaseStore::Postgres(s) => PG_COMMAND
            .scope(command.clone(), s.persist(aggregate_state, events))
            .await
            .map_err(|e| map_pg(e, current))?,
    };
    Ok(command.last_hash.get().cloned())
}

/// One command handed to the store: its record, and what comes back from its rows.
struct Handover {
    writer: Arc<RowWriter>,
    record: Record,
    /// PostgreSQL: the command's events handed to the handler so far.
    events: StdMutex<Vec<StoreEvent<CaseEvent>>>,
    /// The hash of the command's last event, once its rows are built.
    last_hash: OnceLock<String>,
}

impl Handover {
    /// Keeps the last hash for the engine's cache; the batch goes to the store.
    fn keep(&self, rows: CommandRows) -> Batch {
        let _ = self.last_hash.set(rows.last_hash);
        rows.batch
    }
}

/// SQLite: the record goes with the command (paths 1 to 3 of the module docs of [`super`]).
#[async_trait]
impl crate::store::sqlite::Rows<CaseEvent> for Arc<Handover> {
    fn prepare(&self, events: &[StoreEvent<CaseEvent>]) -> Result<Option<Batch>, SqliteStoreError> {
        let rows = self
            .writer
            .rows(&self.record, events, None)
            .map_err(|e| SqliteStoreError::Custom(Box::new(e)))?;
        Ok(rows.map(|rows| self.keep(rows)))
    }

    async fn prepare_in(
        &self,
        events: &[StoreEvent<CaseEvent>],
        conn: &mut SqliteConnection,
    ) -> Result<Batch, SqliteStoreError> {
        let rows = self
            .writer
            .rows_in(Conn::Sqlite(conn), &self.record, events)
            .await
            .map_err(|e| SqliteStoreError::Custom(Box::new(e)))?;
        Ok(self.keep(rows))
    }
}

tokio::task_local! {
    /// PostgreSQL: the command whose events esrs's `PgStore::persist` is writing in this task
    /// (scoped to that one call by [`persist`]; esrs runs its transactional handlers inline).
    static PG_COMMAND: Arc<Handover>;
}

/// esrs's transactional handler on PostgreSQL (path 4 of the module docs of [`super`]): keeps
/// the command's events until its last, then builds and writes its rows. It holds nothing: the
/// command comes from the task that persists it.
#[derive(Clone, Copy)]
pub(super) struct PgRows;

impl PgRows {
    async fn handle_event(
        &self,
        event: &StoreEvent<CaseEvent>,
        conn: &mut PgConnection,
    ) -> Result<(), RowsError> {
        let Ok(command) = PG_COMMAND.try_with(Arc::clone) else {
            // Written by someone else than the engine's pipeline: refuse rather than write the
            // event without its hash-chain link, vault records or idempotency record.
            return Err(RowsError::custom(format!(
                "no record for event {} of case {}: not written by the engine",
                event.sequence_number, event.aggregate_id
            )));
        };
        // One path for every command, whatever its length: each event is kept (esrs hands them
        // out one at a time, all of them), and the last one builds the rows of all of them
        // (`rows` checks that they are the record's).
        let events = {
            let mut kept = command
                .events
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            kept.push(copy(event));
            if kept.len() < command.record.count {
                return Ok(());
            }
            std::mem::take(&mut *kept)
        };
        let rows = command
            .writer
            .rows_in(Conn::Postgres(&mut *conn), &command.record, &events)
            .await?;
        command.keep(rows).execute(Conn::Postgres(conn)).await?;
        Ok(())
    }
}

/// A copy of a stored event (esrs's `StoreEvent` is not `Clone`).
fn copy(event: &StoreEvent<CaseEvent>) -> StoreEvent<CaseEvent> {
    StoreEvent {
        id: event.id,
        aggregate_id: event.aggregate_id,
        payload: event.payload.clone(),
        occurred_on: event.occurred_on,
        sequence_number: event.sequence_number,
        version: event.version,
    }
}

#[async_trait]
impl TransactionalEventHandler<CaseAggregate, PgStoreError, PgConnection> for PgRows {
    async fn handle(
        &self,
        event: &StoreEvent<CaseEvent>,
        executor: &mut PgConnection,
    ) -> Result<(), PgStoreError> {
        self.handle_event(event, executor)
            .await
            .map_err(|e| PgStoreError::Custom(Box::new(e)))
    }
}

/// The canonical content a hash covers: case, sequence, event id, persistence time (microseconds)
/// and the payload, in RFC 8785 form (JSONB key order and timestamp rounding cannot change it).
fn event_hash(
    keys: &KeyRing,
    prev: Option<&str>,
    event: &StoreEvent<CaseEvent>,
) -> Result<String, RowsError> {
    Ok(chain_hash(keys.hash_key(), prev, &event_canonical(event)?))
}

/// The text an event's chain hash covers (see [`event_hash`]); `verify` recomputes it.
pub(super) fn event_canonical(event: &StoreEvent<CaseEvent>) -> Result<String, RowsError> {
    let payload = serde_json::to_value(&event.payload).map_err(RowsError::custom)?;
    stored_canonical(event, payload)
}

/// [`event_canonical`] over the payload as stored (`verify` hashes what the store holds, not
/// the event it decodes to: an event of an older version is upcast when read, and its stored
/// JSON, which the hash covers, is never rewritten).
pub(super) fn stored_canonical(
    event: &StoreEvent<CaseEvent>,
    payload: serde_json::Value,
) -> Result<String, RowsError> {
    let content = serde_json::json!({
        "case_id": event.aggregate_id.to_string(),
        "sequence": event.sequence_number,
        "event_id": event.id.to_string(),
        "stored_at": canonical_timestamp(event.occurred_on),
        "payload": payload,
    });
    canonical_json(&content).map_err(RowsError::custom)
}

/// A failure to build or write a command's rows; `unavailable` keeps a passing store condition
/// (busy, full, connection lost) apart from a fault all the way up to the API's 503.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(super) struct RowsError {
    pub(super) message: String,
    unavailable: bool,
}

impl RowsError {
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

impl From<sqlx::Error> for RowsError {
    fn from(e: sqlx::Error) -> Self {
        Self {
            unavailable: crate::store::is_unavailable(&e),
            message: e.to_string(),
        }
    }
}

/// The engine's error for a store error that carries a [`RowsError`].
fn rows_failure(e: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<EngineError> {
    e.downcast_ref::<RowsError>().map(|h| {
        if h.unavailable {
            EngineError::Unavailable(h.message.clone())
        } else {
            EngineError::Internal(h.message.clone())
        }
    })
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
            rows_failure(b.as_ref()).unwrap_or_else(|| EngineError::Internal(b.to_string()))
        }
        other => EngineError::Internal(other.to_string()),
    }
}

fn map_pg(e: PgStoreError, current: u64) -> EngineError {
    // A certificate number already in the register is not a version conflict (the pipeline
    // looks again and the domain refuses it).
    if e.to_string().contains("certificate_register") {
        return EngineError::Internal(e.to_string());
    }
    if crate::store::is_unique_violation(&e) {
        return EngineError::Conflict {
            expected: current,
            current: current + 1,
        };
    }
    match e {
        PgStoreError::Sqlx(e) => EngineError::from(e),
        PgStoreError::Custom(b) => {
            rows_failure(b.as_ref()).unwrap_or_else(|| EngineError::Internal(b.to_string()))
        }
        other => EngineError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn a_rows_failure_keeps_its_class_through_both_stores() {
        // Lost connection while writing the hash chain or the vault: retry (503), not a fault.
        let lost = || RowsError::from(sqlx::Error::Io(std::io::Error::other("reset by peer")));
        assert!(matches!(
            map_sqlite(SqliteStoreError::Custom(Box::new(lost())), 3),
            EngineError::Unavailable(_)
        ));
        assert!(matches!(
            map_pg(PgStoreError::Custom(Box::new(lost())), 3),
            EngineError::Unavailable(_)
        ));
        let vault = RowsError::vault(crate::vault::VaultError::Db(sqlx::Error::PoolTimedOut));
        assert!(vault.unavailable);
        // A fault stays a fault.
        assert!(matches!(
            map_pg(PgStoreError::Custom(Box::new(RowsError::custom("bad"))), 3),
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

#[cfg(test)]
mod rows_tests {
    use chrono::NaiveDate;
    use ptl_domain::types::{Actor, RecordRef, Role};
    use ptl_domain::EventBody;
    use uuid::Uuid;

    use super::*;
    use crate::db::Value;
    use crate::vault::PersonalText;

    fn writer(keys: &Arc<KeyRing>) -> RowWriter {
        RowWriter::new(keys.clone(), Arc::new(Vault::new(keys.clone())), None, true)
    }

    fn note(case_id: Uuid, sequence: i32) -> StoreEvent<CaseEvent> {
        StoreEvent {
            id: Uuid::new_v4(),
            aggregate_id: case_id,
            payload: CaseEvent {
                actor: Actor::user("cw-1", Role::Caseworker, "UA7102"),
                occurred_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
                recorded_at: DateTime::<Utc>::UNIX_EPOCH,
                body: EventBody::NoteAdded {
                    note: RecordRef(format!("note-{sequence}")),
                },
            },
            occurred_on: DateTime::<Utc>::UNIX_EPOCH,
            sequence_number: sequence,
            version: None,
        }
    }

    /// A command that takes the case from version 4 (last hash `h4`) to `version_after`.
    fn record(count: usize, version_after: u64, personal: Personal) -> Record {
        Record {
            count,
            prev_hash: Some("h4".into()),
            personal,
            idempotency: Some(Idempotency {
                scope: "cw-1".into(),
                key: "k-1".into(),
                fingerprint: "f".into(),
                status: 200,
            }),
            version_after,
            now: DateTime::<Utc>::UNIX_EPOCH,
            states: Vec::new(),
            snapshot: None,
        }
    }

    fn text(value: &Value) -> Option<&str> {
        match value {
            Value::Text(Some(t)) => Some(t),
            _ => None,
        }
    }

    #[test]
    fn a_commands_rows_link_its_events_to_the_chain_in_the_documented_order() {
        let keys = Arc::new(KeyRing::generate());
        let case_id = Uuid::new_v4();
        let events: Vec<_> = (5..=7).map(|s| note(case_id, s)).collect();
        let rows = writer(&keys)
            .rows(&record(3, 7, Personal::default()), &events, None)
            .expect("built")
            .expect("no key needed");
        let tables: Vec<&str> = rows
            .batch
            .statements()
            .iter()
            .map(|(sql, _)| sql.split_whitespace().nth(2).unwrap_or(""))
            .collect();
        assert_eq!(
            tables,
            [
                "idempotency_keys",
                "outbox",
                "outbox",
                "outbox",
                "event_integrity"
            ]
        );
        // The chain statement: five values per event, linked from the case's last hash.
        let chain = &rows.batch.statements()[4].1;
        let links: Vec<(i64, String, &str, Option<&str>)> = events
            .iter()
            .zip(chain.chunks(5))
            .map(|(event, row)| {
                let canonical = event_canonical(event).expect("canonical");
                let hash = text(&row[3]).unwrap_or("");
                (
                    i64::from(event.sequence_number),
                    canonical,
                    hash,
                    text(&row[4]),
                )
            })
            .collect();
        assert_eq!(links.len(), 3);
        let first_broken = crate::integrity::verify_chain_after(
            keys.hash_key(),
            (4, "h4"),
            links.iter().map(|(s, c, h, p)| (*s, c.as_str(), *h, *p)),
        );
        assert_eq!(first_broken, None);
        assert_eq!(Some(rows.last_hash.as_str()), text(&chain[13]));
    }

    #[test]
    fn rows_for_events_that_are_not_the_records_are_refused() {
        let keys = Arc::new(KeyRing::generate());
        let writer = writer(&keys);
        let case_id = Uuid::new_v4();
        let two: Vec<_> = (5..=6).map(|s| note(case_id, s)).collect();
        // One event short of the command.
        assert!(writer
            .rows(&record(3, 7, Personal::default()), &two, None)
            .is_err());
        // As many events, but not up to the command's version.
        assert!(writer
            .rows(&record(2, 7, Personal::default()), &two, None)
            .is_err());
        assert!(writer
            .rows(&record(2, 7, Personal::default()), &[], None)
            .is_err());
    }

    #[test]
    fn an_existing_cases_personal_text_waits_for_the_cases_key() {
        let keys = Arc::new(KeyRing::generate());
        let personal = Personal {
            texts: vec![PersonalText {
                record: RecordRef("note-5".into()),
                value: serde_json::json!("a note"),
            }],
            person_index: None,
            erasure_reason: None,
        };
        let events = [note(Uuid::new_v4(), 5)];
        let rows = writer(&keys)
            .rows(&record(1, 5, personal), &events, None)
            .expect("no failure");
        assert!(rows.is_none(), "the key is read in the transaction first");
    }
}
