//! Rules decided per act (`procedure.md`, "Children", "Identity document", "Counting days"): the
//! child flag on each act's date, the absence of an identity document explained later, and
//! corrected business dates that re-derive the deadlines counting from them.

use super::*;
use crate::deadlines::{deadline_state, unrecorded_misses, DeadlineState};
use crate::error::Unavailable;

/// Born 2008-03-10: a child when registered on 2026-03-02, 18 from 2026-03-10.
fn turning_18_on_the_10th() -> Case {
    let mut reg = registration("2026-03-01");
    reg.applicant.birth_date = d("2008-03-10");
    reg.filed_by = FiledBy::LegalRepresentative;
    Case::new("2026-03-02").given(caseworker(), "2026-03-02", Action::Register(Box::new(reg)))
}

fn person_consents() -> Action {
    Action::RecordConsent {
        scope: ConsentScope::StatusProcedure,
        given_by: GivenBy::Person,
    }
}

#[test]
fn a_person_who_turns_18_during_the_procedure_signs_their_own_consent_from_that_day() {
    let c = turning_18_on_the_10th().at("2026-03-10");
    assert!(c.state.is_child());
    // The day before the birthday the engine supplies child = true: the representative signs.
    assert_eq!(
        problems(c.when_child(caseworker(), "2026-03-09", person_consents(), Some(true))),
        [FieldProblem::LegalRepresentativeRequired]
    );
    // On the birthday the engine supplies child = false: the person signs.
    let events = c
        .when_child(caseworker(), "2026-03-10", person_consents(), Some(false))
        .expect("an adult consents");
    assert_eq!(
        events[0].body,
        EventBody::ConsentGiven {
            scope: ConsentScope::StatusProcedure,
            given_by: GivenBy::Person,
            child: Some(false),
        }
    );
    // The event keeps the act's flag, never the birth date.
    let json = serde_json::to_string(&events[0]).expect("json");
    assert!(json.contains("\"child\":false"), "{json}");
    assert!(!json.contains("2008-03-10"), "{json}");
    // And the interview's consent, on a later day, is the person's too.
    let c = c.apply(events).at("2026-03-11");
    let events = c
        .when_child(
            caseworker(),
            "2026-03-11",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
            Some(false),
        )
        .expect("an adult signs the interview consent");
    assert!(matches!(
        events[0].body,
        EventBody::InterviewRecorded {
            child: Some(false),
            ..
        }
    ));
}

#[test]
fn without_a_birth_date_the_registrations_child_flag_stands() {
    let c = turning_18_on_the_10th().at("2026-03-12");
    assert_eq!(
        problems(c.when_child(caseworker(), "2026-03-12", person_consents(), None)),
        [FieldProblem::LegalRepresentativeRequired]
    );
}

#[test]
fn young_age_is_a_ground_to_skip_the_interview_only_while_the_person_is_a_child() {
    let c = turning_18_on_the_10th().at("2026-03-10");
    let skip = Action::SkipInterview {
        ground: SkipGround::ImpossibleYoungAge,
        reference: None,
    };
    assert!(c
        .when_child(caseworker(), "2026-03-09", skip.clone(), Some(true))
        .is_ok());
    assert_eq!(
        problems(c.when_child(caseworker(), "2026-03-10", skip, Some(false))),
        [FieldProblem::Invalid]
    );
}

// --- identity document ---------------------------------------------------------------------

/// Registered without an identity document or a reason, consent given, interview skipped.
fn without_identity_document() -> Case {
    let mut reg = registration("2026-03-01");
    reg.documents = vec![(DocumentKind::Application, None)];
    Case::new("2026-03-03")
        .given(caseworker(), "2026-03-02", Action::Register(Box::new(reg)))
        .given(
            caseworker(),
            "2026-03-02",
            Action::RecordConsent {
                scope: ConsentScope::StatusProcedure,
                given_by: GivenBy::Person,
            },
        )
        .given(
            caseworker(),
            "2026-03-02",
            Action::SkipInterview {
                ground: SkipGround::ImpossibleMentalState,
                reference: None,
            },
        )
}

