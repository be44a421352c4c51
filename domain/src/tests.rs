//! Given / when / then tests of the state machine, and property tests over random command
//! sequences. The harness is ours (in the spirit of disintegrate's `testing.rs`): `given` a history,
//! `when` a command, `then` events or a refusal, asserted by variant.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::actions::ActionName;
use crate::command::{Action, ApplicantInput, Command, ReferralInput, Register};
use crate::event::{CaseEvent, EventBody, PlannedService};
use crate::procedure::{DeadlineKind, RuleBook};
use crate::state::{evolve, CaseState};
use crate::types::*;
use crate::{allowed_actions, decide, DomainError, FieldProblem};

pub(crate) fn rules() -> Arc<RuleBook> {
    static RULES: OnceLock<Arc<RuleBook>> = OnceLock::new();
    RULES
        .get_or_init(|| Arc::new(RuleBook::builtin().expect("built-in rules")))
        .clone()
}

pub(crate) fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// Noon in Kyiv on `date` (10:00 UTC in summer, 10:00 or 09:00 UTC: noon either way is the same day).
pub(crate) fn noon(date: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d(date).and_hms_opt(10, 0, 0).expect("time"))
}

pub(crate) fn caseworker() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}
fn supervisor() -> Actor {
    Actor::user("sv-1", Role::Supervisor, "UA7102")
}
fn social() -> Actor {
    Actor::user("sw-1", Role::SocialWorker, "UA7102")
}
pub(crate) fn officer(office: &str) -> Actor {
    Actor::user("do-1", Role::DecisionOfficer, office)
}

pub(crate) fn registration(on: &str) -> Register {
    Register {
        register_no: "UA7102-2026-000001".into(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: d("1990-04-02"),
            citizenship: Citizenship::Ukrainian,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Hotline,
            organisation: None,
            referred_on: d(on),
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![
            (DocumentKind::Application, None),
            (DocumentKind::IdentityDocument, None),
        ],
        id_document_missing_reason: None,
        rights_explained: true,
        person: Some(RecordRef("p-1".into())),
    }
}

/// A case under test: its history and the clock.
pub(crate) struct Case {
    pub state: CaseState,
    pub events: Vec<CaseEvent>,
    pub today: String,
}

impl Case {
    pub fn new(today: &str) -> Self {
        Self {
            state: CaseState::default(),
            events: Vec::new(),
            today: today.into(),
        }
    }

    pub fn cmd(&self, actor: Actor, on: &str, action: Action) -> Command {
        Command {
            actor,
            recorded_at: noon(&self.today),
            occurred_on: d(on),
            rules: rules(),
            child: None,
            action,
            lookups: Default::default(),
        }
    }

    /// when: decide without applying.
    pub fn when(
        &self,
        actor: Actor,
        on: &str,
        action: Action,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        decide(&self.state, self.cmd(actor, on, action))
    }

    /// given: decide and apply, failing the test if refused.
    pub fn given(mut self, actor: Actor, on: &str, action: Action) -> Self {
        let events = self
            .when(actor, on, action.clone())
            .unwrap_or_else(|e| panic!("given {action:?}: {e}"));
        for e in events {
            self.events.push(e.clone());
            self.state = evolve(self.state, e);
        }
        self
    }

    /// when, with the child flag the engine works out for the act's date.
    pub fn when_child(
        &self,
        actor: Actor,
        on: &str,
        action: Action,
        child: Option<bool>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let mut cmd = self.cmd(actor, on, action);
        cmd.child = child;
        decide(&self.state, cmd)
    }

    /// Applies events decided elsewhere (`when_child`).
    pub fn apply(mut self, events: Vec<CaseEvent>) -> Self {
        for e in events {
            self.events.push(e.clone());
            self.state = evolve(self.state, e);
        }
        self
    }

    pub fn at(mut self, today: &str) -> Self {
        self.today = today.into();
        self
    }
}

fn consent(scope: ConsentScope) -> Action {
    Action::RecordConsent {
        scope,
        given_by: GivenBy::Person,
    }
}

fn registered() -> Case {
    Case::new("2026-03-02").given(
        caseworker(),
        "2026-03-02",
        Action::Register(Box::new(registration("2026-03-01"))),
    )
}

fn interviewed() -> Case {
    registered()
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        )
}

fn submitted() -> Case {
    interviewed().at("2026-03-05").given(
        caseworker(),
        "2026-03-05",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    )
}

fn granted() -> Case {
    submitted().at("2026-03-10").given(
        officer("UA-NSS"),
        "2026-03-10",
        Action::RecordDecisionGranted {
            certificate_no: "C-1".into(),
            valid_until: None,
        },
    )
}

fn refused() -> Case {
    submitted().at("2026-03-10").given(
        officer("UA-NSS"),
        "2026-03-10",
        Action::RecordDecisionRefused {
            grounds: Some(RecordRef("g".into())),
            grounds_count: 1,
        },
    )
}

fn not_allowed(r: Result<Vec<CaseEvent>, DomainError>) -> Option<(ActionName, Stage)> {
    match r {
        Err(DomainError::ActionNotAllowed { action, stage, .. }) => Some((action, stage)),
        _ => None,
    }
}

fn problems(r: Result<Vec<CaseEvent>, DomainError>) -> Vec<FieldProblem> {
    match r {
        Err(e) => e.problems(),
        Ok(_) => Vec::new(),
    }
}

// --- registration -------------------------------------------------------------------------

#[test]
fn a_registration_records_the_definition_in_force_and_starts_three_deadlines() {
    let c = registered();
    assert_eq!(c.state.stage, Some(Stage::Registered));
    assert_eq!(c.state.status, Some(Status::Pending));
    let reg = c.state.registration.as_ref().expect("registered");
    assert_eq!(reg.procedure.id, "ua-417-2021");
    let names: Vec<&str> = c.state.deadlines.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["file_submission", "interview", "overall"]);
    assert_eq!(c.state.deadlines["interview"].due_on, d("2026-03-05"));
    assert_eq!(c.state.deadlines["file_submission"].due_on, d("2026-03-12"));
    assert_eq!(c.state.deadlines["overall"].due_on, d("2026-04-02"));
}

