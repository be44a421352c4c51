//! Court rulings, the hand-over of pending files to a successor authority, and the order of
//! business dates (`procedure.md`, step 8, "Procedure versions", "Order of business dates").

use super::*;
use crate::decide::successor_hand_over;
use crate::event::DeadlineStarted;
use crate::{PriorStep, Unavailable};

/// Registered on 2020-03-02 under `ua-417-2012`, interviewed, submitted on 2020-03-05 (to the
/// Ministry of Social Policy).
fn submitted_in_2020() -> Case {
    Case::new("2020-03-02")
        .given(
            caseworker(),
            "2020-03-02",
            Action::Register(Box::new(registration("2020-03-02"))),
        )
        .given(
            caseworker(),
            "2020-03-02",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2020-03-02",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        )
        .at("2020-03-05")
        .given(
            caseworker(),
            "2020-03-05",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        )
}

fn reason(r: Result<Vec<CaseEvent>, DomainError>) -> Option<Unavailable> {
    match r {
        Err(DomainError::ActionNotAllowed { reason, .. }) => Some(reason),
        _ => None,
    }
}

fn system() -> Actor {
    Actor::system()
}

fn decision_deadline(start: &str, due_on: &str) -> DeadlineStarted {
    DeadlineStarted {
        name: "decision".parse().expect("name"),
        kind: DeadlineKind::Decision,
        start: d(start),
        due_on: d(due_on),
    }
}

// --- court rulings ------------------------------------------------------------------------------

#[test]
fn a_2020_ministry_refusal_annulled_after_the_switch_goes_to_the_national_social_service() {
    let c = submitted_in_2020()
        .at("2020-03-10")
        .given(
            officer("UA-MSP"),
            "2020-03-10",
            Action::RecordDecisionRefused {
                grounds: Some(RecordRef("g".into())),
                grounds_count: 1,
            },
        )
        .at("2020-04-01")
        .given(
            caseworker(),
            "2020-04-01",
            Action::RecordAppeal { reference: None },
        )
        .at("2021-09-06");
    let events = c
        .when(
            caseworker(),
            "2021-09-06",
            Action::RecordCourtRuling {
                outcome: RulingOutcome::AnnulledNewDecision,
            },
        )
        .expect("the ruling is recorded");
    // The file goes to the authority competent on the day of the ruling, and the decision
    // deadline (of the case's own 2012 definition) runs from it; no certificate on the ruling.
    assert_eq!(
        events.iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        [EventBody::CourtRulingRecorded {
            outcome: RulingOutcome::AnnulledNewDecision,
            certificate_no: None,
            valid_until: None,
            deadlines: vec![decision_deadline("2021-09-06", "2021-09-16")],
            authority: Some("UA-NSS".into()),
        }]
    );
    let c = c.given(
        caseworker(),
        "2021-09-06",
        Action::RecordCourtRuling {
            outcome: RulingOutcome::AnnulledNewDecision,
        },
    );
    assert_eq!(c.state.submitted_to.as_deref(), Some("UA-NSS"));
    assert_eq!(c.state.ever_submitted_to, ["UA-MSP", "UA-NSS"]);
    assert_eq!(
        c.state.procedure().map(|p| p.id.as_str()),
        Some("ua-417-2012")
    );
    // The ministry no longer decides; the National Social Service does.
    assert_eq!(
        reason(c.when(
            officer("UA-MSP"),
            "2021-09-07",
            Action::RecordDecisionGranted {
                certificate_no: "MSP-1".into(),
                valid_until: None,
            },
        )),
        Some(Unavailable::FileWithAnotherAuthority {
            holder: Some("UA-NSS".into())
        })
    );
    assert!(
        crate::allowed_actions_for(&c.state, Role::DecisionOfficer, Some("UA-NSS"))
            .contains(&ActionName::RecordDecision)
    );
    let c = c.at("2021-09-07").given(
        officer("UA-NSS"),
        "2021-09-07",
        Action::RecordDecisionGranted {
            certificate_no: "NSS-2021-0001".into(),
            valid_until: None,
        },
    );
    let decision = c.state.decision.clone().expect("decided");
    assert_eq!(
        (
            decision.authority.as_str(),
            decision.certificate_no.as_deref()
        ),
        ("UA-NSS", Some("NSS-2021-0001"))
    );
}

#[test]
fn a_ruling_recorded_before_rulings_named_an_authority_replays_as_it_was() {
    // A stored event of the older shape: the court established the status with a certificate.
    let c = refused().given(
        caseworker(),
        "2026-03-10",
        Action::RecordAppeal { reference: None },
    );
    let old: CaseEvent = serde_json::from_value(serde_json::json!({
        "actor": {"sub": "cw-1", "role": "caseworker", "office": "UA7102"},
        "occurred_on": "2026-03-12",
        "recorded_at": "2026-03-12T10:00:00Z",
        "body": {"type": "court_ruling_recorded", "data": {
            "outcome": "annulled_status_established", "certificate_no": "C-9", "deadlines": []
        }}
    }))
    .expect("an older event decodes");
    let state = evolve(c.state, old);
    assert_eq!(state.status, Some(Status::Granted));
    assert_eq!(
        state.decision.map(|d| (d.authority, d.certificate_no)),
        Some(("court".to_string(), Some("C-9".to_string())))
    );
}

// --- the hand-over of pending files to a successor authority ----------------------------------

fn pending_at_the_ministry_on_the_switch() -> Case {
    Case::new("2021-05-20")
        .given(
            caseworker(),
            "2021-05-20",
            Action::Register(Box::new(registration("2021-05-20"))),
        )
        .given(
            caseworker(),
            "2021-05-20",
            consent(ConsentScope::StatusProcedure),
        )
        .at("2021-05-21")
        .given(
            caseworker(),
            "2021-05-21",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        )
        .at("2021-05-28")
        .given(
            caseworker(),
            "2021-05-28",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        )
}

#[test]
fn a_file_pending_at_the_ministry_passes_to_the_national_social_service_on_2021_06_01() {
    let c = pending_at_the_ministry_on_the_switch();
    assert_eq!(c.state.submitted_to.as_deref(), Some("UA-MSP"));
    // Before the switch, nothing to hand over.
    assert_eq!(
        successor_hand_over(&c.state, &rules(), d("2021-05-31")),
        None
    );
    assert_eq!(
        reason(
            c.at("2021-05-31")
                .when(system(), "2021-05-31", Action::HandOverToSuccessor)
        ),
        Some(Unavailable::NoSuccessorHandOver)
    );
    // Noticed on 2021-06-03, recorded on the day the law moved the role.
    let c = pending_at_the_ministry_on_the_switch().at("2021-06-03");
    assert_eq!(
        successor_hand_over(&c.state, &rules(), d("2021-06-03")).map(|d| d.id.as_str()),
        Some("ua-417-2021")
    );
    let events = c
        .when(system(), "2021-06-01", Action::HandOverToSuccessor)
        .expect("handed over");
    assert_eq!(
        events.iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        [EventBody::FileHandedToSuccessor {
            from: "UA-MSP".into(),
            to: "UA-NSS".into(),
            definition: "ua-417-2021".into(),
            deadline: decision_deadline("2021-06-01", "2021-06-11"),
            detected_at: noon("2021-06-03"),
        }]
    );
    let c = c.given(system(), "2021-06-01", Action::HandOverToSuccessor);
    assert_eq!(c.state.submitted_to.as_deref(), Some("UA-NSS"));
    assert_eq!(c.state.ever_submitted_to, ["UA-MSP", "UA-NSS"]);
    assert_eq!(c.state.deadlines["decision"].due_on, d("2021-06-11"));
    // Recorded once: a second attempt (a restart, another instance) is refused.
    assert_eq!(
        reason(c.when(system(), "2021-06-01", Action::HandOverToSuccessor)),
        Some(Unavailable::NoSuccessorHandOver)
    );
    // The successor's officer decides.
    let c = c.given(
        officer("UA-NSS"),
        "2021-06-03",
        Action::RecordDecisionGranted {
            certificate_no: "NSS-2021-0002".into(),
            valid_until: None,
        },
    );
    assert_eq!(c.state.status, Some(Status::Granted));
}

#[test]
fn the_hand_over_is_dated_the_effective_date_and_only_the_engine_records_it() {
    let c = pending_at_the_ministry_on_the_switch().at("2021-06-03");
    assert_eq!(
        refused_fields(c.when(system(), "2021-06-02", Action::HandOverToSuccessor)),
        [("occurred_on".to_string(), FieldProblem::Invalid)]
    );
    assert!(matches!(
        c.when(caseworker(), "2021-06-01", Action::HandOverToSuccessor),
        Err(DomainError::RoleNotAllowed { .. })
    ));
}

#[test]
fn a_file_submitted_after_the_switch_or_already_decided_is_not_handed_over() {
    let c = pending_at_the_ministry_on_the_switch()
        .at("2021-05-29")
        .given(
            officer("UA-MSP"),
            "2021-05-29",
            Action::RecordDecisionGranted {
                certificate_no: "MSP-2021-1".into(),
                valid_until: None,
            },
        );
    assert_eq!(
        successor_hand_over(&c.state, &rules(), d("2021-06-03")),
        None
    );
    let c = Case::new("2026-03-02");
    assert_eq!(
        successor_hand_over(&c.state, &rules(), d("2026-03-02")),
        None
    );
    assert_eq!(
        successor_hand_over(&submitted().state, &rules(), d("2026-03-10")),
        None
    );
}

// --- the order of business dates ---------------------------------------------------------------

fn out_of_order(date: &str, follows: PriorStep, not_before: &str) -> Option<DomainError> {
    Some(DomainError::DateOutOfOrder {
        date: d(date),
        follows,
        not_before: d(not_before),
    })
}

#[test]
fn a_decision_dated_before_its_submission_is_refused_with_the_submission_date() {
    let c = submitted().at("2026-03-10");
    for action in [
        Action::RecordDecisionGranted {
            certificate_no: "C".into(),
            valid_until: None,
        },
        Action::RecordDecisionRefused {
            grounds: Some(RecordRef("g".into())),
            grounds_count: 1,
        },
        Action::ReturnFile {
            missing: Some(RecordRef("m".into())),
            missing_count: 1,
        },
    ] {
        assert_eq!(
            c.when(officer("UA-NSS"), "2026-03-04", action).err(),
            out_of_order("2026-03-04", PriorStep::FileReceived, "2026-03-05")
        );
    }
    // On the submission day it is in order.
    assert!(c
        .when(
            officer("UA-NSS"),
            "2026-03-05",
            Action::RecordDecisionGranted {
                certificate_no: "C".into(),
                valid_until: None
            }
        )
        .is_ok());
}

#[test]
fn a_reply_dated_before_its_request_is_refused_with_the_request_date() {
    let c = interviewed()
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::ShareWithPolice),
        )
        .at("2026-03-04")
        .given(
            caseworker(),
            "2026-03-04",
            Action::RequestVerification {
                to: VerificationTarget::NationalPolice,
            },
        )
        .at("2026-03-06");
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-03",
            Action::RecordVerificationReply {
                request_id: "vr-1".into(),
                outcome: ReplyOutcome::Confirms,
            },
        )
        .err(),
        out_of_order("2026-03-03", PriorStep::VerificationRequest, "2026-03-04")
    );
    // The submission follows the request too.
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-03",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant
            },
        )
        .err(),
        out_of_order("2026-03-03", PriorStep::VerificationRequest, "2026-03-04")
    );
}

