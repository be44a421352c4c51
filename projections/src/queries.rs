//! Reading the work queue and the deadlines: the lists of `api.md` (`GET /api/v1/cases`,
//! `GET /api/v1/deadlines`) and the deadline scheduler's look-up.
//!
//! Scope is part of every filter, never optional: a row is visible when its office is one of
//! `offices` (the API passes the caller's office and its descendants) or, for a deciding
//! authority, when the file was ever submitted or handed to `submitted_to` (a submission, a court
//! ruling that sent it there, or the hand-over to a successor authority: the state's
//! `ever_submitted_to` records all three). An empty scope sees nothing.
//! Lists are keyset-paginated with an opaque cursor (stable under concurrent inserts, no OFFSET
//! scans). Overdue and deadline states are computed against `today` here, never stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::deadlines::{deadline_state, DeadlineState};
use ptl_domain::procedure::DeadlineKind;
use ptl_domain::state::DeadlineRecord;
use ptl_domain::{RuleBook, Stage, Status};
use ptl_engine::db::Db;
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

use crate::sql::{date_text, parse_date, parse_opt_date, to_u64, Arg, Sql};
use crate::tally::{due_source, group_source};
use crate::ProjectionError;

/// Largest page a list returns (`api.md`: `limit` up to 200).
pub const MAX_LIMIT: u32 = 200;

/// Working days after a recorded miss before the case escalates to the regional office
/// (level 2), unless configured otherwise.
pub const DEFAULT_ESCALATE_AFTER_WORKING_DAYS: u32 = 3;

/// Escalation level 1: the supervisor of the case's office (from the recorded miss).
pub const ESCALATION_SUPERVISOR: u8 = 1;
/// Escalation level 2: the regional office (the configured working days after the miss).
pub const ESCALATION_REGIONAL: u8 = 2;

/// Sort key standing in for "no due date" (such cases come last).
const NO_DUE: &str = "9999-12-31";

/// The work queue's sort key, as written in `list_cases`; the `work_queue_office_order` index
/// (migration 0009) is on `office` and exactly this expression, so a page is read in order.
pub const WORK_QUEUE_SORT: &str = "COALESCE(next_due_on, '9999-12-31')";

/// Filters of `GET /api/v1/cases`.
#[derive(Debug, Clone)]
pub struct CaseFilter {
    /// Scope: offices the caller sees (its own and its descendants).
    pub offices: Vec<String>,
    /// Scope: a deciding authority sees the cases whose file was ever submitted or handed to it.
    pub submitted_to: Option<String>,
    /// Only cases whose current office is this one.
    pub office: Option<String>,
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only cases assigned to this user.
    pub assignee: Option<String>,
    /// Only cases not closed (`Some(true)`) or only closed ones (`Some(false)`).
    pub open: Option<bool>,
    /// Only cases nobody is assigned to.
    pub unassigned: bool,
    /// Only cases with a running deadline due before `today`.
    pub overdue: bool,
    /// Only cases whose earliest running deadline is due strictly before this date.
    pub due_before: Option<NaiveDate>,
    /// Only these cases (the person search hands over the cases it found).
    pub case_ids: Option<Vec<Uuid>>,
    /// Only cases escalated at least to this level on `today` (1: the supervisor of the office,
    /// from the recorded miss; 2: the regional office, `escalate_after_working_days` later).
    /// `Some(0)` matches every case.
    pub escalation: Option<u8>,
    /// Working days after the earliest recorded miss (of a deadline still running) before level 2
    /// ([`DEFAULT_ESCALATE_AFTER_WORKING_DAYS`] unless configured).
    pub escalate_after_working_days: u32,
    /// Only cases with a running deadline due from `today` to `upcoming_working_days` working
    /// days after it (inclusive).
    pub upcoming: bool,
    /// The horizon of `upcoming`, in working days.
    pub upcoming_working_days: u32,
    /// The rules whose calendar counts working days (`Engine::rules()`).
    pub rules: Arc<RuleBook>,
    /// Today in Kyiv (overdue is computed against it).
    pub today: NaiveDate,
    /// Page size, clamped to 1..=[`MAX_LIMIT`].
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One case of the work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkQueueRow {
    /// Case id.
    pub case_id: Uuid,
    /// Register number.
    pub register_no: String,
    /// Responsible office now.
    pub office: String,
    /// Stage.
    pub stage: Stage,
    /// Status.
    pub status: Status,
    /// Assigned official.
    pub assignee: Option<String>,
    /// Governing procedure definition id.
    pub procedure: String,
    /// Receipt date.
    pub received_on: NaiveDate,
    /// The applicant was a child on the receipt date.
    pub child: bool,
    /// Foreign or stateless applicant.
    pub foreigner: bool,
    /// The authority the file is with now.
    pub submitted_to: Option<String>,
    /// Every authority the file was ever submitted or handed to.
    pub ever_submitted_to: Vec<String>,
    /// Earliest due date of a running deadline.
    pub next_due_on: Option<NaiveDate>,
    /// Running deadlines.
    pub open_deadlines: u64,
    /// Deadlines whose miss the engine recorded.
    pub missed_recorded: u64,
    /// A running deadline is past due on `today` (computed, not stored).
    pub overdue: bool,
    /// Business date of the earliest recorded miss among the running deadlines.
    pub first_missed_on: Option<NaiveDate>,
    /// Escalation on `today` (computed, not stored): 0 none, 1 the supervisor of the office,
    /// 2 the regional office.
    pub escalation_level: u8,
    /// Version of the case the row reflects.
    pub last_sequence: u64,
    /// Recorded time of that event.
    pub updated_at: DateTime<Utc>,
}

/// A stored work-queue row (more columns than sqlx decodes into a tuple).
#[derive(Debug, sqlx::FromRow)]
struct WqTuple {
    case_id: String,
    register_no: String,
    office: String,
    stage: String,
    status: String,
    assignee: Option<String>,
    procedure_id: String,
    received_on: String,
    child: bool,
    foreigner: bool,
    submitted_to: Option<String>,
    ever_submitted_to: String,
    next_due_on: Option<String>,
    open_deadlines: i64,
    missed_recorded: i64,
    last_sequence: i64,
    updated_at: i64,
    first_missed_on: Option<String>,
}

const WQ_COLUMNS: &str = "case_id, register_no, office, stage, status, assignee, procedure_id, \
    received_on, child, foreigner, submitted_to, ever_submitted_to, next_due_on, open_deadlines, \
    missed_recorded, last_sequence, updated_at, first_missed_on";

fn decode_err(what: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: {e}").into())
}

/// What the escalation levels are on a given day: a case whose earliest running miss was recorded
/// on or before `regional_cutoff` is at level 2, on or before `today` at level 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationCutoffs {
    /// The day the levels are computed for.
    pub today: NaiveDate,
    /// The latest miss date that has reached level 2 on `today`.
    pub regional_cutoff: NaiveDate,
    /// Some counted day lay beyond the last calendar year (only weekends were skipped there).
    pub beyond_calendar: bool,
}