#[test]
fn a_registration_in_2015_is_governed_by_the_2012_definition_for_life() {
    let c = Case::new("2015-02-02").given(
        caseworker(),
        "2015-02-02",
        Action::Register(Box::new(registration("2015-02-01"))),
    );
    assert_eq!(
        c.state.procedure().map(|p| p.id.as_str()),
        Some("ua-417-2012")
    );
}

#[test]
fn the_event_keeps_the_birth_year_and_child_flag_but_never_the_birth_date() {
    let c = registered();
    let json = serde_json::to_string(&c.events[0]).expect("json");
    assert!(json.contains("\"birth_year\":1990"));
    assert!(!json.contains("1990-04-02"));
}

#[test]
fn a_child_never_files_alone() {
    let mut reg = registration("2026-03-01");
    reg.applicant.birth_date = d("2012-01-01");
    let r = Case::new("2026-03-02").when(
        caseworker(),
        "2026-03-02",
        Action::Register(Box::new(reg.clone())),
    );
    assert_eq!(problems(r), [FieldProblem::ChildFilingAlone]);
    reg.filed_by = FiledBy::LegalRepresentative;
    let c =
        Case::new("2026-03-02").given(caseworker(), "2026-03-02", Action::Register(Box::new(reg)));
    assert!(c.state.is_child());
}

#[test]
fn the_child_flag_is_derived_on_the_receipt_date() {
    // 18th birthday the day after the receipt: still a child when the application was received.
    let mut reg = registration("2026-03-01");
    reg.applicant.birth_date = d("2008-03-03");
    reg.filed_by = FiledBy::LegalRepresentative;
    let c =
        Case::new("2026-03-10").given(caseworker(), "2026-03-02", Action::Register(Box::new(reg)));
    assert!(c.state.is_child());
}

#[test]
fn a_foreigner_speaking_neither_language_needs_an_interpreter() {
    let mut reg = registration("2026-03-01");
    reg.applicant.citizenship = Citizenship::Foreign;
    reg.applicant.speaks_ukrainian_or_russian = false;
    let r = Case::new("2026-03-02").when(
        caseworker(),
        "2026-03-02",
        Action::Register(Box::new(reg.clone())),
    );
    assert_eq!(problems(r), [FieldProblem::InterpreterRequired]);
    reg.applicant.interpreter_used = true;
    assert!(Case::new("2026-03-02")
        .when(caseworker(), "2026-03-02", Action::Register(Box::new(reg)))
        .is_ok());
}

#[test]
fn a_foreign_citizen_s_country_is_an_assigned_iso_code_and_only_a_foreigner_s() {
    let with = |citizenship: Citizenship, country: Option<&str>| {
        let mut reg = registration("2026-03-01");
        reg.applicant.citizenship = citizenship;
        reg.applicant.citizenship_country = country.map(str::to_string);
        Case::new("2026-03-02").when(caseworker(), "2026-03-02", Action::Register(Box::new(reg)))
    };
    for (citizenship, country) in [
        (Citizenship::Foreign, "ZZ"),
        (Citizenship::Foreign, "XX"),
        (Citizenship::Foreign, "md"),
        (Citizenship::Foreign, "MDA"),
        (Citizenship::Foreign, "UA"),
        (Citizenship::Ukrainian, "PL"),
        (Citizenship::Stateless, "MD"),
    ] {
        assert_eq!(
            problems(with(citizenship, Some(country))),
            [FieldProblem::Invalid],
            "{citizenship} {country}"
        );
    }
    for (citizenship, country) in [
        (Citizenship::Foreign, Some("MD")),
        (Citizenship::Foreign, None),
        (Citizenship::Ukrainian, Some("UA")),
        (Citizenship::Stateless, None),
    ] {
        let events = with(citizenship, country).expect("lawful");
        let EventBody::ApplicationRegistered { applicant, .. } = &events[0].body else {
            panic!("a registration");
        };
        assert_eq!(applicant.citizenship_country.as_deref(), country);
    }
}

#[test]
fn a_receipt_date_in_the_future_is_refused() {
    let r = Case::new("2026-03-02").when(
        caseworker(),
        "2026-03-03",
        Action::Register(Box::new(registration("2026-03-01"))),
    );
    assert_eq!(problems(r), [FieldProblem::InFuture]);
}

#[test]
fn only_the_referral_date_may_precede_registration() {
    let r = registered().when(
        caseworker(),
        "2026-03-01",
        consent(ConsentScope::StatusProcedure),
    );
    assert_eq!(
        r.err(),
        Some(DomainError::DateOutOfOrder {
            date: d("2026-03-01"),
            follows: crate::PriorStep::Registration,
            not_before: d("2026-03-02"),
        })
    );
    let mut reg = registration("2026-03-05");
    reg.referral = Some(ReferralInput {
        source: ReferralSource::Police,
        organisation: None,
        referred_on: d("2026-03-05"),
    });
    let r =
        Case::new("2026-03-06").when(caseworker(), "2026-03-02", Action::Register(Box::new(reg)));
    assert_eq!(problems(r), [FieldProblem::Invalid]);
}

#[test]
fn no_court_decision_or_criminal_case_is_demanded() {
    // The registration form has no such field, and the main path reaches a grant without one.
    assert_eq!(granted().state.status, Some(Status::Granted));
}

#[test]
fn registering_twice_is_not_allowed() {
    let r = registered().when(
        caseworker(),
        "2026-03-02",
        Action::Register(Box::new(registration("2026-03-01"))),
    );
    assert_eq!(
        not_allowed(r),
        Some((ActionName::Register, Stage::Registered))
    );
}

// --- roles ---------------------------------------------------------------------------------

#[test]
fn an_auditor_may_not_act() {
    let r = registered().when(
        Actor::user("a", Role::Auditor, "UA"),
        "2026-03-02",
        consent(ConsentScope::StatusProcedure),
    );
    assert_eq!(
        r,
        Err(DomainError::RoleNotAllowed {
            action: ActionName::RecordConsent,
            role: Role::Auditor
        })
    );
}

