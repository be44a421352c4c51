//! Who may learn that a person is registered: the possible-duplicates header of a registration
//! and the person search (`api.md`, Cases), over real HTTP, once per store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

/// Registers an application of `full_name` (born 1990-04-02) at `office`; returns the response.
async fn register_as(app: &TestApp, token: &str, office: &str, full_name: &str) -> Resp {
    let mut body = application(office, DAY);
    body["person"]["full_name"] = json!(full_name);
    let r = app.post_json("/api/v1/cases", token, &[], &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

fn header(r: &Resp, name: &str) -> Option<String> {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

/// The access-log entries of a case, read by a supervisor of its office.
async fn access_log(app: &TestApp, id: &str, office: &str) -> Vec<Value> {
    let sv = app.token("sv-log", Role::Supervisor, office);
    let r = app
        .get(&format!("/api/v1/cases/{id}/access-log"), &sv)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["valid"], true, "{}", r.body);
    r.body["entries"].as_array().unwrap().clone()
}

async fn search(app: &TestApp, token: &str, body: &Value) -> Resp {
    app.post_json("/api/v1/person-search", token, &[], body)
        .await
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_str().unwrap().to_string())
        .collect()
}

async fn a_registration_names_duplicates_in_scope_and_only_counts_those_of_other_offices(
    app: TestApp,
) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");
    let first = register_as(&app, &cw2, "UA7102", "Марʼяна Коваль").await;
    let a = first.body["id"].as_str().unwrap().to_string();
    assert_eq!(header(&first, "possible-duplicates"), None);
    // Another district registers the same person: it learns a count for UA7102, not the id.
    let second = register_as(&app, &cw4, "UA7104", "Марʼяна Коваль").await;
    let b = second.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        header(&second, "possible-duplicates").as_deref(),
        Some("UA7102=1")
    );
    assert_eq!(header(&second, "x-possible-duplicates"), None);
    // UA7102 sees that UA7104 checked its case, and why.
    let log = access_log(&app, &a, "UA7102").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["sub"], "cw-4");
    assert_eq!(log[0]["role"], "caseworker");
    assert_eq!(log[0]["office"], "UA7104");
    assert_eq!(log[0]["reason"], "duplicate check at registration");
    assert_eq!(log[0]["what"], r#"["duplicate-check"]"#);
    // Back at UA7102: its own case by id, the other district's as a count.
    let third = register_as(&app, &cw2, "UA7102", "Марʼяна Коваль").await;
    assert_eq!(
        header(&third, "possible-duplicates"),
        Some(format!("{a},UA7104=1"))
    );
    assert_eq!(access_log(&app, &b, "UA7104").await.len(), 1);
    assert_eq!(access_log(&app, &a, "UA7102").await.len(), 2);
    // A region sees both districts' cases by id.
    let region = app.token("rc-1", Role::Supervisor, "UA71");
    let fourth = register_as(&app, &region, "UA7102", "Марʼяна Коваль").await;
    let listed = header(&fourth, "possible-duplicates").unwrap();
    assert!(!listed.contains('='), "{listed}");
    assert_eq!(listed.split(',').count(), 3, "{listed}");
    app
}
both!(a_registration_names_duplicates_in_scope_and_only_counts_those_of_other_offices);