impl EscalationCutoffs {
    /// Computes the cutoffs: level 2 is reached on the `after_working_days`-th working day after
    /// the miss (with the rules' calendar).
    #[must_use]
    pub fn new(rules: &RuleBook, today: NaiveDate, after_working_days: u32) -> Self {
        let cal = rules.calendar();
        // `add_working_days` is non-decreasing in its start, so the dates whose count ends on or
        // before `today` are a prefix: walk back from `today` to its end.
        let mut cutoff = today;
        let mut beyond = false;
        // Far more steps than any run of non-working days needs; stops a broken calendar.
        for _ in 0..(400 + u64::from(after_working_days) * 7) {
            let r = cal.add_working_days(cutoff, after_working_days);
            if r.due <= today {
                beyond |= r.beyond_calendar;
                break;
            }
            match cutoff.pred_opt() {
                Some(p) => cutoff = p,
                None => break,
            }
        }
        if beyond {
            tracing::warn!(
                target: "ptl::escalation",
                %today,
                "escalation counted past the last calendar year: only Saturdays and Sundays were skipped there"
            );
        }
        Self {
            today,
            regional_cutoff: cutoff,
            beyond_calendar: beyond,
        }
    }

    /// The level of a case whose earliest running miss was recorded on `first_missed_on`.
    #[must_use]
    pub fn level(&self, first_missed_on: Option<NaiveDate>) -> u8 {
        match first_missed_on {
            Some(m) if m <= self.regional_cutoff => ESCALATION_REGIONAL,
            Some(m) if m <= self.today => ESCALATION_SUPERVISOR,
            _ => 0,
        }
    }
}

/// The last day of the `upcoming` horizon: `n` working days after `today` with the rules' calendar.
#[must_use]
pub fn upcoming_horizon(rules: &RuleBook, today: NaiveDate, n: u32) -> NaiveDate {
    let r = rules.calendar().add_working_days(today, n);
    if r.beyond_calendar {
        tracing::warn!(
            target: "ptl::escalation",
            %today,
            "upcoming horizon counted past the last calendar year: only Saturdays and Sundays were skipped there"
        );
    }
    r.due
}

