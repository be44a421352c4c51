//! Read models on both stores: every test is written once and run against a SQLite file and a
//! fresh PostgreSQL database (dropped at the end), with cases moved through the real engine and
//! the `ReadModels` projector.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::procedure::DeadlineKind;
use ptl_domain::types::*;
use ptl_domain::{Action, Register, RuleBook};
use ptl_engine::clock::SettableClock;
use ptl_engine::db::{Batch, Db};
use ptl_engine::keys::KeyRing;
use ptl_engine::on_both_stores;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal, Projected, Projector};
use ptl_engine::testkit::{close, Backend, TestStore};
use ptl_projections::queries::{
    case_assignees, case_page, count_cases, queue_counts, upcoming_horizon, QueueCounts,
};
use ptl_projections::tally::fold_tally_changes;
use ptl_projections::{
    due_deadlines, list_cases, list_deadlines, rebuild, stats, suppress, CaseFilter,
    DeadlineFilter, GroupBy, ProjectionError, ReadModels, StatsQuery,
};
use uuid::Uuid;

struct Fixture {
    engine: Arc<Engine>,
    clock: Arc<SettableClock>,
    db: Db,
}

/// Runs `f` on a fresh store of `backend` (removed at the end, also when `f` panics).
async fn run<F, Fut>(backend: Backend, f: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = TestStore::create(backend).await;
    let db = store.open().await;
    let clock = Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let engine = Engine::new(
        db.clone(),
        clock.clone(),
        Arc::new(RuleBook::builtin().unwrap()),
        Arc::new(KeyRing::generate()),
        Some(Arc::new(ReadModels)),
        EngineOptions::default(),
    )
    .await
    .expect("engine");
    f(Fixture {
        engine: Arc::new(engine),
        clock,
        db: db.clone(),
    })
    .await;
    close(&db).await;
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn cw() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}

fn officer() -> Actor {
    Actor::user("do-1", Role::DecisionOfficer, "UA-NSS")
}

#[derive(Clone, Copy)]
enum Who {
    Adult,
    Child,
    Foreigner,
}

