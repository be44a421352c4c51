//! Events: the facts a case's history is made of.
//!
//! Persistent contract: the aggregate's stored JSON is
//! `{"actor":{..},"occurred_on":"YYYY-MM-DD","recorded_at":"..","body":{"type":"..","data":{..}}}`.
//! Variant names (`type`) and field names are read back from every event ever stored: add optional
//! fields (`#[serde(default)]`) and new variants; never rename or remove. A breaking change gets a
//! new variant name and an upcaster in the engine.
//!
//! No personal data in clear: the registration keeps the child flag and the birth year (not the
//! date); free text is a [`RecordRef`] into the engine's encrypted vault. Derived facts (due dates)
//! are in the events, so projections and replays need no rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::deadline_name::DeadlineName;
use crate::procedure::{DeadlineKind, ProcedureDefinition};
use crate::types::{
    Actor, Citizenship, Conclusion, ConsentScope, DocumentKind, ExploitationForm, FiledBy, GivenBy,
    Need, OfficeCode, RecordRef, ReferralSource, ReplyOutcome, RulingOutcome, Sex, SkipGround,
    VerificationTarget,
};

/// One recorded fact with who recorded it, the business date it happened and when it was typed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// Who did it (the engine for its own records).
    pub actor: Actor,
    /// Business date of the fact (Europe/Kyiv).
    pub occurred_on: NaiveDate,
    /// When the engine recorded it (the command's clock reading).
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub body: EventBody,
}

/// A deadline that an event starts, with its due date computed from the case's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineStarted {
    /// `interview`, `verification_reply:<id>`, ...
    pub name: DeadlineName,
    /// The kind of obligation (the rule in the case's definition).
    pub kind: DeadlineKind,
    /// The start date.
    pub start: NaiveDate,
    /// The due date.
    pub due_on: NaiveDate,
}

/// Statistical facts about the applicant (no identifying data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantFacts {
    /// Recorded sex.
    pub sex: Sex,
    /// Year of birth (the date stays in the vault).
    pub birth_year: i32,
    /// Under 18 on the receipt date.
    pub child: bool,
    /// Citizenship kind.
    pub citizenship: Citizenship,
    /// Speaks Ukrainian or Russian.
    pub speaks_ukrainian_or_russian: bool,
    /// An interpreter helped fill in the application.
    pub interpreter_used: bool,
}

/// How the person reached the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralFacts {
    /// Referring entity kind.
    pub source: ReferralSource,
    /// Referring organisation (an institution, not a person), in the vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<RecordRef>,
    /// Referral date (the only business date that may precede registration).
    pub referred_on: NaiveDate,
}

/// A document in the personal file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFacts {
    /// Kind of document.
    pub kind: DocumentKind,
    /// Its description, in the vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<RecordRef>,
}

/// A service in a rehabilitation plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedService {
    /// The need it meets.
    pub service: Need,
    /// Responsible entity (an institution).
    pub provider: String,
    /// Planned start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Planned end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

/// Who answered for an obligation when its deadline was missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responsible {
    /// The assigned official, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The office answering for the case (or the deciding authority for a decision).
    pub office: String,
}