fn submit() -> Action {
    Action::SubmitFile {
        conclusion: Conclusion::RecommendGrant,
    }
}

#[test]
fn the_absence_of_an_identity_document_explained_later_lets_the_file_go() {
    let c = without_identity_document();
    match c.when(caseworker(), "2026-03-03", submit()) {
        Err(DomainError::ActionNotAllowed { reason, .. }) => {
            assert_eq!(reason, Unavailable::IdentityDocumentMissing);
        }
        other => panic!("{other:?}"),
    }
    let explain = Action::ExplainMissingIdentityDocument {
        reason: RecordRef("r-why".into()),
    };
    let c = c.given(caseworker(), "2026-03-03", explain.clone());
    assert_eq!(
        c.events.last().map(|e| &e.body),
        Some(&EventBody::IdentityDocumentAbsenceExplained {
            reason: RecordRef("r-why".into())
        })
    );
    assert!(c.state.id_document_missing_explained);
    assert!(c.when(caseworker(), "2026-03-03", submit()).is_ok());
    // Once explained, it is not explained again.
    match c.when(caseworker(), "2026-03-03", explain) {
        Err(DomainError::ActionNotAllowed { reason, .. }) => {
            assert_eq!(reason, Unavailable::IdentityDocumentSettled);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_copy_of_the_identity_document_attached_later_lets_the_file_go_and_needs_no_explanation() {
    let c = without_identity_document().given(
        caseworker(),
        "2026-03-03",
        Action::AttachDocument {
            kind: DocumentKind::IdentityDocument,
            note: None,
        },
    );
    assert!(c.when(caseworker(), "2026-03-03", submit()).is_ok());
    assert!(!allowed_actions(&c.state, Role::Caseworker)
        .contains(&ActionName::ExplainMissingIdentityDocument));
    match c.when(
        caseworker(),
        "2026-03-03",
        Action::ExplainMissingIdentityDocument {
            reason: RecordRef("r-why".into()),
        },
    ) {
        Err(DomainError::ActionNotAllowed { reason, .. }) => {
            assert_eq!(reason, Unavailable::IdentityDocumentSettled);
        }
        other => panic!("{other:?}"),
    }
}

// --- corrections of business dates --------------------------------------------------------

fn correct_date(supersedes: u64, to: &str) -> Action {
    Action::CorrectEntry {
        supersedes,
        field: "occurred_on".into(),
        corrected_on: Some(d(to)),
        correction: RecordRef("r-correction".into()),
    }
}

fn due(c: &Case, name: &str) -> NaiveDate {
    c.state.deadlines[name].due_on
}

#[test]
fn correcting_the_registration_date_recomputes_the_deadlines_counting_from_it() {
    // Registered on Monday 2026-03-02: interview 03-05, submission 03-12, overall 04-02.
    let c = Case::new("2026-03-02")
        .given(
            caseworker(),
            "2026-03-02",
            Action::Register(Box::new(registration("2026-03-01"))),
        )
        .at("2026-03-04");
    assert_eq!(due(&c, "interview"), d("2026-03-05"));
    // The application was in fact received on Tuesday 2026-03-03.
    let c = c.given(caseworker(), "2026-03-04", correct_date(1, "2026-03-03"));
    match &c.events.last().map(|e| &e.body) {
        Some(EventBody::EntryCorrected {
            supersedes,
            corrected_on,
            original_on,
            deadlines,
            ..
        }) => {
            assert_eq!(*supersedes, 1);
            assert_eq!(*corrected_on, Some(d("2026-03-03")));
            assert_eq!(*original_on, Some(d("2026-03-02")));
            let got: Vec<(&str, NaiveDate, NaiveDate)> = deadlines
                .iter()
                .map(|x| (x.name.as_str(), x.start, x.due_on))
                .collect();
            assert_eq!(
                got,
                [
                    ("file_submission", d("2026-03-03"), d("2026-03-13")),
                    ("interview", d("2026-03-03"), d("2026-03-06")),
                    ("overall", d("2026-03-03"), d("2026-04-03")),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.state.registration.as_ref().map(|r| r.received_on),
        Some(d("2026-03-03"))
    );
    assert_eq!(due(&c, "interview"), d("2026-03-06"));
    assert_eq!(due(&c, "file_submission"), d("2026-03-13"));
    assert_eq!(due(&c, "overall"), d("2026-04-03"));
    let entry = &c.state.corrections[0];
    assert_eq!(
        (entry.original_on, entry.corrected_on),
        (Some(d("2026-03-02")), Some(d("2026-03-03")))
    );
}

#[test]
fn a_corrected_registration_date_turns_a_recorded_miss_into_a_met_deadline() {
    // Registered on 03-02: the interview was due 03-05 and the engine recorded the miss.
    let c = Case::new("2026-03-02")
        .given(
            caseworker(),
            "2026-03-02",
            Action::Register(Box::new(registration("2026-03-01"))),
        )
        .at("2026-03-09")
        .given(
            Actor::system(),
            "2026-03-09",
            Action::RecordMissedDeadline {
                name: DeadlineKind::Interview.into(),
            },
        )
        .given(
            caseworker(),
            "2026-03-09",
            consent(ConsentScope::StatusProcedure),
        )
        .given(
            caseworker(),
            "2026-03-09",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        );
    let today = d("2026-03-09");
    assert_eq!(
        deadline_state(&c.state.deadlines["interview"], today),
        DeadlineState::Missed
    );
    // The application was received on Friday 03-06: the interview was due on Monday 03-09.
    let c = c.given(caseworker(), "2026-03-09", correct_date(1, "2026-03-06"));
    let interview = &c.state.deadlines["interview"];
    assert_eq!(interview.due_on, d("2026-03-09"));
    assert!(!interview.missed_recorded);
    assert_eq!(deadline_state(interview, today), DeadlineState::Met);
    assert_eq!(due(&c, "file_submission"), d("2026-03-16"));
    assert_eq!(due(&c, "overall"), d("2026-04-06"));
}

#[test]
fn a_corrected_date_that_puts_an_open_deadline_past_due_leaves_the_miss_to_the_engine() {
    let c = Case::new("2026-03-02")
        .given(
            caseworker(),
            "2026-03-02",
            Action::Register(Box::new(registration("2026-02-20"))),
        )
        .at("2026-03-04");
    assert!(unrecorded_misses(&c.state, d("2026-03-04")).is_empty());
    // Received on Friday 2026-02-27: the interview was due on Monday 03-02.
    let c = c.given(caseworker(), "2026-03-04", correct_date(1, "2026-02-27"));
    let missed: Vec<(&str, NaiveDate)> = unrecorded_misses(&c.state, d("2026-03-04"))
        .into_iter()
        .map(|x| (x.name.as_str(), x.due_on))
        .collect();
    assert_eq!(missed, [("interview", d("2026-03-02"))]);
    let c = c.given(
        Actor::system(),
        "2026-03-04",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Interview.into(),
        },
    );
    assert!(matches!(
        c.events.last().map(|e| &e.body),
        Some(EventBody::DeadlineMissed { due_on, .. }) if *due_on == d("2026-03-02")
    ));
}

#[test]
fn correcting_the_submission_date_recomputes_the_decision_deadline_and_the_submission_record() {
    // Interviewed on 03-02, submitted on Friday 03-06: decision due Monday 03-16; the
    // submission deadline (03-12) was met.
    let c = interviewed().at("2026-03-06").given(
        caseworker(),
        "2026-03-06",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    let seq = c.state.version;
    assert_eq!(due(&c, "decision"), d("2026-03-16"));
    let today = d("2026-03-16");
    assert_eq!(
        deadline_state(&c.state.deadlines["file_submission"], today),
        DeadlineState::Met
    );
    // It was in fact sent on Friday 03-13.
    let c = c
        .at("2026-03-16")
        .given(caseworker(), "2026-03-16", correct_date(seq, "2026-03-13"));
    assert_eq!(due(&c, "decision"), d("2026-03-23"));
    assert_eq!(c.state.deadlines["decision"].start, d("2026-03-13"));
    assert_eq!(c.state.submission.map(|s| s.0), Some(d("2026-03-13")));
    let submission = &c.state.deadlines["file_submission"];
    assert_eq!(submission.fulfilled_on, Some(d("2026-03-13")));
    assert_eq!(deadline_state(submission, today), DeadlineState::Missed);
    assert_eq!(c.state.corrections[0].original_on, Some(d("2026-03-06")));
}

#[test]
fn correcting_a_request_date_recomputes_its_reply_deadline() {
    let c = interviewed().at("2026-03-03").given(
        caseworker(),
        "2026-03-03",
        Action::RequestVerification {
            to: VerificationTarget::MigrationService,
        },
    );
    let seq = c.state.version;
    assert_eq!(due(&c, "verification_reply:vr-1"), d("2026-03-13"));
    // The request went out on the day of the registration, Monday 03-02.
    let c = c.given(caseworker(), "2026-03-03", correct_date(seq, "2026-03-02"));
    assert_eq!(due(&c, "verification_reply:vr-1"), d("2026-03-12"));
    let r = &c.state.verification_requests[0];
    assert_eq!((r.sent_on, r.due_on), (d("2026-03-02"), d("2026-03-12")));
    match &c.events.last().map(|e| &e.body) {
        Some(EventBody::EntryCorrected {
            original_on,
            deadlines,
            ..
        }) => {
            assert_eq!(*original_on, Some(d("2026-03-03")));
            assert_eq!(deadlines.len(), 1);
            assert_eq!(deadlines[0].due_on, d("2026-03-12"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_corrected_date_is_refused_in_the_future_before_the_registration_or_unchanged() {
    let c = interviewed().at("2026-03-03").given(
        caseworker(),
        "2026-03-03",
        Action::RequestVerification {
            to: VerificationTarget::MigrationService,
        },
    );
    let seq = c.state.version;
    assert_eq!(
        problems(c.when(caseworker(), "2026-03-03", correct_date(seq, "2026-03-04"))),
        [FieldProblem::InFuture]
    );
    assert_eq!(
        problems(c.when(caseworker(), "2026-03-03", correct_date(seq, "2026-03-01"))),
        [FieldProblem::BeforeRegistration]
    );
    assert_eq!(
        problems(c.when(caseworker(), "2026-03-03", correct_date(seq, "2026-03-03"))),
        [FieldProblem::Unchanged]
    );
    // The registration cannot move before its referral (2026-03-01).
    assert_eq!(
        problems(c.when(caseworker(), "2026-03-03", correct_date(1, "2026-02-28"))),
        [FieldProblem::Invalid]
    );
}

#[test]
fn events_stored_before_these_fields_read_and_write_back_unchanged() {
    // Stored events are hashed as stored: the optional fields added here must neither be
    // required when reading an older event nor appear when writing it back.
    for json in [
        r#"{"type":"entry_corrected","data":{"supersedes":1,"field":"occurred_on","correction":"r-1"}}"#,
        r#"{"type":"consent_given","data":{"scope":"status_procedure","given_by":"person"}}"#,
        r#"{"type":"interview_recorded","data":{"consent_signed_by":"person","non_disclosure_receipt_signed":true}}"#,
    ] {
        let body: EventBody = serde_json::from_str(json).expect(json);
        assert_eq!(serde_json::to_string(&body).expect("json"), json);
    }
}
