//! Cases: finding one in scope, registering an application, acting on a case, reading a case as
//! it stands or stood, and reading the person's data (logged in the case's access log).
//!
//! The order of the checks is the contract's (`api.md`, "Errors"): an idempotent replay answers
//! before the role is checked (a repeat of a request that succeeded returns its first response
//! even though its version is stale now), the role before the body, and a stale version or an
//! action unlawful in the case's stage outranks a bad field.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::{Action, ActionName, Actor, CaseState, RecordRef, Role};
use ptl_engine::pipeline::{Executed, Idempotency, Personal};
use ptl_engine::vault::{PersonalText as VaultText, Reader};
use uuid::Uuid;

use super::error::store;
use super::lists::Matches;
use super::{App, Caller, Error};
use crate::models::{BodyError, ParsedAction, ParsedRegister, PersonalText};
use crate::view::{case_view, CaseView};

/// A case the caller may see, as it stands now.
#[derive(Debug, Clone)]
pub struct CaseRead {
    /// Case id.
    pub id: Uuid,
    /// Its current state.
    pub state: Arc<CaseState>,
    /// Its current version (number of events).
    pub version: u64,
}

/// A request's idempotency key and the fingerprint of the request it came with (the front door
/// decides what the fingerprint covers; the same key with another fingerprint is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The key as sent (1 to 200 characters).
    pub key: String,
    /// A digest of the request it came with.
    pub fingerprint: String,
}

/// The outcome of a command: the case view after it and its version.
#[derive(Debug, Clone)]
pub struct Written {
    /// Case id.
    pub case_id: Uuid,
    /// The case view after the command (for a replay, after the first request).
    pub view: CaseView,
    /// The case's version after the command.
    pub version: u64,
    /// Other cases of the same person (registration only): ids within the caller's scope (at
    /// most [`ptl_engine::pipeline::SAME_PERSON_LISTED`]), counts per office outside it.
    pub possible_duplicates: Matches,
}

/// Which state of a case to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPoint {
    /// As it stands now.
    Current,
    /// What had been recorded by that instant.
    AsOf(DateTime<Utc>),
    /// The facts that occurred by that business date, as known now.
    On(NaiveDate),
    /// After that many events.
    Version(u64),
}

/// A case view as shown to the caller.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The view (with `person` when asked for and allowed).
    pub view: CaseView,
    /// The version shown.
    pub version: u64,
    /// The view is the current state (a historical view offers no actions and has no ETag).
    pub current: bool,
}

/// The status the first response had, which an idempotent replay repeats.
const CREATED: u16 = 201;
const OK: u16 = 200;

fn idempotency(caller: &Caller, key: Option<RequestKey>, status: u16) -> Option<Idempotency> {
    key.map(|k| Idempotency {
        scope: caller.sub.clone(),
        key: k.key,
        fingerprint: k.fingerprint,
        status,
    })
}

fn to_vault(texts: Vec<PersonalText>) -> Vec<VaultText> {
    texts
        .into_iter()
        .map(|t| VaultText {
            record: t.record,
            value: t.value,
        })
        .collect()
}

fn person_ref(state: &CaseState) -> Option<RecordRef> {
    state.registration.as_ref().and_then(|r| r.person.clone())
}

impl App {
    /// The case view of `state` for the caller, as seen today.
    #[must_use]
    pub fn view(&self, caller: &Caller, id: Uuid, state: &CaseState, version: u64) -> CaseView {
        case_view(
            id,
            state,
            version,
            caller.role,
            &caller.office,
            self.today(),
            self.settings.upcoming_days,
        )
    }

    /// Loads a case the caller may see; anything else (an id that is not a UUID included) is
    /// [`Error::CaseNotFound`].
    ///
    /// # Errors
    /// Not found or out of scope; the store.
    pub async fn find_case(&self, caller: &Caller, id: &str) -> Result<CaseRead, Error> {
        let id = Uuid::parse_str(id).map_err(|_| Error::CaseNotFound)?;
        let (state, version) = self.engine.load(id).await?.ok_or(Error::CaseNotFound)?;
        if !self
            .offices
            .case_in_scope(&caller.office, state.office(), &state.ever_submitted_to)
        {
            return Err(Error::CaseNotFound);
        }
        Ok(CaseRead { id, state, version })
    }