#[test]
fn a_caseworker_may_not_assign_or_decide() {
    let r = registered().when(
        caseworker(),
        "2026-03-02",
        Action::Assign {
            assignee: "x".into(),
        },
    );
    assert!(matches!(r, Err(DomainError::RoleNotAllowed { .. })));
    let r = submitted().when(
        caseworker(),
        "2026-03-05",
        Action::RecordDecisionGranted {
            certificate_no: "C".into(),
            valid_until: None,
        },
    );
    assert!(matches!(r, Err(DomainError::RoleNotAllowed { .. })));
}

// --- consent ---------------------------------------------------------------------------------

#[test]
fn the_interview_needs_consent_to_the_status_procedure() {
    let r = registered().when(
        caseworker(),
        "2026-03-02",
        Action::RecordInterview {
            consent_signed_by: GivenBy::Person,
            non_disclosure_receipt_signed: true,
        },
    );
    assert_eq!(
        r,
        Err(DomainError::ConsentRequired {
            action: ActionName::RecordInterview,
            scope: ConsentScope::StatusProcedure
        })
    );
}

#[test]
fn a_police_request_needs_consent_to_share_with_the_police_and_stops_after_its_withdrawal() {
    let c = interviewed();
    let req = Action::RequestVerification {
        to: VerificationTarget::NationalPolice,
    };
    assert!(matches!(
        c.when(caseworker(), "2026-03-02", req.clone()),
        Err(DomainError::ConsentRequired {
            scope: ConsentScope::ShareWithPolice,
            ..
        })
    ));
    let c = c.given(
        caseworker(),
        "2026-03-02",
        consent(ConsentScope::ShareWithPolice),
    );
    assert!(c.when(caseworker(), "2026-03-02", req.clone()).is_ok());
    let c = c.given(
        caseworker(),
        "2026-03-02",
        Action::WithdrawConsent {
            scope: ConsentScope::ShareWithPolice,
            given_by: GivenBy::Person,
        },
    );
    assert!(matches!(
        c.when(caseworker(), "2026-03-02", req),
        Err(DomainError::ConsentRequired { .. })
    ));
}

#[test]
fn a_referral_to_social_services_needs_its_consent() {
    let r = registered().when(
        caseworker(),
        "2026-03-02",
        Action::ReferToSocialServices {
            centre: RecordRef("Cherkasy CSS".into()),
        },
    );
    assert!(matches!(
        r,
        Err(DomainError::ConsentRequired {
            scope: ConsentScope::ShareWithSocialServices,
            ..
        })
    ));
}

#[test]
fn withdrawing_consent_to_the_procedure_itself_is_the_withdraw_action() {
    let c = registered().given(
        caseworker(),
        "2026-03-02",
        consent(ConsentScope::StatusProcedure),
    );
    let r = c.when(
        caseworker(),
        "2026-03-02",
        Action::WithdrawConsent {
            scope: ConsentScope::StatusProcedure,
            given_by: GivenBy::Person,
        },
    );
    assert_eq!(problems(r), [FieldProblem::Invalid]);
}

#[test]
fn for_a_child_the_legal_representative_consents() {
    let mut reg = registration("2026-03-01");
    reg.applicant.birth_date = d("2014-01-01");
    reg.filed_by = FiledBy::LegalRepresentative;
    let c =
        Case::new("2026-03-02").given(caseworker(), "2026-03-02", Action::Register(Box::new(reg)));
    let r = c.when(
        caseworker(),
        "2026-03-02",
        consent(ConsentScope::StatusProcedure),
    );
    assert_eq!(problems(r), [FieldProblem::LegalRepresentativeRequired]);
}

// --- interview ---------------------------------------------------------------------------------

#[test]
fn the_interview_needs_the_non_disclosure_receipt() {
    let c = registered().given(
        caseworker(),
        "2026-03-02",
        consent(ConsentScope::StatusProcedure),
    );
    let r = c.when(
        caseworker(),
        "2026-03-02",
        Action::RecordInterview {
            consent_signed_by: GivenBy::Person,
            non_disclosure_receipt_signed: false,
        },
    );
    assert_eq!(problems(r), [FieldProblem::MustBeTrue]);
}

#[test]
fn an_interview_skipped_as_already_recognised_needs_the_reference() {
    let r = registered().when(
        caseworker(),
        "2026-03-02",
        Action::SkipInterview {
            ground: SkipGround::AlreadyRecognised,
            reference: None,
        },
    );
    assert_eq!(problems(r), [FieldProblem::Required]);
    let c = registered().given(
        caseworker(),
        "2026-03-02",
        Action::SkipInterview {
            ground: SkipGround::ImpossibleMentalState,
            reference: None,
        },
    );
    assert_eq!(c.state.stage, Some(Stage::InterviewDone));
}

