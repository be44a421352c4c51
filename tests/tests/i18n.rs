//! The one translation catalogue over HTTP: the API's problem titles in the language asked for,
//! and the dashboard's labels at `/i18n/{lang}.json`, against the real server on both stores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use ptl_api::i18n::{self, Lang};
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

const DAY: &str = "2026-03-02";
const UK: (&str, &str) = ("accept-language", "uk-UA,uk;q=0.9,en;q=0.5");

async fn problem_titles_are_ukrainian_when_asked_for(app: TestApp) -> TestApp {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let no_case = "/api/v1/cases/00000000-0000-4000-8000-000000000000";

    // No case: 404 `case_not_found`, titled in Ukrainian, with `Content-Language: uk`.
    let r = app
        .send(reqwest::Method::GET, no_case, Some(&cw), &[UK], None)
        .await;
    assert_eq!((r.status, r.code()), (404, "case_not_found"), "{}", r.body);
    assert_eq!(r.body["title"], "Справу не знайдено");
    assert_eq!(r.headers["content-language"], "uk");
    // The same without the header: English.
    let r = app.get(no_case, &cw).await;
    assert_eq!(r.body["title"], "Case not found");
    assert_eq!(r.headers["content-language"], "en");

    // A refused field: the title names the field problem's own code, from the catalogue.
    let mut child = application("UA7102", DAY);
    child["person"]["birth_date"] = "2015-05-05".into();
    child["applicant"]["birth_year"] = 2015.into();
    let body = serde_json::to_vec(&child).unwrap();
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/cases",
            Some(&cw),
            &[UK, ("content-type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (422, "child_filing_alone"),
        "{}",
        r.body
    );
    assert_eq!(r.body["title"], "Дитина не може подати заяву самостійно");
    assert_eq!(
        r.body["title"],
        i18n::t(Lang::Uk, "problem-child_filing_alone")
    );

    // Without a token: 401, still in Ukrainian.
    let r = app
        .send(reqwest::Method::GET, no_case, None, &[UK], None)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["title"], "Потрібна автентифікація");
    app
}
both!(problem_titles_are_ukrainian_when_asked_for);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_labels_come_from_the_catalogue_and_the_office_tree() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let r = app
        .send(reqwest::Method::GET, "/i18n/uk.json", None, &[], None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["content-language"], "uk");
    assert!(r.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    assert_eq!(r.body["lang"], "uk");
    let labels = &r.body["labels"];
    assert_eq!(labels["stage-interview_done"], "Співбесіду проведено");
    assert_eq!(
        labels["deadline-file_submission"],
        "Подання справи на розгляд"
    );
    assert_eq!(labels["figure-open_cases"], "Відкриті справи");
    assert_eq!(labels["dashboard-by_district"], "За районами");
    // Every stage and deadline kind the domain knows is there; nothing of the pages' texts.
    for s in ptl_domain::Stage::ALL {
        assert!(labels[format!("stage-{s}")].is_string(), "{s}");
    }
    for k in ptl_domain::procedure::DeadlineKind::ALL {
        assert!(labels[format!("deadline-{k}")].is_string(), "{k}");
    }
    assert!(labels
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.starts_with("web-")));
    // Office names from the office tree the server runs with.
    let office = app.state.app.offices.get("UA7102").unwrap().clone();
    assert_eq!(r.body["offices"]["UA7102"], office.name_uk.as_str());

    // Cached: the same ETag gives 304 with no body.
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    let again = app
        .send(
            reqwest::Method::GET,
            "/i18n/uk.json",
            None,
            &[("if-none-match", etag.as_str())],
            None,
        )
        .await;
    assert_eq!(again.status, 304);

    // English.
    let r = app
        .send(reqwest::Method::GET, "/i18n/en.json", None, &[], None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["labels"]["stage-interview_done"], "Interview done");
    assert_eq!(r.body["offices"]["UA7102"], office.name_en.as_str());
    assert_ne!(r.headers["etag"].to_str().unwrap(), etag);

    // The dashboard's script asks for them and carries no labels of its own.
    let js = app
        .send(reqwest::Method::GET, "/dashboard.js", None, &[], None)
        .await;
    let js = js.body.as_str().unwrap();
    assert!(js.contains("\"/i18n/\" + lang + \".json\""));
    assert!(!js.contains("Справи подано"));
    app.stop().await;
}