fn registration(office: &str, who: Who, source: ReferralSource) -> Register {
    let (filed_by, birth_date, citizenship) = match who {
        Who::Adult => (FiledBy::SelfFiled, d("1990-04-02"), Citizenship::Ukrainian),
        Who::Child => (
            FiledBy::LegalRepresentative,
            d("2012-05-01"),
            Citizenship::Ukrainian,
        ),
        Who::Foreigner => (FiledBy::SelfFiled, d("1985-01-01"), Citizenship::Foreign),
    };
    Register {
        register_no: String::new(),
        office: office.parse().unwrap(),
        filed_by,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date,
            citizenship,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source,
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

impl Fixture {
    async fn register(&self, office: &str, on: &str, who: Who, source: ReferralSource) -> Uuid {
        let actor = Actor::user("cw-1", Role::Caseworker, office);
        let cmd = self.engine.command(
            actor,
            d(on),
            Action::Register(Box::new(registration(office, who, source))),
        );
        self.engine
            .register(cmd, Personal::default(), None)
            .await
            .expect("recorded")
            .expect("lawful")
            .case_id
    }

    async fn act(&self, id: Uuid, actor: Actor, on: &str, action: Action) {
        let cmd = self.engine.command(actor, d(on), action);
        self.engine
            .execute(id, None, cmd, Personal::default(), None)
            .await
            .expect("recorded")
            .expect("lawful");
    }

    /// Consent, interview and submission on `on`.
    async fn submit(&self, id: Uuid, child: bool, on: &str) {
        let by = if child {
            GivenBy::LegalRepresentative
        } else {
            GivenBy::Person
        };
        self.act(
            id,
            cw(),
            on,
            Action::RecordConsent {
                scope: ConsentScope::StatusProcedure,
                given_by: by,
            },
        )
        .await;
        self.act(
            id,
            cw(),
            on,
            Action::RecordInterview {
                consent_signed_by: by,
                non_disclosure_receipt_signed: true,
            },
        )
        .await;
        self.act(
            id,
            cw(),
            on,
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        )
        .await;
    }

    fn set_today(&self, day: &str) {
        let t = d(day).and_hms_opt(10, 0, 0).unwrap().and_utc();
        self.clock.set(t);
    }

    /// Three cases: an adult (granted, certificate handed over), a child (refused) and a
    /// foreigner (returned), all of UA7102, decided by UA-NSS.
    async fn scenario(&self) -> [Uuid; 3] {
        self.set_today("2026-03-10");
        let a = self
            .register("UA7102", "2026-03-02", Who::Adult, ReferralSource::Hotline)
            .await;
        let b = self
            .register("UA7102", "2026-03-02", Who::Child, ReferralSource::Police)
            .await;
        let c = self
            .register("UA7102", "2026-03-02", Who::Foreigner, ReferralSource::Ngo)
            .await;
        self.submit(a, false, "2026-03-03").await;
        self.submit(b, true, "2026-03-03").await;
        self.submit(c, false, "2026-03-03").await;
        self.act(
            a,
            officer(),
            "2026-03-05",
            Action::RecordDecisionGranted {
                certificate_no: "C-1".into(),
                valid_until: None,
            },
        )
        .await;
        self.act(a, cw(), "2026-03-06", Action::HandOverDecision)
            .await;
        self.act(
            b,
            officer(),
            "2026-03-06",
            Action::RecordDecisionRefused {
                grounds: None,
                grounds_count: 1,
            },
        )
        .await;
        self.act(
            c,
            officer(),
            "2026-03-05",
            Action::ReturnFile {
                missing: None,
                missing_count: 1,
            },
        )
        .await;
        [a, b, c]
    }
}

fn filter(today: &str) -> CaseFilter {
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
        escalate_after_working_days: ptl_projections::DEFAULT_ESCALATE_AFTER_WORKING_DAYS,
        upcoming: false,
        upcoming_working_days: 3,
        rules: std::sync::Arc::new(RuleBook::builtin().unwrap()),
        today: d(today),
        limit: 50,
        cursor: None,
    }
}

fn deadline_filter(today: &str) -> DeadlineFilter {
    DeadlineFilter {
        offices: vec!["UA7102".into()],
        submitted_to: None,
        office: None,
        state: None,
        due_before: None,
        kinds: Vec::new(),
        today: d(today),
        limit: 200,
        cursor: None,
    }
}

async fn ids(db: &Db, f: &CaseFilter) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = list_cases(db, f)
        .await
        .unwrap()
        .0
        .iter()
        .map(|r| r.case_id)
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

async fn cases_moved_through_the_engine_show_up_in_the_work_queue_with_their_filters(f: Fixture) {
    f.set_today("2026-03-04");
    let a = f
        .register("UA7102", "2026-03-02", Who::Adult, ReferralSource::Hotline)
        .await;
    let b = f
        .register("UA7102", "2026-03-02", Who::Child, ReferralSource::School)
        .await;
    let c = f
        .register("UA7104", "2026-03-02", Who::Adult, ReferralSource::Police)
        .await;
    f.submit(a, false, "2026-03-03").await;
    f.act(
        b,
        Actor::user("sv-1", Role::Supervisor, "UA7102"),
        "2026-03-03",
        Action::Assign {
            assignee: "cw-2".into(),
        },
    )
    .await;
    let db = &f.db;
    let today = "2026-03-04";

    assert_eq!(ids(db, &filter(today)).await, sorted(vec![a, b]));
    let (rows, next) = list_cases(
        db,
        &CaseFilter {
            stage: Some(Stage::Submitted),
            ..filter(today)
        },
    )
    .await
    .unwrap();
    assert_eq!(next, None);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.case_id, a);
    assert_eq!(row.register_no, "UA7102-2026-000001");
    assert_eq!(
        (row.status, row.child, row.foreigner),
        (Status::Pending, false, false)
    );
    assert_eq!(row.submitted_to.as_deref(), Some("UA-NSS"));
    assert_eq!(row.ever_submitted_to, vec!["UA-NSS".to_string()]);
    assert_eq!(row.last_sequence, 4);
    assert!(row.next_due_on.is_some() && !row.overdue);

    let assigned = list_cases(
        db,
        &CaseFilter {
            assignee: Some("cw-2".into()),
            ..filter(today)
        },
    )
    .await
    .unwrap()
    .0;
    assert_eq!(
        assigned.iter().map(|r| r.case_id).collect::<Vec<_>>(),
        vec![b]
    );
    assert!(assigned[0].child);

    assert_eq!(
        ids(
            db,
            &CaseFilter {
                status: Some(Status::Granted),
                ..filter(today)
            }
        )
        .await,
        Vec::<Uuid>::new()
    );
    // Scope: the region sees both districts; a filter narrows to one office; an empty scope
    // sees nothing; the deciding authority sees the submitted case only.
    let region = CaseFilter {
        offices: vec!["UA71".into(), "UA7102".into(), "UA7104".into()],
        ..filter(today)
    };
    assert_eq!(ids(db, &region).await, sorted(vec![a, b, c]));
    assert_eq!(
        ids(
            db,
            &CaseFilter {
                office: Some("UA7104".into()),
                ..region.clone()
            }
        )
        .await,
        vec![c]
    );
    assert_eq!(
        ids(
            db,
            &CaseFilter {
                offices: vec![],
                ..filter(today)
            }
        )
        .await,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        ids(
            db,
            &CaseFilter {
                offices: vec![],
                submitted_to: Some("UA-NSS".into()),
                ..filter(today)
            }
        )
        .await,
        vec![a]
    );
    assert_eq!(
        ids(
            db,
            &CaseFilter {
                case_ids: Some(vec![c, b]),
                ..region.clone()
            }
        )
        .await,
        sorted(vec![b, c])
    );

    // Pages of one follow the cursor through every case exactly once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (rows, next) = list_cases(
            db,
            &CaseFilter {
                limit: 1,
                cursor,
                ..region.clone()
            },
        )
        .await
        .unwrap();
        seen.extend(rows.iter().map(|r| r.case_id));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(sorted(seen), sorted(vec![a, b, c]));
    let bad = list_cases(
        db,
        &CaseFilter {
            cursor: Some("nonsense".into()),
            ..region
        },
    )
    .await;
    assert!(matches!(bad, Err(ProjectionError::InvalidCursor)));
}
on_both_stores!(
    run,
    cases_moved_through_the_engine_show_up_in_the_work_queue_with_their_filters
);

