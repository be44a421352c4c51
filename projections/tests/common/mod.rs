//! The fixture the scheduler, escalation and webhook tests share: an engine with the `ReadModels`
//! projector on a SQLite file or a fresh PostgreSQL database, a settable clock, and helpers that
//! register cases and move them on.
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
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::event::Responsible;
use ptl_domain::types::*;
use ptl_domain::{Action, Calendar, EventBody, Register, RuleBook};
use ptl_engine::clock::{Clock, SettableClock};
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal, RecordedEvent};
use ptl_projections::scheduler::{RunReport, Scheduler, SchedulerOptions};
use ptl_projections::{due_deadlines, ReadModels};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

pub fn pg_url() -> String {
    std::env::var("PTL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The store's URL and what to remove at the end.
pub enum Backend {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(String),
}

pub async fn setup(pg: bool) -> (Backend, String, Db) {
    let (backend, url) = if pg {
        let name = format!("ptl_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&pg_url())
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create db");
        let url = match pg_url().rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("bad url"),
        };
        (Backend::Postgres(name), url)
    } else {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("ptl.db").display());
        (Backend::Sqlite(dir), url)
    };
    let db = ptl_engine::open::connect(&url).await.expect("connect");
    ptl_engine::open::migrate(&db).await.expect("migrate");
    (backend, url, db)
}

pub async fn close(db: Db) {
    match db {
        Db::Sqlite(p) => p.close().await,
        Db::Postgres(p) => p.close().await,
    }
}

pub async fn teardown(b: Backend, db: Db) {
    close(db).await;
    if let Backend::Postgres(name) = b {
        let mut admin = PgConnection::connect(&pg_url())
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .expect("drop");
    }
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
        let cmd = self
            .engine
            .command(cw(), d(on), Action::Register(Box::new(registration(on))));
        self.engine
            .register(cmd, Personal::default(), None)
            .await
            .expect("recorded")
            .expect("lawful")
            .case_id
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

pub async fn run<F, Fut>(pg: bool, rules: RuleBook, f: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    let (backend, url, db) = setup(pg).await;
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
    teardown(backend, db).await;
}

macro_rules! both {
    ($name:ident) => {
        both!($name, RuleBook::builtin().unwrap());
    };
    ($name:ident, $rules:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::run(false, $rules, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::run(true, $rules, super::$name).await;
            }
        }
    };
}

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// `hh:mm` on `day` in Kyiv (winter time, UTC+2, until 29 March 2026; summer time after).
pub fn kyiv(day: &str, hh: u32, mm: u32) -> DateTime<Utc> {
    let offset = if d(day) >= d("2026-03-29") { 3 } else { 2 };
    let local = d(day).and_hms_opt(hh, mm, 0).unwrap();
    Utc.from_utc_datetime(&(local - chrono::Duration::hours(offset)))
}

pub fn cw() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}

pub fn supervisor() -> Actor {
    Actor::user("sv-1", Role::Supervisor, "UA7102")
}

pub fn officer() -> Actor {
    Actor::user("do-1", Role::DecisionOfficer, "UA-NSS")
}

pub fn registration(on: &str) -> Register {
    Register {
        register_no: String::new(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: d("1990-04-02"),
            citizenship: Citizenship::Ukrainian,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Hotline,
            organisation: None,
            referred_on: d(on),
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
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
