//! The admin's status page in headless Chromium (issue 16, "Done when"): a read model catching
//! up while the server serves (a catch-up of the deadlines held after its first event, as `ptl
//! projections catch-up` running against the same store) and the outbox backlog while the broker
//! is unreachable (the server pointed at a closed port); checked by axe-core and kept as
//! screenshots under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ptl_domain::Role;
use ptl_tests::browser::Browser;
use ptl_tests::web::add_user;
use ptl_tests::{application, Store, TestApp};

const PW: &str = "correct horse battery staple";
const DAY: &str = "2026-03-02";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_a_read_model_catching_up_and_the_outbox_backlog() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut app = TestApp::spawn_with(Store::Sqlite, |o| {
        o.rabbitmq_url = Some(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
    })
    .await;
    let relay = app.relay.take().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(relay.run(async move {
        let _ = stop_rx.await;
    }));
    add_user(&app, "root", "admin", "UA", PW).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    for _ in 0..4 {
        app.register(&cw, &application("UA7102", DAY)).await;
    }
    // The events have waited ten minutes for the broker.
    app.clock.advance(chrono::Duration::minutes(10));

    // A catch-up of the deadlines from another "process", held after its first event.
    let (first_tx, first_rx) = std::sync::mpsc::channel::<u64>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let url = app.url().to_string();
    let catch_up = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let db = ptl_engine::open::connect(&url).await.unwrap();
            let r = ptl_projections::catch_up_in_batches(&db, Some("deadlines"), 1, |n| {
                if n == 1 {
                    let _ = first_tx.send(n);
                    let _ = release_rx.recv();
                }
            })
            .await
            .unwrap();
            ptl_engine::testkit::close(&db).await;
            r.events
        })
    });
    tokio::task::spawn_blocking(move || first_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .unwrap();
    // Until the relay has tried the broker once.
    for _ in 0..100 {
        let s = app.state.app.status().await.unwrap();
        if s.outbox.last_error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "root"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;
    // The navigation leads there.
    b.goto(&format!("{}/admin", app.base)).await;
    assert!(b.exists("nav a[href=\"/admin/status\"]").await);
    b.goto(&format!("{}/admin/status", app.base)).await;
    b.assert_not_browser_error("the status page").await;
    assert!(
        b.exists("[role=alert][data-ready=false]").await,
        "{}",
        b.source().await
    );
    let alert = b.alerts().await.join(" ");
    let lang = b.find("html").await.attr("lang").await.unwrap().unwrap();
    let tr_lang = if lang == "en" {
        ptl_api::i18n::Lang::En
    } else {
        ptl_api::i18n::Lang::Uk
    };
    let deadlines_name = ptl_api::i18n::t(tr_lang, "web-status-model-deadlines");
    assert!(alert.contains(&deadlines_name), "{alert}");
    assert!(
        b.exists("tr[data-model=\"deadlines\"][data-kept=\"catching_up\"]")
            .await
    );
    assert!(
        b.exists("tr[data-model=\"work_queue\"][data-kept=\"in_transaction\"]")
            .await
    );
    let lag: u64 = b
        .find("tr[data-model=\"deadlines\"] [data-lag-events]")
        .await
        .attr("data-lag-events")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(lag > 0, "the lag of the read model catching up");
    // The outbox backlog and the broker, in words.
    let outbox = b.find("[data-section=outbox]").await.text().await.unwrap();
    assert!(
        outbox.contains(&ptl_api::i18n::t(tr_lang, "web-status-broker-no")),
        "{outbox}"
    );
    let warnings = b.find("[data-warnings]").await.text().await.unwrap();
    assert!(
        warnings.contains(&ptl_api::i18n::t(tr_lang, "web-status-warning-broker")),
        "{warnings}"
    );
    let page = b.text().await;
    assert!(
        !page.contains("catching_up") && !page.contains("in_transaction"),
        "codes shown: {page}"
    );
    b.assert_accessible("the status page with a read model catching up")
        .await;
    b.screenshot("status-catching-up-broker-down").await;

    // Once the catch-up has finished, every read model is kept in the transaction again and
    // the instance can serve; the broker stays a warning.
    release_tx.send(()).unwrap();
    let applied = tokio::task::spawn_blocking(move || catch_up.join().unwrap())
        .await
        .unwrap();
    assert!(applied >= 4);
    b.goto(&format!("{}/admin/status", app.base)).await;
    assert!(b.exists("[role=status][data-ready=true]").await);
    assert!(
        b.exists("tr[data-model=\"deadlines\"][data-kept=\"in_transaction\"]")
            .await
    );
    assert!(b.exists("[data-warnings]").await);
    b.assert_accessible("the status page when ready").await;
    b.screenshot("status-ready-broker-down").await;

    // Another role is refused.
    b.submit("sign-out").await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "olena"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;
    b.goto(&format!("{}/admin/status", app.base)).await;
    assert!(!b.exists("tr[data-model]").await);
    assert!(!b.exists("nav a[href=\"/admin/status\"]").await);
    b.quit().await;
    let _ = stop_tx.send(());
    relay.await.unwrap();
    app.stop().await;
}
