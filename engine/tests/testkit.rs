//! The test kit's stores remove themselves: a PostgreSQL test database is dropped when its guard
//! goes, also while a panic unwinds with connections still open on it, and a SQLite test store's
//! directory goes with its guard. This is what lets a failing test leave no `ptl_*` database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ptl_engine::db::Db;
use ptl_engine::testkit::{
    pg_admin_url, pg_database_exists, Backend, PgTestDb, SqliteTestDb, TestDbError, TestStore,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_is_dropped_when_the_test_holding_it_panics() {
    let admin = pg_admin_url();
    let (named, name) = std::sync::mpsc::channel();
    let test = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let database = PgTestDb::create().await;
            named.send(database.name().to_owned()).unwrap();
            let store = TestStore::Postgres(database);
            let Db::Postgres(pool) = store.open().await else {
                panic!("not PostgreSQL")
            };
            // A query still running on the database when the test fails: the drop must end it.
            let busy = pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("SELECT pg_sleep(60)").execute(&busy).await;
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!("the test fails while it holds its database");
        });
    });
    assert!(test.join().is_err(), "the test thread panicked");
    let name = name.recv().unwrap();
    assert!(name.starts_with("ptl_test_"), "{name}");
    assert!(
        !pg_database_exists(&admin, &name).await.unwrap(),
        "{name} was left on the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_exists_while_its_guard_lives_and_is_gone_after() {
    let admin = pg_admin_url();
    let database = PgTestDb::create().await;
    let name = database.name().to_owned();
    assert!(pg_database_exists(&admin, &name).await.unwrap());
    drop(database);
    assert!(!pg_database_exists(&admin, &name).await.unwrap());

    let database = PgTestDb::create_on(&admin, "bench").await.unwrap();
    let name = database.name().to_owned();
    assert!(name.starts_with("ptl_bench_"), "{name}");
    database.remove().await.unwrap();
    assert!(!pg_database_exists(&admin, &name).await.unwrap());
}

#[tokio::test]
async fn a_label_that_is_not_a_plain_identifier_creates_nothing() {
    for label in ["", "Bench", "x; DROP DATABASE test", "a-b"] {
        assert!(
            matches!(
                PgTestDb::create_on(&pg_admin_url(), label).await,
                Err(TestDbError::BadLabel(_))
            ),
            "{label:?}"
        );
    }
}

#[tokio::test]
async fn a_sqlite_test_store_is_removed_with_its_guard() {
    let store = TestStore::create(Backend::Sqlite).await;
    assert_eq!(store.backend(), Backend::Sqlite);
    let db = store.open().await;
    let TestStore::Sqlite(file) = &store else {
        panic!("not SQLite")
    };
    let dir = file.dir().to_path_buf();
    assert!(file.path().exists());
    ptl_engine::testkit::close(&db).await;
    drop(store);
    assert!(!dir.exists(), "{} was left behind", dir.display());

    let file = SqliteTestDb::create();
    assert_eq!(file.url(), format!("sqlite://{}", file.path().display()));
}
