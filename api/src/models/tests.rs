use serde_json::json;

use super::*;

fn ok(action: ActionName, body: Value) -> ParsedAction {
    match parse_action(action, &body) {
        Ok(p) => p,
        Err(e) => panic!("{action} should parse: {e}"),
    }
}

fn err(action: ActionName, body: Value) -> BodyError {
    match parse_action(action, &body) {
        Ok(p) => panic!("{action} should be refused, got {p:?}"),
        Err(e) => e,
    }
}

fn invalid_fields(e: &BodyError) -> Vec<String> {
    match e {
        BodyError::Invalid { errors } => errors.keys().cloned().collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

const D: &str = "2024-03-05";

/// One valid body per client action, with every free-text field filled with `SECRET-...`.
fn sample_bodies() -> Vec<(ActionName, Value)> {
    use ActionName as N;
    vec![
        (
            N::RecordConsent,
            json!({"occurred_on": D, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            N::WithdrawConsent,
            json!({"occurred_on": D, "scope": "share_with_police", "given_by": "legal_representative"}),
        ),
        (
            N::RecordInterview,
            json!({"occurred_on": D, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
        (
            N::SkipInterview,
            json!({"occurred_on": D, "ground": "already_recognised", "reference": "SECRET-court ruling 123"}),
        ),
        (
            N::RequestVerification,
            json!({"occurred_on": D, "to": "national_police"}),
        ),
        (
            N::RecordVerificationReply,
            json!({"occurred_on": D, "request_id": "vr-1", "outcome": "confirms"}),
        ),
        (
            N::AttachDocument,
            json!({"occurred_on": D, "kind": "medical_conclusion", "note": "SECRET-diagnosis"}),
        ),
        (
            N::SubmitFile,
            json!({"occurred_on": D, "conclusion": "recommend_grant"}),
        ),
        (
            N::ReturnFile,
            json!({"occurred_on": D, "missing": ["SECRET-passport copy", "SECRET-police reply"]}),
        ),
        (
            N::RecordDecision,
            json!({"occurred_on": D, "outcome": "refused", "grounds": ["SECRET-no grounds"]}),
        ),
        (N::HandOverDecision, json!({"occurred_on": D})),
        (
            N::RecordAppeal,
            json!({"occurred_on": D, "reference": "SECRET-case 2-123/24"}),
        ),
        (
            N::RecordCourtRuling,
            json!({"occurred_on": D, "outcome": "annulled_status_established"}),
        ),
        (
            N::ExtendStatus,
            json!({"occurred_on": D, "valid_until": "2027-01-01", "reason": "SECRET-criminal proceedings"}),
        ),
        (
            N::Withdraw,
            json!({"occurred_on": D, "reason": "SECRET-moved abroad"}),
        ),
        (
            N::Transfer,
            json!({"occurred_on": D, "to_office": "UA7104"}),
        ),
        (
            N::ReferToSocialServices,
            json!({"occurred_on": D, "centre": "SECRET-Cherkasy regional centre"}),
        ),
        (
            N::RecordNeedsAssessment,
            json!({"occurred_on": D, "needs": ["shelter", "legal_aid"]}),
        ),
        (
            N::ApproveRehabilitationPlan,
            json!({"occurred_on": D, "written_consent": true, "services": [
                {"service": "medical", "provider": "SECRET-Hospital 3", "from": D, "to": "2024-04-01"},
                {"service": "legal_aid", "provider": "SECRET-Free legal aid centre"}
            ]}),
        ),
        (
            N::RecordService,
            json!({"occurred_on": D, "service": "psychological", "provider": "SECRET-Centre", "to": "2024-03-20"}),
        ),
        (
            N::PlaceInShelter,
            json!({"occurred_on": D, "shelter": "SECRET-Shelter 1"}),
        ),
        (N::EndShelterStay, json!({"occurred_on": D})),
        (
            N::ExtendShelter,
            json!({"occurred_on": D, "reason": "SECRET-witness in trial"}),
        ),
        (
            N::ExplainMissingIdentityDocument,
            json!({"occurred_on": D, "reason": "SECRET-passport kept by the employer"}),
        ),
        (N::RequestPayment, json!({"occurred_on": D})),
        (
            N::RecordPayment,
            json!({"occurred_on": D, "amount_kopiyky": 907_200}),
        ),
        (N::Assign, json!({"occurred_on": D, "assignee": "user-17"})),
        (
            N::AddNote,
            json!({"occurred_on": D, "text": "SECRET-she was held in a flat in Warsaw"}),
        ),
        (
            N::CorrectEntry,
            json!({"occurred_on": D, "supersedes": 3, "field": "occurred_on", "value": "2024-03-04", "reason": "SECRET-typo"}),
        ),
        (
            N::ErasePersonalData,
            json!({"occurred_on": D, "category": "person_request", "reason": "SECRET-request of 1 March"}),
        ),
    ]
}

#[test]
fn every_client_action_has_a_body_that_parses() {
    let bodies = sample_bodies();
    for name in ActionName::ALL.iter().filter(|a| a.is_client_action()) {
        let Some((_, body)) = bodies.iter().find(|(n, _)| n == name) else {
            panic!("no sample body for {name}");
        };
        let parsed = ok(*name, body.clone());
        assert_eq!(parsed.action.name(), *name);
        assert_eq!(
            parsed.occurred_on,
            NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()
        );
    }
}

#[test]
fn free_text_never_appears_in_the_actions_debug_output() {
    for (name, body) in sample_bodies() {
        let parsed = ok(name, body.clone());
        let debug = format!("{:?}", parsed.action);
        assert!(!debug.contains("SECRET"), "{name}: {debug}");
        let debug = format!("{parsed:?}");
        assert!(!debug.contains("SECRET"), "{name}: {debug}");
        let secrets = body.to_string().matches("SECRET").count();
        let stored: usize = parsed
            .texts
            .iter()
            .map(|t| t.value.to_string().matches("SECRET").count())
            .sum();
        let ledger = parsed
            .erasure_reason
            .as_ref()
            .map_or(0, |r| r.0.matches("SECRET").count());
        assert_eq!(
            stored + ledger,
            secrets,
            "{name}: every free text goes to the vault (an erasure's reason to the ledger)"
        );
    }
}

#[test]
fn a_text_is_stored_under_the_record_the_action_carries() {
    let parsed = ok(
        ActionName::AddNote,
        json!({"occurred_on": D, "text": "  called the hotline  "}),
    );
    let Action::AddNote { note } = &parsed.action else {
        panic!("{:?}", parsed.action)
    };
    assert!(note.0.starts_with("r-") && note.0.len() == 34, "{note:?}");
    assert_eq!(parsed.texts.len(), 1);
    assert_eq!(&parsed.texts[0].record, note);
    assert_eq!(parsed.texts[0].value, json!("called the hotline"));
}

#[test]
fn lists_of_text_become_one_record_and_a_count() {
    let parsed = ok(
        ActionName::ReturnFile,
        json!({"occurred_on": D, "missing": ["a", "b", "c"]}),
    );
    let Action::ReturnFile {
        missing: Some(r),
        missing_count,
    } = &parsed.action
    else {
        panic!("{:?}", parsed.action)
    };
    assert_eq!(*missing_count, 3);
    assert_eq!(&parsed.texts[0].record, r);
    assert_eq!(parsed.texts[0].value, json!(["a", "b", "c"]));
}

#[test]
fn a_corrected_business_date_travels_in_the_action_and_a_non_date_is_refused() {
    let parsed = ok(
        ActionName::CorrectEntry,
        json!({"occurred_on": D, "supersedes": 1, "field": "occurred_on", "value": "2024-03-01", "reason": "typo"}),
    );
    let Action::CorrectEntry { corrected_on, .. } = &parsed.action else {
        panic!("{:?}", parsed.action)
    };
    assert_eq!(
        *corrected_on,
        Some(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default())
    );
    let e = err(
        ActionName::CorrectEntry,
        json!({"occurred_on": D, "supersedes": 1, "field": "occurred_on", "value": "1 March", "reason": "typo"}),
    );
    let BodyError::Invalid { errors } = e else {
        panic!("{e:?}")
    };
    assert!(errors.contains_key("value"), "{errors:?}");
}

#[test]
fn a_correction_stores_value_and_reason_together() {
    let parsed = ok(
        ActionName::CorrectEntry,
        json!({"occurred_on": D, "supersedes": 3, "field": "x", "value": {"a": 1}, "reason": "typo"}),
    );
    assert_eq!(
        parsed.texts[0].value,
        json!({"value": {"a": 1}, "reason": "typo"})
    );
}

#[test]
fn an_erasure_keeps_its_category_in_the_action_and_its_reason_for_the_ledger_not_the_vault() {
    let parsed = ok(
        ActionName::ErasePersonalData,
        json!({"occurred_on": D, "category": "order", "reason": "  court ruling 2-17/26  "}),
    );
    assert_eq!(
        parsed.action,
        Action::ErasePersonalData {
            category: ErasureCategory::Order
        }
    );
    assert!(
        parsed.texts.is_empty(),
        "nothing sealed under the key the erasure destroys"
    );
    assert_eq!(
        parsed.erasure_reason,
        Some(ErasureReason("court ruling 2-17/26".into()))
    );
    let without_reason = ok(
        ActionName::ErasePersonalData,
        json!({"occurred_on": D, "category": "retention_ended"}),
    );
    assert_eq!(without_reason.erasure_reason, None);
    let e = err(
        ActionName::ErasePersonalData,
        json!({"occurred_on": D, "reason": "asked by phone"}),
    );
    assert_eq!(invalid_fields(&e), ["category"]);
    let e = err(
        ActionName::ErasePersonalData,
        json!({"occurred_on": D, "category": "because"}),
    );
    assert_eq!(invalid_fields(&e), ["category"]);
}

#[test]
fn an_unknown_field_is_refused_with_its_name() {
    let e = err(
        ActionName::AddNote,
        json!({"occurred_on": D, "text": "x", "colour": "red"}),
    );
    assert_eq!(
        e,
        BodyError::UnknownField {
            path: "colour".into()
        }
    );
    assert_eq!(e.code(), "unknown_field");
}

#[test]
fn an_unknown_nested_field_is_refused_with_its_path() {
    let e = err(
        ActionName::ApproveRehabilitationPlan,
        json!({"occurred_on": D, "written_consent": true, "services": [
            {"service": "medical", "provider": "H"},
            {"service": "medical", "provider": "H", "cost": 5}
        ]}),
    );
    assert_eq!(
        e,
        BodyError::UnknownField {
            path: "services[1].cost".into()
        }
    );
}

#[test]
fn an_invalid_enum_value_names_the_field_and_the_accepted_values() {
    let e = err(
        ActionName::RequestVerification,
        json!({"occurred_on": D, "to": "interpol"}),
    );
    let BodyError::Invalid { errors } = &e else {
        panic!("{e:?}")
    };
    let message = &errors["to"];
    assert!(message.contains("interpol"), "{message}");
    for accepted in VerificationTarget::ALL {
        assert!(message.contains(accepted.as_str()), "{message}");
    }
}

#[test]
fn a_missing_field_is_reported_by_its_path() {
    let e = err(ActionName::SubmitFile, json!({"occurred_on": D}));
    assert_eq!(invalid_fields(&e), ["conclusion"]);
    let e = err(
        ActionName::ApproveRehabilitationPlan,
        json!({"occurred_on": D, "written_consent": true, "services": [{"service": "medical"}]}),
    );
    assert_eq!(invalid_fields(&e), ["services[0].provider"]);
}

#[test]
fn dates_must_be_yyyy_mm_dd_exactly() {
    for bad in [
        "2024-3-5",
        "+2024-03-05",
        "2024-03-05T00:00:00Z",
        "05.03.2024",
        "2024-02-30",
    ] {
        let e = err(ActionName::HandOverDecision, json!({ "occurred_on": bad }));
        assert_eq!(invalid_fields(&e), ["occurred_on"], "{bad}");
    }
    let e = err(
        ActionName::HandOverDecision,
        json!({ "occurred_on": 20240305 }),
    );
    assert_eq!(invalid_fields(&e), ["occurred_on"]);
}

#[test]
fn blank_text_is_refused() {
    let e = err(
        ActionName::AddNote,
        json!({"occurred_on": D, "text": "   "}),
    );
    assert_eq!(invalid_fields(&e), ["text"]);
}

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    let e = err(ActionName::HandOverDecision, json!([1, 2]));
    assert_eq!(invalid_fields(&e), ["body"]);
}

#[test]
fn a_decision_has_the_fields_of_its_outcome() {
    let granted = ok(
        ActionName::RecordDecision,
        json!({"occurred_on": D, "outcome": "granted", "certificate_no": "17/2024"}),
    );
    assert_eq!(
        granted.action,
        Action::RecordDecisionGranted {
            certificate_no: "17/2024".into(),
            valid_until: None
        }
    );
    let e = err(
        ActionName::RecordDecision,
        json!({"occurred_on": D, "outcome": "granted"}),
    );
    assert_eq!(invalid_fields(&e), ["certificate_no"]);
    let e = err(
        ActionName::RecordDecision,
        json!({"occurred_on": D, "outcome": "refused", "certificate_no": "1"}),
    );
    assert_eq!(invalid_fields(&e), ["certificate_no", "grounds"]);
    let refused = ok(
        ActionName::RecordDecision,
        json!({"occurred_on": D, "outcome": "refused", "grounds": ["a", "b"]}),
    );
    assert!(matches!(
        refused.action,
        Action::RecordDecisionRefused {
            grounds: Some(_),
            grounds_count: 2
        }
    ));
}

#[test]
fn register_and_engine_actions_are_not_client_actions() {
    for a in [
        ActionName::Register,
        ActionName::RecordMissedDeadline,
        ActionName::RecordStatusExpiry,
        ActionName::HandOverToSuccessor,
    ] {
        assert_eq!(
            err(a, json!({"occurred_on": D})),
            BodyError::NotAClientAction(a)
        );
    }
}

#[test]
fn nesting_deeper_than_32_is_refused_with_its_path() {
    let mut deep = json!("x");
    for _ in 0..40 {
        deep = json!({ "a": deep });
    }
    let e = err(
        ActionName::CorrectEntry,
        json!({"occurred_on": D, "supersedes": 1, "field": "f", "value": deep, "reason": "r"}),
    );
    let BodyError::TooDeep { path } = e else {
        panic!("{e:?}")
    };
    assert!(path.starts_with("value.a.a"), "{path}");

    let mut ok_depth = json!("x");
    for _ in 0..30 {
        ok_depth = json!({ "a": ok_depth });
    }
    ok(
        ActionName::CorrectEntry,
        json!({"occurred_on": D, "supersedes": 1, "field": "f", "value": ok_depth, "reason": "r"}),
    );
}

#[test]
fn strings_longer_than_10000_characters_are_refused_with_their_path() {
    let long = "ї".repeat(10_001);
    let e = err(ActionName::AddNote, json!({"occurred_on": D, "text": long}));
    assert_eq!(
        e,
        BodyError::StringTooLong {
            path: "text".into()
        }
    );
    ok(
        ActionName::AddNote,
        json!({"occurred_on": D, "text": "ї".repeat(10_000)}),
    );
}

fn register_body() -> Value {
    json!({
        "received_on": "2024-03-01",
        "office": "UA7102",
        "filed_by": "self",
        "applicant": {
            "sex": "female",
            "birth_year": 1990,
            "citizenship": "ukrainian",
            "speaks_ukrainian_or_russian": true,
            "interpreter_used": false
        },
        "referral": {"source": "ngo", "organisation": "SECRET-La Strada", "referred_on": "2024-02-28"},
        "exploitation": {"forms": ["labour"], "country": "PL"},
        "documents": [{"kind": "application", "note": "SECRET-signed"}, {"kind": "travel_document"}],
        "rights_explained": true,
        "person": {
            "full_name": "SECRET-Oksana Petrenko",
            "birth_date": "1990-06-15",
            "contacts": "SECRET-+380 50 000 0000",
            "id_document": "SECRET-passport"
        },
        "id_document_missing_reason": "SECRET-kept by the employer"
    })
}

#[test]
fn a_registration_parses_into_the_command_and_its_records() {
    let parsed = parse_register(&register_body(), "UA7102-2024-000001".into()).unwrap();
    let r = &parsed.register;
    assert_eq!(
        parsed.received_on,
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
    );
    assert_eq!(r.register_no, "UA7102-2024-000001");
    assert_eq!(r.office, "UA7102");
    assert_eq!(
        r.applicant.birth_date,
        NaiveDate::from_ymd_opt(1990, 6, 15).unwrap()
    );
    assert_eq!(r.exploitation_country, "PL");
    assert_eq!(r.documents.len(), 2);
    assert!(r.documents[0].1.is_some() && r.documents[1].1.is_none());
    assert!(r
        .referral
        .as_ref()
        .is_some_and(|f| f.organisation.is_some()));
    let person_ref = r.person.clone().unwrap();
    let person_text = parsed
        .texts
        .iter()
        .find(|t| t.record == person_ref)
        .unwrap();
    assert_eq!(person_text.value["full_name"], "SECRET-Oksana Petrenko");
    assert_eq!(person_text.value["birth_date"], "1990-06-15");
    assert_eq!(parsed.person.full_name, "SECRET-Oksana Petrenko");
    // person, organisation, one document note, the missing-id reason
    assert_eq!(parsed.texts.len(), 4);
    assert!(!format!("{:?}", parsed.register.documents).contains("SECRET"));
    assert!(!format!("{parsed:?}").contains("SECRET"));
    assert!(!format!("{parsed:?}").contains("1990"));
}

#[test]
fn a_registration_without_optional_parts_parses() {
    let mut body = register_body();
    let obj = body.as_object_mut().unwrap();
    obj.remove("referral");
    obj.remove("id_document_missing_reason");
    obj.remove("documents");
    obj["applicant"]
        .as_object_mut()
        .unwrap()
        .remove("birth_year");
    let parsed = parse_register(&body, "n".into()).unwrap();
    assert!(parsed.register.referral.is_none());
    assert_eq!(parsed.texts.len(), 1);
}

#[test]
fn the_birth_year_must_match_the_birth_date() {
    let mut body = register_body();
    body["applicant"]["birth_year"] = json!(1991);
    let e = parse_register(&body, "n".into()).unwrap_err();
    assert_eq!(invalid_fields(&e), ["applicant.birth_year"]);
}

#[test]
fn registration_fields_are_checked_with_their_paths() {
    let mut body = register_body();
    body["applicant"]["nickname"] = json!("x");
    assert_eq!(
        parse_register(&body, "n".into()).unwrap_err(),
        BodyError::UnknownField {
            path: "applicant.nickname".into()
        }
    );

    let mut body = register_body();
    body["applicant"]["citizenship"] = json!("martian");
    let e = parse_register(&body, "n".into()).unwrap_err();
    assert_eq!(invalid_fields(&e), ["applicant.citizenship"]);

    let mut body = register_body();
    body["documents"][1]["kind"] = json!("diary");
    let e = parse_register(&body, "n".into()).unwrap_err();
    assert_eq!(invalid_fields(&e), ["documents[1].kind"]);

    for (field, value) in [
        ("office", json!("ua71")),
        ("received_on", json!("1.3.2024")),
    ] {
        let mut body = register_body();
        body[field] = value;
        let e = parse_register(&body, "n".into()).unwrap_err();
        assert_eq!(invalid_fields(&e), [field]);
    }

    let mut body = register_body();
    body["exploitation"]["country"] = json!("Poland");
    let e = parse_register(&body, "n".into()).unwrap_err();
    assert_eq!(invalid_fields(&e), ["exploitation.country"]);

    let mut body = register_body();
    body.as_object_mut().unwrap().remove("person");
    let e = parse_register(&body, "n".into()).unwrap_err();
    assert_eq!(invalid_fields(&e), ["person"]);
}

#[test]
fn body_errors_become_422_problems() {
    use crate::http::error::ApiError;
    let e: ApiError = BodyError::UnknownField {
        path: "colour".into(),
    }
    .into();
    assert_eq!(e.status().as_u16(), 422);
    assert_eq!(e.code(), "unknown_field");
    let e: ApiError = BodyError::StringTooLong {
        path: "text".into(),
    }
    .into();
    assert_eq!(e.code(), "validation_failed");
    let e: ApiError = BodyError::NotAClientAction(ActionName::Register).into();
    assert_eq!(e.status().as_u16(), 404);
}

#[test]
fn type_errors_speak_json_not_rust() {
    let e = err(
        ActionName::RecordPayment,
        json!({"occurred_on": D, "amount_kopiyky": "x"}),
    );
    let BodyError::Invalid { errors } = &e else {
        panic!("{e:?}")
    };
    assert!(!errors["amount_kopiyky"].contains("u64"), "{e:?}");
    let e = err(
        ActionName::RecordNeedsAssessment,
        json!({"occurred_on": D, "needs": "shelter"}),
    );
    let BodyError::Invalid { errors } = &e else {
        panic!("{e:?}")
    };
    assert!(errors["needs"].contains("expected a list"), "{e:?}");
}

#[test]
fn a_list_of_more_than_50_entries_is_a_field_error() {
    let items: Vec<String> = (0..51).map(|i| format!("item {i}")).collect();
    let e = err(
        ActionName::ReturnFile,
        json!({"occurred_on": D, "missing": items}),
    );
    assert_eq!(invalid_fields(&e), vec!["missing".to_string()]);
    let e = err(
        ActionName::RecordDecision,
        json!({"occurred_on": D, "outcome": "refused", "grounds": items}),
    );
    assert_eq!(invalid_fields(&e), vec!["grounds".to_string()]);
    let services: Vec<Value> = (0..51)
        .map(|_| json!({"service": "medical", "provider": "p"}))
        .collect();
    let e = err(
        ActionName::ApproveRehabilitationPlan,
        json!({"occurred_on": D, "written_consent": true, "services": services}),
    );
    assert_eq!(invalid_fields(&e), vec!["services".to_string()]);
    let mut body = register_body();
    body["documents"] = Value::Array(
        (0..51)
            .map(|_| json!({"kind": "identity_document"}))
            .collect(),
    );
    let e = parse_register(&body, "n".into()).unwrap_err();
    assert_eq!(invalid_fields(&e), vec!["documents".to_string()]);
    // 50 is still fine
    ok(
        ActionName::ReturnFile,
        json!({"occurred_on": D, "missing": items[..50]}),
    );
}

#[test]
fn a_reason_of_more_than_500_characters_is_a_field_error() {
    let e = err(
        ActionName::Withdraw,
        json!({"occurred_on": D, "reason": "ї".repeat(501)}),
    );
    assert_eq!(invalid_fields(&e), vec!["reason".to_string()]);
    ok(
        ActionName::Withdraw,
        json!({"occurred_on": D, "reason": "ї".repeat(500)}),
    );
}

#[test]
fn an_institution_name_longer_than_200_characters_is_refused_with_its_path() {
    let long = "x".repeat(201);
    let e = err(
        ActionName::PlaceInShelter,
        json!({"occurred_on": D, "shelter": long}),
    );
    assert_eq!(invalid_fields(&e), ["shelter"]);
    let e = err(
        ActionName::ApproveRehabilitationPlan,
        json!({"occurred_on": D, "written_consent": true, "services": [
            {"service": "medical", "provider": "ok"},
            {"service": "medical", "provider": "x".repeat(201)}
        ]}),
    );
    assert_eq!(invalid_fields(&e), ["services[1].provider"]);
}
