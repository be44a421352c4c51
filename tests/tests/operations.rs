//! The operator's view over real HTTP, once per store (issue 16, "Operator"): `/readyz` answers
//! 503 with the reason while a read model catches up or when the legal clock has not run when it
//! should have, and 200 with warnings when the broker is unreachable; `GET /api/v1/status` (admins
//! only) and the gauges of `/metrics` say the same. Also: the Grafana dashboard and the alert
//! rules under `ops/` use only metrics that `/metrics` exposes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use ptl_domain::Role;
use ptl_tests::{application, Store, TestApp};
use serde_json::Value;

const DAY: &str = "2026-03-02";

async fn run<F, Fut>(store: Store, f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    f(store).await;
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

async fn readyz(app: &TestApp) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn metrics(app: &TestApp) -> String {
    app.http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of one sample (`name{labels}` exactly as written) in a Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn model<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["read_models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()
}

/// A catch-up of `only` in its own thread, runtime and connection pool (as `ptl projections
/// catch-up` in another process), one event per batch, held after its first batch until the
/// returned sender is dropped or sent to.
pub fn paused_catch_up(
    url: String,
    only: &'static str,
) -> (
    std::sync::mpsc::Sender<()>,
    std::sync::mpsc::Receiver<u64>,
    std::thread::JoinHandle<u64>,
) {
    let (first_tx, first_rx) = std::sync::mpsc::channel::<u64>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let db = ptl_engine::open::connect(&url).await.unwrap();
            let report = ptl_projections::catch_up_in_batches(&db, Some(only), 1, |n| {
                if n == 1 {
                    let _ = first_tx.send(n);
                    let _ = release_rx.recv();
                }
            })
            .await
            .unwrap();
            ptl_engine::testkit::close(&db).await;
            report.events
        })
    });
    (release_tx, first_rx, handle)
}

