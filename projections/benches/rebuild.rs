//! Rebuilding the read models from a large event log: `ptl_projections::rebuild` over 1,000,000
//! events (10,000 cases of 100 events each), on SQLite by default and on PostgreSQL when
//! `PTL_BENCH_PG=1`. Target (issue): 1 million events rebuilt in under 60 s on SQLite.
//!
//! Why events are inserted directly: the question is the rebuild's speed, not the engine's; the
//! payloads are real events (a registration, a referral, then notes and services) produced by the
//! domain's `decide`, stored exactly as the store stores them.
//!
//! `cargo bench -p ptl-projections --bench rebuild` (plain `main`, `harness = false`);
//! `PTL_BENCH_EVENTS` changes the total (default 1,000,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::types::*;
use ptl_domain::{decide, evolve, Action, CaseState, Command, Register, RuleBook};
use ptl_engine::db::Db;
use ptl_engine::testkit::{pg_admin_url, PgTestDb, SqliteTestDb};
use uuid::Uuid;

const PER_CASE: usize = 100;

fn template() -> Vec<String> {
    let rules = Arc::new(RuleBook::builtin().unwrap());
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
    let cw = Actor::user("cw", Role::Caseworker, "UA7102");
    let sw = Actor::user("sw", Role::SocialWorker, "UA7102");
    let cmd = |actor: &Actor, action| Command {
        actor: actor.clone(),
        recorded_at: now,
        occurred_on: day,
        rules: rules.clone(),
        child: None,
        action,
        lookups: Default::default(),
    };
    let reg = Register {
        register_no: "UA7102-2026-000001".into(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
            citizenship: Citizenship::Ukrainian,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Ngo,
            organisation: None,
            referred_on: day,
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: Some(RecordRef("p".into())),
    };
    let mut state = CaseState::default();
    let mut out = Vec::new();
    let apply = |state: &mut CaseState, c: Command, out: &mut Vec<String>| {
        for e in decide(state, c).unwrap() {
            out.push(serde_json::to_string(&e).unwrap());
            *state = evolve(std::mem::take(state), e);
        }
    };
    apply(
        &mut state,
        cmd(&cw, Action::Register(Box::new(reg))),
        &mut out,
    );
    apply(
        &mut state,
        cmd(
            &cw,
            Action::RecordConsent {
                scope: ConsentScope::ShareWithSocialServices,
                given_by: GivenBy::Person,
            },
        ),
        &mut out,
    );
    apply(
        &mut state,
        cmd(
            &cw,
            Action::ReferToSocialServices {
                centre: RecordRef("r-css".into()),
            },
        ),
        &mut out,
    );
    let mut i = 0;
    while out.len() < PER_CASE {
        i += 1;
        let a = if i % 2 == 0 {
            Action::AddNote {
                note: RecordRef(format!("n-{i}")),
            }
        } else {
            Action::RecordService {
                service: Need::Psychological,
                provider: RecordRef("r-css".into()),
                to: None,
            }
        };
        apply(&mut state, cmd(&sw, a), &mut out);
    }
    out
}

async fn fill(db: &Db, cases: usize, payloads: &[String]) {
    let now = Utc::now().timestamp_micros();
    for chunk in 0..cases.div_ceil(100) {
        let mut tx = db.begin().await.unwrap();
        for _ in 0..100.min(cases - chunk * 100) {
            let case_id = Uuid::new_v4();
            for (seq, payload) in payloads.iter().enumerate() {
                let seq = i32::try_from(seq + 1).unwrap();
                match tx.conn() {
                    ptl_engine::db::Conn::Sqlite(c) => {
                        sqlx::query("INSERT INTO case_events (id, aggregate_id, payload, occurred_on, sequence_number) VALUES ($1, $2, $3, $4, $5)")
                            .bind(Uuid::new_v4().to_string())
                            .bind(case_id.to_string())
                            .bind(payload)
                            .bind(now)
                            .bind(seq)
                            .execute(&mut *c)
                            .await
                            .unwrap();
                    }
                    ptl_engine::db::Conn::Postgres(c) => {
                        sqlx::query("INSERT INTO case_events (id, aggregate_id, payload, occurred_on, sequence_number) VALUES ($1, $2, $3::jsonb, now(), $4)")
                            .bind(Uuid::new_v4())
                            .bind(case_id)
                            .bind(payload)
                            .bind(seq)
                            .execute(&mut *c)
                            .await
                            .unwrap();
                    }
                }
            }
        }
        tx.commit().await.unwrap();
    }
}

async fn measure(name: &str, db: &Db, events: usize) {
    let payloads = template();
    let cases = events / PER_CASE;
    let t = Instant::now();
    fill(db, cases, &payloads).await;
    let filled = t.elapsed();
    let t = Instant::now();
    let report = ptl_projections::rebuild(db, None, |_| {}).await.unwrap();
    let took = t.elapsed();
    println!(
        "| {name} | {} | {} | {:.1} s | {:.0} | (log written in {:.1} s) |",
        report.events,
        report.cases,
        took.as_secs_f64(),
        report.events as f64 / took.as_secs_f64(),
        filled.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::var("PTL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("Read-model rebuild: {events} events, {cores} cores");
    println!("| store | events | cases | rebuild time | events/s | |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let file = SqliteTestDb::create();
    let db = ptl_engine::open::connect(file.url()).await.unwrap();
    ptl_engine::open::migrate(&db).await.unwrap();
    measure("SQLite", &db, events).await;
    if std::env::var("PTL_BENCH_PG").is_ok_and(|v| v == "1") {
        // A fresh database on the test server (`PTL_TEST_PG_URL`), dropped at the end, also if
        // the benchmark panics.
        let database = PgTestDb::create_on(&pg_admin_url(), "bench").await.unwrap();
        let db = ptl_engine::open::connect(database.url()).await.unwrap();
        ptl_engine::open::migrate(&db).await.unwrap();
        measure("PostgreSQL", &db, events).await;
        if let Db::Postgres(p) = db {
            p.close().await;
        }
        database.remove().await.unwrap();
    }
}
