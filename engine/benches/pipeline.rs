//! Engine command pipeline against raw esrs, on PostgreSQL and SQLite, in one run.
//!
//! Measures commands/s (1 writer; 8 writers on distinct cases; 8 writers on one case) for the raw
//! esrs `AggregateManager` path (`lock_and_load` + `handle_command`, no handlers) and for
//! `Engine::execute`, and the cold load of a 1,000-event case (median of 20; for the engine both
//! from its snapshot and with snapshots off, folding the whole stream). Prints one table.
//!
//! Run: `cargo bench -p ptl-engine --bench pipeline`
//! (PostgreSQL at `PTL_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! `PTL_BENCH_SECS` sets the duration of each throughput measurement, default 3.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use esrs::manager::AggregateManager;
use esrs::store::EventStore;
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::types::{
    Actor, Citizenship, DocumentKind, ExploitationForm, FiledBy, RecordRef, ReferralSource, Role,
    Sex,
};
use ptl_domain::{Action, Command, Register, RuleBook};
use ptl_engine::aggregate::CaseAggregate;
use ptl_engine::clock::SettableClock;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal};
use ptl_engine::testkit::{pg_admin_url, PgTestDb};
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

const WRITERS: usize = 8;
const LOAD_EVENTS: u64 = 1_000;
const LOAD_RUNS: usize = 20;
/// Baseline pool: above twice its 8 writers (each holds a lock session plus a load/persist one).
const RAW_PG_POOL: u32 = 20;

