//! [`decide`]: the rules of `procedure.md`, one module per step of the procedure.
//!
//! Order of checks: the role may do the action at all (403), the action is lawful in the case's
//! stage ([`availability`], 409 with the allowed actions), the matching consent is in force (409),
//! then the fields (422). A refused command emits nothing.
//!
//! Each action is decided by one function in the module of the step it belongs to, which cites
//! the section of `procedure.md` it enforces:
//! - [`availability`](mod@availability): the order of the steps (which actions are lawful now);
//! - `registration`: status track steps 1 and 2 (referral, application registered);
//! - `interview`: step 3 and the consents;
//! - `verification`: step 4 (requests, replies, documents);
//! - `submission`: step 5 and the return of a file from step 6;
//! - `decision`: steps 6 and 7 (grant, refusal, hand-over, validity and its extension);
//! - `appeal`: step 8 (appeal and court ruling);
//! - `withdrawal`: step 9;
//! - `assistance`: the assistance track (referral to social services, needs assessment, plan,
//!   services, shelter, payment);
//! - `case_management`: assignment, transfer, notes, corrections, erasure;
//! - `system`: the engine's own records (missed deadlines, expiry, the hand-over of pending files
//!   to a successor authority);
//! - `order`: the order of business dates (each step not before the step it follows);
//! - `check`: what the steps share (field problems, deadlines, the refusal of an unlawful act).

mod appeal;
mod assistance;
pub mod availability;
mod case_management;
mod check;
mod decision;
mod interview;
mod order;
mod registration;
mod submission;
mod system;
mod verification;
mod withdrawal;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Kyiv;

pub use availability::{allowed_actions, allowed_actions_for, availability};
pub use decision::certificate_to_issue;
pub use registration::age_on;
pub use system::successor_hand_over;

use crate::actions::ActionName;
use crate::command::{Action, Command};
use crate::error::{DomainError, FieldProblem, Unavailable};
use crate::event::{CaseEvent, EventBody};
use crate::state::CaseState;
use crate::types::{ConsentScope, VerificationTarget};
use check::{not_allowed, Context, Problems};

/// Today's date in Europe/Kyiv at instant `t`.
#[must_use]
pub fn kyiv_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Kyiv).date_naive()
}

/// Decides what a command means for the case: the events to record, or why it is refused.
///
/// # Errors
/// [`DomainError`]: the role may not act, the action is not lawful now, a consent is missing, or
/// a field is wrong. Nothing is emitted then.
pub fn decide(state: &CaseState, cmd: Command) -> Result<Vec<CaseEvent>, DomainError> {
    let name = cmd.action.name();
    let role = cmd.actor.role;
    if !name.allows(role) {
        return Err(DomainError::RoleNotAllowed { action: name, role });
    }
    if let Err(reason) = availability(state, name) {
        return Err(not_allowed(state, &cmd, reason));
    }
    // "Actors": a decision officer acts for the authority that holds the file.
    if matches!(name, ActionName::RecordDecision | ActionName::ReturnFile)
        && cmd.actor.office.as_deref() != state.submitted_to.as_deref()
    {
        let holder = state.submitted_to.clone();
        return Err(not_allowed(
            state,
            &cmd,
            Unavailable::FileWithAnotherAuthority { holder },
        ));
    }
    if let Some(scope) = required_consent(&cmd.action) {
        if !state.consent_in_force(scope) {
            return Err(DomainError::ConsentRequired {
                action: name,
                scope,
            });
        }
    }

    let today = kyiv_date(cmd.recorded_at);
    let on = cmd.occurred_on;
    let mut p = Problems::default();
    p.date("occurred_on", on, today, None);

    let bodies = match &cmd.action {
        Action::Register(reg) => {
            let body = registration::register(reg, &cmd, &mut p);
            p.finish()?;
            return Ok(vec![event(&cmd, body?)]);
        }
        _ => {
            let (Some(def), Some(office)) = (state.procedure(), state.office.as_ref()) else {
                return Err(DomainError::field(
                    "case",
                    FieldProblem::NotFound,
                    "the case is not registered",
                ));
            };
            let c = Context {
                state,
                cmd: &cmd,
                def,
                office,
                today,
                on,
            };
            decision::certificate_unique(&c, &mut p);
            act(&c, &mut p)
        }
    };
    // A wrong field outranks a refusal found while deciding the step (the date comes first).
    p.finish()?;
    // "Order of business dates": no step dated before the step it follows.
    if let Some((follows, not_before)) = order::not_before(state, &cmd.action) {
        // Checked after the fields: a date in the future is a field problem first.
        if on < not_before {
            return Err(DomainError::DateOutOfOrder {
                date: on,
                follows,
                not_before,
            });
        }
    }
    let bodies = bodies?;
    Ok(bodies.into_iter().map(|b| event(&cmd, b)).collect())
}

