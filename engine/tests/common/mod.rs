//! What the engine's integration tests share beyond the kit (`ptl_engine::testkit`): the kit's
//! registration referred the day before, and an engine on a settable clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use ptl_domain::types::Actor;
use ptl_domain::{Register, RuleBook};
use ptl_engine::clock::SettableClock;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, EngineOptions};
use ptl_engine::testkit;

/// A date `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    testkit::date(s)
}

/// A caseworker of UA7102.
pub fn cw() -> Actor {
    testkit::caseworker()
}

/// A lawful registration at UA7102 (received 2026-03-02, referred the day before).
pub fn registration() -> Register {
    testkit::registration(d("2026-03-01"))
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
