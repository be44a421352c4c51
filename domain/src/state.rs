//! The state of a case, folded from its events by [`evolve`].
//!
//! `evolve` never fails and never reads anything but the event: every derived fact (a due date,
//! the deciding authority) is already in the event, so a replay years later gives the same state
//! whatever the rule files say by then.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::deadline_name::DeadlineName;
use crate::event::{
    ApplicantFacts, CaseEvent, DeadlineStarted, EventBody, PlannedService, ReferralFacts,
};
use crate::procedure::{DeadlineKind, ProcedureDefinition, SuspendCondition};
use crate::types::{
    Conclusion, ConsentScope, DocumentKind, ExploitationForm, FiledBy, GivenBy, Need, OfficeCode,
    ReplyOutcome, SkipGround, Stage, Status, VerificationTarget,
};

/// A consent scope as it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEntry {
    /// In force now.
    pub in_force: bool,
    /// Who signed the last entry.
    pub given_by: GivenBy,
    /// Date of the last entry.
    pub on: NaiveDate,
}

/// How the interview step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InterviewOutcome {
    /// Held.
    Done {
        /// Date held.
        on: NaiveDate,
        /// Who signed the consent.
        consent_signed_by: GivenBy,
    },
    /// Lawfully skipped.
    Skipped {
        /// Date recorded.
        on: NaiveDate,
        /// The ground.
        ground: SkipGround,
    },
}

/// A verification request and its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRequest {
    /// Id within the case (`vr-1`, ...).
    pub request_id: String,
    /// Addressee.
    pub to: VerificationTarget,
    /// Date sent.
    pub sent_on: NaiveDate,
    /// Reply deadline.
    pub due_on: NaiveDate,
    /// The reply, if recorded.
    pub reply: Option<ReplyOutcome>,
    /// Date of the reply.
    pub replied_on: Option<NaiveDate>,
    /// Sequence of the event that sent it (a correction of its date names it).
    #[serde(default)]
    pub sequence: u64,
}

/// The decision on the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionFacts {
    /// Granted or refused (a court ruling may change it).
    pub granted: bool,
    /// Date of the decision.
    pub on: NaiveDate,
    /// The deciding authority (`court` only in rulings recorded before a court ruling sent the
    /// file back to an authority).
    pub authority: String,
    /// Certificate number on a grant.
    pub certificate_no: Option<String>,
    /// Hand-over date.
    pub handed_over_on: Option<NaiveDate>,
}

/// Temporary accommodation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShelterStay {
    /// Shelter (institution), in the vault (none for a version-1 event).
    pub shelter: Option<crate::types::RecordRef>,
    /// Placement date.
    pub since: NaiveDate,
    /// End of the current period.
    pub until: NaiveDate,
    /// Number of extensions.
    pub extensions: u32,
    /// The date the stay ended (none while the person is in the shelter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<NaiveDate>,
}

/// A service delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredService {
    /// The need met.
    pub service: Need,
    /// Provider, in the vault (none for a version-1 event).
    pub provider: Option<crate::types::RecordRef>,
    /// From.
    pub from: NaiveDate,
    /// To.
    pub to: Option<NaiveDate>,
}

/// The assistance track (beside the status track).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assistance {
    /// Centre of social services (in the vault; none for a version-1 event) and referral date.
    pub referred_to: Option<(Option<crate::types::RecordRef>, NaiveDate)>,
    /// Needs and assessment date.
    pub needs_assessment: Option<(Vec<Need>, NaiveDate)>,
    /// Plan and approval date.
    pub plan: Option<(Vec<PlannedService>, NaiveDate)>,
    /// Services delivered.
    pub services: Vec<DeliveredService>,
    /// Current or last shelter stay.
    pub shelter: Option<ShelterStay>,
    /// Payment application date.
    pub payment_requested_on: Option<NaiveDate>,
    /// Amount paid (kopiyky) and date.
    pub payment: Option<(u64, NaiveDate)>,
}