#[test]
fn an_interview_dated_before_the_registration_is_refused_with_the_registration_date() {
    let r = registered().given(
        caseworker(),
        "2026-03-02",
        consent(ConsentScope::StatusProcedure),
    );
    assert_eq!(
        r.when(
            caseworker(),
            "2026-02-27",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        )
        .err(),
        out_of_order("2026-02-27", PriorStep::Registration, "2026-03-02")
    );
}

#[test]
fn a_verification_request_or_a_submission_dated_before_the_interview_is_refused() {
    let c = registered()
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::StatusProcedure),
        )
        .at("2026-03-04")
        .given(
            caseworker(),
            "2026-03-04",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        );
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-03",
            Action::RequestVerification {
                to: VerificationTarget::Medical,
            },
        )
        .err(),
        out_of_order("2026-03-03", PriorStep::Interview, "2026-03-04")
    );
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-03",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant
            },
        )
        .err(),
        out_of_order("2026-03-03", PriorStep::Interview, "2026-03-04")
    );
}

#[test]
fn a_resubmission_dated_before_the_return_is_refused() {
    let c = submitted().at("2026-03-08").given(
        officer("UA-NSS"),
        "2026-03-08",
        Action::ReturnFile {
            missing: Some(RecordRef("m".into())),
            missing_count: 1,
        },
    );
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-07",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant
            },
        )
        .err(),
        out_of_order("2026-03-07", PriorStep::FileReturned, "2026-03-08")
    );
}

