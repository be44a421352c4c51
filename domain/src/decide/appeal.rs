//! Step 8 of the status track, the appeal against a refusal and the court's ruling
//! (`procedure.md`, "Status track" step 8).

use chrono::NaiveDate;

use super::check::{Context, Problems};
use super::decision::validity;
use crate::error::{DomainError, FieldProblem};
use crate::event::EventBody;
use crate::procedure::DeadlineKind;
use crate::types::{RecordRef, RulingOutcome};

/// Step 8: a refusal is challenged in court; the filing is recorded.
pub(super) fn record_appeal(reference: Option<&RecordRef>) -> Result<EventBody, DomainError> {
    Ok(EventBody::AppealFiled {
        reference: reference.cloned(),
    })
}

/// Step 8: the ruling. Upheld, the refusal stands and the appeal closes. Annulled with an order to
/// decide again, the file goes back to a deciding authority and the decision deadline runs again.
/// Annulled with the status established, the status is granted with a certificate (and the
/// validity of step 7), and the rehabilitation plan's deadline starts; only that outcome carries a
/// certificate number and a validity.
pub(super) fn record_court_ruling(
    c: &Context,
    p: &mut Problems,
    outcome: RulingOutcome,
    certificate_no: Option<&str>,
    valid_until: Option<NaiveDate>,
) -> Result<EventBody, DomainError> {
    let on = c.on;
    let mut deadlines = Vec::new();
    let mut until = None;
    match outcome {
        RulingOutcome::AnnulledStatusEstablished => {
            match certificate_no {
                Some(n) => p.text("certificate_no", n, 64),
                None => p.add(
                    "certificate_no",
                    FieldProblem::Required,
                    "a status established by a court gets a certificate",
                ),
            }
            until = validity(c.def, on, valid_until, p);
            deadlines.push(c.named(DeadlineKind::RehabilitationPlan, on));
        }
        RulingOutcome::AnnulledNewDecision => {
            deadlines.push(c.named(DeadlineKind::Decision, on));
            only_with_a_status(p, certificate_no.is_some(), valid_until.is_some());
        }
        RulingOutcome::Upheld => {
            only_with_a_status(p, certificate_no.is_some(), valid_until.is_some());
        }
    }
    Ok(EventBody::CourtRulingRecorded {
        outcome,
        certificate_no: certificate_no.map(str::to_string),
        valid_until: until,
        deadlines,
    })
}

/// A ruling that establishes no status carries neither a certificate number nor a validity.
fn only_with_a_status(p: &mut Problems, certificate_no: bool, valid_until: bool) {
    p.check(
        !certificate_no,
        "certificate_no",
        FieldProblem::Invalid,
        "only with annulled_status_established",
    );
    p.check(
        !valid_until,
        "valid_until",
        FieldProblem::Invalid,
        "only with annulled_status_established",
    );
}
