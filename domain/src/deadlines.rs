//! Deadlines as a reader sees them: state against today, days left, and how the due date was
//! computed (`api.md` deadline names and states).

use chrono::NaiveDate;
use serde::Serialize;

use crate::calendar::{Calendar, SkippedDay};
use crate::deadline_name::DeadlineName;
use crate::procedure::{DayKind, DeadlineKind, DeadlineRule};
use crate::state::{CaseState, DeadlineRecord};
use crate::types::coded_enum;

coded_enum! {
    /// A deadline's state as the API reports it.
    DeadlineState {
        Open => "open",
        Met => "met",
        Missed => "missed",
        Suspended => "suspended",
        Cancelled => "cancelled",
    }
}

/// One deadline as seen on `today`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineView {
    /// Name.
    pub name: DeadlineName,
    /// Rule kind.
    pub kind: DeadlineKind,
    /// Start date.
    pub start: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// State.
    pub state: DeadlineState,
    /// Days from today to the due date (negative when past).
    pub days_left: i64,
    /// Date the obligation was fulfilled.
    pub fulfilled_on: Option<NaiveDate>,
    /// The engine recorded the miss in the history.
    pub missed_recorded: bool,
}

/// The state of one recorded deadline on `today`: met when fulfilled on or before the due date,
/// missed when fulfilled late or still unfulfilled after it, cancelled when the case closed first.
#[must_use]
pub fn deadline_state(d: &DeadlineRecord, today: NaiveDate) -> DeadlineState {
    match (d.fulfilled_on, d.cancelled_on) {
        (Some(f), _) if f <= d.due_on => DeadlineState::Met,
        (Some(_), _) => DeadlineState::Missed,
        (None, Some(_)) if d.missed_recorded => DeadlineState::Missed,
        (None, Some(_)) => DeadlineState::Cancelled,
        (None, None) if d.suspended_from.is_some() => DeadlineState::Suspended,
        (None, None) if d.missed_recorded || today > d.due_on => DeadlineState::Missed,
        (None, None) => DeadlineState::Open,
    }
}

/// Every running or finished deadline of the case, as seen on `today`, ordered by due date.
#[must_use]
pub fn deadlines(state: &CaseState, today: NaiveDate) -> Vec<DeadlineView> {
    let mut out: Vec<DeadlineView> = state
        .deadlines
        .values()
        .map(|d| DeadlineView {
            name: d.name.clone(),
            kind: d.kind,
            start: d.start,
            due_on: d.due_on,
            state: deadline_state(d, today),
            days_left: (d.due_on - today).num_days(),
            fulfilled_on: d.fulfilled_on,
            missed_recorded: d.missed_recorded,
        })
        .collect();
    out.sort_by(|a, b| a.due_on.cmp(&b.due_on).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Deadlines that passed unmet and whose miss the engine has not recorded yet.
#[must_use]
pub fn unrecorded_misses(state: &CaseState, today: NaiveDate) -> Vec<&DeadlineRecord> {
    state
        .deadlines
        .values()
        .filter(|d| {
            d.fulfilled_on.is_none()
                && d.cancelled_on.is_none()
                && d.suspended_from.is_none()
                && !d.missed_recorded
                && today > d.due_on
        })
        .collect()
}

/// How a due date was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Deadline name.
    pub name: DeadlineName,
    /// The rule in words.
    pub rule: String,
    /// The rule as data.
    pub rule_data: DeadlineRule,
    /// Definition id and content hash.
    pub definition: String,
    /// Content hash of the definition.
    pub definition_hash: String,
    /// Start date.
    pub start: NaiveDate,
    /// Kind of days.
    pub kind_of_days: DayKind,
    /// Due date as recorded in the case.
    pub due_on: NaiveDate,
    /// Non-working days skipped.
    pub days_skipped: Vec<SkippedDay>,
    /// Some counted day lay beyond the calendar: only weekends were skipped for it.
    pub beyond_calendar: bool,
    /// Suspensions applied (none in the shipped definitions).
    pub suspensions: Vec<String>,
    /// Notes (e.g. the calendar changed since the due date was recorded).
    pub notes: Vec<String>,
}

/// Explains one deadline of the case with today's calendar. `None` if the case has no such
/// deadline.
#[must_use]
pub fn explain(state: &CaseState, name: &str, calendar: &Calendar) -> Option<Explanation> {
    let record = state.deadlines.get(name)?;
    let def = state.procedure()?;
    let rule = def.rule(record.kind)?.clone();
    let computed = rule.due(record.start, calendar);
    let mut notes = Vec::new();
    if computed.due_on != record.due_on {
        notes.push(format!(
            "the calendar now gives {}; the due date recorded when the deadline started ({}) stands",
            computed.due_on, record.due_on
        ));
    }
    if computed.beyond_calendar {
        notes.push(format!(
            "the count runs past the last calendar year ({}): only Saturdays and Sundays were skipped there",
            calendar.last_day().map_or_else(|| "none".to_string(), |d| d.to_string())
        ));
    }
    // The reason of a suspension is the condition the definition names for this deadline.
    let why = rule
        .suspended_while
        .iter()
        .map(|c| c.as_str().replace('_', " "))
        .collect::<Vec<_>>()
        .join(" or ");
    Some(Explanation {
        name: record.name.clone(),
        rule: rule.describe(),
        kind_of_days: rule.days,
        rule_data: rule,
        definition: def.id.clone(),
        definition_hash: def.content_hash.clone(),
        start: record.start,
        due_on: record.due_on,
        days_skipped: computed.skipped,
        beyond_calendar: computed.beyond_calendar,
        suspensions: record
            .suspensions
            .iter()
            .map(|(from, to)| {
                format!(
                    "suspended from {from} to {to} while {why} ({} days added to the due date)",
                    (*to - *from).num_days()
                )
            })
            .chain(record.suspended_from.map(|from| {
                format!("suspended since {from} while {why}: the due date moves when that ends")
            }))
            .collect(),
        notes,
    })
}