/// One deadline instance as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineRecord {
    /// Name (`interview`, `verification_reply:vr-1`, ...).
    pub name: DeadlineName,
    /// Rule kind.
    pub kind: DeadlineKind,
    /// Start date.
    pub start: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// Date the obligation was fulfilled.
    pub fulfilled_on: Option<NaiveDate>,
    /// Date it stopped running because the case closed.
    pub cancelled_on: Option<NaiveDate>,
    /// The engine recorded it as missed.
    pub missed_recorded: bool,
    /// Business date of the `deadline_missed` event that recorded the miss (escalation counts
    /// from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed_on: Option<NaiveDate>,
    /// Since when the deadline is suspended (its definition names a condition that holds now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_from: Option<NaiveDate>,
    /// Finished suspensions: (from, to); the due date moved by their length in calendar days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspensions: Vec<(NaiveDate, NaiveDate)>,
    /// Sequence of the event that started this instance (a correction of that event's date
    /// computes the deadline again).
    #[serde(default)]
    pub started_by: u64,
    /// Sequence of the event that fulfilled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_by: Option<u64>,
}

/// A correction recorded against an earlier event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionEntry {
    /// Sequence of the corrected event.
    pub supersedes: u64,
    /// Field corrected.
    pub field: String,
    /// Sequence of the correction itself.
    pub sequence: u64,
    /// Business date of the correction.
    #[serde(default)]
    pub on: Option<NaiveDate>,
    /// The date before the correction, when a business date was corrected and known.
    #[serde(default)]
    pub original_on: Option<NaiveDate>,
    /// The corrected business date.
    #[serde(default)]
    pub corrected_on: Option<NaiveDate>,
    /// The new value and the reason, in the vault.
    #[serde(default)]
    pub correction: Option<crate::types::RecordRef>,
}

/// Facts fixed at registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Register number.
    pub register_no: String,
    /// Receipt date.
    pub received_on: NaiveDate,
    /// Who filed.
    pub filed_by: FiledBy,
    /// Applicant facts.
    pub applicant: ApplicantFacts,
    /// Referral.
    pub referral: Option<ReferralFacts>,
    /// Forms of exploitation.
    pub exploitation_forms: Vec<ExploitationForm>,
    /// Country of exploitation.
    pub exploitation_country: String,
    /// The governing definition (the case's own copy, from its first event).
    #[serde(with = "shared_definition")]
    pub procedure: Arc<ProcedureDefinition>,
    /// Recorded time of the registration.
    pub recorded_at: DateTime<Utc>,
    /// The encrypted personal record (name, birth date, contacts, identity document).
    pub person: Option<crate::types::RecordRef>,
}

/// The form of a serialised [`CaseState`] (engine snapshots). Bump the leading number whenever
/// `CaseState` or [`evolve`] changes what a stream folds to: a snapshot of another form is
/// ignored and the stream replayed. The crate version is part of it, so a release never trusts
/// snapshots taken by another.
pub const STATE_FORMAT: &str = concat!("case-state/3/", env!("CARGO_PKG_VERSION"));

/// Serde for the shared definition (serde's `rc` feature is not enabled workspace-wide).
mod shared_definition {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::procedure::ProcedureDefinition;