/// What happened. Adjacently tagged: `{"type": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventBody {
    /// The application was entered in the register.
    ApplicationRegistered {
        register_no: String,
        office: OfficeCode,
        filed_by: FiledBy,
        applicant: ApplicantFacts,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        referral: Option<ReferralFacts>,
        exploitation_forms: Vec<ExploitationForm>,
        exploitation_country: String,
        documents: Vec<DocumentFacts>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id_document_missing_reason: Option<RecordRef>,
        rights_explained: bool,
        /// The encrypted personal record (name, birth date, contacts, identity document).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person: Option<RecordRef>,
        /// The definition in force on the receipt date, copied whole: it governs the case for life.
        procedure: Box<ProcedureDefinition>,
        deadlines: Vec<DeadlineStarted>,
    },
    ConsentGiven {
        scope: ConsentScope,
        given_by: GivenBy,
    },
    ConsentWithdrawn {
        scope: ConsentScope,
        given_by: GivenBy,
    },
    InterviewRecorded {
        consent_signed_by: GivenBy,
        non_disclosure_receipt_signed: bool,
    },
    InterviewSkipped {
        ground: SkipGround,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<RecordRef>,
    },
    VerificationRequested {
        request_id: String,
        to: VerificationTarget,
        deadline: DeadlineStarted,
    },
    VerificationReplyRecorded {
        request_id: String,
        outcome: ReplyOutcome,
    },
    DocumentAttached {
        document: DocumentFacts,
    },
    FileSubmitted {
        conclusion: Conclusion,
        /// The deciding authority in force on the submission day.
        authority: String,
        /// Requests still unanswered but past their reply deadline, noted in the file.
        overdue_requests: Vec<String>,
        deadline: DeadlineStarted,
    },
    FileReturned {
        authority: String,
        /// What is missing, in the vault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        missing: Option<RecordRef>,
        missing_count: u32,
        deadline: DeadlineStarted,
    },
    StatusGranted {
        authority: String,
        certificate_no: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until: Option<NaiveDate>,
        deadlines: Vec<DeadlineStarted>,
    },
    StatusRefused {
        authority: String,
        /// The grounds, in the vault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grounds: Option<RecordRef>,
    },
    DecisionHandedOver {},
    AppealFiled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<RecordRef>,
    },
    CourtRulingRecorded {
        outcome: RulingOutcome,
        /// Only in rulings recorded before the file went back to an authority: the court's
        /// certificate number (a status established by the ruling itself).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate_no: Option<String>,
        /// Only in rulings recorded before the file went back to an authority.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until: Option<NaiveDate>,
        /// Deadlines the ruling starts (the new decision).
        #[serde(default)]
        deadlines: Vec<DeadlineStarted>,
        /// The deciding authority competent on the day of the ruling, to which an annulling
        /// ruling sends the file (`procedure.md` step 8). Absent in rulings recorded before this
        /// field existed: those sent the file back to the last authority, or (status
        /// established) recorded the court as the decider, and replay as they were.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority: Option<String>,
    },
    StatusExtended {
        valid_until: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RecordRef>,
    },
    StatusExpired {
        valid_until: NaiveDate,
    },
    ApplicationWithdrawn {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RecordRef>,
    },
    ReferredToSocialServices {
        centre: String,
        deadline: DeadlineStarted,
    },
    NeedsAssessed {
        needs: Vec<Need>,
    },
    RehabilitationPlanApproved {
        written_consent: bool,
        services: Vec<PlannedService>,
    },
    ServiceRecorded {
        service: Need,
        provider: String,
        from: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<NaiveDate>,
    },
    PlacedInShelter {
        shelter: String,
        deadline: DeadlineStarted,
    },
    ShelterExtended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RecordRef>,
        deadline: DeadlineStarted,
    },
    PaymentRequested {
        deadline: DeadlineStarted,
    },
    PaymentRecorded {
        amount_kopiyky: u64,
    },
    Assigned {
        assignee: String,
    },
    Transferred {
        from_office: OfficeCode,
        to_office: OfficeCode,
    },
    NoteAdded {
        note: RecordRef,
    },
    EntryCorrected {
        /// Sequence number (1-based) of the event this correction supersedes.
        supersedes: u64,
        /// The field corrected, in that event's `data` (or `occurred_on`).
        field: String,
        /// The new value and the reason, in the vault.
        correction: RecordRef,
    },
    PersonalDataErased {},
    DeadlineMissed {
        name: DeadlineName,
        due_on: NaiveDate,
        responsible: Responsible,
        detected_at: DateTime<Utc>,
    },
    /// The engine's record that a file pending at an authority passed to its successor on the
    /// day a new definition took the deciding role from it (`procedure.md`, "Procedure
    /// versions"); the decision deadline runs again from that day.
    FileHandedToSuccessor {
        /// The authority that no longer decides.
        from: String,
        /// The authority named by the definition in force that day.
        to: String,
        /// That definition's id.
        definition: String,
        /// The decision deadline, from the hand-over.
        deadline: DeadlineStarted,
        /// The engine's clock reading when it noticed.
        detected_at: DateTime<Utc>,
    },
}

