//! Step 8 of the status track, the appeal against a refusal and the court's ruling
//! (`procedure.md`, "Status track" step 8).

use super::check::Context;
use crate::error::DomainError;
use crate::event::EventBody;
use crate::procedure::DeadlineKind;
use crate::types::{RecordRef, RulingOutcome};

/// Step 8: a refusal is challenged in court; the filing is recorded.
pub(super) fn record_appeal(reference: Option<&RecordRef>) -> Result<EventBody, DomainError> {
    Ok(EventBody::AppealFiled {
        reference: reference.cloned(),
    })
}

/// Step 8: the ruling. Upheld, the refusal stands and the appeal closes. Annulled (with an order
/// to decide again, or with the status established), the file goes to the deciding authority
/// competent on the day of the ruling under the transitional rule ("Procedure versions"), not
/// necessarily the one that refused; that authority records the decision and issues the
/// certificate, and the decision deadline runs from the ruling.
pub(super) fn record_court_ruling(
    c: &Context,
    outcome: RulingOutcome,
) -> Result<EventBody, DomainError> {
    let on = c.on;
    let (authority, deadlines) = match outcome {
        RulingOutcome::Upheld => (None, Vec::new()),
        RulingOutcome::AnnulledNewDecision | RulingOutcome::AnnulledStatusEstablished => (
            Some(c.authority_in_force_on(on)),
            vec![c.named(DeadlineKind::Decision, on)],
        ),
    };
    Ok(EventBody::CourtRulingRecorded {
        outcome,
        certificate_no: None,
        valid_until: None,
        deadlines,
        authority,
    })
}
