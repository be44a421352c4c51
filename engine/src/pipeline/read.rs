//! Reads: a case's current state (from the engine's cache checked against the stored version,
//! else a replay from its snapshot or the whole stream), its state at a version, an instant or a
//! business date, its history with hashes, and the verification of its hash chain.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use esrs::store::{EventStore, StoreEvent};
use ptl_domain::{CaseEvent, CaseState};
use uuid::Uuid;

use super::record::{event_canonical, stored_canonical};
use super::{Cached, CaseStore, Engine, EngineError, RecordedEvent, Verification};
use crate::db::{Conn, Db};
use crate::store::PgStoreError;
use crate::{fetch_all, fetch_optional};

impl Engine {
    /// The stored version of a case (0 when it does not exist).
    pub(super) async fn stored_version(&self, case_id: Uuid) -> Result<u64, EngineError> {
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
    pub(super) async fn current(&self, case_id: Uuid) -> Result<Arc<Cached>, EngineError> {
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
        let mut stored = self.stored_payloads(case_id).await?;
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
            let text = match stored.remove(&i64::from(store_event.sequence_number)) {
                // A payload that is not JSON cannot be what was hashed: it fails as edited.
                Some(raw) => {
                    let payload = serde_json::from_str(&raw).unwrap_or(serde_json::Value::Null);
                    stored_canonical(&store_event, payload)
                }
                None => event_canonical(&store_event),
            };
            canonical.push(text.map_err(|x| EngineError::Internal(x.message))?);
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

    /// The case's event payloads as stored (JSON text by sequence), before any upcasting.
    async fn stored_payloads(&self, case_id: Uuid) -> Result<HashMap<i64, String>, EngineError> {
        let mut tx = self.db.read().await?;
        let rows: Vec<(i64, String)> = match tx.conn() {
            Conn::Sqlite(c) => {
                sqlx::query_as(
                    "SELECT sequence_number, payload FROM case_events WHERE aggregate_id = ?1",
                )
                .bind(case_id.to_string())
                .fetch_all(&mut *c)
                .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_as(
                    "SELECT sequence_number::bigint, payload::text FROM case_events \
                     WHERE aggregate_id = $1",
                )
                .bind(case_id)
                .fetch_all(&mut *c)
                .await?
            }
        };
        Ok(rows.into_iter().collect())
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

/// The hash of the case's last stored event.
async fn last_hash(conn: Conn<'_>, case_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = fetch_optional!(
        conn,
        (String,),
        "SELECT hash FROM event_integrity WHERE case_id = $1 ORDER BY sequence DESC LIMIT 1",
        case_id.to_string()
    )?;
    Ok(row.map(|r| r.0))
}
