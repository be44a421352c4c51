//! The assistance track, beside the status track (`procedure.md`, "Assistance track"): the
//! referral to the centre of social services, the needs assessment, the rehabilitation plan, the
//! services delivered, temporary accommodation and the one-time payment.

use chrono::NaiveDate;

use super::check::{Context, Problems};
use crate::error::{DomainError, FieldProblem};
use crate::event::{EventBody, PlannedService};
use crate::procedure::DeadlineKind;
use crate::types::{Need, RecordRef};

/// The referral to the centre of social services (with the consent to share with it, checked
/// before): the needs assessment's deadline starts.
pub(super) fn refer_to_social_services(
    c: &Context,
    p: &mut Problems,
    centre: &str,
) -> Result<EventBody, DomainError> {
    p.text("centre", centre, 200);
    Ok(EventBody::ReferredToSocialServices {
        centre: centre.to_string(),
        deadline: c.named(DeadlineKind::NeedsAssessment, c.on),
    })
}

/// "Needs assessment": a list of needs.
pub(super) fn record_needs_assessment(
    p: &mut Problems,
    needs: &[Need],
) -> Result<EventBody, DomainError> {
    p.check(
        !needs.is_empty(),
        "needs",
        FieldProblem::Required,
        "list at least one need",
    );
    Ok(EventBody::NeedsAssessed {
        needs: needs.to_vec(),
    })
}

/// "Rehabilitation plan": with the person's written consent; lists each service with the
/// responsible entity and its dates.
pub(super) fn approve_rehabilitation_plan(
    p: &mut Problems,
    written_consent: bool,
    services: &[PlannedService],
) -> Result<EventBody, DomainError> {
    p.check(
        written_consent,
        "written_consent",
        FieldProblem::MustBeTrue,
        "the plan needs the person's written consent",
    );
    p.check(
        !services.is_empty(),
        "services",
        FieldProblem::Required,
        "a plan lists its services",
    );
    for (i, s) in services.iter().enumerate() {
        p.text(&format!("services[{i}].provider"), &s.provider, 200);
        if let (Some(f), Some(t)) = (s.from, s.to) {
            p.check(
                f <= t,
                &format!("services[{i}].to"),
                FieldProblem::Invalid,
                "ends before it starts",
            );
        }
    }
    Ok(EventBody::RehabilitationPlanApproved {
        written_consent,
        services: services.to_vec(),
    })
}

/// "Services delivered": each with its provider and dates (from the act's date).
pub(super) fn record_service(
    c: &Context,
    p: &mut Problems,
    service: Need,
    provider: &str,
    to: Option<NaiveDate>,
) -> Result<EventBody, DomainError> {
    p.text("provider", provider, 200);
    if let Some(t) = to {
        p.check(
            t >= c.on,
            "to",
            FieldProblem::Invalid,
            "ends before it starts",
        );
    }
    Ok(EventBody::ServiceRecorded {
        service,
        provider: provider.to_string(),
        from: c.on,
        to,
    })
}

/// "Temporary accommodation": a placement for up to the definition's period (its deadline).
pub(super) fn place_in_shelter(
    c: &Context,
    p: &mut Problems,
    shelter: &str,
) -> Result<EventBody, DomainError> {
    p.text("shelter", shelter, 200);
    Ok(EventBody::PlacedInShelter {
        shelter: shelter.to_string(),
        deadline: c.named(DeadlineKind::Shelter, c.on),
    })
}

/// "Temporary accommodation": extendable, with a reason; the new period runs from the end of the
/// current one.
pub(super) fn extend_shelter(
    c: &Context,
    p: &mut Problems,
    reason: Option<&RecordRef>,
) -> Result<EventBody, DomainError> {
    p.check(
        reason.is_some(),
        "reason",
        FieldProblem::Required,
        "a stay beyond the period needs a reason",
    );
    let from = c
        .state
        .assistance
        .shelter
        .as_ref()
        .map_or(c.on, |s| s.until);
    Ok(EventBody::ShelterExtended {
        reason: reason.cloned(),
        deadline: c.named(DeadlineKind::Shelter, from),
    })
}

/// "One-time material assistance": the application starts the payment deadline.
pub(super) fn request_payment(c: &Context) -> Result<EventBody, DomainError> {
    Ok(EventBody::PaymentRequested {
        deadline: c.named(DeadlineKind::Payment, c.on),
    })
}

/// "One-time material assistance": the amount paid is recorded (not a formula), and it is a
/// payment: more than nothing.
pub(super) fn record_payment(
    p: &mut Problems,
    amount_kopiyky: u64,
) -> Result<EventBody, DomainError> {
    p.check(
        amount_kopiyky > 0,
        "amount_kopiyky",
        FieldProblem::Invalid,
        "the amount paid must be positive",
    );
    Ok(EventBody::PaymentRecorded { amount_kopiyky })
}
