//! The web pages in a real headless Chromium over WebDriver (`ptl_tests::browser`), with axe-core
//! checking WCAG 2.1 A/AA. One chromedriver serves every test of this binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ptl_domain::Role;
use ptl_tests::browser::Browser;
use ptl_tests::{Store, TestApp};
use serde_json::Value;

/// The harness on the dashboard: the page runs its own script under its Content-Security-Policy
/// (`script-src 'self'`, no inline script), an inline script added to the page is blocked by that
/// policy, and axe-core injected through WebDriver still runs and finds no WCAG 2.1 A/AA violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_runs_axe_on_the_dashboard_under_its_csp() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let today = ptl_domain::kyiv_date(app.state.app.engine.clock().now());
    ptl_api::demo::demo(
        &app.state.app.engine,
        ptl_api::demo::Scenario::CherkasyToday,
        today,
    )
    .await
    .unwrap();
    let token = app.token("rc-1", Role::Supervisor, "UA71");
    let browser = Browser::start().await;
    browser
        .goto(&format!("{}/dashboard#token={token}", app.base))
        .await;
    browser.find("[data-loaded=\"true\"]").await;
    let stats = app.get("/api/v1/stats", &token).await;
    let applications = browser
        .find("#totals [data-figure=\"applications\"]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        applications.trim(),
        stats.body["totals"]["applications"].to_string()
    );

    // The page's CSP is in force: an inline script does not run.
    let ran = browser
        .driver
        .execute(
            "const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
             document.body.appendChild(s); return window.__inline === 1;",
            Vec::<Value>::new(),
        )
        .await
        .unwrap();
    assert_eq!(ran.json(), &Value::Bool(false), "an inline script ran");

    browser.assert_accessible("the dashboard").await;
    let shot = browser.screenshot("dashboard-webdriver").await;
    assert!(shot.is_file());
    browser.quit().await;
    app.stop().await;
}