fn wq_row(t: WqTuple, cut: &EscalationCutoffs) -> Result<WorkQueueRow, sqlx::Error> {
    let today = cut.today;
    let next_due_on = parse_opt_date(t.next_due_on.as_deref())?;
    let first_missed_on = parse_opt_date(t.first_missed_on.as_deref())?;
    Ok(WorkQueueRow {
        case_id: Uuid::parse_str(&t.case_id).map_err(|e| decode_err("case_id", e))?,
        register_no: t.register_no,
        office: t.office,
        stage: t.stage.parse().map_err(|e| decode_err("stage", e))?,
        status: t.status.parse().map_err(|e| decode_err("status", e))?,
        assignee: t.assignee,
        procedure: t.procedure_id,
        received_on: parse_date(&t.received_on)?,
        child: t.child,
        foreigner: t.foreigner,
        submitted_to: t.submitted_to,
        ever_submitted_to: t
            .ever_submitted_to
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        overdue: next_due_on.is_some_and(|d| d < today),
        escalation_level: cut.level(first_missed_on),
        first_missed_on,
        next_due_on,
        open_deadlines: to_u64(t.open_deadlines),
        missed_recorded: to_u64(t.missed_recorded),
        last_sequence: to_u64(t.last_sequence),
        updated_at: DateTime::<Utc>::from_timestamp_micros(t.updated_at)
            .ok_or_else(|| decode_err("updated_at", t.updated_at))?,
    })
}

pub(crate) fn encode_cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

pub(crate) fn decode_cursor(
    tag: &str,
    cursor: &str,
    n: usize,
) -> Result<Vec<String>, ProjectionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| ProjectionError::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| ProjectionError::InvalidCursor)?;
    let parts: Vec<String> = text.split('\n').map(str::to_string).collect();
    if parts.len() != n + 1 || parts.first().map(String::as_str) != Some(tag) {
        return Err(ProjectionError::InvalidCursor);
    }
    Ok(parts.into_iter().skip(1).collect())
}

/// The scope predicate: `office_col IN (offices) OR <case ever submitted to the authority>`.
pub(crate) fn scope(
    sql: &mut Sql,
    office_col: &str,
    ever_col: &str,
    offices: &[String],
    auth: Option<&str>,
) -> String {
    let by_office = sql.in_list(office_col, offices);
    match auth {
        Some(a) => {
            let p = sql.text_arg(format!("%,{a},%"));
            format!("({by_office} OR {ever_col} LIKE {p})")
        }
        None => format!("({by_office})"),
    }
}

pub(crate) fn page_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_LIMIT))
}

/// The work queue: cases in scope matching the filters, earliest next due date first (cases
/// with nothing due last), then by case id; with the cursor of the next page.
///
/// # Errors
/// [`ProjectionError::InvalidCursor`] for a cursor this function did not produce;
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn list_cases(
    db: &Db,
    f: &CaseFilter,
) -> Result<(Vec<WorkQueueRow>, Option<String>), ProjectionError> {
    let cursor = match &f.cursor {
        Some(c) => {
            let parts = decode_cursor("c", c, 2)?;
            Some((parts[0].clone(), parts[1].clone()))
        }
        None => None,
    };
    let limit = page_limit(f.limit);
    let (sql, cut) = ordered_page(f, cursor, limit + 1, 0);
    let mut tx = db.read().await?;
    let rows: Vec<WqTuple> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    let mut out = rows
        .into_iter()
        .map(|t| wq_row(t, &cut))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if out.len() as i64 > limit {
        out.truncate(usize::try_from(limit).unwrap_or(0));
        out.last().map(|r| {
            let due = r.next_due_on.map_or_else(|| NO_DUE.to_string(), date_text);
            encode_cursor(&["c", &due, &r.case_id.to_string()])
        })
    } else {
        None
    };
    Ok((out, next))
}

/// The conditions of a case filter (everything but the cursor), appended to a statement that
/// ends in `WHERE `; the escalation cut-offs of `today`.
fn case_conditions(sql: &mut Sql, f: &CaseFilter) -> EscalationCutoffs {
    let s = scope(
        sql,
        "office",
        "ever_submitted_to",
        &f.offices,
        f.submitted_to.as_deref(),
    );
    sql.push(&s);
    other_conditions(sql, f)
}

/// Most offices a page is read office by office ([`ordered_page`]); a wider scope (a region's
/// or the country's) is read in one statement.
const MERGED_OFFICES: usize = 32;

