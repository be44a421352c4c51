//! The main path of a case in a real browser (headless Chromium over WebDriver), on both stores
//! (issue 15, "How it is tested"): a caseworker signs in, acknowledges the undertaking, registers
//! an application (a validation error first, shown next to its field), records consent and the
//! interview and requests verification; a second caseworker's session records the reply; the
//! first, still on the page rendered before it, sends the same reply and gets the stale-version
//! page, which says what happened since and keeps what they typed; the file is submitted; an
//! officer of the deciding authority signs in, finds it in the inbox and grants the status; the
//! caseworker records the hand-over and prints the registration card. Screenshots of each main
//! page go to `target/screenshots/`; axe-core checks the sign-in page, the work queue, the
//! registration form, the case page and the history.
//!
//! Then, on one store: an action the role may not do is not offered and is refused when posted
//! anyway; a personal-data reveal is in the case's access log; sign-out ends the session and the
//! back button shows nothing; a throttled sign-in says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ptl_api::i18n::{self, Lang};
use ptl_domain::Role;
use ptl_tests::browser::Browser;
use ptl_tests::web::add_user;
use ptl_tests::{Store, TestApp};

const PW: &str = "рушник-над-Россю-7";
const DAY: &str = "2026-03-02";
const NAME: &str = "Мар'яна Коваль";

async fn sign_in(b: &Browser, base: &str, login: &str) {
    b.goto(&format!("{base}/sign-in")).await;
    b.fill_and_submit("sign-in", &[("login", login), ("password", PW)])
        .await;
    if b.url().await.ends_with("/undertaking") {
        b.submit("acknowledge").await;
    }
}

/// Submits the action form `action` with `fields` and expects the confirmation.
async fn act(b: &Browser, action: &str, fields: &[(&str, &str)]) {
    eprintln!("action {action}");
    b.fill_and_submit(action, fields).await;
    assert!(
        b.alerts().await.is_empty(),
        "{action}: {:?} on {}",
        b.alerts().await,
        b.url().await
    );
    assert!(!b.statuses().await.is_empty(), "{action}: no confirmation");
}

async fn case_id(b: &Browser) -> String {
    b.find("main[data-case-id]")
        .await
        .attr("data-case-id")
        .await
        .unwrap()
        .unwrap()
}

async fn version(b: &Browser) -> String {
    b.find("main[data-case-id]")
        .await
        .attr("data-version")
        .await
        .unwrap()
        .unwrap()
}

struct Run {
    app: TestApp,
    case: String,
    olena: Browser,
}

