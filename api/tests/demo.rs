//! `ptl demo` and `ptl rebuild`'s library functions on a started application: the Cherkasy
//! scenario reproduces the regional report's figures (24 applications, 7 granted, 3 pending at
//! the deciding authority) on SQLite and on a fresh PostgreSQL database, deterministically, and a
//! rebuild from the log with the progress bar yields the same figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use ptl_api::demo::{demo, DemoReport, Scenario};
use ptl_api::offices::OfficeTree;
use ptl_api::rebuild_cli::rebuild_with_progress;
use ptl_api::startup::{start, StartOptions, Started as App};
use ptl_domain::{allowed_actions, Action, ActionName, Actor, Role};
use ptl_engine::clock::SettableClock;
use ptl_engine::pipeline::Personal;
use ptl_engine::testkit::{pg_admin_url, PgTestDb};
use ptl_projections::{stats, GroupBy, Stats, StatsQuery};

/// The demo's "today": a winter Monday, so noon in Kyiv is 10:00 UTC; the 90 days before it
/// cross a year end (register numbers restart per year).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, 16).unwrap()
}

fn noon_kyiv() -> Arc<SettableClock> {
    Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 2, 16, 10, 0, 0).unwrap(),
    ))
}

/// A started application on a SQLite file in a temporary directory.
async fn sqlite_app(clock: Arc<SettableClock>) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let app = start(&StartOptions::new(url, dir.path().join("data")), clock)
        .await
        .expect("start");
    (dir, app)
}

/// The report for the Cherkasy region (`UA71` and its districts, today's and those they
/// succeeded) over the 90 days to today.
async fn region(app: &App, group_by: GroupBy) -> Stats {
    region_to(app, today(), group_by).await
}

/// The report for the Cherkasy region over the 90 days to `to`.
async fn region_to(app: &App, to: NaiveDate, group_by: GroupBy) -> Stats {
    let tree = OfficeTree::default();
    let offices = tree
        .descendants("UA71")
        .into_iter()
        .map(String::from)
        .collect();
    let q = StatsQuery {
        offices,
        submitted_to: None,
        from: to.checked_sub_days(Days::new(89)).unwrap(),
        to,
        today: today(),
        group_by,
        successors: tree.successor_map(),
    };
    stats(app.state.app.engine.db(), &q).await.expect("stats")
}

/// Applications by group.
fn applications(s: &Stats) -> BTreeMap<String, Option<u64>> {
    s.groups
        .iter()
        .map(|g| (g.key.clone(), g.figures.applications))
        .collect()
}

/// The historic scenario: the report's figures in its own period, in the 20 districts of the
/// time (each with at least one case), by today's successors as in the table, with the 3 pending
/// files at the Ministry of Social Policy.
async fn assert_cherkasy_in_its_own_period(app: &App, report: DemoReport) {
    let end = ptl_api::demo::CHERKASY_PERIOD_END;
    assert_cherkasy(report, &region_to(app, end, GroupBy::None).await);
    let by_office = applications(&region_to(app, end, GroupBy::Office).await);
    assert_eq!(by_office.len(), 20, "{by_office:?}");
    let tree = OfficeTree::default();
    for office in by_office.keys() {
        let o = tree.get(office).expect("an office of the tree");
        assert!(
            o.closed_on.is_some(),
            "{office} is one of the old districts"
        );
    }
    assert_eq!(
        applications(&region_to(app, end, GroupBy::Successor).await),
        BTreeMap::from([
            ("UA7102".to_string(), Some(5)),
            ("UA7104".to_string(), Some(5)),
            ("UA7106".to_string(), Some(6)),
            ("UA7108".to_string(), Some(8)),
        ])
    );
    let msp = stats(
        app.state.app.engine.db(),
        &StatsQuery {
            offices: Vec::new(),
            submitted_to: Some("UA-MSP".into()),
            ..StatsQuery {
                offices: Vec::new(),
                submitted_to: None,
                from: end.checked_sub_days(Days::new(89)).unwrap(),
                to: end,
                today: today(),
                group_by: GroupBy::None,
                successors: BTreeMap::new(),
            }
        },
    )
    .await
    .expect("stats");
    assert_eq!(msp.totals.pending_decision, Some(3));
    assert_eq!(msp.totals.granted, Some(7));
    for id in app.state.app.engine.case_ids().await.unwrap() {
        let (state, _) = app.state.app.engine.load(id).await.unwrap().unwrap();
        assert_eq!(state.procedure().unwrap().id, "ua-417-2012");
        assert_ne!(state.submitted_to.as_deref(), Some("UA-NSS"));
    }
}

