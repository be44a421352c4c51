//! Steps 6 and 7 of the status track, the decision and the certificate (`procedure.md`, "Status
//! track" steps 6 and 7): a grant with its certificate and validity, a refusal with its grounds,
//! the hand-over to the person, and the extension of a limited validity.

use chrono::NaiveDate;

use super::check::{Context, Problems};
use crate::command::{Action, Command};
use crate::error::{DomainError, FieldProblem, Unavailable};
use crate::event::EventBody;
use crate::procedure::{DeadlineKind, Period, ProcedureDefinition, Unit};
use crate::state::CaseState;
use crate::types::RecordRef;

/// Step 6 and 7: the status established by the authority holding the file; a certificate is
/// issued (its number recorded) and the rehabilitation plan's deadline starts ("Assistance
/// track").
pub(super) fn record_decision_granted(
    c: &Context,
    p: &mut Problems,
    certificate_no: &str,
    valid_until: Option<NaiveDate>,
) -> Result<EventBody, DomainError> {
    p.text("certificate_no", certificate_no, 64);
    let valid_until = validity(c.def, c.on, valid_until, p);
    Ok(EventBody::StatusGranted {
        authority: c.state.submitted_to.clone().unwrap_or_default(),
        certificate_no: certificate_no.to_string(),
        valid_until,
        deadlines: vec![c.named(DeadlineKind::RehabilitationPlan, c.on)],
    })
}

/// Step 7: the certificate a command would issue, as (issuing authority, number): the engine
/// looks the pair up in the register of certificates and tells the domain through
/// [`crate::command::Lookups::certificate_no_issued`]. A grant issues it at the authority that
/// holds the file.
#[must_use]
pub fn certificate_to_issue(state: &CaseState, cmd: &Command) -> Option<(String, String)> {
    match &cmd.action {
        Action::RecordDecisionGranted { certificate_no, .. } => Some((
            state.submitted_to.clone().unwrap_or_default(),
            certificate_no.clone(),
        )),
        _ => None,
    }
}

/// Step 7: a certificate number is unique per issuing authority (the certificate register):
/// a number the engine found already issued is refused.
pub(super) fn certificate_unique(c: &Context, p: &mut Problems) {
    if let (true, Some((authority, number))) = (
        c.cmd.lookups.certificate_no_issued,
        certificate_to_issue(c.state, c.cmd),
    ) {
        p.add(
            "certificate_no",
            FieldProblem::DuplicateCertificate,
            format!("certificate {number} was already issued by {authority}"),
        );
    }
}

/// Step 6: a refusal states its grounds (it can be appealed, step 8). After a court established
/// the status (step 8), the authority grants it: it may not refuse again.
pub(super) fn record_decision_refused(
    c: &Context,
    p: &mut Problems,
    grounds: Option<&RecordRef>,
    grounds_count: u32,
) -> Result<EventBody, DomainError> {
    if c.state.status_ordered_by_court {
        return Err(c.not_allowed(Unavailable::StatusOrderedByCourt));
    }
    p.check(
        grounds_count > 0,
        "grounds",
        FieldProblem::Required,
        "a refusal states its grounds",
    );
    Ok(EventBody::StatusRefused {
        authority: c.state.submitted_to.clone().unwrap_or_default(),
        grounds: grounds.cloned(),
    })
}

/// Step 7: the local administration hands the decision to the person (the date is recorded).
pub(super) fn hand_over_decision() -> Result<EventBody, DomainError> {
    Ok(EventBody::DecisionHandedOver {})
}

/// Step 7: a limited validity is extended on a reasoned submission, past the current end and no
/// further than the definition allows.
pub(super) fn extend_status(
    c: &Context,
    p: &mut Problems,
    valid_until: NaiveDate,
    reason: Option<&RecordRef>,
) -> Result<EventBody, DomainError> {
    let current = c.state.valid_until.unwrap_or(c.on);
    p.check(
        valid_until > current,
        "valid_until",
        FieldProblem::Invalid,
        "the extension must end after the current validity",
    );
    if let Some(max) = c.def.status_extension_max {
        let limit = add_period(current, max);
        if valid_until > limit {
            p.add(
                "valid_until",
                FieldProblem::Invalid,
                format!("an extension may run at most to {limit}"),
            );
        }
    }
    p.check(
        reason.is_some(),
        "reason",
        FieldProblem::Required,
        "an extension is a reasoned submission",
    );
    Ok(EventBody::StatusExtended {
        valid_until,
        reason: reason.cloned(),
    })
}

/// `d` moved forward by a period of the definition ("Counting days").
pub(super) fn add_period(d: NaiveDate, p: Period) -> NaiveDate {
    match p.unit {
        Unit::Days => crate::calendar::add_calendar_days(d, p.length),
        Unit::Months => crate::calendar::add_months(d, p.length),
    }
}

/// Step 7: the validity end of a status granted on `on`: the definition's validity, or an earlier
/// date the decision names; none for an unlimited status.
pub(super) fn validity(
    def: &ProcedureDefinition,
    on: NaiveDate,
    asked: Option<NaiveDate>,
    p: &mut Problems,
) -> Option<NaiveDate> {
    match (def.status_validity, asked) {
        (None, None) => None,
        (None, Some(_)) => {
            p.add(
                "valid_until",
                FieldProblem::Invalid,
                format!("under {} the status is unlimited", def.id),
            );
            None
        }
        (Some(period), None) => Some(add_period(on, period)),
        (Some(period), Some(v)) => {
            let max = add_period(on, period);
            if v <= on || v > max {
                p.add(
                    "valid_until",
                    FieldProblem::Invalid,
                    format!("must fall after {on} and on or before {max}"),
                );
            }
            Some(v)
        }
    }
}
