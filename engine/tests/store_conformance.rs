//! Store conformance suite: every scenario is written once, generic over [`Harness`], and run
//! against both our `SqliteStore` (temp file) and esrs's `PgStore` over our migrations (a fresh
//! PostgreSQL database per test, dropped at the end by the kit's `PgTestDb`).
//!
//! PostgreSQL: `PTL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) must point at
//! a server where the user may `CREATE DATABASE`. The tests fail (not skip) if it is unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use esrs::handler::TransactionalEventHandler;
use esrs::manager::AggregateManager;
use esrs::store::{EventStore, StoreEvent};
use esrs::{Aggregate, AggregateState};
use futures::{FutureExt, TryStreamExt};
use ptl_engine::store::sqlite::{self, SqliteStoreBuilder};
use ptl_engine::store::{
    is_sequence_conflict, is_unique_violation, migrate_postgres, migrate_sqlite, pg_store_builder,
    GlobalLog, LogCursor, LoggedEvent, PgStore, PgStoreError, SqliteStore, SqliteStoreError,
    WriteGate,
};
use ptl_engine::testkit::{PgTestDb, SqliteTestDb};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgConnection, PgPool, SqliteConnection, SqlitePool};
use tokio::sync::Barrier;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Test aggregate
// ---------------------------------------------------------------------------------------------

/// A counter; its NAME is "case" because the migrations only create `case_events`.
struct Counter;

#[derive(Debug, Default)]
struct CounterState {
    total: u64,
    count: u32,
}

#[derive(Debug)]
enum CounterCommand {
    Add(u32),
    AddMany(Vec<u32>),
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum CounterEvent {
    Added { n: u32 },
}

#[derive(Debug, thiserror::Error)]
enum CounterError {
    #[error("refused")]
    Refused,
}

impl Aggregate for Counter {
    const NAME: &'static str = "case";
    type State = CounterState;
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = CounterError;

    fn handle_command(
        _state: &Self::State,
        command: Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            CounterCommand::Add(n) => Ok(vec![CounterEvent::Added { n }]),
            CounterCommand::AddMany(ns) => {
                Ok(ns.into_iter().map(|n| CounterEvent::Added { n }).collect())
            }
            CounterCommand::Refuse => Err(CounterError::Refused),
        }
    }

    fn apply_event(state: Self::State, payload: Self::Event) -> Self::State {
        let CounterEvent::Added { n } = payload;
        CounterState {
            total: state.total + u64::from(n),
            count: state.count + 1,
        }
    }
}

const PROJECTION_DDL: &str =
    "CREATE TABLE test_projection (event_id TEXT PRIMARY KEY, aggregate_id TEXT NOT NULL, n BIGINT NOT NULL)";

/// Transactional read model: one row per event; fails (after writing its row) on `fail_on`.
struct Projection {
    fail_on: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
#[error("poisoned event {0}")]
struct Poisoned(u32);

#[async_trait]
impl TransactionalEventHandler<Counter, SqliteStoreError, SqliteConnection> for Projection {
    async fn handle(
        &self,
        event: &StoreEvent<CounterEvent>,
        conn: &mut SqliteConnection,
    ) -> Result<(), SqliteStoreError> {
        let CounterEvent::Added { n } = event.payload;
        sqlx::query("INSERT INTO test_projection (event_id, aggregate_id, n) VALUES (?1, ?2, ?3)")
            .bind(event.id.to_string())
            .bind(event.aggregate_id.to_string())
            .bind(i64::from(n))
            .execute(&mut *conn)
            .await?;
        if self.fail_on == Some(n) {
            return Err(SqliteStoreError::Custom(Box::new(Poisoned(n))));
        }
        Ok(())
    }