/// The statement of a page of the work queue in its order: `limit` rows after `offset` (and
/// after the `cursor`'s row). Over several offices of one caller (no deciding authority's scope,
/// no office or person filter) it reads each office's rows in the order of the index
/// `work_queue_office_order`, stopping each after `offset + limit` rows, and merges them: the
/// cost follows the page, not the size of the offices' queues (one statement over all of them
/// would read and sort every row in scope for each page).
fn ordered_page(
    f: &CaseFilter,
    cursor: Option<(String, String)>,
    limit: i64,
    offset: i64,
) -> (Sql, EscalationCutoffs) {
    let sort = WORK_QUEUE_SORT;
    let mut offices: Vec<&String> = f.offices.iter().collect();
    offices.sort();
    offices.dedup();
    let merged = f.submitted_to.is_none()
        && f.office.is_none()
        && f.case_ids.is_none()
        && (2..=MERGED_OFFICES).contains(&offices.len());
    let mut sql = Sql::new("");
    let (cut, rest) = {
        let cut = other_conditions(&mut sql, f);
        if let Some((a, b)) = cursor {
            let pa = sql.text_arg(a);
            let pb = sql.text_arg(b);
            sql.push(&format!(" AND ({sort}, case_id) > ({pa}, {pb})"));
        }
        (cut, std::mem::take(&mut sql.text))
    };
    let pl = sql.arg(Arg::Int(Some(limit)));
    let po = sql.arg(Arg::Int(Some(offset)));
    if merged {
        let each = sql.arg(Arg::Int(Some(limit.saturating_add(offset))));
        let branches: Vec<String> = offices
            .iter()
            .enumerate()
            .map(|(i, office)| {
                let p = sql.text_arg((*office).clone());
                format!(
                    "SELECT * FROM (SELECT {WQ_COLUMNS} FROM work_queue WHERE office = {p}{rest} \
                     ORDER BY {sort}, case_id LIMIT {each}) AS o{i}"
                )
            })
            .collect();
        sql.push(&format!(
            "SELECT {WQ_COLUMNS} FROM ({}) AS merged ORDER BY {sort}, case_id LIMIT {pl} OFFSET {po}",
            branches.join(" UNION ALL ")
        ));
    } else {
        let s = scope(
            &mut sql,
            "office",
            "ever_submitted_to",
            &f.offices,
            f.submitted_to.as_deref(),
        );
        sql.push(&format!(
            "SELECT {WQ_COLUMNS} FROM work_queue WHERE {s}{rest} \
             ORDER BY {sort}, case_id LIMIT {pl} OFFSET {po}"
        ));
    }
    (sql, cut)
}

/// [`case_conditions`] but the scope: each begins with ` AND `.
fn other_conditions(sql: &mut Sql, f: &CaseFilter) -> EscalationCutoffs {
    if let Some(o) = &f.office {
        let p = sql.text_arg(o.clone());
        sql.push(&format!(" AND office = {p}"));
    }
    if let Some(st) = f.stage {
        let p = sql.text_arg(st.as_str());
        sql.push(&format!(" AND stage = {p}"));
    }
    match f.open {
        Some(true) => {
            let p = sql.text_arg(Stage::Closed.as_str());
            sql.push(&format!(" AND stage <> {p}"));
        }
        Some(false) => {
            let p = sql.text_arg(Stage::Closed.as_str());
            sql.push(&format!(" AND stage = {p}"));
        }
        None => {}
    }
    if let Some(st) = f.status {
        let p = sql.text_arg(st.as_str());
        sql.push(&format!(" AND status = {p}"));
    }
    if let Some(a) = &f.assignee {
        let p = sql.text_arg(a.clone());
        sql.push(&format!(" AND assignee = {p}"));
    }
    if f.unassigned {
        sql.push(" AND assignee IS NULL");
    }
    if f.overdue {
        let p = sql.text_arg(date_text(f.today));
        sql.push(&format!(" AND next_due_on < {p}"));
    }
    if let Some(d) = f.due_before {
        let p = sql.text_arg(date_text(d));
        sql.push(&format!(" AND next_due_on < {p}"));
    }
    if let Some(ids) = &f.case_ids {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let c = sql.in_list("case_id", &ids);
        sql.push(&format!(" AND {c}"));
    }
    let cut = EscalationCutoffs::new(&f.rules, f.today, f.escalate_after_working_days);
    match f.escalation {
        None | Some(0) => {}
        Some(ESCALATION_SUPERVISOR) => {
            let p = sql.text_arg(date_text(f.today));
            sql.push(&format!(" AND first_missed_on <= {p}"));
        }
        Some(_) => {
            let p = sql.text_arg(date_text(cut.regional_cutoff));
            sql.push(&format!(" AND first_missed_on <= {p}"));
        }
    }
    if f.upcoming {
        let c = upcoming_condition(sql, f);
        sql.push(&format!(" AND {c}"));
    }
    cut
}

/// "A running deadline is due from today to the upcoming window's end", for `work_queue` rows.
///
/// `next_due_on` is the earliest running deadline's due date (the projector writes both tables
/// from the same state): when it is today or later, the case is upcoming exactly when it falls in
/// the window, which the index `work_queue_views` answers alone. Only a case whose earliest running
/// deadline is overdue needs its other running deadlines looked at (`deadlines_running_by_case`).
fn upcoming_condition(sql: &mut Sql, f: &CaseFilter) -> String {
    let horizon = upcoming_horizon(&f.rules, f.today, f.upcoming_working_days);
    let pt = sql.text_arg(date_text(f.today));
    let ph = sql.text_arg(date_text(horizon));
    format!(
        "((next_due_on >= {pt} AND next_due_on <= {ph}) \
         OR (next_due_on < {pt} AND EXISTS (SELECT 1 FROM deadlines d \
         WHERE d.case_id = work_queue.case_id \
         AND d.fulfilled_on IS NULL AND d.cancelled_on IS NULL \
         AND d.due_on >= {pt} AND d.due_on <= {ph})))"
    )
}

