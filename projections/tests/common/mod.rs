//! The fixture the scheduler, escalation and webhook tests share: an engine with the `ReadModels`
//! projector on a store of the kit (`ptl_engine::testkit`: a SQLite file or a fresh PostgreSQL
//! database, removed also when a test panics), a settable clock, and helpers that register cases
//! and move them on.
#![allow(
    dead_code,
    unused_macros,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ptl_domain::event::Responsible;
use ptl_domain::types::*;
use ptl_domain::{Action, Calendar, EventBody, Register, RuleBook};
use ptl_engine::clock::{Clock, SettableClock};
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
pub use ptl_engine::on_both_stores;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal, RecordedEvent};
pub use ptl_engine::testkit::{self, Backend, TestStore};
use ptl_projections::scheduler::{RunReport, Scheduler, SchedulerOptions};
use ptl_projections::{due_deadlines, ReadModels};
use uuid::Uuid;

/// Closes a pool, so that its connections end before the store is removed.
pub async fn close(db: Db) {
    testkit::close(&db).await;
}

/// The 2021 definition with a status valid for one month (the shipped one is unlimited).
pub fn rules_with_limited_status() -> RuleBook {
    let text = include_str!("../../../domain/procedures/ua-417-2021.toml").replace(
        "# status_validity absent = unlimited [default]",
        "status_validity = { length = 1, unit = \"months\" }",
    );
    assert!(text.contains("status_validity = {"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ua-417-2021.toml"), text).unwrap();
    RuleBook::with_dir(dir.path(), Calendar::builtin().unwrap()).unwrap()
}

pub struct Fixture {
    pub url: String,
    pub db: Db,
    pub clock: Arc<SettableClock>,
    pub keys: Arc<KeyRing>,
    pub rules: Arc<RuleBook>,
    pub engine: Arc<Engine>,
}

impl Fixture {
    /// Another engine (an empty cache, as after a restart) over the same store.
    pub async fn engine_over(&self, db: Db) -> Arc<Engine> {
        Arc::new(
            Engine::new(
                db,
                self.clock.clone(),
                self.rules.clone(),
                self.keys.clone(),
                Some(Arc::new(ReadModels)),
                EngineOptions::default(),
            )
            .await
            .expect("engine"),
        )
    }

    /// Another server instance: its own pool and engine over the same database.
    pub async fn other_instance(&self) -> (Db, Arc<Engine>) {
        let db = ptl_engine::open::connect(&self.url).await.expect("connect");
        let engine = self.engine_over(db.clone()).await;
        (db, engine)
    }

    pub fn set_now(&self, day: &str, hh: u32, mm: u32) {
        self.clock.set(kyiv(day, hh, mm));
    }

    pub async fn register(&self, on: &str) -> Uuid {
        testkit::register_case(&self.engine, d(on)).await
    }

    pub async fn act(&self, id: Uuid, actor: Actor, on: &str, action: Action) {
        let cmd = self.engine.command(actor, d(on), action);
        self.engine
            .execute(id, None, cmd, Personal::default(), None)
            .await
            .expect("recorded")
            .expect("lawful");
    }

    pub async fn history(&self, id: Uuid) -> Vec<RecordedEvent> {
        self.engine.history(id).await.expect("history")
    }

    /// The `deadline_missed` events of a case, with their business dates.
    pub async fn misses(&self, id: Uuid) -> Vec<(NaiveDate, EventBody)> {
        self.history(id)
            .await
            .into_iter()
            .filter(|e| matches!(e.event.body, EventBody::DeadlineMissed { .. }))
            .map(|e| (e.event.occurred_on, e.event.body))
            .collect()
    }

    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.engine.clone())
    }
}

/// Runs `f` on a fresh store of `backend` with the built-in rules.
pub async fn run<F, Fut>(backend: Backend, f: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with(backend, RuleBook::builtin().unwrap(), f).await;
}

/// Runs `f` on a fresh store of `backend` (removed at the end, also when `f` panics) with an
/// engine that projects into the read models.
pub async fn run_with<F, Fut>(backend: Backend, rules: RuleBook, f: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = TestStore::create(backend).await;
    let url = store.url().to_owned();
    let db = store.open().await;
    let clock = Arc::new(SettableClock::new(kyiv("2026-03-02", 10, 0)));
    let keys = Arc::new(KeyRing::generate());
    let rules = Arc::new(rules);
    let engine = Arc::new(
        Engine::new(
            db.clone(),
            clock.clone(),
            rules.clone(),
            keys.clone(),
            Some(Arc::new(ReadModels)),
            EngineOptions::default(),
        )
        .await
        .expect("engine"),
    );
    f(Fixture {
        url,
        db: db.clone(),
        clock,
        keys,
        rules,
        engine,
    })
    .await;
    close(db).await;
}

pub fn d(s: &str) -> NaiveDate {
    testkit::date(s)
}

/// `hh:mm` on `day` in Kyiv (winter time, UTC+2, until 29 March 2026; summer time after).
pub fn kyiv(day: &str, hh: u32, mm: u32) -> DateTime<Utc> {
    let offset = if d(day) >= d("2026-03-29") { 3 } else { 2 };
    let local = d(day).and_hms_opt(hh, mm, 0).unwrap();
    Utc.from_utc_datetime(&(local - chrono::Duration::hours(offset)))
}

pub fn cw() -> Actor {
    testkit::caseworker()
}

pub fn supervisor() -> Actor {
    Actor::user("sv-1", Role::Supervisor, "UA7102")
}

pub fn officer() -> Actor {
    Actor::user("do-1", Role::DecisionOfficer, "UA-NSS")
}

/// The kit's lawful registration, referred on the day it is received.
pub fn registration(on: &str) -> Register {
    testkit::registration(d(on))
}

pub fn consent() -> Action {
    Action::RecordConsent {
        scope: ConsentScope::StatusProcedure,
        given_by: GivenBy::Person,
    }
}

pub fn interview() -> Action {
    Action::RecordInterview {
        consent_signed_by: GivenBy::Person,
        non_disclosure_receipt_signed: true,
    }
}
