//! `ptl verify` and the log's signed checkpoint through the real binary, on both stores (issue 16,
//! "tail truncation and deleted cases"): deleting a case's last events and deleting a whole case
//! leave chains that verify, and are reported against the checkpoint (exit 2, and in the
//! `--report` file); `--accept-restore` starts a new checkpoint, is recorded in the security log,
//! and verify passes again; a forged checkpoint and a deleted one are reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{ptl, text};
use ptl_engine::clock::SystemClock;
use ptl_engine::db::Db;
use ptl_engine::on_both_stores;
use ptl_engine::pipeline::{Engine, EngineOptions};
use ptl_engine::testkit::{self, Backend, TestStore};
use uuid::Uuid;

async fn run(backend: Backend, scenario: impl AsyncFnOnce(&TestStore)) {
    let store = TestStore::create(backend).await;
    scenario(&store).await;
}

on_both_stores!(
    run,
    truncation_and_deleted_cases_are_reported_until_a_restore_is_accepted
);

async fn engine(db: &Db, data: &Path) -> Engine {
    let (keys, _) = ptl_engine::keys::load_or_create(data).unwrap();
    Engine::new(
        db.clone(),
        Arc::new(SystemClock),
        Arc::new(ptl_domain::RuleBook::builtin().unwrap()),
        Arc::new(keys),
        None,
        EngineOptions {
            data_dir: Some(data.to_path_buf()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap()
}

/// Runs statements on the store as someone with write access to the database would.
async fn sql(db: &Db, statements: &[String]) {
    for s in statements {
        match db {
            Db::Sqlite(p) => {
                sqlx::query(s).execute(p).await.unwrap();
            }
            Db::Postgres(p) => {
                sqlx::query(s).execute(p).await.unwrap();
            }
        }
    }
}

/// Deletes the case's events from `from_sequence` on, with their integrity rows.
async fn delete_events(db: &Db, case: Uuid, from_sequence: i64) {
    let id = match db {
        Db::Sqlite(_) => format!("'{case}'"),
        Db::Postgres(_) => format!("'{case}'::uuid"),
    };
    sql(
        db,
        &[
            format!(
                "DELETE FROM case_events WHERE aggregate_id = {id} AND sequence_number >= {from_sequence}"
            ),
            format!(
                "DELETE FROM event_integrity WHERE case_id = '{case}' AND sequence >= {from_sequence}"
            ),
        ],
    )
    .await;
}

fn verify(root: &Path, store: &TestStore, data: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = ptl(root, store.url(), data, &all);
    let stdout = text(&out.stdout);
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), stdout)
}

async fn truncation_and_deleted_cases_are_reported_until_a_restore_is_accepted(store: &TestStore) {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = store.open().await;
    let e = engine(&db, &data).await;
    let today = ptl_domain::kyiv_date(chrono::Utc::now());
    let truncated = testkit::register_case(&e, today).await;
    let deleted = testkit::register_case(&e, today).await;
    let intact = testkit::register_case(&e, today).await;
    let last = testkit::erase_case(&e, truncated, today, None).await;
    assert!(last >= 2);
    drop(e);

    // A clean store verifies and its checkpoint is written.
    let (code, out) = verify(root.path(), store, &data, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("log  ok       checkpoint 1.1"), "{out}");
    assert!(data.join(ptl_engine::checkpoint::CHECKPOINT_FILE).exists());

    // Someone with write access to the database deletes the last event of one case and a whole
    // other case: every remaining chain still verifies on its own.
    delete_events(&db, truncated, i64::try_from(last).unwrap()).await;
    delete_events(&db, deleted, 1).await;
    let report = root.path().join("report.json");
    let (code, out) = verify(
        root.path(),
        store,
        &data,
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{truncated}  TRUNCATED  first bad event: {last} (deleted)"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("{deleted}  MISSING")), "{out}");
    assert!(out.contains(&format!("{intact}  ok")), "{out}");
    assert!(out.contains("log  INVALID  the log has"), "{out}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let invalid = doc["invalid"].as_array().unwrap();
    let problem = |case: Uuid| {
        invalid
            .iter()
            .find(|c| c["case_id"] == case.to_string())
            .map(|c| (c["problem"].clone(), c["first_bad_event"].clone()))
    };
    assert_eq!(
        problem(truncated),
        Some((serde_json::json!("truncated"), serde_json::json!(last)))
    );
    assert_eq!(
        problem(deleted),
        Some((serde_json::json!("missing"), serde_json::json!(1)))
    );
    assert_eq!(problem(intact), None);
    assert_eq!(doc["log_problems"][0]["kind"], "log_shorter");
    // The checkpoint did not move over the shorter log: verify still reports it.
    let (code, _) = verify(root.path(), store, &data, &[]);
    assert_eq!(code, 2);

    // The operator restored an older backup on purpose: accepted, recorded, verified.
    let (code, out) = verify(root.path(), store, &data, &["--accept-restore"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("RESTORE ACCEPTED"), "{out}");
    let (code, out) = verify(root.path(), store, &data, &[]);
    assert_eq!(code, 0, "{out}");
    let e = engine(&db, &data).await;
    let log = e.security_log(0, i64::MAX).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        // The scenario's erasure first (erasures are in the security log too).
        [
            "personal_data_erased",
            "log_checkpoint_started",
            "restore_accepted"
        ],
        "{log:?}"
    );
    assert_eq!(e.verify_security_log().await.unwrap(), None);
    drop(e);

    // A checkpoint edited in the database (its length raised) no longer verifies.
    sql(
        &db,
        &["UPDATE log_checkpoint SET events = events + 5".to_string()],
    )
    .await;
    let (code, out) = verify(root.path(), store, &data, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("the log's checkpoint does not verify"),
        "{out}"
    );

    // Deleted altogether: the security log says there was one.
    sql(
        &db,
        &[
            "DELETE FROM log_checkpoint".to_string(),
            "DELETE FROM log_checkpoint_heads".to_string(),
        ],
    )
    .await;
    let (code, out) = verify(root.path(), store, &data, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("checkpoint is missing"), "{out}");
    testkit::close(&db).await;
}
