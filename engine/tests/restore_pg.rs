//! A PostgreSQL dump restored into a cluster with a lower transaction counter.
//!
//! `case_events.xact_id` holds the writing transaction's id; `pg_dump` copies it as data. In a
//! cluster whose counter is lower, those rows look like they come from the future and the global
//! log (which reads only rows below the snapshot's xmin) never returns them. The migrate path
//! (`ptl migrate`, and every `ptl` command and `ptl serve` before anything else) must renumber
//! them so the whole log is readable, each case in sequence order, and stays append-only.
//!
//! The restore is simulated in a fresh database on the shared server by moving the `xact_id` of
//! part of the rows a million transactions past the cluster's counter (the rest stays in the
//! past: a target cluster whose counter lies between the dump's smallest and largest ids).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ptl_domain::types::*;
use ptl_domain::Action;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, Personal};
use ptl_engine::store::global_log::{
    renumber_restored_xact_ids, GlobalLog, LogCursor, LoggedEvent, RESTORED_XACT_ID,
};
use ptl_engine::testkit::{Backend, TestStore};
use sqlx::PgPool;
use uuid::Uuid;

mod common;
use common::{cw, d, engine_on, registration};

/// Runs `body` against a fresh, migrated database; the kit's guard drops the database
/// afterwards, also when `body` panics.
async fn with_fresh_db<F, Fut>(body: F)
where
    F: FnOnce(Db, PgPool) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = TestStore::create(Backend::Postgres).await;
    let db = store.open().await;
    let Db::Postgres(pool) = db.clone() else {
        panic!("not PostgreSQL")
    };
    body(db, pool.clone()).await;
    pool.close().await;
}

async fn engine(db: Db) -> Engine {
    engine_on(db, Arc::new(KeyRing::generate())).await
}

async fn register(engine: &Engine) -> Uuid {
    let cmd = engine.command(
        cw(),
        d("2026-03-02"),
        Action::Register(Box::new(registration())),
    );
    engine
        .register(cmd, Personal::default(), None)
        .await
        .expect("recorded")
        .expect("lawful")
        .case_id
}

async fn add_note(engine: &Engine, case: Uuid, n: usize) {
    let cmd = engine.command(
        cw(),
        d("2026-03-02"),
        Action::AddNote {
            note: RecordRef(format!("note-{n}")),
        },
    );
    engine
        .execute(case, None, cmd, Personal::default(), None)
        .await
        .expect("recorded")
        .expect("lawful");
}

/// The whole log from the beginning, read page by page as a rebuild does.
async fn read_all(log: &GlobalLog) -> Vec<LoggedEvent> {
    let mut out = Vec::new();
    let mut cursor = LogCursor::default();
    loop {
        let page = log.read_after(cursor, 4).await.expect("read the log");
        let Some(last) = page.last() else {
            return out;
        };
        cursor = last.cursor;
        out.extend(page);
    }
}

