//! The deadline scheduler against the real engine and the `ReadModels` projector, on a SQLite file
//! and on a fresh PostgreSQL database (dropped at the end). Business time comes from the engine's
//! `SettableClock`.
//!
//! The loop tests run on real tokio time with a short `max_sleep` where the test moves the
//! business clock, rather than `tokio::time::pause`: with a paused clock tokio auto-advances to
//! the next timer whenever the runtime waits on the database (SQLite's worker thread, PostgreSQL's
//! socket), which fires the engine's own write timeouts and the loop's sleep at random points.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
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
use ptl_projections::{due_deadlines, ReadModels};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

#[macro_use]
mod common;
#[allow(unused_imports)]
use common::*;

fn report(missed: u64, expiries: u64, skipped: u64) -> RunReport {
    RunReport {
        missed_recorded: missed,
        expiries_recorded: expiries,
        hand_overs_recorded: 0,
        skipped,
        failed: 0,
    }
}

/// Polls `check` every 20 ms for up to `secs` seconds.
async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn a_backdated_registration_whose_interview_deadline_passed_is_recorded_once_with_its_due_date(
    f: Fixture,
) {
    // Registered on 10 March for an application received on 2 March: the interview fell due on
    // 5 March, before the case was even entered.
    f.set_now("2026-03-10", 9, 30);
    let id = f.register("2026-03-02").await;
    f.act(
        id,
        supervisor(),
        "2026-03-10",
        Action::Assign {
            assignee: "cw-7".into(),
        },
    )
    .await;
    let detected = f.clock.now();

    let first = f.scheduler().run_once().await.unwrap();
    assert_eq!(first, report(1, 0, 0));

    let misses = f.misses(id).await;
    assert_eq!(misses.len(), 1, "{misses:?}");
    let (occurred_on, body) = &misses[0];
    assert_eq!(*occurred_on, d("2026-03-06"), "the day after the due date");
    assert_eq!(
        body,
        &EventBody::DeadlineMissed {
            name: ptl_domain::procedure::DeadlineKind::Interview.into(),
            due_on: d("2026-03-05"),
            responsible: Responsible {
                assignee: Some("cw-7".into()),
                office: "UA7102".into(),
            },
            detected_at: detected,
        }
    );
    let last = f.history(id).await.pop().unwrap();
    assert_eq!(last.event.actor, Actor::system());

    // A second run, and a run on a later day, find nothing left to record.
    assert_eq!(f.scheduler().run_once().await.unwrap(), report(0, 0, 0));
    f.set_now("2026-03-11", 9, 0);
    assert_eq!(f.scheduler().run_once().await.unwrap(), report(0, 0, 0));
    assert_eq!(f.misses(id).await.len(), 1);
}
on_both_stores!(
    run,
    a_backdated_registration_whose_interview_deadline_passed_is_recorded_once_with_its_due_date
);

async fn a_deadline_met_on_its_due_date_is_not_missed(f: Fixture) {
    f.set_now("2026-03-02", 10, 0);
    let met = f.register("2026-03-02").await;
    let unmet = f.register("2026-03-02").await;
    // The interview is due on 5 March; it takes place late that evening.
    f.set_now("2026-03-05", 23, 30);
    f.act(met, cw(), "2026-03-05", consent()).await;
    f.act(met, cw(), "2026-03-05", interview()).await;
    // Still the due date in Kyiv: nothing is missed yet, not even the unmet one.
    assert_eq!(f.scheduler().run_once().await.unwrap(), report(0, 0, 0));

    // Midnight in Kyiv: the unmet interview is missed, the met one is not.
    f.set_now("2026-03-06", 0, 0);
    assert_eq!(f.scheduler().run_once().await.unwrap(), report(1, 0, 0));
    assert!(f.misses(met).await.is_empty());
    assert_eq!(f.misses(unmet).await.len(), 1);
}
on_both_stores!(run, a_deadline_met_on_its_due_date_is_not_missed);