#[test]
fn a_hand_over_an_appeal_or_a_payment_request_dated_before_the_decision_is_refused() {
    let c = granted().at("2026-03-20");
    for action in [Action::HandOverDecision, Action::RequestPayment] {
        assert_eq!(
            c.when(caseworker(), "2026-03-09", action).err(),
            out_of_order("2026-03-09", PriorStep::Decision, "2026-03-10")
        );
    }
    let c = refused().at("2026-03-20");
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-09",
            Action::RecordAppeal { reference: None }
        )
        .err(),
        out_of_order("2026-03-09", PriorStep::Decision, "2026-03-10")
    );
}

#[test]
fn a_ruling_dated_before_the_appeal_is_refused_with_the_appeal_date() {
    let c = refused()
        .at("2026-03-15")
        .given(
            caseworker(),
            "2026-03-15",
            Action::RecordAppeal { reference: None },
        )
        .at("2026-04-01");
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-14",
            Action::RecordCourtRuling {
                outcome: RulingOutcome::Upheld
            },
        )
        .err(),
        out_of_order("2026-03-14", PriorStep::Appeal, "2026-03-15")
    );
}

#[test]
fn a_decision_after_a_ruling_is_not_dated_before_the_ruling() {
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
                outcome: RulingOutcome::AnnulledNewDecision,
            },
        );
    assert_eq!(
        c.when(
            officer("UA-NSS"),
            "2026-04-09",
            Action::RecordDecisionGranted {
                certificate_no: "C".into(),
                valid_until: None
            },
        )
        .err(),
        out_of_order("2026-04-09", PriorStep::FileReceived, "2026-04-10")
    );
}