/// Reads the log until it holds `want` events (the shared server's other transactions can hold
/// the snapshot xmin back for a few seconds), or gives up after 20 s and returns what it read.
async fn read_until(log: &GlobalLog, want: usize) -> Vec<LoggedEvent> {
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        let all = read_all(log).await;
        if all.len() >= want || Instant::now() > give_up {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every case's events appear in sequence order 1, 2, ... and the cursors strictly increase.
fn assert_log_order(events: &[LoggedEvent]) {
    let mut next: HashMap<Uuid, i64> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let expected = next.entry(e.aggregate_id).or_insert(1);
        assert_eq!(
            e.sequence_number, *expected,
            "case {} out of order at log entry {i}",
            e.aggregate_id
        );
        *expected += 1;
        if i > 0 {
            assert!(
                events[i - 1].cursor < e.cursor,
                "cursor not increasing at {i}"
            );
        }
    }
}

async fn a_restored_log_from_a_younger_cluster_is_renumbered_at_migrate(db: Db, pool: PgPool) {
    let engine = engine(db.clone()).await;
    // Interleaved writes: three cases, notes added round-robin, so that the global order mixes
    // cases and every case has several events.
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(register(&engine).await);
    }
    for round in 0..4 {
        for (i, case) in cases.iter().enumerate() {
            add_note(&engine, *case, round * 10 + i).await;
        }
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM case_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let total = usize::try_from(total).unwrap();
    assert!(total >= 15, "{total} events written");

    let log = GlobalLog::Postgres(pool.clone());
    let before = read_until(&log, total).await;
    assert_eq!(before.len(), total, "the live log reads every event");
    assert_log_order(&before);

    // The restore: the later half of the rows (by position) carries transaction ids a million
    // past this cluster's counter, in their original relative order; the rest stays in the past.
    let (min_pos, max_pos): (i64, i64) =
        sqlx::query_as("SELECT min(global_position), max(global_position) FROM case_events")
            .fetch_one(&pool)
            .await
            .unwrap();
    let split = min_pos + (max_pos - min_pos) / 2;
    let moved = sqlx::query(
        "UPDATE case_events \
         SET xact_id = (xact_id::text::bigint + pg_current_xact_id()::text::bigint + 1000000)::text::xid8 \
         WHERE global_position > $1",
    )
    .bind(split)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    let moved = usize::try_from(moved).unwrap();
    assert!(moved > 0 && moved < total, "{moved} of {total} moved");
    let future: i64 =
        sqlx::query_scalar("SELECT count(*) FROM case_events WHERE xact_id > pg_current_xact_id()")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(usize::try_from(future).unwrap(), moved);

    // Before the repair the log returns the past rows only, never the moved ones.
    let stuck = read_until(&log, total - moved).await;
    assert_eq!(stuck.len(), total - moved, "only the rows left in the past");
    assert!(stuck.iter().all(|e| e.global_position <= split));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        read_all(&log).await.len(),
        total - moved,
        "the moved rows stay invisible"
    );

    // `ptl migrate` / start: the migrate path renumbers them.
    ptl_engine::open::migrate(&db)
        .await
        .expect("migrate the restored store");
    let after = read_until(&log, total).await;
    assert_eq!(
        after.len(),
        total,
        "the whole log is readable after migrate"
    );
    assert_log_order(&after);
    let (left_future, not_renumbered): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE xact_id > pg_current_xact_id()), \
                count(*) FILTER (WHERE xact_id <> $1::bigint::text::xid8) \
         FROM case_events",
    )
    .bind(RESTORED_XACT_ID)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left_future, 0, "no row from the future is left");
    assert_eq!(not_renumbered, 0, "every row shares the restored xact_id");

    let ids: HashSet<Uuid> = after.iter().map(|e| e.id).collect();
    assert_eq!(ids, before.iter().map(|e| e.id).collect::<HashSet<_>>());
    assert!(after
        .iter()
        .all(|e| e.cursor.tx == RESTORED_XACT_ID && e.cursor.position == e.global_position));

    // The log stays append-only: a write after the repair sorts after every renumbered row, so a
    // reader that has read everything finds it after its cursor.
    let end = after.last().unwrap().cursor;
    add_note(&engine, cases[1], 99).await;
    let tail = {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let page = log.read_after(end, 100).await.unwrap();
            if !page.is_empty() || Instant::now() > give_up {
                break page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(tail.len(), 1, "the new event follows the cursor");
    assert_eq!(tail[0].aggregate_id, cases[1]);
    assert!(tail[0].cursor.tx > RESTORED_XACT_ID);
    let all = read_until(&log, total + 1).await;
    assert_eq!(all.len(), total + 1);
    assert_log_order(&all);

    // Nothing to do any more: the next start renumbers nothing, the new row keeps its id.
    assert_eq!(renumber_restored_xact_ids(&pool).await.unwrap(), 0);
    ptl_engine::open::migrate(&db).await.expect("migrate again");
    let again = read_all(&log).await;
    assert_eq!(again.last().unwrap().cursor, tail[0].cursor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_log_from_a_younger_cluster_is_renumbered_at_migrate_pg() {
    with_fresh_db(a_restored_log_from_a_younger_cluster_is_renumbered_at_migrate).await;
}
