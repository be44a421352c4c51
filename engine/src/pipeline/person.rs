//! The person index as the callers use it: look-ups that leave a trace in every matched case's
//! access log, and the rebuild of the index when the name normalisation changes.
//!
//! A look-up is cheap when nothing matches: the index is read on a read connection first, and
//! only a match takes a write transaction, in which the look-up is repeated and logged (so the
//! cases logged are exactly the ones returned).

use chrono::NaiveDate;
use ptl_domain::Actor;
use uuid::Uuid;

use super::{Engine, EngineError};
use crate::integrity::NORMALISATION_VERSION;
use crate::vault::Reader;

/// Why the person index is consulted; each goes to the access log of every case found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The duplicate check of a registration.
    DuplicateCheck,
    /// A person search, with the reason the caller gave.
    Search {
        /// The caller's reason.
        reason: String,
    },
}

/// The reason an access-log entry of a duplicate check states.
pub const DUPLICATE_CHECK_REASON: &str = "duplicate check at registration";

/// Subject of the engine's own reads (the rebuild of the person index).
const SYSTEM: &str = "system";

impl Engine {
    /// Every case of the person with this name and birth date (exact match after normalisation),
    /// in id order; each one found gets an access-log entry naming `actor` (user, role, office)
    /// and the purpose (`lookup`), in the same transaction as the look-up.
    ///
    /// # Errors
    /// The store (nothing is logged then, and nothing returned).
    pub async fn find_person(
        &self,
        actor: &Actor,
        full_name: &str,
        birth_date: NaiveDate,
        lookup: &Lookup,
    ) -> Result<Vec<Uuid>, EngineError> {
        {
            let mut tx = self.db.read().await?;
            let found = self
                .vault
                .find_person(tx.conn(), full_name, birth_date)
                .await?;
            if found.is_empty() {
                return Ok(found);
            }
        }
        let (reason, what) = match lookup {
            Lookup::DuplicateCheck => (
                DUPLICATE_CHECK_REASON.to_string(),
                crate::vault::LOOKUP_DUPLICATE_CHECK,
            ),
            Lookup::Search { reason } => (reason.clone(), crate::vault::LOOKUP_PERSON_SEARCH),
        };
        let reader = Reader {
            sub: actor.sub.clone(),
            role: actor.role.to_string(),
            office: actor.office.clone(),
            reason: Some(reason),
        };
        let mut tx = self.begin_write().await?;
        let found = self
            .vault
            .find_person(tx.conn(), full_name, birth_date)
            .await?;
        self.vault
            .log_lookup(tx.conn(), &found, &reader, what)
            .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Rebuilds the person index from the vault when it was built with another normalisation
    /// than [`NORMALISATION_VERSION`] (or before versions were recorded), so that names
    /// registered earlier match under the current rules. Each person record read for it is
    /// logged in its case's access log (by `system`). Returns the number of cases indexed, or
    /// `None` when the index was current.
    ///
    /// # Errors
    /// The store or the vault (the old index then stays: the rebuild is one transaction).
    pub async fn ensure_person_index(&self) -> Result<Option<usize>, EngineError> {
        let current = {
            let mut tx = self.db.read().await?;
            self.vault.normalisation_version(tx.conn()).await?
        };
        if current == Some(NORMALISATION_VERSION) {
            return Ok(None);
        }
        let live = {
            let mut tx = self.db.read().await?;
            self.vault.live_cases(tx.conn()).await?
        };
        let mut persons = Vec::with_capacity(live.len());
        for case_id in live {
            let Some((state, _)) = self.load(case_id).await? else {
                continue;
            };
            if let Some(person) = state.registration.as_ref().and_then(|r| r.person.clone()) {
                persons.push((case_id, person));
            }
        }
        let reader = Reader {
            sub: SYSTEM.into(),
            role: SYSTEM.into(),
            office: None,
            reason: Some(format!(
                "person index rebuilt for name normalisation {NORMALISATION_VERSION}"
            )),
        };
        let mut tx = self.begin_write().await?;
        let indexed = self
            .vault
            .rebuild_person_index(tx.conn(), &persons, &reader)
            .await?;
        tx.commit().await?;
        tracing::info!(
            indexed,
            from = ?current,
            to = NORMALISATION_VERSION,
            "person index rebuilt for a new name normalisation"
        );
        Ok(Some(indexed))
    }
}
