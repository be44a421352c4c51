//! The integrity report in headless Chromium (issue 16, "Done when"): an auditor starts it from
//! the page, the page refreshes itself (no script) until it is done, and the truncated chain and
//! the deleted case are reported with their first bad event; each page is checked by axe-core and
//! kept as a screenshot under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ptl_tests::browser::Browser;
use ptl_tests::integrity::tampered;
use ptl_tests::web::add_user;
use ptl_tests::{Store, TestApp};

const PW: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_finds_a_truncated_chain_with_the_integrity_report() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "ivanna", "auditor", "UA", PW).await;
    let (truncated, deleted, intact, _) = tampered(&app).await;

    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "ivanna"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;
    // The auditor's navigation leads to the page.
    let link = b.find("nav a[href=\"/audit/integrity\"]").await;
    b.click_and_wait(&link).await;
    b.assert_accessible("the integrity reports").await;
    b.screenshot("integrity-start").await;

    b.submit("integrity-report").await;
    let mut finished = false;
    for _ in 0..120 {
        if b.exists("main[data-report-status=\"finished\"]").await {
            finished = true;
            break;
        }
        // The page reloads itself every 2 seconds while the report runs.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(finished, "{} {}", b.url().await, b.text().await);
    b.wait_loaded().await;
    let row = b
        .find(&format!("tr[data-case-id=\"{truncated}\"]"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("last events of the case were deleted")
            || row.contains("Останні події справи видалено"),
        "{row}"
    );
    let first_bad = b
        .find(&format!("tr[data-case-id=\"{truncated}\"] td:nth-child(3)"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first_bad, "3");
    assert!(b.exists(&format!("tr[data-case-id=\"{deleted}\"]")).await);
    assert!(!b.exists(&format!("tr[data-case-id=\"{intact}\"]")).await);
    assert_eq!(b.find_all("[data-log-problem]").await.len(), 1);
    b.assert_accessible("the integrity report").await;
    b.screenshot("integrity-report").await;

    // Back on the list, the report is there.
    b.goto(&format!("{}/audit/integrity", app.base)).await;
    assert_eq!(b.find_all("tr[data-report]").await.len(), 1);
    b.quit().await;
    app.stop().await;
}