/// How many cases match a filter (its cursor and page size are ignored).
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn count_cases(db: &Db, f: &CaseFilter) -> Result<u64, ProjectionError> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM work_queue WHERE ");
    case_conditions(&mut sql, f);
    let mut tx = db.read().await?;
    let rows: Vec<(i64,)> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    Ok(rows.first().map_or(0, |r| to_count(r.0)))
}

/// The cases matching a filter from the `offset`-th on, at most `limit` of them, in the order of
/// [`list_cases`] (its cursor is ignored): a numbered page of a list whose length
/// [`count_cases`] tells.
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn case_page(
    db: &Db,
    f: &CaseFilter,
    offset: u64,
    limit: u32,
) -> Result<Vec<WorkQueueRow>, ProjectionError> {
    let (sql, cut) = ordered_page(
        f,
        None,
        page_limit(limit),
        i64::try_from(offset).unwrap_or(i64::MAX),
    );
    let mut tx = db.read().await?;
    let rows: Vec<WqTuple> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    Ok(rows
        .into_iter()
        .map(|t| wq_row(t, &cut))
        .collect::<Result<Vec<_>, _>>()?)
}

/// The counts of the work queue's views over a filter's cases (usually the caller's whole
/// scope), read in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    /// Cases not closed.
    pub open: u64,
    /// Open cases assigned to `me`.
    pub mine: u64,
    /// Open cases of `my_office` nobody is assigned to.
    pub unassigned: u64,
    /// Cases whose earliest running deadline is past due.
    pub overdue: u64,
    /// Open cases with a running deadline due within the upcoming window.
    pub upcoming: u64,
    /// Cases whose file is with the deciding authority.
    pub submitted: u64,
    /// Cases returned for completion.
    pub returned: u64,
    /// Closed cases.
    pub closed: u64,
}

/// The eight counts of [`queue_counts`]' pass, in its columns' order.
type ViewCounts = (i64, i64, i64, i64, i64, i64, i64, i64);

/// The view counts of the cases matching `f`, for the user `me` of the office `my_office`.
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn queue_counts(
    db: &Db,
    f: &CaseFilter,
    me: &str,
    my_office: &str,
) -> Result<QueueCounts, ProjectionError> {
    if tallied(f) {
        return tallied_counts(db, f, me, my_office).await;
    }
    // One pass over the index `work_queue_views` (office, stage, assignee, next_due_on, case_id)
    // for the eight views, without reading the table's rows (see `upcoming_condition`).
    let mut sql = Sql::new("");
    let closed = sql.text_arg(Stage::Closed.as_str());
    let submitted = sql.text_arg(Stage::Submitted.as_str());
    let returned = sql.text_arg(Stage::Returned.as_str());
    let pme = sql.text_arg(me);
    let pmine = sql.text_arg(my_office);
    let today = sql.text_arg(date_text(f.today));
    let open = format!("stage <> {closed}");
    let upcoming = upcoming_condition(&mut sql, f);
    sql.push(&format!(
        "SELECT COUNT(CASE WHEN {open} THEN 1 END), \
         COUNT(CASE WHEN {open} AND assignee = {pme} THEN 1 END), \
         COUNT(CASE WHEN {open} AND assignee IS NULL AND office = {pmine} THEN 1 END), \
         COUNT(CASE WHEN next_due_on < {today} THEN 1 END), \
         COUNT(CASE WHEN stage = {submitted} THEN 1 END), \
         COUNT(CASE WHEN stage = {returned} THEN 1 END), \
         COUNT(CASE WHEN stage = {closed} THEN 1 END), \
         COUNT(CASE WHEN {open} AND {upcoming} THEN 1 END) \
         FROM work_queue WHERE "
    ));
    let plain = CaseFilter {
        upcoming: false,
        ..f.clone()
    };
    case_conditions(&mut sql, &plain);
    let mut tx = db.read().await?;
    let rows: Vec<ViewCounts> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    let Some(r) = rows.first() else {
        return Ok(QueueCounts::default());
    };
    Ok(QueueCounts {
        open: to_count(r.0),
        mine: to_count(r.1),
        unassigned: to_count(r.2),
        overdue: to_count(r.3),
        upcoming: to_count(r.7),
        submitted: to_count(r.4),
        returned: to_count(r.5),
        closed: to_count(r.6),
    })
}

