//! Lists read from the projections' read models: the work queue (and the person search that
//! narrows it), the deadlines, and the statistics of the regional report. Every list is limited
//! to the caller's scope.
//!
//! **Person search.** Whether a named person is registered at all is itself sensitive, so a
//! search (and the duplicate check of a registration, [`App::split_by_scope`]) shows case ids
//! only within the caller's scope and, for matches outside it, a count per office; every case
//! found gets an entry in its access log with the caller and the reason (the engine writes it in
//! the look-up's transaction); and each user may search only so many times a minute
//! ([`super::search_limit`]).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::procedure::DeadlineKind;
use ptl_domain::{Actor, Role, Stage, Status};
use ptl_engine::pipeline::Lookup;
use ptl_projections::queries::{
    case_assignees, case_page, count_cases, list_cases, list_deadlines, queue_counts, CaseFilter,
    DeadlineFilter, QueueCounts, WorkQueueRow, MAX_LIMIT,
};
use ptl_projections::stats::{
    check_public_period, last_complete_month, publish, stats, GroupBy, RoundingKey, Stats,
    StatsQuery,
};
use uuid::Uuid;

use super::{App, Caller, Error};
use crate::models::BodyError;

/// A person to look for: exact match after normalisation, with the reason for looking (required:
/// it goes to the access log of every case found).
#[derive(Clone, PartialEq, Eq)]
pub struct PersonQuery {
    /// Full name as written.
    pub full_name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Why the caller looks (1 to [`crate::models::MAX_SEARCH_REASON_CHARS`] characters).
    pub reason: String,
}

/// Cases of a person outside the caller's scope, counted for one office (never named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// The office responsible for them now.
    pub office: String,
    /// How many.
    pub count: u64,
}

/// The cases of a person, as the caller may know them: ids within the scope, counts per office
/// outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matches {
    /// Cases in the caller's scope, in id order.
    pub in_scope: Vec<Uuid>,
    /// Cases outside it, counted per office (in office order).
    pub elsewhere: Vec<Elsewhere>,
}

/// What a person search answers.
#[derive(Debug, Clone)]
pub struct PersonSearch {
    /// The work-queue rows of the matching cases in the caller's scope.
    pub items: Vec<WorkQueueRow>,
    /// Matches outside the scope, counted per office.
    pub elsewhere: Vec<Elsewhere>,
}

/// The work queue: a page, and for a person search the matches outside the caller's scope.
#[derive(Debug, Clone)]
pub struct WorkQueue {
    /// The page.
    pub page: Page<WorkQueueRow>,
    /// Person search only: matches outside the scope, counted per office.
    pub elsewhere: Option<Vec<Elsewhere>>,
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

/// How the web pages narrow a work-queue query beyond the REST filters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Narrow {
    /// Only cases not closed (`Some(true)`) or only closed ones (`Some(false)`).
    pub open: Option<bool>,
    /// Only cases nobody is assigned to.
    pub unassigned: bool,
}