impl EventBody {
    /// The event's `type` as stored and shown in the history.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ApplicationRegistered { .. } => "application_registered",
            Self::ConsentGiven { .. } => "consent_given",
            Self::ConsentWithdrawn { .. } => "consent_withdrawn",
            Self::InterviewRecorded { .. } => "interview_recorded",
            Self::InterviewSkipped { .. } => "interview_skipped",
            Self::VerificationRequested { .. } => "verification_requested",
            Self::VerificationReplyRecorded { .. } => "verification_reply_recorded",
            Self::DocumentAttached { .. } => "document_attached",
            Self::FileSubmitted { .. } => "file_submitted",
            Self::FileReturned { .. } => "file_returned",
            Self::StatusGranted { .. } => "status_granted",
            Self::StatusRefused { .. } => "status_refused",
            Self::DecisionHandedOver {} => "decision_handed_over",
            Self::AppealFiled { .. } => "appeal_filed",
            Self::CourtRulingRecorded { .. } => "court_ruling_recorded",
            Self::StatusExtended { .. } => "status_extended",
            Self::StatusExpired { .. } => "status_expired",
            Self::ApplicationWithdrawn { .. } => "application_withdrawn",
            Self::ReferredToSocialServices { .. } => "referred_to_social_services",
            Self::NeedsAssessed { .. } => "needs_assessed",
            Self::RehabilitationPlanApproved { .. } => "rehabilitation_plan_approved",
            Self::ServiceRecorded { .. } => "service_recorded",
            Self::PlacedInShelter { .. } => "placed_in_shelter",
            Self::ShelterExtended { .. } => "shelter_extended",
            Self::PaymentRequested { .. } => "payment_requested",
            Self::PaymentRecorded { .. } => "payment_recorded",
            Self::Assigned { .. } => "assigned",
            Self::Transferred { .. } => "transferred",
            Self::NoteAdded { .. } => "note_added",
            Self::EntryCorrected { .. } => "entry_corrected",
            Self::PersonalDataErased {} => "personal_data_erased",
            Self::DeadlineMissed { .. } => "deadline_missed",
            Self::FileHandedToSuccessor { .. } => "file_handed_to_successor",
        }
    }

    /// Every vault record this event refers to.
    #[must_use]
    pub fn record_refs(&self) -> Vec<&RecordRef> {
        let mut out: Vec<&RecordRef> = Vec::new();
        match self {
            Self::ApplicationRegistered {
                referral,
                documents,
                id_document_missing_reason,
                person,
                ..
            } => {
                out.extend(referral.as_ref().and_then(|r| r.organisation.as_ref()));
                out.extend(documents.iter().filter_map(|d| d.note.as_ref()));
                out.extend(id_document_missing_reason.as_ref());
                out.extend(person.as_ref());
            }
            Self::InterviewSkipped { reference, .. } | Self::AppealFiled { reference } => {
                out.extend(reference.as_ref())
            }
            Self::DocumentAttached { document } => out.extend(document.note.as_ref()),
            Self::FileReturned { missing, .. } => out.extend(missing.as_ref()),
            Self::StatusRefused { grounds, .. } => out.extend(grounds.as_ref()),
            Self::StatusExtended { reason, .. }
            | Self::ApplicationWithdrawn { reason }
            | Self::ShelterExtended { reason, .. } => out.extend(reason.as_ref()),
            Self::NoteAdded { note } => out.push(note),
            Self::EntryCorrected { correction, .. } => out.push(correction),
            _ => {}
        }
        out
    }
}
