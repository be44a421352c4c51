//! Lists read from the projections' read models: the work queue (and the person search that
//! narrows it), the deadlines, and the statistics of the regional report. Every list is limited
//! to the caller's scope.

use chrono::{Datelike, NaiveDate};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::{Role, Stage, Status};
use ptl_projections::queries::{list_cases, list_deadlines, CaseFilter, DeadlineFilter};
use ptl_projections::stats::{
    check_public_period, last_complete_month, publish, stats, GroupBy, RoundingKey, Stats,
    StatsQuery,
};

use super::error::store;
use super::{App, Caller, Error};

/// A person to look for: exact match after normalisation, with the reason for looking.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonQuery {
    /// Full name as written.
    pub full_name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Why the caller looks.
    pub reason: Option<String>,
}

impl std::fmt::Debug for PersonQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonQuery(<personal data>)")
    }
}

/// The filters of the work queue.
#[derive(Debug, Clone, Default)]
pub struct WorkQueueQuery {
    /// One office (within the caller's scope).
    pub office: Option<String>,
    /// Stage.
    pub stage: Option<Stage>,
    /// Status.
    pub status: Option<Status>,
    /// Assigned official.
    pub assignee: Option<String>,
    /// Only cases with a running deadline past due.
    pub overdue: bool,
    /// Only cases with a deadline due within the upcoming window.
    pub upcoming: bool,
    /// Escalation level (1 supervisor, 2 regional office).
    pub escalated: Option<u8>,
    /// Only cases whose next deadline is due before this date.
    pub due_before: Option<NaiveDate>,
    /// Only the cases of this person.
    pub person: Option<PersonQuery>,
    /// Page size.
    pub limit: u32,
    /// The previous page's cursor.
    pub cursor: Option<String>,
}

/// The filters of the deadline list.
#[derive(Debug, Clone, Default)]
pub struct DeadlineQuery {
    /// One office (within the caller's scope).
    pub office: Option<String>,
    /// State today.
    pub state: Option<DeadlineState>,
    /// Only deadlines due before this date.
    pub due_before: Option<NaiveDate>,
    /// Page size.
    pub limit: u32,
    /// The previous page's cursor.
    pub cursor: Option<String>,
}

/// Published (suppressed) or internal figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disclosure {
    /// Every figure.
    #[default]
    Internal,
    /// Small figures suppressed.
    Public,
}

/// What a statistics report covers.
#[derive(Debug, Clone, Default)]
pub struct StatsRequest {
    /// The office reported on (default: the caller's).
    pub office: Option<String>,
    /// First day (default: 1 January of this year).
    pub from: Option<NaiveDate>,
    /// Last day (default: today).
    pub to: Option<NaiveDate>,
    /// The breakdown.
    pub group_by: GroupBy,
    /// Disclosure control.
    pub disclosure: Disclosure,
}

/// A page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

impl App {
    /// An office filter within the caller's scope.
    fn office_filter(
        &self,
        caller: &Caller,
        office: Option<String>,
    ) -> Result<Option<String>, Error> {
        match office {
            Some(o) if !self.offices.covers(&caller.office, &o) => Err(Error::parameter(
                "office",
                format!("{o} is outside your scope"),
            )),
            other => Ok(other),
        }
    }

    /// The work queue, or the cases of one person.
    ///
    /// # Errors
    /// A person search by a role that does not search persons, an office outside the caller's
    /// scope, a cursor this server did not give out, the store.
    pub async fn work_queue(
        &self,
        caller: &Caller,
        q: WorkQueueQuery,
    ) -> Result<Page<ptl_projections::queries::WorkQueueRow>, Error> {
        let (offices, submitted_to) = self.scope_of(&caller.office);
        let case_ids = match &q.person {
            Some(person) => Some(self.search_person(caller, person).await?),
            None => None,
        };
        let filter = CaseFilter {
            offices,
            submitted_to,
            office: self.office_filter(caller, q.office)?,
            stage: q.stage,
            status: q.status,
            assignee: q.assignee,
            overdue: q.overdue,
            due_before: q.due_before,
            case_ids,
            escalation: q.escalated,
            escalate_after_working_days: self.settings.escalate_after_working_days,
            upcoming: q.upcoming,
            upcoming_working_days: u32::try_from(self.settings.upcoming_days).unwrap_or(3),
            rules: self.engine.rules().clone(),
            today: self.today(),
            limit: q.limit,
            cursor: q.cursor,
        };
        let (items, next_cursor) = list_cases(self.engine.db(), &filter).await?;
        Ok(Page { items, next_cursor })
    }

