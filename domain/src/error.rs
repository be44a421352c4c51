//! The one error a command can be refused with. Variants are compared in tests (`PartialEq`), and
//! the API maps each to its status: `RoleNotAllowed` 403, `ActionNotAllowed` and
//! `ConsentRequired` 409, `Validation` and `DateOutOfOrder` 422. [`Unavailable`] says why an action is not lawful now;
//! its text is what the API shows.

use chrono::NaiveDate;

use crate::actions::ActionName;
use crate::deadline_name::DeadlineName;
use crate::types::{coded_enum, ConsentScope, Role, Stage, Status};

coded_enum! {
    /// The step an act follows, whose business date it must not precede (`procedure.md`, "Order
    /// of business dates"). The spelling is the API's `follows`.
    PriorStep {
        /// The registration of the application (every act but the referral follows it).
        Registration => "registration",
        /// The interview, or its lawful skip.
        Interview => "interview",
        /// The verification request a reply answers (or any request, for the submission).
        VerificationRequest => "verification_request",
        /// A verification reply (for the submission).
        VerificationReply => "verification_reply",
        /// The return of the file for completion.
        FileReturned => "file_returned",
        /// The file reaching the authority holding it: submission, court ruling or hand-over.
        FileReceived => "file_received",
        /// The decision.
        Decision => "decision",
        /// The appeal a ruling decides.
        Appeal => "appeal",
        /// The consent a withdrawal withdraws.
        Consent => "consent",
        /// The referral to the centre of social services.
        SocialServicesReferral => "social_services_referral",
        /// The needs assessment.
        NeedsAssessment => "needs_assessment",
        /// The shelter placement an extension extends.
        ShelterPlacement => "shelter_placement",
        /// The payment application.
        PaymentRequest => "payment_request",
    }
}

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldProblem {
    /// A business date later than today in Kyiv.
    InFuture,
    /// A business date before the case's registration. No longer emitted: an act dated before
    /// the registration is [`DomainError::DateOutOfOrder`] with [`PriorStep::Registration`]
    /// (same API code); kept so the code stays reserved.
    BeforeRegistration,
    /// A value that must be present.
    Required,
    /// A flag the law requires to be true.
    MustBeTrue,
    /// A value outside its allowed set or shape.
    Invalid,
    /// A child may not file alone.
    ChildFilingAlone,
    /// A foreigner speaking neither Ukrainian nor Russian needs an interpreter.
    InterpreterRequired,
    /// For a child, the legal representative signs.
    LegalRepresentativeRequired,
    /// The referenced thing does not exist in this case.
    NotFound,
    /// The thing was already done.
    AlreadyDone,
    /// A value that would not change anything.
    Unchanged,
    /// A certificate number already issued by the same authority.
    DuplicateCertificate,
}

impl FieldProblem {
    /// Stable snake_case code (the API's `code` when this is the only problem).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::InFuture => "date_in_future",
            Self::BeforeRegistration => "date_before_registration",
            Self::Required => "required",
            Self::MustBeTrue => "must_be_true",
            Self::Invalid => "invalid_value",
            Self::ChildFilingAlone => "child_filing_alone",
            Self::InterpreterRequired => "interpreter_required",
            Self::LegalRepresentativeRequired => "legal_representative_required",
            Self::NotFound => "not_found",
            Self::AlreadyDone => "already_done",
            Self::Unchanged => "unchanged",
            Self::DuplicateCertificate => "duplicate_certificate_no",
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field (`occurred_on`, `applicant.interpreter_used`).
    pub field: String,
    /// What is wrong.
    pub problem: FieldProblem,
    /// A sentence for people.
    pub message: String,
}