    pub fn serialize<S: Serializer>(
        def: &Arc<ProcedureDefinition>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        def.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<ProcedureDefinition>, D::Error> {
        ProcedureDefinition::deserialize(d).map(Arc::new)
    }
}

/// The whole state of one case. It serialises whole (the definition included), so that the
/// engine can keep snapshots and restore them exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseState {
    /// `None` until the application is registered.
    pub registration: Option<Registration>,
    /// Number of events applied.
    pub version: u64,
    /// Status-track stage.
    pub stage: Option<Stage>,
    /// Status.
    pub status: Option<Status>,
    /// Responsible office now (changes on transfer); `None` until the application is registered.
    pub office: Option<OfficeCode>,
    /// Assigned official.
    pub assignee: Option<String>,
    /// Consents by scope.
    pub consents: BTreeMap<ConsentScope, ConsentEntry>,
    /// Interview step.
    pub interview: Option<InterviewOutcome>,
    /// Verification requests in order.
    pub verification_requests: Vec<VerificationRequest>,
    /// Documents in the personal file.
    pub documents: Vec<DocumentKind>,
    /// The absence of an identity document is explained.
    pub id_document_missing_explained: bool,
    /// The authority the file is with now (while submitted).
    pub submitted_to: Option<String>,
    /// Since when that authority holds the file: the submission, the court ruling that sent it
    /// there, or the hand-over to a successor (its decision follows this date).
    #[serde(default)]
    pub held_since: Option<NaiveDate>,
    /// Every authority that ever held the file: submitted to it, sent to it by a court ruling,
    /// or handed to it as successor (the scope of a deciding authority, `api.md`). The name is
    /// older than the last two ways.
    pub ever_submitted_to: Vec<String>,
    /// Last submission date and conclusion.
    pub submission: Option<(NaiveDate, Conclusion)>,
    /// Sequence of the last submission's event (a correction of its date names it).
    #[serde(default)]
    pub submission_sequence: Option<u64>,
    /// Times the file was returned.
    pub returns: u32,
    /// Date of the last return of the file.
    #[serde(default)]
    pub returned_on: Option<NaiveDate>,
    /// Date of the appeal pending or last filed.
    #[serde(default)]
    pub appeal_filed_on: Option<NaiveDate>,
    /// A court annulled the refusal and established the status: the authority holding the file
    /// records the grant and issues the certificate; it may not refuse again.
    #[serde(default)]
    pub status_ordered_by_court: bool,
    /// The decision in force.
    pub decision: Option<DecisionFacts>,
    /// Date of the first decision (for the median time to decision).
    pub first_decided_on: Option<NaiveDate>,
    /// Validity end of the status, if limited.
    pub valid_until: Option<NaiveDate>,
    /// Assistance track.
    pub assistance: Assistance,
    /// Deadlines by name (the current instance of each).
    pub deadlines: BTreeMap<DeadlineName, DeadlineRecord>,
    /// Corrections recorded.
    pub corrections: Vec<CorrectionEntry>,
    /// Notes added.
    pub notes: u32,
    /// Personal data erased.
    pub erased: bool,
}

impl CaseState {
    /// Whether the application has been registered.
    #[must_use]
    pub fn is_registered(&self) -> bool {
        self.registration.is_some()
    }

    /// The responsible office's code (empty until the application is registered).
    #[must_use]
    pub fn office(&self) -> &str {
        self.office.as_deref().unwrap_or_default()
    }

    /// The stage, `registered` before anything else (only meaningful once registered).
    #[must_use]
    pub fn stage(&self) -> Stage {
        self.stage.unwrap_or(Stage::Registered)
    }

