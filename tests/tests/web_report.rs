//! The regional report as a document (issue 17, item 3) from the `cherkasy` demo, on both stores:
//! the printable page gives the report's figures (24 applications, 7 statuses granted, 3 files at
//! the deciding authority) in words, per district of the time, with the official's name and a
//! signature line; the public version applies the disclosure rules (every published count a
//! multiple of 5, small ones hidden); the CSV is the API's report; only supervisors and auditors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ptl_domain::Role;
use ptl_tests::web::{add_user, WebClient};
use ptl_tests::{Store, TestApp};

const PW: &str = "рушник-над-Россю-7";
const PERIOD: &str = "office=UA71&from=2020-04-02&to=2020-06-30";

fn figure(body: &str, code: &str) -> Vec<String> {
    let row = body
        .split(&format!("data-figure=\"{code}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {code}"));
    row.split("<td>")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap().to_string())
        .collect()
}

async fn report(store: Store) {
    let app = TestApp::spawn(store).await;
    let today = ptl_domain::kyiv_date(app.state.app.engine.clock().now());
    ptl_api::demo::demo(
        &app.state.app.engine,
        ptl_api::demo::Scenario::Cherkasy,
        today,
    )
    .await
    .unwrap();
    add_user(&app, "iryna", "supervisor", "UA71", PW).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut cw = WebClient::new(&app);
    cw.sign_in_fully("olena", PW).await;
    assert_eq!(
        cw.get(&format!("/reports/regional?{PERIOD}")).await.status,
        403
    );
    assert_eq!(
        cw.get(&format!("/reports/regional.csv?{PERIOD}"))
            .await
            .status,
        403
    );

    let mut web = WebClient::new(&app);
    web.sign_in_fully("iryna", PW).await;
    let page = web.get(&format!("/reports/regional?{PERIOD}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(figure(&page.body, "applications")[0], "24");
    assert_eq!(figure(&page.body, "granted")[0], "7");
    assert_eq!(figure(&page.body, "pending_decision")[0], "3");
    // One column per district of the time, named; the figures add up to the total.
    let applications = figure(&page.body, "applications");
    let sum: u64 = applications[1..]
        .iter()
        .map(|v| v.parse::<u64>().unwrap_or(0))
        .sum();
    assert_eq!(sum, 24);
    assert!(
        page.body
            .contains("Черкаська районна державна адміністрація"),
        "district names"
    );
    assert!(page.body.contains("30.06.2020"), "the period in words");
    assert!(page.body.contains("User iryna"), "the official's name");
    assert!(page.body.contains("class=\"signature\""));
    assert!(!page.body.contains(">applications<"), "no code shown");

    // The public version: a whole quarter, every count rounded to 5 or hidden.
    let public = web
        .get("/reports/regional?office=UA71&from=2020-04-01&to=2020-06-30&disclosure=public")
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    for code in ["applications", "granted", "refused", "pending_decision"] {
        for v in figure(&public.body, code) {
            assert!(
                v == "—" || v.parse::<u64>().unwrap() % 5 == 0,
                "{code}: {v}"
            );
        }
    }
    // A period that is no whole month, quarter or year cannot be published: said, not shown.
    let r = web
        .get("/reports/regional?office=UA71&from=2020-04-02&to=2020-06-30&disclosure=public")
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("role=\"alert\""));

    // The CSV is the API's regional report.
    let csv = web.get(&format!("/reports/regional.csv?{PERIOD}")).await;
    assert_eq!(csv.status, 200);
    let token = app.token("sup-1", Role::Supervisor, "UA71");
    let api = app
        .http
        .get(format!("{}/api/v1/reports/regional?{PERIOD}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.body, api);
}

#[tokio::test]
async fn the_regional_report_as_a_document_on_sqlite() {
    report(Store::Sqlite).await;
}

#[tokio::test]
async fn the_regional_report_as_a_document_on_postgres() {
    report(Store::Postgres).await;
}
