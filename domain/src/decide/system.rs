//! The engine's own records (`procedure.md`, "Deadlines", "Status track" step 7 and "Procedure
//! versions"): a deadline that passed unmet, a status whose validity ended, and a pending file
//! handed to the successor of an authority that no longer decides.

use std::sync::Arc;

use chrono::NaiveDate;

use super::check::{Context, Problems};
use crate::deadline_name::DeadlineName;
use crate::error::{DomainError, FieldProblem, Unavailable};
use crate::event::{EventBody, Responsible};
use crate::procedure::{DeadlineKind, ProcedureDefinition, RuleBook};
use crate::state::CaseState;
use crate::types::Stage;

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

/// "Procedure versions": the definition whose effective date hands a file pending at an
/// authority to its successor, by `today`: the first definition that took effect after the
/// holder received the file, on or before `today`, naming another deciding authority. `None`
/// when no file is pending at an authority, or its holder still decides. The engine's clock asks
/// this of the pending files; [`decide`](crate::decide) asks it again before recording, so the
/// hand-over is recorded once whoever asks and however often.
#[must_use]
pub fn successor_hand_over<'a>(
    state: &CaseState,
    rules: &'a RuleBook,
    today: NaiveDate,
) -> Option<&'a Arc<ProcedureDefinition>> {
    if state.is_closed() || state.stage() != Stage::Submitted {
        return None;
    }
    let holder = state.submitted_to.as_deref()?;
    let since = state.held_since?;
    rules.definitions().iter().find(|d| {
        d.effective_from > since && d.effective_from <= today && d.deciding_authority != holder
    })
}

/// "Procedure versions": a file pending at an authority whose role a new definition took away
/// passes to the definition's authority on its effective date (the business date of the
/// record, whatever day the engine noticed), and the decision deadline runs from that day.
pub(super) fn hand_over_to_successor(
    c: &Context,
    p: &mut Problems,
) -> Result<EventBody, DomainError> {
    let Some(def) = successor_hand_over(c.state, &c.cmd.rules, c.today) else {
        return Err(c.not_allowed(Unavailable::NoSuccessorHandOver));
    };
    if c.on != def.effective_from {
        p.add(
            "occurred_on",
            FieldProblem::Invalid,
            format!(
                "the file passes to {} on {}",
                def.deciding_authority, def.effective_from
            ),
        );
    }
    Ok(EventBody::FileHandedToSuccessor {
        from: c.state.submitted_to.clone().unwrap_or_default(),
        to: def.deciding_authority.clone(),
        definition: def.id.clone(),
        deadline: c.named(DeadlineKind::Decision, def.effective_from),
        detected_at: c.cmd.recorded_at,
    })
}
