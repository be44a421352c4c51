//! Which actions are lawful in the case's stage and state (`procedure.md`, "Status track" and
//! "Assistance track": the order of the steps), and the actions a caller may do now.

use crate::actions::ActionName;
use crate::error::Unavailable;
use crate::state::CaseState;
use crate::types::{Role, Stage, Status};

/// Whether the action is lawful in the case's current stage and state (role aside); `Err` says
/// why not.
///
/// # Errors
/// The reason the action is not available now (its `Display` is the sentence the API shows).
pub fn availability(state: &CaseState, action: ActionName) -> Result<(), Unavailable> {
    use ActionName as A;
    use Unavailable as U;
    if action == A::Register {
        return if state.is_registered() {
            Err(U::AlreadyRegistered)
        } else {
            Ok(())
        };
    }
    if !state.is_registered() {
        return Err(U::NotRegistered);
    }
    let stage = state.stage();
    let status = state.status();
    if action == A::ErasePersonalData {
        return if state.erased {
            Err(U::AlreadyErased)
        } else {
            Ok(())
        };
    }
    // Step 9: a closed case is only read; the engine still records the misses it finds.
    if state.is_closed() && action != A::RecordMissedDeadline {
        return Err(U::Closed { status });
    }
    if state.erased && action.roles() != [Role::System] {
        return Err(U::Erased);
    }
    let need = |ok: bool, why: Unavailable| if ok { Ok(()) } else { Err(why) };
    let before_submission = matches!(
        stage,
        Stage::InterviewDone | Stage::Verification | Stage::Returned
    );
    match action {
        A::Register | A::ErasePersonalData => Ok(()),
        A::RecordConsent
        | A::WithdrawConsent
        | A::AttachDocument
        | A::Transfer
        | A::Assign
        | A::AddNote => Ok(()),
        A::CorrectEntry => need(state.version > 0, U::NothingToCorrect),
        // Step 3.
        A::RecordInterview | A::SkipInterview => need(stage == Stage::Registered, U::InterviewDone),
        // Step 4 / "Identity document": explained while neither a copy nor a reason is in the
        // file, before the decision.
        A::ExplainMissingIdentityDocument => need(
            status == Status::Pending
                && !matches!(stage, Stage::Submitted)
                && !state.has_identity_document()
                && !state.id_document_missing_explained,
            U::IdentityDocumentSettled,
        ),
        // Step 4.
        A::RequestVerification => need(before_submission, U::NotVerifying),
        A::RecordVerificationReply => need(
            state
                .verification_requests
                .iter()
                .any(|r| r.reply.is_none()),
            U::NoReplyAwaited,
        ),
        // Step 5.
        A::SubmitFile => need(before_submission, U::NotSubmittable),
        // Step 6.
        A::ReturnFile | A::RecordDecision => need(stage == Stage::Submitted, U::NoFileSubmitted),
        // Step 7.
        A::HandOverDecision => need(
            stage == Stage::Decided
                && state
                    .decision
                    .as_ref()
                    .is_some_and(|d| d.handed_over_on.is_none()),
            U::NoDecisionToHandOver,
        ),
        // Step 8.
        A::RecordAppeal => need(
            stage == Stage::Decided && status == Status::Refused,
            U::NotRefused,
        ),
        A::RecordCourtRuling => need(stage == Stage::Appeal, U::NoAppealPending),
        // Step 7: validity.
        A::ExtendStatus => need(
            status == Status::Granted && state.valid_until.is_some(),
            U::NotExtendable,
        ),
        // Step 9.
        A::Withdraw => need(status == Status::Pending, U::AlreadyDecided),
        // Assistance track.
        A::ReferToSocialServices => {
            need(state.assistance.referred_to.is_none(), U::AlreadyReferred)
        }
        A::RecordNeedsAssessment => need(
            state.assistance.referred_to.is_some() && state.assistance.needs_assessment.is_none(),
            U::NoAssessmentDue,
        ),
        A::ApproveRehabilitationPlan => need(
            status == Status::Granted
                && state.assistance.needs_assessment.is_some()
                && state.assistance.plan.is_none(),
            U::NoPlanDue,
        ),
        A::RecordService => need(state.assistance.referred_to.is_some(), U::NotReferred),
        A::PlaceInShelter => need(!state.in_shelter(), U::InShelter),
        A::ExtendShelter | A::EndShelterStay => need(state.in_shelter(), U::NotInShelter),
        A::RequestPayment => need(
            status == Status::Granted && state.assistance.payment_requested_on.is_none(),
            U::NoPaymentDue,
        ),
        A::RecordPayment => need(
            state.assistance.payment_requested_on.is_some() && state.assistance.payment.is_none(),
            U::NoPaymentAwaited,
        ),
        // The engine's own records.
        A::RecordMissedDeadline => Ok(()),
        A::HandOverToSuccessor => need(stage == Stage::Submitted, U::NoFileSubmitted),
        A::RecordStatusExpiry => need(
            status == Status::Granted && state.valid_until.is_some(),
            U::CannotExpire,
        ),
    }
}

/// The actions a caller in `role` may perform now (client actions only).
#[must_use]
pub fn allowed_actions(state: &CaseState, role: Role) -> Vec<ActionName> {
    ActionName::ALL
        .iter()
        .copied()
        .filter(|a| a.is_client_action() && a.allows(role) && availability(state, *a).is_ok())
        .collect()
}

/// The actions this actor may perform now: [`allowed_actions`] narrowed by office where the rules
/// name one (a decision officer acts only for the authority holding the file).
#[must_use]
pub fn allowed_actions_for(state: &CaseState, role: Role, office: Option<&str>) -> Vec<ActionName> {
    allowed_actions(state, role)
        .into_iter()
        .filter(|a| {
            !matches!(a, ActionName::RecordDecision | ActionName::ReturnFile)
                || office == state.submitted_to.as_deref()
        })
        .collect()
}
