//! Signing in to the web application over HTTP (`web.md`, "Signing in"): the session cookie and
//! its attributes, a new session id at every sign-in, sign-out ending the session on the server,
//! CSRF on every form, the lock after five failures, the one-time password and the undertaking,
//! and the hash-chained security log of it all, on both stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ptl_api::web::password;
use ptl_engine::accounts::{NewUser, UserChange};
use ptl_engine::security::SecurityEntry;
use ptl_tests::web::{add_user, WebClient};
use ptl_tests::{Store, TestApp};

const PW: &str = "рушник-над-Россю-7";

async fn sign_in_flow(store: Store) {
    let app = TestApp::spawn(store).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut web = WebClient::new(&app);

    // No page but sign-in without a session.
    for path in ["/", "/undertaking", "/password", "/cases/new"] {
        let r = web.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.location(), Some("/sign-in"), "{path}");
    }
    let page = web.get("/sign-in").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-form=\"sign-in\""));
    assert!(page.body.contains("<html lang=\"uk\">"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    assert!(!page.body.contains("<script>"), "no inline script");

    // A wrong password: refused in words, nothing opened.
    let r = web.sign_in("olena", "wrong password 123").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("role=\"alert\""));
    assert!(!web.cookies.contains_key("ptl_session"));

    // The sign-in form without its token is refused.
    let r = web
        .post(
            "/sign-in",
            &[("login", "olena"), ("password", PW), ("csrf_token", "x")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(!web.cookies.contains_key("ptl_session"));

    // The right password: a session cookie with the attributes of plain HTTP, then the undertaking.
    let r = web.sign_in("olena", PW).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), Some("/undertaking"));
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("ptl_session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let first_session = web.cookies["ptl_session"].clone();

    // Until the undertaking is acknowledged, no case page opens.
    let r = web.get("/").await;
    assert_eq!(r.location(), Some("/undertaking"));
    let page = web.get("/undertaking").await;
    assert!(page.body.contains("data-form=\"acknowledge\""));
    let csrf = page.hidden("csrf_token").unwrap();
    // Another token (or none) is refused.
    let r = web.post("/undertaking", &[("csrf_token", "forged")]).await;
    assert_eq!(r.status, 403);
    let r = web.post("/undertaking", &[]).await;
    assert_eq!(r.status, 403);
    let r = web.post("/undertaking", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.location(), Some("/"));
    let user = app
        .state
        .app
        .engine
        .user_by_login("olena")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.undertaking_version.as_deref(),
        Some(app.state.web.undertaking_version())
    );

    // Signing in again gives a new session id (no fixation) and ends the old one: the browser
    // still sends its session cookie with the sign-in form.
    assert_eq!(
        web.get("/sign-in").await.location(),
        Some("/"),
        "signed in already"
    );
    let mut fresh = WebClient::new(&app);
    let form = fresh.get("/sign-in").await;
    web.cookies
        .insert("ptl_signin".into(), fresh.cookies["ptl_signin"].clone());
    let csrf = form.hidden("csrf_token").unwrap();
    let r = web
        .post(
            "/sign-in",
            &[("login", "olena"), ("password", PW), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.location(), Some("/"));
    let second_session = web.cookies["ptl_session"].clone();
    assert_ne!(first_session, second_session);
    let mut old = WebClient::new(&app);
    old.cookies.insert("ptl_session".into(), first_session);
    assert_eq!(old.get("/undertaking").await.location(), Some("/sign-in"));

    // Sign-out ends the session on the server: the cookie opens nothing afterwards.
    let page = web.get("/password").await;
    let csrf = page.hidden("csrf_token").unwrap();
    let r = web.post("/sign-out", &[("csrf_token", "forged")]).await;
    assert_eq!(r.status, 403, "sign-out needs the session's token");
    let r = web.post("/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("role=\"status\""));
    let mut replay = WebClient::new(&app);
    replay.cookies.insert("ptl_session".into(), second_session);
    assert_eq!(replay.get("/password").await.location(), Some("/sign-in"));

    // The security log has it all, and verifies.
    let log = app.state.app.engine.security_log(0, 100).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "user_added",
        "sign_in_failed",
        "sign_in",
        "undertaking_acknowledged",
        "session_replaced",
        "sign_out",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert!(log
        .iter()
        .any(|e| e.kind == "sign_in" && e.address.is_some()));
    assert_eq!(
        app.state.app.engine.verify_security_log().await.unwrap(),
        None
    );
}

#[tokio::test]
async fn sign_in_and_out_on_sqlite() {
    sign_in_flow(Store::Sqlite).await;
}

#[tokio::test]
async fn sign_in_and_out_on_postgres() {
    sign_in_flow(Store::Postgres).await;
}