/// Every view's count on the work queue page, against the list filter of the same view (a pass
/// over the rows on either store: on SQLite the counts come from the tallies of migration 0025).
async fn assert_counts_match_filters(db: &Db, scope: &CaseFilter, me: &str, my_office: &str) {
    let counts = queue_counts(db, scope, me, my_office).await.unwrap();
    let open = CaseFilter {
        open: Some(true),
        ..scope.clone()
    };
    let count = |f: CaseFilter| async move { count_cases(db, &f).await.unwrap() };
    let stage = |st: Stage| CaseFilter {
        stage: Some(st),
        ..scope.clone()
    };
    let expected = QueueCounts {
        open: count(open.clone()).await,
        mine: count(CaseFilter {
            assignee: Some(me.into()),
            ..open.clone()
        })
        .await,
        unassigned: count(CaseFilter {
            office: Some(my_office.into()),
            unassigned: true,
            ..open.clone()
        })
        .await,
        overdue: count(CaseFilter {
            overdue: true,
            ..scope.clone()
        })
        .await,
        upcoming: count(CaseFilter {
            upcoming: true,
            ..open.clone()
        })
        .await,
        submitted: count(stage(Stage::Submitted)).await,
        returned: count(stage(Stage::Returned)).await,
        closed: count(stage(Stage::Closed)).await,
    };
    assert_eq!(counts, expected, "on {}", scope.today);
    let mut assignees: Vec<String> = list_cases(
        db,
        &CaseFilter {
            limit: 200,
            ..scope.clone()
        },
    )
    .await
    .unwrap()
    .0
    .into_iter()
    .filter_map(|r| r.assignee)
    .collect();
    assignees.sort();
    assignees.dedup();
    assert_eq!(case_assignees(db, scope).await.unwrap(), assignees);
    assert_tallies_match_rows(db).await;
}

/// The tallies the triggers of migration 0025 keep equal the counts of the rows (on PostgreSQL
/// once the change rows are folded in, which leaves none).
async fn assert_tallies_match_rows(db: &Db) {
    let folded = fold_tally_changes(db).await.unwrap();
    let mut tx = db.read().await.unwrap();
    if let Db::Postgres(_) = db {
        let left: Vec<(i64,)> = ptl_engine::fetch_all!(
            tx.conn(),
            (i64,),
            "SELECT COUNT(*) FROM work_queue_tally_changes"
        )
        .unwrap();
        assert_eq!(left[0].0, 0, "after folding {folded} changes");
    } else {
        assert_eq!(folded, 0, "SQLite has no change rows");
    }
    let pairs = [
        (
            "SELECT office || '|' || stage || '|' || assignee || '|' || cases \
                  FROM work_queue_tally ORDER BY 1",
            "SELECT office || '|' || stage || '|' || COALESCE(assignee, '') || '|' || COUNT(*) \
                  FROM work_queue GROUP BY office, stage, COALESCE(assignee, '') ORDER BY 1",
        ),
        (
            "SELECT office || '|' || next_due_on || '|' || stage || '|' || cases \
                  FROM work_queue_due_tally ORDER BY 1",
            "SELECT office || '|' || next_due_on || '|' || stage || '|' || COUNT(*) \
                  FROM work_queue WHERE next_due_on IS NOT NULL \
                  GROUP BY office, next_due_on, stage ORDER BY 1",
        ),
    ];
    for (tally, rows) in pairs {
        let t: Vec<(String,)> = ptl_engine::fetch_all!(tx.conn(), (String,), tally).unwrap();
        let r: Vec<(String,)> = ptl_engine::fetch_all!(tx.conn(), (String,), rows).unwrap();
        assert_eq!(t, r, "{tally}");
        assert!(!t.is_empty(), "{tally}");
    }
}