#[test]
fn the_interview_met_on_its_due_date_is_met_and_late_is_missed() {
    use crate::deadlines::{deadline_state, DeadlineState};
    let c = registered()
        .at("2026-03-05")
        .given(
            caseworker(),
            "2026-03-05",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-05",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        );
    assert_eq!(
        deadline_state(&c.state.deadlines["interview"], d("2026-04-01")),
        DeadlineState::Met
    );
    let c = registered()
        .at("2026-03-06")
        .given(
            caseworker(),
            "2026-03-06",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-06",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        );
    assert_eq!(
        deadline_state(&c.state.deadlines["interview"], d("2026-04-01")),
        DeadlineState::Missed
    );
}

// --- verification and submission -------------------------------------------------------------

#[test]
fn a_file_cannot_be_submitted_before_the_interview() {
    let c = registered().given(
        caseworker(),
        "2026-03-02",
        consent(ConsentScope::StatusProcedure),
    );
    let r = c.when(
        caseworker(),
        "2026-03-02",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    assert_eq!(
        not_allowed(r),
        Some((ActionName::SubmitFile, Stage::Registered))
    );
}

#[test]
fn a_file_waits_for_an_unanswered_request_until_its_reply_deadline_then_notes_it() {
    let c = interviewed()
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::ShareWithPolice),
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::RequestVerification {
                to: VerificationTarget::NationalPolice,
            },
        );
    assert_eq!(c.state.stage, Some(Stage::Verification));
    assert_eq!(c.state.verification_requests[0].due_on, d("2026-03-12"));
    let c = c.at("2026-03-12");
    let r = c.when(
        caseworker(),
        "2026-03-12",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    assert!(not_allowed(r).is_some());
    let c = c.at("2026-03-13").given(
        caseworker(),
        "2026-03-13",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    match &c.events.last().map(|e| &e.body) {
        Some(EventBody::FileSubmitted {
            overdue_requests, ..
        }) => assert_eq!(overdue_requests, &["vr-1".to_string()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_needs_an_identity_document_or_the_reason_it_is_missing() {
    let mut reg = registration("2026-03-01");
    reg.documents = vec![(DocumentKind::Application, None)];
    let c = Case::new("2026-03-02")
        .given(
            caseworker(),
            "2026-03-02",
            Action::Register(Box::new(reg.clone())),
        )
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::SkipInterview {
                ground: SkipGround::ImpossibleMentalState,
                reference: None,
            },
        );
    assert!(not_allowed(c.when(
        caseworker(),
        "2026-03-02",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant
        }
    ))
    .is_some());
    let c = c.given(
        caseworker(),
        "2026-03-02",
        Action::AttachDocument {
            kind: DocumentKind::IdentityDocument,
            note: None,
        },
    );
    assert!(c
        .when(
            caseworker(),
            "2026-03-02",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant
            }
        )
        .is_ok());
    reg.id_document_missing_reason = Some(RecordRef("why".into()));
    let c = Case::new("2026-03-02")
        .given(caseworker(), "2026-03-02", Action::Register(Box::new(reg)))
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::SkipInterview {
                ground: SkipGround::ImpossibleMentalState,
                reference: None,
            },
        );
    assert!(c
        .when(
            caseworker(),
            "2026-03-02",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant
            }
        )
        .is_ok());
}

#[test]
fn the_file_goes_to_the_authority_in_force_on_the_submission_day() {
    // Registered under the 2012 definition on 2021-05-25, submitted after the 2021 switch.
    let c = Case::new("2021-05-25")
        .given(
            caseworker(),
            "2021-05-25",
            Action::Register(Box::new(registration("2021-05-25"))),
        )
        .given(
            caseworker(),
            "2021-05-25",
            consent(ConsentScope::StatusProcedure),
        )
        .at("2021-05-26")
        .given(
            caseworker(),
            "2021-05-26",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        )
        .at("2021-06-02")
        .given(
            caseworker(),
            "2021-06-02",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        );
    assert_eq!(
        c.state.procedure().map(|p| p.id.as_str()),
        Some("ua-417-2012")
    );
    assert_eq!(c.state.submitted_to.as_deref(), Some("UA-NSS"));
    let r = c.when(
        officer("UA-MSP"),
        "2021-06-02",
        Action::RecordDecisionGranted {
            certificate_no: "C".into(),
            valid_until: None,
        },
    );
    assert!(not_allowed(r).is_some(), "the ministry no longer decides");
}

#[test]
fn only_the_authority_holding_the_file_decides() {
    let r = submitted().when(
        officer("UA-MSP"),
        "2026-03-05",
        Action::RecordDecisionGranted {
            certificate_no: "C".into(),
            valid_until: None,
        },
    );
    assert!(not_allowed(r).is_some());
}

#[test]
fn a_returned_file_restarts_the_submission_deadline() {
    let c = submitted().at("2026-03-08").given(
        officer("UA-NSS"),
        "2026-03-08",
        Action::ReturnFile {
            missing: Some(RecordRef("m".into())),
            missing_count: 2,
        },
    );
    assert_eq!(c.state.stage, Some(Stage::Returned));
    assert_eq!(c.state.deadlines["file_submission"].due_on, d("2026-03-18"));
    assert!(c.state.deadlines["file_submission"].fulfilled_on.is_none());
    let c = c.given(
        caseworker(),
        "2026-03-08",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    assert_eq!(c.state.stage, Some(Stage::Submitted));
}

// --- decision, appeal, expiry -------------------------------------------------------------------

#[test]
fn a_grant_meets_the_decision_and_overall_deadlines_and_starts_the_plan_deadline() {
    let c = granted();
    assert_eq!(
        c.state.deadlines["decision"].fulfilled_on,
        Some(d("2026-03-10"))
    );
    assert_eq!(
        c.state.deadlines["overall"].fulfilled_on,
        Some(d("2026-03-10"))
    );
    // 10 working days after Tuesday 2026-03-10: weekends skipped, martial law: no holidays off.
    assert_eq!(
        c.state.deadlines["rehabilitation_plan"].due_on,
        d("2026-03-24")
    );
}

#[test]
fn a_refusal_states_its_grounds() {
    let r = submitted().when(
        officer("UA-NSS"),
        "2026-03-05",
        Action::RecordDecisionRefused {
            grounds: None,
            grounds_count: 0,
        },
    );
    assert_eq!(problems(r), [FieldProblem::Required]);
}

#[test]
fn an_unlimited_status_cannot_be_given_a_validity() {
    let r = submitted().when(
        officer("UA-NSS"),
        "2026-03-05",
        Action::RecordDecisionGranted {
            certificate_no: "C".into(),
            valid_until: Some(d("2027-01-01")),
        },
    );
    assert_eq!(problems(r), [FieldProblem::Invalid]);
}

#[test]
fn a_refusal_can_be_appealed_and_a_ruling_can_order_a_new_decision() {
    let c = refused().given(
        caseworker(),
        "2026-03-10",
        Action::RecordAppeal { reference: None },
    );
    assert_eq!(
        (c.state.stage, c.state.status),
        (Some(Stage::Appeal), Some(Status::Refused))
    );
    let c = c.given(
        caseworker(),
        "2026-03-10",
        Action::RecordCourtRuling {
            outcome: RulingOutcome::AnnulledNewDecision,
        },
    );
    assert_eq!(
        (c.state.stage, c.state.status),
        (Some(Stage::Submitted), Some(Status::Pending))
    );
    assert!(c
        .when(
            officer("UA-NSS"),
            "2026-03-10",
            Action::RecordDecisionGranted {
                certificate_no: "C".into(),
                valid_until: None
            }
        )
        .is_ok());
}

#[test]
fn a_ruling_that_establishes_the_status_sends_the_file_to_the_authority_which_grants_it() {
    let c = refused()
        .given(
            caseworker(),
            "2026-03-10",
            Action::RecordAppeal { reference: None },
        )
        .at("2026-04-10")
        .given(
            caseworker(),
            "2026-04-10",
            Action::RecordCourtRuling {
                outcome: RulingOutcome::AnnulledStatusEstablished,
            },
        );
    assert_eq!(
        (c.state.stage, c.state.status),
        (Some(Stage::Submitted), Some(Status::Pending))
    );
    assert_eq!(c.state.submitted_to.as_deref(), Some("UA-NSS"));
    // The authority may not refuse what the court established.
    let c = c.at("2026-04-12");
    let r = c.when(
        officer("UA-NSS"),
        "2026-04-12",
        Action::RecordDecisionRefused {
            grounds: Some(RecordRef("g".into())),
            grounds_count: 1,
        },
    );
    assert_eq!(
        r.err().and_then(|e| match e {
            DomainError::ActionNotAllowed { reason, .. } => Some(reason),
            _ => None,
        }),
        Some(crate::Unavailable::StatusOrderedByCourt)
    );
    let c = c.given(
        officer("UA-NSS"),
        "2026-04-12",
        Action::RecordDecisionGranted {
            certificate_no: "NSS-2026-0009".into(),
            valid_until: None,
        },
    );
    let decision = c.state.decision.clone().expect("a decision");
    assert_eq!(
        (
            decision.authority.as_str(),
            decision.certificate_no.as_deref()
        ),
        ("UA-NSS", Some("NSS-2026-0009"))
    );
    assert_eq!(c.state.status, Some(Status::Granted));
}

#[test]
fn a_grant_cannot_be_appealed() {
    assert!(not_allowed(granted().when(
        caseworker(),
        "2026-03-10",
        Action::RecordAppeal { reference: None }
    ))
    .is_some());
}

#[test]
fn a_status_with_validity_can_be_extended_and_expires() {
    let text = RuleBook::builtin().expect("rules").definitions()[1].clone();
    let mut def = (*text).clone();
    def.status_validity = Some(crate::procedure::Period {
        length: 24,
        unit: crate::procedure::Unit::Months,
    });
    def.status_extension_max = Some(crate::procedure::Period {
        length: 12,
        unit: crate::procedure::Unit::Months,
    });
    let toml_text = toml::to_string(&def).expect("toml");
    let book = RuleBook::from_files(
        vec![("limited.toml".into(), toml_text)],
        crate::Calendar::builtin().expect("cal"),
    )
    .expect("book");
    let book = Arc::new(book);
    let mut c = submitted().at("2026-03-10");
    // Swap the governing definition for the limited one (as if registered under it).
    if let Some(r) = c.state.registration.as_mut() {
        r.procedure = book.definitions()[0].clone();
    }
    let mut cmd = c.cmd(
        officer("UA-NSS"),
        "2026-03-10",
        Action::RecordDecisionGranted {
            certificate_no: "C".into(),
            valid_until: None,
        },
    );
    cmd.rules = book.clone();
    for e in decide(&c.state, cmd).expect("grant") {
        c.state = evolve(c.state, e);
    }
    assert_eq!(c.state.valid_until, Some(d("2028-03-10")));
    let r = c.when(
        supervisor(),
        "2026-03-10",
        Action::ExtendStatus {
            valid_until: d("2029-06-01"),
            reason: Some(RecordRef("r".into())),
        },
    );
    assert_eq!(problems(r), [FieldProblem::Invalid]);
    let c = c.given(
        supervisor(),
        "2026-03-10",
        Action::ExtendStatus {
            valid_until: d("2029-03-10"),
            reason: Some(RecordRef("r".into())),
        },
    );
    assert_eq!(c.state.valid_until, Some(d("2029-03-10")));
    assert!(
        not_allowed(c.when(Actor::system(), "2026-03-10", Action::RecordStatusExpiry)).is_some()
    );
    let c = c
        .at("2029-03-11")
        .given(Actor::system(), "2029-03-11", Action::RecordStatusExpiry);
    assert_eq!(
        (c.state.stage, c.state.status),
        (Some(Stage::Closed), Some(Status::Expired))
    );
}

// --- withdrawal and closure ---------------------------------------------------------------------

#[test]
fn after_withdrawal_nothing_but_reading() {
    let c = interviewed().given(
        caseworker(),
        "2026-03-02",
        Action::Withdraw { reason: None },
    );
    assert_eq!(
        (c.state.stage, c.state.status),
        (Some(Stage::Closed), Some(Status::Withdrawn))
    );
    assert!(c
        .state
        .deadlines
        .values()
        .all(|d| d.fulfilled_on.is_some() || d.cancelled_on.is_some()));
    for role in [
        Role::Caseworker,
        Role::Supervisor,
        Role::SocialWorker,
        Role::DecisionOfficer,
    ] {
        let allowed = allowed_actions(&c.state, role);
        assert!(
            allowed.iter().all(|a| *a == ActionName::ErasePersonalData),
            "{role}: {allowed:?}"
        );
    }
    assert!(not_allowed(c.when(
        caseworker(),
        "2026-03-02",
        Action::AddNote {
            note: RecordRef("n".into())
        }
    ))
    .is_some());
}

#[test]
fn withdrawal_is_possible_only_before_the_decision() {
    assert!(not_allowed(granted().when(
        caseworker(),
        "2026-03-10",
        Action::Withdraw { reason: None }
    ))
    .is_some());
}

// --- assistance track ---------------------------------------------------------------------------

fn referred() -> Case {
    registered()
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::ShareWithSocialServices),
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::ReferToSocialServices {
                centre: RecordRef("Zvenyhorodka CSS".into()),
            },
        )
}

#[test]
fn help_does_not_wait_for_the_decision() {
    let c = referred().given(
        social(),
        "2026-03-02",
        Action::RecordNeedsAssessment {
            needs: vec![Need::Shelter, Need::Medical],
        },
    );
    // 5 working days from Monday 2026-03-02.
    assert_eq!(
        c.state.deadlines["needs_assessment"].due_on,
        d("2026-03-09")
    );
    let c = c.given(
        social(),
        "2026-03-02",
        Action::PlaceInShelter {
            shelter: RecordRef("Cherkasy shelter".into()),
        },
    );
    assert_eq!(c.state.deadlines["shelter"].due_on, d("2026-06-02"));
    let c = c.given(
        social(),
        "2026-03-02",
        Action::RecordService {
            service: Need::Medical,
            provider: RecordRef("Hospital 3".into()),
            to: None,
        },
    );
    assert_eq!(c.state.assistance.services.len(), 1);
}

#[test]
fn a_rehabilitation_plan_needs_a_granted_status_and_written_consent() {
    let plan = |consent: bool| Action::ApproveRehabilitationPlan {
        written_consent: consent,
        services: vec![PlannedService {
            service: Need::Psychological,
            provider: Some(RecordRef("CSS".into())),
            from: None,
            to: None,
        }],
    };
    let c = referred().given(
        social(),
        "2026-03-02",
        Action::RecordNeedsAssessment {
            needs: vec![Need::Psychological],
        },
    );
    assert!(not_allowed(c.when(social(), "2026-03-02", plan(true))).is_some());
    let c = c
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        )
        .given(
            officer("UA-NSS"),
            "2026-03-02",
            Action::RecordDecisionGranted {
                certificate_no: "C".into(),
                valid_until: None,
            },
        );
    assert_eq!(
        problems(c.when(social(), "2026-03-02", plan(false))),
        [FieldProblem::MustBeTrue]
    );
    let c = c.given(social(), "2026-03-02", plan(true));
    assert!(c.state.assistance.plan.is_some());
}

