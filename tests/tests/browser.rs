//! The web pages in a real headless Chromium over WebDriver (`ptl_tests::browser`), with axe-core
//! checking WCAG 2.1 A/AA. One chromedriver serves every test of this binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ptl_domain::Role;
use ptl_tests::browser::{Browser, OidcProvider};
use ptl_tests::{Store, TestApp};
use serde_json::Value;

/// The harness on the dashboard: the page runs its own script under its Content-Security-Policy
/// (`script-src 'self'`, no inline script), an inline script added to the page is blocked by that
/// policy, and axe-core injected through WebDriver still runs and finds no WCAG 2.1 A/AA violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_runs_axe_on_the_dashboard_under_its_csp() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let today = ptl_domain::kyiv_date(app.state.app.engine.clock().now());
    ptl_api::demo::demo(
        &app.state.app.engine,
        ptl_api::demo::Scenario::CherkasyToday,
        today,
    )
    .await
    .unwrap();
    let token = app.token("rc-1", Role::Supervisor, "UA71");
    let browser = Browser::start().await;
    browser
        .goto(&format!("{}/dashboard#token={token}", app.base))
        .await;
    browser.find("[data-loaded=\"true\"]").await;
    let stats = app.get("/api/v1/stats", &token).await;
    let applications = browser
        .find("#totals [data-figure=\"applications\"]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        applications.trim(),
        stats.body["totals"]["applications"].to_string()
    );

    // The page's CSP is in force: an inline script does not run.
    let ran = browser
        .driver
        .execute(
            "const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
             document.body.appendChild(s); return window.__inline === 1;",
            Vec::<Value>::new(),
        )
        .await
        .unwrap();
    assert_eq!(ran.json(), &Value::Bool(false), "an inline script ran");

    browser.assert_accessible("the dashboard").await;
    let shot = browser.screenshot("dashboard-webdriver").await;
    assert!(shot.is_file());
    browser.quit().await;
    app.stop().await;
}

const PW: &str = "correct horse battery staple";

/// Signs in with the local account in the browser: a wrong password is refused in a
/// `role="alert"`, the right one leads to the confidentiality undertaking and, once acknowledged,
/// into the application (the sign-out form in the header). The sign-in page, the refusal and the
/// undertaking pass axe-core (WCAG 2.1 A/AA).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caseworker_signs_in_in_the_browser_and_the_pages_are_accessible() {
    let app = TestApp::spawn(Store::Sqlite).await;
    ptl_tests::web::add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let b = Browser::start().await;
    b.goto(&format!("{}/", app.base)).await;
    assert!(
        b.url().await.ends_with("/sign-in"),
        "without a session, the sign-in page: {}",
        b.url().await
    );
    assert_eq!(
        b.find("html").await.attr("lang").await.unwrap().as_deref(),
        Some("uk")
    );
    b.assert_accessible("the sign-in page").await;
    b.screenshot("sign-in").await;

    b.fill_and_submit(
        "sign-in",
        &[("login", "olena"), ("password", "wrong password 123")],
    )
    .await;
    // The refusal says why (not that the form expired: the form on screen stays valid, whatever
    // else the browser loads meanwhile, such as its request for /favicon.ico).
    assert_eq!(
        b.alerts().await,
        vec![ptl_api::i18n::t(
            ptl_api::i18n::Lang::Uk,
            "web-sign-in-failed"
        )]
    );
    assert!(b.url().await.ends_with("/sign-in"));
    b.assert_accessible("the sign-in page with its error").await;

    b.fill_and_submit("sign-in", &[("login", "olena"), ("password", PW)])
        .await;
    assert!(
        b.url().await.ends_with("/undertaking"),
        "{}: {:?}",
        b.url().await,
        b.alerts().await
    );
    b.assert_accessible("the confidentiality undertaking").await;
    b.screenshot("undertaking").await;
    b.submit("acknowledge").await;
    assert!(
        b.exists("form[data-form=\"sign-out\"]").await,
        "signed in after the undertaking: {}",
        b.url().await
    );
    b.quit().await;
    app.stop().await;
}

/// The single sign-on accounts at the test provider.
fn sso_accounts() -> Value {
    serde_json::json!({
        "olena.sso": {"name": "Олена Мельник", "role": "caseworker", "office": "UA7102"},
        "stranger": {"name": "Іван Чужий", "role": "caseworker", "office": "UA9999"},
        "elsewhere": {"name": "Петро Інший", "role": "caseworker", "office": "UA7102",
                      "id_token_audience": "another-application"}
    })
}

