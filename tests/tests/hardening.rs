//! Issue 13, items 5 to 7 over real HTTP: tokens whose role does not fit their office, the social
//! worker's consent, connection-level limits (slow-loris, connection cap, rate limits, trusted
//! proxies), caps on lists and reasons, bounded metric labels, and the security headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ptl_domain::Role;
use ptl_tests::{application, Store, TestApp};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DAY: &str = "2026-03-02";

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; what it sent before closing.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_whose_role_does_not_fit_its_office_kind_is_refused() {
    let app = TestApp::spawn(Store::Sqlite).await;
    for (role, office) in [
        (Role::DecisionOfficer, "UA7102"),
        (Role::Caseworker, "UA"),
        (Role::Supervisor, "UA-NSS"),
        (Role::SocialWorker, "UA-MSP"),
        (Role::Admin, "UA71"),
        (Role::Caseworker, "UA99"),
    ] {
        let t = app.token("u-1", role, office);
        let r = app.get("/api/v1/cases", &t).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthorized"),
            "{role} at {office}"
        );
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("does not belong to the office"),
            "{}",
            r.body
        );
    }
    for (role, office) in [
        (Role::Caseworker, "UA7102"),
        (Role::Supervisor, "UA71"),
        (Role::DecisionOfficer, "UA-NSS"),
        (Role::Auditor, "UA7104"),
        (Role::Admin, "UA"),
    ] {
        let t = app.token("u-2", role, office);
        let r = app.get("/api/v1/deadlines", &t).await;
        assert_ne!(r.status, 401, "{role} at {office}: {}", r.body);
    }
    app.stop().await;
}

