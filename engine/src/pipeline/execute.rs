//! The command pipeline proper: [`Engine::register`] and [`Engine::execute`], from the
//! idempotency look-up to the cache update (steps in the module docs of [`super`]). What the
//! command writes beside its events is built and handed to the store by `record.rs`.

use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use esrs::store::EventStore;
use esrs::AggregateState;
use ptl_domain::{Action, CaseState, Command, DomainError, Lookups};
use uuid::Uuid;

use super::record::{self, Record};
use super::{
    Cached, CaseStore, Engine, EngineError, Executed, Idempotency, Lookup, Personal,
    CASE_LOCK_STRIPES,
};
use crate::fetch_optional;
use crate::store::PgStoreError;

/// The outcome of one try of the write path.
enum Attempt {
    Done(Result<Executed, DomainError>),
    /// The cached state was behind the store: try again with a checked state.
    StaleCache,
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
        // The duplicate check: every other case of the person, each logged in its access log
        // (the office that holds it sees who asked); the caller shows what its scope allows.
        let same_person = match &personal.person_index {
            Some((name, birth)) => {
                self.find_person(&command.actor, name, *birth, &Lookup::DuplicateCheck)
                    .await?
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
        let mut command = command;
        command.lookups = self.lookups(&cached.state, &command).await?;
        let now = command.recorded_at;
        if command.child.is_none() && command.action.needs_child_flag() {
            command.child = self
                .child_on(case_id, &cached.state, command.occurred_on)
                .await?;
        }
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
        let record = Record {
            count: events.len(),
            prev_hash: cached.last_hash.clone(),
            personal,
            idempotency,
            version_after,
            now,
            states,
            snapshot,
        };
        // An erasure is logged outside the database before it commits (see `erasure.rs`).
        self.log_erasures(case_id, &events, now).await?;
        let mut aggregate_state: AggregateState<CaseState> = AggregateState::with_id(case_id);
        for _ in 0..current {
            aggregate_state.next_sequence_number();
        }
        aggregate_state.set_lock(lock);
        let persisted = record::persist(
            &self.store,
            &self.rows,
            &mut aggregate_state,
            events.clone(),
            record,
            current,
        )
        .await;
        let last_hash = match persisted {
            Ok(last_hash) => last_hash,
            Err(e) => {
                self.cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop(&case_id);
                if from_cache && matches!(e, EngineError::Conflict { .. }) {
                    return Ok(Attempt::StaleCache);
                }
                // Another case took the certificate number between the look-up and the commit
                // (the register's unique index refused it): look again, and the domain refuses.
                if !checked && is_certificate_taken(&e) {
                    return Ok(Attempt::StaleCache);
                }
                if let (EngineError::Conflict { .. }, Some(expected)) = (&e, expected_version) {
                    let current = self.stored_version(case_id).await?;
                    return Err(EngineError::Conflict { expected, current });
                }
                return Err(e);
            }
        };
        self.log_erasures_to_security_log(case_id, &events).await;
        let state = Arc::new(state);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match last_hash {
            Some(last_hash) => {
                cache.put(
                    case_id,
                    Arc::new(Cached {
                        version: version_after,
                        state: state.clone(),
                        last_hash: Some(last_hash),
                    }),
                );
            }
            // The rows were written by whoever the store called; without their last hash a
            // cached state would start the next command's chain from nothing: replay instead.
            None => {
                cache.pop(&case_id);
            }
        }
        drop(cache);
        Ok(Attempt::Done(Ok(Executed {
            case_id,
            version: version_after,
            state,
            events,
            replayed: false,
            same_person: Vec::new(),
        })))
    }

    /// Whether the person is a child on `on` (`procedure.md`, "Children"), from the birth date
    /// held in the vault: a system read, not an access-log entry. `None` (the registration's flag
    /// stands) when the case holds no readable birth date (none recorded, or erased).
    async fn child_on(
        &self,
        case_id: Uuid,
        state: &CaseState,
        on: chrono::NaiveDate,
    ) -> Result<Option<bool>, EngineError> {
        let Some(person) = state.registration.as_ref().and_then(|r| r.person.as_ref()) else {
            return Ok(None);
        };
        if state.erased {
            return Ok(None);
        }
        let mut conn = self.db.acquire().await?;
        let value = self
            .vault
            .read_for_rules(conn.conn(), case_id, person)
            .await
            .map_err(EngineError::from)?;
        let birth = value
            .as_ref()
            .and_then(|v| v.get("birth_date"))
            .and_then(serde_json::Value::as_str)
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        Ok(birth.map(|b| ptl_domain::age_on(b, on) < 18))
    }

    /// The facts about other cases the command's rules need, read from the store: whether the
    /// certificate number a grant would issue is already in the register of certificates of
    /// its authority (`certificate_register`, written by the projections in the same
    /// transaction as the events; its unique index on (authority, number) catches a race).
    async fn lookups(&self, state: &CaseState, command: &Command) -> Result<Lookups, EngineError> {
        let mut lookups = command.lookups;
        if let Some((authority, number)) = ptl_domain::certificate_to_issue(state, command) {
            let mut tx = self.db.read().await?;
            let row: Option<(i64,)> = fetch_optional!(
                tx.conn(),
                (i64,),
                "SELECT COUNT(*) FROM certificate_register WHERE authority = $1 AND certificate_no = $2",
                authority,
                number
            )?;
            drop(tx);
            lookups.certificate_no_issued = row.is_some_and(|(n,)| n > 0);
        }
        Ok(lookups)
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
}

/// Whether a write failed on the certificate register's unique number (index
/// `certificate_register_number`, migration 0017): the message names the table on SQLite and the
/// index on PostgreSQL.
fn is_certificate_taken(e: &EngineError) -> bool {
    match e {
        EngineError::Internal(m) | EngineError::Unavailable(m) => {
            m.contains("certificate_register")
        }
        _ => false,
    }
}
