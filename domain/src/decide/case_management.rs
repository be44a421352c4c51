//! Case management around the procedure (`procedure.md`, "Actors", "Counting days" and "Personal
//! data"): assignment, transfer between offices, notes, corrections that supersede an entry, and
//! the erasure of the person's data.

use chrono::NaiveDate;

use super::check::{Context, Problems};
use crate::error::{DomainError, FieldProblem};
use crate::event::EventBody;
use crate::types::{ErasureCategory, OfficeCode, RecordRef};

/// "Actors": the head of the unit assigns the case to an official (a change, not a repeat).
pub(super) fn assign(
    c: &Context,
    p: &mut Problems,
    assignee: &str,
) -> Result<EventBody, DomainError> {
    p.text("assignee", assignee, 200);
    p.check(
        c.state.assignee.as_deref() != Some(assignee),
        "assignee",
        FieldProblem::Unchanged,
        "already assigned to this user",
    );
    Ok(EventBody::Assigned {
        assignee: assignee.to_string(),
    })
}

/// "Actors" and "Procedure versions": the head of the unit transfers the case to another office
/// (for instance the successor of a closed one). The code was checked when it was parsed
/// ([`OfficeCode`]); whether the office exists is the office tree's, outside the domain.
pub(super) fn transfer(
    c: &Context,
    p: &mut Problems,
    to_office: &OfficeCode,
) -> Result<EventBody, DomainError> {
    p.check(
        to_office != c.office,
        "to_office",
        FieldProblem::Unchanged,
        "the case is already with this office",
    );
    Ok(EventBody::Transferred {
        from_office: c.office.clone(),
        to_office: to_office.clone(),
    })
}

/// A note; its text is personal data and stays in the vault ("Personal data").
pub(super) fn add_note(note: &RecordRef) -> Result<EventBody, DomainError> {
    Ok(EventBody::NoteAdded { note: note.clone() })
}

/// "Counting days": mistakes are corrected, never erased; a correction names the earlier entry it
/// supersedes, the field, and (in the vault) the new value and the reason. A corrected business
/// date (`field` = `occurred_on`) is not personal data: the event carries it, with the date it
/// replaces where the case knows it, and the deadlines the superseded event started, computed
/// again from the new date under the case's definition (moved by any suspension they had).
pub(super) fn correct_entry(
    c: &Context,
    p: &mut Problems,
    supersedes: u64,
    field: &str,
    corrected_on: Option<NaiveDate>,
    correction: &RecordRef,
) -> Result<EventBody, DomainError> {
    let state = c.state;
    p.check(
        supersedes >= 1 && supersedes <= state.version,
        "supersedes",
        FieldProblem::NotFound,
        "no event with this sequence number in the case",
    );
    p.text("field", field, 100);
    let mut original_on = None;
    let mut deadlines = Vec::new();
    if let Some(to) = corrected_on {
        // The registration's own date may move; any other stays on or after it.
        let not_before = (supersedes != 1)
            .then(|| state.registration.as_ref().map(|r| r.received_on))
            .flatten();
        p.date("value", to, c.today, not_before);
        if supersedes == 1 {
            if let Some(r) = state
                .registration
                .as_ref()
                .and_then(|r| r.referral.as_ref())
            {
                p.check(
                    r.referred_on <= to,
                    "value",
                    FieldProblem::Invalid,
                    "the registration cannot precede its referral",
                );
            }
        }
        original_on = state.business_date_of(supersedes);
        p.check(
            original_on != Some(to),
            "value",
            FieldProblem::Unchanged,
            "the entry already has this date",
        );
        for d in state
            .deadlines
            .values()
            .filter(|d| d.started_by == supersedes && d.cancelled_on.is_none())
        {
            let mut again = c.deadline(d.kind, d.name.clone(), to);
            let suspended: i64 = d
                .suspensions
                .iter()
                .map(|(a, b)| (*b - *a).num_days())
                .sum();
            again.due_on = crate::calendar::add_calendar_days(
                again.due_on,
                u32::try_from(suspended).unwrap_or(0),
            );
            deadlines.push(again);
        }
    }
    Ok(EventBody::EntryCorrected {
        supersedes,
        field: field.to_string(),
        correction: correction.clone(),
        corrected_on,
        original_on,
        deadlines,
    })
}

/// "Personal data": erasure at the end of retention or on a lawful request makes the person's
/// records unreadable while the history stays verifiable.
/// The category goes into the event; the free-text reason never reaches the domain (the engine
/// keeps it in the erasure ledger).
pub(super) fn erase_personal_data(category: ErasureCategory) -> Result<EventBody, DomainError> {
    Ok(EventBody::PersonalDataErased {
        category: Some(category),
    })
}