    /// Registers an application (`register`).
    ///
    /// # Errors
    /// A replay of another request under the same key, the role, the body, an office outside the
    /// caller's or unknown, the domain's refusal, the store.
    pub async fn register(
        &self,
        caller: &Caller,
        input: Result<ParsedRegister, BodyError>,
        key: Option<RequestKey>,
    ) -> Result<Written, Error> {
        let idem = idempotency(caller, key, CREATED);
        if let Some(done) = self.engine.idempotent_replay(idem.as_ref(), None).await? {
            return Ok(Written {
                case_id: done.case_id,
                view: self.view(caller, done.case_id, &done.state, done.version),
                version: done.version,
                possible_duplicates: Matches::default(),
            });
        }
        if !ActionName::Register.allows(caller.role) {
            return Err(Error::Forbidden(format!(
                "the role {} may not register applications",
                caller.role
            )));
        }
        let parsed = input?;
        if !self.offices.covers(&caller.office, &parsed.register.office) {
            return Err(Error::Forbidden(format!(
                "office {} is outside your office {}",
                parsed.register.office, caller.office
            )));
        }
        let Some(office) = self.offices.get(&parsed.register.office) else {
            return Err(BodyError::field(
                "office",
                format!("{} is not a known office", parsed.register.office),
            )
            .into());
        };
        if !office.open_on(parsed.received_on) {
            let message = match (office.closed_on, &office.successor) {
                (Some(closed), Some(successor)) if closed <= parsed.received_on => format!(
                    "{} closed on {closed} and accepts no new registrations; register with its successor {successor}",
                    office.code
                ),
                (Some(closed), None) if closed <= parsed.received_on => format!(
                    "{} closed on {closed} and accepts no new registrations",
                    office.code
                ),
                _ => format!(
                    "{} did not exist yet on {}",
                    office.code, parsed.received_on
                ),
            };
            return Err(BodyError::field("office", message).into());
        }
        let actor = Actor::user(caller.sub.clone(), caller.role, caller.office.clone());
        let command =
            self.engine
                .command(actor, parsed.received_on, Action::Register(parsed.register));
        let personal = Personal {
            texts: to_vault(parsed.texts),
            person_index: Some((parsed.person.full_name.clone(), parsed.person.birth_date)),
        };
        let started = std::time::Instant::now();
        let result = self.engine.register(command, personal, idem).await;
        let done = self.record_command("register", started, result)?;
        let mut view = self.view(caller, done.case_id, &done.state, done.version);
        view.person = None;
        // The case is recorded: a store hiccup while sorting the other cases by scope loses only
        // the warning, never the registration.
        let mut possible_duplicates = match self.split_by_scope(caller, &done.same_person).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "possible duplicates could not be sorted by scope");
                Matches::default()
            }
        };
        possible_duplicates
            .in_scope
            .truncate(ptl_engine::pipeline::SAME_PERSON_LISTED);
        Ok(Written {
            case_id: done.case_id,
            view,
            version: done.version,
            possible_duplicates,
        })
    }

    /// Records one procedure action on a case the caller found with [`Self::find_case`], at the
    /// version the caller last saw (`expected`).
    ///
    /// `input` is the action's body as parsed: a body that does not parse is reported only after
    /// the replay, role, version and stage checks.
    ///
    /// # Errors
    /// The role, a stale version, an action unlawful in the case's stage, the body, the domain's
    /// refusal, the store.
    pub async fn act(
        &self,
        caller: &Caller,
        case: &CaseRead,
        name: ActionName,
        expected: u64,
        input: Result<ParsedAction, BodyError>,
        key: Option<RequestKey>,
    ) -> Result<Written, Error> {
        let idem = idempotency(caller, key, OK);
        if let Some(done) = self
            .engine
            .idempotent_replay(idem.as_ref(), Some(case.id))
            .await?
        {
            return Ok(Written {
                case_id: case.id,
                view: self.view(caller, case.id, &done.state, done.version),
                version: done.version,
                possible_duplicates: Matches::default(),
            });
        }
        if !name.allows(caller.role) {
            return Err(Error::Forbidden(format!(
                "the role {} may not {}",
                caller.role, name
            )));
        }
        let parsed = match input.and_then(|p| self.known_office(p)) {
            Ok(p) => p,
            Err(e) => return Err(self.outranking(caller, case, name, expected, e).await),
        };
        let actor = Actor::user(caller.sub.clone(), caller.role, caller.office.clone());
        let command = self
            .engine
            .command(actor, parsed.occurred_on, parsed.action);
        let personal = Personal {
            texts: to_vault(parsed.texts),
            person_index: None,
        };
        let started = std::time::Instant::now();
        let result = self
            .engine
            .execute(case.id, Some(expected), command, personal, idem)
            .await;
        let done: Executed = self.record_command(name.as_str(), started, result)?;
        if name == ActionName::ErasePersonalData {
            let mut tx = self.engine.begin_write().await?;
            self.engine
                .vault()
                .erase(
                    tx.conn(),
                    case.id,
                    &caller.sub,
                    self.engine.clock().now(),
                    self.engine.data_dir(),
                )
                .await
                .map_err(store)?;
            tx.commit().await.map_err(store)?;
        }
        Ok(Written {
            case_id: case.id,
            view: self.view(caller, case.id, &done.state, done.version),
            version: done.version,
            possible_duplicates: Matches::default(),
        })
    }

    /// What a body error is reported as: a stale version and an unlawful action outrank it.
    async fn outranking(
        &self,
        caller: &Caller,
        case: &CaseRead,
        name: ActionName,
        expected: u64,
        body: BodyError,
    ) -> Error {
        match self.engine.load(case.id).await {
            Err(e) => return e.into(),
            Ok(Some((_, version))) if version != expected => {
                return Error::VersionMismatch { current: version }
            }
            Ok(_) => {}
        }
        if let Err(reason) = ptl_domain::decide::availability(&case.state, name) {
            return Error::ActionNotAllowed {
                reason,
                allowed: ptl_domain::allowed_actions_for(
                    &case.state,
                    caller.role,
                    Some(&caller.office),
                ),
            };
        }
        body.into()
    }

    /// A transfer names an office of the office tree (the parser checks only the code's syntax;
    /// a case moved to an unknown code would drop out of every office's scope but the national
    /// one).
    fn known_office(&self, p: ParsedAction) -> Result<ParsedAction, BodyError> {
        match &p.action {
            Action::Transfer { to_office } if self.offices.get(to_office).is_none() => Err(
                BodyError::field("to_office", format!("{to_office} is not a known office")),
            ),
            _ => Ok(p),
        }
    }

    /// The case as it stands or stood at `at`; with `person`, the person's data too, read for
    /// the stated reason (which goes into the case's access log).
    ///
    /// # Errors
    /// A point before the case existed, a role that never sees personal data, the store.
    pub async fn read_case(
        &self,
        caller: &Caller,
        case: CaseRead,
        at: HistoryPoint,
        person: Option<Option<String>>,
    ) -> Result<Shown, Error> {
        let id = case.id;
        let (state, version, current) = match at {
            HistoryPoint::Current => (case.state, case.version, true),
            HistoryPoint::AsOf(t) => {
                let (st, n) = self
                    .engine
                    .load_as_of(id, t)
                    .await?
                    .ok_or_else(|| Error::parameter("as_of", "the case did not exist yet"))?;
                (Arc::new(st), n, false)
            }
            HistoryPoint::On(d) => {
                let st = self
                    .engine
                    .load_on(id, d)
                    .await?
                    .ok_or(Error::CaseNotFound)?;
                // Nothing had occurred by then: there is no case to show (as for `as_of`).
                if st.version == 0 || st.registration.is_none() {
                    return Err(Error::parameter(
                        "on",
                        "the case was not registered yet on that date",
                    ));
                }
                let n = st.version;
                (Arc::new(st), n, false)
            }
            HistoryPoint::Version(v) => {
                let st = self
                    .engine
                    .load_version(id, v)
                    .await?
                    .ok_or_else(|| Error::parameter("version", "no such version"))?;
                (Arc::new(st), v, false)
            }
        };
        let mut view = self.view(caller, id, &state, version);
        if !current {
            view.allowed_actions.clear();
        }
        if let Some(reason) = person {
            view.person = Some(self.read_person(caller, id, &state, reason).await?);
        }
        Ok(Shown {
            view,
            version,
            current,
        })
    }

    /// The person's data of a case, written to the case's access log with the caller and the
    /// reason in the same transaction as the read (`Null` when the case holds none, e.g. after
    /// erasure).
    ///
    /// # Errors
    /// A role that never sees personal data (auditor, admin), the vault, the store.
    pub async fn read_person(
        &self,
        caller: &Caller,
        id: Uuid,
        state: &CaseState,
        reason: Option<String>,
    ) -> Result<serde_json::Value, Error> {
        if matches!(caller.role, Role::Auditor | Role::Admin) {
            return Err(Error::Forbidden(format!(
                "the role {} never sees personal data",
                caller.role
            )));
        }
        let Some(person) = person_ref(state) else {
            return Ok(serde_json::Value::Null);
        };
        let reader = Reader {
            sub: caller.sub.clone(),
            role: caller.role.to_string(),
            office: Some(caller.office.clone()),
            reason,
        };
        let mut tx = self.engine.begin_write().await?;
        let records = self
            .engine
            .vault()
            .read_records(tx.conn(), id, &[person], &reader)
            .await
            .map_err(store)?;
        tx.commit().await.map_err(store)?;
        Ok(records
            .into_iter()
            .next()
            .and_then(|(_, v)| v)
            .unwrap_or(serde_json::Value::Null))
    }
}