    /// The status (`pending` until decided).
    #[must_use]
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Pending)
    }

    /// Whether the case is closed (withdrawn or expired): nothing but reading.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.stage == Some(Stage::Closed)
    }

    /// Whether a consent scope is in force now.
    #[must_use]
    pub fn consent_in_force(&self, scope: ConsentScope) -> bool {
        self.consents.get(&scope).is_some_and(|c| c.in_force)
    }

    /// Whether an identity document is in the file.
    #[must_use]
    pub fn has_identity_document(&self) -> bool {
        self.documents.contains(&DocumentKind::IdentityDocument)
    }

    /// The child flag fixed at registration.
    #[must_use]
    pub fn is_child(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| r.applicant.child)
    }

    /// The governing procedure definition.
    #[must_use]
    pub fn procedure(&self) -> Option<&Arc<ProcedureDefinition>> {
        self.registration.as_ref().map(|r| &r.procedure)
    }

    /// Whether the person is in a shelter now.
    #[must_use]
    pub fn in_shelter(&self) -> bool {
        self.assistance
            .shelter
            .as_ref()
            .is_some_and(|s| s.ended_on.is_none())
    }

    fn start(&mut self, d: DeadlineStarted, sequence: u64) {
        self.deadlines.insert(
            d.name.clone(),
            DeadlineRecord {
                name: d.name,
                kind: d.kind,
                start: d.start,
                due_on: d.due_on,
                fulfilled_on: None,
                cancelled_on: None,
                missed_recorded: false,
                missed_on: None,
                suspended_from: None,
                suspensions: Vec::new(),
                started_by: sequence,
                fulfilled_by: None,
            },
        );
    }

    /// A condition named in the case's definition starts holding: every running deadline whose
    /// rule is suspended while it holds stops counting. Pure: the rules are the case's own copy
    /// of its definition, so a replay suspends the same deadlines.
    fn suspend(&mut self, condition: SuspendCondition, on: NaiveDate) {
        let Some(def) = self.registration.as_ref().map(|r| r.procedure.clone()) else {
            return;
        };
        for d in self.deadlines.values_mut() {
            let applies = def
                .rule(d.kind)
                .is_some_and(|r| r.suspended_while.contains(&condition));
            if applies
                && d.fulfilled_on.is_none()
                && d.cancelled_on.is_none()
                && d.suspended_from.is_none()
            {
                d.suspended_from = Some(on);
            }
        }
    }

    /// The condition ends: suspended deadlines resume and their due dates move by the days
    /// they were suspended.
    fn resume(&mut self, condition: SuspendCondition, on: NaiveDate) {
        let Some(def) = self.registration.as_ref().map(|r| r.procedure.clone()) else {
            return;
        };
        for d in self.deadlines.values_mut() {
            let applies = def
                .rule(d.kind)
                .is_some_and(|r| r.suspended_while.contains(&condition));
            if let (true, Some(from)) = (applies, d.suspended_from) {
                let days = u32::try_from((on - from).num_days()).unwrap_or(0);
                d.due_on = crate::calendar::add_calendar_days(d.due_on, days);
                d.suspensions.push((from, on));
                d.suspended_from = None;
            }
        }
    }

    /// The file reaches `authority` on `on` (submission, court ruling, hand-over).
    fn hold(&mut self, authority: String, on: NaiveDate) {
        if !self.ever_submitted_to.contains(&authority) {
            self.ever_submitted_to.push(authority.clone());
        }
        self.submitted_to = Some(authority);
        self.held_since = Some(on);
    }

    fn fulfil(&mut self, name: &str, on: NaiveDate, sequence: u64) {
        if let Some(d) = self.deadlines.get_mut(name) {
            if d.fulfilled_on.is_none() && d.cancelled_on.is_none() {
                d.fulfilled_on = Some(on);
                d.fulfilled_by = Some(sequence);
            }
        }
    }

    /// The business date of the event at `sequence`, where the state knows it: the
    /// registration, the last submission, a verification request, or the start or fulfilment
    /// of a deadline it started or fulfilled.
    #[must_use]
    pub fn business_date_of(&self, sequence: u64) -> Option<NaiveDate> {
        if sequence == 1 {
            return self.registration.as_ref().map(|r| r.received_on);
        }
        if self.submission_sequence == Some(sequence) {
            return self.submission.as_ref().map(|s| s.0);
        }
        if let Some(r) = self
            .verification_requests
            .iter()
            .find(|r| r.sequence == sequence)
        {
            return Some(r.sent_on);
        }
        self.deadlines.values().find_map(|d| {
            if d.started_by == sequence {
                Some(d.start)
            } else if d.fulfilled_by == Some(sequence) {
                d.fulfilled_on
            } else {
                None
            }
        })
    }

    /// A business date corrected ("Counting days"): the facts dated by the event at `sequence`
    /// take the new date, the deadlines it started take their recomputed due dates (moved by
    /// any suspension they had), the deadlines it fulfilled take the new fulfilment date, and a
    /// recorded miss stands only if the deadline is still missed under the new dates as of
    /// `today` (the correction's recording day). A miss not yet recorded is the engine's to
    /// record later, with the new due date.
    fn correct_date(
        &mut self,
        sequence: u64,
        to: NaiveDate,
        recomputed: Vec<DeadlineStarted>,
        today: NaiveDate,
    ) {
        if sequence == 1 {
            if let Some(r) = self.registration.as_mut() {
                r.received_on = to;
            }
        }
        if self.submission_sequence == Some(sequence) {
            if let Some(s) = self.submission.as_mut() {
                s.0 = to;
            }
        }
        for d in recomputed {
            if let Some(r) = self.verification_requests.iter_mut().find(|r| {
                r.sequence == sequence && d.name == DeadlineName::verification_reply(&r.request_id)
            }) {
                r.sent_on = to;
                r.due_on = d.due_on;
            }
            if let Some(rec) = self.deadlines.get_mut(&d.name) {
                if rec.started_by == sequence {
                    rec.start = d.start;
                    rec.due_on = d.due_on;
                }
            }
        }
        for rec in self.deadlines.values_mut() {
            if rec.fulfilled_by == Some(sequence) {
                rec.fulfilled_on = Some(to);
            }
            if rec.started_by == sequence || rec.fulfilled_by == Some(sequence) {
                let still_missed = match rec.fulfilled_on {
                    Some(f) => f > rec.due_on,
                    None => today > rec.due_on,
                };
                if rec.missed_recorded && !still_missed {
                    rec.missed_recorded = false;
                    rec.missed_on = None;
                }
            }
        }
    }

    fn cancel_open(&mut self, on: NaiveDate) {
        for d in self.deadlines.values_mut() {
            if d.fulfilled_on.is_none() && d.cancelled_on.is_none() {
                d.cancelled_on = Some(on);
            }
        }
    }
}

