//! `backup_sqlite` on a live SQLite store: the copy is made while another task keeps writing
//! through the engine, passes `PRAGMA integrity_check`, holds every event committed before the
//! backup began, and verifies with the same keys; an existing output is never overwritten and
//! PostgreSQL is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use ptl_domain::types::*;
use ptl_domain::Action;
use ptl_engine::backup::{backup_sqlite, check_sqlite_copy, BackupError};
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, Personal};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use uuid::Uuid;

mod common;
use common::{cw, d, engine_on, registration};

/// Registers a case and records a consent on it: two events.
async fn case_with_consent(engine: &Engine) -> Uuid {
    let cmd = engine.command(
        cw(),
        d("2026-03-02"),
        Action::Register(Box::new(registration())),
    );
    let done = engine
        .register(cmd, Personal::default(), None)
        .await
        .expect("recorded")
        .expect("lawful");
    let cmd = engine.command(
        cw(),
        d("2026-03-02"),
        Action::RecordConsent {
            scope: ConsentScope::StatusProcedure,
            given_by: GivenBy::Person,
        },
    );
    engine
        .execute(done.case_id, Some(1), cmd, Personal::default(), None)
        .await
        .expect("recorded")
        .expect("lawful");
    done.case_id
}

async fn sqlite_store(path: &Path) -> Db {
    let db = ptl_engine::open::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    ptl_engine::open::migrate(&db).await.expect("migrate");
    db
}

async fn event_ids(path: &Path) -> HashSet<String> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .expect("open read-only");
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM case_events")
        .fetch_all(&mut conn)
        .await
        .expect("ids");
    ids.into_iter().collect()
}

async fn committed_ids(db: &Db) -> HashSet<String> {
    let Db::Sqlite(pool) = db else {
        panic!("sqlite")
    };
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM case_events")
        .fetch_all(pool)
        .await
        .expect("ids");
    ids.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writing_holds_every_earlier_event_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sqlite_store(&dir.path().join("ptl.db")).await;
    let keys = Arc::new(KeyRing::generate());
    let engine = Arc::new(engine_on(db.clone(), keys.clone()).await);
    for _ in 0..20 {
        case_with_consent(&engine).await;
    }

    // A writer that keeps registering cases until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (engine, stop, written) = (engine.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                case_with_consent(&engine).await;
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while written.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // Everything committed now was committed before the backup began.
    let before = committed_ids(&db).await;
    // A quote in the name: the path is bound, never spliced into the SQL.
    let out = dir.path().join("it's a backup.db");
    let report = backup_sqlite(&db, &out).await.expect("backup");
    let still_writing = !writer.is_finished();
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    assert!(still_writing, "the writer must run during the backup");
    let after = committed_ids(&db).await;
    assert!(after.len() > before.len(), "the writer kept writing");

    assert_eq!(report.path, out);
    assert!(report.bytes > 0);
    let in_copy = event_ids(&out).await;
    assert_eq!(report.events, in_copy.len() as u64);
    let missing: Vec<_> = before.difference(&in_copy).collect();
    assert!(
        missing.is_empty(),
        "{} events committed before the backup are missing",
        missing.len()
    );
    // Nothing in the copy that was never committed.
    assert!(in_copy.is_subset(&after));
    // Each case is registered, then given a consent, by two commands (two transactions): a copy
    // taken between them holds the first only. Never more, never a consent without its case.
    assert!(
        report.events >= report.cases && report.events <= 2 * report.cases,
        "{report:?}"
    );
    assert_eq!(check_sqlite_copy(&out).await.expect("check"), report);

    // Restored into a fresh directory, it verifies with the same keys.
    let restored_dir = tempfile::tempdir().expect("tempdir");
    let restored = restored_dir.path().join("ptl.db");
    std::fs::copy(&out, &restored).expect("copy");
    let db2 = sqlite_store(&restored).await;
    let engine2 = engine_on(db2.clone(), keys).await;
    let ids = engine2.case_ids().await.expect("ids");
    assert_eq!(ids.len() as u64, report.cases);
    for id in ids {
        let v = engine2.verify(id).await.expect("verify");
        assert!(v.valid, "case {id}: {v:?}");
        assert!(v.events == 1 || v.events == 2, "case {id}: {v:?}");
    }
    if let Db::Sqlite(p) = db2 {
        p.close().await;
    }
    if let Db::Sqlite(p) = db {
        p.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_never_overwrites_an_existing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sqlite_store(&dir.path().join("ptl.db")).await;
    let out = dir.path().join("taken.db");
    std::fs::write(&out, b"keep me").expect("write");
    let r = backup_sqlite(&db, &out).await;
    assert!(
        matches!(r, Err(BackupError::Exists(ref p)) if *p == out),
        "{r:?}"
    );
    assert_eq!(std::fs::read(&out).expect("read"), b"keep me");

    // A dangling link is refused too (SQLite would follow it).
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(dir.path().join("nowhere.db"), &link).expect("symlink");
    let r = backup_sqlite(&db, &link).await;
    assert!(matches!(r, Err(BackupError::Exists(_))), "{r:?}");
    assert!(!dir.path().join("nowhere.db").exists());

    let r = backup_sqlite(&db, &dir.path().join("no/such/dir/b.db")).await;
    assert!(matches!(r, Err(BackupError::NoDirectory(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_store_is_refused_with_the_pg_dump_advice() {
    // A lazy pool never connects: the refusal needs no server.
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("lazy");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b.db");
    let r = backup_sqlite(&Db::Postgres(pool), &out).await;
    let Err(e @ BackupError::NotSqlite) = r else {
        panic!("{r:?}")
    };
    assert!(e.to_string().contains("pg_dump"), "{e}");
    assert!(!out.exists());
}