#[tokio::test]
async fn five_failures_lock_the_login_for_fifteen_minutes() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "petro", "caseworker", "UA7102", PW).await;
    let mut web = WebClient::new(&app);
    for i in 0..4 {
        assert_eq!(
            web.sign_in("petro", "not the password").await.status,
            401,
            "failure {i}"
        );
    }
    let r = web.sign_in("petro", "not the password").await;
    assert_eq!(r.status, 429);
    // Locked: even the right password is refused now ...
    let r = web.sign_in("petro", PW).await;
    assert_eq!(r.status, 429);
    assert!(r.body.contains("role=\"alert\""));
    // ... while another login from the same address still signs in (one person's typos do not
    // lock an office that shares an address).
    add_user(&app, "iryna", "caseworker", "UA7102", PW).await;
    assert_eq!(WebClient::new(&app).sign_in("iryna", PW).await.status, 303);
    // Fifteen minutes later the login opens again.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(web.sign_in("petro", PW).await.status, 303);
    let log = app.state.app.engine.security_log(0, 100).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.kind == "login_locked" && e.actor.as_deref() == Some("petro")));
    assert!(log.iter().any(|e| e.outcome == "login_locked"));
}

#[tokio::test]
async fn fifty_failures_from_one_address_lock_the_address() {
    let app = TestApp::spawn_with(Store::Sqlite, |o| o.web.address_lock_after = 6).await;
    add_user(&app, "iryna", "caseworker", "UA7102", PW).await;
    let mut web = WebClient::new(&app);
    for i in 0..6 {
        let r = web.sign_in(&format!("nobody{i}"), "whatever it is").await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(web.sign_in("iryna", PW).await.status, 429);
}

#[tokio::test]
async fn a_one_time_password_must_be_changed_first_and_a_new_password_follows_the_policy() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let otp = password::one_time();
    app.state
        .app
        .engine
        .add_user(
            NewUser {
                login: "Taras".into(),
                display_name: "Тарас".into(),
                role: "caseworker".into(),
                office: "UA7102".into(),
                password_hash: Some(password::hash(&otp).unwrap()),
                must_change_password: true,
                sso: false,
            },
            SecurityEntry::new("user_added", Some("test"), None),
        )
        .await
        .unwrap();
    let mut web = WebClient::new(&app);
    let r = web.sign_in("taras", &otp).await;
    assert_eq!(r.location(), Some("/password"));
    assert_eq!(web.get("/undertaking").await.location(), Some("/password"));
    let page = web.get("/password").await;
    assert!(page.body.contains("data-form=\"change-password\""));
    let csrf = page.hidden("csrf_token").unwrap();
    for (new, status) in [("short", 422), ("password1234", 422)] {
        let r = web
            .post(
                "/password",
                &[
                    ("current_password", &otp),
                    ("new_password", new),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status, status, "{new}");
        assert!(r.body.contains("role=\"alert\""));
    }
    let r = web
        .post(
            "/password",
            &[
                ("current_password", &otp),
                ("new_password", PW),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/undertaking"));
    // The one-time password no longer opens anything; the new one does.
    assert_eq!(
        WebClient::new(&app).sign_in("taras", &otp).await.status,
        401
    );
    assert_eq!(WebClient::new(&app).sign_in("taras", PW).await.status, 303);
    // A disabled account signs in no more and its sessions end.
    let user = app
        .state
        .app
        .engine
        .user_by_login("taras")
        .await
        .unwrap()
        .unwrap();
    app.state
        .app
        .engine
        .change_user(
            &user.id,
            UserChange {
                disabled: Some(true),
                ..UserChange::default()
            },
            SecurityEntry::new("user_disabled", Some("test"), None),
        )
        .await
        .unwrap();
    assert_eq!(web.get("/undertaking").await.location(), Some("/sign-in"));
    assert_eq!(WebClient::new(&app).sign_in("taras", PW).await.status, 401);
}

#[tokio::test]
async fn behind_https_the_cookie_is_host_prefixed_and_secure() {
    let app = TestApp::spawn_with(Store::Sqlite, |o| {
        o.web.public_url = Some("https://ptl.example.gov.ua".into());
    })
    .await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut web = WebClient::new(&app);
    let r = web.sign_in("olena", PW).await;
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-ptl_session="))
        .expect("a __Host- cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Domain"));
}

#[tokio::test]
async fn an_idle_session_ends_after_thirty_minutes() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut web = WebClient::new(&app);
    web.sign_in_fully("olena", PW).await;
    assert_eq!(web.get("/password").await.status, 200);
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(web.get("/password").await.location(), Some("/sign-in"));
    let log = app.state.app.engine.security_log(0, 100).await.unwrap();
    assert!(log.iter().any(|e| e.kind == "session_expired"));
}

#[tokio::test]
async fn a_second_visit_to_the_sign_in_page_keeps_the_form_on_screen_valid() {
    // A browser fetches things on its own (an icon, a prefetch) that may land on /sign-in while
    // the form is on screen: the form must still be accepted.
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut web = WebClient::new(&app);
    let first = web.get("/sign-in").await;
    let csrf = first.hidden("csrf_token").unwrap();
    let again = web.get("/sign-in").await;
    assert_eq!(again.hidden("csrf_token").unwrap(), csrf);
    let r = web
        .post(
            "/sign-in",
            &[("login", "olena"), ("password", PW), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
}