const CLIENT_ID: &str = "ptl-web";
const CLIENT_SECRET: &str = "a client secret of the test provider";

/// The application with single sign-on at a real OpenID provider on another site.
async fn app_with_sso(store: Store) -> (TestApp, OidcProvider) {
    // The provider needs the redirect URI, which needs the application's port: the port is known
    // before the application starts (`spawn_at`), and the provider starts first.
    let mut provider = None;
    let app = TestApp::spawn_at(store, |opts, base| {
        let redirect = format!("{base}/sign-in/sso/callback");
        let p = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &redirect, &sso_accounts());
        opts.web.oidc = Some(ptl_api::config::OidcSettings {
            issuer: p.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret_env: "PTL_TEST_OIDC_SECRET".into(),
            client_secret: CLIENT_SECRET.to_string().into(),
            redirect_uri: redirect,
            role_claim: "role".into(),
            office_claim: "office".into(),
            name_claim: "name".into(),
            scopes: vec!["openid".into(), "profile".into()],
        });
        provider = Some(p);
    })
    .await;
    (app, provider.unwrap())
}

/// Starts single sign-on from the sign-in page and signs in at the provider as `login`.
async fn sso_sign_in(b: &Browser, app: &TestApp, provider: &OidcProvider, login: &str) {
    b.goto(&format!("{}/sign-in", app.base)).await;
    let link = b.find("a[href=\"/sign-in/sso\"]").await;
    b.click_and_wait(&link).await;
    provider.sign_in(b, login).await;
}

/// The whole authorization-code flow with PKCE in the browser, the provider at
/// `http://localhost:<port>` and the application at `http://127.0.0.1:<port>` (two sites): the
/// callback, a cross-site navigation, sets the `SameSite=Strict` session cookie and continues by a
/// same-site page, so the next page opens signed in (the undertaking, then the application). The
/// account is created once, marked as single sign-on, with the provider's name, role and office.
async fn single_sign_on_flow(store: Store) {
    let (app, provider) = app_with_sso(store).await;
    let b = Browser::start().await;
    sso_sign_in(&b, &app, &provider, "olena.sso").await;
    // The same-site step, then the page it continues to.
    b.wait_loaded().await;
    b.find("form[data-form=\"acknowledge\"]").await;
    assert!(
        b.url()
            .await
            .starts_with(&format!("{}/undertaking", app.base)),
        "signed in, at the undertaking: {}",
        b.url().await
    );
    let cookie = b.driver.get_named_cookie("ptl_session").await.unwrap();
    assert_eq!(cookie.http_only, Some(true));
    assert_eq!(
        cookie.same_site,
        Some(thirtyfour::cookie::SameSite::Strict),
        "{cookie:?}"
    );
    assert!(
        b.driver.get_named_cookie("ptl_sso").await.is_err(),
        "the binding cookie is gone after the callback"
    );
    b.submit("acknowledge").await;
    assert!(
        b.exists("form[data-form=\"sign-out\"]").await,
        "{}",
        b.url().await
    );
    assert!(b.text().await.contains("Олена Мельник"));

    let engine = &app.state.app.engine;
    let user = engine
        .user_by_login("sso:olena.sso")
        .await
        .unwrap()
        .unwrap();
    assert!(user.sso && user.password_hash.is_none());
    assert_eq!(
        (
            user.role.as_str(),
            user.office.as_str(),
            user.display_name.as_str()
        ),
        ("caseworker", "UA7102", "Олена Мельник")
    );
    b.quit().await;

    // A second sign-in in a fresh browser finds the same account (and its acknowledgement).
    let b = Browser::start().await;
    sso_sign_in(&b, &app, &provider, "olena.sso").await;
    b.wait_loaded().await;
    b.find("form[data-form=\"sign-out\"]").await;
    assert_eq!(engine.users().await.unwrap().len(), 1);
    b.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_through_a_real_provider_on_sqlite() {
    single_sign_on_flow(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_through_a_real_provider_on_postgres() {
    single_sign_on_flow(Store::Postgres).await;
}

/// A token the provider issued for another application, and an account whose office the tree does
/// not know, are refused with a sentence saying so; no session, no account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_refuses_another_audience_and_an_unknown_office() {
    let (app, provider) = app_with_sso(Store::Sqlite).await;
    for (login, says) in [("elsewhere", "another-application"), ("stranger", "UA9999")] {
        let b = Browser::start().await;
        sso_sign_in(&b, &app, &provider, login).await;
        let alerts = b.alerts().await;
        assert_eq!(alerts.len(), 1, "{login}: {alerts:?} at {}", b.url().await);
        assert!(alerts[0].contains(says), "{login}: {}", alerts[0]);
        assert!(
            b.driver.get_named_cookie("ptl_session").await.is_err(),
            "{login}: no session"
        );
        b.assert_accessible("the single sign-on refusal").await;
        b.screenshot(&format!("sso-refused-{login}")).await;
        b.quit().await;
    }
    assert!(app.state.app.engine.users().await.unwrap().is_empty());
    app.stop().await;
}

/// The start of a sign-in sends the browser to the provider with PKCE (S256), `state` and `nonce`,
/// and a `SameSite=Lax` cookie binding the sign-in to this browser. A callback that comes to
/// another browser (someone else's link: login CSRF) is refused and uses the sign-in up; the same
/// `state` again, or one never issued, is refused as expired or used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_its_sign_in_or_in_another_browser_signs_nobody_in() {
    let (app, provider) = app_with_sso(Store::Sqlite).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/sign-in/sso", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{}/auth?", provider.issuer)),
        "{location}"
    );
    let url = reqwest::Url::parse(&location).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/sign-in/sso/callback", app.base)
    );
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43);
    let binding = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for attr in ["ptl_sso=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(binding.contains(attr), "{binding}");
    }
    let binding = binding.split(';').next().unwrap().to_string();

    let callback = |state: &str| {
        format!(
            "{}/sign-in/sso/callback?code=abc&state={state}&iss={}",
            app.base, provider.issuer
        )
    };
    let refused = |r: reqwest::Response, says: &'static str| async move {
        assert_eq!(r.status(), 400);
        assert!(r
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("ptl_session=")));
        let body = r.text().await.unwrap();
        assert!(body.contains("role=\"alert\""), "{body}");
        let text = ptl_api::i18n::t(ptl_api::i18n::Lang::Uk, says);
        assert!(body.contains(&text), "{says}: {body}");
    };
    // In another browser: no binding cookie.
    let r = http.get(callback(&q["state"])).send().await.unwrap();
    refused(r, "sso-other-browser").await;
    // The same sign-in again, now with the cookie: used up.
    let r = http
        .get(callback(&q["state"]))
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    refused(r, "sso-unknown-state").await;
    // A state this server never issued.
    let r = http
        .get(callback("never-issued"))
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    refused(r, "sso-unknown-state").await;
    assert!(app.state.app.engine.users().await.unwrap().is_empty());
    app.stop().await;
}

