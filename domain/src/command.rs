//! Commands: what a caller asks the case to do, with every fact the decision needs.
//!
//! The domain reads no clock and no file: the engine stamps `recorded_at`, passes the rule book
//! (definitions and calendar), and replaces free text with references to the vault before the
//! command reaches [`crate::decide`].

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::actions::ActionName;
use crate::deadline_name::DeadlineName;
use crate::event::PlannedService;
use crate::procedure::RuleBook;
use crate::types::{
    Actor, Citizenship, Conclusion, ConsentScope, DocumentKind, ErasureCategory, ExploitationForm,
    FiledBy, GivenBy, Need, OfficeCode, RecordRef, ReferralSource, ReplyOutcome, RulingOutcome,
    Sex, SkipGround, VerificationTarget,
};

/// A request to the case.
#[derive(Debug, Clone)]
pub struct Command {
    /// Who asks.
    pub actor: Actor,
    /// The engine's clock reading when it accepted the command.
    pub recorded_at: DateTime<Utc>,
    /// The business date of the fact (Europe/Kyiv).
    pub occurred_on: NaiveDate,
    /// The rules: procedure definitions and the working-day calendar.
    pub rules: Arc<RuleBook>,
    /// Whether the person is a child on `occurred_on` (`procedure.md`, "Children"), worked out by
    /// the engine from the birth date held in the vault for the actions that depend on it
    /// ([`Action::needs_child_flag`]); `None` when the birth date is absent or erased, or the
    /// action does not depend on it: the registration's flag stands then. The birth date itself
    /// never reaches the domain after the registration.
    pub child: Option<bool>,
    /// What to do.
    pub action: Action,
    /// Facts the engine looked up in the store for this command (the domain reads no store).
    pub lookups: Lookups,
}

/// What the engine looked up before deciding: facts about other cases that a rule needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookups {
    /// The certificate number this command would issue (see
    /// [`crate::decide::certificate_to_issue`]) is already in the register of certificates of
    /// the same issuing authority ("Status track", step 7).
    pub certificate_no_issued: bool,
}

/// The applicant as the registration form describes them (no identifying data besides the birth
/// date, which only serves to derive the child flag and is not kept in the event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicantInput {
    /// Recorded sex.
    pub sex: Sex,
    /// Date of birth, from the person's data.
    pub birth_date: NaiveDate,
    /// Citizenship kind.
    pub citizenship: Citizenship,
    /// Country of citizenship (ISO 3166-1 alpha-2) of a foreign citizen; optional (`api.md`).
    pub citizenship_country: Option<String>,
    /// Speaks Ukrainian or Russian.
    pub speaks_ukrainian_or_russian: bool,
    /// An interpreter was used.
    pub interpreter_used: bool,
}

/// A referral recorded with the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralInput {
    /// Kind of referring entity.
    pub source: ReferralSource,
    /// Referring organisation, in the vault.
    pub organisation: Option<RecordRef>,
    /// Referral date.
    pub referred_on: NaiveDate,
}

/// Registration of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    /// Register number assigned by the engine (`<office>-<year>-<seq>`).
    pub register_no: String,
    /// The receiving office.
    pub office: OfficeCode,
    /// Who filed.
    pub filed_by: FiledBy,
    /// The applicant.
    pub applicant: ApplicantInput,
    /// The referral, if any.
    pub referral: Option<ReferralInput>,
    /// Forms of exploitation.
    pub exploitation_forms: Vec<ExploitationForm>,
    /// Country of exploitation (ISO alpha-2).
    pub exploitation_country: String,
    /// Documents received.
    pub documents: Vec<(DocumentKind, Option<RecordRef>)>,
    /// Why no identity document was presented, in the vault.
    pub id_document_missing_reason: Option<RecordRef>,
    /// The person was informed of the help available.
    pub rights_explained: bool,
    /// The encrypted personal record.
    pub person: Option<RecordRef>,
}