/// A numbered page of the work queue and the length of the whole list.
#[derive(Debug, Clone)]
pub struct QueuePage {
    /// The cases of the page.
    pub items: Vec<WorkQueueRow>,
    /// How many cases the whole list holds.
    pub total: u64,
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
    /// Only deadlines of these kinds (none: every kind; the web pages' sections).
    pub kinds: Vec<DeadlineKind>,
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

/// Only the roles that work with the person search persons (`api.md`): caseworker, supervisor,
/// social worker, decision officer.
fn may_search(caller: &Caller) -> Result<(), Error> {
    match caller.role {
        Role::Caseworker | Role::Supervisor | Role::SocialWorker | Role::DecisionOfficer => Ok(()),
        other => Err(Error::Forbidden(format!(
            "the role {other} does not search persons"
        ))),
    }
}

impl App {
    /// An office filter within the caller's scope.
    pub(super) fn office_filter(
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

    /// The work queue, or the cases of one person (the `GET` form of the person search: the same
    /// role, limit and access-log entries as [`Self::person_search`]).
    ///
    /// # Errors
    /// A person search by a role that does not search persons or past the caller's limit, an
    /// office outside the caller's scope, a cursor this server did not give out, the store.
    pub async fn work_queue(&self, caller: &Caller, q: WorkQueueQuery) -> Result<WorkQueue, Error> {
        let office = self.office_filter(caller, q.office)?;
        let (case_ids, elsewhere) = match &q.person {
            Some(person) => {
                let found = self.search_person(caller, person).await?;
                (Some(found.in_scope), Some(found.elsewhere))
            }
            None => (None, None),
        };
        let filter = CaseFilter {
            office,
            stage: q.stage,
            status: q.status,
            assignee: q.assignee,
            overdue: q.overdue,
            due_before: q.due_before,
            case_ids,
            escalation: q.escalated,
            upcoming: q.upcoming,
            limit: q.limit,
            cursor: q.cursor,
            ..self.case_filter(caller)
        };
        let (items, next_cursor) = list_cases(self.engine.db(), &filter).await?;
        Ok(WorkQueue {
            page: Page { items, next_cursor },
            elsewhere,
        })
    }

    /// A numbered page of the work queue as the web pages show it: the query's filters narrowed
    /// to open or closed cases or to unassigned ones, `limit` cases from the `offset`-th, and how
    /// many the whole list holds (counted by the read model, not read; or `known_total`, the view's
    /// count from [`Self::work_queue_counts`] when no filter narrows it). The person filter belongs
    /// to [`Self::work_queue`] and is refused here.
    ///
    /// # Errors
    /// An office outside the caller's scope, a person filter, the store.
    pub async fn work_queue_page(
        &self,
        caller: &Caller,
        q: WorkQueueQuery,
        narrow: Narrow,
        offset: u64,
        limit: u32,
        known_total: Option<u64>,
    ) -> Result<QueuePage, Error> {
        let filter = self.narrowed_filter(caller, q, narrow)?;
        let total = match known_total {
            Some(n) => n,
            None => count_cases(self.engine.db(), &filter).await?,
        };
        let items = if offset < total {
            case_page(self.engine.db(), &filter, offset, limit).await?
        } else {
            Vec::new()
        };
        Ok(QueuePage { items, total })
    }

    /// The counts of the work queue's views over the caller's whole scope ("mine" is the caller's,
    /// "unassigned" its office's).
    ///
    /// # Errors
    /// The store.
    pub async fn work_queue_counts(&self, caller: &Caller) -> Result<QueueCounts, Error> {
        Ok(queue_counts(
            self.engine.db(),
            &self.case_filter(caller),
            &caller.sub,
            &caller.office,
        )
        .await?)
    }

    /// The users assigned to a case in the caller's scope, by id.
    ///
    /// # Errors
    /// The store.
    pub async fn work_queue_assignees(&self, caller: &Caller) -> Result<Vec<String>, Error> {
        Ok(case_assignees(self.engine.db(), &self.case_filter(caller)).await?)
    }

    fn narrowed_filter(
        &self,
        caller: &Caller,
        q: WorkQueueQuery,
        narrow: Narrow,
    ) -> Result<CaseFilter, Error> {
        if q.person.is_some() {
            return Err(Error::parameter(
                "person",
                "a person is searched with the work queue's list, not its pages",
            ));
        }
        let office = self.office_filter(caller, q.office)?;
        Ok(CaseFilter {
            office,
            stage: q.stage,
            status: q.status,
            assignee: q.assignee,
            open: narrow.open,
            unassigned: narrow.unassigned,
            overdue: q.overdue,
            due_before: q.due_before,
            escalation: q.escalated,
            upcoming: q.upcoming,
            ..self.case_filter(caller)
        })
    }

    /// The work-queue rows of these cases that are in the caller's scope (the others are left
    /// out), in the work queue's order within each batch of ids.
    ///
    /// # Errors
    /// The store.
    pub async fn cases_by_id(
        &self,
        caller: &Caller,
        ids: Vec<Uuid>,
    ) -> Result<Vec<WorkQueueRow>, Error> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_LIMIT as usize) {
            let filter = CaseFilter {
                case_ids: Some(chunk.to_vec()),
                ..self.case_filter(caller)
            };
            rows.extend(list_cases(self.engine.db(), &filter).await?.0);
        }
        Ok(rows)
    }