/// The administration page passes axe-core (WCAG 2.1 A/AA), signed in through the browser, also
/// with an error next to a field after a refused account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administration_pages_are_accessible() {
    let app = TestApp::spawn(Store::Sqlite).await;
    ptl_tests::web::add_user(&app, "admin", "admin", "UA", PW).await;
    ptl_tests::web::add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "admin"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;
    b.goto(&format!("{}/admin", app.base)).await;
    assert!(b.url().await.ends_with("/admin"), "{}", b.url().await);
    b.assert_accessible("the administration page").await;
    b.screenshot("admin").await;
    b.quit().await;
    app.stop().await;
}

/// The caseworker's main pages pass axe-core (WCAG 2.1 A/AA): the work queue, the registration
/// form, a case page, its history and the person search; a screenshot of each is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caseworkers_pages_are_accessible() {
    let app = TestApp::spawn(Store::Sqlite).await;
    ptl_tests::web::add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let token = app.token("api-1", Role::Caseworker, "UA7102");
    let (id, _) = app
        .register(&token, &ptl_tests::application("UA7102", "2026-03-02"))
        .await;
    let b = Browser::start().await;
    b.goto(&format!("{}/sign-in", app.base)).await;
    b.fill_and_submit("sign-in", &[("login", "olena"), ("password", PW)])
        .await;
    b.submit("acknowledge").await;
    for (path, name) in [
        ("/".to_string(), "work-queue"),
        ("/cases/new".to_string(), "registration"),
        (format!("/cases/{id}"), "case"),
        (format!("/cases/{id}/history"), "history"),
        ("/person-search".to_string(), "person-search"),
    ] {
        b.goto(&format!("{}{path}", app.base)).await;
        assert!(b.url().await.ends_with(&path), "{path}: {}", b.url().await);
        b.screenshot(name).await;
        b.assert_accessible(&path).await;
    }
    b.quit().await;
    app.stop().await;
}