async fn the_next_wake_is_midnight_in_kyiv_after_the_earliest_open_due_date(f: Fixture) {
    let s = f.scheduler();
    assert_eq!(s.next_wake().await.unwrap(), None, "nothing runs yet");
    f.set_now("2026-03-02", 10, 0);
    let id = f.register("2026-03-02").await;
    // Interview due 5 March: a miss from 00:00 Kyiv on 6 March (22:00 UTC on 5 March).
    assert_eq!(
        s.next_wake().await.unwrap(),
        Some(Utc.with_ymd_and_hms(2026, 3, 5, 22, 0, 0).unwrap())
    );
    // Once the interview is met, the next is the file submission, due 12 March.
    f.set_now("2026-03-03", 10, 0);
    f.act(id, cw(), "2026-03-03", consent()).await;
    f.act(id, cw(), "2026-03-03", interview()).await;
    assert_eq!(
        s.next_wake().await.unwrap(),
        Some(Utc.with_ymd_and_hms(2026, 3, 12, 22, 0, 0).unwrap())
    );
}
on_both_stores!(
    run,
    the_next_wake_is_midnight_in_kyiv_after_the_earliest_open_due_date
);

async fn a_restart_over_a_due_date_records_the_miss_once_with_the_right_date(f: Fixture) {
    f.set_now("2026-03-02", 10, 0);
    let id = f.register("2026-03-02").await;
    assert_eq!(f.scheduler().run_once().await.unwrap(), report(0, 0, 0));

    // The server is down from 3 to 9 March; it starts again with a new engine and scheduler.
    f.set_now("2026-03-09", 8, 0);
    let (db1, engine1) = f.other_instance().await;
    let after_restart = Scheduler::new(engine1.clone()).run_once().await.unwrap();
    assert_eq!(after_restart, report(1, 0, 0));
    drop(engine1);
    close(db1).await;

    // And again (a second restart the same day): nothing more.
    let (db2, engine2) = f.other_instance().await;
    assert_eq!(
        Scheduler::new(engine2.clone()).run_once().await.unwrap(),
        report(0, 0, 0)
    );
    drop(engine2);
    close(db2).await;

    let misses = f.misses(id).await;
    assert_eq!(misses.len(), 1, "{misses:?}");
    assert_eq!(misses[0].0, d("2026-03-06"));
    assert!(matches!(
        &misses[0].1,
        EventBody::DeadlineMissed { name, due_on, .. } if name == "interview" && *due_on == d("2026-03-05")
    ));
}
on_both_stores!(
    run,
    a_restart_over_a_due_date_records_the_miss_once_with_the_right_date
);

/// Two server instances (own pools, own engines) on one database run `run_once` at the same
/// time, round after round, over fresh misses: each miss is recorded exactly once.
async fn two_instances_racing_record_each_miss_exactly_once(f: Fixture) {
    const ROUNDS: usize = 15;
    const CASES: usize = 4;
    let (db_a, engine_a) = f.other_instance().await;
    let (db_b, engine_b) = f.other_instance().await;
    let mut a = Scheduler::new(engine_a.clone());
    let mut b = Scheduler::new(engine_b.clone());
    f.set_now("2026-03-10", 9, 0);
    let mut all = Vec::new();
    let mut raced = 0;
    for round in 0..ROUNDS {
        let mut ids = Vec::new();
        for _ in 0..CASES {
            ids.push(f.register("2026-03-02").await);
        }
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a.run_once().await.map(|r| (r, a)) }),
            tokio::spawn(async move { b.run_once().await.map(|r| (r, b)) }),
        );
        let (ra, sa) = ra.unwrap().unwrap();
        let (rb, sb) = rb.unwrap().unwrap();
        (a, b) = (sa, sb);
        assert_eq!(
            ra.missed_recorded + rb.missed_recorded,
            CASES as u64,
            "round {round}: {ra:?} {rb:?}"
        );
        assert_eq!((ra.failed, rb.failed), (0, 0), "round {round}");
        raced += ra.skipped + rb.skipped;
        all.extend(ids);
    }
    assert!(
        raced > 0,
        "the two instances never tried the same miss: no race was tested"
    );
    for id in all {
        assert_eq!(f.misses(id).await.len(), 1, "case {id}");
    }
    assert!(due_deadlines(&f.db, d("2026-03-10"))
        .await
        .unwrap()
        .is_empty());
    drop((a, b, engine_a, engine_b));
    close(db_a).await;
    close(db_b).await;
}
on_both_stores!(run, two_instances_racing_record_each_miss_exactly_once);

