//! End-to-end tests over real HTTP against the real server, once per store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use ptl_domain::Role;
use ptl_tests::{application, Store, TestApp};
use serde_json::json;

async fn run<F, Fut>(store: Store, f: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = TestApp>,
{
    let app = TestApp::spawn(store).await;
    let app = f(app).await;
    app.stop().await;
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::run(ptl_tests::Store::Sqlite, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::run(ptl_tests::Store::Postgres, super::$name).await;
            }
        }
    };
}

const DAY: &str = "2026-03-02";

async fn a_case_goes_from_registration_to_a_granted_status_with_the_assistance_track(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let sw = app.token("sw-1", Role::SocialWorker, "UA7102");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (id, mut etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let steps: Vec<(&str, &str, serde_json::Value)> = vec![
        (
            &cw,
            "record-consent",
            json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            &cw,
            "record-consent",
            json!({"occurred_on": DAY, "scope": "share_with_police", "given_by": "person"}),
        ),
        (
            &cw,
            "record-consent",
            json!({"occurred_on": DAY, "scope": "share_with_social_services", "given_by": "person"}),
        ),
        (
            &cw,
            "record-interview",
            json!({"occurred_on": DAY, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
        (
            &cw,
            "request-verification",
            json!({"occurred_on": DAY, "to": "national_police"}),
        ),
        (
            &cw,
            "record-verification-reply",
            json!({"occurred_on": DAY, "request_id": "vr-1", "outcome": "confirms"}),
        ),
        (
            &cw,
            "refer-to-social-services",
            json!({"occurred_on": DAY, "centre": "Zvenyhorodka centre of social services"}),
        ),
        (
            &sw,
            "record-needs-assessment",
            json!({"occurred_on": DAY, "needs": ["shelter", "psychological", "payment"]}),
        ),
        (
            &sw,
            "place-in-shelter",
            json!({"occurred_on": DAY, "shelter": "Cherkasy regional shelter"}),
        ),
        (
            &cw,
            "submit-file",
            json!({"occurred_on": DAY, "conclusion": "recommend_grant"}),
        ),
        (
            &nss,
            "record-decision",
            json!({"occurred_on": DAY, "outcome": "granted", "certificate_no": "NSS-2026-0042"}),
        ),
        (&cw, "hand-over-decision", json!({"occurred_on": DAY})),
        (
            &sw,
            "approve-rehabilitation-plan",
            json!({"occurred_on": DAY, "written_consent": true, "services": [{"service": "psychological", "provider": "CSS"}]}),
        ),
        (&cw, "request-payment", json!({"occurred_on": DAY})),
        (
            &cw,
            "record-payment",
            json!({"occurred_on": DAY, "amount_kopiyky": 908_400}),
        ),
    ];
    for (token, action, body) in steps {
        let r = app.act(token, &id, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }
    let r = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert_eq!(r.body["status"], "granted");
    assert_eq!(r.body["stage"], "decided");
    assert_eq!(r.body["version"], 16);
    assert_eq!(r.etag(), "\"16\"");
    assert!(r.body["register_no"]
        .as_str()
        .unwrap()
        .starts_with("UA7102-2026-"));
    let auditor = app.token("au-1", Role::Auditor, "UA");
    let v = app
        .get(&format!("/api/v1/cases/{id}/verify"), &auditor)
        .await;
    assert_eq!(
        v.body,
        json!({"valid": true, "events": 16, "first_invalid_sequence": null})
    );
    app
}
both!(a_case_goes_from_registration_to_a_granted_status_with_the_assistance_track);

async fn to_submitted(app: &TestApp, cw: &str) -> (String, String) {
    let (id, mut etag) = app.register(cw, &application("UA7102", DAY)).await;
    for (action, body) in [
        (
            "record-consent",
            json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            "record-interview",
            json!({"occurred_on": DAY, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
        (
            "submit-file",
            json!({"occurred_on": DAY, "conclusion": "recommend_refuse"}),
        ),
    ] {
        let r = app.act(cw, &id, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }
    (id, etag)
}

async fn a_refusal_is_appealed_and_the_court_orders_a_new_decision(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (id, etag) = to_submitted(&app, &cw).await;
    let r = app.act(&nss, &id, "record-decision", &etag, &json!({"occurred_on": DAY, "outcome": "refused", "grounds": ["no supporting materials"]})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("refused")),
        "{}",
        r.body
    );
    let r = app
        .act(
            &cw,
            &id,
            "record-appeal",
            &r.etag(),
            &json!({"occurred_on": DAY}),
        )
        .await;
    assert_eq!(
        (r.body["stage"].as_str(), r.body["status"].as_str()),
        (Some("appeal"), Some("refused"))
    );
    // A ruling carries no certificate nor validity (the authority issues them): a 422 on the
    // field, and nothing is written.
    let appealed = r.etag();
    let r = app
        .act(
            &cw,
            &id,
            "record-court-ruling",
            &appealed,
            &json!({"occurred_on": DAY, "outcome": "annulled_new_decision", "valid_until": DAY}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body["errors"]["valid_until"].is_string(), "{}", r.body);
    let r = app
        .act(
            &cw,
            &id,
            "record-court-ruling",
            &appealed,
            &json!({"occurred_on": DAY, "outcome": "annulled_new_decision"}),
        )
        .await;
    assert_eq!(
        (r.body["stage"].as_str(), r.body["status"].as_str()),
        (Some("submitted"), Some("pending")),
        "{}",
        r.body
    );
    app
}
both!(a_refusal_is_appealed_and_the_court_orders_a_new_decision);

/// Noon in Kyiv (10:00 UTC: the same Kyiv day in winter and summer).
fn noon_kyiv(day: &str) -> chrono::DateTime<chrono::Utc> {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    d.and_hms_opt(10, 0, 0).unwrap().and_utc()
}

/// Registered at `office`, interviewed and submitted on `day` (to the authority in force that
/// day).
async fn submitted_on(app: &TestApp, cw: &str, office: &str, day: &str) -> (String, String) {
    app.clock.set(noon_kyiv(day));
    let (id, mut etag) = app.register(cw, &application(office, day)).await;
    for (action, body) in [
        (
            "record-consent",
            json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            "record-interview",
            json!({"occurred_on": day, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
        (
            "submit-file",
            json!({"occurred_on": day, "conclusion": "recommend_grant"}),
        ),
    ] {
        let r = app.act(cw, &id, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }
    (id, etag)
}

async fn a_2020_ministry_refusal_annulled_after_the_switch_is_decided_by_the_national_social_service(
    app: TestApp,
) -> TestApp {
    // Registered in 2020 in the old Zvenyhorodskyi district (closed on 2020-07-17; its successor
    // UA7102 records the ruling).
    let old = app.token("cw-2", Role::Caseworker, "UA7140");
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let msp = app.token("do-2", Role::DecisionOfficer, "UA-MSP");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (id, etag) = submitted_on(&app, &old, "UA7140", "2020-03-02").await;
    let case = format!("/api/v1/cases/{id}");
    // Before the ruling the National Social Service does not see the case.
    assert_eq!(app.get(&case, &nss).await.status, 404);
    app.clock.set(noon_kyiv("2020-03-10"));
    let r = app.act(&msp, &id, "record-decision", &etag, &json!({"occurred_on": "2020-03-10", "outcome": "refused", "grounds": ["no supporting materials"]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.clock.set(noon_kyiv("2020-04-01"));
    let r = app
        .act(
            &old,
            &id,
            "record-appeal",
            &r.etag(),
            &json!({"occurred_on": "2020-04-01"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.clock.set(noon_kyiv("2021-09-06"));
    let r = app
        .act(
            &cw,
            &id,
            "record-court-ruling",
            &r.etag(),
            &json!({"occurred_on": "2021-09-06", "outcome": "annulled_new_decision"}),
        )
        .await;
    assert_eq!(
        (
            r.status,
            r.body["stage"].as_str(),
            r.body["submitted_to"].as_str()
        ),
        (200, Some("submitted"), Some("UA-NSS")),
        "{}",
        r.body
    );
    let etag = r.etag();
    // The authority that received the file sees the case, alone and in its work queue.
    let r = app.get(&case, &nss).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["allowed_actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "record-decision"),
        "{}",
        r.body
    );
    let list = app.get("/api/v1/cases", &nss).await;
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["case_id"] == id.as_str()),
        "{}",
        list.body
    );
    // The ministry no longer decides.
    let r = app
        .act(
            &msp,
            &id,
            "record-decision",
            &etag,
            &json!({"occurred_on": "2021-09-06", "outcome": "granted", "certificate_no": "MSP-1"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "action_not_allowed"),
        "{}",
        r.body
    );
    // A decision dated before the ruling that sent the file is out of order.
    let r = app.act(&nss, &id, "record-decision", &etag, &json!({"occurred_on": "2021-09-05", "outcome": "granted", "certificate_no": "NSS-2021-0001"})).await;
    assert_eq!(
        (
            r.status,
            r.code(),
            r.body["not_before"].as_str(),
            r.body["follows"].as_str()
        ),
        (
            422,
            "date_out_of_order",
            Some("2021-09-06"),
            Some("file_received")
        ),
        "{}",
        r.body
    );
    let r = app.act(&nss, &id, "record-decision", &etag, &json!({"occurred_on": "2021-09-06", "outcome": "granted", "certificate_no": "NSS-2021-0001"})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("granted")),
        "{}",
        r.body
    );
    app
}
both!(a_2020_ministry_refusal_annulled_after_the_switch_is_decided_by_the_national_social_service);

async fn a_file_pending_at_the_ministry_on_2021_06_01_passes_to_the_national_social_service(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (id, _) = submitted_on(&app, &cw, "UA7102", "2021-05-27").await;
    let case = format!("/api/v1/cases/{id}");
    assert_eq!(app.get(&case, &nss).await.status, 404);
    let scheduler = ptl_projections::scheduler::Scheduler::new(app.state.app.engine.clone());
    assert_eq!(scheduler.run_once().await.unwrap().hand_overs_recorded, 0);
    // The legal clock passes the switch.
    app.clock.set(noon_kyiv("2021-06-02"));
    assert_eq!(scheduler.run_once().await.unwrap().hand_overs_recorded, 1);
    let r = app.get(&case, &nss).await;
    assert_eq!(
        (r.status, r.body["submitted_to"].as_str()),
        (200, Some("UA-NSS")),
        "{}",
        r.body
    );
    let decision = r.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "decision")
        .cloned()
        .unwrap();
    assert_eq!(decision["due_on"], "2021-06-11", "{decision}");
    let events = app.get(&format!("{case}/events"), &cw).await;
    let last = events.body["events"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            last["type"].as_str(),
            last["occurred_on"].as_str(),
            last["actor"]["sub"].as_str()
        ),
        (
            Some("file_handed_to_successor"),
            Some("2021-06-01"),
            Some("system")
        ),
        "{last}"
    );
    let r = app.act(&nss, &id, "record-decision", &r.etag(), &json!({"occurred_on": "2021-06-02", "outcome": "granted", "certificate_no": "NSS-2021-0002"})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("granted")),
        "{}",
        r.body
    );
    app
}
both!(a_file_pending_at_the_ministry_on_2021_06_01_passes_to_the_national_social_service);

async fn a_withdrawn_case_can_only_be_read(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let r = app
        .act(
            &cw,
            &id,
            "withdraw",
            &etag,
            &json!({"occurred_on": DAY, "reason": "moved abroad"}),
        )
        .await;
    assert_eq!(
        (r.body["stage"].as_str(), r.body["status"].as_str()),
        (Some("closed"), Some("withdrawn"))
    );
    let r2 = app
        .act(
            &cw,
            &id,
            "add-note",
            &r.etag(),
            &json!({"occurred_on": DAY, "text": "called"}),
        )
        .await;
    assert_eq!(
        (r2.status, r2.code()),
        (409, "action_not_allowed"),
        "{}",
        r2.body
    );
    assert!(r2.body["allowed_actions"].is_array());
    app
}
both!(a_withdrawn_case_can_only_be_read);

async fn every_error_class_is_answered_and_writes_nothing(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let other = app.token("cw-9", Role::Caseworker, "UA7104");
    let social = app.token("sw-1", Role::SocialWorker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let path = format!("/api/v1/cases/{id}/actions/record-consent");
    let consent = json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"});
    // 401: no token, a forged token, alg none.
    let r = app
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{id}"),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    let r = app
        .get(
            &format!("/api/v1/cases/{id}"),
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
        )
        .await;
    assert_eq!(r.status, 401);
    // 404: another district's case, an unknown action.
    let r = app.get(&format!("/api/v1/cases/{id}"), &other).await;
    assert_eq!((r.status, r.code()), (404, "case_not_found"));
    let r = app
        .act(&other, &id, "record-consent", &etag, &consent)
        .await;
    assert_eq!(r.status, 404);
    let r = app.act(&cw, &id, "dance", &etag, &consent).await;
    assert_eq!((r.status, r.code()), (404, "unknown_action"));
    // 400 malformed JSON; 413 too large; 415 wrong content type; 428 no If-Match.
    let r = app
        .send(
            reqwest::Method::POST,
            &path,
            Some(&cw),
            &[("content-type", "application/json"), ("if-match", &etag)],
            Some(b"{\"occurred_on\":".to_vec()),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "malformed_json"));
    let big = format!(
        "{{\"occurred_on\":\"{DAY}\",\"text\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    let r = app
        .send(
            reqwest::Method::POST,
            &path,
            Some(&cw),
            &[("content-type", "application/json"), ("if-match", &etag)],
            Some(big.into_bytes()),
        )
        .await;
    assert_eq!(r.status, 413);
    let r = app
        .send(
            reqwest::Method::POST,
            &path,
            Some(&cw),
            &[("content-type", "text/plain"), ("if-match", &etag)],
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!((r.status, r.code()), (415, "unsupported_media_type"));
    let r = app.post_json(&path, &cw, &[], &consent).await;
    assert_eq!((r.status, r.code()), (428, "if_match_required"));
    // 403: a social worker may not record consent.
    let r = app
        .act(&social, &id, "record-consent", &etag, &consent)
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    // 412: stale If-Match.
    let r = app.act(&cw, &id, "record-consent", "\"7\"", &consent).await;
    assert_eq!((r.status, r.code()), (412, "version_mismatch"));
    // 409: not allowed in this stage; and a missing consent.
    let r = app
        .act(
            &cw,
            &id,
            "submit-file",
            &etag,
            &json!({"occurred_on": DAY, "conclusion": "recommend_grant"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "action_not_allowed"));
    assert!(r.body["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "record-interview"));
    let r = app.act(&cw, &id, "record-interview", &etag, &json!({"occurred_on": DAY, "consent_signed_by": "person", "non_disclosure_receipt_signed": true})).await;
    assert_eq!((r.status, r.code()), (409, "consent_required"));
    // 422: a date in the future, an unknown field, a child filing alone.
    let r = app.act(&cw, &id, "record-consent", &etag, &json!({"occurred_on": "2026-03-03", "scope": "status_procedure", "given_by": "person"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = app.act(&cw, &id, "record-consent", &etag, &json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person", "colour": "red"})).await;
    assert_eq!((r.status, r.code()), (422, "unknown_field"));
    let mut child = application("UA7102", DAY);
    child["person"]["birth_date"] = json!("2012-01-01");
    child["applicant"]["birth_year"] = json!(2012);
    let r = app.post_json("/api/v1/cases", &cw, &[], &child).await;
    assert_eq!(
        (r.status, r.code()),
        (422, "child_filing_alone"),
        "{}",
        r.body
    );
    // Nothing of that was written.
    let r = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert_eq!(r.body["version"], 1);
    // Ukrainian titles on request.
    let r = app
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{id}"),
            None,
            &[("accept-language", "uk-UA,uk;q=0.9")],
            None,
        )
        .await;
    assert_ne!(r.body["title"], "Unauthorized");
    app
}
both!(every_error_class_is_answered_and_writes_nothing);

async fn two_clients_on_one_version_get_one_success_and_one_412(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let note = json!({"occurred_on": DAY, "text": "first call"});
    let (a, b) = tokio::join!(
        app.act(&cw, &id, "add-note", &etag, &note),
        app.act(&cw, &id, "add-note", &etag, &note)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    app
}
both!(two_clients_on_one_version_get_one_success_and_one_412);

async fn an_idempotent_retry_returns_the_first_response_and_writes_nothing(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let path = format!("/api/v1/cases/{id}/actions/add-note");
    let note = json!({"occurred_on": DAY, "text": "first call"});
    let h = [("if-match", etag.as_str()), ("idempotency-key", "note-1")];
    let first = app.post_json(&path, &cw, &h, &note).await;
    let again = app.post_json(&path, &cw, &h, &note).await;
    assert_eq!((first.status, again.status), (200, 200));
    assert_eq!(first.etag(), again.etag());
    assert_eq!(first.body["version"], again.body["version"]);
    let other = app
        .post_json(
            &path,
            &cw,
            &h,
            &json!({"occurred_on": DAY, "text": "another"}),
        )
        .await;
    assert_eq!(
        (other.status, other.code()),
        (422, "idempotency_key_reused")
    );
    let r = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert_eq!(r.body["version"], 2);
    app
}
both!(an_idempotent_retry_returns_the_first_response_and_writes_nothing);

async fn history_views_show_the_case_as_recorded_and_as_it_occurred(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let before = app.state.app.engine.clock().now();
    app.clock.advance(chrono::Duration::days(1));
    let r = app.act(&cw, &id, "record-consent", &etag, &json!({"occurred_on": "2026-03-03", "scope": "status_procedure", "given_by": "person"})).await;
    let r = app
        .act(
            &cw,
            &id,
            "skip-interview",
            &r.etag(),
            &json!({"occurred_on": "2026-03-03", "ground": "impossible_mental_state"}),
        )
        .await;
    assert_eq!(r.body["stage"], "interview_done");
    let as_of = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let r = app
        .get(
            &format!("/api/v1/cases/{id}?as_of={}", as_of.replace('+', "%2B")),
            &cw,
        )
        .await;
    assert_eq!(
        (
            r.status,
            r.body["stage"].as_str(),
            r.body["version"].as_u64()
        ),
        (200, Some("registered"), Some(1)),
        "{}",
        r.body
    );
    assert!(r.headers.get("etag").is_none());
    let r = app.get(&format!("/api/v1/cases/{id}?on={DAY}"), &cw).await;
    assert_eq!(r.body["stage"], "registered");
    let r = app.get(&format!("/api/v1/cases/{id}?version=3"), &cw).await;
    assert_eq!(r.body["stage"], "interview_done");
    let r = app.get(&format!("/api/v1/cases/{id}/events"), &cw).await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["events"][0]["type"], "application_registered");
    assert!(
        !r.body.to_string().contains("Коваль"),
        "no personal data in events"
    );
    app
}
both!(history_views_show_the_case_as_recorded_and_as_it_occurred);

async fn personal_data_is_shown_only_to_roles_that_may_see_it_and_every_read_is_logged(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let r = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert!(r.body.get("person").is_none());
    let r = app
        .get(
            &format!("/api/v1/cases/{id}?include=person&reason=interview"),
            &cw,
        )
        .await;
    assert_eq!(
        r.body["person"]["full_name"], "Марʼяна Коваль",
        "{}",
        r.body
    );
    for role in [Role::Auditor, Role::Admin] {
        let t = app.token("x", role, "UA");
        let r = app
            .get(&format!("/api/v1/cases/{id}?include=person"), &t)
            .await;
        assert_eq!(r.status, 403, "{role}");
        assert!(!r.body.to_string().contains("Коваль"));
    }
    let auditor = app.token("au-1", Role::Auditor, "UA");
    let log = app
        .get(&format!("/api/v1/cases/{id}/access-log"), &auditor)
        .await;
    let entries = log.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", log.body);
    assert_eq!(
        (entries[0]["sub"].as_str(), entries[0]["reason"].as_str()),
        (Some("cw-1"), Some("interview"))
    );
    assert_eq!(log.body["valid"], true);
    app
}
both!(personal_data_is_shown_only_to_roles_that_may_see_it_and_every_read_is_logged);

async fn the_work_queue_lists_cases_in_scope_and_finds_a_person(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");
    let region = app.token("rc-1", Role::Supervisor, "UA71");
    let (a, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let mut other = application("UA7104", DAY);
    other["person"]["full_name"] = json!("Olena Shevchenko");
    let (b, _) = app.register(&cw4, &other).await;
    let r = app.get("/api/v1/cases", &cw).await;
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()], "{}", r.body);
    let r = app
        .get("/api/v1/cases?stage=registered&limit=1", &region)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r2 = app
        .get(
            &format!("/api/v1/cases?stage=registered&limit=1&cursor={cursor}"),
            &region,
        )
        .await;
    assert_eq!(r2.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(
        r.body["items"][0]["case_id"],
        r2.body["items"][0]["case_id"]
    );
    // Upcoming: the interview is due on 2026-03-05, within 3 working days.
    let r = app.get("/api/v1/cases?upcoming=true", &cw).await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    let r = app.get("/api/v1/cases?escalated=1", &cw).await;
    assert!(
        r.body["items"].as_array().unwrap().is_empty(),
        "nothing missed yet"
    );
    // Overdue is computed at read time: the interview was due on 2026-03-05.
    app.clock.advance(chrono::Duration::days(4));
    let r = app.get("/api/v1/cases?overdue=true", &region).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    // Person search: exact match after normalisation, only within scope.
    let r = app.get("/api/v1/cases?full_name=%D0%BC%D0%B0%D1%80%27%D1%8F%D0%BD%D0%B0%20%20%D0%BA%D0%BE%D0%B2%D0%B0%D0%BB%D1%8C&birth_date=1990-04-02&reason=review", &region).await;
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()], "{}", r.body);
    let r = app
        .get(
            "/api/v1/cases?full_name=Olena%20Shevchenko&birth_date=1990-04-02&reason=review",
            &cw,
        )
        .await;
    assert!(
        r.body["items"].as_array().unwrap().is_empty(),
        "another district's person stays hidden"
    );
    let _ = b;
    let r = app.get("/api/v1/cases?stage=flying", &cw).await;
    assert_eq!((r.status, r.code()), (400, "bad_parameter"));
    app
}
both!(the_work_queue_lists_cases_in_scope_and_finds_a_person);

async fn statistics_count_the_reported_figures(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let region = app.token("rc-1", Role::Supervisor, "UA71");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (id, etag) = to_submitted(&app, &cw).await;
    let r = app
        .act(
            &nss,
            &id,
            "record-decision",
            &etag,
            &json!({"occurred_on": DAY, "outcome": "granted", "certificate_no": "C-7"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut child = application("UA7102", DAY);
    child["person"]["birth_date"] = json!("2012-01-01");
    child["applicant"]["birth_year"] = json!(2012);
    child["filed_by"] = json!("legal_representative");
    app.register(&cw, &child).await;
    let r = app
        .get("/api/v1/stats?from=2026-01-01&to=2026-03-02", &region)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = &r.body["totals"];
    assert_eq!(
        (
            t["applications"].as_u64(),
            t["children"].as_u64(),
            t["granted"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{}",
        r.body
    );
    assert_eq!(
        (t["interviews"].as_u64(), t["files_submitted"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(t["by_referral_source"]["hotline"].as_u64(), Some(2));
    assert_eq!(r.body["office"], "UA71");
    // Public figures only for a whole period that has ended: February is empty, March runs.
    let public = app
        .get(
            "/api/v1/stats?from=2026-02-01&to=2026-02-28&disclosure=public",
            &region,
        )
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.body["totals"]["applications"].as_u64(), Some(0));
    let running = app
        .get(
            "/api/v1/stats?from=2026-03-01&to=2026-03-31&disclosure=public",
            &region,
        )
        .await;
    assert_eq!((running.status, running.code()), (400, "bad_parameter"));
    let csv = app
        .send(
            reqwest::Method::GET,
            "/api/v1/stats.csv?from=2026-01-01&to=2026-03-02",
            Some(&region),
            &[],
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let admin = app.token("ad-1", Role::Admin, "UA");
    assert_eq!(app.get("/api/v1/stats", &admin).await.status, 403);
    let d = app.get("/api/v1/deadlines?state=open", &region).await;
    assert!(
        !d.body["items"].as_array().unwrap().is_empty(),
        "{}",
        d.body
    );
    app
}
both!(statistics_count_the_reported_figures);

async fn metrics_count_commands_without_case_ids_and_a_revoked_token_is_refused(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    app.act(
        &cw,
        &id,
        "add-note",
        &etag,
        &json!({"occurred_on": DAY, "text": "called"}),
    )
    .await;
    let m = app
        .send(reqwest::Method::GET, "/metrics", None, &[], None)
        .await;
    let text = m.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("ptl_commands_total{action=\"add-note\",outcome=\"recorded\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/cases/{id}/actions/{action}\""),
        "{text}"
    );
    assert!(!text.contains(&id), "no case id in metrics");
    // A token revoked with `ptl token revoke` (the engine's deny list) is refused.
    let jti = "revoked-1";
    let token = app
        .state
        .auth
        .mint(
            "cw-2",
            "cw-2",
            Role::Caseworker,
            "UA7102",
            std::time::Duration::from_secs(600),
            Some(jti.into()),
        )
        .unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/cases/{id}"), &token).await.status,
        200
    );
    app.state.app.engine.revoke_token(jti, None).await.unwrap();
    for j in app.state.app.engine.revoked_tokens().await.unwrap() {
        app.state.auth.revoke(j);
    }
    let r = app.get(&format!("/api/v1/cases/{id}"), &token).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    app
}
both!(metrics_count_commands_without_case_ids_and_a_revoked_token_is_refused);

// --- rules decided per act (issue 14 items 3, 6 and 7) ---------------------------------------

async fn a_person_who_turns_18_during_the_procedure_signs_their_own_consent_from_that_day(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let mut body = application("UA7102", DAY);
    body["filed_by"] = json!("legal_representative");
    body["applicant"]["birth_year"] = json!(2008);
    body["person"]["birth_date"] = json!("2008-03-10");
    let (id, etag) = app.register(&cw, &body).await;
    // The test clock starts on DAY (2026-03-02); the consents are recorded on 03-10.
    app.clock.advance(chrono::Duration::days(8));
    let consent =
        |on: &str| json!({"occurred_on": on, "scope": "status_procedure", "given_by": "person"});
    let r = app
        .act(&cw, &id, "record-consent", &etag, &consent("2026-03-09"))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (422, "legal_representative_required"),
        "{}",
        r.body
    );
    let r = app
        .act(&cw, &id, "record-consent", &etag, &consent("2026-03-10"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = app.get(&format!("/api/v1/cases/{id}/events"), &cw).await;
    let last = &events.body["events"][1];
    assert_eq!(last["type"], "consent_given", "{last}");
    assert_eq!(last["data"]["child"], false, "{last}");
    assert!(!events.body.to_string().contains("2008-03-10"));
    // The engine's read of the birth date is not a person's read: nothing in the access log.
    let auditor = app.token("au-1", Role::Auditor, "UA");
    let log = app
        .get(&format!("/api/v1/cases/{id}/access-log"), &auditor)
        .await;
    assert_eq!(log.body["entries"], json!([]), "{}", log.body);
    app
}
both!(a_person_who_turns_18_during_the_procedure_signs_their_own_consent_from_that_day);

async fn the_missing_identity_document_is_explained_later_and_the_file_goes(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let mut body = application("UA7102", DAY);
    body["documents"] = json!([{"kind": "application"}]);
    let (id, mut etag) = app.register(&cw, &body).await;
    for (action, body) in [
        (
            "record-consent",
            json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            "record-interview",
            json!({"occurred_on": DAY, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
    ] {
        let r = app.act(&cw, &id, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }
    app.clock.advance(chrono::Duration::days(1));
    let submit = json!({"occurred_on": "2026-03-03", "conclusion": "recommend_grant"});
    let r = app.act(&cw, &id, "submit-file", &etag, &submit).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = app
        .act(
            &cw,
            &id,
            "explain-missing-identity-document",
            &etag,
            &json!({"occurred_on": "2026-03-03", "reason": "SECRET-the employer kept her passport", "note": "x"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "unknown_field"), "{}", r.body);
    let r = app
        .act(
            &cw,
            &id,
            "explain-missing-identity-document",
            &etag,
            &json!({"occurred_on": "2026-03-03", "reason": "SECRET-the employer kept her passport"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body["allowed_actions"]
        .as_array()
        .unwrap()
        .contains(&json!("explain-missing-identity-document")));
    let r = app.act(&cw, &id, "submit-file", &r.etag(), &submit).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = app.get(&format!("/api/v1/cases/{id}/events"), &cw).await;
    assert_eq!(
        events.body["events"][3]["type"],
        "identity_document_absence_explained"
    );
    assert!(!events.body.to_string().contains("SECRET"));
    app
}
both!(the_missing_identity_document_is_explained_later_and_the_file_goes);

async fn a_corrected_registration_date_moves_its_deadlines_and_the_view_shows_both_dates(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let mut body = application("UA7102", "2026-03-03");
    body["referral"]["referred_on"] = json!("2026-03-01");
    app.clock.advance(chrono::Duration::days(2));
    let (id, etag) = app.register(&cw, &body).await;
    let r = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    let due = |b: &serde_json::Value, name: &str| {
        b["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["due_on"].clone())
    };
    assert_eq!(due(&r.body, "interview"), Some(json!("2026-03-06")));
    let r = app
        .act(
            &cw,
            &id,
            "correct-entry",
            &etag,
            &json!({"occurred_on": "2026-03-04", "supersedes": 1, "field": "occurred_on", "value": "2026-03-02", "reason": "SECRET-typed the day of entry"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["received_on"], "2026-03-02");
    assert_eq!(due(&r.body, "interview"), Some(json!("2026-03-05")));
    assert_eq!(due(&r.body, "file_submission"), Some(json!("2026-03-12")));
    assert_eq!(due(&r.body, "overall"), Some(json!("2026-04-02")));
    let c = &r.body["corrections"][0];
    assert_eq!(
        (&c["supersedes"], &c["original_on"], &c["corrected_on"]),
        (&json!(1), &json!("2026-03-03"), &json!("2026-03-02")),
        "{c}"
    );
    assert!(c.get("reason").is_none(), "the reason is personal data");
    let r = app
        .get(
            &format!("/api/v1/cases/{id}?include=person&reason=review"),
            &cw,
        )
        .await;
    assert_eq!(
        r.body["corrections"][0]["reason"], "SECRET-typed the day of entry",
        "{}",
        r.body
    );
    let events = app.get(&format!("/api/v1/cases/{id}/events"), &cw).await;
    let e = &events.body["events"][1];
    assert_eq!(
        (&e["type"], &e["data"]["corrected_on"]),
        (&json!("entry_corrected"), &json!("2026-03-02")),
        "{e}"
    );
    assert!(!events.body.to_string().contains("SECRET"));
    // The deadlines read model follows.
    let r = app.get("/api/v1/deadlines?office=UA7102", &cw).await;
    let interview = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["case_id"] == json!(id) && d["name"] == "interview")
        .cloned();
    assert_eq!(
        interview.map(|d| d["due_on"].clone()),
        Some(json!("2026-03-05")),
        "{}",
        r.body
    );
    // The statistics count the application on its corrected receipt date.
    for (day, n) in [("2026-03-02", 1), ("2026-03-03", 0)] {
        let path = format!("/api/v1/stats?office=UA7102&from={day}&to={day}");
        let r = app.get(&path, &cw).await;
        assert_eq!(
            r.body["totals"]["applications"],
            json!(n),
            "{day}: {}",
            r.body
        );
    }
    app
}
both!(a_corrected_registration_date_moves_its_deadlines_and_the_view_shows_both_dates);
/// Registers `n` applications of `office` received on `on`.
async fn register_many(app: &TestApp, token: &str, office: &str, on: &str, n: usize) {
    for _ in 0..n {
        app.register(token, &application(office, on)).await;
    }
}

/// Every count of a figures object (`null`s skipped), with its name.
fn counts(figures: &serde_json::Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for (k, v) in figures.as_object().unwrap() {
        if let Some(n) = v.as_u64() {
            out.push((k.clone(), n));
        }
        if k == "by_referral_source" {
            for (s, n) in v.as_object().unwrap() {
                if let Some(n) = n.as_u64() {
                    out.push((format!("{k}.{s}"), n));
                }
            }
        }
    }
    out
}

async fn published_statistics_cover_whole_periods_and_round_every_count(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let region = app.token("rc-1", Role::Supervisor, "UA71");
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 4, 10, 10, 0, 0).unwrap());
    // January 5, February 5, March 2: the quarter has 12.
    register_many(&app, &cw, "UA7102", "2026-01-15", 5).await;
    register_many(&app, &cw, "UA7102", "2026-02-16", 5).await;
    register_many(&app, &cw, "UA7102", "2026-03-16", 2).await;
    let public = |q: &str| format!("/api/v1/stats?disclosure=public&{q}");
    let quarter = app
        .get(&public("from=2026-01-01&to=2026-03-31"), &region)
        .await;
    assert_eq!(quarter.status, 200, "{}", quarter.body);
    let month = |m: &str, last: &str| public(&format!("from=2026-{m}-01&to=2026-{m}-{last}"));
    let jan = app.get(&month("01", "31"), &region).await;
    let feb = app.get(&month("02", "28"), &region).await;
    let mar = app.get(&month("03", "31"), &region).await;
    let n = |r: &ptl_tests::Resp| r.body["totals"]["applications"].as_u64();
    assert_eq!(
        mar.body["totals"]["applications"],
        serde_json::Value::Null,
        "2 is small"
    );
    assert_eq!(
        (n(&jan), n(&feb)),
        (Some(5), Some(5)),
        "multiples of 5 stay"
    );
    // The quarter is rounded (10 or 15, never 12): the quarter minus its published months is
    // noise, not March's 2.
    let q = n(&quarter).unwrap();
    assert!(q == 10 || q == 15, "{}", quarter.body);
    assert_ne!(q as i64 - 5 - 5, 2);
    // Every published count is a multiple of 5, in the totals and in every group.
    let by_month = app
        .get(
            &public("from=2026-01-01&to=2026-03-31&group_by=month"),
            &region,
        )
        .await;
    assert_eq!(by_month.status, 200, "{}", by_month.body);
    for r in [&quarter, &jan, &feb, &by_month] {
        let mut all = counts(&r.body["totals"]);
        for g in r.body["groups"].as_array().unwrap() {
            all.extend(counts(g));
        }
        for (name, v) in all {
            assert_eq!(v % 5, 0, "{name} = {v}: {}", r.body);
        }
    }
    // The same cell rounds the same way on every request, and a month of the breakdown is the
    // month's own report.
    // (Applications only: the legal clock may still be recording January's missed deadlines.)
    let again = app
        .get(&public("from=2026-01-01&to=2026-03-31"), &region)
        .await;
    for f in ["applications", "by_referral_source"] {
        assert_eq!(again.body["totals"][f], quarter.body["totals"][f], "{f}");
        assert_eq!(by_month.body["totals"][f], quarter.body["totals"][f], "{f}");
    }
    let groups = by_month.body["groups"].as_array().unwrap();
    assert_eq!(groups[1]["key"], "2026-02");
    assert_eq!(
        groups[1]["applications"],
        feb.body["totals"]["applications"]
    );
    // March's 2 is hidden in the breakdown, and with it the next smallest month (January's 5),
    // so the quarter minus the published months gives nothing either.
    assert_eq!(
        (&groups[0]["applications"], &groups[2]["applications"]),
        (&serde_json::Value::Null, &serde_json::Value::Null)
    );
    // Only whole months, quarters and years that have ended; without a period, last month.
    for bad in [
        "from=2026-01-01&to=2026-03-02",
        "from=2026-02-01&to=2026-04-30",
        "from=2026-01-02&to=2026-01-31",
        "from=2026-04-01&to=2026-04-30",
        "from=2026-01-01",
    ] {
        let r = app.get(&public(bad), &region).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "bad_parameter"),
            "{bad}: {}",
            r.body
        );
    }
    let last = app.get("/api/v1/stats?disclosure=public", &region).await;
    assert_eq!(last.status, 200, "{}", last.body);
    assert_eq!(
        (last.body["from"].as_str(), last.body["to"].as_str()),
        (Some("2026-03-01"), Some("2026-03-31"))
    );
    assert_eq!(
        last.body["totals"]["applications"],
        mar.body["totals"]["applications"]
    );
    // Internal figures stay exact and free.
    let internal = app
        .get("/api/v1/stats?from=2026-01-01&to=2026-03-31", &region)
        .await;
    assert_eq!(internal.body["totals"]["applications"].as_u64(), Some(12));
    app
}
both!(published_statistics_cover_whole_periods_and_round_every_count);

async fn certificate_numbers_are_unique_per_authority_and_the_registers_list_them(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let other_district = app.token("cw-2", Role::Caseworker, "UA7104");
    let region = app.token("rc-1", Role::Supervisor, "UA71");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (a, etag_a) = to_submitted(&app, &cw).await;
    let (b, etag_b) = to_submitted(&app, &cw).await;
    let grant = |no: &str| json!({"occurred_on": DAY, "outcome": "granted", "certificate_no": no});
    let r = app
        .act(&nss, &a, "record-decision", &etag_a, &grant("=17/2026"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .act(
            &cw,
            &a,
            "hand-over-decision",
            &r.etag(),
            &json!({"occurred_on": DAY}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The same number again at the same authority: 422, nothing written.
    let events = |id: String| {
        let app = &app;
        let cw = cw.clone();
        async move {
            let r = app.get(&format!("/api/v1/cases/{id}/events"), &cw).await;
            r.body["events"].as_array().map(Vec::len)
        }
    };
    let before = events(b.clone()).await;
    let refused = app
        .act(&nss, &b, "record-decision", &etag_b, &grant("=17/2026"))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (422, "duplicate_certificate_no"),
        "{}",
        refused.body
    );
    assert!(
        refused.body["errors"]["certificate_no"].is_string(),
        "{}",
        refused.body
    );
    assert_eq!(events(b.clone()).await, before);
    let r = app
        .act(&nss, &b, "record-decision", &etag_b, &grant("18/2026"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The register of certificates: number, date, authority, register number, hand-over date.
    let certs = app.get("/api/v1/registers/certificates", &region).await;
    assert_eq!(certs.status, 200, "{}", certs.body);
    let items = certs.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", certs.body);
    // By date, authority and number: "18/2026" sorts before "=17/2026".
    assert_eq!(items[1]["certificate_no"], "=17/2026");
    assert_eq!(items[1]["authority"], "UA-NSS");
    assert_eq!(items[1]["issued_on"], DAY);
    assert_eq!(items[1]["handed_over_on"], DAY);
    assert_eq!(items[1]["case_id"], a.as_str());
    assert!(items[1]["register_no"]
        .as_str()
        .unwrap()
        .starts_with("UA7102-2026-"));
    assert_eq!(items[0]["certificate_no"], "18/2026");
    assert_eq!(items[0]["handed_over_on"], serde_json::Value::Null);
    // Paged, and in scope: the authority sees what it issued, another district nothing.
    let page = app
        .get("/api/v1/registers/certificates?limit=1", &nss)
        .await;
    assert_eq!(
        page.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        page.body
    );
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let next = app
        .get(
            &format!("/api/v1/registers/certificates?limit=1&cursor={cursor}"),
            &nss,
        )
        .await;
    assert_eq!(
        next.body["items"][0]["certificate_no"], "=17/2026",
        "{}",
        next.body
    );
    assert_eq!(next.body["next_cursor"], serde_json::Value::Null);
    let none = app
        .get("/api/v1/registers/certificates", &other_district)
        .await;
    assert_eq!(
        none.body["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        none.body
    );
    // CSV, with a formula-looking cell defused.
    let csv = app
        .send(
            reqwest::Method::GET,
            "/api/v1/registers/certificates.csv",
            Some(&region),
            &[],
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.body.as_str().unwrap().to_string();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "certificate_no,issued_on,authority,register_no,case_id,handed_over_on"
    );
    assert!(
        lines[2].starts_with("'=17/2026,2026-03-02,UA-NSS,UA7102-2026-"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");

    // The register of applications: register number, date received, office, how filed, outcome.
    let apps = app.get("/api/v1/registers/applications", &region).await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    let items = apps.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", apps.body);
    let row_a = items.iter().find(|i| i["case_id"] == a.as_str()).unwrap();
    assert_eq!(
        (
            &row_a["received_on"],
            &row_a["office"],
            &row_a["filed_by"],
            &row_a["outcome"],
            &row_a["outcome_on"]
        ),
        (
            &json!(DAY),
            &json!("UA7102"),
            &json!("self"),
            &json!("granted"),
            &json!(DAY)
        )
    );
    let csv = app
        .send(
            reqwest::Method::GET,
            "/api/v1/registers/applications.csv?from=2026-03-01",
            Some(&cw),
            &[],
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    let text = csv.body.as_str().unwrap().to_string();
    assert!(
        text.starts_with("register_no,case_id,received_on,office,filed_by,outcome,outcome_on\r\n"),
        "{text}"
    );
    assert_eq!(text.matches(",granted,").count(), 2, "{text}");
    // Bad input: 400; an administrator: 403.
    let r = app
        .get("/api/v1/registers/applications?from=yesterday", &cw)
        .await;
    assert_eq!((r.status, r.code()), (400, "bad_parameter"));
    let r = app
        .get("/api/v1/registers/applications?sort=name", &cw)
        .await;
    assert_eq!(r.status, 400);
    let admin = app.token("ad-1", Role::Admin, "UA");
    assert_eq!(
        app.get("/api/v1/registers/certificates", &admin)
            .await
            .status,
        403
    );
    app
}
both!(certificate_numbers_are_unique_per_authority_and_the_registers_list_them);

/// Every text typed in [`no_text_a_caseworker_typed_reaches_the_events_the_outbox_or_the_snapshots`]
/// (beside the registration's own: the referring organisation, the document note, the person).
const TYPED: [&str; 12] = [
    "La Strada hotline 527",
    "passport copy",
    "Марʼяна Коваль",
    "+380 67 000 0000",
    "FE123456",
    "Zvenyhorodka centre of social services",
    "Shelter Sonechko, 5 Shevchenko St",
    "Cherkasy psychological clinic",
    "Free legal aid centre no. 2",
    "witness in the criminal proceedings",
    "moved to her sister in Uman",
    "called from a new number",
];

async fn no_text_a_caseworker_typed_reaches_the_events_the_outbox_or_the_snapshots(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let sw = app.token("sw-1", Role::SocialWorker, "UA7102");
    let nss = app.token("do-1", Role::DecisionOfficer, "UA-NSS");
    let (id, mut etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let steps: Vec<(&str, &str, serde_json::Value)> = vec![
        (
            &cw,
            "record-consent",
            json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            &cw,
            "record-consent",
            json!({"occurred_on": DAY, "scope": "share_with_social_services", "given_by": "person"}),
        ),
        (
            &cw,
            "record-interview",
            json!({"occurred_on": DAY, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
        (
            &cw,
            "refer-to-social-services",
            json!({"occurred_on": DAY, "centre": TYPED[5]}),
        ),
        (
            &sw,
            "record-needs-assessment",
            json!({"occurred_on": DAY, "needs": ["shelter", "psychological", "legal_aid"]}),
        ),
        (
            &sw,
            "place-in-shelter",
            json!({"occurred_on": DAY, "shelter": TYPED[6]}),
        ),
        (
            &sw,
            "record-service",
            json!({"occurred_on": DAY, "service": "psychological", "provider": TYPED[7]}),
        ),
        (
            &cw,
            "submit-file",
            json!({"occurred_on": DAY, "conclusion": "recommend_grant"}),
        ),
        (
            &nss,
            "record-decision",
            json!({"occurred_on": DAY, "outcome": "granted", "certificate_no": "NSS-2026-0042"}),
        ),
        (&cw, "hand-over-decision", json!({"occurred_on": DAY})),
        (
            &sw,
            "approve-rehabilitation-plan",
            json!({"occurred_on": DAY, "written_consent": true, "services": [{"service": "legal_aid", "provider": TYPED[8]}]}),
        ),
        (
            &sw,
            "extend-shelter",
            json!({"occurred_on": DAY, "reason": TYPED[9]}),
        ),
        (&sw, "end-shelter-stay", json!({"occurred_on": DAY})),
        (
            &sw,
            "add-note",
            json!({"occurred_on": DAY, "text": TYPED[10]}),
        ),
        (
            &cw,
            "add-note",
            json!({"occurred_on": DAY, "text": TYPED[11]}),
        ),
    ];
    for (token, action, body) in steps {
        let r = app.act(token, &id, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }
    let db = app.state.app.engine.db();
    let events = ptl_engine::testkit::column_texts(db, "case_events", "payload").await;
    let outbox = ptl_engine::testkit::column_texts(db, "outbox", "payload").await;
    let snapshots = ptl_engine::testkit::column_texts(db, "case_snapshots", "state").await;
    assert_eq!(events.len(), 16);
    assert_eq!(outbox.len(), 16, "every event went to the outbox");
    assert!(!snapshots.is_empty(), "snapshots were taken");
    for (table, rows) in [
        ("case_events", &events),
        ("outbox", &outbox),
        ("case_snapshots", &snapshots),
    ] {
        for row in rows {
            for text in TYPED {
                assert!(!row.contains(text), "{table} holds {text:?}: {row}");
            }
        }
    }
    // The certificate number is an official identifier: it stays in the events.
    assert!(events.iter().any(|e| e.contains("NSS-2026-0042")));
    // The case view names the institutions only with the personal data.
    let plain = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert_eq!(plain.status, 200);
    for text in TYPED {
        assert!(
            !plain.body.to_string().contains(text),
            "{text:?}: {}",
            plain.body
        );
    }
    assert_eq!(plain.body["assistance"]["shelter"]["ended_on"], DAY);
    let shown = app
        .get(
            &format!("/api/v1/cases/{id}?include=person&reason=placement"),
            &cw,
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let a = &shown.body["assistance"];
    assert_eq!(a["referred_to"]["centre"], TYPED[5]);
    assert_eq!(a["shelter"]["shelter"], TYPED[6]);
    assert_eq!(a["services"][0]["provider"], TYPED[7]);
    assert_eq!(a["plan"]["services"][0]["provider"], TYPED[8]);
    assert_eq!(shown.body["person"]["full_name"], TYPED[2]);
    app
}

mod no_text_a_caseworker_typed_reaches_the_events_the_outbox_or_the_snapshots {
    async fn with_outbox_and_snapshots(store: ptl_tests::Store) {
        let app = ptl_tests::TestApp::spawn_with(store, |o| {
            // The outbox is written when a broker is configured (the relay is not started).
            o.rabbitmq_url = Some("amqp://127.0.0.1:1/%2f".into());
            o.snapshot_every = 4;
        })
        .await;
        let app =
            super::no_text_a_caseworker_typed_reaches_the_events_the_outbox_or_the_snapshots(app)
                .await;
        app.stop().await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        with_outbox_and_snapshots(ptl_tests::Store::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        with_outbox_and_snapshots(ptl_tests::Store::Postgres).await;
    }
}

async fn a_shelter_stay_ends_on_its_date_and_only_then_a_new_placement_is_possible(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let sw = app.token("sw-1", Role::SocialWorker, "UA7102");
    let sv = app.token("sv-1", Role::Supervisor, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let r = app
        .act(
            &sw,
            &id,
            "place-in-shelter",
            &etag,
            &json!({"occurred_on": DAY, "shelter": "S-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let placed = r.etag();
    assert!(r.body["allowed_actions"]
        .as_array()
        .unwrap()
        .contains(&json!("end-shelter-stay")));
    // One stay at a time.
    let again = json!({"occurred_on": DAY, "shelter": "S-2"});
    let r = app.act(&sw, &id, "place-in-shelter", &placed, &again).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "action_not_allowed"),
        "{}",
        r.body
    );
    // A caseworker does not end a stay; a field the action does not define is refused.
    let end = json!({"occurred_on": DAY});
    let r = app.act(&cw, &id, "end-shelter-stay", &placed, &end).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = app
        .act(
            &sw,
            &id,
            "end-shelter-stay",
            &placed,
            &json!({"occurred_on": DAY, "shelter": "S-1"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "unknown_field"), "{}", r.body);
    let r = app.act(&sv, &id, "end-shelter-stay", &placed, &end).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["assistance"]["shelter"]["ended_on"], DAY);
    let shelter = r.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "shelter")
        .cloned()
        .unwrap();
    assert_eq!(shelter["state"], "met", "{shelter}");
    let ended = r.etag();
    let r = app.act(&sw, &id, "end-shelter-stay", &ended, &end).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "action_not_allowed"),
        "{}",
        r.body
    );
    let r = app.act(&sw, &id, "place-in-shelter", &ended, &again).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let history = app.get(&format!("/api/v1/cases/{id}/events"), &sv).await;
    let types: Vec<&str> = history.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"shelter_stay_ended"), "{}", history.body);
    app
}
both!(a_shelter_stay_ends_on_its_date_and_only_then_a_new_placement_is_possible);