/// The upcoming view (a running deadline due from today to the window's end) as the read model
/// counts and lists it, against the deadlines themselves, day after day over four months: days
/// when a case's earliest running deadline is overdue while a later one falls in the window
/// (the read model looks that case's deadlines up) and days when the earliest one is in the
/// window (the index answers alone) both occur.
async fn the_upcoming_view_matches_the_running_deadlines_day_by_day(f: Fixture) {
    let mut cases = Vec::new();
    for (i, on) in ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
        .into_iter()
        .enumerate()
    {
        f.set_today(on);
        let office = if i % 2 == 0 { "UA7102" } else { "UA7104" };
        cases.push(
            f.register(office, on, Who::Adult, ReferralSource::Hotline)
                .await,
        );
        cases.push(
            f.register(office, on, Who::Child, ReferralSource::School)
                .await,
        );
    }
    f.submit(cases[0], false, "2026-03-20").await;
    let region = CaseFilter {
        offices: vec!["UA71".into(), "UA7102".into(), "UA7104".into()],
        ..filter("2026-03-02")
    };
    let rules = RuleBook::builtin().unwrap();
    let (mut via_lookup, mut via_index) = (0, 0);
    let mut day = d("2026-03-02");
    while day <= d("2026-07-01") {
        let horizon = upcoming_horizon(&rules, day, region.upcoming_working_days);
        let rows: Vec<(String, String, Option<String>)> = {
            let mut tx = f.db.read().await.unwrap();
            ptl_engine::fetch_all!(
                tx.conn(),
                (String, String, Option<String>),
                "SELECT d.case_id, d.due_on, w.next_due_on FROM deadlines d \
                 JOIN work_queue w ON w.case_id = d.case_id \
                 WHERE d.fulfilled_on IS NULL AND d.cancelled_on IS NULL AND w.stage <> 'closed'"
            )
            .unwrap()
        };
        let (lo, hi) = (day.to_string(), horizon.to_string());
        let mut expected: Vec<String> = rows
            .iter()
            .filter(|(_, due, _)| *due >= lo && *due <= hi)
            .map(|(id, _, _)| id.clone())
            .collect();
        expected.sort();
        expected.dedup();
        for id in &expected {
            let next = rows.iter().find(|r| &r.0 == id).and_then(|r| r.2.clone());
            if next.is_some_and(|n| n < lo) {
                via_lookup += 1;
            } else {
                via_index += 1;
            }
        }
        let on_day = CaseFilter {
            today: day,
            ..region.clone()
        };
        let upcoming = CaseFilter {
            upcoming: true,
            open: Some(true),
            ..on_day.clone()
        };
        let mut listed: Vec<String> = list_cases(&f.db, &upcoming)
            .await
            .unwrap()
            .0
            .into_iter()
            .map(|r| r.case_id.to_string())
            .collect();
        listed.sort();
        assert_eq!(listed, expected, "upcoming on {day}");
        let n = expected.len() as u64;
        assert_eq!(count_cases(&f.db, &upcoming).await.unwrap(), n, "{day}");
        let counts = queue_counts(&f.db, &on_day, "cw-1", "UA7102")
            .await
            .unwrap();
        assert_eq!(counts.upcoming, n, "counts on {day}");
        assert_counts_match_filters(&f.db, &on_day, "cw-1", "UA7102").await;
        day = day.succ_opt().unwrap();
    }
    assert!(
        via_lookup > 0,
        "no day had an overdue case with a deadline in the window"
    );
    assert!(
        via_index > 0,
        "no day had a case whose earliest deadline was in the window"
    );
}
on_both_stores!(
    run,
    the_upcoming_view_matches_the_running_deadlines_day_by_day
);

async fn the_queue_views_are_counted_and_paged_by_the_read_model(f: Fixture) {
    f.set_today("2026-03-04");
    let a = f
        .register("UA7102", "2026-03-02", Who::Adult, ReferralSource::Hotline)
        .await;
    let b = f
        .register("UA7102", "2026-03-02", Who::Child, ReferralSource::School)
        .await;
    let c = f
        .register("UA7104", "2026-03-02", Who::Adult, ReferralSource::Police)
        .await;
    f.submit(a, false, "2026-03-03").await;
    f.act(
        b,
        Actor::user("sv-1", Role::Supervisor, "UA7102"),
        "2026-03-03",
        Action::Assign {
            assignee: "cw-2".into(),
        },
    )
    .await;
    let db = &f.db;
    let region = CaseFilter {
        offices: vec!["UA71".into(), "UA7102".into(), "UA7104".into()],
        ..filter("2026-03-04")
    };
    let all = list_cases(db, &region).await.unwrap().0;
    assert_eq!(all.len(), 3);
    assert_eq!(count_cases(db, &region).await.unwrap(), 3);

    // Numbered pages follow the list's order exactly; past the end is empty.
    let mut paged = case_page(db, &region, 0, 2).await.unwrap();
    assert_eq!(paged.len(), 2);
    paged.extend(case_page(db, &region, 2, 2).await.unwrap());
    assert_eq!(paged, all);
    assert!(case_page(db, &region, 3, 2).await.unwrap().is_empty());

    // The narrowing filters and the counts of every view in one pass, against the rows.
    let open_unassigned_here = CaseFilter {
        open: Some(true),
        unassigned: true,
        office: Some("UA7102".into()),
        ..region.clone()
    };
    let expected_unassigned = all
        .iter()
        .filter(|r| r.assignee.is_none() && r.office == "UA7102" && r.stage != Stage::Closed)
        .count() as u64;
    assert_eq!(
        count_cases(db, &open_unassigned_here).await.unwrap(),
        expected_unassigned
    );
    let closed = CaseFilter {
        open: Some(false),
        ..region.clone()
    };
    assert_eq!(count_cases(db, &closed).await.unwrap(), 0);
    let counts = queue_counts(db, &region, "cw-2", "UA7102").await.unwrap();
    assert_eq!(counts.open, 3);
    assert_eq!(counts.mine, 1);
    assert_eq!(counts.unassigned, expected_unassigned);
    assert_eq!(counts.submitted, 1);
    assert_eq!((counts.returned, counts.closed), (0, 0));
    let upcoming = CaseFilter {
        upcoming: true,
        ..region.clone()
    };
    assert_eq!(counts.upcoming, count_cases(db, &upcoming).await.unwrap());
    assert_eq!(
        case_assignees(db, &region).await.unwrap(),
        vec!["cw-2".to_string()]
    );
    assert_counts_match_filters(db, &region, "cw-2", "UA7102").await;
    assert_counts_match_filters(db, &region, "cw-1", "UA7104").await;

    // A month later the overdue view counts what the overdue filter lists.
    let later = CaseFilter {
        today: d("2026-04-06"),
        ..region.clone()
    };
    let overdue = list_cases(
        db,
        &CaseFilter {
            overdue: true,
            ..later.clone()
        },
    )
    .await
    .unwrap()
    .0
    .len() as u64;
    assert!(overdue > 0);
    assert_eq!(
        queue_counts(db, &later, "cw-2", "UA7102")
            .await
            .unwrap()
            .overdue,
        overdue
    );
    assert_counts_match_filters(db, &later, "cw-2", "UA7102").await;
    // The deadline list by kind (the inbox's and the social worker's sections).
    let by_kind = |kinds: Vec<DeadlineKind>| DeadlineFilter {
        offices: region.offices.clone(),
        kinds,
        ..deadline_filter("2026-03-04")
    };
    let every = list_deadlines(db, &by_kind(Vec::new())).await.unwrap().0;
    let interviews = list_deadlines(db, &by_kind(vec![DeadlineKind::Interview]))
        .await
        .unwrap()
        .0;
    assert!(!interviews.is_empty() && interviews.len() < every.len());
    assert!(interviews.iter().all(|r| r.kind == DeadlineKind::Interview));
    assert!(interviews.iter().any(|r| r.case_id == c));
    assert!(list_deadlines(db, &by_kind(vec![DeadlineKind::Shelter]))
        .await
        .unwrap()
        .0
        .is_empty());
}
on_both_stores!(run, the_queue_views_are_counted_and_paged_by_the_read_model);