#[test]
fn shelter_beyond_three_months_needs_an_extension_with_a_reason() {
    let c = registered().given(
        social(),
        "2026-03-02",
        Action::PlaceInShelter {
            shelter: RecordRef("S".into()),
        },
    );
    assert_eq!(
        problems(c.when(
            social(),
            "2026-03-02",
            Action::ExtendShelter { reason: None }
        )),
        [FieldProblem::Required]
    );
    let c = c.given(
        social(),
        "2026-03-02",
        Action::ExtendShelter {
            reason: Some(RecordRef("criminal proceedings".into())),
        },
    );
    assert_eq!(c.state.deadlines["shelter"].due_on, d("2026-09-02"));
}

#[test]
fn the_payment_needs_a_granted_status_and_is_due_within_a_month() {
    assert!(
        not_allowed(registered().when(caseworker(), "2026-03-02", Action::RequestPayment))
            .is_some()
    );
    let c = granted().given(caseworker(), "2026-03-10", Action::RequestPayment);
    assert_eq!(c.state.deadlines["payment"].due_on, d("2026-04-10"));
    let c = c.given(
        caseworker(),
        "2026-03-10",
        Action::RecordPayment {
            amount_kopiyky: 908_400,
        },
    );
    assert!(c.state.deadlines["payment"].fulfilled_on.is_some());
}

