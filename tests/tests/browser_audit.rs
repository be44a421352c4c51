//! The auditor's console in a real browser (headless Chromium through WebDriver), issue 16: an
//! auditor opens a case whose stored event was edited in the database behind the server's back,
//! and the history browser highlights that first bad event (the events after it not verified);
//! the auditor compares two versions, then filters the access log by a user and sees only that
//! user's entries. Both pages pass axe-core and are saved under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ptl_domain::Role;
use ptl_tests::browser::Browser;
use ptl_tests::{application, Store, TestApp};
use serde_json::json;
use sqlx::Connection;

const PW: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_finds_a_tampered_event_and_filters_the_access_log_by_a_user() {
    let app = TestApp::spawn(Store::Sqlite).await;
    ptl_tests::web::add_user(&app, "anna", "auditor", "UA7102", PW).await;
    let cw = app.token("cw-one", Role::Caseworker, "UA7102");
    let today = app.state.app.today().to_string();
    let (id, etag) = app.register(&cw, &application("UA7102", &today)).await;
    let r = app
        .act(
            &cw,
            &id,
            "record-consent",
            &etag,
            &json!({"occurred_on": today, "scope": "status_procedure", "given_by": "person"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sv = app.token("sv-one", Role::Supervisor, "UA7102");
    let r = app
        .act(
            &sv,
            &id,
            "assign",
            &r.etag(),
            &json!({"occurred_on": today, "assignee": "cw-one"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Two readers of the person's data, and a person search.
    let other = app.token("cw-two", Role::Caseworker, "UA7102");
    for t in [&cw, &other, &cw] {
        let r = app
            .get(
                &format!("/api/v1/cases/{id}?include=person&reason=interview"),
                t,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = app
        .post_json(
            "/api/v1/person-search",
            &sv,
            &[],
            &json!({"full_name": "Марʼяна Коваль", "birth_date": "1990-04-02", "reason": "complaint"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Someone with write access to the database file rewrites the second event's business date
    // while the server runs.
    let mut conn = sqlx::SqliteConnection::connect(app.url()).await.unwrap();
    let changed = sqlx::query(
        "UPDATE case_events SET payload = json_set(payload, '$.occurred_on', '2026-01-05') \
         WHERE aggregate_id = $1 AND sequence_number = 2",
    )
    .bind(&id)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    conn.close().await.unwrap();

    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "anna"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;

    // From the case page to the history browser.
    b.goto(&format!("{}/cases/{id}", app.base)).await;
    let link = b.find("a[data-link=\"audit-history\"]").await;
    b.click_and_wait(&link).await;
    assert!(b.url().await.ends_with(&format!("/cases/{id}/audit")));
    assert_eq!(b.alerts().await.len(), 1, "{:?}", b.alerts().await);
    assert!(b.exists("[data-verified=\"false\"]").await);
    let chain: Vec<(String, String)> = {
        let mut v = Vec::new();
        for row in b.find_all("tr[data-sequence]").await {
            v.push((
                row.attr("data-sequence").await.unwrap().unwrap(),
                row.attr("data-chain").await.unwrap().unwrap(),
            ));
        }
        v
    };
    assert_eq!(
        chain,
        [
            ("1".to_string(), "verified".to_string()),
            ("2".to_string(), "broken".to_string()),
            ("3".to_string(), "unverified".to_string()),
        ]
    );
    let hashes = b.texts("tr[data-sequence] td.hash code").await;
    assert_eq!(hashes.len(), 6);
    assert_eq!(hashes[1], "—", "the first event has no previous hash");
    assert_eq!(hashes[3], hashes[0], "event 2 links to event 1's hash");
    b.assert_accessible("the history browser").await;
    b.screenshot("audit-history-tampered").await;

    // The case as it stood at version 1, and what changed from 1 to 3.
    b.fill_and_submit("as-of", &[("version", "1")]).await;
    assert!(b.exists("dl[data-shown=\"as-of\"]").await);
    b.fill_and_submit("compare", &[("from", "1"), ("to", "3")])
        .await;
    // The assignment is the one change of the case view from version 1 to 3 (the consent is not
    // in the view).
    let changes = b.texts("table[data-table=\"changes\"] tbody tr").await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].contains("cw-one"), "{changes:?}");
    assert!(
        changes[0].contains("Відповідальна посадова особа"),
        "{changes:?}"
    );
    b.assert_accessible("the history browser with a comparison")
        .await;
    b.screenshot("audit-history-compare").await;

    // The access log: every reader, then one.
    b.goto(&format!("{}/access-log", app.base)).await;
    let subs = |rows: Vec<String>| {
        let mut s = rows;
        s.sort();
        s.dedup();
        s
    };
    let mut all = Vec::new();
    for row in b.find_all("tr[data-sub]").await {
        all.push(row.attr("data-sub").await.unwrap().unwrap());
    }
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(subs(all), ["cw-one", "cw-two", "sv-one"]);
    assert!(b.text().await.contains("Person search") || b.text().await.contains("Пошук особи"));
    b.assert_accessible("the access log").await;
    b.screenshot("audit-access-log").await;
    b.fill_and_submit("access-log", &[("user", "cw-two")]).await;
    let mut filtered = Vec::new();
    for row in b.find_all("tr[data-sub]").await {
        filtered.push(row.attr("data-sub").await.unwrap().unwrap());
    }
    assert_eq!(filtered, ["cw-two"]);
    b.assert_accessible("the access log filtered by a user")
        .await;
    b.screenshot("audit-access-log-by-user").await;

    // The security log, one page verified.
    b.goto(&format!("{}/security-log", app.base)).await;
    assert!(b.exists("[data-page-verified=\"true\"]").await);
    b.assert_accessible("the security log").await;
    b.screenshot("audit-security-log").await;

    b.quit().await;
    app.stop().await;
}