async fn a_deadline_that_passes_is_overdue_at_query_time_until_it_is_met(f: Fixture) {
    let id = f
        .register("UA7102", "2026-03-02", Who::Adult, ReferralSource::Hotline)
        .await;
    let db = &f.db;
    // The interview is due three calendar days after registration.
    let overdue = |today: &str| CaseFilter {
        overdue: true,
        ..filter(today)
    };
    assert_eq!(ids(db, &overdue("2026-03-05")).await, Vec::<Uuid>::new());
    assert_eq!(ids(db, &overdue("2026-03-06")).await, vec![id]);
    assert_eq!(
        ids(
            db,
            &CaseFilter {
                due_before: Some(d("2026-03-06")),
                ..filter("2026-03-02")
            }
        )
        .await,
        vec![id]
    );
    assert_eq!(
        due_deadlines(db, d("2026-03-06")).await.unwrap(),
        vec![(id, "interview".to_string(), d("2026-03-05"))]
    );
    assert!(due_deadlines(db, d("2026-03-05")).await.unwrap().is_empty());
    let missed = list_deadlines(
        db,
        &DeadlineFilter {
            state: Some(DeadlineState::Missed),
            ..deadline_filter("2026-03-06")
        },
    )
    .await
    .unwrap()
    .0;
    assert_eq!(
        missed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["interview"]
    );
    assert_eq!(missed[0].days_left, -1);
    let open = list_deadlines(
        db,
        &DeadlineFilter {
            state: Some(DeadlineState::Open),
            ..deadline_filter("2026-03-06")
        },
    )
    .await
    .unwrap()
    .0;
    assert!(open
        .iter()
        .all(|r| r.state == DeadlineState::Open && r.name != "interview"));
    assert!(!open.is_empty());

    // The engine records the miss: the scheduler no longer sees it; the case is still overdue.
    f.set_today("2026-03-06");
    f.act(
        id,
        Actor::system(),
        "2026-03-06",
        Action::RecordMissedDeadline {
            name: ptl_domain::procedure::DeadlineKind::Interview.into(),
        },
    )
    .await;
    assert!(due_deadlines(db, d("2026-03-06")).await.unwrap().is_empty());
    let row = list_cases(db, &overdue("2026-03-06")).await.unwrap().0;
    assert_eq!((row.len(), row[0].missed_recorded), (1, 1));

    // The late interview fulfils it: not overdue any more, and the deadline stays missed.
    f.act(
        id,
        cw(),
        "2026-03-06",
        Action::RecordConsent {
            scope: ConsentScope::StatusProcedure,
            given_by: GivenBy::Person,
        },
    )
    .await;
    f.act(
        id,
        cw(),
        "2026-03-06",
        Action::RecordInterview {
            consent_signed_by: GivenBy::Person,
            non_disclosure_receipt_signed: true,
        },
    )
    .await;
    assert_eq!(ids(db, &overdue("2026-03-06")).await, Vec::<Uuid>::new());
    let all = list_deadlines(db, &deadline_filter("2026-03-06"))
        .await
        .unwrap()
        .0;
    let interview = all.iter().find(|r| r.name == "interview").unwrap();
    assert_eq!(interview.state, DeadlineState::Missed);
    assert_eq!(interview.fulfilled_on, Some(d("2026-03-06")));
}
on_both_stores!(
    run,
    a_deadline_that_passes_is_overdue_at_query_time_until_it_is_met
);