/// The users assigned to at least one case matching a filter, by id.
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn case_assignees(db: &Db, f: &CaseFilter) -> Result<Vec<String>, ProjectionError> {
    if tallied(f) {
        let mut sql = Sql::new(&format!("SELECT assignee FROM {} WHERE ", group_source(db)));
        let s = sql.in_list("office", &f.offices);
        sql.push(&format!(
            "{s} AND assignee <> '' GROUP BY assignee HAVING SUM(cases) > 0 ORDER BY assignee"
        ));
        let mut tx = db.read().await?;
        let rows: Vec<(String,)> = sql.fetch_all(tx.conn()).await?;
        drop(tx);
        return Ok(rows.into_iter().map(|r| r.0).collect());
    }
    let mut sql = Sql::new("SELECT DISTINCT assignee FROM work_queue WHERE ");
    case_conditions(&mut sql, f);
    sql.push(" AND assignee IS NOT NULL ORDER BY assignee");
    let mut tx = db.read().await?;
    let rows: Vec<(String,)> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Whether the counts of `f` can be read from the tallies kept beside the work queue
/// ([`crate::tally`]): over a scope of offices (not a deciding authority's, which follows the
/// files it was sent), with no filter narrowing it.
fn tallied(f: &CaseFilter) -> bool {
    f.submitted_to.is_none()
        && f.office.is_none()
        && f.stage.is_none()
        && f.status.is_none()
        && f.assignee.is_none()
        && f.open.is_none()
        && !f.unassigned
        && !f.overdue
        && f.due_before.is_none()
        && f.case_ids.is_none()
        && matches!(f.escalation, None | Some(0))
}

/// [`queue_counts`] from the tallies: a few rows per office instead of every case. Only the cases
/// whose earliest running deadline is overdue are looked at one by one, for the upcoming view
/// (see [`upcoming_condition`]), through the index `work_queue_office` (office, next_due_on).
async fn tallied_counts(
    db: &Db,
    f: &CaseFilter,
    me: &str,
    my_office: &str,
) -> Result<QueueCounts, ProjectionError> {
    let mut by_group = Sql::new("");
    let closed = by_group.text_arg(Stage::Closed.as_str());
    let submitted = by_group.text_arg(Stage::Submitted.as_str());
    let returned = by_group.text_arg(Stage::Returned.as_str());
    let pme = by_group.text_arg(me);
    let pmine = by_group.text_arg(my_office);
    let offices = by_group.in_list("office", &f.offices);
    let sum =
        |when: &str| format!("CAST(COALESCE(SUM(CASE WHEN {when} THEN cases END), 0) AS BIGINT)");
    let open = format!("stage <> {closed}");
    by_group.push(&format!(
        "SELECT {}, {}, {}, {}, {}, {} FROM {} WHERE {offices}",
        sum(&open),
        sum(&format!("{open} AND assignee = {pme}")),
        sum(&format!("{open} AND assignee = '' AND office = {pmine}")),
        sum(&format!("stage = {submitted}")),
        sum(&format!("stage = {returned}")),
        sum(&format!("stage = {closed}")),
        group_source(db)
    ));

    let horizon = upcoming_horizon(&f.rules, f.today, f.upcoming_working_days);
    let mut by_day = Sql::new("");
    let closed = by_day.text_arg(Stage::Closed.as_str());
    let today = by_day.text_arg(date_text(f.today));
    let ph = by_day.text_arg(date_text(horizon));
    let offices = by_day.in_list("office", &f.offices);
    let upcoming = upcoming_condition(&mut by_day, f);
    by_day.push(&format!(
        "SELECT {}, {}, (SELECT COUNT(*) FROM work_queue WHERE {offices} \
         AND next_due_on < {today} AND stage <> {closed} AND {upcoming}) \
         FROM {} WHERE {offices} AND next_due_on <= {ph}",
        sum(&format!("next_due_on < {today}")),
        sum(&format!("next_due_on >= {today} AND stage <> {closed}")),
        due_source(db)
    ));

    let mut tx = db.read().await?;
    let groups: Vec<(i64, i64, i64, i64, i64, i64)> = by_group.fetch_all(tx.conn()).await?;
    let days: Vec<(i64, i64, i64)> = by_day.fetch_all(tx.conn()).await?;
    drop(tx);
    let g = groups.first().copied().unwrap_or_default();
    let d = days.first().copied().unwrap_or_default();
    Ok(QueueCounts {
        open: to_count(g.0),
        mine: to_count(g.1),
        unassigned: to_count(g.2),
        overdue: to_count(d.0),
        upcoming: to_count(d.1.saturating_add(d.2)),
        submitted: to_count(g.3),
        returned: to_count(g.4),
        closed: to_count(g.5),
    })
}

fn to_count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Filters of `GET /api/v1/deadlines`.
#[derive(Debug, Clone)]
pub struct DeadlineFilter {
    /// Scope: offices the caller sees.
    pub offices: Vec<String>,
    /// Scope: a deciding authority sees the deadlines of cases ever submitted to it.
    pub submitted_to: Option<String>,
    /// Only deadlines of cases of this office.
    pub office: Option<String>,
    /// Only deadlines in this state on `today`.
    pub state: Option<DeadlineState>,
    /// Only deadlines due strictly before this date.
    pub due_before: Option<NaiveDate>,
    /// Only deadlines of these kinds (none: every kind).
    pub kinds: Vec<DeadlineKind>,
    /// Today in Kyiv (states are computed against it).
    pub today: NaiveDate,
    /// Page size, clamped to 1..=[`MAX_LIMIT`].
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One deadline as seen on `today`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineRow {
    /// Case id.
    pub case_id: Uuid,
    /// Deadline name.
    pub name: String,
    /// Rule kind.
    pub kind: DeadlineKind,
    /// Start date.
    pub start: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// Date fulfilled.
    pub fulfilled_on: Option<NaiveDate>,
    /// Date cancelled (the case closed).
    pub cancelled_on: Option<NaiveDate>,
    /// The engine recorded the miss.
    pub missed_recorded: bool,
    /// The case's office.
    pub office: String,
    /// State on `today` (as `ptl_domain::deadlines::deadline_state` computes it).
    pub state: DeadlineState,
    /// Days from `today` to the due date (negative when past).
    pub days_left: i64,
    /// Version of the case the row reflects.
    pub last_sequence: u64,
}

type DlTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    String,
    i64,
);

/// The SQL condition equal to [`deadline_state`] on `today` (placeholder `t`), so the state
/// filter and the computed state can never disagree.
fn state_condition(state: DeadlineState, t: &str) -> String {
    match state {
        DeadlineState::Met => "(fulfilled_on IS NOT NULL AND fulfilled_on <= due_on)".into(),
        DeadlineState::Missed => format!(
            "((fulfilled_on IS NOT NULL AND fulfilled_on > due_on) \
             OR (fulfilled_on IS NULL AND cancelled_on IS NOT NULL AND missed_recorded) \
             OR (fulfilled_on IS NULL AND cancelled_on IS NULL AND (missed_recorded OR due_on < {t})))"
        ),
        DeadlineState::Cancelled => {
            "(fulfilled_on IS NULL AND cancelled_on IS NOT NULL AND NOT missed_recorded)".into()
        }
        DeadlineState::Open => format!(
            "(fulfilled_on IS NULL AND cancelled_on IS NULL AND NOT missed_recorded AND due_on >= {t})"
        ),
        // No shipped definition suspends deadlines, so nothing is ever suspended.
        DeadlineState::Suspended => "(1 = 0)".into(),
    }
}

fn dl_row(t: DlTuple, today: NaiveDate) -> Result<DeadlineRow, sqlx::Error> {
    let kind: DeadlineKind = t.2.parse().map_err(|e| decode_err("kind", e))?;
    let record = DeadlineRecord {
        name: t.1.parse().map_err(|e| decode_err("name", e))?,
        kind,
        start: parse_date(&t.3)?,
        due_on: parse_date(&t.4)?,
        fulfilled_on: parse_opt_date(t.5.as_deref())?,
        cancelled_on: parse_opt_date(t.6.as_deref())?,
        missed_recorded: t.7,
        missed_on: None,
        suspended_from: None,
        suspensions: Vec::new(),
        started_by: 0,
        fulfilled_by: None,
    };
    Ok(DeadlineRow {
        case_id: Uuid::parse_str(&t.0).map_err(|e| decode_err("case_id", e))?,
        state: deadline_state(&record, today),
        days_left: (record.due_on - today).num_days(),
        name: record.name.into(),
        kind: record.kind,
        start: record.start,
        due_on: record.due_on,
        fulfilled_on: record.fulfilled_on,
        cancelled_on: record.cancelled_on,
        missed_recorded: record.missed_recorded,
        office: t.8,
        last_sequence: to_u64(t.9),
    })
}

const DL_COLUMNS: &str = "d.case_id, d.name, d.kind, d.start_on, d.due_on, d.fulfilled_on, \
    d.cancelled_on, d.missed_recorded, d.office, d.last_sequence";

/// Deadlines in scope matching the filters, by due date (then case, then name); with the cursor
/// of the next page.
///
/// # Errors
/// [`ProjectionError::InvalidCursor`] for a cursor this function did not produce;
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn list_deadlines(
    db: &Db,
    f: &DeadlineFilter,
) -> Result<(Vec<DeadlineRow>, Option<String>), ProjectionError> {
    let mut sql = Sql::new(&format!("SELECT {DL_COLUMNS} FROM deadlines d WHERE "));
    let ever = "(SELECT w.ever_submitted_to FROM work_queue w WHERE w.case_id = d.case_id)";
    let s = scope(
        &mut sql,
        "d.office",
        ever,
        &f.offices,
        f.submitted_to.as_deref(),
    );
    sql.push(&s);
    if let Some(o) = &f.office {
        let p = sql.text_arg(o.clone());
        sql.push(&format!(" AND d.office = {p}"));
    }
    if let Some(st) = f.state {
        let t = sql.text_arg(date_text(f.today));
        sql.push(&format!(" AND {}", state_condition(st, &t)));
    }
    if let Some(d) = f.due_before {
        let p = sql.text_arg(date_text(d));
        sql.push(&format!(" AND d.due_on < {p}"));
    }
    if !f.kinds.is_empty() {
        let kinds: Vec<String> = f.kinds.iter().map(|k| k.as_str().to_string()).collect();
        let c = sql.in_list("d.kind", &kinds);
        sql.push(&format!(" AND {c}"));
    }
    if let Some(c) = &f.cursor {
        let parts = decode_cursor("d", c, 3)?;
        let pa = sql.text_arg(parts[0].clone());
        let pb = sql.text_arg(parts[1].clone());
        let pc = sql.text_arg(parts[2].clone());
        sql.push(&format!(
            " AND (d.due_on, d.case_id, d.name) > ({pa}, {pb}, {pc})"
        ));
    }
    let limit = page_limit(f.limit);
    let pl = sql.arg(Arg::Int(Some(limit + 1)));
    sql.push(&format!(" ORDER BY d.due_on, d.case_id, d.name LIMIT {pl}"));
    let mut tx = db.read().await?;
    let rows: Vec<DlTuple> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    let mut out = rows
        .into_iter()
        .map(|t| dl_row(t, f.today))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if out.len() as i64 > limit {
        out.truncate(usize::try_from(limit).unwrap_or(0));
        out.last()
            .map(|r| encode_cursor(&["d", &date_text(r.due_on), &r.case_id.to_string(), &r.name]))
    } else {
        None
    };
    Ok((out, next))
}

/// The cases in scope registered (receipt date) in `[from, to]`, by receipt date then case id:
/// the population of the case-level exports (`ptl export`). Read from the statistics read model
/// (`case_facts`), which keeps the responsible office and every authority that held the file.
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn cases_registered(
    db: &Db,
    offices: &[String],
    submitted_to: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Uuid>, ProjectionError> {
    let mut sql = Sql::new("SELECT f.case_id FROM case_facts f WHERE ");
    let s = scope(
        &mut sql,
        "f.office",
        "f.ever_submitted_to",
        offices,
        submitted_to,
    );
    sql.push(&s);
    let pf = sql.text_arg(date_text(from));
    let pt = sql.text_arg(date_text(to));
    sql.push(&format!(
        " AND f.received_on >= {pf} AND f.received_on <= {pt} ORDER BY f.received_on, f.case_id"
    ));
    let mut tx = db.read().await?;
    let rows: Vec<(String,)> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    Ok(rows
        .into_iter()
        .filter_map(|(id,)| Uuid::parse_str(&id).ok())
        .collect())
}

/// For the deadline scheduler: running deadlines due before `today` whose miss is not recorded
/// yet, by due date (uses the partial index `deadlines_open_due_on`).
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn due_deadlines(
    db: &Db,
    today: NaiveDate,
) -> Result<Vec<(Uuid, String, NaiveDate)>, ProjectionError> {
    let mut sql = Sql::new("SELECT case_id, name, due_on FROM deadlines WHERE ");
    let t = sql.text_arg(date_text(today));
    sql.push(&format!(
        "fulfilled_on IS NULL AND cancelled_on IS NULL AND due_on < {t} AND NOT missed_recorded \
         ORDER BY due_on, case_id, name"
    ));
    let mut tx = db.read().await?;
    let rows: Vec<(String, String, String)> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    rows.into_iter()
        .map(|(c, n, d)| {
            Ok((
                Uuid::parse_str(&c).map_err(|e| decode_err("case_id", e))?,
                n,
                parse_date(&d)?,
            ))
        })
        .collect()
}

/// For the deadline scheduler's sleep: the earliest due date of a running deadline whose miss
/// is not recorded (it becomes a miss the day after).
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn next_open_due(db: &Db) -> Result<Option<NaiveDate>, ProjectionError> {
    let sql = Sql::new(
        "SELECT MIN(due_on) FROM deadlines \
         WHERE fulfilled_on IS NULL AND cancelled_on IS NULL AND NOT missed_recorded",
    );
    let mut tx = db.read().await?;
    let rows: Vec<(Option<String>,)> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    Ok(parse_opt_date(
        rows.into_iter().next().and_then(|r| r.0).as_deref(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::{NO_DUE, WORK_QUEUE_SORT};

    #[test]
    fn the_sort_key_puts_cases_with_nothing_due_last() {
        assert_eq!(
            WORK_QUEUE_SORT,
            format!("COALESCE(next_due_on, '{NO_DUE}')")
        );
    }
}
