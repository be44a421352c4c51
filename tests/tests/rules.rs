//! The rules as the engine uses them, over real HTTP once per store: `GET /api/v1/procedures`,
//! `GET /api/v1/calendars/{year}`, and each deadline's mark and rolled due date in the case view.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use ptl_domain::Role;
use ptl_tests::{application, Store, TestApp};

async fn run<F, Fut>(store: Store, f: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = TestApp>,
{
    let app = TestApp::spawn(store).await;
    let app = f(app).await;
    app.stop().await;
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::run(ptl_tests::Store::Sqlite, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::run(ptl_tests::Store::Postgres, super::$name).await;
            }
        }
    };
}

async fn the_procedures_list_every_definition_with_its_marks_rolling_rule_and_file_hash(
    app: TestApp,
) -> TestApp {
    let admin = app.token("ad-1", Role::Admin, "UA");
    let r = app.get("/api/v1/procedures", &admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ua-417-2012", "ua-417-2021"]);
    assert_eq!(items[0]["deciding_authority"], "UA-MSP");
    assert_eq!(items[0]["effective_from"], "2012-05-23");
    assert_eq!(items[0]["effective_to"], "2021-05-31");
    assert_eq!(items[1]["deciding_authority"], "UA-NSS");
    assert!(items[1]["effective_to"].is_null());
    let rules = app.state.app.engine.rules();
    for item in items {
        let id = item["id"].as_str().unwrap();
        assert_eq!(item["calendar"], "ua");
        assert_eq!(item["file"], format!("{id}.toml"));
        assert_eq!(
            item["sha256"].as_str().unwrap(),
            rules.get(id).unwrap().content_hash
        );
        assert_eq!(item["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(item["rolling"]["mark"], "default");
        assert!(item["rolling"]["source"]
            .as_str()
            .unwrap()
            .contains("254(5)"));
        let deadlines = item["deadlines"].as_array().unwrap();
        assert_eq!(deadlines.len(), 9);
        let row = |kind: &str| {
            deadlines
                .iter()
                .find(|d| d["kind"] == kind)
                .unwrap_or_else(|| panic!("{kind}"))
        };
        assert_eq!(row("interview")["mark"], "default");
        assert_eq!(row("interview")["length"], 3);
        assert_eq!(row("interview")["days"], "calendar");
        assert_eq!(row("interview")["roll_to_working_day"], true);
        assert_eq!(row("needs_assessment")["mark"], "law");
        assert_eq!(row("needs_assessment")["days"], "working");
        assert!(row("interview")["description"]
            .as_str()
            .unwrap()
            .contains("[default]"));
    }
    // Rules hold no personal data: an auditor reads them too; without a token, 401.
    let auditor = app.token("au-1", Role::Auditor, "UA7102");
    assert_eq!(app.get("/api/v1/procedures", &auditor).await.status, 200);
    assert_eq!(app.get("/api/v1/procedures", "").await.status, 401);
    let r = app.get("/api/v1/procedures?x=1", &admin).await;
    assert_eq!((r.status, r.code()), (400, "bad_parameter"));
    app
}
both!(the_procedures_list_every_definition_with_its_marks_rolling_rule_and_file_hash);

async fn a_calendar_year_lists_its_non_working_days_with_reason_and_source(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let r = app.get("/api/v1/calendars/2019", &cw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["calendar"], "ua");
    assert_eq!(r.body["year"], 2019);
    assert_eq!(r.body["source"], "calendars/ua/2019.toml");
    let days = r.body["non_working_days"].as_array().unwrap();
    let day = |date: &str| days.iter().find(|d| d["date"] == date);
    let apr30 = day("2019-04-30").expect("30 April 2019 is a day off");
    assert_eq!(apr30["kind"], "day_off");
    assert!(apr30["reason"]
        .as_str()
        .unwrap()
        .contains("order 7-р of 10.01.2019"));
    assert_eq!(day("2019-04-28").unwrap()["kind"], "holiday");
    assert_eq!(day("2019-01-05").unwrap()["kind"], "weekend");
    assert!(
        day("2019-05-11").is_none(),
        "Saturday 11 May 2019 was worked"
    );
    let worked: Vec<&str> = r.body["worked_weekend_days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(worked, ["2019-05-11", "2019-12-21", "2019-12-28"]);
    // Under martial law the holidays are documented, not days off.
    let r = app.get("/api/v1/calendars/2024", &cw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["holidays_not_observed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["date"] == "2024-07-15" && h["reason"].as_str().unwrap().contains("Statehood")));
    assert!(r.body["non_working_days"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["kind"] == "weekend"));
    // A year without a file, an unknown calendar, a path that is no year.
    let r = app.get("/api/v1/calendars/2031", &cw).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = app.get("/api/v1/calendars/2019?calendar=pl", &cw).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = app.get("/api/v1/calendars/twenty", &cw).await;
    assert_eq!((r.status, r.code()), (400, "bad_parameter"));
    assert_eq!(app.get("/api/v1/calendars/2019", "").await.status, 401);
    app
}
both!(a_calendar_year_lists_its_non_working_days_with_reason_and_source);

async fn the_case_view_shows_each_deadlines_mark_and_a_sunday_due_date_rolled_to_monday(
    app: TestApp,
) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    // Thursday 26 February 2026 + 3 days = Sunday 1 March: due Monday 2 March, today.
    let (id, _) = app
        .register(&cw, &application("UA7102", "2026-02-26"))
        .await;
    let r = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadlines = r.body["deadlines"].as_array().unwrap();
    let interview = deadlines.iter().find(|d| d["name"] == "interview").unwrap();
    assert_eq!(interview["due_on"], "2026-03-02");
    assert_eq!(interview["state"], "open");
    assert_eq!(interview["mark"], "default");
    assert!(
        deadlines.iter().all(|d| d["mark"] == "default"),
        "{deadlines:?}"
    );
    app
}
both!(the_case_view_shows_each_deadlines_mark_and_a_sunday_due_date_rolled_to_monday);