fn query(from: &str, to: &str, today: &str, group_by: GroupBy) -> StatsQuery {
    StatsQuery {
        offices: vec!["UA7102".into()],
        submitted_to: None,
        from: d(from),
        to: d(to),
        today: d(today),
        group_by,
        successors: std::collections::BTreeMap::new(),
    }
}

async fn statistics_count_the_figures_of_a_small_scenario(f: Fixture) {
    let _ = f.scenario().await;
    let db = &f.db;
    let s = stats(
        db,
        &query("2026-01-01", "2026-03-10", "2026-03-10", GroupBy::None),
    )
    .await
    .unwrap();
    let t = &s.totals;
    assert_eq!(s.stock_as_of, d("2026-03-10"));
    assert_eq!(
        (t.applications, t.children, t.foreigners),
        (Some(3), Some(1), Some(1))
    );
    assert_eq!(
        t.by_referral_source,
        [("hotline", 1), ("ngo", 1), ("police", 1)]
            .into_iter()
            .map(|(k, n)| (k.to_string(), Some(n)))
            .collect()
    );
    assert_eq!(
        (t.interviews, t.files_submitted, t.files_returned),
        (Some(3), Some(3), Some(1))
    );
    assert_eq!(
        (t.granted, t.refused, t.certificates_handed_over),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (t.needs_assessments, t.payments, t.deadlines_missed),
        (Some(0), Some(0), Some(0))
    );
    // 3 days (02 -> 05) and 4 days (02 -> 06).
    assert_eq!(t.median_days_to_decision, Some(3.5));
    assert_eq!(
        (t.pending_decision, t.open_cases, t.overdue),
        (Some(0), Some(1), Some(0))
    );
    assert!(t.suppressed.is_empty());

    // As of a past date: all three files were at the authority, none decided.
    let past = stats(
        db,
        &query("2026-03-01", "2026-03-04", "2026-03-10", GroupBy::None),
    )
    .await
    .unwrap();
    assert_eq!(past.stock_as_of, d("2026-03-04"));
    assert_eq!(
        (
            past.totals.pending_decision,
            past.totals.open_cases,
            past.totals.granted
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(past.totals.median_days_to_decision, None);

    // Another office's scope counts nothing; the deciding authority's scope counts the three.
    let other = stats(
        db,
        &StatsQuery {
            offices: vec!["UA7104".into()],
            ..query("2026-01-01", "2026-03-10", "2026-03-10", GroupBy::None)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (other.totals.applications, other.totals.open_cases),
        (Some(0), Some(0))
    );
    let nss = stats(
        db,
        &StatsQuery {
            offices: vec![],
            submitted_to: Some("UA-NSS".into()),
            ..query("2026-01-01", "2026-03-10", "2026-03-10", GroupBy::None)
        },
    )
    .await
    .unwrap();
    assert_eq!(nss.totals.applications, Some(3));

    // By month: every month of the period, the flows in March.
    let by_month = stats(
        db,
        &query("2026-01-01", "2026-03-10", "2026-03-10", GroupBy::Month),
    )
    .await
    .unwrap();
    let keys: Vec<&str> = by_month.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, vec!["2026-01", "2026-02", "2026-03"]);
    assert_eq!(by_month.groups[0].figures.applications, Some(0));
    assert_eq!(by_month.groups[2].figures.applications, Some(3));
    assert_eq!(by_month.groups[2].figures.open_cases, Some(1));
    let by_office = stats(
        db,
        &query("2026-01-01", "2026-03-10", "2026-03-10", GroupBy::Office),
    )
    .await
    .unwrap();
    assert_eq!(by_office.groups.len(), 1);
    assert_eq!(by_office.groups[0].key, "UA7102");
    assert_eq!(by_office.groups[0].figures.granted, Some(1));

    // Public disclosure hides every small count of this scenario.
    let public = suppress(s, 5);
    assert_eq!(public.totals.applications, None);
    assert!(public
        .totals
        .suppressed
        .contains(&"applications".to_string()));
    assert_eq!(public.totals.median_days_to_decision, None);
    assert_eq!(public.totals.pending_decision, Some(0));
    let csv = ptl_projections::stats_csv(&public);
    assert!(csv.starts_with("key,from,to,applications,children,"));
    assert!(csv.contains("\r\ntotal,2026-01-01,2026-03-10,,,"));
}
on_both_stores!(run, statistics_count_the_figures_of_a_small_scenario);

/// Every read-model row as text, sorted, without `updated_at`.
async fn dump(db: &Db) -> Vec<String> {
    let tables: [(&str, &str); 6] = [
        (
            "work_queue",
            "case_id, register_no, office, stage, status, assignee, procedure_id, received_on, \
             child, foreigner, submitted_to, ever_submitted_to, next_due_on, open_deadlines, \
             missed_recorded, last_sequence",
        ),
        (
            "deadlines",
            "case_id, name, kind, start_on, due_on, fulfilled_on, cancelled_on, missed_recorded, \
             office, last_sequence",
        ),
        (
            "case_facts",
            "case_id, office, received_on, child, foreigner, citizenship, sex, birth_year, \
             filed_by, referral_source, exploitation_forms, exploitation_country, procedure_id, \
             ever_submitted_to, first_decided_on, decided_days, last_sequence",
        ),
        (
            "case_milestones",
            "case_id, sequence, kind, on_date, office",
        ),
        (
            "application_register",
            "case_id, register_no, received_on, received_by, office, ever_submitted_to, filed_by, \
             outcome, outcome_on, last_sequence",
        ),
        (
            "certificate_register",
            "case_id, sequence, authority, certificate_no, issued_on, register_no, handed_over_on",
        ),
    ];
    let mut out = Vec::new();
    for (table, cols) in tables {
        let expr: Vec<String> = cols
            .split(", ")
            .map(|c| format!("COALESCE(CAST({} AS TEXT), '~')", c.trim()))
            .collect();
        let sql = format!(
            "SELECT '{table}|' || {} FROM {table}",
            expr.join(" || '|' || ")
        );
        let mut tx = db.read().await.unwrap();
        let rows: Vec<(String,)> =
            ptl_engine::fetch_all!(tx.conn(), (String,), sql.as_str()).unwrap();
        out.extend(rows.into_iter().map(|r| r.0));
    }
    out.sort();
    out
}

async fn a_rebuild_gives_the_tables_the_live_projection_wrote(f: Fixture) {
    let _ = f.scenario().await;
    let id = f
        .register(
            "UA7104",
            "2026-03-09",
            Who::Adult,
            ReferralSource::SelfReferral,
        )
        .await;
    f.act(
        id,
        Actor::user("sv-1", Role::Supervisor, "UA7104"),
        "2026-03-09",
        Action::Transfer {
            to_office: "UA7102".parse().unwrap(),
        },
    )
    .await;
    f.act(id, cw(), "2026-03-10", Action::Withdraw { reason: None })
        .await;
    let live = dump(&f.db).await;
    assert!(live.len() > 20, "{live:?}");
    assert_tallies_match_rows(&f.db).await;
    let events: usize = {
        let mut n = 0;
        for c in f.engine.case_ids().await.unwrap() {
            n += f.engine.history(c).await.unwrap().len();
        }
        n
    };
    let calls = std::sync::atomic::AtomicU64::new(0);
    let report = rebuild(&f.db, None, |n| {
        calls.store(n, std::sync::atomic::Ordering::Relaxed);
    })
    .await
    .unwrap();
    assert_eq!(report.events, events as u64);
    assert_eq!(report.cases, 4);
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::Relaxed),
        events as u64
    );
    assert_eq!(dump(&f.db).await, live);
    assert_tallies_match_rows(&f.db).await;
    let partial = rebuild(&f.db, Some("deadlines"), |_| {}).await.unwrap();
    assert_eq!(partial.events, events as u64);
    assert_eq!(dump(&f.db).await, live);
    let registers = rebuild(&f.db, Some("registers"), |_| {}).await.unwrap();
    assert_eq!(registers.events, events as u64);
    assert_eq!(dump(&f.db).await, live);
    assert!(
        live.iter().any(|r| r.starts_with("certificate_register|")
            && r.contains("|UA-NSS|C-1|2026-03-05|")
            && r.ends_with("|2026-03-06")),
        "the certificate with its hand-over date: {live:?}"
    );
    assert!(matches!(
        rebuild(&f.db, Some("everything"), |_| {}).await,
        Err(ProjectionError::UnknownModel(_))
    ));
}
on_both_stores!(run, a_rebuild_gives_the_tables_the_live_projection_wrote);

