//! [`decide`]: the rules of `procedure.md`, checked in one place.
//!
//! Order of checks: the role may do the action at all (403), the action is lawful in the case's
//! stage (409 with the allowed actions), the matching consent is in force (409), then the fields
//! (422). A refused command emits nothing.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Kyiv;

use crate::actions::ActionName;
use crate::command::{Action, Command, Register};
use crate::deadline_name::DeadlineName;
use crate::error::{DomainError, FieldError, FieldProblem};
use crate::event::{
    ApplicantFacts, CaseEvent, DeadlineStarted, DocumentFacts, EventBody, ReferralFacts,
    Responsible,
};
use crate::procedure::{DeadlineKind, ProcedureDefinition, Unit};
use crate::state::CaseState;
use crate::types::{
    is_valid_country_code, is_valid_office_code, Citizenship, ConsentScope, FiledBy, GivenBy, Role,
    RulingOutcome, Stage, Status, VerificationTarget,
};

/// Today's date in Europe/Kyiv at instant `t`.
#[must_use]
pub fn kyiv_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Kyiv).date_naive()
}

/// Age in whole years on `on` of a person born on `birth`.
#[must_use]
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Whether the action is lawful in the case's current stage and state (role aside); `Err` carries
/// the reason in one sentence.
///
/// # Errors
/// The sentence saying why the action is not available now.
pub fn availability(state: &CaseState, action: ActionName) -> Result<(), String> {
    use ActionName as A;
    if action == A::Register {
        return if state.is_registered() {
            Err("the application is already registered".into())
        } else {
            Ok(())
        };
    }
    if !state.is_registered() {
        return Err("the application is not registered".into());
    }
    let stage = state.stage();
    let status = state.status();
    if action == A::ErasePersonalData {
        return if state.erased {
            Err("the personal data is already erased".into())
        } else {
            Ok(())
        };
    }
    if state.is_closed() && action != A::RecordMissedDeadline {
        return Err(format!(
            "the case is closed ({status}): it may only be read"
        ));
    }
    if state.erased && action.roles() != [Role::System] {
        return Err("the personal data was erased: the case may only be read".into());
    }
    let need = |ok: bool, why: &str| if ok { Ok(()) } else { Err(why.to_string()) };
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
        A::CorrectEntry => need(state.version > 0, "there is nothing to correct"),
        A::RecordInterview | A::SkipInterview => need(
            stage == Stage::Registered,
            "the interview step is already done",
        ),
        A::RequestVerification => need(
            before_submission,
            "verification requests follow the interview and precede submission",
        ),
        A::RecordVerificationReply => need(
            state
                .verification_requests
                .iter()
                .any(|r| r.reply.is_none()),
            "no verification request awaits a reply",
        ),
        A::SubmitFile => need(
            before_submission,
            "the file can be submitted only after the interview and before a decision",
        ),
        A::ReturnFile | A::RecordDecision => need(
            stage == Stage::Submitted,
            "no file is with the deciding authority",
        ),
        A::HandOverDecision => need(
            stage == Stage::Decided
                && state
                    .decision
                    .as_ref()
                    .is_some_and(|d| d.handed_over_on.is_none()),
            "there is no decision waiting to be handed over",
        ),
        A::RecordAppeal => need(
            stage == Stage::Decided && status == Status::Refused,
            "only a refusal can be appealed",
        ),
        A::RecordCourtRuling => need(stage == Stage::Appeal, "no appeal is pending"),
        A::ExtendStatus => need(
            status == Status::Granted && state.valid_until.is_some(),
            "only a granted status with a limited validity can be extended",
        ),
        A::Withdraw => need(
            status == Status::Pending,
            "the application can be withdrawn only before the decision",
        ),
        A::ReferToSocialServices => need(
            state.assistance.referred_to.is_none(),
            "the person is already referred to social services",
        ),
        A::RecordNeedsAssessment => need(
            state.assistance.referred_to.is_some() && state.assistance.needs_assessment.is_none(),
            "a needs assessment follows the referral to social services, once",
        ),
        A::ApproveRehabilitationPlan => need(
            status == Status::Granted
                && state.assistance.needs_assessment.is_some()
                && state.assistance.plan.is_none(),
            "a rehabilitation plan needs a granted status and a needs assessment",
        ),
        A::RecordService => need(
            state.assistance.referred_to.is_some(),
            "services follow the referral to social services",
        ),
        A::PlaceInShelter => need(!state.in_shelter(), "the person is already in a shelter"),
        A::ExtendShelter => need(state.in_shelter(), "the person is not in a shelter"),
        A::RequestPayment => need(
            status == Status::Granted && state.assistance.payment_requested_on.is_none(),
            "the one-time payment is requested once, with a granted status",
        ),
        A::RecordPayment => need(
            state.assistance.payment_requested_on.is_some() && state.assistance.payment.is_none(),
            "no payment application awaits payment",
        ),
        A::RecordMissedDeadline => Ok(()),
        A::RecordStatusExpiry => need(
            status == Status::Granted && state.valid_until.is_some(),
            "only a granted status with a validity can expire",
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

/// Collects field problems.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, problem: FieldProblem, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            problem,
            message: message.into(),
        });
    }
    fn check(&mut self, ok: bool, field: &str, problem: FieldProblem, message: &str) {
        if !ok {
            self.add(field, problem, message);
        }
    }
    fn date(&mut self, field: &str, d: NaiveDate, today: NaiveDate, not_before: Option<NaiveDate>) {
        if d > today {
            self.add(
                field,
                FieldProblem::InFuture,
                format!("{d} is in the future (today is {today} in Kyiv)"),
            );
        } else if let Some(min) = not_before {
            if d < min {
                self.add(
                    field,
                    FieldProblem::BeforeRegistration,
                    format!("{d} is before the registration on {min}"),
                );
            }
        }
    }
    fn text(&mut self, field: &str, s: &str, max: usize) {
        if s.trim().is_empty() {
            self.add(field, FieldProblem::Required, "must not be empty");
        } else if s.chars().count() > max {
            self.add(
                field,
                FieldProblem::Invalid,
                format!("longer than {max} characters"),
            );
        }
    }
    fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.0))
        }
    }
}

