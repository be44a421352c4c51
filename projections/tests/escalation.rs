//! Escalation and upcoming filters of the work queue (and the webhook outbox rows), against the
//! real engine, scheduler and `ReadModels` projector on SQLite and a fresh PostgreSQL database.
//! (The fixture is the scheduler tests'.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
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
use ptl_projections::{
    due_deadlines, list_cases, CaseFilter, ReadModels, WorkQueueRow,
    DEFAULT_ESCALATE_AFTER_WORKING_DAYS, ESCALATION_SUPERVISOR,
};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

#[macro_use]
mod common;
#[allow(unused_imports)]
use common::*;

fn filter(f: &Fixture, today: &str) -> CaseFilter {
    CaseFilter {
        offices: vec!["UA7102".into()],
        submitted_to: None,
        office: None,
        stage: None,
        status: None,
        assignee: None,
        open: None,
        unassigned: false,
        overdue: false,
        due_before: None,
        case_ids: None,
        escalation: None,
        escalate_after_working_days: DEFAULT_ESCALATE_AFTER_WORKING_DAYS,
        upcoming: false,
        upcoming_working_days: 3,
        rules: f.rules.clone(),
        today: d(today),
        limit: 50,
        cursor: None,
    }
}

async fn rows(f: &Fixture, filter: &CaseFilter) -> Vec<WorkQueueRow> {
    list_cases(&f.db, filter).await.unwrap().0
}

async fn ids(f: &Fixture, filter: &CaseFilter) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = rows(f, filter)
        .await
        .into_iter()
        .map(|r| r.case_id)
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

async fn level_of(f: &Fixture, id: Uuid, today: &str, after: u32) -> u8 {
    let mut flt = filter(f, today);
    flt.escalate_after_working_days = after;
    rows(f, &flt)
        .await
        .into_iter()
        .find(|r| r.case_id == id)
        .unwrap()
        .escalation_level
}

async fn a_missed_deadline_escalates_to_the_supervisor_then_the_region_and_clears_when_fulfilled(
    f: Fixture,
) {
    // Both received on Monday 2 March 2026: the interview falls due on Thursday 5 March.
    let late = f.register("2026-03-02").await;
    let on_time = f.register("2026-03-02").await;
    f.act(on_time, cw(), "2026-03-02", consent()).await;
    f.act(on_time, cw(), "2026-03-02", interview()).await;

    // Friday 6 March: the scheduler records the interview of `late` as missed.
    f.set_now("2026-03-06", 9, 0);
    let r = f.scheduler().run_once().await.unwrap();
    assert_eq!(r.missed_recorded, 1);

    let row = rows(&f, &filter(&f, "2026-03-06"))
        .await
        .into_iter()
        .find(|r| r.case_id == late)
        .unwrap();
    assert_eq!(row.first_missed_on, Some(d("2026-03-06")));
    assert_eq!(row.escalation_level, ESCALATION_SUPERVISOR);
    assert_eq!(level_of(&f, on_time, "2026-03-06", 3).await, 0);

    // Level 1 from the miss; level 2 on the third working day after it (Mon 9, Tue 10, Wed 11).
    let esc = |today: &str, level: u8, after: u32| {
        let mut flt = filter(&f, today);
        flt.escalation = Some(level);
        flt.escalate_after_working_days = after;
        flt
    };
    assert_eq!(ids(&f, &esc("2026-03-06", 1, 3)).await, vec![late]);
    assert_eq!(ids(&f, &esc("2026-03-06", 2, 3)).await, Vec::<Uuid>::new());
    assert_eq!(ids(&f, &esc("2026-03-10", 2, 3)).await, Vec::<Uuid>::new());
    assert_eq!(level_of(&f, late, "2026-03-10", 3).await, 1);
    assert_eq!(ids(&f, &esc("2026-03-11", 2, 3)).await, vec![late]);
    assert_eq!(ids(&f, &esc("2026-03-11", 1, 3)).await, vec![late]);
    assert_eq!(level_of(&f, late, "2026-03-11", 3).await, 2);
    // Configurable: after one working day the weekend does not count (Monday 9 March).
    assert_eq!(level_of(&f, late, "2026-03-08", 1).await, 1);
    assert_eq!(level_of(&f, late, "2026-03-09", 1).await, 2);
    assert_eq!(ids(&f, &esc("2026-03-09", 2, 1)).await, vec![late]);
    // No escalation filter: both cases.
    assert_eq!(
        ids(&f, &filter(&f, "2026-03-11")).await,
        sorted(vec![late, on_time])
    );

    // The interview held late fulfils the obligation: the flag clears.
    f.set_now("2026-03-11", 10, 0);
    f.act(late, cw(), "2026-03-11", consent()).await;
    f.act(late, cw(), "2026-03-11", interview()).await;
    assert_eq!(level_of(&f, late, "2026-03-11", 3).await, 0);
    assert_eq!(ids(&f, &esc("2026-03-11", 1, 3)).await, Vec::<Uuid>::new());
}
on_both_stores!(
    run,
    a_missed_deadline_escalates_to_the_supervisor_then_the_region_and_clears_when_fulfilled
);