async fn a_read_model_added_later_catches_up_while_the_others_keep_serving(f: Fixture) {
    let _ = f.scenario().await;
    let live = dump(&f.db).await;
    // The work queue is "new": empty, while the other models keep their rows.
    match &f.db {
        Db::Sqlite(p) => {
            sqlx::query("DELETE FROM work_queue")
                .execute(p)
                .await
                .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query("DELETE FROM work_queue")
                .execute(p)
                .await
                .unwrap();
        }
    }
    assert_ne!(dump(&f.db).await, live);
    // Catching up does not clear anything: the other models' rows stay as they are throughout.
    ptl_projections::catch_up(&f.db, Some("work_queue"), |_| {})
        .await
        .unwrap();
    assert_eq!(dump(&f.db).await, live);
    // Catching up every model over complete tables changes nothing.
    ptl_projections::catch_up(&f.db, None, |_| {})
        .await
        .unwrap();
    assert_eq!(dump(&f.db).await, live);
}
on_both_stores!(
    run,
    a_read_model_added_later_catches_up_while_the_others_keep_serving
);

async fn applying_an_event_again_or_an_older_one_changes_nothing(f: Fixture) {
    let [a, ..] = f.scenario().await;
    let before = dump(&f.db).await;
    let history = f.engine.history(a).await.unwrap();
    let mut state = ptl_domain::CaseState::default();
    let mut states = Vec::new();
    for e in &history {
        state = ptl_domain::evolve(state, e.event.clone());
        states.push(state.clone());
    }
    // The last event again, then every older event with the state it produced.
    for i in (0..history.len()).rev() {
        let mut tx = f.db.begin().await.unwrap();
        let one = [Projected {
            sequence: history[i].sequence,
            event: &history[i].event,
            state: &states[i],
        }];
        let mut batch = Batch::new();
        ReadModels.project(&mut batch, a, &one);
        batch.execute(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(dump(&f.db).await, before);
}
on_both_stores!(run, applying_an_event_again_or_an_older_one_changes_nothing);

/// A page of an office's work queue is read in the queue's order from an index (migration 0009),
/// not by sorting every case of the office on each request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offices_work_queue_page_is_read_in_index_order_without_a_sort() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let db = ptl_engine::open::connect(&url).await.unwrap();
    ptl_engine::open::migrate(&db).await.unwrap();
    let Db::Sqlite(pool) = &db else {
        unreachable!("a sqlite URL")
    };
    let sort = ptl_projections::queries::WORK_QUEUE_SORT;
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
        "EXPLAIN QUERY PLAN SELECT case_id FROM work_queue WHERE (office IN ($1)) \
         ORDER BY {sort}, case_id LIMIT 51"
    ))
    .bind("UA7102")
    .fetch_all(pool)
    .await
    .unwrap();
    let plan: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
    assert!(
        plan.iter().any(|p| p.contains("work_queue_office_order")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
    pool.close().await;
}

async fn a_second_grant_with_a_certificate_number_the_authority_issued_is_refused_and_writes_nothing(
    f: Fixture,
) {
    let [a, ..] = f.scenario().await;
    let other = f
        .register("UA7104", "2026-03-09", Who::Adult, ReferralSource::Hotline)
        .await;
    f.submit(other, false, "2026-03-09").await;
    let before = f.engine.history(other).await.unwrap().len();
    let dump_before = dump(&f.db).await;
    // C-1 was issued by UA-NSS to case `a` in the scenario.
    let grant = |no: &str| Action::RecordDecisionGranted {
        certificate_no: no.into(),
        valid_until: None,
    };
    let cmd = f.engine.command(officer(), d("2026-03-10"), grant("C-1"));
    let refused = f
        .engine
        .execute(other, None, cmd, Personal::default(), None)
        .await
        .expect("no store failure");
    match refused {
        Err(ptl_domain::DomainError::Validation(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "certificate_no");
            assert_eq!(
                errors[0].problem,
                ptl_domain::FieldProblem::DuplicateCertificate
            );
        }
        other => panic!("expected the duplicate number refused, got {other:?}"),
    }
    assert_eq!(f.engine.history(other).await.unwrap().len(), before);
    assert_eq!(dump(&f.db).await, dump_before, "nothing written");
    // Another number is granted, and the first case keeps its own.
    f.act(other, officer(), "2026-03-10", grant("C-2")).await;
    let register = ptl_projections::registers::list_certificates(
        &f.db,
        &ptl_projections::registers::RegisterFilter {
            offices: vec!["UA71".into(), "UA7102".into(), "UA7104".into()],
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .0;
    let numbers: Vec<(&str, Uuid)> = register
        .iter()
        .map(|r| (r.certificate_no.as_str(), r.case_id))
        .collect();
    assert_eq!(numbers, vec![("C-1", a), ("C-2", other)]);
}
on_both_stores!(
    run,
    a_second_grant_with_a_certificate_number_the_authority_issued_is_refused_and_writes_nothing
);

async fn two_grants_racing_with_the_same_number_give_one_certificate_and_one_refusal(f: Fixture) {
    // The look-up before `decide` cannot see a grant that commits after it; the register's unique
    // index then fails the later commit and the engine looks again: a refusal, never an error.
    f.set_today("2026-03-10");
    let mut cases = Vec::new();
    for _ in 0..2 {
        let id = f
            .register("UA7102", "2026-03-02", Who::Adult, ReferralSource::Hotline)
            .await;
        f.submit(id, false, "2026-03-09").await;
        cases.push(id);
    }
    let grant = |id: Uuid| {
        let engine = f.engine.clone();
        async move {
            let cmd = engine.command(
                officer(),
                d("2026-03-10"),
                Action::RecordDecisionGranted {
                    certificate_no: "C-9".into(),
                    valid_until: None,
                },
            );
            engine
                .execute(id, None, cmd, Personal::default(), None)
                .await
        }
    };
    let (x, y) = tokio::join!(grant(cases[0]), grant(cases[1]));
    let outcomes = [x.expect("no store failure"), y.expect("no store failure")];
    let granted = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|o| {
            matches!(o, Err(ptl_domain::DomainError::Validation(e))
                if e[0].problem == ptl_domain::FieldProblem::DuplicateCertificate)
        })
        .count();
    assert_eq!((granted, refused), (1, 1), "{outcomes:?}");
}
on_both_stores!(
    run,
    two_grants_racing_with_the_same_number_give_one_certificate_and_one_refusal
);
