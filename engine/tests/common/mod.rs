//! What the engine's integration tests share: the PostgreSQL URL, a lawful registration, a
//! caseworker, dates, and an engine on a settable clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::types::{
    Actor, Citizenship, DocumentKind, ExploitationForm, FiledBy, ReferralSource, Role, Sex,
};
use ptl_domain::{Register, RuleBook};
use ptl_engine::clock::SettableClock;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, EngineOptions};

/// The PostgreSQL server for tests (`PTL_TEST_PG_URL`, default the local `test` database).
pub fn pg_url() -> String {
    std::env::var("PTL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The URL of database `name` on the test server.
pub fn pg_url_of(name: &str) -> String {
    match pg_url().rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("bad PTL_TEST_PG_URL"),
    }
}

/// A date `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A caseworker of UA7102.
pub fn cw() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}

/// A lawful registration at UA7102 (received 2026-03-02).
pub fn registration() -> Register {
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
            referred_on: d("2026-03-01"),
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
}

/// The settable clock the tests start from: 2026-03-02 10:00 UTC.
pub fn clock() -> Arc<SettableClock> {
    Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ))
}

/// An engine without projector on `db`, with the built-in rules and the given keys.
pub async fn engine_on(db: Db, keys: Arc<KeyRing>) -> Engine {
    Engine::new(
        db,
        clock(),
        Arc::new(RuleBook::builtin().unwrap()),
        keys,
        None,
        EngineOptions::default(),
    )
    .await
    .expect("engine")
}
