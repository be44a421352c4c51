//! The auditor's API (issue 16): `GET /api/v1/access-log` across cases (scope, filters, paging,
//! bad parameters, roles) with the person-search and duplicate-check entries, and the security
//! log's entries for token revocations and erasures; over real HTTP, once per store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::future::Future;

use ptl_domain::Role;
use ptl_tests::{application, Resp, Store, TestApp};
use serde_json::{json, Value};

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
const NAME: &str = "Марʼяна Коваль";

async fn register_as(app: &TestApp, token: &str, office: &str) -> String {
    let mut body = application(office, DAY);
    body["person"]["full_name"] = json!(NAME);
    let r = app.post_json("/api/v1/cases", token, &[], &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn log(app: &TestApp, token: &str, query: &str) -> Resp {
    app.get(&format!("/api/v1/access-log{query}"), token).await
}

fn items(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn field(items: &[Value], name: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[name].as_str().unwrap_or("").to_string())
        .collect()
}

/// Five entries: on case A (UA7102) the duplicate check by cw-4, a read by cw-2 and a person
/// search by the region's supervisor; on case B (UA7104) a read by cw-4 and the same search.
async fn the_access_log_across_cases_is_scoped_filtered_and_paged(app: TestApp) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");
    let a = register_as(&app, &cw2, "UA7102").await;
    let b = register_as(&app, &cw4, "UA7104").await;
    for (token, id) in [(&cw2, &a), (&cw4, &b)] {
        let r = app
            .get(
                &format!("/api/v1/cases/{id}?include=person&reason=interview"),
                token,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let rsv = app.token("rsv-1", Role::Supervisor, "UA71");
    let r = app
        .post_json(
            "/api/v1/person-search",
            &rsv,
            &[],
            &json!({"full_name": NAME, "birth_date": "1990-04-02", "reason": "complaint check"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A district's auditor sees its case's entries only.
    let district = app.token("au-2", Role::Auditor, "UA7102");
    let got = items(&log(&app, &district, "").await);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(field(&got, "case_id").iter().all(|c| c == &a));
    let purposes: HashSet<String> = field(&got, "purpose").into_iter().collect();
    assert_eq!(
        purposes,
        ["duplicate_check", "other", "person_search"]
            .map(String::from)
            .into()
    );
    let search = got
        .iter()
        .find(|i| i["purpose"] == "person_search")
        .unwrap();
    assert_eq!(search["sub"], "rsv-1");
    assert_eq!(search["reason"], "complaint check");
    assert_eq!(search["case_office"], "UA7102");
    assert!(!search["hash"].as_str().unwrap().is_empty());

    // The region's auditor sees both districts' cases.
    let region = app.token("au-1", Role::Auditor, "UA71");
    assert_eq!(items(&log(&app, &region, "").await).len(), 5);
    let by_user = items(&log(&app, &region, "?user=cw-4").await);
    assert_eq!(field(&by_user, "sub"), ["cw-4", "cw-4"]);
    let by_office = items(&log(&app, &region, "?office=UA7104").await);
    assert_eq!(by_office.len(), 2);
    assert!(field(&by_office, "case_id").iter().all(|c| c == &b));
    assert_eq!(
        items(&log(&app, &region, &format!("?case={a}")).await).len(),
        3
    );
    let dup = items(&log(&app, &region, "?purpose=duplicate_check").await);
    assert_eq!(field(&dup, "sub"), ["cw-4"]);
    assert_eq!(field(&dup, "what"), [r#"["duplicate-check"]"#]);
    assert_eq!(
        items(&log(&app, &region, "?purpose=person_search").await).len(),
        2
    );
    // The access log is stamped with the wall clock (not the test's clock): dates around today.
    let today = ptl_domain::kyiv_date(chrono::Utc::now());
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    assert_eq!(
        items(&log(&app, &region, &format!("?from={yesterday}&to={today}")).await).len(),
        5
    );
    assert!(items(&log(&app, &region, &format!("?from={tomorrow}")).await).is_empty());
    assert!(items(&log(&app, &region, &format!("?to={yesterday}")).await).is_empty());

    // Pages of two: every entry once, then no cursor.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let r = log(&app, &region, &query).await;
        let page = items(&r);
        assert!(page.len() <= 2);
        for i in &page {
            seen.push(format!("{}#{}", i["case_id"], i["seq"]));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5, "{seen:?}");

    // A supervisor may read it too; a caseworker and an admin may not.
    let sv = app.token("sv-2", Role::Supervisor, "UA7102");
    assert_eq!(items(&log(&app, &sv, "").await).len(), 3);
    for role in [Role::Caseworker, Role::Admin] {
        let office = if role == Role::Admin { "UA" } else { "UA7102" };
        let t = app.token("x-1", role, office);
        let r = log(&app, &t, "").await;
        assert_eq!(r.status, 403, "{role:?}: {}", r.body);
    }
    app
}
both!(the_access_log_across_cases_is_scoped_filtered_and_paged);

async fn bad_parameters_of_the_access_log_are_problems(app: TestApp) -> TestApp {
    let auditor = app.token("au-2", Role::Auditor, "UA7102");
    for (query, parameter) in [
        ("?color=red", "color"),
        ("?purpose=curiosity", "purpose"),
        ("?from=02.03.2026", "from"),
        ("?from=2026-03-05&to=2026-03-01", "to"),
        ("?limit=0", "limit"),
        ("?case=not-a-case", "case"),
        ("?cursor=garbage", "cursor"),
        ("?office=UA7104", "office"),
    ] {
        let r = log(&app, &auditor, query).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/problem+json",
            "{query}"
        );
        assert_eq!(r.code(), "bad_parameter", "{query}");
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{parameter}`")),
            "{query}: {}",
            r.body
        );
    }
    app
}
both!(bad_parameters_of_the_access_log_are_problems);

async fn revocations_and_erasures_are_in_the_security_log(app: TestApp) -> TestApp {
    let engine = &app.state.app.engine;
    engine.revoke_token("jti-9", Some("admin-1")).await.unwrap();
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let sv = app.token("sv-1", Role::Supervisor, "UA7102");
    let r = app
        .act(
            &sv,
            &id,
            "erase-personal-data",
            &etag,
            &json!({"occurred_on": DAY, "category": "person_request", "reason": "SECRET reason"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let entries = engine.security_log(0, 100).await.unwrap();
    let kinds: Vec<_> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["token_revoked", "personal_data_erased"]);
    assert_eq!(entries[0].actor.as_deref(), Some("admin-1"));
    assert_eq!(entries[0].detail["token"], "jti-9");
    assert_eq!(entries[1].actor.as_deref(), Some("sv-1"));
    assert_eq!(entries[1].detail["case"], id.as_str());
    assert_eq!(entries[1].detail["category"], "person_request");
    let text = serde_json::to_string(&entries).unwrap();
    assert!(
        !text.contains("SECRET") && !text.contains("Коваль"),
        "{text}"
    );
    assert_eq!(engine.verify_security_log().await.unwrap(), None);
    app
}
both!(revocations_and_erasures_are_in_the_security_log);

/// The security-log page reads one page at a time and verifies what it shows (each entry
/// recomputed and linked to the one before it); the whole chain on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_log_page_is_paged_and_verifies_the_entries_it_shows() {
    use ptl_engine::security::SecurityEntry;
    use ptl_tests::web::{add_user, WebClient};
    const PW: &str = "correct horse battery staple";
    let app = TestApp::spawn(Store::Sqlite).await;
    let engine = app.state.app.engine.clone();
    for i in 0..150 {
        engine
            .log_security(SecurityEntry::new("sign_out", Some(&format!("u{i}")), None))
            .await
            .unwrap();
    }
    add_user(&app, "aud", "auditor", "UA71", PW).await;
    let mut aud = WebClient::new(&app);
    aud.sign_in_fully("aud", PW).await;
    let last = engine.security_log_last().await.unwrap();
    assert!(last > 150);
    let page = aud.get("/security-log").await;
    assert_eq!(page.status, 200);
    let seqs = |body: &str| -> Vec<i64> {
        body.split("data-seq=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    let newest = seqs(&page.body);
    assert_eq!(newest.len(), 100);
    assert_eq!(newest[0], last);
    assert_eq!(newest[99], last - 99);
    assert!(page.body.contains("data-page-verified=\"true\""));
    assert!(page
        .body
        .contains(&format!("/security-log?before={}", last - 99)));
    let older = aud
        .get(&format!("/security-log?before={}", last - 99))
        .await;
    let older_seqs = seqs(&older.body);
    assert_eq!(older_seqs.first(), Some(&(last - 100)));
    assert_eq!(older_seqs.last(), Some(&1));

    // An entry edited on the older page: the newest page still verifies what it shows, the
    // older page and the whole chain do not.
    let ptl_engine::db::Db::Sqlite(pool) = engine.db() else {
        unreachable!()
    };
    sqlx::query("UPDATE security_log SET actor = 'someone' WHERE seq = 10")
        .execute(pool)
        .await
        .unwrap();
    let page = aud.get("/security-log").await;
    assert!(page.body.contains("data-page-verified=\"true\""));
    let older = aud
        .get(&format!("/security-log?before={}", last - 99))
        .await;
    assert!(older.body.contains("data-page-verified=\"false\""));
    assert!(older.body.contains("№ 10"));
    let all = aud.get("/security-log?verify=all").await;
    assert!(all.body.contains("data-verified=\"false\""));
    app.stop().await;
}
