//! The list pages in headless Chromium (`ptl_tests::browser`): the work queue and the two-step
//! registration driven through their forms, each page checked by axe-core (WCAG 2.1 A/AA) and
//! kept as a screenshot under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ptl_domain::Role;
use ptl_tests::browser::Browser;
use ptl_tests::web::add_user;
use ptl_tests::{application, Store, TestApp};

const PW: &str = "correct horse battery staple";
const DAY: &str = "2026-03-02";

async fn signed_in(app: &TestApp, login: &str) -> Browser {
    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", login), ("password", PW)])
        .await;
    b.submit("acknowledge").await;
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_and_the_registration_in_the_browser_are_accessible() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let olena = add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let cw = app.token(&olena.id, Role::Caseworker, "UA7102");
    let (first, _) = app.register(&cw, &application("UA7102", DAY)).await;
    app.register(&cw, &application("UA7102", DAY)).await;

    let b = signed_in(&app, "olena").await;
    // The work queue: the cases as rows, views with counts, filters.
    b.goto(&format!("{}/", app.base)).await;
    assert_eq!(b.find_all("tr[data-case-id]").await.len(), 2);
    assert!(
        b.exists(&format!(
            "tr[data-case-id=\"{first}\"] a[href=\"/cases/{first}\"]"
        ))
        .await
    );
    b.assert_accessible("the work queue").await;
    b.screenshot("work-queue").await;
    let stage = b.find("#f-stage").await;
    stage
        .find(thirtyfour::By::Css("option[value=\"submitted\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let apply = b.find("form.filters button[type=submit]").await;
    b.click_and_wait(&apply).await;
    assert!(b.url().await.contains("stage=submitted"));
    assert!(b.find_all("tr[data-case-id]").await.is_empty());

    // Registration: an error next to its field, then the duplicate step, then the case.
    b.goto(&format!("{}/cases/new", app.base)).await;
    b.assert_accessible("the registration form").await;
    b.screenshot("registration").await;
    let person = [
        ("filed_by", "self"),
        ("person.full_name", "Марʼяна Коваль"),
        ("person.birth_date", "1990-04-02"),
        ("applicant.sex", "female"),
        ("applicant.citizenship", "ukrainian"),
        ("applicant.speaks_ukrainian_or_russian", "true"),
        ("applicant.interpreter_used", "false"),
        ("exploitation.country", "PL"),
        ("rights_explained", "true"),
    ];
    // Without a form of exploitation (the browser's own check lets a group of checkboxes pass).
    b.fill_and_submit("register", &person).await;
    assert!(!b.alerts().await.is_empty());
    assert!(b.exists("#exploitation_forms-error").await);
    b.assert_accessible("the registration form with an error")
        .await;
    b.screenshot("registration-error").await;
    b.fill_and_submit("register", &[("exploitation.forms", "labour")])
        .await;
    // The check found the two cases registered over REST for the same person.
    assert!(
        b.exists("[data-duplicates=\"2\"]").await,
        "{}",
        b.text().await
    );
    assert!(b.exists(&format!("tr[data-case-id=\"{first}\"]")).await);
    b.assert_accessible("the duplicate check").await;
    b.screenshot("registration-duplicates").await;
    b.submit("register").await;
    let url = b.url().await;
    assert!(url.contains("/cases/"), "{url}");
    let r = app.get("/api/v1/cases?limit=10", &cw).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    b.quit().await;
    app.stop().await;
}
