//! Erasure over HTTP on both stores: one request erases (event, key, ledger row together), and an
//! erasure left half done by the earlier two-step code is repaired when the server starts again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use ptl_domain::Role;
use ptl_engine::testkit;
use ptl_engine::vault::ERASURE_LOG_FILE;
use ptl_tests::{application, Store, TestApp};
use serde_json::json;
use uuid::Uuid;

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
const REASON: &str = "SECRET-written request of the person, 1 March";

/// The person's data as a caseworker of UA7102 reads it (`null` once erased).
async fn person(app: &TestApp, id: &str) -> serde_json::Value {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let r = app
        .get(
            &format!("/api/v1/cases/{id}?include=person&reason=follow-up"),
            &cw,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["person"].clone()
}

fn erasure_log(app: &TestApp) -> String {
    std::fs::read_to_string(app.dir.path().join("data").join(ERASURE_LOG_FILE)).unwrap_or_default()
}

async fn erase(app: &TestApp, id: &str, etag: &str) -> ptl_tests::Resp {
    let sv = app.token("sv-1", Role::Supervisor, "UA7102");
    app.act(
        &sv,
        id,
        "erase-personal-data",
        etag,
        &json!({"occurred_on": DAY, "category": "person_request", "reason": REASON}),
    )
    .await
}

/// One request erases: the answer already shows the case erased, the person no longer reads, the
/// reason is kept in the ledger (not in the event), and the event keeps the category.
async fn one_erasure_request_destroys_the_key_and_keeps_the_reason_in_the_ledger(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    assert_eq!(person(&app, &id).await["full_name"], "Марʼяна Коваль");

    let sv = app.token("sv-1", Role::Supervisor, "UA7102");
    let missing = app
        .act(
            &sv,
            &id,
            "erase-personal-data",
            &etag,
            &json!({"occurred_on": DAY, "reason": REASON}),
        )
        .await;
    assert_eq!(missing.status, 422, "{}", missing.body);
    assert!(
        missing.body.to_string().contains("category"),
        "{}",
        missing.body
    );

    let r = erase(&app, &id, &etag).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["personal_data_erased"], true);
    assert!(person(&app, &id).await.is_null());

    let case_id = Uuid::parse_str(&id).unwrap();
    let engine = &app.state.app.engine;
    assert_eq!(testkit::stored_key(engine.db(), case_id).await, None);
    let mut tx = engine.db().read().await.unwrap();
    let entry = engine
        .vault()
        .ledger_entry(tx.conn(), case_id)
        .await
        .unwrap()
        .expect("a ledger row");
    drop(tx);
    assert_eq!(entry.reason.as_deref(), Some(REASON));
    assert_eq!(entry.category.as_deref(), Some("person_request"));
    assert_eq!(entry.by_sub, "sv-1");

    let auditor = app.token("au-1", Role::Auditor, "UA");
    let events = app
        .get(&format!("/api/v1/cases/{id}/events"), &auditor)
        .await;
    assert_eq!(events.status, 200, "{}", events.body);
    let text = events.body.to_string();
    assert!(text.contains("\"category\":\"person_request\""), "{text}");
    assert!(
        !text.contains("SECRET"),
        "the reason is not in the event: {text}"
    );
    assert!(erasure_log(&app).contains(&id));
    app
}
both!(one_erasure_request_destroys_the_key_and_keeps_the_reason_in_the_ledger);

