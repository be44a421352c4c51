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
    let public = app
        .get(
            "/api/v1/stats?from=2026-01-01&to=2026-03-02&disclosure=public",
            &region,
        )
        .await;
    assert!(
        public.body["totals"]["applications"].is_null(),
        "{}",
        public.body
    );
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
    app.state.app.engine.revoke_token(jti).await.unwrap();
    for j in app.state.app.engine.revoked_tokens().await.unwrap() {
        app.state.auth.revoke(j);
    }
    let r = app.get(&format!("/api/v1/cases/{id}"), &token).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    app
}
both!(metrics_count_commands_without_case_ids_and_a_revoked_token_is_refused);