fn sources(s: &Stats) -> BTreeMap<String, u64> {
    s.totals
        .by_referral_source
        .iter()
        .map(|(k, v)| (k.clone(), v.unwrap_or(0)))
        .collect()
}

/// Every figure the module docs of `demo` promise for the Cherkasy scenario.
fn assert_cherkasy(report: DemoReport, s: &Stats) {
    assert_eq!(report.cases, 24);
    let t = &s.totals;
    assert_eq!(t.applications, Some(24));
    assert_eq!(t.granted, Some(7));
    assert_eq!(t.pending_decision, Some(3));
    assert_eq!(t.children, Some(4));
    assert_eq!(t.foreigners, Some(3));
    assert_eq!(t.interviews, Some(20));
    assert_eq!(t.files_submitted, Some(12));
    assert_eq!(t.files_returned, Some(1));
    assert_eq!(t.refused, Some(1));
    assert_eq!(t.certificates_handed_over, Some(6));
    assert_eq!(t.needs_assessments, Some(6));
    assert_eq!(t.rehabilitation_plans, Some(4));
    assert_eq!(t.shelter_placements, Some(4));
    assert_eq!(t.payments, Some(3));
    assert_eq!(t.deadlines_missed, Some(0));
    // Not decided and not closed: 24 - 7 granted - 1 refused - 1 withdrawn.
    assert_eq!(t.open_cases, Some(15));
    assert_eq!(
        sources(s),
        BTreeMap::from([
            ("hotline".to_string(), 6),
            ("mdg".to_string(), 4),
            ("ngo".to_string(), 6),
            ("police".to_string(), 5),
            ("self".to_string(), 3),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cherkasy_reproduces_the_regional_report_in_its_own_period_on_sqlite() {
    let (_dir, app) = sqlite_app(noon_kyiv()).await;
    let report = demo(&app.state.app.engine, Scenario::Cherkasy, today())
        .await
        .expect("demo");
    assert_cherkasy_in_its_own_period(&app, report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cherkasy_today_reproduces_the_regional_report_over_the_last_90_days_on_sqlite() {
    let (_dir, app) = sqlite_app(noon_kyiv()).await;
    let report = demo(&app.state.app.engine, Scenario::CherkasyToday, today())
        .await
        .expect("demo");
    let s = region(&app, GroupBy::None).await;
    assert_cherkasy(report, &s);
    assert!(report.events > 24 * 3, "{report:?}");

    // By district: the four districts of the table.
    let by_office = region(&app, GroupBy::Office).await;
    let applications: BTreeMap<String, Option<u64>> = by_office
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.figures.applications))
        .collect();
    assert_eq!(
        applications,
        BTreeMap::from([
            ("UA7102".to_string(), Some(5)),
            ("UA7104".to_string(), Some(5)),
            ("UA7106".to_string(), Some(6)),
            ("UA7108".to_string(), Some(8)),
        ])
    );

    // Every case's hash chain verifies.
    let ids = app.state.app.engine.case_ids().await.unwrap();
    assert_eq!(ids.len(), 24);
    for id in ids {
        assert!(app.state.app.engine.verify(id).await.unwrap().valid);
    }

    // A rebuild from the log with the progress bar gives back the same figures.
    let line = rebuild_with_progress(app.state.app.engine.db(), None)
        .await
        .expect("rebuild");
    let expected = format!(
        "rebuilt work_queue, deadlines, statistics, registers from {} events of 24 cases in ",
        report.events
    );
    assert!(line.starts_with(&expected), "{line}");
    assert!(line.ends_with(" s"), "{line}");
    assert_eq!(region(&app, GroupBy::None).await, s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_scenario_writes_the_same_facts_twice() {
    let (_a, first) = sqlite_app(noon_kyiv()).await;
    let (_b, second) = sqlite_app(noon_kyiv()).await;
    let r1 = demo(&first.state.app.engine, Scenario::CherkasyToday, today())
        .await
        .expect("demo");
    let r2 = demo(&second.state.app.engine, Scenario::CherkasyToday, today())
        .await
        .expect("demo");
    assert_eq!(r1, r2);
    assert_eq!(
        region(&first, GroupBy::Month).await,
        region(&second, GroupBy::Month).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_is_a_smaller_mix_and_an_occupied_store_is_refused() {
    let (_dir, app) = sqlite_app(noon_kyiv()).await;
    let report = demo(&app.state.app.engine, Scenario::Basic, today())
        .await
        .expect("demo");
    assert_eq!(report.cases, 8);
    let s = region(&app, GroupBy::None).await;
    assert_eq!(
        (
            s.totals.applications,
            s.totals.granted,
            s.totals.pending_decision,
            s.totals.children,
            s.totals.foreigners
        ),
        (Some(8), Some(2), Some(1), Some(1), Some(1))
    );
    let again = demo(&app.state.app.engine, Scenario::Cherkasy, today()).await;
    assert!(
        again.as_ref().is_err_and(|e| e.contains("already holds 8")),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_behind_today_is_refused_before_anything_is_written() {
    let (_dir, app) = sqlite_app(noon_kyiv()).await;
    let tomorrow = today().checked_add_days(Days::new(1)).unwrap();
    let err = demo(&app.state.app.engine, Scenario::Basic, tomorrow).await;
    assert!(err.as_ref().is_err_and(|e| e.contains("clock")), "{err:?}");
    assert!(app.state.app.engine.case_ids().await.unwrap().is_empty());
    assert_eq!(
        "cherkasy".parse::<Scenario>().ok(),
        Some(Scenario::Cherkasy)
    );
    assert_eq!(
        "cherkasy-today".parse::<Scenario>().ok(),
        Some(Scenario::CherkasyToday)
    );
    assert!("kyiv".parse::<Scenario>().is_err());
}

#[tokio::test]
async fn an_unknown_read_model_is_refused_before_anything_is_deleted() {
    let (_dir, app) = sqlite_app(noon_kyiv()).await;
    let err = rebuild_with_progress(app.state.app.engine.db(), Some("everything")).await;
    assert!(
        err.as_ref().is_err_and(|e| e.contains("work_queue")),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a fresh database of the kit (`ptl_engine::testkit`), dropped at the end also when
// the test panics, on the server at `PTL_TEST_PG_URL` like the engine's tests.

/// Reassigns the first case that allows it (one more event in the log). Case ids are random, so
/// the first id in order may belong to a closed case, which refuses the reassignment.
async fn one_more_event(app: &App) {
    let engine = &app.state.app.engine;
    let mut open = None;
    for id in engine.case_ids().await.unwrap() {
        let (state, _) = engine.load(id).await.unwrap().expect("exists");
        if allowed_actions(&state, Role::Supervisor).contains(&ActionName::Assign) {
            open = Some((id, state));
            break;
        }
    }
    let (id, state) = open.expect("the scenario leaves cases open to reassignment");
    let actor = Actor::user("sv-demo", Role::Supervisor, state.office());
    let action = Action::Assign {
        assignee: "cw-extra".into(),
    };
    let cmd = engine.command(actor, today(), action);
    engine
        .execute(id, None, cmd, Personal::default(), None)
        .await
        .expect("recorded")
        .expect("lawful");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cherkasy_reproduces_the_regional_report_on_postgres() {
    let database = PgTestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let app = start(&StartOptions::new(database.url(), dir.path()), noon_kyiv())
        .await
        .expect("start");
    let report = demo(&app.state.app.engine, Scenario::Cherkasy, today())
        .await
        .expect("demo");
    assert_cherkasy_in_its_own_period(&app, report).await;
    let s = region_to(&app, ptl_api::demo::CHERKASY_PERIOD_END, GroupBy::None).await;
    // The log holds back events above the cluster's oldest running transaction, which another
    // test run on the same server may own for a while: an incomplete rebuild must say so, and a
    // later attempt completes it.
    let mut line = Err(String::new());
    for _ in 0..30 {
        line = rebuild_with_progress(app.state.app.engine.db(), Some("statistics")).await;
        match &line {
            Err(e) if e.contains("incomplete") => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            _ => break,
        }
    }
    let line = line.expect("rebuild");
    let expected = format!(
        "rebuilt statistics from {} events of 24 cases in ",
        report.events
    );
    assert!(line.starts_with(&expected), "{line}");
    assert_eq!(
        region_to(&app, ptl_api::demo::CHERKASY_PERIOD_END, GroupBy::None).await,
        s
    );

    // A transaction left open elsewhere in the cluster while one more event is written: the
    // global log holds that event back until the transaction ends, and the rebuild waits for it
    // instead of reporting success with a gap.
    let mut holder = std::process::Command::new("psql")
        .arg(pg_admin_url())
        .args([
            "-q",
            "-c",
            "BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep(4); COMMIT;",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql runs");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    one_more_event(&app).await;
    let held = rebuild_with_progress(app.state.app.engine.db(), Some("statistics")).await;
    assert!(holder.wait().expect("psql ends").success());
    assert!(
        held.as_ref().is_ok_and(|line| line.contains("240 events")),
        "{held:?}"
    );
    match app.state.app.engine.db() {
        ptl_engine::db::Db::Postgres(p) => p.close().await,
        ptl_engine::db::Db::Sqlite(p) => p.close().await,
    }
    drop(app);
}

/// `procedure.md`, "Reporting": the 3 files the historic scenario leaves at the Ministry of Social
/// Policy pass to the National Social Service when the legal clock runs, dated 2021-06-01 (the
/// effective date of `ua-417-2021`), once; the report for its own period still shows them at the
/// Ministry, a report after the switch at the National Social Service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cherkasy_files_at_the_ministry_pass_to_the_national_social_service_on_2021_06_01() {
    let (_dir, app) = sqlite_app(noon_kyiv()).await;
    demo(&app.state.app.engine, Scenario::Cherkasy, today())
        .await
        .expect("demo");
    let engine = app.state.app.engine.clone();
    let scheduler = ptl_projections::scheduler::Scheduler::new(engine.clone());
    let report = scheduler.run_once().await.expect("the legal clock runs");
    assert_eq!(report.hand_overs_recorded, 3, "{report:?}");
    let again = scheduler
        .run_once()
        .await
        .expect("the legal clock runs again");
    assert_eq!(again.hand_overs_recorded, 0, "{again:?}");

    let switch = NaiveDate::from_ymd_opt(2021, 6, 1).unwrap();
    let mut handed = 0;
    for id in engine.case_ids().await.unwrap() {
        let (state, _) = engine.load(id).await.unwrap().unwrap();
        if state.submitted_to.as_deref() == Some("UA-NSS") {
            handed += 1;
            assert_eq!(state.ever_submitted_to, ["UA-MSP", "UA-NSS"]);
            let history = engine.history(id).await.unwrap();
            let hand_over = history
                .iter()
                .find(|e| {
                    matches!(
                        e.event.body,
                        ptl_domain::EventBody::FileHandedToSuccessor { .. }
                    )
                })
                .expect("the hand-over is in the history");
            assert_eq!(hand_over.event.occurred_on, switch);
        }
    }
    assert_eq!(handed, 3);

    let authority = |office: &str, to: NaiveDate| StatsQuery {
        offices: Vec::new(),
        submitted_to: Some(office.to_string()),
        from: to.checked_sub_days(Days::new(89)).unwrap(),
        to,
        today: today(),
        group_by: GroupBy::None,
        successors: BTreeMap::new(),
    };
    let db = engine.db();
    let end = ptl_api::demo::CHERKASY_PERIOD_END;
    let then = stats(db, &authority("UA-MSP", end)).await.unwrap();
    assert_eq!(then.totals.pending_decision, Some(3));
    let after = NaiveDate::from_ymd_opt(2021, 6, 30).unwrap();
    let now = stats(db, &authority("UA-NSS", after)).await.unwrap();
    assert_eq!(now.totals.pending_decision, Some(3));
}
