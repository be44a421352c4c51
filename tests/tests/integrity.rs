//! The integrity report over the API against the real server, on both stores (issue 16): an
//! auditor of `UA` starts it, it runs in the background and is read back from the store until
//! done; a case whose last events were deleted and a case deleted whole (after the log's
//! checkpoint) are in it with their first bad event, while the remaining chains verify; the CSV
//! names them; a district auditor's report covers only its district; roles and unknown ids are
//! refused as problems.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ptl_domain::Role;
use ptl_tests::integrity::tampered;
use ptl_tests::{Store, TestApp};
use serde_json::{json, Value};

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(ptl_tests::Store::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(ptl_tests::Store::Postgres).await;
            }
        }
    };
}

async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let r = app
            .get(&format!("/api/v1/integrity-reports/{id}"), token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        match r.body["status"].as_str() {
            Some("running") => tokio::time::sleep(Duration::from_millis(50)).await,
            Some("done") => return r.body,
            other => panic!("the report ended {other:?}: {}", r.body),
        }
    }
    panic!("the report did not finish");
}

both!(a_report_names_the_truncated_and_the_deleted_case);

async fn a_report_names_the_truncated_and_the_deleted_case(store: Store) {
    let app = TestApp::spawn(store).await;
    let (truncated, deleted, intact, elsewhere) = tampered(&app).await;
    let auditor = app.token("au-1", Role::Auditor, "UA");

    let r = app
        .post_json("/api/v1/integrity-reports", &auditor, &[], &json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/api/v1/integrity-reports/{id}")
    );
    let done = finished(&app, &auditor, &id).await;
    assert_eq!(done["total"], 3, "{done}");
    let report = &done["report"];
    assert_eq!(report["cases"], 3, "{report}");
    let invalid = report["invalid"].as_array().unwrap();
    let of = |case: &str| {
        invalid
            .iter()
            .find(|c| c["case_id"] == case)
            .map(|c| (c["problem"].clone(), c["first_bad_event"].clone()))
    };
    assert_eq!(of(&truncated), Some((json!("truncated"), json!(3))));
    assert_eq!(of(&deleted), Some((json!("missing"), json!(1))));
    assert_eq!(of(&intact), None);
    assert_eq!(of(&elsewhere), None);
    assert_eq!(report["log_problems"][0]["kind"], "log_shorter");

    let file = app
        .get(&format!("/api/v1/integrity-reports/{id}/report"), &auditor)
        .await;
    assert_eq!(file.status, 200);
    assert_eq!(&file.body, report);
    let csv = app
        .http
        .get(format!(
            "{}/api/v1/integrity-reports/{id}/report.csv",
            app.base
        ))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains(&format!("{truncated},")), "{csv}");
    assert!(csv.contains(",missing,1,0,1"), "{csv}");

    // A district's auditor: only its district's cases, and not the log's own problems.
    let district = app.token("au-2", Role::Auditor, "UA7104");
    let r = app
        .post_json("/api/v1/integrity-reports", &district, &[], &json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id2 = r.body["id"].as_str().unwrap().to_string();
    let done = finished(&app, &district, &id2).await;
    assert_eq!(done["report"]["cases"], 1, "{done}");
    assert_eq!(done["report"]["invalid"], json!([]));
    assert_eq!(done["report"]["log_problems"], json!([]));
    // The national report is outside the district's scope.
    let r = app
        .get(&format!("/api/v1/integrity-reports/{id}"), &district)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.code(), "not_found");
    let listed = app.get("/api/v1/integrity-reports", &auditor).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);

    // Caseworkers may not start one; an id that is no report is a 404 problem.
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let r = app
        .post_json("/api/v1/integrity-reports", &cw, &[], &json!({}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.headers["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let r = app
        .get("/api/v1/integrity-reports/not-a-report", &auditor)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    app.stop().await;
}
