//! The case page in a real browser (headless Chromium through WebDriver): a caseworker opens a
//! case, sends a form with a date in the future and sees the error next to its field, records the
//! consent, reveals the person's data with a purpose and a reason, and reads the history. Each
//! page passes axe-core (WCAG 2.1 A/AA) and is saved as a screenshot under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ptl_domain::Role;
use ptl_tests::browser::Browser;
use ptl_tests::{application, Store, TestApp};

const PW: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_in_the_browser() {
    let app = TestApp::spawn(Store::Sqlite).await;
    ptl_tests::web::add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let rest = app.token("cw-rest", Role::Caseworker, "UA7102");
    let today = app.state.app.today();
    let (id, _) = app
        .register(&rest, &application("UA7102", &today.to_string()))
        .await;

    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "olena"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;

    b.goto(&format!("{}/cases/{id}", app.base)).await;
    let main = b.find("main").await;
    assert_eq!(
        main.attr("data-case-id").await.unwrap().as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        main.attr("data-version").await.unwrap().as_deref(),
        Some("1")
    );
    assert!(b.exists("form[data-action=\"record-consent\"]").await);
    assert!(!b.exists("form[data-action=\"record-decision\"]").await);
    b.assert_accessible("the case page").await;
    b.screenshot("case-page").await;

    // A date in the future: the page comes back with the error next to the field.
    let tomorrow = today.succ_opt().unwrap().to_string();
    b.fill_and_submit(
        "record-consent",
        &[
            ("occurred_on", &tomorrow),
            ("scope", "status_procedure"),
            ("given_by", "person"),
        ],
    )
    .await;
    assert!(!b.alerts().await.is_empty());
    let error = b
        .find("#f-record-consent-occurred_on-error.field-error")
        .await;
    // In the browser's language (Ukrainian), from the catalogue, not the domain's English.
    let said = error.text().await.unwrap();
    assert!(said.contains("Дата не може бути в майбутньому"), "{said}");
    b.assert_accessible("the case page with a field error")
        .await;
    error.scroll_into_view().await.unwrap();
    b.screenshot("case-page-field-error").await;

    // Corrected and sent: back on the case page with a confirmation, one version on.
    b.fill_and_submit("record-consent", &[("occurred_on", &today.to_string())])
        .await;
    assert_eq!(b.statuses().await.len(), 1, "{:?}", b.alerts().await);
    assert_eq!(
        b.find("main")
            .await
            .attr("data-version")
            .await
            .unwrap()
            .as_deref(),
        Some("2")
    );

    // The person's data, asked for with a purpose and a reason.
    b.fill_and_submit(
        "reveal-person",
        &[
            ("purpose", "case_work"),
            ("reason", "preparing the interview"),
        ],
    )
    .await;
    assert!(b.text().await.contains("Марʼяна Коваль"));
    b.assert_accessible("the case page with the personal data")
        .await;

    // The history.
    b.goto(&format!("{}/cases/{id}/history", app.base)).await;
    assert_eq!(b.find_all("tr[data-event]").await.len(), 2);
    b.assert_accessible("the case history").await;
    b.screenshot("case-history").await;

    // A printable document.
    b.goto(&format!("{}/cases/{id}/print/card", app.base)).await;
    assert!(b.exists(".signature").await);
    b.assert_accessible("the registration card").await;
    b.screenshot("case-print-card").await;

    b.quit().await;
    app.stop().await;
}