    /// A case filter of the caller's whole scope, without other conditions.
    fn case_filter(&self, caller: &Caller) -> CaseFilter {
        let (offices, submitted_to) = self.scope_of(&caller.office);
        CaseFilter {
            offices,
            submitted_to,
            office: None,
            stage: None,
            status: None,
            assignee: None,
            open: None,
            unassigned: false,
            overdue: false,
            due_before: None,
            case_ids: None,
            escalation: None,
            escalate_after_working_days: self.settings.escalate_after_working_days,
            upcoming: false,
            upcoming_working_days: u32::try_from(self.settings.upcoming_days).unwrap_or(3),
            rules: self.engine.rules().clone(),
            today: self.today(),
            limit: MAX_LIMIT,
            cursor: None,
        }
    }

    /// Person search (`POST /person-search`): the work-queue rows of the person's cases in the
    /// caller's scope, and how many more each other office holds. Checked in this order: the role,
    /// the body, the caller's search limit.
    ///
    /// # Errors
    /// A role that does not search persons, a body without a full name, birth date or reason,
    /// the caller's limit, the store.
    pub async fn person_search(
        &self,
        caller: &Caller,
        input: Result<PersonQuery, BodyError>,
    ) -> Result<PersonSearch, Error> {
        may_search(caller)?;
        let person = input?;
        let found = self.search_person(caller, &person).await?;
        let mut items = Vec::new();
        if !found.in_scope.is_empty() {
            let mut filter = CaseFilter {
                case_ids: Some(found.in_scope),
                ..self.case_filter(caller)
            };
            loop {
                let (rows, next) = list_cases(self.engine.db(), &filter).await?;
                items.extend(rows);
                match next {
                    Some(c) => filter.cursor = Some(c),
                    None => break,
                }
            }
        }
        Ok(PersonSearch {
            items,
            elsewhere: found.elsewhere,
        })
    }

    /// The cases of one person by the vault's keyed index, split by the caller's scope; the
    /// engine writes the search (caller and reason) to the access log of every case found.
    async fn search_person(&self, caller: &Caller, person: &PersonQuery) -> Result<Matches, Error> {
        may_search(caller)?;
        self.searches
            .admit(&caller.sub, self.engine.clock().now())
            .map_err(|retry_after_secs| Error::TooManySearches { retry_after_secs })?;
        let actor = Actor::user(caller.sub.clone(), caller.role, caller.office.clone());
        let lookup = Lookup::Search {
            reason: person.reason.clone(),
        };
        let found = self
            .engine
            .find_person(&actor, &person.full_name, person.birth_date, &lookup)
            .await?;
        tracing::info!(target: "ptl::audit", sub = %caller.sub, role = %caller.role, office = %caller.office, matches = found.len(), "person search");
        self.split_by_scope(caller, &found).await
    }

    /// Splits cases found for a person by the caller's scope: ids within it, counts per office
    /// (the office responsible now) outside it. A case that does not load is left out.
    ///
    /// # Errors
    /// The store.
    pub async fn split_by_scope(&self, caller: &Caller, ids: &[Uuid]) -> Result<Matches, Error> {
        let mut in_scope = Vec::new();
        let mut elsewhere: BTreeMap<String, u64> = BTreeMap::new();
        for id in ids {
            let Some((state, _)) = self.engine.load(*id).await? else {
                continue;
            };
            if self
                .offices
                .case_in_scope(&caller.office, state.office(), &state.ever_submitted_to)
            {
                in_scope.push(*id);
            } else {
                *elsewhere.entry(state.office().to_string()).or_default() += 1;
            }
        }
        Ok(Matches {
            in_scope,
            elsewhere: elsewhere
                .into_iter()
                .map(|(office, count)| Elsewhere { office, count })
                .collect(),
        })
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
            kinds: q.kinds,
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
                successors: self.offices.successor_map(),
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