async fn the_sleeping_loop_wakes_when_notified_of_an_earlier_deadline(f: Fixture) {
    f.set_now("2026-03-10", 9, 0);
    // Nothing runs: the loop would sleep for an hour if nobody told it otherwise.
    let scheduler = Scheduler::with_options(
        f.engine.clone(),
        SchedulerOptions {
            max_sleep: Duration::from_secs(3600),
            retry_after: Duration::from_secs(3600),
            ..SchedulerOptions::default()
        },
    );
    let notify = scheduler.notifier();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run(async {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A backdated registration creates a deadline that is already past.
    let id = f.register("2026-03-02").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(f.misses(id).await.is_empty(), "not before the poke");
    notify.notify_one();
    assert!(
        eventually(10, || async { f.misses(id).await.len() == 1 }).await,
        "the poke woke the loop"
    );
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    assert_eq!(f.misses(id).await.len(), 1);
}
on_both_stores!(
    run,
    the_sleeping_loop_wakes_when_notified_of_an_earlier_deadline
);

async fn the_sleeping_loop_records_the_miss_once_the_clock_passes_the_due_date(f: Fixture) {
    f.set_now("2026-03-02", 10, 0);
    let id = f.register("2026-03-02").await;
    // A short cap stands in for the hours between now and midnight: the loop re-reads the
    // business clock every 30 ms, and never gets a poke.
    let scheduler = Scheduler::with_options(
        f.engine.clone(),
        SchedulerOptions {
            max_sleep: Duration::from_millis(30),
            retry_after: Duration::from_millis(30),
            ..SchedulerOptions::default()
        },
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run(async {
        let _ = stop_rx.await;
    }));

    // Up to the last minute of the due date, nothing is recorded.
    f.set_now("2026-03-05", 23, 59);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(f.misses(id).await.is_empty(), "not on the due date");

    // Midnight in Kyiv: the loop wakes and records it, once.
    f.set_now("2026-03-06", 0, 1);
    assert!(
        eventually(10, || async { !f.misses(id).await.is_empty() }).await,
        "the loop woke after the due date"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    let misses = f.misses(id).await;
    assert_eq!(misses.len(), 1);
    assert_eq!(misses[0].0, d("2026-03-06"));
}
on_both_stores!(
    run,
    the_sleeping_loop_records_the_miss_once_the_clock_passes_the_due_date
);

async fn a_granted_status_whose_validity_passed_is_recorded_as_expired_once(f: Fixture) {
    f.set_now("2026-03-05", 10, 0);
    let id = f.register("2026-03-02").await;
    let other = f.register("2026-03-02").await;
    for case in [id, other] {
        f.act(case, cw(), "2026-03-03", consent()).await;
        f.act(case, cw(), "2026-03-03", interview()).await;
        f.act(
            case,
            cw(),
            "2026-03-03",
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        )
        .await;
        f.act(
            case,
            officer(),
            "2026-03-05",
            Action::RecordDecisionGranted {
                certificate_no: format!("C-{case}"),
                valid_until: None,
            },
        )
        .await;
    }
    // Valid one month: until 5 April. The other case is extended to 1 May.
    let (state, _) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(state.valid_until, Some(d("2026-04-05")));
    f.set_now("2026-04-01", 10, 0);
    f.act(
        other,
        supervisor(),
        "2026-04-01",
        Action::ExtendStatus {
            valid_until: d("2026-05-01"),
            reason: Some(RecordRef("r-extension".into())),
        },
    )
    .await;
    let s = f.scheduler();
    assert_eq!(
        s.next_wake()
            .await
            .unwrap()
            .map(|t| t <= kyiv("2026-04-06", 0, 0)),
        Some(true),
        "the loop wakes by the expiry"
    );

    f.set_now("2026-04-05", 23, 0);
    assert_eq!(s.run_once().await.unwrap().expiries_recorded, 0);

    f.set_now("2026-04-06", 9, 0);
    let first = s.run_once().await.unwrap();
    assert_eq!(first.expiries_recorded, 1, "{first:?}");
    assert_eq!(first.failed, 0);
    assert_eq!(s.run_once().await.unwrap().expiries_recorded, 0);

    let expired: Vec<_> = f
        .history(id)
        .await
        .into_iter()
        .filter(|e| matches!(e.event.body, EventBody::StatusExpired { .. }))
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].event.occurred_on, d("2026-04-06"));
    assert_eq!(
        expired[0].event.body,
        EventBody::StatusExpired {
            valid_until: d("2026-04-05")
        }
    );
    let (state, _) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(state.status(), Status::Expired);
    let (extended, _) = f.engine.load(other).await.unwrap().unwrap();
    assert_eq!(extended.status(), Status::Granted, "extended: not expired");
}
on_both_stores!(
    run_with,
    a_granted_status_whose_validity_passed_is_recorded_as_expired_once,
    rules_with_limited_status()
);

async fn a_file_pending_at_the_ministry_passes_to_the_national_social_service_once_on_2021_06_01(
    f: Fixture,
) {
    // Registered and submitted under the 2012 definition, to the Ministry of Social Policy.
    f.set_now("2021-05-25", 10, 0);
    let id = f.register("2021-05-25").await;
    f.act(id, cw(), "2021-05-25", consent()).await;
    f.act(id, cw(), "2021-05-25", interview()).await;
    f.act(
        id,
        cw(),
        "2021-05-25",
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    )
    .await;
    let (state, _) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(state.submitted_to.as_deref(), Some("UA-MSP"));
    let s = f.scheduler();
    assert_eq!(s.run_once().await.unwrap(), report(0, 0, 0));
    // The loop wakes when the 2021 definition takes the role, before the decision falls due.
    // (Midnight Kyiv, summer time.)
    assert_eq!(
        s.next_wake().await.unwrap(),
        Some(Utc.with_ymd_and_hms(2021, 5, 31, 21, 0, 0).unwrap())
    );
    // Late on 31 May in Kyiv (`kyiv` counts UTC+2: 22:00 is 23:00 summer time).
    f.set_now("2021-05-31", 22, 0);
    assert_eq!(s.run_once().await.unwrap().hand_overs_recorded, 0);

    // Noticed on 2 June by two instances at once: recorded once, dated 1 June.
    f.set_now("2021-06-02", 9, 0);
    let (db1, engine1) = f.other_instance().await;
    let other = Scheduler::new(engine1.clone());
    let (a, b) = tokio::join!(s.run_once(), other.run_once());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.hand_overs_recorded + b.hand_overs_recorded,
        1,
        "{a:?} {b:?}"
    );
    assert_eq!((a.failed, b.failed), (0, 0));
    // A restart later finds nothing left to hand over.
    assert_eq!(
        Scheduler::new(engine1.clone())
            .run_once()
            .await
            .unwrap()
            .hand_overs_recorded,
        0
    );
    drop((other, engine1));
    close(db1).await;

    let handed: Vec<_> = f
        .history(id)
        .await
        .into_iter()
        .filter(|e| matches!(e.event.body, EventBody::FileHandedToSuccessor { .. }))
        .collect();
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0].event.occurred_on, d("2021-06-01"));
    assert_eq!(handed[0].event.actor, Actor::system());
    assert!(
        matches!(
            &handed[0].event.body,
            EventBody::FileHandedToSuccessor { from, to, definition, deadline, .. }
                if from == "UA-MSP" && to == "UA-NSS" && definition == "ua-417-2021"
                    && deadline.start == d("2021-06-01") && deadline.due_on == d("2021-06-11")
        ),
        "{:?}",
        handed[0].event.body
    );
    let (state, _) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(state.submitted_to.as_deref(), Some("UA-NSS"));
    assert_eq!(state.ever_submitted_to, ["UA-MSP", "UA-NSS"]);
    assert_eq!(state.deadlines["decision"].due_on, d("2021-06-11"));
    // No decision deadline was missed on the way: it runs from the hand-over.
    assert!(f.misses(id).await.is_empty());
    // The successor's officer decides.
    f.act(
        id,
        officer(),
        "2021-06-02",
        Action::RecordDecisionGranted {
            certificate_no: "NSS-2021-0001".into(),
            valid_until: None,
        },
    )
    .await;
}
on_both_stores!(
    run,
    a_file_pending_at_the_ministry_passes_to_the_national_social_service_once_on_2021_06_01
);