async fn a_person_search_shows_cases_in_scope_counts_the_others_and_logs_the_reason(
    app: TestApp,
) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");
    let a = register_as(&app, &cw2, "UA7102", "Олена Шевченко")
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = register_as(&app, &cw4, "UA7104", "Олена Шевченко")
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before_a = access_log(&app, &a, "UA7102").await.len();
    let before_b = access_log(&app, &b, "UA7104").await.len();
    let reason = "a new referral from the hotline";
    let r = search(
        &app,
        &cw2,
        &json!({"full_name": "олена  шевченко", "birth_date": "1990-04-02", "reason": reason}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body["items"]), vec![a.clone()]);
    assert_eq!(r.body["items"][0]["register_no"], "UA7102-2026-000001");
    assert_eq!(
        r.body["elsewhere"],
        json!([{"office": "UA7104", "count": 1}])
    );
    assert!(!r.body.to_string().contains(&b), "no id of another office");
    for (id, office, before) in [(&a, "UA7102", before_a), (&b, "UA7104", before_b)] {
        let log = access_log(&app, id, office).await;
        assert_eq!(log.len(), before + 1, "{log:?}");
        let e = log.last().unwrap();
        assert_eq!(
            (
                e["sub"].as_str(),
                e["office"].as_str(),
                e["reason"].as_str()
            ),
            (Some("cw-2"), Some("UA7102"), Some(reason))
        );
        assert_eq!(e["what"], r#"["person-search"]"#);
    }
    // The GET form does the same.
    let r = app
        .get(
            "/api/v1/cases?full_name=%D0%9E%D0%BB%D0%B5%D0%BD%D0%B0%20%D0%A8%D0%B5%D0%B2%D1%87%D0%B5%D0%BD%D0%BA%D0%BE&birth_date=1990-04-02&reason=review",
            &cw4,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body["items"]), vec![b.clone()]);
    assert_eq!(
        r.body["elsewhere"],
        json!([{"office": "UA7102", "count": 1}])
    );
    let log = access_log(&app, &a, "UA7102").await;
    assert_eq!(log.last().unwrap()["reason"], "review");
    assert_eq!(log.last().unwrap()["sub"], "cw-4");
    // No match: empty lists, nothing logged anywhere.
    let r = search(
        &app,
        &cw2,
        &json!({"full_name": "Ірина Бойко", "birth_date": "1990-04-02", "reason": reason}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"items": [], "elsewhere": []}))
    );
    // Roles that never see personal data do not search.
    let auditor = app.token("au-1", Role::Auditor, "UA7102");
    let r = search(
        &app,
        &auditor,
        &json!({"full_name": "Олена Шевченко", "birth_date": "1990-04-02", "reason": reason}),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    app
}
both!(a_person_search_shows_cases_in_scope_counts_the_others_and_logs_the_reason);

async fn a_person_search_without_a_reason_is_refused_and_logs_nothing(app: TestApp) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let a = register_as(&app, &cw2, "UA7102", "Олена Шевченко")
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = access_log(&app, &a, "UA7102").await.len();
    let full = json!({"full_name": "Олена Шевченко", "birth_date": "1990-04-02", "reason": "x"});
    for field in ["reason", "full_name", "birth_date"] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        let r = search(&app, &cw2, &body).await;
        assert_eq!((r.status, r.code()), (422, "validation_failed"), "{field}");
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/problem+json"
        );
        assert_eq!(r.body["errors"][field], "required", "{}", r.body);
    }
    let mut long = full.clone();
    long["reason"] = json!("x".repeat(501));
    let r = search(&app, &cw2, &long).await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    assert!(r.body["errors"]["reason"].is_string(), "{}", r.body);
    let mut extra = full.clone();
    extra["office"] = json!("UA7104");
    let r = search(&app, &cw2, &extra).await;
    assert_eq!((r.status, r.code()), (422, "unknown_field"));
    for query in [
        "full_name=x&birth_date=1990-04-02",
        "full_name=x&birth_date=1990-04-02&reason=",
        "full_name=x&birth_date=1990-04-02&reason=%20%20",
    ] {
        let r = app.get(&format!("/api/v1/cases?{query}"), &cw2).await;
        assert_eq!((r.status, r.code()), (400, "bad_parameter"), "{query}");
        assert!(r.body["detail"].as_str().unwrap().contains("reason"));
    }
    assert_eq!(access_log(&app, &a, "UA7102").await.len(), before);
    app
}
both!(a_person_search_without_a_reason_is_refused_and_logs_nothing);