async fn upcoming_lists_cases_with_a_running_deadline_due_within_the_working_day_horizon(
    f: Fixture,
) {
    // Received on Monday 2 March 2026: the interview falls due on Thursday 5 March.
    let a = f.register("2026-03-02").await;
    f.set_now("2026-03-03", 9, 0);
    let b = f.register("2026-03-03").await; // interview due Friday 6 March
    let up = |today: &str, n: u32| {
        let mut flt = filter(&f, today);
        flt.upcoming = true;
        flt.upcoming_working_days = n;
        flt
    };
    // On Tuesday 3 March: one working day reaches Wednesday 4, two Thursday 5, three Friday 6.
    assert_eq!(ids(&f, &up("2026-03-03", 1)).await, Vec::<Uuid>::new());
    assert_eq!(ids(&f, &up("2026-03-03", 2)).await, vec![a]);
    assert_eq!(ids(&f, &up("2026-03-03", 3)).await, sorted(vec![a, b]));
    // A deadline due today is upcoming; the weekend does not count: from Friday 6 March one
    // working day reaches Monday 9 March.
    assert_eq!(ids(&f, &up("2026-03-05", 0)).await, vec![a]);
    // Fulfilled deadlines are not upcoming.
    f.act(a, cw(), "2026-03-03", consent()).await;
    f.act(a, cw(), "2026-03-03", interview()).await;
    assert_eq!(ids(&f, &up("2026-03-03", 3)).await, vec![b]);
}
on_both_stores!(
    run,
    upcoming_lists_cases_with_a_running_deadline_due_within_the_working_day_horizon
);

async fn a_recorded_miss_writes_one_webhook_outbox_row(f: Fixture) {
    let id = f.register("2026-03-02").await;
    f.set_now("2026-03-06", 9, 0);
    f.scheduler().run_once().await.unwrap();
    f.scheduler().run_once().await.unwrap();
    let mut tx = f.db.read().await.unwrap();
    let rows: Vec<(String, String, String, String, String, i64, i64)> = ptl_engine::fetch_all!(
        tx.conn(),
        (String, String, String, String, String, i64, i64),
        "SELECT case_id, deadline, due_on, missed_on, office, level, attempts FROM webhook_outbox"
    )
    .unwrap();
    assert_eq!(
        rows,
        vec![(
            id.to_string(),
            "interview".to_string(),
            "2026-03-05".to_string(),
            "2026-03-06".to_string(),
            "UA7102".to_string(),
            1,
            0
        )]
    );
}
on_both_stores!(run, a_recorded_miss_writes_one_webhook_outbox_row);