#[test]
fn a_payment_of_nothing_is_refused() {
    let c = granted().given(caseworker(), "2026-03-10", Action::RequestPayment);
    let r = c.when(
        caseworker(),
        "2026-03-10",
        Action::RecordPayment { amount_kopiyky: 0 },
    );
    assert_eq!(
        refused_fields(r),
        [("amount_kopiyky".to_string(), FieldProblem::Invalid)]
    );
}

#[test]
fn a_planned_or_delivered_service_that_ends_before_it_starts_is_refused() {
    let c = granted()
        .given(
            caseworker(),
            "2026-03-10",
            consent(ConsentScope::ShareWithSocialServices),
        )
        .given(
            caseworker(),
            "2026-03-10",
            Action::ReferToSocialServices {
                centre: RecordRef("CSS".into()),
            },
        )
        .given(
            social(),
            "2026-03-10",
            Action::RecordNeedsAssessment {
                needs: vec![Need::Medical],
            },
        );
    let r = c.when(
        social(),
        "2026-03-10",
        Action::ApproveRehabilitationPlan {
            written_consent: true,
            services: vec![PlannedService {
                service: Need::Medical,
                provider: Some(RecordRef("Hospital".into())),
                from: Some(d("2026-03-20")),
                to: Some(d("2026-03-19")),
            }],
        },
    );
    assert_eq!(
        refused_fields(r),
        [("services[0].to".to_string(), FieldProblem::Invalid)]
    );
    let r = c.when(
        social(),
        "2026-03-10",
        Action::RecordService {
            service: Need::Medical,
            provider: RecordRef("Hospital".into()),
            to: Some(d("2026-03-09")),
        },
    );
    assert_eq!(
        refused_fields(r),
        [("to".to_string(), FieldProblem::Invalid)]
    );
}

// --- system records ------------------------------------------------------------------------------

#[test]
fn a_missed_deadline_is_recorded_once_with_its_due_date() {
    let c = registered().at("2026-03-06");
    let c = c.given(
        Actor::system(),
        "2026-03-06",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Interview.into(),
        },
    );
    match &c.events.last().map(|e| &e.body) {
        Some(EventBody::DeadlineMissed {
            due_on,
            responsible,
            ..
        }) => {
            assert_eq!(*due_on, d("2026-03-05"));
            assert_eq!(responsible.office, "UA7102");
        }
        other => panic!("{other:?}"),
    }
    assert!(not_allowed(c.when(
        Actor::system(),
        "2026-03-06",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Interview.into()
        }
    ))
    .is_some());
}

#[test]
fn a_deadline_is_not_missed_on_its_due_date() {
    let c = registered().at("2026-03-05");
    assert!(not_allowed(c.when(
        Actor::system(),
        "2026-03-05",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Interview.into()
        }
    ))
    .is_some());
}

#[test]
fn erasure_is_a_marker_and_leaves_the_case_readable_only() {
    let c = registered().given(
        supervisor(),
        "2026-03-02",
        Action::ErasePersonalData {
            category: ErasureCategory::PersonRequest,
        },
    );
    assert!(c.state.erased);
    assert_eq!(
        c.events.last().map(|e| &e.body),
        Some(&EventBody::PersonalDataErased {
            category: Some(ErasureCategory::PersonRequest)
        })
    );
    assert!(not_allowed(c.when(
        caseworker(),
        "2026-03-02",
        Action::AddNote {
            note: RecordRef("n".into())
        }
    ))
    .is_some());
}