async fn social_worker_consent(store: Store) {
    let app = TestApp::spawn(store).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let sw = app.token("sw-1", Role::SocialWorker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let person = format!("/api/v1/cases/{id}?include=person&reason=visit");
    let r = app.get(&person, &sw).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "consent_not_in_force"),
        "{}",
        r.body
    );
    assert!(!r.body.to_string().contains("Коваль"));
    // the case itself, without the person, stays readable
    assert_eq!(
        app.get(&format!("/api/v1/cases/{id}"), &sw).await.status,
        200
    );
    let consent =
        json!({"occurred_on": DAY, "scope": "share_with_social_services", "given_by": "person"});
    let r = app.act(&cw, &id, "record-consent", &etag, &consent).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.get(&person, &sw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["person"]["full_name"], "Марʼяна Коваль");
    let r = app
        .act(&cw, &id, "withdraw-consent", &r.etag(), &consent)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.get(&person, &sw).await;
    assert_eq!((r.status, r.code()), (403, "consent_not_in_force"));
    // the caseworker is not bound by that consent
    assert_eq!(app.get(&person, &cw).await.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_social_worker_reads_the_person_only_while_the_consent_to_share_with_social_services_is_in_force_sqlite(
) {
    social_worker_consent(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_social_worker_reads_the_person_only_while_the_consent_to_share_with_social_services_is_in_force_postgres(
) {
    social_worker_consent(Store::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_address_limit_the_answer_is_429_with_retry_after_before_authentication() {
    let app = TestApp::spawn_with(Store::Sqlite, |o| o.limits.per_address_per_minute = 3).await;
    for _ in 0..3 {
        let r = app
            .send(reqwest::Method::GET, "/api/v1/cases", None, &[], None)
            .await;
        assert_eq!(r.status, 401);
    }
    let r = app
        .send(reqwest::Method::GET, "/api/v1/cases", None, &[], None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (429, "too_many_requests"),
        "{}",
        r.body
    );
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    // before everything else: even the health check is counted
    let r = app
        .send(reqwest::Method::GET, "/healthz", None, &[], None)
        .await;
    assert_eq!(r.status, 429);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_user_limit_the_answer_is_429_right_after_authentication() {
    let app = TestApp::spawn_with(Store::Sqlite, |o| o.limits.per_user_per_minute = 3).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/cases", &cw).await.status, 200);
    }
    let r = app.get("/api/v1/cases", &cw).await;
    assert_eq!(
        (r.status, r.code()),
        (429, "too_many_requests"),
        "{}",
        r.body
    );
    assert!(r.headers.contains_key("retry-after"));
    // another token of the same user shares the allowance; another user has their own
    let again = app.token("cw-1", Role::Caseworker, "UA7102");
    assert_eq!(app.get("/api/v1/cases", &again).await.status, 429);
    let other = app.token("cw-2", Role::Caseworker, "UA7102");
    assert_eq!(app.get("/api/v1/cases", &other).await.status, 200);
    // authentication comes first: a bad token is still 401, not 429
    let r = app.get("/api/v1/cases", "not-a-token").await;
    assert_eq!(r.status, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_names_the_client_only_behind_a_configured_proxy() {
    let xff = |ip: &'static str| [("x-forwarded-for", ip)];
    // Not configured: the header is ignored, every request counts for 127.0.0.1.
    let app = TestApp::spawn_with(Store::Sqlite, |o| o.limits.per_address_per_minute = 2).await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        let r = app
            .send(reqwest::Method::GET, "/healthz", None, &xff(ip), None)
            .await;
        assert_eq!(r.status, 200);
    }
    let r = app
        .send(
            reqwest::Method::GET,
            "/healthz",
            None,
            &xff("198.51.100.3"),
            None,
        )
        .await;
    assert_eq!(r.status, 429, "a client cannot pick its own address");
    app.stop().await;

    // Behind a trusted proxy (127.0.0.1 here), each forwarded client has its own allowance.
    let app = TestApp::spawn_with(Store::Sqlite, |o| {
        o.limits.per_address_per_minute = 2;
        o.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        let r = app
            .send(
                reqwest::Method::GET,
                "/healthz",
                None,
                &xff("198.51.100.1"),
                None,
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let r = app
        .send(
            reqwest::Method::GET,
            "/healthz",
            None,
            &xff("198.51.100.1"),
            None,
        )
        .await;
    assert_eq!(r.status, 429);
    let r = app
        .send(
            reqwest::Method::GET,
            "/healthz",
            None,
            &xff("198.51.100.2"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn_with(Store::Sqlite, |o| {
        o.limits.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    // headers started, never finished
    let mut slow = tokio::net::TcpStream::connect(address(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // nothing sent at all
    let mut silent = tokio::net::TcpStream::connect(address(&app)).await.unwrap();
    // A generous bound so that a server that never closes fails instead of hanging.
    let bound = Duration::from_secs(60);
    let answer = tokio::time::timeout(bound, read_until_closed(&mut slow))
        .await
        .expect("the server closed the slow connection");
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "{answer:?}"
    );
    tokio::time::timeout(bound, read_until_closed(&mut silent))
        .await
        .expect("the server closed the silent connection");
    // the server still serves
    let r = app
        .send(reqwest::Method::GET, "/healthz", None, &[], None)
        .await;
    assert_eq!(r.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_connections_than_the_maximum_are_served_at_once() {
    let app = TestApp::spawn_with(Store::Sqlite, |o| o.limits.max_connections = 1).await;
    // One connection holds the only slot.
    let mut first = tokio::net::TcpStream::connect(address(&app)).await.unwrap();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // A second one is accepted by the kernel but not served while the first is open.
    let mut second = tokio::net::TcpStream::connect(address(&app)).await.unwrap();
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(500), second.read(&mut buf)).await;
    assert!(waiting.is_err(), "served beyond the maximum: {waiting:?}");
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(60), read_until_closed(&mut second))
        .await
        .expect("served once the slot is free");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{answer:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_over_50_entries_and_reasons_over_500_characters_are_422_and_write_nothing() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let r = app
        .act(
            &cw,
            &id,
            "withdraw",
            &etag,
            &json!({"occurred_on": DAY, "reason": "x".repeat(501)}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (422, "validation_failed"),
        "{}",
        r.body
    );
    assert_eq!(r.body["errors"]["reason"], "at most 500 characters");
    let mut body = application("UA7102", DAY);
    body["documents"] = serde_json::Value::Array(
        (0..51)
            .map(|_| json!({"kind": "identity_document"}))
            .collect(),
    );
    let r = app.post_json("/api/v1/cases", &cw, &[], &body).await;
    assert_eq!(
        (r.status, r.code()),
        (422, "validation_failed"),
        "{}",
        r.body
    );
    assert_eq!(r.body["errors"]["documents"], "at most 50 entries");
    let queue = app.get("/api/v1/cases", &cw).await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 1);
    let case = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    assert_eq!(case.body["version"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_http_method_counts_as_other_in_the_metrics() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let made_up = reqwest::Method::from_bytes(b"FROBNICATE").unwrap();
    let r = app.send(made_up, "/api/v1/cases", None, &[], None).await;
    assert!(r.status >= 400);
    let m = app
        .send(reqwest::Method::GET, "/metrics", None, &[], None)
        .await;
    let text = m.body.as_str().unwrap_or_default().to_string();
    assert!(!text.contains("FROBNICATE"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_says_nosniff_and_case_data_is_never_cached() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (id, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let case = app.get(&format!("/api/v1/cases/{id}"), &cw).await;
    let refused = app
        .send(reqwest::Method::GET, "/api/v1/cases", None, &[], None)
        .await;
    let health = app
        .send(reqwest::Method::GET, "/healthz", None, &[], None)
        .await;
    let nowhere = app
        .send(reqwest::Method::GET, "/nowhere", None, &[], None)
        .await;
    for r in [&case, &refused, &health, &nowhere] {
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
    }
    for r in [&case, &refused] {
        assert_eq!(r.headers["cache-control"], "no-store");
    }
    let dashboard = app
        .send(reqwest::Method::GET, "/dashboard", None, &[], None)
        .await;
    let csp = dashboard.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert_eq!(script_src, "script-src 'self'");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = dashboard.body.as_str().unwrap();
    assert!(html.contains("<script src=\"/dashboard.js\"></script>"));
    assert!(!html.contains("<script>"), "no inline script left");
    let js = app
        .send(reqwest::Method::GET, "/dashboard.js", None, &[], None)
        .await;
    assert_eq!(js.status, 200);
    assert!(js.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.body.as_str().unwrap().contains("sessionStorage"));
    app.stop().await;
}