    async fn delete(
        &self,
        aggregate_id: Uuid,
        conn: &mut SqliteConnection,
    ) -> Result<(), SqliteStoreError> {
        sqlx::query("DELETE FROM test_projection WHERE aggregate_id = ?1")
            .bind(aggregate_id.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl TransactionalEventHandler<Counter, PgStoreError, PgConnection> for Projection {
    async fn handle(
        &self,
        event: &StoreEvent<CounterEvent>,
        conn: &mut PgConnection,
    ) -> Result<(), PgStoreError> {
        let CounterEvent::Added { n } = event.payload;
        sqlx::query("INSERT INTO test_projection (event_id, aggregate_id, n) VALUES ($1, $2, $3)")
            .bind(event.id.to_string())
            .bind(event.aggregate_id.to_string())
            .bind(i64::from(n))
            .execute(&mut *conn)
            .await?;
        if self.fail_on == Some(n) {
            return Err(PgStoreError::Custom(Box::new(Poisoned(n))));
        }
        Ok(())
    }

    async fn delete(
        &self,
        aggregate_id: Uuid,
        conn: &mut PgConnection,
    ) -> Result<(), PgStoreError> {
        sqlx::query("DELETE FROM test_projection WHERE aggregate_id = $1")
            .bind(aggregate_id.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Opts {
    /// The projection handler fails on an event with this `n`.
    fail_on: Option<u32>,
    /// PostgreSQL pool size (SQLite always uses 8).
    pg_pool_size: u32,
}

const DEFAULT: Opts = Opts {
    fail_on: None,
    pg_pool_size: 8,
};

#[async_trait]
trait Harness: Send + Sync + Sized + 'static {
    type Store: EventStore<Aggregate = Counter, Error = Self::Error> + Clone + Send + Sync + 'static;
    type Error: std::error::Error + Send + Sync + 'static;

    async fn setup(opts: Opts) -> Self;
    fn store(&self) -> Self::Store;
    fn log(&self) -> GlobalLog;
    /// The optimistic-concurrency conflict this backend reports.
    fn is_conflict(error: &Self::Error) -> bool;
    /// The admission gate writers must take before `lock_and_load` (see `WriteGate`).
    fn write_gate(&self) -> Option<WriteGate>;
    async fn projection_rows(&self) -> i64;
    async fn teardown(&self);
}

struct SqliteHarness {
    _file: SqliteTestDb,
    pool: SqlitePool,
    store: SqliteStore<Counter>,
}

#[async_trait]
impl Harness for SqliteHarness {
    type Store = SqliteStore<Counter>;
    type Error = SqliteStoreError;

    async fn setup(opts: Opts) -> Self {
        let file = SqliteTestDb::create();
        let pool = sqlite::open_with(file.path(), 8).await.unwrap();
        sqlite::check_durability(&pool).await.unwrap();
        migrate_sqlite(&pool).await.unwrap();
        pool.execute(PROJECTION_DDL).await.unwrap();
        let store = SqliteStoreBuilder::<Counter>::new(pool.clone())
            .add_transactional_event_handler(Projection {
                fail_on: opts.fail_on,
            })
            .try_build()
            .await
            .unwrap();
        Self {
            _file: file,
            pool,
            store,
        }
    }

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn log(&self) -> GlobalLog {
        GlobalLog::Sqlite(self.pool.clone())
    }

    fn is_conflict(error: &Self::Error) -> bool {
        matches!(error, SqliteStoreError::Conflict { .. })
    }

    fn write_gate(&self) -> Option<WriteGate> {
        None
    }

    async fn projection_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM test_projection")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn teardown(&self) {
        self.pool.close().await;
    }
}

struct PgHarness {
    /// Dropped with the harness, also when the scenario panics or times out.
    _db: PgTestDb,
    pool: PgPool,
    pool_size: u32,
    store: PgStore<Counter>,
}

#[async_trait]
impl Harness for PgHarness {
    type Store = PgStore<Counter>;
    type Error = PgStoreError;

    async fn setup(opts: Opts) -> Self {
        let db = PgTestDb::create().await;
        let pool = PgPoolOptions::new()
            .max_connections(opts.pg_pool_size)
            // A stalled pool must fail the test, not hang it.
            .acquire_timeout(Duration::from_secs(5))
            .connect(db.url())
            .await
            .unwrap();
        migrate_postgres(&pool).await.unwrap();
        pool.execute(PROJECTION_DDL).await.unwrap();
        let store = pg_store_builder::<Counter>(pool.clone())
            .add_transactional_event_handler(Projection {
                fail_on: opts.fail_on,
            })
            .try_build()
            .await
            .unwrap();
        Self {
            _db: db,
            pool,
            pool_size: opts.pg_pool_size,
            store,
        }
    }

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn log(&self) -> GlobalLog {
        GlobalLog::Postgres(self.pool.clone())
    }

    fn is_conflict(error: &Self::Error) -> bool {
        is_unique_violation(error) && is_sequence_conflict(error)
    }

    fn write_gate(&self) -> Option<WriteGate> {
        Some(WriteGate::for_pool_size(self.pool_size))
    }

    async fn projection_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM test_projection")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn teardown(&self) {
        // The database itself goes with the harness (`PgTestDb`).
        let _ = tokio::time::timeout(Duration::from_secs(5), self.pool.close()).await;
    }
}

/// Sets a backend up, runs the scenario (bounded to 45 s), always tears down, then re-raises.
async fn run<H, F, Fut>(opts: Opts, scenario: F)
where
    H: Harness,
    F: FnOnce(Arc<H>) -> Fut,
    Fut: Future<Output = ()>,
{
    let harness = Arc::new(H::setup(opts).await);
    let outcome = AssertUnwindSafe(tokio::time::timeout(
        Duration::from_secs(45),
        scenario(Arc::clone(&harness)),
    ))
    .catch_unwind()
    .await;
    harness.teardown().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("scenario timed out"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// One `#[tokio::test]` per backend for a generic scenario `fn $name<H: Harness>(Arc<H>)`.
macro_rules! conformance {
    ($name:ident, $opts:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run::<SqliteHarness, _, _>($opts, super::$name::<SqliteHarness>).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run::<PgHarness, _, _>($opts, super::$name::<PgHarness>).await;
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn n_of(event: &CounterEvent) -> u32 {
    let CounterEvent::Added { n } = event;
    *n
}

/// Asserts the stream is 1..=len with no gap and no duplicate id, returns the payload `n`s.
async fn assert_contiguous<H: Harness>(store: &H::Store, id: Uuid) -> Vec<u32> {
    let events = store.by_aggregate_id(id).await.unwrap();
    let seqs: Vec<i32> = events.iter().map(|e| e.sequence_number).collect();
    let expected: Vec<i32> = (1..=i32::try_from(events.len()).unwrap()).collect();
    assert_eq!(
        seqs, expected,
        "sequence numbers must be 1..=n without gap or duplicate"
    );
    let ids: HashSet<Uuid> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len(), "duplicate event ids");
    assert!(events.iter().all(|e| e.aggregate_id == id));
    events.iter().map(|e| n_of(&e.payload)).collect()
}

/// Polls the global log from `after` until `count` events were read (then checks nothing more
/// comes), failing after 20 s. Needed on PostgreSQL where a transaction still running anywhere in
/// the cluster (e.g. another test) holds the log back for a moment.
async fn read_log_until(log: &GlobalLog, after: LogCursor, count: usize) -> Vec<LoggedEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut cursor = after;
    let mut out: Vec<LoggedEvent> = Vec::new();
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "log did not catch up: {} of {count}",
            out.len()
        );
        let page = log.read_after(cursor, 50).await.unwrap();
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for event in page {
            assert!(event.cursor > cursor, "log went backwards");
            cursor = event.cursor;
            out.push(event);
        }
    }
    assert!(
        log.read_after(cursor, 50).await.unwrap().is_empty(),
        "log returned more events than written"
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// 16 writers load the same version then persist without the lock: per round exactly one wins,
/// the 15 others get the backend's conflict error and leave nothing behind.
async fn optimistic_conflicts<H: Harness>(h: Arc<H>) {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 4;
    let id = Uuid::new_v4();
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = h.store();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let manager = AggregateManager::new(store);
            let mut outcomes = Vec::new();
            for round in 0..ROUNDS {
                barrier.wait().await;
                let state = manager
                    .load(id)
                    .await
                    .unwrap()
                    .unwrap_or_else(|| AggregateState::with_id(id));
                let loaded = *state.sequence_number();
                // Everybody has loaded the same version before anybody persists.
                barrier.wait().await;
                let n = u32::try_from(writer * 100 + round).unwrap();
                let won = match manager
                    .handle_command(state, CounterCommand::AddMany(vec![n, n + 10_000]))
                    .await
                {
                    Ok(Ok(_)) => true,
                    Err(error) if H::is_conflict(&error) => false,
                    Err(error) => panic!("unexpected store error: {error:?}"),
                    Ok(Err(error)) => panic!("unexpected domain error: {error:?}"),
                };
                outcomes.push((round, loaded, n, won));
            }
            outcomes
        }));
    }
    let mut winners: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for task in tasks {
        for (round, loaded, n, won) in task.await.unwrap() {
            assert_eq!(
                loaded,
                i32::try_from(round * 2).unwrap(),
                "round {round} loaded a stale version"
            );
            if won {
                winners.entry(round).or_default().push(n);
            }
        }
    }
    let store = h.store();
    let stream = assert_contiguous::<H>(&store, id).await;
    assert_eq!(stream.len(), ROUNDS * 2);
    for round in 0..ROUNDS {
        let won = winners.get(&round).cloned().unwrap_or_default();
        assert_eq!(
            won.len(),
            1,
            "round {round}: exactly one writer must win, got {won:?}"
        );
        assert_eq!(
            &stream[round * 2..round * 2 + 2],
            &[won[0], won[0] + 10_000],
            "round {round}: the winner's two events, adjacent"
        );
    }
    assert_eq!(
        h.projection_rows().await,
        i64::try_from(ROUNDS * 2).unwrap()
    );
}
conformance!(optimistic_conflicts, DEFAULT);

/// 32 writers on one aggregate through `lock_and_load`: all succeed, none conflicts. On
/// PostgreSQL the pool has only 4 connections (fewer than writers) and the WriteGate admits 2.
async fn locked_writers_all_succeed<H: Harness>(h: Arc<H>) {
    const WRITERS: u32 = 32;
    let id = Uuid::new_v4();
    let gate = h.write_gate();
    let inside = Arc::new(AtomicUsize::new(0));
    let max_inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = h.store();
        let gate = gate.clone();
        let (inside, max_inside) = (Arc::clone(&inside), Arc::clone(&max_inside));
        tasks.push(tokio::spawn(async move {
            let manager = AggregateManager::new(store);
            let _permit = match &gate {
                Some(gate) => Some(gate.enter().await.unwrap()),
                None => None,
            };
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            max_inside.fetch_max(now, Ordering::SeqCst);
            let state = manager.lock_and_load(id).await.unwrap().unwrap_or_default();
            let result = manager
                .handle_command(state, CounterCommand::Add(writer))
                .await;
            inside.fetch_sub(1, Ordering::SeqCst);
            match result {
                Ok(Ok(_)) => {}
                Err(error) => panic!("writer {writer} failed: {error:?}"),
                Ok(Err(error)) => panic!("writer {writer} refused: {error:?}"),
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let store = h.store();
    let mut ns = assert_contiguous::<H>(&store, id).await;
    ns.sort_unstable();
    assert_eq!(ns, (0..WRITERS).collect::<Vec<_>>());
    if let Some(gate) = gate {
        assert!(max_inside.load(Ordering::SeqCst) <= gate.permits());
    }
    let manager = AggregateManager::new(h.store());
    let state = manager.load(id).await.unwrap().unwrap();
    assert_eq!(state.inner().count, WRITERS);
}
conformance!(
    locked_writers_all_succeed,
    Opts {
        pg_pool_size: 4,
        ..DEFAULT
    }
);

/// A command emitting 3 events whose transactional handler fails on the 2nd: nothing stored
/// (events, projection rows, global log); the same command without the poison stores all 3.
async fn command_is_atomic<H: Harness>(h: Arc<H>) {
    let store = h.store();
    let manager = AggregateManager::new(store.clone());
    let id = Uuid::new_v4();

    let failed = manager
        .handle_command(
            AggregateState::with_id(id),
            CounterCommand::AddMany(vec![1, 13, 3]),
        )
        .await;
    match failed {
        Err(error) => assert!(!H::is_conflict(&error), "handler failure is not a conflict"),
        Ok(_) => panic!("the poisoned command must fail"),
    }
    assert!(
        store.by_aggregate_id(id).await.unwrap().is_empty(),
        "no event may survive"
    );
    assert_eq!(
        h.projection_rows().await,
        0,
        "no projection row may survive"
    );
    assert!(h
        .log()
        .read_after(LogCursor::default(), 10)
        .await
        .unwrap()
        .is_empty());

    // A domain refusal stores nothing either.
    let refused = manager
        .handle_command(AggregateState::with_id(id), CounterCommand::Refuse)
        .await
        .unwrap();
    assert!(refused.is_err());

    let state = manager
        .handle_command(
            AggregateState::with_id(id),
            CounterCommand::AddMany(vec![1, 2, 3]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.count, state.total), (3, 6));
    assert_eq!(assert_contiguous::<H>(&store, id).await, vec![1, 2, 3]);
    assert_eq!(h.projection_rows().await, 3);

    // A stale writer's whole command is rejected too (conflict on its first event).
    let stale = manager
        .handle_command(
            AggregateState::with_id(id),
            CounterCommand::AddMany(vec![4, 5]),
        )
        .await;
    match stale {
        Err(error) => assert!(H::is_conflict(&error), "expected a conflict, got {error:?}"),
        Ok(_) => panic!("stale write must fail"),
    }
    assert_eq!(assert_contiguous::<H>(&store, id).await, vec![1, 2, 3]);
    assert_eq!(h.projection_rows().await, 3);
    let logged = read_log_until(&h.log(), LogCursor::default(), 3).await;
    assert_eq!(logged.len(), 3);
}
conformance!(
    command_is_atomic,
    Opts {
        fail_on: Some(13),
        ..DEFAULT
    }
);

/// What `persist` returns is exactly what `by_aggregate_id` and the global log read back; `delete`
/// removes one aggregate (and its projection rows) only.
async fn read_back<H: Harness>(h: Arc<H>) {
    let store = h.store();
    let mut written: HashMap<Uuid, Vec<StoreEvent<CounterEvent>>> = HashMap::new();
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    for (a, id) in ids.iter().enumerate() {
        let mut state = AggregateState::<CounterState>::with_id(*id);
        for batch in 1..=3_u32 {
            let events: Vec<CounterEvent> = (0..batch)
                .map(|i| CounterEvent::Added {
                    n: u32::try_from(a).unwrap() * 1000 + batch * 10 + i,
                })
                .collect();
            let stored = store.persist(&mut state, events.clone()).await.unwrap();
            assert_eq!(
                stored.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
                events
            );
            for event in &stored {
                written.entry(*id).or_default().push(StoreEvent {
                    id: event.id,
                    aggregate_id: event.aggregate_id,
                    payload: event.payload.clone(),
                    occurred_on: event.occurred_on,
                    sequence_number: event.sequence_number,
                    version: event.version,
                });
            }
        }
    }
    let total: usize = written.values().map(Vec::len).sum();
    assert_eq!(total, 18);
    for id in &ids {
        let read = store.by_aggregate_id(*id).await.unwrap();
        let expected = &written[id];
        assert_eq!(read.len(), expected.len());
        for (r, w) in read.iter().zip(expected) {
            assert_eq!(r.id, w.id);
            assert_eq!(r.aggregate_id, *id);
            assert_eq!(r.payload, w.payload);
            assert_eq!(r.sequence_number, w.sequence_number);
            assert_eq!(r.version, None);
            let drift = (r.occurred_on - w.occurred_on)
                .num_microseconds()
                .unwrap()
                .abs();
            assert!(drift <= 1, "occurred_on drifted by {drift}us");
        }
    }

    let logged = read_log_until(&h.log(), LogCursor::default(), total).await;
    let by_id: HashMap<Uuid, &StoreEvent<CounterEvent>> =
        written.values().flatten().map(|e| (e.id, e)).collect();
    for event in &logged {
        let w = by_id[&event.id];
        assert_eq!(event.aggregate_id, w.aggregate_id);
        assert_eq!(event.sequence_number, i64::from(w.sequence_number));
        let payload: CounterEvent = serde_json::from_str(&event.payload_json).unwrap();
        assert_eq!(payload, w.payload);
        assert_eq!(event.cursor.position, event.global_position);
    }
    // The streaming variant yields the same events in the same order.
    let streamed: Vec<LoggedEvent> = h
        .log()
        .stream_after(LogCursor::default(), 4)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, logged);

    store.delete(ids[0]).await.unwrap();
    assert!(store.by_aggregate_id(ids[0]).await.unwrap().is_empty());
    assert_eq!(store.by_aggregate_id(ids[1]).await.unwrap().len(), 6);
    assert_eq!(h.projection_rows().await, 12);
}
conformance!(read_back, DEFAULT);

/// 8 writers on distinct aggregates write 240 events while a reader follows the global log from
/// its cursor: it sees every event exactly once, cursors strictly increase, and each aggregate's
/// events appear in sequence order.
async fn global_log_catch_up<H: Harness>(h: Arc<H>) {
    const WRITERS: usize = 8;
    const COMMANDS: u32 = 25;
    let done = Arc::new(AtomicBool::new(false));
    let log = h.log();
    let reader = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut cursor = LogCursor::default();
            let mut seen: Vec<LoggedEvent> = Vec::new();
            let mut empty_after_done = 0;
            loop {
                assert!(Instant::now() < deadline, "reader did not catch up");
                let page = log.read_after(cursor, 16).await.unwrap();
                if page.is_empty() {
                    if done.load(Ordering::SeqCst) {
                        empty_after_done += 1;
                        // Several empty reads after the writers finished, so a lagging horizon
                        // (PostgreSQL) cannot end the loop too early; the count check below
                        // catches anything missing.
                        if empty_after_done >= 20 && seen.len() >= WRITERS * 30 {
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    continue;
                }
                for event in page {
                    assert!(event.cursor > cursor, "cursor must strictly increase");
                    cursor = event.cursor;
                    seen.push(event);
                }
            }
            seen
        })
    };

    let mut writers = Vec::new();
    let mut ids = Vec::new();
    for w in 0..WRITERS {
        let store = h.store();
        let id = Uuid::new_v4();
        ids.push(id);
        writers.push(tokio::spawn(async move {
            let mut state = AggregateState::<CounterState>::with_id(id);
            for i in 0..COMMANDS {
                let base = u32::try_from(w).unwrap() * 1000 + i * 2;
                let events = if i % 5 == 0 {
                    vec![
                        CounterEvent::Added { n: base },
                        CounterEvent::Added { n: base + 1 },
                    ]
                } else {
                    vec![CounterEvent::Added { n: base }]
                };
                let stored = store.persist(&mut state, events).await.unwrap();
                state = state.apply_store_events(stored, Counter::apply_event);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let store = h.store();
    let mut written: HashSet<Uuid> = HashSet::new();
    for id in &ids {
        for event in store.by_aggregate_id(*id).await.unwrap() {
            written.insert(event.id);
        }
    }
    assert_eq!(written.len(), WRITERS * 30);
    let seen_ids: HashSet<Uuid> = seen.iter().map(|e| e.id).collect();
    assert_eq!(
        seen.len(),
        written.len(),
        "every event exactly once (count)"
    );
    assert_eq!(seen_ids, written, "every event exactly once (set)");

    let mut last_seq: HashMap<Uuid, i64> = HashMap::new();
    for pair in seen.windows(2) {
        assert!(pair[0].cursor < pair[1].cursor);
    }
    for event in &seen {
        assert_eq!(event.cursor.position, event.global_position);
        let last = last_seq.entry(event.aggregate_id).or_insert(0);
        assert_eq!(
            event.sequence_number,
            *last + 1,
            "per-aggregate order in the log"
        );
        *last = event.sequence_number;
    }
}
conformance!(global_log_catch_up, DEFAULT);

// ---------------------------------------------------------------------------------------------
// Backend-specific tests
// ---------------------------------------------------------------------------------------------

/// The out-of-order commit that a position-only cursor gets wrong: T1 inserts first (smaller
/// position) and stays open while T2 inserts and commits. The log must not return T2 before T1
/// has finished, and must then return both, T1 first, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_log_never_skips_an_out_of_order_commit() {
    run::<PgHarness, _, _>(DEFAULT, |h: Arc<PgHarness>| async move {
        let pool = h.pool.clone();
        let log = h.log();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());

        let mut t1 = pool.begin().await.unwrap();
        let p1: i64 = sqlx::query_scalar(
            "INSERT INTO case_events (id, aggregate_id, payload, occurred_on, sequence_number) \
             VALUES ($1, $2, '{\"type\":\"Added\",\"n\":1}'::jsonb, now(), 1) RETURNING global_position",
        )
        .bind(Uuid::new_v4())
        .bind(a)
        .fetch_one(&mut *t1)
        .await
        .unwrap();

        let mut state_b = AggregateState::<CounterState>::with_id(b);
        h.store()
            .persist(&mut state_b, vec![CounterEvent::Added { n: 2 }])
            .await
            .unwrap();
        let p2: i64 =
            sqlx::query_scalar("SELECT global_position FROM case_events WHERE aggregate_id = $1")
                .bind(b)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(p1 < p2, "T1 allocated its position first");

        // What a position-only reader would do: it sees T2 and moves its checkpoint past p1.
        let naive: Vec<i64> = sqlx::query_scalar(
            "SELECT global_position FROM case_events WHERE global_position > 0 ORDER BY global_position",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(naive, vec![p2], "a naive reader sees T2 while T1 is open");

        // Our reader returns nothing while T1 is running.
        let early = log.read_after(LogCursor::default(), 100).await.unwrap();
        assert!(early.is_empty(), "T2 must not be returned before T1 finishes: {early:?}");

        t1.commit().await.unwrap();

        let all = read_log_until(&log, LogCursor::default(), 2).await;
        assert_eq!(all[0].aggregate_id, a);
        assert_eq!(all[0].global_position, p1);
        assert_eq!(all[1].aggregate_id, b);
        assert_eq!(all[1].global_position, p2);
        assert!(all[0].cursor.tx < all[1].cursor.tx);
        assert!(log.read_after(all[1].cursor, 100).await.unwrap().is_empty());

        // The naive reader, resuming from p2, has lost T1's event for good.
        let naive_after: Vec<i64> =
            sqlx::query_scalar("SELECT global_position FROM case_events WHERE global_position > $1")
                .bind(p2)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(naive_after.is_empty());
    })
    .await;
}

#[tokio::test]
async fn sqlite_durability_check_rejects_non_wal_pool() {
    let dir = tempfile::tempdir().unwrap();
    let durable = sqlite::open(dir.path().join("durable.db")).await.unwrap();
    sqlite::check_durability(&durable).await.unwrap();
    durable.close().await;

    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("fragile.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
    let fragile = SqlitePool::connect_with(options).await.unwrap();
    let error = sqlite::check_durability(&fragile).await.unwrap_err();
    assert!(
        matches!(error, SqliteStoreError::NotDurable(_)),
        "{error:?}"
    );

    let options = sqlite::connect_options(dir.path().join("normal.db"))
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
    let normal = SqlitePool::connect_with(options).await.unwrap();
    let error = sqlite::check_durability(&normal).await.unwrap_err();
    assert!(
        matches!(error, SqliteStoreError::NotDurable(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn sqlite_store_requires_migrated_table_and_cleans_its_lock_table() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlite::open(dir.path().join("events.db")).await.unwrap();
    let missing = SqliteStore::<Counter>::new(pool.clone()).await.unwrap_err();
    assert!(
        matches!(missing, SqliteStoreError::MissingTable(_)),
        "{missing:?}"
    );

    migrate_sqlite(&pool).await.unwrap();
    let store = SqliteStore::<Counter>::new(pool.clone()).await.unwrap();
    assert_eq!(store.table_name(), "case_events");
    for _ in 0..200 {
        let guard = store.lock(Uuid::new_v4()).await.unwrap();
        drop(guard);
    }
    assert_eq!(
        store.lock_table_len(),
        0,
        "released locks must leave the table"
    );

    // Positions are never reused after a delete (AUTOINCREMENT), so cursors never go back.
    let id = Uuid::new_v4();
    let mut state = AggregateState::<CounterState>::with_id(id);
    store
        .persist(&mut state, vec![CounterEvent::Added { n: 1 }])
        .await
        .unwrap();
    let log = GlobalLog::Sqlite(pool.clone());
    let first = log.read_after(LogCursor::default(), 10).await.unwrap();
    store.delete(id).await.unwrap();
    let mut state = AggregateState::<CounterState>::with_id(Uuid::new_v4());
    store
        .persist(&mut state, vec![CounterEvent::Added { n: 2 }])
        .await
        .unwrap();
    let second = log.read_after(first[0].cursor, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].global_position > first[0].global_position);
}

/// A SQLite store on a fresh file with the test projection (failing on 13) behind a one-slot
/// gate the test can hold, so that the commands it starts meanwhile form one group.
async fn group_commit_store() -> (
    tempfile::TempDir,
    SqlitePool,
    WriteGate,
    SqliteStore<Counter>,
) {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlite::open_with(dir.path().join("events.db"), 4)
        .await
        .unwrap();
    migrate_sqlite(&pool).await.unwrap();
    pool.execute(PROJECTION_DDL).await.unwrap();
    let gate = WriteGate::new(1);
    let store = SqliteStoreBuilder::<Counter>::new(pool.clone())
        .with_write_gate(gate.clone())
        .add_transactional_event_handler(Projection { fail_on: Some(13) })
        .try_build()
        .await
        .unwrap();
    (dir, pool, gate, store)
}

async fn stored_events(pool: &SqlitePool, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM case_events WHERE aggregate_id = ?1")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Group commit (SQLite): commands that wait together are written in one transaction, each in
/// its own savepoint: one command whose handler fails is rolled back alone, its group-mates
/// commit, and a stale sequence in the group is a typed conflict for that command only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_group_commit_isolates_a_failing_command_from_its_group() {
    let (_dir, pool, gate, store) = group_commit_store().await;
    // An existing aggregate, so that a command with a stale sequence can join the group.
    let existing = Uuid::new_v4();
    let mut state = AggregateState::<CounterState>::with_id(existing);
    store
        .persist(&mut state, vec![CounterEvent::Added { n: 1 }])
        .await
        .unwrap();

    // Hold the gate: the committer takes the first command and waits; the others queue behind
    // it and form the next group.
    let held = gate.enter().await.unwrap();
    // A fresh state starts at sequence 1: right for a new aggregate, stale for `existing`.
    let spawn = |id: Uuid, n: u32| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut state = AggregateState::<CounterState>::with_id(id);
            let r = store
                .persist(&mut state, vec![CounterEvent::Added { n }])
                .await;
            (id, n, r.map(|events| events.len()))
        })
    };
    let mut tasks = vec![spawn(Uuid::new_v4(), 100)];
    tokio::time::sleep(Duration::from_millis(100)).await;
    for n in 10..20 {
        tasks.push(spawn(Uuid::new_v4(), n));
    }
    // Sequence 1 of `existing` is taken: this command works on a stale state.
    tasks.push(spawn(existing, 7));
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(held);

    let mut committed = 0;
    for t in tasks {
        let (id, n, r) = t.await.unwrap();
        let stored = stored_events(&pool, id).await;
        match n {
            13 => {
                assert!(matches!(r, Err(SqliteStoreError::Custom(_))), "{r:?}");
                assert_eq!(stored, 0, "the failing command left nothing");
            }
            7 => {
                assert!(matches!(r, Err(SqliteStoreError::Conflict { .. })), "{r:?}");
                assert_eq!(stored, 1, "only the first event of the existing aggregate");
            }
            _ => {
                assert_eq!(r.unwrap(), 1);
                assert_eq!(stored, 1);
                committed += 1;
            }
        }
    }
    assert_eq!(committed, 10);
    // One projection row per committed event (the failing handler's own row was rolled back).
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM test_projection")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1 + 10);
    pool.close().await;
}

/// A command's own rows: for even numbers prepared ahead, for odd ones in the transaction. 14's
/// batch breaks on its second statement (the same primary key twice); 13's rows write a row,
/// then fail.
struct EvenRows;

fn counter_rows(events: &[StoreEvent<CounterEvent>], sign: i64) -> ptl_engine::db::Batch {
    let mut batch = ptl_engine::db::Batch::new();
    for e in events {
        let n = n_of(&e.payload);
        let copies = if n == 14 { 2 } else { 1 };
        for _ in 0..copies {
            batch.push(
                "INSERT INTO test_projection (event_id, aggregate_id, n) VALUES ($1, $2, $3)",
                vec![
                    e.id.to_string().into(),
                    e.aggregate_id.to_string().into(),
                    (sign * i64::from(n)).into(),
                ],
            );
        }
    }
    batch
}

#[async_trait]
impl sqlite::Rows<CounterEvent> for EvenRows {
    fn prepare(
        &self,
        events: &[StoreEvent<CounterEvent>],
    ) -> Result<Option<ptl_engine::db::Batch>, SqliteStoreError> {
        if events.iter().any(|e| n_of(&e.payload) % 2 == 1) {
            return Ok(None);
        }
        // Rows prepared ahead are told apart from the others by their sign.
        Ok(Some(counter_rows(events, -1)))
    }

    async fn prepare_in(
        &self,
        events: &[StoreEvent<CounterEvent>],
        conn: &mut SqliteConnection,
    ) -> Result<ptl_engine::db::Batch, SqliteStoreError> {
        let rows = counter_rows(events, 1);
        if let Some(e) = events.iter().find(|e| n_of(&e.payload) == 13) {
            rows.execute(ptl_engine::db::Conn::Sqlite(conn)).await?;
            return Err(SqliteStoreError::Custom(Box::new(Poisoned(n_of(
                &e.payload,
            )))));
        }
        Ok(rows)
    }
}

/// A command's own [`sqlite::Rows`] are written in its savepoint with its events, and stand for
/// the transactional handlers (which would insert the same primary key again). A group that
/// mixes rows prepared ahead and rows prepared in the transaction goes through the pool's
/// connection; a group whose rows were all prepared ahead, through the committer's own
/// (`store/direct.rs`). On both paths a command whose rows fail, or whose sequence is taken, is
/// rolled back alone and the others commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_staged_rows_are_written_with_their_events_instead_of_the_handlers() {
    let (_dir, pool, gate, store) = group_commit_store().await;
    // An existing aggregate, so that a command with a stale sequence can join a group.
    let existing = Uuid::new_v4();
    let mut state = AggregateState::<CounterState>::with_id(existing);
    store
        .persist_with_rows(
            &mut state,
            vec![CounterEvent::Added { n: 8 }],
            Box::new(EvenRows),
        )
        .await
        .unwrap();
    let spawn = |id: Uuid, events: Vec<u32>| {
        let store = store.clone();
        tokio::spawn(async move {
            // A fresh state starts at sequence 1: stale for `existing`.
            let mut state = AggregateState::<CounterState>::with_id(id);
            let r = store
                .persist_with_rows(
                    &mut state,
                    events.iter().map(|&n| CounterEvent::Added { n }).collect(),
                    Box::new(EvenRows),
                )
                .await;
            (id, events, r.map(|events| events.len()))
        })
    };
    let mixed: Vec<Vec<u32>> = (10..20).map(|n| vec![n]).chain([vec![2, 4, 6]]).collect();
    let staged_only: Vec<Vec<u32>> = [10, 12, 14, 16, 18]
        .map(|n| vec![n])
        .into_iter()
        .chain([vec![2, 4, 6]])
        .collect();
    for commands in [mixed, staged_only] {
        // Hold the gate so that every command below waits for the same group.
        let held = gate.enter().await.unwrap();
        let mut tasks = vec![spawn(Uuid::new_v4(), vec![100])];
        tokio::time::sleep(Duration::from_millis(100)).await;
        for events in commands {
            tasks.push(spawn(Uuid::new_v4(), events));
        }
        tasks.push(spawn(existing, vec![20]));
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(held);

        for t in tasks {
            let (id, events, r) = t.await.unwrap();
            let stored = stored_events(&pool, id).await;
            let mut rows: Vec<i64> =
                sqlx::query_scalar("SELECT n FROM test_projection WHERE aggregate_id = ?1")
                    .bind(id.to_string())
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            rows.sort_by_key(|n| n.abs());
            match events[..] {
                [13] => assert!(matches!(r, Err(SqliteStoreError::Custom(_))), "{r:?}"),
                [14] => assert!(
                    matches!(
                        r,
                        Err(SqliteStoreError::Sqlx(_)
                            | SqliteStoreError::Statement {
                                unavailable: false,
                                ..
                            })
                    ),
                    "{r:?}"
                ),
                [20] => {
                    assert!(matches!(r, Err(SqliteStoreError::Conflict { .. })), "{r:?}");
                    assert_eq!(
                        (stored, rows),
                        (1, vec![-8]),
                        "the existing aggregate as it was"
                    );
                    continue;
                }
                _ => {
                    assert_eq!(r.unwrap(), events.len());
                    assert_eq!(stored, events.len() as i64);
                    // Rows prepared ahead (even) negative, in the transaction (odd) positive;
                    // one per event.
                    let expected: Vec<i64> = events
                        .iter()
                        .map(|&n| {
                            if n % 2 == 0 {
                                -i64::from(n)
                            } else {
                                i64::from(n)
                            }
                        })
                        .collect();
                    assert_eq!(rows, expected, "{events:?}");
                    continue;
                }
            }
            assert_eq!(stored, 0, "{events:?}: the failing command left no event");
            assert!(rows.is_empty(), "{events:?}: and no row");
        }
    }
    pool.close().await;
}

/// A transaction that SQLite ended by itself (disk full, I/O error) leaves sqlx believing it is
/// still inside it; such a connection must not come back from the pool, or every later write
/// fails ("non-zero transaction depth") until a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connection_left_inside_a_dead_transaction_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    // One connection: the next `begin` gets the same one unless it was closed.
    let pool = sqlite::open_with(dir.path().join("events.db"), 1)
        .await
        .unwrap();
    migrate_sqlite(&pool).await.unwrap();
    {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        // What SQLite does on SQLITE_FULL: the transaction is gone under sqlx's feet.
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        // sqlx's own rollback now fails and its depth stays at 1.
        let _ = tx.rollback().await;
    }
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .expect("a fresh connection, not the poisoned one");
    sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
}

/// Persists the command `Added { n: 2 }` with its own rows (`EvenRows`) or with the handlers.
async fn persist_two(
    store: &SqliteStore<Counter>,
    state: &mut AggregateState<CounterState>,
    own_rows: bool,
) -> Result<Vec<StoreEvent<CounterEvent>>, SqliteStoreError> {
    let events = vec![CounterEvent::Added { n: 2 }];
    if own_rows {
        store
            .persist_with_rows(state, events, Box::new(EvenRows))
            .await
    } else {
        store.persist(state, events).await
    }
}

/// The committer keeps a connection between groups (the pool's, or its own for staged
/// commands); closing the pool while the store still lives (a server shutting down) must not
/// wait for it forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pool_closes_while_the_store_lives() {
    for staged in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite::open_with(dir.path().join("events.db"), 2)
            .await
            .unwrap();
        migrate_sqlite(&pool).await.unwrap();
        pool.execute(PROJECTION_DDL).await.unwrap();
        let store = SqliteStoreBuilder::<Counter>::new(pool.clone())
            .try_build()
            .await
            .unwrap();
        for _ in 0..3 {
            let mut state = AggregateState::<CounterState>::with_id(Uuid::new_v4());
            persist_two(&store, &mut state, staged).await.unwrap();
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM test_projection")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, if staged { 3 } else { 0 });
        tokio::time::timeout(std::time::Duration::from_secs(10), pool.close())
            .await
            .expect("the pool closes although the store still exists");
        // Afterwards a write fails cleanly instead of hanging.
        let mut state = AggregateState::<CounterState>::with_id(Uuid::new_v4());
        let late = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            persist_two(&store, &mut state, staged),
        )
        .await
        .expect("answered");
        assert!(late.is_err(), "staged {staged}: {late:?}");
        drop(store);
    }
}

/// A read snapshot ends by being dropped, which only queues its ROLLBACK on the connection's
/// worker: the connection must still come back to the pool, not be closed as if it were stuck in
/// a transaction (every read would then open a new connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connection_of_a_dropped_read_snapshot_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    // One connection, marked with a temporary table that only that connection can see.
    let pool = sqlite::open_with(dir.path().join("events.db"), 1)
        .await
        .unwrap();
    migrate_sqlite(&pool).await.unwrap();
    sqlx::query("CREATE TEMP TABLE marker (x INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    for _ in 0..3 {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM case_events")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
    }
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM temp.marker")
        .fetch_one(&pool)
        .await
        .expect("the same connection, not a new one");
    assert_eq!(seen, 0);
    pool.close().await;
}

#[test]
fn log_cursor_round_trips_as_text() {
    let cursor = LogCursor {
        tx: 7_123,
        position: 42,
    };
    assert_eq!(LogCursor::parse(&cursor.to_string()).unwrap(), cursor);
    assert_eq!(LogCursor::parse("0-0").unwrap(), LogCursor::default());
    assert!(LogCursor::parse("").is_err());
    assert!(LogCursor::parse("12").is_err());
    assert!(LogCursor::parse("-1-2").is_err());
    assert!(LogCursor::parse("a-2").is_err());
    assert!(
        LogCursor { tx: 1, position: 1 }
            > LogCursor {
                tx: 0,
                position: 99
            }
    );
}