/// Every action, with its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Action {
    Register(Box<Register>),
    RecordConsent {
        scope: ConsentScope,
        given_by: GivenBy,
    },
    WithdrawConsent {
        scope: ConsentScope,
        given_by: GivenBy,
    },
    RecordInterview {
        consent_signed_by: GivenBy,
        non_disclosure_receipt_signed: bool,
    },
    SkipInterview {
        ground: SkipGround,
        reference: Option<RecordRef>,
    },
    RequestVerification {
        to: VerificationTarget,
    },
    RecordVerificationReply {
        request_id: String,
        outcome: ReplyOutcome,
    },
    AttachDocument {
        kind: DocumentKind,
        note: Option<RecordRef>,
    },
    /// Why no identity document is in the file, recorded after the registration (the reason
    /// stays in the vault).
    ExplainMissingIdentityDocument {
        reason: RecordRef,
    },
    SubmitFile {
        conclusion: Conclusion,
    },
    ReturnFile {
        missing: Option<RecordRef>,
        missing_count: u32,
    },
    RecordDecisionGranted {
        certificate_no: String,
        valid_until: Option<NaiveDate>,
    },
    RecordDecisionRefused {
        grounds: Option<RecordRef>,
        grounds_count: u32,
    },
    HandOverDecision,
    RecordAppeal {
        reference: Option<RecordRef>,
    },
    /// Step 8: the court's ruling. The certificate comes from the deciding authority that
    /// records the decision afterwards, never from the ruling.
    RecordCourtRuling {
        outcome: RulingOutcome,
    },
    ExtendStatus {
        valid_until: NaiveDate,
        reason: Option<RecordRef>,
    },
    Withdraw {
        reason: Option<RecordRef>,
    },
    Transfer {
        to_office: OfficeCode,
    },
    ReferToSocialServices {
        /// The centre, in the vault.
        centre: RecordRef,
    },
    RecordNeedsAssessment {
        needs: Vec<Need>,
    },
    ApproveRehabilitationPlan {
        written_consent: bool,
        services: Vec<PlannedService>,
    },
    RecordService {
        service: Need,
        /// The provider, in the vault.
        provider: RecordRef,
        to: Option<NaiveDate>,
    },
    PlaceInShelter {
        /// The shelter, in the vault (its name locates the person).
        shelter: RecordRef,
    },
    ExtendShelter {
        reason: Option<RecordRef>,
    },
    EndShelterStay,
    RequestPayment,
    RecordPayment {
        amount_kopiyky: u64,
    },
    Assign {
        assignee: String,
    },
    AddNote {
        note: RecordRef,
    },
    CorrectEntry {
        supersedes: u64,
        field: String,
        /// The corrected business date, when `field` is `occurred_on`: not personal data, so the
        /// event carries it and the deadlines counting from it are computed again.
        corrected_on: Option<NaiveDate>,
        /// The new value and the reason, in the vault.
        correction: RecordRef,
    },
    ErasePersonalData {
        category: ErasureCategory,
    },
    /// The engine's record of a deadline that passed unmet.
    RecordMissedDeadline {
        name: DeadlineName,
    },
    /// The engine's record of a status whose validity ended.
    RecordStatusExpiry,
    /// The engine's hand-over of a file pending at an authority that a new definition no longer
    /// names, dated that definition's effective date.
    HandOverToSuccessor,
}

impl Action {
    /// Whether the decision depends on the person being a child on the act's date (who signs a
    /// consent, the interview's consent, young age as a ground to skip the interview): the engine
    /// supplies [`Command::child`] for these only.
    #[must_use]
    pub fn needs_child_flag(&self) -> bool {
        matches!(
            self,
            Self::RecordConsent { .. }
                | Self::WithdrawConsent { .. }
                | Self::RecordInterview { .. }
                | Self::SkipInterview { .. }
        )
    }

    /// The action's client-facing name.
    #[must_use]
    pub fn name(&self) -> ActionName {
        use ActionName as N;
        match self {
            Self::Register(_) => N::Register,
            Self::RecordConsent { .. } => N::RecordConsent,
            Self::WithdrawConsent { .. } => N::WithdrawConsent,
            Self::RecordInterview { .. } => N::RecordInterview,
            Self::SkipInterview { .. } => N::SkipInterview,
            Self::RequestVerification { .. } => N::RequestVerification,
            Self::RecordVerificationReply { .. } => N::RecordVerificationReply,
            Self::AttachDocument { .. } => N::AttachDocument,
            Self::ExplainMissingIdentityDocument { .. } => N::ExplainMissingIdentityDocument,
            Self::SubmitFile { .. } => N::SubmitFile,
            Self::ReturnFile { .. } => N::ReturnFile,
            Self::RecordDecisionGranted { .. } | Self::RecordDecisionRefused { .. } => {
                N::RecordDecision
            }
            Self::HandOverDecision => N::HandOverDecision,
            Self::RecordAppeal { .. } => N::RecordAppeal,
            Self::RecordCourtRuling { .. } => N::RecordCourtRuling,
            Self::ExtendStatus { .. } => N::ExtendStatus,
            Self::Withdraw { .. } => N::Withdraw,
            Self::Transfer { .. } => N::Transfer,
            Self::ReferToSocialServices { .. } => N::ReferToSocialServices,
            Self::RecordNeedsAssessment { .. } => N::RecordNeedsAssessment,
            Self::ApproveRehabilitationPlan { .. } => N::ApproveRehabilitationPlan,
            Self::RecordService { .. } => N::RecordService,
            Self::PlaceInShelter { .. } => N::PlaceInShelter,
            Self::ExtendShelter { .. } => N::ExtendShelter,
            Self::EndShelterStay => N::EndShelterStay,
            Self::RequestPayment => N::RequestPayment,
            Self::RecordPayment { .. } => N::RecordPayment,
            Self::Assign { .. } => N::Assign,
            Self::AddNote { .. } => N::AddNote,
            Self::CorrectEntry { .. } => N::CorrectEntry,
            Self::ErasePersonalData { .. } => N::ErasePersonalData,
            Self::RecordMissedDeadline { .. } => N::RecordMissedDeadline,
            Self::RecordStatusExpiry => N::RecordStatusExpiry,
            Self::HandOverToSuccessor => N::HandOverToSuccessor,
        }
    }
}