/// Why an action is not lawful in the case's current stage or state (`procedure.md`, status and
/// assistance tracks). A value, so that callers can tell the reasons apart; `Display` is the one
/// sentence the API shows as the problem's `detail` (a contract with its clients: keep the texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// `register` on a case that exists.
    #[error("the application is already registered")]
    AlreadyRegistered,
    /// Any other action before the registration.
    #[error("the application is not registered")]
    NotRegistered,
    /// `erase-personal-data` twice.
    #[error("the personal data is already erased")]
    AlreadyErased,
    /// The case was withdrawn or the status expired (step 9): reading only.
    #[error("the case is closed ({status}): it may only be read")]
    Closed {
        /// The status it closed with.
        status: Status,
    },
    /// After the erasure only the engine's own records follow.
    #[error("the personal data was erased: the case may only be read")]
    Erased,
    /// `correct-entry` with no entry.
    #[error("there is nothing to correct")]
    NothingToCorrect,
    /// Step 3 happens once.
    #[error("the interview step is already done")]
    InterviewDone,
    /// Step 4 lies between the interview and the submission.
    #[error("verification requests follow the interview and precede submission")]
    NotVerifying,
    /// A reply needs a request without one.
    #[error("no verification request awaits a reply")]
    NoReplyAwaited,
    /// Step 5 follows the interview and precedes the decision.
    #[error("the file can be submitted only after the interview and before a decision")]
    NotSubmittable,
    /// Step 6 needs the file at the deciding authority.
    #[error("no file is with the deciding authority")]
    NoFileSubmitted,
    /// Step 6 is for the officers of the authority holding the file.
    #[error("the file is with {}: only its officers decide", .holder.as_deref().unwrap_or("no authority"))]
    FileWithAnotherAuthority {
        /// The authority holding the file, if any.
        holder: Option<String>,
    },
    /// Step 7's hand-over needs a decision not yet handed over.
    #[error("there is no decision waiting to be handed over")]
    NoDecisionToHandOver,
    /// Step 8: only a refusal is appealed.
    #[error("only a refusal can be appealed")]
    NotRefused,
    /// Step 8: a ruling needs an appeal.
    #[error("no appeal is pending")]
    NoAppealPending,
    /// Step 7: only a limited validity is extended.
    #[error("only a granted status with a limited validity can be extended")]
    NotExtendable,
    /// Step 9: withdrawal precedes the decision.
    #[error("the application can be withdrawn only before the decision")]
    AlreadyDecided,
    /// The referral to social services happens once.
    #[error("the person is already referred to social services")]
    AlreadyReferred,
    /// The needs assessment follows the referral, once.
    #[error("a needs assessment follows the referral to social services, once")]
    NoAssessmentDue,
    /// The plan follows the status and the needs assessment, once.
    #[error("a rehabilitation plan needs a granted status and a needs assessment")]
    NoPlanDue,
    /// Services follow the referral.
    #[error("services follow the referral to social services")]
    NotReferred,
    /// One shelter stay at a time: a new placement after the previous stay ended.
    #[error("the person is already in a shelter (end the current stay first)")]
    InShelter,
    /// An extension needs a stay.
    #[error("the person is not in a shelter")]
    NotInShelter,
    /// The payment application: once, with a granted status.
    #[error("the one-time payment is requested once, with a granted status")]
    NoPaymentDue,
    /// A payment needs an application not yet paid.
    #[error("no payment application awaits payment")]
    NoPaymentAwaited,
    /// Expiry needs a granted status with a validity.
    #[error("only a granted status with a validity can expire")]
    CannotExpire,
    /// Step 5: the identity document or the reason it is missing.
    #[error("the file needs a copy of an identity document or the reason it is missing")]
    IdentityDocumentMissing,
    /// "Identity document": the absence is explained once, while no copy is in the file and
    /// before the file goes to the deciding authority.
    #[error("the file already holds a copy of an identity document or the reason it is missing, or is no longer being prepared")]
    IdentityDocumentSettled,
    /// Step 5: a request still within its reply deadline holds the file back.
    #[error("verification request {request_id} awaits its reply until {due_on}")]
    ReplyAwaited {
        /// The request.
        request_id: String,
        /// Its reply deadline.
        due_on: NaiveDate,
    },
    /// The engine records a miss only of a deadline that passed unmet and unrecorded.
    #[error("deadline {name} is not an unrecorded miss")]
    NotAnUnrecordedMiss {
        /// The deadline.
        name: DeadlineName,
    },
    /// Step 8: a court annulled the refusal and established the status; the authority records
    /// the grant and issues the certificate.
    #[error("a court established the status: the authority records the grant and issues the certificate")]
    StatusOrderedByCourt,
    /// The engine hands a file to a successor only when a definition took its holder's role.
    #[error(
        "no definition in force has taken the deciding role from the authority holding the file"
    )]
    NoSuccessorHandOver,
    /// The engine records an expiry only after the validity ends.
    #[error("the status is valid until {valid_until}")]
    StillValid {
        /// The end of the validity.
        valid_until: NaiveDate,
    },
}

/// A command the case refuses. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The role may never perform this action.
    #[error("the role {role} may not {action}")]
    RoleNotAllowed {
        /// The action.
        action: ActionName,
        /// The caller's role.
        role: Role,
    },
    /// The action is not lawful in the case's current stage or state.
    #[error("{action} is not allowed now (stage {stage}): {reason}")]
    ActionNotAllowed {
        /// The action.
        action: ActionName,
        /// The case's stage.
        stage: Stage,
        /// Why, in one sentence.
        reason: Unavailable,
        /// What the caller may do instead.
        allowed: Vec<ActionName>,
    },
    /// The action shares data or processes it, and the matching consent is not in force.
    #[error("{action} needs the person's consent `{scope}` in force")]
    ConsentRequired {
        /// The action.
        action: ActionName,
        /// The missing consent.
        scope: ConsentScope,
    },
    /// The business date precedes the step the act follows (`procedure.md`, "Order of business
    /// dates"): 422 `date_out_of_order` with the date it must not precede.
    #[error("occurred_on {date} is before the {follows} on {not_before}: it must not precede {not_before}")]
    DateOutOfOrder {
        /// The act's business date.
        date: NaiveDate,
        /// The step it follows.
        follows: PriorStep,
        /// That step's business date.
        not_before: NaiveDate,
    },
    /// One or more fields are wrong.
    #[error("invalid fields: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
}

impl DomainError {
    /// A validation error about one field.
    #[must_use]
    pub fn field(field: &str, problem: FieldProblem, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            problem,
            message: message.into(),
        }])
    }

    /// The field problems, when this is a validation error.
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        match self {
            Self::Validation(v) => v.iter().map(|e| e.problem).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reasons_read_as_the_sentences_the_api_shows() {
        assert_eq!(
            Unavailable::Closed {
                status: Status::Withdrawn
            }
            .to_string(),
            "the case is closed (withdrawn): it may only be read"
        );
        assert_eq!(
            Unavailable::FileWithAnotherAuthority { holder: None }.to_string(),
            "the file is with no authority: only its officers decide"
        );
        assert_eq!(
            Unavailable::FileWithAnotherAuthority {
                holder: Some("UA-NSS".into())
            }
            .to_string(),
            "the file is with UA-NSS: only its officers decide"
        );
        let e = DomainError::ActionNotAllowed {
            action: ActionName::SubmitFile,
            stage: Stage::Registered,
            reason: Unavailable::NotSubmittable,
            allowed: Vec::new(),
        };
        assert_eq!(
            e.to_string(),
            "submit-file is not allowed now (stage registered): the file can be submitted only after the interview and before a decision"
        );
    }
}
