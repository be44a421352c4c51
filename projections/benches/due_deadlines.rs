//! The deadline scheduler's look-up at scale: `due_deadlines` and `next_open_due` over 100,000
//! open cases, on SQLite and (when reachable) PostgreSQL.
//!
//! Why rows are inserted directly: the question is whether the partial index
//! `deadlines_open_due_on` keeps the scan cheap, not how fast the engine registers cases. Each of
//! the 100,000 cases gets one running deadline (due dates spread over the coming 200 days), plus
//! 100,000 finished ones (fulfilled or cancelled, which the index leaves out); 500 running ones
//! are due before `today`. Target (issue): under 50 ms.
//!
//! `cargo bench -p ptl-projections --bench due_deadlines` (plain `main`, `harness = false`).
//! PostgreSQL at `PTL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`): a fresh
//! database is created and dropped; the PostgreSQL part is skipped if the server is unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use ptl_engine::db::Db;
use ptl_engine::testkit::{pg_admin_url, PgTestDb, SqliteTestDb};
use ptl_projections::{due_deadlines, next_open_due};
use uuid::Uuid;

const CASES: u64 = 100_000;
const DUE: u64 = 500;
const RUNS: usize = 100;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

async fn fill(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    let t = today();
    for i in 0..CASES {
        let case_id = Uuid::new_v4().to_string();
        // The first DUE cases are overdue; the rest fall due over the next 200 days.
        let due = if i < DUE {
            t.checked_sub_days(Days::new(1 + i % 5)).unwrap()
        } else {
            t.checked_add_days(Days::new(i % 200)).unwrap()
        };
        let start = due.checked_sub_days(Days::new(10)).unwrap();
        let office = format!("UA{:04}", 7100 + i % 25);
        ptl_engine::run!(
            tx.conn(),
            "INSERT INTO deadlines (case_id, name, kind, start_on, due_on, fulfilled_on, cancelled_on, missed_recorded, office, last_sequence) \
             VALUES ($1, 'file_submission', 'file_submission', $2, $3, NULL, NULL, FALSE, $4, 3)",
            case_id.clone(),
            start.to_string(),
            due.to_string(),
            office.clone()
        )
        .unwrap();
        // A finished deadline per case, long past due: outside the partial index.
        let old = t.checked_sub_days(Days::new(30 + i % 300)).unwrap();
        let (fulfilled, cancelled) = if i % 2 == 0 {
            (Some(old.to_string()), None)
        } else {
            (None, Some(old.to_string()))
        };
        ptl_engine::run!(
            tx.conn(),
            "INSERT INTO deadlines (case_id, name, kind, start_on, due_on, fulfilled_on, cancelled_on, missed_recorded, office, last_sequence) \
             VALUES ($1, 'interview', 'interview', $2, $3, $4, $5, FALSE, $6, 3)",
            case_id,
            old.to_string(),
            old.to_string(),
            fulfilled,
            cancelled,
            office
        )
        .unwrap();
    }
    tx.commit().await.unwrap();
    match db {
        Db::Sqlite(p) => {
            sqlx::query("ANALYZE").execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            // What autovacuum does after a bulk insert; without it, its run lands inside the
            // measurements.
            sqlx::query("VACUUM ANALYZE deadlines")
                .execute(p)
                .await
                .unwrap();
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn measure(label: &str, db: &Db) {
    let started = Instant::now();
    fill(db).await;
    println!(
        "{label}: inserted {} deadline rows ({CASES} open) in {:.1} s",
        CASES * 2,
        started.elapsed().as_secs_f64()
    );
    // Warm-up, and the answer's size.
    let found = due_deadlines(db, today()).await.unwrap();
    assert_eq!(found.len() as u64, DUE, "{label}: due deadlines found");
    let mut scan = Vec::with_capacity(RUNS);
    let mut next = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let found = due_deadlines(db, today()).await.unwrap();
        scan.push(t.elapsed());
        assert_eq!(found.len() as u64, DUE);
        let t = Instant::now();
        let n = next_open_due(db).await.unwrap();
        next.push(t.elapsed());
        assert!(n.is_some());
    }
    scan.sort();
    let p95 = scan[(scan.len() * 95).div_ceil(100) - 1];
    let worst = scan.last().copied().unwrap_or_default();
    let over = scan.iter().filter(|t| t.as_millis() >= 50).count();
    println!(
        "{label}: due_deadlines ({DUE} due among {CASES} open): median {}, p95 {}, max {} over \
         {RUNS} runs ({over} at or over 50 ms); next_open_due: median {}",
        ms(median(scan)),
        ms(p95),
        ms(worst),
        ms(median(next)),
    );
}

async fn sqlite() {
    let file = SqliteTestDb::create();
    let db = ptl_engine::open::connect(file.url()).await.unwrap();
    ptl_engine::open::migrate(&db).await.unwrap();
    measure("SQLite", &db).await;
    if let Db::Sqlite(p) = db {
        p.close().await;
    }
}

async fn postgres() {
    // A fresh database on the test server (`PTL_TEST_PG_URL`), dropped at the end, also if the
    // benchmark panics.
    let database = match PgTestDb::create_on(&pg_admin_url(), "bench").await {
        Ok(database) => database,
        Err(e) => {
            println!("PostgreSQL: {e}, skipped");
            return;
        }
    };
    let db = ptl_engine::open::connect(database.url()).await.unwrap();
    ptl_engine::open::migrate(&db).await.unwrap();
    measure("PostgreSQL", &db).await;
    if let Db::Postgres(p) = db {
        p.close().await;
    }
    database.remove().await.unwrap();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlite().await;
        postgres().await;
    });
}
