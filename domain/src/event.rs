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
//!
//! **Versions.** An event type whose data changed shape carries its version in the stored JSON
//! (`"version": 2` beside `body`; absent means 1, see [`EventBody::version`]). Reading an event
//! goes through [`upcast`], which turns every older shape into the current one, so a history
//! written before a change still replays; the stored JSON (and the hash chain over it) is never
//! rewritten. Version 2 of `referred_to_social_services`, `rehabilitation_plan_approved`,
//! `service_recorded` and `placed_in_shelter` moved the centre, the providers and the shelter
//! (typed by caseworkers, and a shelter's name locates the person) from clear text to the vault.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::deadline_name::DeadlineName;
use crate::procedure::{DeadlineKind, ProcedureDefinition};
use crate::types::{
    Actor, Citizenship, Conclusion, ConsentScope, DocumentKind, ErasureCategory, ExploitationForm,
    FiledBy, GivenBy, Need, OfficeCode, RecordRef, ReferralSource, ReplyOutcome, RulingOutcome,
    Sex, SkipGround, VerificationTarget,
};

/// One recorded fact with who recorded it, the business date it happened and when it was typed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StoredEvent", try_from = "StoredEvent")]
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
    /// Country of citizenship of a foreign citizen (ISO 3166-1 alpha-2), when recorded. Added
    /// after the first release as an optional field: earlier registrations read as `None` and
    /// serialise as before (their hashes still verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizenship_country: Option<String>,
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
    /// Responsible entity (an institution), in the vault (none in a version-1 event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<RecordRef>,
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
        /// The child flag on this act's date (`procedure.md`, "Children"); absent in events
        /// recorded before it was kept, and when the birth date was absent or erased.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<bool>,
    },
    ConsentWithdrawn {
        scope: ConsentScope,
        given_by: GivenBy,
        /// The child flag on this act's date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<bool>,
    },
    InterviewRecorded {
        consent_signed_by: GivenBy,
        non_disclosure_receipt_signed: bool,
        /// The child flag on this act's date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<bool>,
    },
    InterviewSkipped {
        ground: SkipGround,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<RecordRef>,
        /// The child flag on this act's date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<bool>,
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
    /// Why no identity document is in the file, recorded after the registration.
    IdentityDocumentAbsenceExplained {
        /// The reason, in the vault.
        reason: RecordRef,
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
    /// Version 2: the centre in the vault (version 1 had it in clear; upcast without it).
    ReferredToSocialServices {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        centre: Option<RecordRef>,
        deadline: DeadlineStarted,
    },
    NeedsAssessed {
        needs: Vec<Need>,
    },
    /// Version 2: each service's provider in the vault.
    RehabilitationPlanApproved {
        written_consent: bool,
        services: Vec<PlannedService>,
    },
    /// Version 2: the provider in the vault.
    ServiceRecorded {
        service: Need,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<RecordRef>,
        from: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<NaiveDate>,
    },
    /// Version 2: the shelter in the vault (its name locates the person).
    PlacedInShelter {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shelter: Option<RecordRef>,
        deadline: DeadlineStarted,
    },
    ShelterExtended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RecordRef>,
        deadline: DeadlineStarted,
    },
    /// The current shelter stay ended (the person left, moved on, or the term ended) on the
    /// event's business date; it fulfils the `shelter` deadline.
    ShelterStayEnded {},
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
        /// The corrected business date when `field` is `occurred_on` (not personal data:
        /// `procedure.md`, "Counting days"). Added after the first release as an optional field,
        /// so earlier `entry_corrected` events read unchanged (no upcaster needed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        corrected_on: Option<NaiveDate>,
        /// The date the superseded event carried before this correction.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_on: Option<NaiveDate>,
        /// The deadlines that count from the corrected date, computed again from it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deadlines: Vec<DeadlineStarted>,
    },
    PersonalDataErased {
        /// Why (absent in events recorded before the category existed: they read as `None`
        /// and serialise as before, so their hashes still verify).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<ErasureCategory>,
    },
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
            Self::IdentityDocumentAbsenceExplained { .. } => "identity_document_absence_explained",
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
            Self::ShelterStayEnded {} => "shelter_stay_ended",
            Self::PaymentRequested { .. } => "payment_requested",
            Self::PaymentRecorded { .. } => "payment_recorded",
            Self::Assigned { .. } => "assigned",
            Self::Transferred { .. } => "transferred",
            Self::NoteAdded { .. } => "note_added",
            Self::EntryCorrected { .. } => "entry_corrected",
            Self::PersonalDataErased { .. } => "personal_data_erased",
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
            Self::ReferredToSocialServices { centre, .. } => out.extend(centre.as_ref()),
            Self::RehabilitationPlanApproved { services, .. } => {
                out.extend(services.iter().filter_map(|s| s.provider.as_ref()));
            }
            Self::ServiceRecorded { provider, .. } => out.extend(provider.as_ref()),
            Self::PlacedInShelter { shelter, .. } => out.extend(shelter.as_ref()),
            Self::NoteAdded { note } => out.push(note),
            Self::IdentityDocumentAbsenceExplained { reason } => out.push(reason),
            Self::EntryCorrected { correction, .. } => out.push(correction),
            _ => {}
        }
        out
    }
}