#[test]
fn a_correction_names_the_entry_it_supersedes() {
    let c = registered();
    assert_eq!(
        problems(c.when(
            caseworker(),
            "2026-03-02",
            Action::CorrectEntry {
                supersedes: 5,
                field: "occurred_on".into(),
                corrected_on: None,
                correction: RecordRef("c".into())
            }
        )),
        [FieldProblem::NotFound]
    );
    let c = c.given(
        caseworker(),
        "2026-03-02",
        Action::CorrectEntry {
            supersedes: 1,
            field: "occurred_on".into(),
            corrected_on: None,
            correction: RecordRef("c".into()),
        },
    );
    assert_eq!(c.state.corrections[0].supersedes, 1);
}

#[test]
fn transfer_moves_the_case_to_another_office() {
    let c = registered().given(
        supervisor(),
        "2026-03-02",
        Action::Transfer {
            to_office: "UA7108".parse().unwrap(),
        },
    );
    assert_eq!(c.state.office(), "UA7108");
    assert_eq!(
        problems(c.when(
            supervisor(),
            "2026-03-02",
            Action::Transfer {
                to_office: "UA7108".parse().unwrap()
            }
        )),
        [FieldProblem::Unchanged]
    );
}

#[test]
fn allowed_actions_follow_the_stage_and_role() {
    let c = registered();
    let cw = allowed_actions(&c.state, Role::Caseworker);
    assert!(cw.contains(&ActionName::RecordInterview));
    assert!(!cw.contains(&ActionName::SubmitFile));
    assert!(!cw.contains(&ActionName::Assign));
    assert!(allowed_actions(&c.state, Role::Auditor).is_empty());
    let s = submitted();
    assert_eq!(
        crate::allowed_actions_for(&s.state, Role::DecisionOfficer, Some("UA-NSS")),
        [ActionName::ReturnFile, ActionName::RecordDecision]
    );
    assert!(crate::allowed_actions_for(&s.state, Role::DecisionOfficer, Some("UA-MSP")).is_empty());
}

#[test]
fn an_erasure_event_recorded_before_its_category_existed_reads_and_writes_back_unchanged() {
    // The stored shape of the first version: no data. It reads as "no category" and serialises
    // back byte for byte, so the hash chain over it still verifies.
    let old = r#"{"type":"personal_data_erased","data":{}}"#;
    let body: EventBody = serde_json::from_str(old).expect("decode");
    assert_eq!(body, EventBody::PersonalDataErased { category: None });
    assert_eq!(serde_json::to_string(&body).expect("json"), old);
    let new = EventBody::PersonalDataErased {
        category: Some(ErasureCategory::RetentionEnded),
    };
    assert_eq!(
        serde_json::to_string(&new).expect("json"),
        r#"{"type":"personal_data_erased","data":{"category":"retention_ended"}}"#
    );
}

#[test]
fn events_round_trip_through_json() {
    let c = granted().given(caseworker(), "2026-03-10", Action::HandOverDecision);
    for e in &c.events {
        let json = serde_json::to_string(e).expect("json");
        let back: CaseEvent = serde_json::from_str(&json).expect("decode");
        assert_eq!(&back, e);
    }
    let replayed = c.events.iter().cloned().fold(CaseState::default(), evolve);
    assert_eq!(replayed, c.state);
}

#[test]
fn explanations_name_the_rule_and_the_days_skipped() {
    let c = referred();
    let e = crate::explain(&c.state, "needs_assessment", rules().calendar()).expect("explained");
    assert_eq!(e.definition, "ua-417-2021");
    assert_eq!(e.due_on, d("2026-03-09"));
    assert_eq!(e.days_skipped.len(), 2, "{:?}", e.days_skipped);
    assert!(e.rule.contains("5 working days"));
}

#[test]
fn a_reply_names_an_existing_unanswered_request() {
    let c = interviewed().given(
        caseworker(),
        "2026-03-02",
        Action::RequestVerification {
            to: VerificationTarget::Medical,
        },
    );
    let reply = |id: &str| Action::RecordVerificationReply {
        request_id: id.into(),
        outcome: ReplyOutcome::Inconclusive,
    };
    assert_eq!(
        problems(c.when(caseworker(), "2026-03-02", reply("vr-9"))),
        [FieldProblem::NotFound]
    );
    let c = c.given(caseworker(), "2026-03-02", reply("vr-1"));
    assert_eq!(
        c.state.verification_requests[0].reply,
        Some(ReplyOutcome::Inconclusive)
    );
    assert!(not_allowed(c.when(caseworker(), "2026-03-02", reply("vr-1"))).is_some());
}

#[test]
fn a_decision_is_handed_over_once() {
    let c = granted().given(caseworker(), "2026-03-10", Action::HandOverDecision);
    assert_eq!(
        c.state.decision.as_ref().and_then(|d| d.handed_over_on),
        Some(d("2026-03-10"))
    );
    assert!(not_allowed(c.when(caseworker(), "2026-03-10", Action::HandOverDecision)).is_some());
    assert!(
        not_allowed(submitted().when(caseworker(), "2026-03-05", Action::HandOverDecision))
            .is_some()
    );
}

#[test]
fn a_supervisor_assigns_and_reassigning_to_the_same_user_is_refused() {
    let c = registered().given(
        supervisor(),
        "2026-03-02",
        Action::Assign {
            assignee: "cw-2".into(),
        },
    );
    assert_eq!(c.state.assignee.as_deref(), Some("cw-2"));
    let r = c.when(
        supervisor(),
        "2026-03-02",
        Action::Assign {
            assignee: "cw-2".into(),
        },
    );
    assert_eq!(problems(r), [FieldProblem::Unchanged]);
}

#[test]
fn documents_can_be_attached_and_services_follow_the_referral() {
    let c = registered().given(
        caseworker(),
        "2026-03-02",
        Action::AttachDocument {
            kind: DocumentKind::MedicalConclusion,
            note: Some(RecordRef("m".into())),
        },
    );
    assert!(c.state.documents.contains(&DocumentKind::MedicalConclusion));
    let r = c.when(
        social(),
        "2026-03-02",
        Action::RecordService {
            service: Need::Medical,
            provider: RecordRef("H".into()),
            to: None,
        },
    );
    assert!(not_allowed(r).is_some());
}