#[test]
fn assistance_steps_follow_the_step_they_depend_on() {
    let c = registered()
        .given(
            caseworker(),
            "2026-03-02",
            consent(ConsentScope::ShareWithSocialServices),
        )
        .at("2026-03-05")
        .given(
            caseworker(),
            "2026-03-05",
            Action::ReferToSocialServices {
                centre: RecordRef("CSS".into()),
            },
        )
        .at("2026-03-10");
    assert_eq!(
        c.when(
            social(),
            "2026-03-04",
            Action::RecordNeedsAssessment {
                needs: vec![Need::Medical]
            },
        )
        .err(),
        out_of_order(
            "2026-03-04",
            PriorStep::SocialServicesReferral,
            "2026-03-05"
        )
    );
    let c = c
        .at("2026-03-06")
        .given(
            social(),
            "2026-03-06",
            Action::PlaceInShelter {
                shelter: RecordRef("S".into()),
            },
        )
        .at("2026-03-10");
    assert_eq!(
        c.when(
            social(),
            "2026-03-05",
            Action::ExtendShelter {
                reason: Some(RecordRef("r".into()))
            }
        )
        .err(),
        out_of_order("2026-03-05", PriorStep::ShelterPlacement, "2026-03-06")
    );
    let c = c.given(
        caseworker(),
        "2026-03-08",
        Action::WithdrawConsent {
            scope: ConsentScope::ShareWithSocialServices,
            given_by: GivenBy::Person,
        },
    );
    assert_eq!(
        c.state
            .consents
            .get(&ConsentScope::ShareWithSocialServices)
            .map(|e| e.in_force),
        Some(false)
    );
}

#[test]
fn a_consent_is_not_withdrawn_before_it_was_given() {
    let c = registered()
        .at("2026-03-04")
        .given(
            caseworker(),
            "2026-03-04",
            consent(ConsentScope::ShareWithPolice),
        )
        .at("2026-03-06");
    assert_eq!(
        c.when(
            caseworker(),
            "2026-03-03",
            Action::WithdrawConsent {
                scope: ConsentScope::ShareWithPolice,
                given_by: GivenBy::Person,
            },
        )
        .err(),
        out_of_order("2026-03-03", PriorStep::Consent, "2026-03-04")
    );
}