impl EventBody {
    /// The version of this event type's data shape that [`CaseEvent`]s are written in now (1 for
    /// a type that never changed).
    #[must_use]
    pub fn version(&self) -> u32 {
        Self::version_of(self.type_name())
    }

    /// The current version of the event type named `type_name` (as stored).
    #[must_use]
    pub fn version_of(type_name: &str) -> u32 {
        match type_name {
            "referred_to_social_services"
            | "rehabilitation_plan_approved"
            | "service_recorded"
            | "placed_in_shelter" => 2,
            _ => 1,
        }
    }
}

/// The stored form of a [`CaseEvent`]: the envelope with the body's version (absent when 1) and
/// the body as JSON, upcast on reading.
#[derive(Serialize, Deserialize)]
struct StoredEvent {
    actor: Actor,
    occurred_on: NaiveDate,
    recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    body: serde_json::Value,
}

impl From<CaseEvent> for StoredEvent {
    fn from(e: CaseEvent) -> Self {
        let version = e.body.version();
        // An `EventBody` is plain data (strings, numbers, dates as strings): it always converts.
        let body = serde_json::to_value(&e.body).unwrap_or(serde_json::Value::Null);
        Self {
            actor: e.actor,
            occurred_on: e.occurred_on,
            recorded_at: e.recorded_at,
            version: (version > 1).then_some(version),
            body,
        }
    }
}

impl TryFrom<StoredEvent> for CaseEvent {
    type Error = String;

    fn try_from(s: StoredEvent) -> Result<Self, Self::Error> {
        let body = upcast(s.body, s.version.unwrap_or(1)).map_err(|e| e.to_string())?;
        Ok(Self {
            actor: s.actor,
            occurred_on: s.occurred_on,
            recorded_at: s.recorded_at,
            body: serde_json::from_value(body).map_err(|e| e.to_string())?,
        })
    }
}

/// Why a stored body cannot be upcast.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpcastError {
    /// The version is newer than this build knows (written by a later release).
    #[error(
        "event type {type_name:?} version {version} is newer than this build reads ({current})"
    )]
    TooNew {
        /// The stored `type`.
        type_name: String,
        /// The stored version.
        version: u32,
        /// The version this build writes.
        current: u32,
    },
}

/// The upcaster: turns a stored body (`{"type":..,"data":..}`) written in `version` of its type
/// into the current shape. Pure JSON to JSON; the stored text is not changed.
///
/// Version 1 to 2 of the assistance events: the clear-text centre, providers and shelter are
/// dropped (version 2 keeps them in the vault; a version-1 event has no vault record, so the
/// upcast event has none either and the case view shows no name for it).
///
/// # Errors
/// [`UpcastError::TooNew`] for a version this build does not know.
pub fn upcast(mut body: serde_json::Value, version: u32) -> Result<serde_json::Value, UpcastError> {
    let type_name = body
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let current = EventBody::version_of(&type_name);
    if version > current {
        return Err(UpcastError::TooNew {
            type_name,
            version,
            current,
        });
    }
    if version < 2 {
        if let Some(data) = body
            .get_mut("data")
            .and_then(serde_json::Value::as_object_mut)
        {
            match type_name.as_str() {
                "referred_to_social_services" => {
                    data.remove("centre");
                }
                "service_recorded" => {
                    data.remove("provider");
                }
                "placed_in_shelter" => {
                    data.remove("shelter");
                }
                "rehabilitation_plan_approved" => {
                    if let Some(services) = data
                        .get_mut("services")
                        .and_then(serde_json::Value::as_array_mut)
                    {
                        for s in services
                            .iter_mut()
                            .filter_map(serde_json::Value::as_object_mut)
                        {
                            s.remove("provider");
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(body)
}
