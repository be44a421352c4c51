//! `ptl verify` through the real binary, on both stores: a case whose history says erased while
//! its key is still live (what the earlier two-step erasure left when the process died between
//! its event and its key's transaction) is repaired, reported and logged, and verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::ptl;

use ptl_engine::clock::SystemClock;
use ptl_engine::on_both_stores;
use ptl_engine::pipeline::{Engine, EngineOptions};
use ptl_engine::testkit::{self, Backend, TestStore};
use ptl_engine::vault::{PersonalText, Reader, ERASURE_LOG_FILE};

async fn run(backend: Backend, scenario: impl AsyncFnOnce(&TestStore)) {
    let store = TestStore::create(backend).await;
    scenario(&store).await;
}

on_both_stores!(
    run,
    verify_destroys_the_key_of_a_case_erased_in_its_history_and_reports_it
);

async fn verify_destroys_the_key_of_a_case_erased_in_its_history_and_reports_it(store: &TestStore) {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (keys, _) = ptl_engine::keys::load_or_create(&data).unwrap();
    let db = store.open().await;
    let engine = Engine::new(
        db.clone(),
        Arc::new(SystemClock),
        Arc::new(ptl_domain::RuleBook::builtin().unwrap()),
        Arc::new(keys),
        None,
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let today = ptl_domain::kyiv_date(chrono::Utc::now());
    let id = testkit::register_case(&engine, today).await;
    let person = ptl_engine::vault::Vault::new_record_id();
    let mut tx = db.begin().await.unwrap();
    engine
        .vault()
        .put_records(
            tx.conn(),
            id,
            &[PersonalText {
                record: person.clone(),
                value: serde_json::json!({"full_name": "Марʼяна Коваль"}),
            }],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let key = testkit::stored_key(&db, id).await.expect("a live key");
    testkit::erase_case(&engine, id, today, None).await;
    testkit::undo_key_destruction(&db, id, key).await;
    drop(engine);
    testkit::close(&db).await;

    let out = ptl(root.path(), store.url(), &data, &["verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("{id}  REPAIRED")), "{stdout}");
    assert!(stdout.contains(&format!("{id}  ok")), "{stdout}");
    let log = std::fs::read_to_string(data.join(ERASURE_LOG_FILE)).unwrap();
    assert!(
        log.contains(&id.to_string()) && log.contains("\"repair\":true"),
        "{log}"
    );

    let db = store.open().await;
    assert_eq!(testkit::stored_key(&db, id).await, None);
    let (keys, _) = ptl_engine::keys::load_or_create(&data).unwrap();
    let vault = ptl_engine::vault::Vault::new(Arc::new(keys));
    let mut tx = db.begin().await.unwrap();
    let reader = Reader {
        sub: "cw-1".into(),
        role: "caseworker".into(),
        office: Some("UA7102".into()),
        reason: Some("check".into()),
    };
    let read = vault
        .read_records(tx.conn(), id, &[person], &reader)
        .await
        .unwrap();
    let entry = vault.ledger_entry(tx.conn(), id).await.unwrap();
    tx.commit().await.unwrap();
    testkit::close(&db).await;
    assert_eq!(read[0].1, None, "the person no longer reads");
    assert!(entry.and_then(|e| e.repaired_at).is_some());

    // Nothing left to repair.
    let again = ptl(root.path(), store.url(), &data, &["verify"]);
    let stdout = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(again.status.success(), "{stdout}");
    assert!(!stdout.contains("REPAIRED"), "{stdout}");
}
