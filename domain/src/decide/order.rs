//! The order of business dates (`procedure.md`, "Order of business dates"): each step's business
//! date is on or after the business date of the step it follows. This module names, for every
//! action on a registered case, the step it follows in the state and that step's date: the
//! registration when no later step bounds it.

use chrono::NaiveDate;

use crate::command::Action;
use crate::error::PriorStep;
use crate::state::{CaseState, InterviewOutcome};

/// The step `action` follows and the date it must not precede; `None` before the registration
/// (and for the registration itself).
pub(super) fn not_before(state: &CaseState, action: &Action) -> Option<(PriorStep, NaiveDate)> {
    let registration = state.registration.as_ref()?.received_on;
    if matches!(action, Action::Register(_)) {
        return None;
    }
    Some(step_before(state, action).unwrap_or((PriorStep::Registration, registration)))
}

/// The step after the registration that `action` follows, if any.
fn step_before(state: &CaseState, action: &Action) -> Option<(PriorStep, NaiveDate)> {
    use Action as A;
    use PriorStep as S;
    let interview = state.interview.as_ref().map(|i| match i {
        InterviewOutcome::Done { on, .. } | InterviewOutcome::Skipped { on, .. } => *on,
    });
    let decision = state.decision.as_ref().map(|d| d.on);
    let referral = state.assistance.referred_to.as_ref().map(|r| r.1);
    let file_received = || Some((S::FileReceived, state.held_since?));
    match action {
        // Step 4 follows the interview (and a return sends the file back to it).
        A::RequestVerification { .. } => latest([
            (S::Interview, interview),
            (S::FileReturned, state.returned_on),
        ]),
        A::RecordVerificationReply { request_id, .. } => state
            .verification_requests
            .iter()
            .find(|r| &r.request_id == request_id)
            .map(|r| (S::VerificationRequest, r.sent_on)),
        // Step 5 follows the interview and the verification (and a return).
        A::SubmitFile { .. } => {
            let mut steps = vec![
                (S::Interview, interview),
                (S::FileReturned, state.returned_on),
            ];
            for r in &state.verification_requests {
                steps.push((S::VerificationRequest, Some(r.sent_on)));
                steps.push((S::VerificationReply, r.replied_on));
            }
            latest(steps)
        }
        // Step 6 follows the file's arrival at the authority (submission, ruling, hand-over).
        A::ReturnFile { .. }
        | A::RecordDecisionGranted { .. }
        | A::RecordDecisionRefused { .. }
        | A::HandOverToSuccessor => file_received(),
        // Steps 7 and 8 follow the decision; the ruling follows the appeal.
        A::HandOverDecision | A::RecordAppeal { .. } | A::ExtendStatus { .. } => {
            decision.map(|d| (S::Decision, d))
        }
        A::RecordCourtRuling { .. } => state.appeal_filed_on.map(|d| (S::Appeal, d)),
        A::WithdrawConsent { scope, .. } => state
            .consents
            .get(scope)
            .filter(|c| c.in_force)
            .map(|c| (S::Consent, c.on)),
        // The assistance track.
        A::RecordNeedsAssessment { .. } | A::RecordService { .. } => {
            referral.map(|d| (S::SocialServicesReferral, d))
        }
        A::ApproveRehabilitationPlan { .. } => latest([
            (S::Decision, decision),
            (
                S::NeedsAssessment,
                state.assistance.needs_assessment.as_ref().map(|n| n.1),
            ),
        ]),
        A::ExtendShelter { .. } | A::EndShelterStay => state
            .assistance
            .shelter
            .as_ref()
            .map(|s| (S::ShelterPlacement, s.since)),
        A::RequestPayment => decision.map(|d| (S::Decision, d)),
        A::RecordPayment { .. } => state
            .assistance
            .payment_requested_on
            .map(|d| (S::PaymentRequest, d)),
        A::Register(_)
        | A::RecordConsent { .. }
        | A::RecordInterview { .. }
        | A::SkipInterview { .. }
        | A::AttachDocument { .. }
        | A::Withdraw { .. }
        | A::Transfer { .. }
        | A::ReferToSocialServices { .. }
        | A::PlaceInShelter { .. }
        | A::Assign { .. }
        | A::AddNote { .. }
        | A::CorrectEntry { .. }
        | A::ExplainMissingIdentityDocument { .. }
        | A::ErasePersonalData { .. }
        | A::RecordMissedDeadline { .. }
        | A::RecordStatusExpiry => None,
    }
}

/// The latest of the dated steps.
fn latest(
    steps: impl IntoIterator<Item = (PriorStep, Option<NaiveDate>)>,
) -> Option<(PriorStep, NaiveDate)> {
    steps
        .into_iter()
        .filter_map(|(s, d)| d.map(|d| (s, d)))
        .max_by_key(|(_, d)| *d)
}