#[test]
fn a_court_ruling_needs_an_appeal_and_an_upheld_refusal_stands() {
    assert!(not_allowed(refused().when(
        caseworker(),
        "2026-03-10",
        Action::RecordCourtRuling {
            outcome: RulingOutcome::Upheld,
        }
    ))
    .is_some());
    let c = refused()
        .given(
            caseworker(),
            "2026-03-10",
            Action::RecordAppeal { reference: None },
        )
        .given(
            caseworker(),
            "2026-03-10",
            Action::RecordCourtRuling {
                outcome: RulingOutcome::Upheld,
            },
        );
    assert_eq!(
        (c.state.stage, c.state.status),
        (Some(Stage::Decided), Some(Status::Refused))
    );
}

/// The fields a refusal names, in order.
fn refused_fields(r: Result<Vec<CaseEvent>, DomainError>) -> Vec<(String, FieldProblem)> {
    match r {
        Err(DomainError::Validation(errors)) => {
            errors.into_iter().map(|e| (e.field, e.problem)).collect()
        }
        _ => Vec::new(),
    }
}

#[test]
fn a_return_lists_what_is_missing() {
    let r = submitted().when(
        officer("UA-NSS"),
        "2026-03-05",
        Action::ReturnFile {
            missing: None,
            missing_count: 0,
        },
    );
    assert_eq!(problems(r), [FieldProblem::Required]);
}

#[test]
fn a_deadline_suspended_while_the_file_is_returned_moves_by_the_days_it_was_back() {
    // A test definition: the overall limit stops counting while a returned file is with the office.
    let text = include_str!("../procedures/ua-417-2021.toml").replace(
        "[deadlines.overall]\n",
        "[deadlines.overall]\nsuspended_while = [\"file_returned\"]\n",
    );
    let def = crate::procedure::ProcedureDefinition::from_toml("suspending.toml", &text)
        .expect("definition");
    assert_eq!(
        def.deadlines[&crate::procedure::DeadlineKind::Overall].suspended_while,
        [crate::procedure::SuspendCondition::FileReturned]
    );
    let mut c = submitted().at("2026-03-08");
    if let Some(r) = c.state.registration.as_mut() {
        r.procedure = Arc::new(def);
    }
    assert_eq!(c.state.deadlines["overall"].due_on, d("2026-04-02"));
    let c = c.given(
        officer("UA-NSS"),
        "2026-03-08",
        Action::ReturnFile {
            missing: Some(RecordRef("m".into())),
            missing_count: 1,
        },
    );
    use crate::deadlines::{deadline_state, DeadlineState};
    assert_eq!(
        deadline_state(&c.state.deadlines["overall"], d("2026-05-01")),
        DeadlineState::Suspended
    );
    let c = c.at("2026-05-01");
    let miss = c.when(
        Actor::system(),
        "2026-05-01",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Overall.into(),
        },
    );
    assert!(
        not_allowed(miss).is_some(),
        "a suspended deadline is not missed"
    );
    let c = c.at("2026-03-18").given(
        caseworker(),
        "2026-03-18",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    let overall = &c.state.deadlines["overall"];
    assert_eq!(
        overall.due_on,
        d("2026-04-12"),
        "10 days back with the office"
    );
    assert_eq!(overall.suspensions, [(d("2026-03-08"), d("2026-03-18"))]);
    let e = crate::explain(&c.state, "overall", rules().calendar()).expect("explained");
    assert_eq!(e.suspensions.len(), 1, "{:?}", e.suspensions);
    assert!(e.suspensions[0].contains("10 days"));
    assert!(
        e.suspensions[0].contains("while file returned"),
        "{}",
        e.suspensions[0]
    );
    // The shipped definitions suspend nothing: the same return leaves `overall` running.
    let plain = submitted().at("2026-03-08").given(
        officer("UA-NSS"),
        "2026-03-08",
        Action::ReturnFile {
            missing: Some(RecordRef("m".into())),
            missing_count: 1,
        },
    );
    assert!(plain.state.deadlines["overall"].suspended_from.is_none());
}

mod per_act;
mod properties;
mod rolling;

#[test]
fn a_certificate_number_already_issued_by_the_authority_is_refused() {
    // given a file at the National Social Service, and the engine found the number in its register
    let c = submitted();
    let grant = Action::RecordDecisionGranted {
        certificate_no: "NSS-2026-0001".into(),
        valid_until: None,
    };
    let mut cmd = c.cmd(officer("UA-NSS"), "2026-03-05", grant.clone());
    cmd.lookups.certificate_no_issued = true;
    // when the officer grants with it, then it is refused on the field, with nothing emitted
    match decide(&c.state, cmd) {
        Err(DomainError::Validation(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "certificate_no");
            assert_eq!(errors[0].problem, FieldProblem::DuplicateCertificate);
            assert_eq!(errors[0].problem.code(), "duplicate_certificate_no");
            assert_eq!(
                errors[0].message,
                "certificate NSS-2026-0001 was already issued by UA-NSS"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // and a number not yet issued is granted
    assert!(c.when(officer("UA-NSS"), "2026-03-05", grant).is_ok());
}

#[test]
fn the_certificate_a_grant_would_issue_is_its_number_at_the_authority_holding_the_file() {
    let c = submitted();
    let grant = c.cmd(
        officer("UA-NSS"),
        "2026-03-05",
        Action::RecordDecisionGranted {
            certificate_no: "17/2026".into(),
            valid_until: None,
        },
    );
    assert_eq!(
        crate::certificate_to_issue(&c.state, &grant),
        Some(("UA-NSS".to_string(), "17/2026".to_string()))
    );
    let note = c.cmd(
        caseworker(),
        "2026-03-05",
        Action::AddNote {
            note: RecordRef("n".into()),
        },
    );
    assert_eq!(crate::certificate_to_issue(&c.state, &note), None);
}
mod rulings;
mod shelter;