async fn a_read_model_catching_up_makes_the_instance_not_ready_until_it_finishes(store: Store) {
    let app = TestApp::spawn(store).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let admin = app.token("ad-1", Role::Admin, "UA");
    for _ in 0..3 {
        app.register(&cw, &application("UA7102", DAY)).await;
    }
    let (s, body) = readyz(&app).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["reasons"], serde_json::json!([]));

    let (release, first, handle) = paused_catch_up(app.url().to_string(), "work_queue");
    let applied = tokio::task::spawn_blocking(move || first.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the catch-up applied its first batch");
    assert_eq!(applied, 1);

    // Not ready, with the reason.
    let (s, body) = readyz(&app).await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["ready"], false);
    let reasons = body["reasons"].to_string();
    assert!(
        reasons.contains("work_queue") && reasons.contains("catching up"),
        "{reasons}"
    );

    // The status says how each read model is kept, and the lag of the one catching up.
    let r = app.get("/api/v1/status", &admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ready"], false);
    let wq = model(&r.body, "work_queue");
    assert_eq!(wq["kept"], "catching_up", "{wq}");
    assert_eq!(wq["applied"], 1);
    let total = wq["target"].as_u64().unwrap();
    assert!(total >= 3, "{wq}");
    assert_eq!(wq["lag_events"].as_u64().unwrap(), total - 1, "{wq}");
    // Counted from when the oldest event not applied was stored.
    assert!(wq["lag_seconds"].as_f64().unwrap() > 0.0, "{wq}");
    assert!(wq["position"].as_i64().unwrap() >= 1);
    assert_eq!(model(&r.body, "deadlines")["kept"], "in_transaction");
    assert_eq!(model(&r.body, "deadlines")["lag_events"], 0);
    assert_eq!(r.body["store"]["backend"], store_name(store));
    assert!(r.body["store"]["migrations_applied"].as_u64().unwrap() >= 14);
    assert_eq!(
        r.body["store"]["migrations_applied"],
        r.body["store"]["migrations_known"]
    );
    assert_eq!(r.body["calendars"]["last_year"], 2027);

    // The gauges.
    let m = metrics(&app).await;
    assert_eq!(
        sample(&m, "ptl_projection_lag_events{model=\"work_queue\"}"),
        Some((total - 1) as f64),
        "{m}"
    );
    assert_eq!(
        sample(&m, "ptl_projection_complete{model=\"work_queue\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&m, "ptl_projection_complete{model=\"deadlines\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&m, "ptl_ready"), Some(0.0));

    // Only an admin reads the status.
    let r = app.get("/api/v1/status", &cw).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = app
        .http
        .get(format!("{}/api/v1/status", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // Once it has caught up, the instance is ready again.
    release.send(()).unwrap();
    let events = tokio::task::spawn_blocking(move || handle.join().unwrap())
        .await
        .unwrap();
    assert_eq!(events, total);
    let (s, body) = readyz(&app).await;
    assert_eq!(s, 200, "{body}");
    let r = app.get("/api/v1/status", &admin).await;
    let wq = model(&r.body, "work_queue");
    assert_eq!(wq["kept"], "in_transaction", "{wq}");
    assert_eq!(wq["lag_events"], 0);
    assert!(wq["finished_at"].is_string(), "{wq}");
    app.stop().await;
}
both!(a_read_model_catching_up_makes_the_instance_not_ready_until_it_finishes);

fn store_name(store: Store) -> &'static str {
    match store {
        Store::Sqlite => "sqlite",
        Store::Postgres => "postgres",
    }
}

/// An address on which nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn an_unreachable_broker_is_a_warning_and_gauges_not_a_503(store: Store) {
    let port = closed_port();
    let mut app = TestApp::spawn_with(store, |o| {
        o.rabbitmq_url = Some(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
    })
    .await;
    let relay = app
        .relay
        .take()
        .expect("a relay when a broker is configured");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(relay.run(async move {
        let _ = stop_rx.await;
    }));
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let admin = app.token("ad-1", Role::Admin, "UA");
    app.register(&cw, &application("UA7102", DAY)).await;
    // The events wait in the outbox for two minutes.
    app.clock.advance(chrono::Duration::minutes(2));
    // Until the relay has tried the broker once.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.get("/api/v1/status", &admin).await.body;
        if status["outbox"]["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outbox = &status["outbox"];
    assert_eq!(outbox["enabled"], true, "{status}");
    assert_eq!(outbox["broker_connected"], false, "{status}");
    assert!(outbox["pending"].as_u64().unwrap() > 0, "{status}");
    assert!(
        outbox["oldest_seconds"].as_f64().unwrap() >= 120.0,
        "{status}"
    );
    let error = outbox["last_error"].as_str().unwrap();
    assert!(!error.contains("guest:guest"), "credentials in {error}");

    // Ready, with the warnings.
    let (s, body) = readyz(&app).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["ready"], true);
    let warnings = body["warnings"].to_string();
    assert!(warnings.contains("broker is not connected"), "{warnings}");
    assert!(warnings.contains("outbox holds"), "{warnings}");

    let m = metrics(&app).await;
    assert!(sample(&m, "ptl_outbox_pending").unwrap() > 0.0, "{m}");
    assert!(
        sample(&m, "ptl_outbox_oldest_seconds").unwrap() >= 120.0,
        "{m}"
    );
    assert_eq!(sample(&m, "ptl_broker_connected"), Some(0.0), "{m}");
    assert_eq!(sample(&m, "ptl_ready"), Some(1.0), "{m}");
    let _ = stop_tx.send(());
    relay.await.unwrap();
    app.stop().await;
}
both!(an_unreachable_broker_is_a_warning_and_gauges_not_a_503);

async fn a_legal_clock_that_has_not_run_makes_the_instance_not_ready(store: Store) {
    let app = TestApp::spawn(store).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let admin = app.token("ad-1", Role::Admin, "UA");
    app.register(&cw, &application("UA7102", DAY)).await;
    let (s, _) = readyz(&app).await;
    assert_eq!(s, 200);
    // Two months later, the clock (not running in this harness) has recorded nothing.
    app.clock.advance(chrono::Duration::days(60));
    let (s, body) = readyz(&app).await;
    assert_eq!(s, 503, "{body}");
    assert!(
        body["reasons"].to_string().contains("legal clock"),
        "{body}"
    );
    let m = metrics(&app).await;
    assert_eq!(sample(&m, "ptl_clock_late"), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "ptl_clock_last_run_timestamp_seconds"),
        Some(0.0)
    );

    // One run of the legal clock records the misses and the instance is ready again.
    let report = ptl_projections::scheduler::Scheduler::new(app.state.app.engine.clone())
        .run_once()
        .await
        .unwrap();
    assert!(report.missed_recorded > 0);
    let (s, body) = readyz(&app).await;
    assert_eq!(s, 200, "{body}");
    let r = app.get("/api/v1/status", &admin).await;
    let clock = &r.body["legal_clock"];
    assert_eq!(clock["late"], false, "{clock}");
    assert_eq!(clock["records_today"], report.missed_recorded, "{clock}");
    assert!(clock["last_run_at"].is_string(), "{clock}");
    let m = metrics(&app).await;
    assert!(sample(&m, "ptl_clock_last_run_timestamp_seconds").unwrap() > 0.0);
    app.stop().await;
}
both!(a_legal_clock_that_has_not_run_makes_the_instance_not_ready);

/// The metric names a text under `ops/` mentions (`ptl_...`).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("ptl_") {
        let start = i + at;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if before_ok {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_alert_rules_use_only_metrics_that_metrics_exposes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dashboard = std::fs::read_to_string(root.join("ops/grafana/ptl.json")).unwrap();
    let parsed: Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    assert!(!parsed["panels"].as_array().unwrap().is_empty());
    let rules = std::fs::read_to_string(root.join("ops/prometheus/alerts.yml")).unwrap();
    let runbook = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();

    // Every metric the server can expose: a live /metrics with a broker configured and one
    // request served, plus the gauges it writes only sometimes.
    let app = TestApp::spawn_with(Store::Sqlite, |o| {
        o.rabbitmq_url = Some(format!("amqp://127.0.0.1:{}/%2f", closed_port()));
    })
    .await;
    let text = metrics(&app).await;
    let text = format!("{text}{}", metrics(&app).await);
    app.stop().await;
    let mut exposed: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    exposed.extend(
        ptl_api::metrics::STATUS_GAUGES
            .iter()
            .map(|s| (*s).to_string()),
    );
    for name in [
        "ptl_http_requests_total",
        "ptl_projection_lag_events",
        "ptl_outbox_oldest_seconds",
        "ptl_broker_connected",
    ] {
        assert!(exposed.contains(name), "{name} not exposed:\n{text}");
    }
    let used_rules = metric_names(&rules);
    let used_dashboard = metric_names(&dashboard);
    assert!(used_rules.len() >= 6, "{used_rules:?}");
    for name in used_rules.iter().chain(&used_dashboard) {
        assert!(
            exposed.contains(name),
            "{name} is used under ops/ but /metrics does not expose it"
        );
    }
    // Each alert has its section in the runbook.
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 6, "{alerts:?}");
    for alert in alerts {
        assert!(
            runbook.contains(&format!("### {alert}")),
            "docs/operations.md has no section `### {alert}`"
        );
    }
}

/// Every response says how long the server took to make it (`Server-Timing: app;dur=<ms>`): the
/// figure browsers' developer tools show and `ptl-bench web` reports as server time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_servers_own_time() {
    let app = TestApp::spawn(Store::Sqlite).await;
    for path in ["/healthz", "/sign-in", "/api/v1/cases"] {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let timing = r
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let ms: f64 = timing
            .strip_prefix("app;dur=")
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0);
        assert!(ms >= 0.0, "{path}: `{timing}`");
    }
}

