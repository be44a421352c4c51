//! Page 11, administration, over HTTP: only admins open it; accounts are added (with a one-time
//! password shown once), disabled (their sessions end), given a new one-time password and another
//! role, with the same checks as `ptl users` and each change in the security log; the office tree
//! and the procedure definitions with their marks are shown in words; CSRF is required.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ptl_tests::web::{add_user, WebClient};
use ptl_tests::{Store, TestApp};

const PW: &str = "рушник-над-Россю-7";

async fn admin_page(store: Store) {
    let app = TestApp::spawn(store).await;
    add_user(&app, "root", "admin", "UA", PW).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut admin = WebClient::new(&app);
    admin.sign_in_fully("root", PW).await;

    // A caseworker is refused.
    let mut cw = WebClient::new(&app);
    cw.sign_in_fully("olena", PW).await;
    let r = cw.get("/admin").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("role=\"alert\""));

    let page = admin.get("/admin").await;
    assert_eq!(page.status, 200);
    // Words, not codes: role and office labels, the tree, the marks.
    assert!(
        page.body.contains("Черкаська обласна"),
        "office names from the tree"
    );
    assert!(
        page.body.contains("[за замовчуванням]"),
        "the [default] mark in words"
    );
    assert!(
        !page.body.contains(">caseworker<"),
        "no raw role code shown"
    );
    let csrf = page.hidden("csrf_token").unwrap();

    // Without the session's token nothing is written.
    let r = admin
        .post(
            "/admin/users",
            &[
                ("login", "ivan"),
                ("name", "Іван"),
                ("role", "caseworker"),
                ("office", "UA7104"),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(app
        .state
        .app
        .engine
        .user_by_login("ivan")
        .await
        .unwrap()
        .is_none());

    // A role that does not fit the office: refused, the form keeps the input.
    let r = admin
        .post(
            "/admin/users",
            &[
                ("login", "ivan"),
                ("name", "Іван"),
                ("role", "caseworker"),
                ("office", "UA-NSS"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("role=\"alert\""));
    assert!(r.body.contains("value=\"ivan\""));
    assert!(app
        .state
        .app
        .engine
        .user_by_login("ivan")
        .await
        .unwrap()
        .is_none());

    let r = admin
        .post(
            "/admin/users",
            &[
                ("login", "ivan"),
                ("name", "Іван"),
                ("role", "caseworker"),
                ("office", "UA7104"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let status = r.body.split("role=\"status\">").nth(1).unwrap();
    let otp = status.split("пароль: ").nth(1).unwrap()[..19].to_string();
    let mut ivan = WebClient::new(&app);
    assert_eq!(
        ivan.sign_in("ivan", &otp).await.location(),
        Some("/password")
    );

    // Disabling ends Olena's session; a new role ends sessions too.
    let r = admin
        .post("/admin/users/olena/disable", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(cw.get("/password").await.location(), Some("/sign-in"));
    let r = admin
        .post(
            "/admin/users/ivan/role",
            &[
                ("role", "supervisor"),
                ("office", "UA71"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(ivan.get("/password").await.location(), Some("/sign-in"));
    let u = app
        .state
        .app
        .engine
        .user_by_login("ivan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.role.as_str(), u.office.as_str()), ("supervisor", "UA71"));
    let r = admin
        .post("/admin/users/ivan/reset-password", &[("csrf_token", &csrf)])
        .await;
    assert!(r.body.contains("role=\"status\""));
    // An admin cannot lock themselves out.
    let r = admin
        .post("/admin/users/root/disable", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, 422);

    let log = app.state.app.engine.security_log(0, 200).await.unwrap();
    for kind in [
        "user_added",
        "user_disabled",
        "user_role_changed",
        "password_reset",
    ] {
        assert!(
            log.iter().any(|e| e.kind == kind
                && e.actor.as_deref() == Some("root")
                && e.address.is_some()),
            "{kind}"
        );
    }
    assert_eq!(
        app.state.app.engine.verify_security_log().await.unwrap(),
        None
    );
}

#[tokio::test]
async fn administration_on_sqlite() {
    admin_page(Store::Sqlite).await;
}

#[tokio::test]
async fn administration_on_postgres() {
    admin_page(Store::Postgres).await;
}

#[tokio::test]
async fn an_edited_or_removed_security_log_entry_is_found() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "root", "admin", "UA", PW).await;
    let mut web = WebClient::new(&app);
    web.sign_in_fully("root", PW).await;
    let engine = &app.state.app.engine;
    assert_eq!(engine.verify_security_log().await.unwrap(), None);
    let ptl_engine::db::Db::Sqlite(pool) = engine.db() else {
        unreachable!()
    };
    sqlx::query("UPDATE security_log SET outcome = 'refused' WHERE seq = 2")
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(engine.verify_security_log().await.unwrap(), Some(2));
    sqlx::query("UPDATE security_log SET outcome = 'ok' WHERE seq = 2")
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(engine.verify_security_log().await.unwrap(), None);
    sqlx::query("DELETE FROM security_log WHERE seq = 2")
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(engine.verify_security_log().await.unwrap(), Some(3));
}

#[tokio::test]
async fn auditors_read_the_security_log_with_its_verification_and_caseworkers_do_not() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "aud", "auditor", "UA71", PW).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let mut cw = WebClient::new(&app);
    assert_eq!(cw.sign_in("olena", "wrong password!!").await.status, 401);
    cw.sign_in_fully("olena", PW).await;
    assert_eq!(cw.get("/security-log").await.status, 403);
    let mut aud = WebClient::new(&app);
    aud.sign_in_fully("aud", PW).await;
    let page = aud.get("/security-log").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("role=\"status\""),
        "the verification mark"
    );
    assert!(
        page.body.contains("Невдала спроба входу"),
        "a failure in words"
    );
    assert!(page.body.contains(">olena<"));
    assert!(!page.body.contains("sign_in_failed"), "no raw code");
    // A broken chain is said in an alert.
    let ptl_engine::db::Db::Sqlite(pool) = app.state.app.engine.db() else {
        unreachable!()
    };
    sqlx::query("UPDATE security_log SET actor = 'someone' WHERE seq = 3")
        .execute(pool)
        .await
        .unwrap();
    let page = aud.get("/security-log").await;
    assert!(page.body.contains("role=\"alert\""));
    assert!(page.body.contains("№ 3"));
}