async fn zero_width_characters_and_latin_look_alikes_find_the_person(app: TestApp) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let a = register_as(&app, &cw2, "UA7102", "Олена Шевченко")
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for spelling in [
        "Оле\u{200B}на Шев\u{200D}ченко",
        "\u{FEFF}Олена Шевченко\u{2060}",
        "Oлeнa Шeвчeнкo",
        "OЛЕНА ШЕВЧЕНКО",
    ] {
        let r = search(
            &app,
            &cw2,
            &json!({"full_name": spelling, "birth_date": "1990-04-02", "reason": "check"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(ids(&r.body["items"]), vec![a.clone()], "{spelling:?}");
    }
    // Registered with look-alikes, found by the Cyrillic spelling, and flagged as a duplicate.
    let second = register_as(&app, &cw2, "UA7102", "Oлeнa\u{200B} Шeвчeнкo").await;
    assert_eq!(header(&second, "possible-duplicates"), Some(a.clone()));
    app
}
both!(zero_width_characters_and_latin_look_alikes_find_the_person);

async fn the_thirty_first_search_in_a_minute_is_refused_with_retry_after(app: TestApp) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let body = json!({"full_name": "Ірина Бойко", "birth_date": "1990-04-02", "reason": "check"});
    for n in 0..30 {
        let r = search(&app, &cw2, &body).await;
        assert_eq!(r.status, 200, "search {n}: {}", r.body);
    }
    let r = search(&app, &cw2, &body).await;
    assert_eq!(
        (r.status, r.code()),
        (429, "too_many_searches"),
        "{}",
        r.body
    );
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    assert_eq!(r.headers.get("retry-after").unwrap(), "60");
    // The GET form counts against the same budget.
    let r = app
        .get(
            "/api/v1/cases?full_name=x&birth_date=1990-04-02&reason=check",
            &cw2,
        )
        .await;
    assert_eq!((r.status, r.code()), (429, "too_many_searches"));
    // The work queue itself is not a search; another user has a budget of their own.
    assert_eq!(app.get("/api/v1/cases", &cw2).await.status, 200);
    let other = app.token("cw-3", Role::Caseworker, "UA7102");
    assert_eq!(search(&app, &other, &body).await.status, 200);
    // A minute later the user may search again.
    app.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(search(&app, &cw2, &body).await.status, 200);
    app
}
both!(the_thirty_first_search_in_a_minute_is_refused_with_retry_after);

async fn an_index_built_with_an_older_normalisation_is_rebuilt_at_start(app: TestApp) -> TestApp {
    let cw2 = app.token("cw-2", Role::Caseworker, "UA7102");
    let a = register_as(&app, &cw2, "UA7102", "Олена Шевченко")
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    // As a store indexed under normalisation 1 looks to this release: the entries do not match
    // what the current normalisation computes (here: none at all), and the version says 1.
    let engine = &app.state.app.engine;
    let mut tx = engine.begin_write().await.unwrap();
    ptl_engine::run!(tx.conn(), "DELETE FROM person_index").unwrap();
    ptl_engine::run!(
        tx.conn(),
        "UPDATE vault_meta SET value = 1 WHERE name = 'person_index_normalisation'"
    )
    .unwrap();
    tx.commit().await.unwrap();
    let body =
        json!({"full_name": "Oлeнa Шевченко", "birth_date": "1990-04-02", "reason": "check"});
    let r = search(&app, &cw2, &body).await;
    assert_eq!(ids(&r.body["items"]), Vec::<String>::new());
    // A restart: a second instance starts on the same store and keys, and rebuilds the index.
    let opts = ptl_api::startup::StartOptions::new(app.url(), app.dir.path().join("data"));
    let again = ptl_api::startup::start(&opts, app.clock.clone())
        .await
        .expect("restarts");
    let r = search(&app, &cw2, &body).await;
    assert_eq!(ids(&r.body["items"]), vec![a.clone()], "{}", r.body);
    let log = access_log(&app, &a, "UA7102").await;
    assert!(
        log.iter()
            .any(|e| e["sub"] == "system" && e["what"] == r#"["person-index-rebuild"]"#),
        "{log:?}"
    );
    ptl_engine::testkit::close(again.state.app.engine.db()).await;
    app
}
both!(an_index_built_with_an_older_normalisation_is_rebuilt_at_start);
