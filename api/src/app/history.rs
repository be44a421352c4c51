//! A case's record for those who check it: its events with their hashes, the verification of
//! its hash chain, the access log of its personal data, and how a deadline's due date was
//! computed.

use chrono::NaiveDate;
use ptl_domain::deadlines::{DeadlineState, Explanation};
use ptl_domain::Role;
use ptl_engine::pipeline::{RecordedEvent, Verification};
use ptl_engine::vault::AccessEntry;

use super::error::store;
use super::{App, Caller, CaseRead, Error};

/// The access log of a case and whether its hash chain verifies.
#[derive(Debug, Clone)]
pub struct AccessLog {
    /// Reads in order.
    pub entries: Vec<AccessEntry>,
    /// The first entry that does not verify, if any.
    pub first_invalid_seq: Option<i64>,
}

/// One deadline of a case with its explanation and its state today.
#[derive(Debug, Clone)]
pub struct DeadlineReport {
    /// How the due date was computed.
    pub explanation: Explanation,
    /// State today.
    pub state: Option<DeadlineState>,
    /// Days from today to the due date.
    pub days_left: Option<i64>,
}

fn auditor_or_supervisor(caller: &Caller, what: &str) -> Result<(), Error> {
    if matches!(caller.role, Role::Auditor | Role::Supervisor) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "{what} is for auditors and supervisors"
        )))
    }
}

impl App {
    /// Every event of the case in order, with its hash chain.
    ///
    /// # Errors
    /// An administrator (who does not read case histories), the store.
    pub async fn history(
        &self,
        caller: &Caller,
        case: &CaseRead,
    ) -> Result<Vec<RecordedEvent>, Error> {
        if caller.role == Role::Admin {
            return Err(Error::Forbidden(
                "an administrator does not read case histories".into(),
            ));
        }
        Ok(self.engine.history(case.id).await?)
    }

    /// Recomputes the case's keyed hash chain.
    ///
    /// # Errors
    /// A role other than auditor or supervisor, the store.
    pub async fn verify(&self, caller: &Caller, case: &CaseRead) -> Result<Verification, Error> {
        auditor_or_supervisor(caller, "verification")?;
        Ok(self.engine.verify(case.id).await?)
    }

    /// Who read the case's personal data, and whether that log's own chain verifies.
    ///
    /// # Errors
    /// A role other than auditor or supervisor, the store.
    pub async fn access_log(&self, caller: &Caller, case: &CaseRead) -> Result<AccessLog, Error> {
        auditor_or_supervisor(caller, "the access log")?;
        let vault = self.engine.vault();
        let mut tx = self.engine.db().read().await.map_err(store)?;
        let entries = vault.access_log(tx.conn(), case.id).await.map_err(store)?;
        let mut tx = self.engine.db().read().await.map_err(store)?;
        let first_invalid_seq = vault
            .verify_access_log(tx.conn(), case.id)
            .await
            .map_err(store)?;
        Ok(AccessLog {
            entries,
            first_invalid_seq,
        })
    }

    /// How the due date of the case's deadline `name` was computed, and where it stands today.
    ///
    /// # Errors
    /// The case has no such deadline.
    pub fn explain_deadline(&self, case: &CaseRead, name: &str) -> Result<DeadlineReport, Error> {
        let explanation = ptl_domain::explain(
            &case.state,
            name,
            self.engine.rules().calendar_for_case(&case.state),
        )
        .ok_or_else(|| {
            Error::NotFound(format!(
                "the case has no deadline `{}`",
                name.chars().take(64).collect::<String>()
            ))
        })?;
        let today: NaiveDate = self.today();
        let record = case.state.deadlines.get(name);
        Ok(DeadlineReport {
            explanation,
            state: record.map(|d| ptl_domain::deadlines::deadline_state(d, today)),
            days_left: record.map(|d| (d.due_on - today).num_days()),
        })
    }
}