fn event(cmd: &Command, body: EventBody) -> CaseEvent {
    CaseEvent {
        actor: cmd.actor.clone(),
        occurred_on: cmd.occurred_on,
        recorded_at: cmd.recorded_at,
        body,
    }
}

/// The consent an action needs in force (`procedure.md`: sharing needs the matching consent; the
/// interview, verification and submission process data for the status procedure).
fn required_consent(action: &Action) -> Option<ConsentScope> {
    match action {
        Action::RecordInterview { .. } | Action::SubmitFile { .. } => {
            Some(ConsentScope::StatusProcedure)
        }
        Action::RequestVerification {
            to: VerificationTarget::NationalPolice,
        } => Some(ConsentScope::ShareWithPolice),
        Action::RequestVerification { .. } => Some(ConsentScope::StatusProcedure),
        Action::ReferToSocialServices { .. } | Action::RecordNeedsAssessment { .. } => {
            Some(ConsentScope::ShareWithSocialServices)
        }
        _ => None,
    }
}

/// The events of one action on a registered case: each action goes to its step's function.
fn act(c: &Context, p: &mut Problems) -> Result<Vec<EventBody>, DomainError> {
    use Action as A;
    let body = match &c.cmd.action {
        A::Register(_) => return Ok(Vec::new()),
        A::RecordConsent { scope, given_by } => interview::record_consent(c, p, *scope, *given_by),
        A::WithdrawConsent { scope, given_by } => {
            interview::withdraw_consent(c, p, *scope, *given_by)
        }
        A::RecordInterview {
            consent_signed_by,
            non_disclosure_receipt_signed,
        } => interview::record_interview(c, p, *consent_signed_by, *non_disclosure_receipt_signed),
        A::SkipInterview { ground, reference } => {
            interview::skip_interview(c, p, *ground, reference.as_ref())
        }
        A::RequestVerification { to } => verification::request_verification(c, *to),
        A::RecordVerificationReply {
            request_id,
            outcome,
        } => verification::record_verification_reply(c, p, request_id, *outcome),
        A::AttachDocument { kind, note } => verification::attach_document(*kind, note.as_ref()),
        A::ExplainMissingIdentityDocument { reason } => {
            verification::explain_missing_identity_document(reason)
        }
        A::SubmitFile { conclusion } => submission::submit_file(c, *conclusion),
        A::ReturnFile {
            missing,
            missing_count,
        } => submission::return_file(c, p, missing.as_ref(), *missing_count),
        A::RecordDecisionGranted {
            certificate_no,
            valid_until,
        } => decision::record_decision_granted(c, p, certificate_no, *valid_until),
        A::RecordDecisionRefused {
            grounds,
            grounds_count,
        } => decision::record_decision_refused(c, p, grounds.as_ref(), *grounds_count),
        A::HandOverDecision => decision::hand_over_decision(),
        A::RecordAppeal { reference } => appeal::record_appeal(reference.as_ref()),
        A::RecordCourtRuling { outcome } => appeal::record_court_ruling(c, *outcome),
        A::ExtendStatus {
            valid_until,
            reason,
        } => decision::extend_status(c, p, *valid_until, reason.as_ref()),
        A::Withdraw { reason } => withdrawal::withdraw(reason.as_ref()),
        A::Transfer { to_office } => case_management::transfer(c, p, to_office),
        A::ReferToSocialServices { centre } => assistance::refer_to_social_services(c, centre),
        A::RecordNeedsAssessment { needs } => assistance::record_needs_assessment(p, needs),
        A::ApproveRehabilitationPlan {
            written_consent,
            services,
        } => assistance::approve_rehabilitation_plan(p, *written_consent, services),
        A::RecordService {
            service,
            provider,
            to,
        } => assistance::record_service(c, p, *service, provider, *to),
        A::PlaceInShelter { shelter } => assistance::place_in_shelter(c, shelter),
        A::ExtendShelter { reason } => return assistance::extend_shelter(c, p, reason.as_ref()),
        A::EndShelterStay => assistance::end_shelter_stay(c, p),
        A::RequestPayment => assistance::request_payment(c),
        A::RecordPayment { amount_kopiyky } => assistance::record_payment(p, *amount_kopiyky),
        A::Assign { assignee } => case_management::assign(c, p, assignee),
        A::AddNote { note } => case_management::add_note(note),
        A::CorrectEntry {
            supersedes,
            field,
            corrected_on,
            correction,
        } => case_management::correct_entry(c, p, *supersedes, field, *corrected_on, correction),
        A::ErasePersonalData { category } => case_management::erase_personal_data(*category),
        A::RecordMissedDeadline { name } => system::record_missed_deadline(c, p, name),
        A::RecordStatusExpiry => system::record_status_expiry(c),
        A::HandOverToSuccessor => system::hand_over_to_successor(c, p),
    }?;
    Ok(vec![body])
}