fn deadline(
    def: &ProcedureDefinition,
    cmd: &Command,
    kind: DeadlineKind,
    name: DeadlineName,
    start: NaiveDate,
) -> DeadlineStarted {
    let due_on = def
        .rule(kind)
        .map_or(start, |rule| rule.due(start, cmd.rules.calendar()).due_on);
    DeadlineStarted {
        name,
        kind,
        start,
        due_on,
    }
}

fn named(
    def: &ProcedureDefinition,
    cmd: &Command,
    kind: DeadlineKind,
    start: NaiveDate,
) -> DeadlineStarted {
    deadline(def, cmd, kind, DeadlineName::of(kind), start)
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
        return Err(DomainError::ActionNotAllowed {
            action: name,
            stage: state.stage(),
            reason,
            allowed: allowed_actions_for(state, role, cmd.actor.office.as_deref()),
        });
    }
    if matches!(name, ActionName::RecordDecision | ActionName::ReturnFile)
        && cmd.actor.office.as_deref() != state.submitted_to.as_deref()
    {
        return Err(DomainError::ActionNotAllowed {
            action: name,
            stage: state.stage(),
            reason: format!(
                "the file is with {}: only its officers decide",
                state.submitted_to.as_deref().unwrap_or("no authority")
            ),
            allowed: allowed_actions_for(state, role, cmd.actor.office.as_deref()),
        });
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
    let received_on = state.registration.as_ref().map(|r| r.received_on);
    p.date("occurred_on", on, today, received_on);

    let bodies = match &cmd.action {
        Action::Register(reg) => {
            let body = register(reg, &cmd, &mut p);
            p.finish()?;
            return Ok(vec![event(&cmd, body?)]);
        }
        _ => {
            let def = match state.procedure() {
                Some(d) => d.clone(),
                None => {
                    return Err(DomainError::field(
                        "case",
                        FieldProblem::NotFound,
                        "the case is not registered",
                    ))
                }
            };
            act(state, &cmd, &def, today, &mut p)
        }
    };
    p.finish()?;
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

fn register(reg: &Register, cmd: &Command, p: &mut Problems) -> Result<EventBody, DomainError> {
    let on = cmd.occurred_on;
    p.check(
        is_valid_office_code(&reg.office),
        "office",
        FieldProblem::Invalid,
        "not an office code",
    );
    p.text("register_no", &reg.register_no, 64);
    let a = &reg.applicant;
    p.check(
        a.birth_date <= on,
        "person.birth_date",
        FieldProblem::InFuture,
        "the birth date is after the receipt date",
    );
    let age = age_on(a.birth_date, on);
    p.check(
        age <= 130,
        "person.birth_date",
        FieldProblem::Invalid,
        "the birth date is implausible",
    );
    let child = age < 18;
    if child && reg.filed_by == FiledBy::SelfFiled {
        p.add(
            "filed_by",
            FieldProblem::ChildFilingAlone,
            "a child's application is filed by the legal representative or by a person who learned of the child",
        );
    }
    if !child && reg.filed_by == FiledBy::PersonAwareOfChild {
        p.add(
            "filed_by",
            FieldProblem::Invalid,
            "`person_aware_of_child` applies only to a child applicant",
        );
    }
    let foreigner = a.citizenship != Citizenship::Ukrainian;
    if foreigner && !a.speaks_ukrainian_or_russian && !a.interpreter_used {
        p.add(
            "applicant.interpreter_used",
            FieldProblem::InterpreterRequired,
            "a foreigner or stateless person who speaks neither Ukrainian nor Russian files with an interpreter",
        );
    }
    p.check(
        reg.rights_explained,
        "rights_explained",
        FieldProblem::MustBeTrue,
        "the person must be informed of the help available",
    );
    if let Some(r) = &reg.referral {
        p.check(
            r.referred_on <= on,
            "referral.referred_on",
            FieldProblem::Invalid,
            "the referral cannot follow the registration",
        );
    }
    p.check(
        !reg.exploitation_forms.is_empty(),
        "exploitation.forms",
        FieldProblem::Required,
        "name at least one form",
    );
    p.check(
        is_valid_country_code(&reg.exploitation_country),
        "exploitation.country",
        FieldProblem::Invalid,
        "an ISO 3166-1 alpha-2 code such as UA or PL (XX if unknown)",
    );
    let def = cmd.rules.in_force_on(on).cloned();
    if def.is_none() {
        p.add(
            "received_on",
            FieldProblem::Invalid,
            format!("no procedure definition is in force on {on}"),
        );
    }
    let Some(def) = def else {
        return Err(DomainError::Validation(Vec::new()));
    };
    let deadlines = [
        DeadlineKind::Interview,
        DeadlineKind::FileSubmission,
        DeadlineKind::Overall,
    ]
    .into_iter()
    .map(|k| named(&def, cmd, k, on))
    .collect();
    Ok(EventBody::ApplicationRegistered {
        register_no: reg.register_no.clone(),
        office: reg.office.clone(),
        filed_by: reg.filed_by,
        applicant: ApplicantFacts {
            sex: a.sex,
            birth_year: a.birth_date.year(),
            child,
            citizenship: a.citizenship,
            speaks_ukrainian_or_russian: a.speaks_ukrainian_or_russian,
            interpreter_used: a.interpreter_used,
        },
        referral: reg.referral.as_ref().map(|r| ReferralFacts {
            source: r.source,
            organisation: r.organisation.clone(),
            referred_on: r.referred_on,
        }),
        exploitation_forms: reg.exploitation_forms.clone(),
        exploitation_country: reg.exploitation_country.clone(),
        documents: reg
            .documents
            .iter()
            .map(|(kind, note)| DocumentFacts {
                kind: *kind,
                note: note.clone(),
            })
            .collect(),
        id_document_missing_reason: reg.id_document_missing_reason.clone(),
        rights_explained: reg.rights_explained,
        person: reg.person.clone(),
        procedure: Box::new((*def).clone()),
        deadlines,
    })
}

#[allow(clippy::too_many_lines)]
fn act(
    state: &CaseState,
    cmd: &Command,
    def: &ProcedureDefinition,
    today: NaiveDate,
    p: &mut Problems,
) -> Result<Vec<EventBody>, DomainError> {
    let on = cmd.occurred_on;
    let child = state.is_child();
    let body = match &cmd.action {
        Action::Register(_) => return Ok(Vec::new()),
        Action::RecordConsent { scope, given_by } => {
            if child && *given_by == GivenBy::Person {
                p.add(
                    "given_by",
                    FieldProblem::LegalRepresentativeRequired,
                    "for a child the legal representative consents",
                );
            }
            p.check(
                !state.consent_in_force(*scope),
                "scope",
                FieldProblem::AlreadyDone,
                "this consent is already in force",
            );
            EventBody::ConsentGiven {
                scope: *scope,
                given_by: *given_by,
            }
        }
        Action::WithdrawConsent { scope, given_by } => {
            p.check(
                *scope != ConsentScope::StatusProcedure,
                "scope",
                FieldProblem::Invalid,
                "withdrawing consent to the status procedure itself is the `withdraw` action",
            );
            p.check(
                state.consent_in_force(*scope),
                "scope",
                FieldProblem::NotFound,
                "this consent is not in force",
            );
            EventBody::ConsentWithdrawn {
                scope: *scope,
                given_by: *given_by,
            }
        }
        Action::RecordInterview {
            consent_signed_by,
            non_disclosure_receipt_signed,
        } => {
            p.check(
                *non_disclosure_receipt_signed,
                "non_disclosure_receipt_signed",
                FieldProblem::MustBeTrue,
                "the official signs a non-disclosure receipt before the interview",
            );
            if child && *consent_signed_by == GivenBy::Person {
                p.add(
                    "consent_signed_by",
                    FieldProblem::LegalRepresentativeRequired,
                    "for a child the legal representative signs the consent",
                );
            }
            EventBody::InterviewRecorded {
                consent_signed_by: *consent_signed_by,
                non_disclosure_receipt_signed: *non_disclosure_receipt_signed,
            }
        }
        Action::SkipInterview { ground, reference } => {
            if *ground == crate::types::SkipGround::AlreadyRecognised {
                p.check(
                    reference.is_some(),
                    "reference",
                    FieldProblem::Required,
                    "record the reference of the recognition by law enforcement, a court or the destination country",
                );
            }
            if *ground == crate::types::SkipGround::ImpossibleYoungAge {
                p.check(
                    child,
                    "ground",
                    FieldProblem::Invalid,
                    "young age applies only to a child",
                );
            }
            EventBody::InterviewSkipped {
                ground: *ground,
                reference: reference.clone(),
            }
        }
        Action::RequestVerification { to } => {
            let request_id = format!("vr-{}", state.verification_requests.len() + 1);
            let d = deadline(
                def,
                cmd,
                DeadlineKind::VerificationReply,
                DeadlineName::verification_reply(&request_id),
                on,
            );
            EventBody::VerificationRequested {
                request_id,
                to: *to,
                deadline: d,
            }
        }
        Action::RecordVerificationReply {
            request_id,
            outcome,
        } => {
            match state
                .verification_requests
                .iter()
                .find(|r| &r.request_id == request_id)
            {
                None => p.add(
                    "request_id",
                    FieldProblem::NotFound,
                    "no such verification request in this case",
                ),
                Some(r) if r.reply.is_some() => p.add(
                    "request_id",
                    FieldProblem::AlreadyDone,
                    "this request is already answered",
                ),
                Some(r) if on < r.sent_on => p.add(
                    "occurred_on",
                    FieldProblem::Invalid,
                    "a reply cannot precede its request",
                ),
                Some(_) => {}
            }
            EventBody::VerificationReplyRecorded {
                request_id: request_id.clone(),
                outcome: *outcome,
            }
        }
        Action::AttachDocument { kind, note } => EventBody::DocumentAttached {
            document: DocumentFacts {
                kind: *kind,
                note: note.clone(),
            },
        },
        Action::SubmitFile { conclusion } => {
            if !state.has_identity_document() && !state.id_document_missing_explained {
                return Err(not_allowed(
                    state,
                    cmd,
                    "the file needs a copy of an identity document or the reason it is missing",
                ));
            }
            let mut overdue = Vec::new();
            for r in state
                .verification_requests
                .iter()
                .filter(|r| r.reply.is_none())
            {
                if on > r.due_on {
                    overdue.push(r.request_id.clone());
                } else {
                    return Err(not_allowed(
                        state,
                        cmd,
                        &format!(
                            "verification request {} awaits its reply until {}",
                            r.request_id, r.due_on
                        ),
                    ));
                }
            }
            // The transitional rule: the authority in force on the submission day receives the file.
            let authority = cmd.rules.in_force_on(on).map_or_else(
                || def.deciding_authority.clone(),
                |d| d.deciding_authority.clone(),
            );
            EventBody::FileSubmitted {
                conclusion: *conclusion,
                authority,
                overdue_requests: overdue,
                deadline: named(def, cmd, DeadlineKind::Decision, on),
            }
        }
        Action::ReturnFile {
            missing,
            missing_count,
        } => {
            p.check(
                *missing_count > 0,
                "missing",
                FieldProblem::Required,
                "list what is missing from the file",
            );
            EventBody::FileReturned {
                authority: state.submitted_to.clone().unwrap_or_default(),
                missing: missing.clone(),
                missing_count: *missing_count,
                deadline: named(def, cmd, DeadlineKind::FileSubmission, on),
            }
        }
        Action::RecordDecisionGranted {
            certificate_no,
            valid_until,
        } => {
            p.text("certificate_no", certificate_no, 64);
            let valid_until = validity(def, on, *valid_until, p);
            EventBody::StatusGranted {
                authority: state.submitted_to.clone().unwrap_or_default(),
                certificate_no: certificate_no.clone(),
                valid_until,
                deadlines: vec![named(def, cmd, DeadlineKind::RehabilitationPlan, on)],
            }
        }
        Action::RecordDecisionRefused {
            grounds,
            grounds_count,
        } => {
            p.check(
                *grounds_count > 0,
                "grounds",
                FieldProblem::Required,
                "a refusal states its grounds",
            );
            EventBody::StatusRefused {
                authority: state.submitted_to.clone().unwrap_or_default(),
                grounds: grounds.clone(),
            }
        }
        Action::HandOverDecision => EventBody::DecisionHandedOver {},
        Action::RecordAppeal { reference } => EventBody::AppealFiled {
            reference: reference.clone(),
        },
        Action::RecordCourtRuling {
            outcome,
            certificate_no,
            valid_until,
        } => {
            let mut deadlines = Vec::new();
            let mut until = None;
            match outcome {
                RulingOutcome::AnnulledStatusEstablished => {
                    match certificate_no {
                        Some(c) => p.text("certificate_no", c, 64),
                        None => p.add(
                            "certificate_no",
                            FieldProblem::Required,
                            "a status established by a court gets a certificate",
                        ),
                    }
                    until = validity(def, on, *valid_until, p);
                    deadlines.push(named(def, cmd, DeadlineKind::RehabilitationPlan, on));
                }
                RulingOutcome::AnnulledNewDecision => {
                    deadlines.push(named(def, cmd, DeadlineKind::Decision, on));
                    p.check(
                        certificate_no.is_none(),
                        "certificate_no",
                        FieldProblem::Invalid,
                        "only with annulled_status_established",
                    );
                }
                RulingOutcome::Upheld => {
                    p.check(
                        certificate_no.is_none(),
                        "certificate_no",
                        FieldProblem::Invalid,
                        "only with annulled_status_established",
                    );
                }
            }
            EventBody::CourtRulingRecorded {
                outcome: *outcome,
                certificate_no: certificate_no.clone(),
                valid_until: until,
                deadlines,
            }
        }
        Action::ExtendStatus {
            valid_until,
            reason,
        } => {
            let current = state.valid_until.unwrap_or(on);
            p.check(
                *valid_until > current,
                "valid_until",
                FieldProblem::Invalid,
                "the extension must end after the current validity",
            );
            if let Some(max) = def.status_extension_max {
                let limit = add_period(current, max);
                if *valid_until > limit {
                    p.add(
                        "valid_until",
                        FieldProblem::Invalid,
                        format!("an extension may run at most to {limit}"),
                    );
                }
            }
            p.check(
                reason.is_some(),
                "reason",
                FieldProblem::Required,
                "an extension is a reasoned submission",
            );
            EventBody::StatusExtended {
                valid_until: *valid_until,
                reason: reason.clone(),
            }
        }
        Action::Withdraw { reason } => EventBody::ApplicationWithdrawn {
            reason: reason.clone(),
        },
        Action::Transfer { to_office } => {
            p.check(
                is_valid_office_code(to_office),
                "to_office",
                FieldProblem::Invalid,
                "not an office code",
            );
            p.check(
                *to_office != state.office,
                "to_office",
                FieldProblem::Unchanged,
                "the case is already with this office",
            );
            EventBody::Transferred {
                from_office: state.office.clone(),
                to_office: to_office.clone(),
            }
        }
        Action::ReferToSocialServices { centre } => {
            p.text("centre", centre, 200);
            EventBody::ReferredToSocialServices {
                centre: centre.clone(),
                deadline: named(def, cmd, DeadlineKind::NeedsAssessment, on),
            }
        }
        Action::RecordNeedsAssessment { needs } => {
            p.check(
                !needs.is_empty(),
                "needs",
                FieldProblem::Required,
                "list at least one need",
            );
            EventBody::NeedsAssessed {
                needs: needs.clone(),
            }
        }
        Action::ApproveRehabilitationPlan {
            written_consent,
            services,
        } => {
            p.check(
                *written_consent,
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
            EventBody::RehabilitationPlanApproved {
                written_consent: *written_consent,
                services: services.clone(),
            }
        }
        Action::RecordService {
            service,
            provider,
            to,
        } => {
            p.text("provider", provider, 200);
            if let Some(t) = to {
                p.check(
                    *t >= on,
                    "to",
                    FieldProblem::Invalid,
                    "ends before it starts",
                );
            }
            EventBody::ServiceRecorded {
                service: *service,
                provider: provider.clone(),
                from: on,
                to: *to,
            }
        }
        Action::PlaceInShelter { shelter } => {
            p.text("shelter", shelter, 200);
            EventBody::PlacedInShelter {
                shelter: shelter.clone(),
                deadline: named(def, cmd, DeadlineKind::Shelter, on),
            }
        }
        Action::ExtendShelter { reason } => {
            p.check(
                reason.is_some(),
                "reason",
                FieldProblem::Required,
                "a stay beyond the period needs a reason",
            );
            let from = state.assistance.shelter.as_ref().map_or(on, |s| s.until);
            EventBody::ShelterExtended {
                reason: reason.clone(),
                deadline: named(def, cmd, DeadlineKind::Shelter, from),
            }
        }
        Action::RequestPayment => EventBody::PaymentRequested {
            deadline: named(def, cmd, DeadlineKind::Payment, on),
        },
        Action::RecordPayment { amount_kopiyky } => {
            p.check(
                *amount_kopiyky > 0,
                "amount_kopiyky",
                FieldProblem::Invalid,
                "the amount paid must be positive",
            );
            EventBody::PaymentRecorded {
                amount_kopiyky: *amount_kopiyky,
            }
        }
        Action::Assign { assignee } => {
            p.text("assignee", assignee, 200);
            p.check(
                state.assignee.as_ref() != Some(assignee),
                "assignee",
                FieldProblem::Unchanged,
                "already assigned to this user",
            );
            EventBody::Assigned {
                assignee: assignee.clone(),
            }
        }
        Action::AddNote { note } => EventBody::NoteAdded { note: note.clone() },
        Action::CorrectEntry {
            supersedes,
            field,
            correction,
        } => {
            p.check(
                *supersedes >= 1 && *supersedes <= state.version,
                "supersedes",
                FieldProblem::NotFound,
                "no event with this sequence number in the case",
            );
            p.text("field", field, 100);
            EventBody::EntryCorrected {
                supersedes: *supersedes,
                field: field.clone(),
                correction: correction.clone(),
            }
        }
        Action::ErasePersonalData => EventBody::PersonalDataErased {},
        Action::RecordMissedDeadline { name } => {
            let Some(d) = state.deadlines.get(name) else {
                return Err(DomainError::field(
                    "name",
                    FieldProblem::NotFound,
                    "no such deadline in this case",
                ));
            };
            if d.fulfilled_on.is_some()
                || d.cancelled_on.is_some()
                || d.suspended_from.is_some()
                || d.missed_recorded
                || today <= d.due_on
            {
                return Err(not_allowed(
                    state,
                    cmd,
                    &format!("deadline {name} is not an unrecorded miss"),
                ));
            }
            p.check(
                on > d.due_on,
                "occurred_on",
                FieldProblem::Invalid,
                "a miss happens after the due date",
            );
            let office = match d.kind {
                DeadlineKind::Decision => state
                    .submitted_to
                    .clone()
                    .unwrap_or_else(|| state.office.clone()),
                _ => state.office.clone(),
            };
            EventBody::DeadlineMissed {
                name: name.clone(),
                due_on: d.due_on,
                responsible: Responsible {
                    assignee: state.assignee.clone(),
                    office,
                },
                detected_at: cmd.recorded_at,
            }
        }
        Action::RecordStatusExpiry => {
            let until = state.valid_until.unwrap_or(on);
            if today <= until {
                return Err(not_allowed(
                    state,
                    cmd,
                    &format!("the status is valid until {until}"),
                ));
            }
            EventBody::StatusExpired { valid_until: until }
        }
    };
    Ok(vec![body])
}

fn not_allowed(state: &CaseState, cmd: &Command, reason: &str) -> DomainError {
    DomainError::ActionNotAllowed {
        action: cmd.action.name(),
        stage: state.stage(),
        reason: reason.to_string(),
        allowed: allowed_actions_for(state, cmd.actor.role, cmd.actor.office.as_deref()),
    }
}

fn add_period(d: NaiveDate, p: crate::procedure::Period) -> NaiveDate {
    match p.unit {
        Unit::Days => crate::calendar::add_calendar_days(d, p.length),
        Unit::Months => crate::calendar::add_months(d, p.length),
    }
}

/// The validity end of a status granted on `on`: the definition's validity, or an earlier date
/// the decision names; none for an unlimited status.
fn validity(
    def: &ProcedureDefinition,
    on: NaiveDate,
    asked: Option<NaiveDate>,
    p: &mut Problems,
) -> Option<NaiveDate> {
    match (def.status_validity, asked) {
        (None, None) => None,
        (None, Some(_)) => {
            p.add(
                "valid_until",
                FieldProblem::Invalid,
                format!("under {} the status is unlimited", def.id),
            );
            None
        }
        (Some(period), None) => Some(add_period(on, period)),
        (Some(period), Some(v)) => {
            let max = add_period(on, period);
            if v <= on || v > max {
                p.add(
                    "valid_until",
                    FieldProblem::Invalid,
                    format!("must fall after {on} and on or before {max}"),
                );
            }
            Some(v)
        }
    }
}