async fn main_path(store: Store, tag: &str) -> Run {
    let app = TestApp::spawn(store).await;
    let base = app.base.clone();
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    add_user(&app, "petro", "caseworker", "UA7102", PW).await;
    add_user(&app, "andrii", "decision_officer", "UA-NSS", PW).await;
    let shot = |name: &str| format!("{tag}-{name}");

    // Sign-in and the undertaking.
    let a = Browser::start().await;
    a.goto(&format!("{base}/sign-in")).await;
    a.screenshot(&shot("sign-in")).await;
    a.assert_accessible("the sign-in page").await;
    a.fill_and_submit("sign-in", &[("login", "olena"), ("password", PW)])
        .await;
    assert!(a.url().await.ends_with("/undertaking"), "{}", a.url().await);
    a.screenshot(&shot("undertaking")).await;
    a.submit("acknowledge").await;
    assert!(a.exists("html[lang=\"uk\"]").await);

    // Registration: a birth year that does not match the birth date is shown next to its field.
    eprintln!("registration");
    a.goto(&format!("{base}/cases/new")).await;
    eprintln!("axe on the registration form");
    a.assert_accessible("the registration form").await;
    let fields = vec![
        ("received_on", DAY),
        ("office", "UA7102"),
        ("filed_by", "self"),
        ("person.full_name", NAME),
        ("person.birth_date", "1990-04-02"),
        ("applicant.sex", "female"),
        ("applicant.birth_year", "1991"),
        ("applicant.citizenship", "ukrainian"),
        ("applicant.speaks_ukrainian_or_russian", "true"),
        ("applicant.interpreter_used", "false"),
        ("referral.source", "hotline"),
        ("referral.organisation", "Гаряча лінія 527"),
        ("referral.referred_on", DAY),
        ("exploitation.forms", "labour"),
        ("exploitation.country", "PL"),
        ("documents[0].kind", "identity_document"),
        ("documents[0].note", "копія паспорта"),
        ("rights_explained", "true"),
    ];
    eprintln!("fill the registration");
    a.fill("register", &fields).await;
    let invalid = a
        .driver
        .execute(
            "return Array.from(document.querySelectorAll('form[data-form=register] :invalid')).map(e => e.name + '=' + e.value)",
            Vec::<serde_json::Value>::new(),
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(
        invalid,
        serde_json::json!([]),
        "the browser's own checks pass"
    );
    a.submit("register").await;
    eprintln!("submitted");
    assert!(!a.alerts().await.is_empty(), "the refusal is announced");
    let error = a.find("#applicant_birth_year[aria-invalid=\"true\"]").await;
    let described = error.attr("aria-describedby").await.unwrap().unwrap();
    let next_to_it = a
        .texts(&format!(
            ".field-error[id=\"{}\"], [id=\"{}\"].field-error",
            described.split(' ').next().unwrap(),
            described.split(' ').next_back().unwrap()
        ))
        .await;
    assert!(
        !next_to_it.is_empty(),
        "the error next to the field ({described})"
    );
    a.screenshot(&shot("registration-error")).await;
    // Corrected: the duplicate check (none) and then save.
    a.fill_and_submit("register", &[("applicant.birth_year", "1990")])
        .await;
    assert!(
        a.exists("[data-duplicates=\"0\"]").await,
        "{}",
        a.url().await
    );
    a.submit("register").await;
    let case = case_id(&a).await;
    a.screenshot(&shot("case-registered")).await;

    // Consent, interview, verification request.
    act(
        &a,
        "record-consent",
        &[
            ("occurred_on", DAY),
            ("scope", "status_procedure"),
            ("given_by", "person"),
        ],
    )
    .await;
    act(
        &a,
        "record-consent",
        &[
            ("occurred_on", DAY),
            ("scope", "share_with_police"),
            ("given_by", "person"),
        ],
    )
    .await;
    act(
        &a,
        "record-interview",
        &[
            ("occurred_on", DAY),
            ("consent_signed_by", "person"),
            ("non_disclosure_receipt_signed", "true"),
        ],
    )
    .await;
    act(
        &a,
        "request-verification",
        &[("occurred_on", DAY), ("to", "national_police")],
    )
    .await;
    a.screenshot(&shot("case-page")).await;
    a.assert_accessible("the case page").await;
    let seen = version(&a).await;

    // A second caseworker records the reply.
    let b = Browser::start().await;
    sign_in(&b, &base, "petro").await;
    b.goto(&format!("{base}/cases/{case}")).await;
    act(
        &b,
        "record-verification-reply",
        &[
            ("occurred_on", DAY),
            ("request_id", "vr-1"),
            ("outcome", "confirms"),
        ],
    )
    .await;
    b.quit().await;

    // The first, on the page rendered before, sends the same reply: the stale-version page.
    assert_eq!(version(&a).await, seen);
    a.fill_and_submit(
        "record-verification-reply",
        &[
            ("occurred_on", DAY),
            ("request_id", "vr-1"),
            ("outcome", "does_not_confirm"),
        ],
    )
    .await;
    let alerts = a.alerts().await.join(" ");
    assert!(!alerts.is_empty(), "the stale-version notice");
    let page = a.text().await;
    let reply = i18n::t(Lang::Uk, "event-verification_reply_recorded");
    assert!(
        page.contains(&reply),
        "what happened since ({reply}) in:\n{page}"
    );
    // What was typed is kept, in words (the reply's outcome by its label, the date as written).
    let kept = i18n::enum_label(Lang::Uk, "reply_outcome", "does_not_confirm");
    assert!(page.contains(&kept), "what was typed ({kept}) in:\n{page}");
    assert!(
        !page.contains("does_not_confirm") && !page.contains("2026-03-02"),
        "no code shown:\n{page}"
    );
    a.screenshot(&shot("stale-version")).await;
    assert_ne!(version(&a).await, seen, "the page is at the new version");

    // The file is submitted.
    a.goto(&format!("{base}/cases/{case}")).await;
    act(
        &a,
        "submit-file",
        &[("occurred_on", DAY), ("conclusion", "recommend_grant")],
    )
    .await;

    // The officer finds it in the inbox and grants the status.
    let c = Browser::start().await;
    sign_in(&c, &base, "andrii").await;
    c.goto(&format!("{base}/inbox")).await;
    c.screenshot(&shot("inbox")).await;
    let row = c.find(&format!("[data-case-id=\"{case}\"] a")).await;
    c.click_and_wait(&row).await;
    assert_eq!(case_id(&c).await, case);
    act(
        &c,
        "record-decision",
        &[
            ("occurred_on", DAY),
            ("outcome", "granted"),
            ("certificate_no", "NSS-2026-0042"),
        ],
    )
    .await;
    c.screenshot(&shot("decision")).await;
    c.quit().await;

    // The caseworker records the hand-over and prints the registration card.
    a.goto(&format!("{base}/cases/{case}")).await;
    act(&a, "hand-over-decision", &[("occurred_on", DAY)]).await;
    let granted = i18n::t(Lang::Uk, "status-granted");
    assert!(
        a.text().await.contains(&granted),
        "status in words: {granted}"
    );
    a.goto(&format!("{base}/cases/{case}/print/card")).await;
    let card = a.text().await;
    assert!(
        card.contains("UA7102-2026-"),
        "the register number on the card:\n{card}"
    );
    a.screenshot(&shot("registration-card")).await;
    a.goto(&format!("{base}/cases/{case}/history")).await;
    a.assert_accessible("the history").await;
    a.screenshot(&shot("history")).await;
    a.goto(&format!("{base}/")).await;
    assert!(
        a.exists(&format!("[data-case-id=\"{case}\"]")).await,
        "the case in the work queue"
    );
    a.assert_accessible("the work queue").await;
    a.screenshot(&shot("work-queue")).await;

    Run {
        app,
        case,
        olena: a,
    }
}

#[tokio::test]
async fn the_main_path_in_the_browser_on_sqlite() {
    let run = main_path(Store::Sqlite, "sqlite").await;
    let Run {
        app,
        case,
        olena: a,
    } = run;
    let base = app.base.clone();

    // An action the caseworker may not do (the decision) is not offered ...
    a.goto(&format!("{base}/cases/{case}")).await;
    assert!(!a.exists("form[data-action=\"record-decision\"]").await);
    // ... and is refused when posted anyway with the session's own cookie and token.
    let cookie = a.driver.get_named_cookie("ptl_session").await.unwrap();
    let source = a.source().await;
    let token = source
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let before = version(&a).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/cases/{case}/actions/record-decision"))
        .header("cookie", format!("ptl_session={}", cookie.value))
        .form(&[
            ("csrf_token", token.as_str()),
            ("idempotency_key", "forged-decision-1"),
            ("version", before.as_str()),
            ("occurred_on", DAY),
            ("outcome", "refused"),
        ])
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 403 | 409), "{}", r.status());
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
    a.goto(&format!("{base}/cases/{case}")).await;
    assert_eq!(version(&a).await, before, "nothing written");

    // A personal-data reveal asks for a purpose and a reason and lands in the access log.
    assert!(!a.text().await.contains(NAME), "hidden until asked");
    a.fill_and_submit(
        "reveal-person",
        &[("purpose", "case_work"), ("reason", "дзвінок заявниці")],
    )
    .await;
    assert!(a.text().await.contains(NAME), "shown for this page view");
    a.screenshot("sqlite-personal-data").await;
    let auditor = app.token("aud-1", Role::Auditor, "UA71");
    let log = app
        .get(&format!("/api/v1/cases/{case}/access-log"), &auditor)
        .await;
    let entries = log.body["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e.to_string().contains("дзвінок заявниці")),
        "the reveal with its reason in the access log: {}",
        log.body
    );

    // Sign-out ends the session; the back button shows nothing of the case (pages are never
    // stored, so going back asks the server again, which sends to the sign-in page) and nothing
    // of the person (the reveal was a form's answer, which the browser does not show again).
    a.goto(&format!("{base}/cases/{case}")).await;
    let out = a.find("form[data-form=\"sign-out\"] button").await;
    a.click_and_wait(&out).await;
    a.driver.back().await.unwrap();
    a.wait_loaded().await;
    assert!(a.url().await.ends_with("/sign-in"), "{}", a.url().await);
    assert!(!a.text().await.contains("UA7102-2026-"));
    a.driver.back().await.unwrap();
    a.wait_loaded().await;
    let shown = a.text().await;
    assert!(
        !shown.contains(NAME) && !shown.contains("UA7102-2026-"),
        "{shown}"
    );
    a.goto(&format!("{base}/cases/{case}")).await;
    assert!(a.url().await.ends_with("/sign-in"));

    // A throttled sign-in says so.
    for _ in 0..5 {
        a.goto(&format!("{base}/sign-in")).await;
        a.fill_and_submit(
            "sign-in",
            &[("login", "olena"), ("password", "не той пароль 123")],
        )
        .await;
    }
    a.goto(&format!("{base}/sign-in")).await;
    a.fill_and_submit("sign-in", &[("login", "olena"), ("password", PW)])
        .await;
    let alerts = a.alerts().await.join(" ");
    assert!(
        alerts.contains("15"),
        "the lock and its length in words: {alerts}"
    );
    a.screenshot("sqlite-throttled").await;
    a.quit().await;
}

#[tokio::test]
async fn the_main_path_in_the_browser_on_postgres() {
    let run = main_path(Store::Postgres, "postgres").await;
    run.olena.quit().await;
}
