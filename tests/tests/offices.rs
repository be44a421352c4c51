//! Offices over time (`procedure.md`, "Procedure versions"), over HTTP on both stores: a closed
//! office accepts no new registrations, its successor sees its cases and its supervisor takes them
//! over, and statistics count by the offices of the period or by today's successors.
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

/// Drabivskyi district (`UA7124`) closed on 17.07.2020; Zolotoniskyi (`UA7104`) succeeded it.
async fn a_closed_district_hands_its_cases_to_its_successor(app: TestApp) -> TestApp {
    let old = app.token("cw-drabiv", Role::Caseworker, "UA7124");
    let (id, etag) = app
        .register(&old, &application("UA7124", "2020-03-02"))
        .await;

    // From the day it closed, the old district registers nothing.
    let mut late = application("UA7124", "2020-07-17");
    late["person"]["full_name"] = json!("Інна Коваль");
    let r = app.post_json("/api/v1/cases", &old, &[], &late).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let why = r.body["errors"]["office"].as_str().unwrap_or_default();
    assert!(why.contains("closed on 2020-07-17"), "{}", r.body);
    assert!(why.contains("UA7104"), "{}", r.body);
    // Nor does the successor before it existed.
    let new = app.token("cw-zolot", Role::Caseworker, "UA7104");
    let mut early = application("UA7104", "2020-07-16");
    early["person"]["full_name"] = json!("Олена Коваль");
    let r = app.post_json("/api/v1/cases", &new, &[], &early).await;
    assert_eq!(r.status, 422, "{}", r.body);

    // The successor sees the old district's case; another district does not.
    let path = format!("/api/v1/cases/{id}");
    assert_eq!(app.get(&path, &new).await.status, 200);
    let other = app.token("cw-uman", Role::Caseworker, "UA7106");
    assert_eq!(app.get(&path, &other).await.status, 404);
    let queue = app.get("/api/v1/cases", &new).await;
    let ids: Vec<&str> = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str().or(c["case_id"].as_str()))
        .collect();
    assert_eq!(ids, [id.as_str()], "{}", queue.body);

    // Its supervisor takes the case over.
    let sv = app.token("sv-zolot", Role::Supervisor, "UA7104");
    let r = app
        .act(
            &sv,
            &id,
            "transfer",
            &etag,
            &json!({"occurred_on": "2020-07-17", "to_office": "UA7104"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["office"], "UA7104");

    // Statistics: the application counts for the office of the period, or for today's successor.
    let region = app.token("sv-region", Role::Supervisor, "UA71");
    let q = "/api/v1/stats?from=2020-01-01&to=2020-12-31&group_by=";
    let keys = |body: &serde_json::Value| -> Vec<(String, u64)> {
        body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["applications"].as_u64().unwrap_or(0) > 0)
            .map(|g| {
                (
                    g["key"].as_str().unwrap().to_string(),
                    g["applications"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let by_office = app.get(&format!("{q}office"), &region).await;
    assert_eq!(by_office.status, 200, "{}", by_office.body);
    assert_eq!(keys(&by_office.body), [("UA7124".to_string(), 1)]);
    let by_successor = app.get(&format!("{q}successor"), &region).await;
    assert_eq!(by_successor.status, 200, "{}", by_successor.body);
    assert_eq!(keys(&by_successor.body), [("UA7104".to_string(), 1)]);
    app
}
both!(a_closed_district_hands_its_cases_to_its_successor);