/// On PostgreSQL a write appends change rows to the work queue's tallies (migration 0025) and
/// `ptl serve` folds them in every second (`keep_tallies_folded`): once the task has run, none
/// are left, and the work queue's counts read the same as before the fold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_the_work_queue_tallies_are_folded_beside_the_server() {
    let app = TestApp::spawn(Store::Postgres).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    for _ in 0..3 {
        app.register(&cw, &application("UA7102", "2026-03-02"))
            .await;
    }
    let engine = app.state.app.engine.clone();
    let ptl_engine::db::Db::Postgres(pool) = engine.db().clone() else {
        panic!("a PostgreSQL store");
    };
    let changes = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM work_queue_tally_changes")
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    assert!(changes().await >= 3, "one change row per registered case");
    let caller = ptl_api::app::Caller {
        sub: "cw-1".into(),
        role: Role::Caseworker,
        office: "UA7102".into(),
    };
    let before = app.state.app.work_queue_counts(&caller).await.unwrap();
    assert_eq!(before.open, 3);
    let folding = tokio::spawn(ptl_api::startup::keep_tallies_folded(
        engine.clone(),
        Duration::from_millis(20),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while changes().await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the change rows were not folded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    folding.abort();
    let after = app.state.app.work_queue_counts(&caller).await.unwrap();
    assert_eq!(after, before);
    app.stop().await;
}