    /// The ids of the cases of one person, by the vault's keyed index.
    async fn search_person(
        &self,
        caller: &Caller,
        person: &PersonQuery,
    ) -> Result<Vec<uuid::Uuid>, Error> {
        if matches!(caller.role, Role::Auditor | Role::Admin) {
            return Err(Error::Forbidden(format!(
                "the role {} does not search persons",
                caller.role
            )));
        }
        let mut tx = self.engine.begin_write().await?;
        let found = self
            .engine
            .vault()
            .find_person(tx.conn(), &person.full_name, person.birth_date)
            .await
            .map_err(store)?;
        tx.commit().await.map_err(store)?;
        tracing::info!(target: "ptl::audit", sub = %caller.sub, role = %caller.role, office = %caller.office, matches = found.len(), "person search");
        Ok(found)
    }

    /// The deadlines in the caller's scope.
    ///
    /// # Errors
    /// An office outside the caller's scope, a bad cursor, the store.
    pub async fn deadlines(
        &self,
        caller: &Caller,
        q: DeadlineQuery,
    ) -> Result<Page<ptl_projections::queries::DeadlineRow>, Error> {
        let (offices, submitted_to) = self.scope_of(&caller.office);
        let filter = DeadlineFilter {
            offices,
            submitted_to,
            office: self.office_filter(caller, q.office)?,
            state: q.state,
            due_before: q.due_before,
            today: self.today(),
            limit: q.limit,
            cursor: q.cursor,
        };
        let (items, next_cursor) = list_deadlines(self.engine.db(), &filter).await?;
        Ok(Page { items, next_cursor })
    }

    /// The figures of the regional report for an office (with the offices below it) and a
    /// period. Returns the office reported on and the figures.
    ///
    /// # Errors
    /// An administrator, an office outside the caller's scope, a period that ends before it
    /// starts, a public report for anything but a whole month, quarter or year that has ended,
    /// the store.
    pub async fn statistics(
        &self,
        caller: &Caller,
        q: StatsRequest,
    ) -> Result<(String, Stats), Error> {
        if caller.role == Role::Admin {
            return Err(Error::Forbidden(
                "an administrator does not read case statistics".into(),
            ));
        }
        let today = self.today();
        let office = self
            .office_filter(caller, q.office)?
            .unwrap_or_else(|| caller.office.clone());
        let (offices, submitted_to) = self.scope_of(&office);
        let public = q.disclosure == Disclosure::Public;
        let (from, to) = match (public, q.from, q.to) {
            // Published figures: a whole month, quarter or year that has ended ("Statistics").
            (true, None, None) => last_complete_month(today),
            (true, Some(from), Some(to)) => (from, to),
            (true, from, _) => return Err(Error::parameter(
                if from.is_none() { "from" } else { "to" },
                "public figures need both `from` and `to` (or neither: the last complete month)",
            )),
            (false, from, to) => (
                from.unwrap_or_else(|| {
                    NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)
                }),
                to.unwrap_or(today),
            ),
        };
        if from > to {
            return Err(Error::parameter("from", "must not be after `to`"));
        }
        if public {
            check_public_period(from, to, today).map_err(|m| Error::parameter("from", m))?;
        }
        let mut result = stats(
            self.engine.db(),
            &StatsQuery {
                offices,
                submitted_to,
                from,
                to,
                today,
                group_by: q.group_by,
            },
        )
        .await?;
        if public {
            // Keyed from the engine's hash key: the same cell rounds the same way on every
            // request and every restart, and nobody without the key can undo it.
            let key = RoundingKey::derive(self.engine.keys().hash_key());
            result = publish(
                result,
                self.settings.disclosure_threshold,
                &key,
                &office,
                q.group_by,
            );
        }
        Ok((office, result))
    }
}
