//! The engine's own records (`procedure.md`, "Deadlines" and "Status track" step 7): a deadline
//! that passed unmet, and a status whose validity ended.

use super::check::{Context, Problems};
use crate::deadline_name::DeadlineName;
use crate::error::{DomainError, FieldProblem, Unavailable};
use crate::event::{EventBody, Responsible};
use crate::procedure::DeadlineKind;

/// "Deadlines": a missed deadline is itself recorded in the case history, with who should have
/// acted (the assignee and the office, or the deciding authority for a decision) and when it fell
/// due; once, after the due date, and only for a deadline still running. Late is recorded, never
/// refused.
pub(super) fn record_missed_deadline(
    c: &Context,
    p: &mut Problems,
    name: &DeadlineName,
) -> Result<EventBody, DomainError> {
    let state = c.state;
    let Some(d) = state.deadlines.get(name) else {
        return Err(DomainError::field(
            "name",
            FieldProblem::NotFound,
            "no such deadline in this case",
        ));
    };
    if d.fulfilled_on.is_some()
        || d.cancelled_on.is_some()
        || d.suspended_from.is_some()
        || d.missed_recorded
        || c.today <= d.due_on
    {
        return Err(c.not_allowed(Unavailable::NotAnUnrecordedMiss { name: name.clone() }));
    }
    p.check(
        c.on > d.due_on,
        "occurred_on",
        FieldProblem::Invalid,
        "a miss happens after the due date",
    );
    let office = match d.kind {
        DeadlineKind::Decision => state
            .submitted_to
            .clone()
            .unwrap_or_else(|| c.office.to_string()),
        _ => c.office.to_string(),
    };
    Ok(EventBody::DeadlineMissed {
        name: name.clone(),
        due_on: d.due_on,
        responsible: Responsible {
            assignee: state.assignee.clone(),
            office,
        },
        detected_at: c.cmd.recorded_at,
    })
}

/// Step 7: a status with a validity expires once the validity has ended.
pub(super) fn record_status_expiry(c: &Context) -> Result<EventBody, DomainError> {
    let until = c.state.valid_until.unwrap_or(c.on);
    if c.today <= until {
        return Err(c.not_allowed(Unavailable::StillValid { valid_until: until }));
    }
    Ok(EventBody::StatusExpired { valid_until: until })
}
