//! The assistance track, beside the status track (`procedure.md`, "Assistance track"): the
//! referral to the centre of social services, the needs assessment, the rehabilitation plan, the
//! services delivered, temporary accommodation and the one-time payment.

use chrono::NaiveDate;

use super::check::{Context, Problems};
use crate::deadline_name::DeadlineName;
use crate::error::{DomainError, FieldProblem};
use crate::event::{EventBody, PlannedService, Responsible};
use crate::procedure::DeadlineKind;
use crate::types::{Need, RecordRef};

/// The referral to the centre of social services (with the consent to share with it, checked
/// before): the needs assessment's deadline starts.
pub(super) fn refer_to_social_services(
    c: &Context,
    centre: &RecordRef,
) -> Result<EventBody, DomainError> {
    Ok(EventBody::ReferredToSocialServices {
        centre: Some(centre.clone()),
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
        p.check(
            s.provider.is_some(),
            &format!("services[{i}].provider"),
            FieldProblem::Required,
            "each service names its responsible entity",
        );
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
    provider: &RecordRef,
    to: Option<NaiveDate>,
) -> Result<EventBody, DomainError> {
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
        provider: Some(provider.clone()),
        from: c.on,
        to,
    })
}

/// "Temporary accommodation": a placement for up to the definition's period (its deadline); a
/// new placement only after the previous stay ended (`availability`).
pub(super) fn place_in_shelter(c: &Context, shelter: &RecordRef) -> Result<EventBody, DomainError> {
    Ok(EventBody::PlacedInShelter {
        shelter: Some(shelter.clone()),
        deadline: c.named(DeadlineKind::Shelter, c.on),
    })
}

/// "Temporary accommodation": extendable, with a reason; the new period runs from the end of the
/// current one. The accommodation deadline is met by an extension on or before its due date; an
/// extension after it is recorded (late is never refused), but the period it extends was missed:
/// unless the engine already recorded that, the miss is recorded first, in the same command, so
/// the new period cannot hide it.
pub(super) fn extend_shelter(
    c: &Context,
    p: &mut Problems,
    reason: Option<&RecordRef>,
) -> Result<Vec<EventBody>, DomainError> {
    p.check(
        reason.is_some(),
        "reason",
        FieldProblem::Required,
        "a stay beyond the period needs a reason",
    );
    let stay = c.state.assistance.shelter.as_ref();
    let from = stay.map_or(c.on, |s| s.until);
    let mut events = Vec::new();
    let name = DeadlineName::of(DeadlineKind::Shelter);
    if let Some(d) = c.state.deadlines.get(&name) {
        let running =
            d.fulfilled_on.is_none() && d.cancelled_on.is_none() && d.suspended_from.is_none();
        if running && !d.missed_recorded && c.on > d.due_on {
            events.push(EventBody::DeadlineMissed {
                name: d.name.clone(),
                due_on: d.due_on,
                responsible: Responsible {
                    assignee: c.state.assignee.clone(),
                    office: c.office.to_string(),
                },
                detected_at: c.cmd.recorded_at,
            });
        }
    }
    events.push(EventBody::ShelterExtended {
        reason: reason.cloned(),
        deadline: c.named(DeadlineKind::Shelter, from),
    });
    Ok(events)
}

/// "Temporary accommodation": a stay ends (the person leaves, moves on, or the term ends) on its
/// end date, not before the placement. It fulfils the accommodation deadline: met on or before
/// the due date, missed (as the engine records it) after.
pub(super) fn end_shelter_stay(c: &Context, p: &mut Problems) -> Result<EventBody, DomainError> {
    if let Some(stay) = c.state.assistance.shelter.as_ref() {
        if c.on < stay.since {
            p.add(
                "occurred_on",
                FieldProblem::Invalid,
                format!("{} is before the placement on {}", c.on, stay.since),
            );
        }
    }
    Ok(EventBody::ShelterStayEnded {})
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