fn secs() -> Duration {
    let s = std::env::var("PTL_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(s)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn cw() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}

fn registration() -> Register {
    Register {
        register_no: String::new(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: NaiveDate::from_ymd_opt(1990, 4, 2).unwrap(),
            citizenship: Citizenship::Ukrainian,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Hotline,
            organisation: None,
            referred_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
}

static NOTE: AtomicU64 = AtomicU64::new(0);

fn note(engine: &Engine) -> Command {
    let n = NOTE.fetch_add(1, Ordering::Relaxed);
    engine.command(
        cw(),
        day(),
        Action::AddNote {
            note: RecordRef(format!("note-{n}")),
        },
    )
}

async fn register(engine: &Engine) -> Uuid {
    let cmd = engine.command(cw(), day(), Action::Register(Box::new(registration())));
    engine
        .register(cmd, Personal::default(), None)
        .await
        .expect("recorded")
        .expect("lawful")
        .case_id
}

async fn register_many(engine: &Engine, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(register(engine).await);
    }
    ids
}

/// Throughput of `writers` tasks, writer `i` on `cases[i % cases.len()]`, for `dur`.
/// Returns (commands/s, failed commands).
async fn throughput<F, Fut>(cases: &[Uuid], writers: usize, dur: Duration, op: F) -> (f64, u64)
where
    F: Fn(Uuid) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::new();
    for i in 0..writers {
        let id = cases[i % cases.len()];
        let (op, ok, failed) = (op.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if op(id).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = ok.load(Ordering::Relaxed) as f64 / elapsed;
    (rate, failed.load(Ordering::Relaxed))
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

/// One raw esrs command: lock, load, decide, persist (no handlers).
async fn raw_command<E>(manager: &AggregateManager<E>, engine: &Engine, id: Uuid) -> bool
where
    E: EventStore<Aggregate = CaseAggregate>,
    E::Error: std::fmt::Debug,
{
    let Ok(locked) = manager.lock_and_load(id).await else {
        return false;
    };
    let state = locked.unwrap();
    matches!(manager.handle_command(state, note(engine)).await, Ok(Ok(_)))
}

/// A table row: its label and which figure it shows.
type Row = (&'static str, fn(&Figures) -> f64);

#[derive(Default, Clone, Copy)]
struct Figures {
    one: f64,
    distinct: f64,
    same: f64,
    load_ms: f64,
    /// The same cold load folding the whole stream (snapshots off); raw esrs has no snapshots.
    replay_ms: f64,
    /// `load_as_of` the 1,000-event case (engine only).
    as_of_ms: f64,
    /// `verify` (recompute the hash chain) of the 1,000-event case (engine only).
    verify_ms: f64,
    failed: u64,
}

async fn bench_raw<E>(store: E, engine: Arc<Engine>, dur: Duration) -> Figures
where
    E: EventStore<Aggregate = CaseAggregate> + Send + Sync + 'static,
    E::Error: std::fmt::Debug,
{
    let manager = Arc::new(AggregateManager::new(store));
    let cases = register_many(&engine, WRITERS).await;
    let mut f = Figures::default();
    let mut failed = 0;
    for (writers, ids, slot) in [
        (1, &cases[..1], 0),
        (WRITERS, &cases[..], 1),
        (WRITERS, &cases[..1], 2),
    ] {
        let (m, e) = (manager.clone(), engine.clone());
        let (rate, fl) = throughput(ids, writers, dur, move |id| {
            let (m, e) = (m.clone(), e.clone());
            async move { raw_command(&m, &e, id).await }
        })
        .await;
        failed += fl;
        match slot {
            0 => f.one = rate,
            1 => f.distinct = rate,
            _ => f.same = rate,
        }
    }
    // A 1,000-event case written through the raw path, loaded cold.
    let id = register(&engine).await;
    for _ in 1..LOAD_EVENTS {
        assert!(raw_command(&manager, &engine, id).await);
    }
    let mut times = Vec::new();
    for _ in 0..LOAD_RUNS {
        let t = Instant::now();
        let state = manager.load(id).await.unwrap().expect("exists");
        times.push(t.elapsed());
        std::hint::black_box(state);
    }
    f.load_ms = median_ms(times);
    f.replay_ms = f.load_ms;
    f.failed = failed;
    f
}

async fn engine_command(engine: &Engine, id: Uuid) -> bool {
    matches!(
        engine
            .execute(id, None, note(engine), Personal::default(), None)
            .await,
        Ok(Ok(_))
    )
}

async fn bench_engine(engine: Arc<Engine>, dur: Duration) -> Figures {
    let cases = register_many(&engine, WRITERS).await;
    let mut f = Figures::default();
    let mut failed = 0;
    for (writers, ids, slot) in [
        (1, &cases[..1], 0),
        (WRITERS, &cases[..], 1),
        (WRITERS, &cases[..1], 2),
    ] {
        let e = engine.clone();
        let (rate, fl) = throughput(ids, writers, dur, move |id| {
            let e = e.clone();
            async move { engine_command(&e, id).await }
        })
        .await;
        failed += fl;
        match slot {
            0 => f.one = rate,
            1 => f.distinct = rate,
            _ => f.same = rate,
        }
    }
    let id = register(&engine).await;
    for _ in 1..LOAD_EVENTS {
        assert!(engine_command(&engine, id).await);
    }
    let mut times = Vec::new();
    for _ in 0..LOAD_RUNS {
        engine.clear_cache();
        let t = Instant::now();
        let (state, version) = engine.load(id).await.unwrap().expect("exists");
        times.push(t.elapsed());
        assert_eq!(version, LOAD_EVENTS);
        std::hint::black_box(state);
    }
    f.load_ms = median_ms(times);
    // The same case through an engine that ignores snapshots: the whole stream is folded.
    let full = Engine::new(
        engine.db().clone(),
        engine.clock().clone(),
        engine.rules().clone(),
        engine.keys().clone(),
        None,
        EngineOptions {
            snapshot_every: 0,
            ..EngineOptions::default()
        },
    )
    .await
    .expect("engine");
    let mut times = Vec::new();
    for _ in 0..LOAD_RUNS {
        full.clear_cache();
        let t = Instant::now();
        let (state, version) = full.load(id).await.unwrap().expect("exists");
        times.push(t.elapsed());
        assert_eq!(version, LOAD_EVENTS);
        std::hint::black_box(state);
    }
    f.replay_ms = median_ms(times);
    // The case as it stood at an instant (bitemporal view: events recorded by then), and the
    // hash chain recomputed from the stored events.
    let at = engine.clock().now();
    let mut times = Vec::new();
    for _ in 0..LOAD_RUNS {
        let t = Instant::now();
        let (state, version) = engine.load_as_of(id, at).await.unwrap().expect("exists");
        times.push(t.elapsed());
        assert_eq!(version, LOAD_EVENTS);
        std::hint::black_box(state);
    }
    f.as_of_ms = median_ms(times);
    let mut times = Vec::new();
    for _ in 0..LOAD_RUNS {
        let t = Instant::now();
        let v = engine.verify(id).await.unwrap();
        times.push(t.elapsed());
        assert!(v.valid);
        assert_eq!(v.events, LOAD_EVENTS);
    }
    f.verify_ms = median_ms(times);
    f.failed = failed;
    f
}

async fn new_engine(db: Db) -> Arc<Engine> {
    let clock = Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    Arc::new(
        Engine::new(
            db,
            clock,
            Arc::new(RuleBook::builtin().unwrap()),
            Arc::new(KeyRing::generate()),
            None,
            EngineOptions::default(),
        )
        .await
        .expect("engine"),
    )
}

fn ratio(engine: f64, raw: f64) -> String {
    if raw > 0.0 {
        format!("{:.2}", engine / raw)
    } else {
        "-".into()
    }
}

#[tokio::main]
async fn main() {
    let dur = secs();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);

    // PostgreSQL: engine and raw esrs on the same migrated database, separate pools.
    let (raw_pg, eng_pg) = {
        // A fresh database on the test server (`PTL_TEST_PG_URL`), dropped at the end, also if
        // the benchmark panics.
        let database = PgTestDb::create_on(&pg_admin_url(), "bench")
            .await
            .expect("a PostgreSQL database for the benchmark");
        let url = database.url().to_owned();
        let db = ptl_engine::open::connect(&url).await.expect("connect");
        ptl_engine::open::migrate(&db).await.expect("migrate");
        let engine = new_engine(db.clone()).await;
        let raw_pool = PgPoolOptions::new()
            .max_connections(RAW_PG_POOL)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .expect("raw pool");
        let store = ptl_engine::store::pg_store_builder::<CaseAggregate>(raw_pool.clone())
            .try_build()
            .await
            .expect("raw PgStore");
        let raw = bench_raw(store, engine.clone(), dur).await;
        let eng = bench_engine(engine.clone(), dur).await;
        raw_pool.close().await;
        drop(engine);
        if let Db::Postgres(p) = db {
            p.close().await;
        }
        database
            .remove()
            .await
            .expect("drop the benchmark's database");
        (raw, eng)
    };

    // SQLite: a durable temp file (WAL + synchronous=FULL, checked).
    let (raw_sq, eng_sq) = {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("ptl.db").display());
        let db = ptl_engine::open::connect(&url).await.expect("connect");
        ptl_engine::open::migrate(&db).await.expect("migrate");
        ptl_engine::open::check_durability(&db)
            .await
            .expect("durable");
        let engine = new_engine(db.clone()).await;
        let Db::Sqlite(pool) = &db else {
            unreachable!()
        };
        let store = ptl_engine::store::SqliteStoreBuilder::<CaseAggregate>::new(pool.clone())
            .try_build()
            .await
            .expect("raw SqliteStore");
        let raw = bench_raw(store, engine.clone(), dur).await;
        let eng = bench_engine(engine.clone(), dur).await;
        drop(engine);
        if let Db::Sqlite(p) = db {
            p.close().await;
        }
        (raw, eng)
    };

    println!();
    println!(
        "Engine command pipeline: {cores} cores, {:.1} s per throughput run, cold load = median of {LOAD_RUNS}",
        dur.as_secs_f64()
    );
    println!(
        "| measurement | raw esrs PG | engine PG | engine/raw PG | raw esrs SQLite | engine SQLite | engine/raw SQLite |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let rows: [Row; 7] = [
        ("commands/s, 1 writer", |f| f.one),
        ("commands/s, 8 writers, distinct cases", |f| f.distinct),
        ("commands/s, 8 writers, one case", |f| f.same),
        ("cold load of a 1,000-event case, ms", |f| f.load_ms),
        (
            "cold load, whole stream folded (engine: snapshots off), ms",
            |f| f.replay_ms,
        ),
        ("as_of of the 1,000-event case (engine only), ms", |f| {
            f.as_of_ms
        }),
        ("verify its hash chain (engine only), ms", |f| f.verify_ms),
    ];
    for (label, get) in rows {
        let fmt = |v: f64| {
            if v == 0.0 {
                // Not measured on this path (raw esrs has no as_of or hash chain).
                "-".to_string()
            } else if label.ends_with("ms") {
                format!("{v:.2}")
            } else {
                format!("{v:.0}")
            }
        };
        // For loads, lower is better: the ratio is still engine/raw (time).
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            fmt(get(&raw_pg)),
            fmt(get(&eng_pg)),
            ratio(get(&eng_pg), get(&raw_pg)),
            fmt(get(&raw_sq)),
            fmt(get(&eng_sq)),
            ratio(get(&eng_sq), get(&raw_sq)),
        );
    }
    println!(
        "failed commands (not counted): raw PG {}, engine PG {}, raw SQLite {}, engine SQLite {}",
        raw_pg.failed, eng_pg.failed, raw_sq.failed, eng_sq.failed
    );
}
