//! Step 3 of the status track, the interview, and the person's consents it rests on
//! (`procedure.md`, "Status track" step 3; consents are a ledger, given and withdrawn by events).

use super::check::{Context, Problems};
use crate::error::{DomainError, FieldProblem};
use crate::event::EventBody;
use crate::types::{ConsentScope, GivenBy, RecordRef, SkipGround};

/// Consent is given by the person, or for a child by the legal representative ("Children": the
/// child flag on the act's date decides, so a person who turned 18 during the procedure signs
/// their own consent from their birthday); a scope in force is not given twice.
pub(super) fn record_consent(
    c: &Context,
    p: &mut Problems,
    scope: ConsentScope,
    given_by: GivenBy,
) -> Result<EventBody, DomainError> {
    if c.child() && given_by == GivenBy::Person {
        p.add(
            "given_by",
            FieldProblem::LegalRepresentativeRequired,
            "for a child the legal representative consents",
        );
    }
    p.check(
        !c.state.consent_in_force(scope),
        "scope",
        FieldProblem::AlreadyDone,
        "this consent is already in force",
    );
    Ok(EventBody::ConsentGiven {
        scope,
        given_by,
        child: c.cmd.child,
    })
}

/// A consent in force may be withdrawn; withdrawing the consent to the status procedure itself
/// is the withdrawal of the application (step 9, the `withdraw` action).
pub(super) fn withdraw_consent(
    c: &Context,
    p: &mut Problems,
    scope: ConsentScope,
    given_by: GivenBy,
) -> Result<EventBody, DomainError> {
    p.check(
        scope != ConsentScope::StatusProcedure,
        "scope",
        FieldProblem::Invalid,
        "withdrawing consent to the status procedure itself is the `withdraw` action",
    );
    p.check(
        c.state.consent_in_force(scope),
        "scope",
        FieldProblem::NotFound,
        "this consent is not in force",
    );
    Ok(EventBody::ConsentWithdrawn {
        scope,
        given_by,
        child: c.cmd.child,
    })
}

/// Step 3, the compulsory interview: the official signs a non-disclosure receipt first, and for a
/// child the legal representative signs the consent.
pub(super) fn record_interview(
    c: &Context,
    p: &mut Problems,
    consent_signed_by: GivenBy,
    non_disclosure_receipt_signed: bool,
) -> Result<EventBody, DomainError> {
    p.check(
        non_disclosure_receipt_signed,
        "non_disclosure_receipt_signed",
        FieldProblem::MustBeTrue,
        "the official signs a non-disclosure receipt before the interview",
    );
    if c.child() && consent_signed_by == GivenBy::Person {
        p.add(
            "consent_signed_by",
            FieldProblem::LegalRepresentativeRequired,
            "for a child the legal representative signs the consent",
        );
    }
    Ok(EventBody::InterviewRecorded {
        consent_signed_by,
        non_disclosure_receipt_signed,
        child: c.cmd.child,
    })
}

/// Step 3's two exceptions, each with its ground: the person was already recognised as a victim
/// (record the reference), or the interview is impossible (a mental state, or young age, which
/// only a child has).
pub(super) fn skip_interview(
    c: &Context,
    p: &mut Problems,
    ground: SkipGround,
    reference: Option<&RecordRef>,
) -> Result<EventBody, DomainError> {
    if ground == SkipGround::AlreadyRecognised {
        p.check(
            reference.is_some(),
            "reference",
            FieldProblem::Required,
            "record the reference of the recognition by law enforcement, a court or the destination country",
        );
    }
    if ground == SkipGround::ImpossibleYoungAge {
        p.check(
            c.child(),
            "ground",
            FieldProblem::Invalid,
            "young age applies only to a child",
        );
    }
    Ok(EventBody::InterviewSkipped {
        ground,
        reference: reference.cloned(),
        child: c.cmd.child,
    })
}