/// Applies one event. Total: an event that does not fit the state (which `decide` never emits)
/// is recorded in the version count and otherwise ignored, so a replay never panics.
#[must_use]
pub fn evolve(mut state: CaseState, event: CaseEvent) -> CaseState {
    state.version += 1;
    let on = event.occurred_on;
    let sequence = state.version;
    match event.body {
        EventBody::ApplicationRegistered {
            register_no,
            office,
            filed_by,
            applicant,
            referral,
            exploitation_forms,
            exploitation_country,
            documents,
            id_document_missing_reason,
            rights_explained: _,
            person,
            procedure,
            deadlines,
        } => {
            state.office = Some(office);
            state.stage = Some(Stage::Registered);
            state.status = Some(Status::Pending);
            state.documents = documents.into_iter().map(|d| d.kind).collect();
            state.id_document_missing_explained = id_document_missing_reason.is_some();
            state.registration = Some(Registration {
                register_no,
                received_on: on,
                filed_by,
                applicant,
                referral,
                exploitation_forms,
                exploitation_country,
                procedure: Arc::new(*procedure),
                recorded_at: event.recorded_at,
                person,
            });
            for d in deadlines {
                state.start(d, sequence);
            }
        }
        EventBody::ConsentGiven {
            scope, given_by, ..
        } => {
            state.consents.insert(
                scope,
                ConsentEntry {
                    in_force: true,
                    given_by,
                    on,
                },
            );
        }
        EventBody::ConsentWithdrawn {
            scope, given_by, ..
        } => {
            state.consents.insert(
                scope,
                ConsentEntry {
                    in_force: false,
                    given_by,
                    on,
                },
            );
        }
        EventBody::InterviewRecorded {
            consent_signed_by, ..
        } => {
            state.interview = Some(InterviewOutcome::Done {
                on,
                consent_signed_by,
            });
            state.stage = Some(Stage::InterviewDone);
            state.fulfil(DeadlineKind::Interview.as_str(), on, sequence);
        }
        EventBody::InterviewSkipped { ground, .. } => {
            state.interview = Some(InterviewOutcome::Skipped { on, ground });
            state.stage = Some(Stage::InterviewDone);
            state.fulfil(DeadlineKind::Interview.as_str(), on, sequence);
        }
        EventBody::VerificationRequested {
            request_id,
            to,
            deadline,
        } => {
            state.verification_requests.push(VerificationRequest {
                request_id,
                to,
                sent_on: on,
                due_on: deadline.due_on,
                reply: None,
                replied_on: None,
                sequence,
            });
            if matches!(state.stage, Some(Stage::InterviewDone)) {
                state.stage = Some(Stage::Verification);
            }
            state.start(deadline, sequence);
        }
        EventBody::VerificationReplyRecorded {
            request_id,
            outcome,
        } => {
            let name = DeadlineName::verification_reply(&request_id);
            if let Some(r) = state
                .verification_requests
                .iter_mut()
                .find(|r| r.request_id == request_id)
            {
                r.reply = Some(outcome);
                r.replied_on = Some(on);
            }
            state.fulfil(&name, on, sequence);
        }
        EventBody::DocumentAttached { document } => state.documents.push(document.kind),
        EventBody::IdentityDocumentAbsenceExplained { .. } => {
            state.id_document_missing_explained = true;
        }
        EventBody::FileSubmitted {
            conclusion,
            authority,
            deadline,
            ..
        } => {
            state.stage = Some(Stage::Submitted);
            state.status = Some(Status::Pending);
            state.hold(authority, on);
            state.submission = Some((on, conclusion));
            state.submission_sequence = Some(sequence);
            state.fulfil(DeadlineKind::FileSubmission.as_str(), on, sequence);
            state.start(deadline, sequence);
            state.resume(SuspendCondition::FileReturned, on);
        }
        EventBody::FileReturned { deadline, .. } => {
            state.stage = Some(Stage::Returned);
            state.submitted_to = None;
            state.held_since = None;
            state.returns += 1;
            state.returned_on = Some(on);
            state.fulfil(DeadlineKind::Decision.as_str(), on, sequence);
            state.start(deadline, sequence);
            state.suspend(SuspendCondition::FileReturned, on);
        }
        EventBody::StatusGranted {
            authority,
            certificate_no,
            valid_until,
            deadlines,
        } => {
            state.stage = Some(Stage::Decided);
            state.status = Some(Status::Granted);
            state.submitted_to = None;
            state.held_since = None;
            state.status_ordered_by_court = false;
            state.valid_until = valid_until;
            state.decision = Some(DecisionFacts {
                granted: true,
                on,
                authority,
                certificate_no: Some(certificate_no),
                handed_over_on: None,
            });
            state.first_decided_on.get_or_insert(on);
            state.fulfil(DeadlineKind::Decision.as_str(), on, sequence);
            state.fulfil(DeadlineKind::Overall.as_str(), on, sequence);
            for d in deadlines {
                state.start(d, sequence);
            }
        }
        EventBody::StatusRefused { authority, .. } => {
            state.stage = Some(Stage::Decided);
            state.status = Some(Status::Refused);
            state.submitted_to = None;
            state.held_since = None;
            state.decision = Some(DecisionFacts {
                granted: false,
                on,
                authority,
                certificate_no: None,
                handed_over_on: None,
            });
            state.first_decided_on.get_or_insert(on);
            state.fulfil(DeadlineKind::Decision.as_str(), on, sequence);
            state.fulfil(DeadlineKind::Overall.as_str(), on, sequence);
        }
        EventBody::DecisionHandedOver {} => {
            if let Some(d) = state.decision.as_mut() {
                d.handed_over_on = Some(on);
            }
        }
        EventBody::AppealFiled { .. } => {
            state.stage = Some(Stage::Appeal);
            state.appeal_filed_on = Some(on);
            state.suspend(SuspendCondition::AppealPending, on);
        }
        EventBody::CourtRulingRecorded {
            outcome,
            certificate_no,
            valid_until,
            deadlines,
            authority,
        } => {
            use crate::types::RulingOutcome as R;
            state.resume(SuspendCondition::AppealPending, on);
            match (outcome, authority) {
                (R::Upheld, _) => state.stage = Some(Stage::Decided),
                // Step 8: the refusal is annulled and the file goes to the authority competent on
                // the day of the ruling, which records the decision (and, when the court
                // established the status, grants it and issues the certificate).
                (R::AnnulledNewDecision | R::AnnulledStatusEstablished, Some(authority)) => {
                    state.stage = Some(Stage::Submitted);
                    state.status = Some(Status::Pending);
                    state.decision = None;
                    state.status_ordered_by_court = outcome == R::AnnulledStatusEstablished;
                    state.hold(authority, on);
                }
                // Rulings recorded before the `authority` field, as they were recorded.
                (R::AnnulledStatusEstablished, None) => {
                    state.stage = Some(Stage::Decided);
                    state.status = Some(Status::Granted);
                    state.valid_until = valid_until;
                    state.decision = Some(DecisionFacts {
                        granted: true,
                        on,
                        authority: "court".into(),
                        certificate_no,
                        handed_over_on: None,
                    });
                }
                (R::AnnulledNewDecision, None) => {
                    state.stage = Some(Stage::Submitted);
                    state.status = Some(Status::Pending);
                    state.decision = None;
                    state.submitted_to = state.ever_submitted_to.last().cloned();
                    state.held_since = Some(on);
                }
            }
            for d in deadlines {
                state.start(d, sequence);
            }
        }
        EventBody::StatusExtended { valid_until, .. } => state.valid_until = Some(valid_until),
        EventBody::StatusExpired { .. } => {
            state.status = Some(Status::Expired);
            state.stage = Some(Stage::Closed);
            state.cancel_open(on);
        }
        EventBody::ApplicationWithdrawn { .. } => {
            state.status = Some(Status::Withdrawn);
            state.stage = Some(Stage::Closed);
            state.submitted_to = None;
            state.held_since = None;
            state.cancel_open(on);
        }
        EventBody::ReferredToSocialServices { centre, deadline } => {
            state.assistance.referred_to = Some((centre, on));
            state.start(deadline, sequence);
        }
        EventBody::NeedsAssessed { needs } => {
            state.assistance.needs_assessment = Some((needs, on));
            state.fulfil(DeadlineKind::NeedsAssessment.as_str(), on, sequence);
        }
        EventBody::RehabilitationPlanApproved { services, .. } => {
            state.assistance.plan = Some((services, on));
            state.fulfil(DeadlineKind::RehabilitationPlan.as_str(), on, sequence);
        }
        EventBody::ServiceRecorded {
            service,
            provider,
            from,
            to,
        } => {
            state.assistance.services.push(DeliveredService {
                service,
                provider,
                from,
                to,
            });
        }
        EventBody::PlacedInShelter { shelter, deadline } => {
            state.assistance.shelter = Some(ShelterStay {
                shelter,
                since: on,
                until: deadline.due_on,
                extensions: 0,
                ended_on: None,
            });
            state.start(deadline, sequence);
        }
        EventBody::ShelterExtended { deadline, .. } => {
            if let Some(s) = state.assistance.shelter.as_mut() {
                s.until = deadline.due_on;
                s.extensions += 1;
            }
            state.start(deadline, sequence);
        }
        EventBody::ShelterStayEnded {} => {
            if let Some(s) = state.assistance.shelter.as_mut() {
                s.ended_on = Some(on);
            }
            state.fulfil(DeadlineKind::Shelter.as_str(), on, sequence);
        }
        EventBody::PaymentRequested { deadline } => {
            state.assistance.payment_requested_on = Some(on);
            state.start(deadline, sequence);
        }
        EventBody::PaymentRecorded { amount_kopiyky } => {
            state.assistance.payment = Some((amount_kopiyky, on));
            state.fulfil(DeadlineKind::Payment.as_str(), on, sequence);
        }
        EventBody::Assigned { assignee } => state.assignee = Some(assignee),
        EventBody::Transferred { to_office, .. } => state.office = Some(to_office),
        EventBody::NoteAdded { .. } => state.notes += 1,
        EventBody::EntryCorrected {
            supersedes,
            field,
            correction,
            corrected_on,
            original_on,
            deadlines,
        } => {
            if let Some(to) = corrected_on {
                let today = crate::decide::kyiv_date(event.recorded_at);
                state.correct_date(supersedes, to, deadlines, today);
            }
            state.corrections.push(CorrectionEntry {
                supersedes,
                field,
                sequence,
                on: Some(on),
                original_on,
                corrected_on,
                correction: Some(correction),
            });
        }
        EventBody::PersonalDataErased { .. } => state.erased = true,
        EventBody::FileHandedToSuccessor { to, deadline, .. } => {
            state.hold(to, on);
            state.start(deadline, sequence);
        }
        EventBody::DeadlineMissed { name, due_on, .. } => {
            if let Some(d) = state.deadlines.get_mut(&name) {
                if d.due_on == due_on {
                    d.missed_recorded = true;
                    d.missed_on.get_or_insert(on);
                }
            }
        }
    }
    state
}