/// The earlier code committed the erasure event, then destroyed the key in a second transaction.
/// A store where the process died between the two (the event recorded, the key live, no ledger
/// row, no line in `erasures.log`) still shows the person; after a restart it does not, and the
/// repair is logged.
async fn an_erasure_interrupted_before_its_key_was_destroyed_is_completed_at_restart(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let (other, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let case_id = Uuid::parse_str(&id).unwrap();
    let db = app.state.app.engine.db().clone();
    let key = testkit::stored_key(&db, case_id).await.expect("a live key");
    assert_eq!(erase(&app, &id, &etag).await.status, 200);
    testkit::undo_key_destruction(&db, case_id, key).await;
    std::fs::remove_file(app.dir.path().join("data").join(ERASURE_LOG_FILE)).unwrap();
    assert_eq!(
        person(&app, &id).await["full_name"],
        "Марʼяна Коваль",
        "the half-erased state reads"
    );

    let app = app.restart().await;
    assert!(person(&app, &id).await.is_null());
    assert_eq!(person(&app, &other).await["full_name"], "Марʼяна Коваль");
    let log = erasure_log(&app);
    assert!(
        log.contains(&id) && log.contains("\"repair\":true"),
        "{log}"
    );
    let engine = &app.state.app.engine;
    let mut tx = engine.db().read().await.unwrap();
    let entry = engine
        .vault()
        .ledger_entry(tx.conn(), case_id)
        .await
        .unwrap()
        .expect("a ledger row");
    drop(tx);
    assert!(entry.repaired_at.is_some());
    assert_eq!(entry.category.as_deref(), Some("person_request"));
    // The security log holds the erasure and its repair, with the case and no personal data.
    let kinds: Vec<(String, String)> = engine
        .security_log(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.detail["case"] == id.as_str())
        .map(|e| {
            (
                e.kind,
                e.detail["category"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "personal_data_erased".to_string(),
                "person_request".to_string()
            ),
            (
                "personal_data_erasure_repaired".to_string(),
                "person_request".to_string()
            ),
        ]
    );
    assert_eq!(engine.verify_security_log().await.unwrap(), None);
    app
}
both!(an_erasure_interrupted_before_its_key_was_destroyed_is_completed_at_restart);

/// Runs one statement on the test's store.
async fn exec(db: &ptl_engine::db::Db, sql: &str) {
    match db {
        ptl_engine::db::Db::Sqlite(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
        ptl_engine::db::Db::Postgres(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
    }
}

/// When the erasure ledger row of `id` says its security-log entry was written (`None`: not).
async fn security_logged_at(db: &ptl_engine::db::Db, id: &str) -> Option<i64> {
    let sql = format!("SELECT security_logged_at FROM erasure_ledger WHERE case_id = '{id}'");
    let (at,): (Option<i64>,) = match db {
        ptl_engine::db::Db::Sqlite(p) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
        ptl_engine::db::Db::Postgres(p) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
    };
    at
}

/// The security log's `personal_data_erased` entries of a case, as their `recovered` flags.
async fn erasure_entries(app: &TestApp, id: &str) -> Vec<bool> {
    app.state
        .app
        .engine
        .security_log(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "personal_data_erased" && e.detail["case"] == id)
        .map(|e| e.detail["recovered"] == true)
        .collect()
}

/// An erasure's security-log entry follows its commit and marks its ledger row. A process that
/// stopped between the two (the erasure committed, no entry, the row unmarked) gets the entry at
/// the next start, once, with the chain still whole.
async fn an_erasure_whose_security_log_entry_a_crash_prevented_gets_it_at_restart(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    assert_eq!(erase(&app, &id, &etag).await.status, 200);
    let db = app.state.app.engine.db().clone();
    assert!(security_logged_at(&db, &id).await.is_some());
    assert_eq!(erasure_entries(&app, &id).await, [false]);

    // The state a crash right after the commit leaves: no entry (it was the log's last), the
    // ledger row unmarked.
    let last = app
        .state
        .app
        .engine
        .security_log(0, 1000)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "personal_data_erased");
    exec(
        &db,
        &format!("DELETE FROM security_log WHERE seq = {}", last.seq),
    )
    .await;
    exec(
        &db,
        &format!("UPDATE erasure_ledger SET security_logged_at = NULL WHERE case_id = '{id}'"),
    )
    .await;
    assert!(erasure_entries(&app, &id).await.is_empty());

    let app = app.restart().await;
    assert_eq!(erasure_entries(&app, &id).await, [true]);
    let db = app.state.app.engine.db().clone();
    assert!(security_logged_at(&db, &id).await.is_some());
    assert_eq!(
        app.state.app.engine.verify_security_log().await.unwrap(),
        None
    );
    let app = app.restart().await;
    assert_eq!(erasure_entries(&app, &id).await, [true], "written once");
    app
}
both!(an_erasure_whose_security_log_entry_a_crash_prevented_gets_it_at_restart);
