//! The web application's list pages over HTTP (`web.md` pages 1, 2, 6, 7, 8, 9): the work queue
//! (views and their counts, filters, paging, CSV with formula cells escaped) against cases made
//! over REST; registration in two steps (a field error next to its field, the possible duplicate
//! shown before saving, saving once under the form's idempotency key); the person search (a
//! reason required, access-log entries written); the deciding authority's inbox; the social
//! worker's view; the dashboard; the home page of each role; and no personal data in any URL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ptl_api::web::password;
use ptl_domain::Role;
use ptl_engine::accounts::NewUser;
use ptl_engine::security::SecurityEntry;
use ptl_tests::web::{add_user, Page, WebClient};
use ptl_tests::{application, Store, TestApp};
use serde_json::{json, Value};

const PW: &str = "рушник-над-Россю-7";
const DAY: &str = "2026-03-02";
const NAME: &str = "Марʼяна Коваль";
const BIRTH: &str = "1990-04-02";

fn unescape(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#38;", "&")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the attribute `attr` right after the first occurrence of `marker`.
fn attr_after(body: &str, marker: &str, attr: &str) -> Option<String> {
    let start = body.find(marker)?;
    let rest = &body[start..];
    let needle = format!("{attr}=\"");
    let a = rest.find(&needle)? + needle.len();
    let b = rest[a..].find('"')? + a;
    Some(unescape(&rest[a..b]))
}

/// The count a view shows.
fn count(page: &Page, view: &str) -> usize {
    attr_after(&page.body, &format!("data-view=\"{view}\""), "data-count")
        .unwrap_or_else(|| panic!("no view {view}"))
        .parse()
        .unwrap()
}

/// The case ids of the rows of a page.
fn case_ids(page: &Page) -> Vec<String> {
    page.body
        .match_indices("data-case-id=\"")
        .map(|(i, m)| {
            let rest = &page.body[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// Every hidden input of the form marked `marker` (name, value), in order.
fn hidden_inputs(body: &str, marker: &str) -> Vec<(String, String)> {
    let start = body.find(marker).expect("the form");
    let form = &body[start..start + body[start..].find("</form>").unwrap()];
    let mut out = Vec::new();
    for (i, _) in form.match_indices("<input type=\"hidden\" name=\"") {
        let tag = &form[i..i + form[i..].find('>').unwrap()];
        let name = attr_after(tag, "name=", "name").unwrap();
        let value = attr_after(tag, "value=", "value").unwrap();
        out.push((name, value));
    }
    out
}

/// Every `href`, `action` and `src` of a page: no personal data may be in them.
fn urls(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "action=\"", "src=\""] {
        for (i, m) in body.match_indices(attr) {
            let rest = &body[i + m.len()..];
            out.push(unescape(&rest[..rest.find('"').unwrap()]));
        }
    }
    out
}

/// Every code shown has its label: no catalogue key is printed in its place.
fn assert_labelled(page: &Page) {
    for family in [
        "stage-",
        "status-",
        "enum-",
        "field-",
        "figure-",
        "deadline-",
        "role-",
        "web-",
    ] {
        for open in [">", "> ", "\">"] {
            let needle = format!("{open}{family}");
            assert!(
                !page.body.contains(&needle),
                "a key instead of a label ({needle}): {}",
                &page.body[page.body.find(&needle).unwrap()..]
                    [..80.min(page.body.len() - page.body.find(&needle).unwrap())]
            );
        }
    }
}

fn assert_no_personal_data_in_urls(page: &Page) {
    assert_labelled(page);
    for url in urls(&page.body) {
        // The phone number as a URL could carry it (not its digits alone: a case id may hold
        // "380").
        for needle in [
            "Коваль",
            "%D0%9A",
            "1990-04-02",
            "FE123456",
            "+380",
            "%2B380",
            "000%200000",
            "000+0000",
        ] {
            assert!(!url.contains(needle), "personal data in {url}");
        }
    }
}

/// A caseworker's REST token acting as the web user `user_id`.
fn token_as(app: &TestApp, user_id: &str, role: Role, office: &str) -> String {
    app.token(user_id, role, office)
}

async fn count_rest(app: &TestApp, token: &str, query: &str) -> usize {
    let r = app
        .get(&format!("/api/v1/cases?{query}&limit=200"), token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().len()
}

async fn assign(app: &TestApp, id: &str, etag: &str, to: &str, office: &str) -> String {
    let sv = app.token("sv-assign", Role::Supervisor, office);
    let r = app
        .act(
            &sv,
            id,
            "assign",
            etag,
            &json!({"occurred_on": DAY, "assignee": to}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.etag()
}

async fn submit(app: &TestApp, cw: &str, id: &str, etag: &str) -> String {
    let mut etag = etag.to_string();
    for (action, body) in [
        (
            "record-consent",
            json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"}),
        ),
        (
            "record-interview",
            json!({"occurred_on": DAY, "consent_signed_by": "person", "non_disclosure_receipt_signed": true}),
        ),
        (
            "submit-file",
            json!({"occurred_on": DAY, "conclusion": "recommend_grant"}),
        ),
    ] {
        let r = app.act(cw, id, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }
    etag
}

/// A user whose display name a spreadsheet would run as a formula.
async fn formula_user(app: &TestApp) -> String {
    app.state
        .app
        .engine
        .add_user(
            NewUser {
                login: "formula".to_string(),
                display_name: "=cmd|' /C calc'!A0".to_string(),
                role: "caseworker".to_string(),
                office: "UA7102".to_string(),
                password_hash: Some(password::hash(PW).unwrap()),
                must_change_password: false,
                sso: false,
            },
            SecurityEntry::new("user_added", Some("test"), None),
        )
        .await
        .unwrap()
        .id
}

async fn the_queue_counts_filters_pages_and_downloads(store: Store) {
    let app = TestApp::spawn(store).await;
    let olena = add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    add_user(&app, "petro", "supervisor", "UA71", PW).await;
    let formula = formula_user(&app).await;
    let cw = token_as(&app, &olena.id, Role::Caseworker, "UA7102");
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");

    // A (Olena's), B (the formula user's), C (submitted) at UA7102; D at UA7104.
    let (a, ea) = app.register(&cw, &application("UA7102", DAY)).await;
    assign(&app, &a, &ea, &olena.id, "UA7102").await;
    let (b, eb) = app.register(&cw, &application("UA7102", DAY)).await;
    assign(&app, &b, &eb, &formula, "UA7102").await;
    let (c, ec) = app.register(&cw, &application("UA7102", DAY)).await;
    submit(&app, &cw, &c, &ec).await;
    let (d, _) = app.register(&cw4, &application("UA7104", DAY)).await;

    let mut web = WebClient::new(&app);
    web.sign_in_fully("olena", PW).await;
    let home = web.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("<html lang=\"uk\">"));
    let mut ids = case_ids(&home);
    ids.sort();
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(ids, expected, "the open cases of the scope, not UA7104's");
    assert!(home.body.contains(&format!("href=\"/cases/{a}\"")));
    assert_eq!(count(&home, "open"), 3);
    assert_eq!(count(&home, "mine"), 1);
    assert_eq!(count(&home, "unassigned"), 1);
    assert_eq!(count(&home, "submitted"), 1);
    assert_eq!(count(&home, "returned"), 0);
    assert_eq!(count(&home, "closed"), 0);
    assert_eq!(
        count(&home, "overdue"),
        count_rest(&app, &cw, "overdue=true").await
    );
    assert_eq!(
        count(&home, "upcoming"),
        count_rest(&app, &cw, "upcoming=true").await
    );
    // Names, not ids or codes: the assignee's display name, the office's name.
    assert!(home.body.contains("User olena"));
    assert!(!home.body.contains(&format!(">{}<", olena.id)));
    assert!(!home.body.contains(">UA7102<"));
    assert_no_personal_data_in_urls(&home);

    // Views and filters (query parameters of codes and ids only).
    let mine = web.get("/?view=mine").await;
    assert_eq!(case_ids(&mine), vec![a.clone()]);
    let submitted = web.get("/?view=submitted").await;
    assert_eq!(case_ids(&submitted), vec![c.clone()]);
    let by_stage = web.get("/?view=open&stage=submitted").await;
    assert_eq!(case_ids(&by_stage), vec![c.clone()]);
    let by_assignee = web.get(&format!("/?assignee={formula}")).await;
    assert_eq!(case_ids(&by_assignee), vec![b.clone()]);
    let outside = web.get("/?office=UA7104").await;
    assert_eq!(outside.status, 200);
    assert!(outside.body.contains("role=\"alert\""));
    assert!(!case_ids(&outside).contains(&d));

    // Overdue: a month later every interview deadline has passed; the badge says so in words.
    app.clock.advance(chrono::Duration::days(60));
    web.sign_in_fully("olena", PW).await;
    let later = web.get("/?view=overdue").await;
    let overdue_rest = count_rest(&app, &cw, "overdue=true").await;
    assert!(overdue_rest > 0);
    assert_eq!(count(&later, "overdue"), overdue_rest);
    assert_eq!(case_ids(&later).len(), overdue_rest);
    assert!(later.body.contains("class=\"badge overdue\">прострочено<"));

    // The CSV of the current view: the formula cell escaped.
    let csv = web.get("/queue.csv?view=open").await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.body.contains("'=cmd|' /C calc'!A0"), "{}", csv.body);
    assert!(!csv.body.contains(",=cmd"), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 1 + 3, "{}", csv.body);
    assert!(csv.body.contains("User olena"));

    // In English on the user's choice: the same view, English words, English dates.
    web.cookies.insert("ptl_lang".to_string(), "en".to_string());
    let english = web.get("/?view=overdue").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("class=\"badge overdue\">overdue<"));
    assert_eq!(case_ids(&english).len(), overdue_rest);
    assert_labelled(&english);
    web.cookies.remove("ptl_lang");

    // A supervisor of the region filters by district.
    let mut sv = WebClient::new(&app);
    sv.sign_in_fully("petro", PW).await;
    let region = sv.get("/").await;
    assert_eq!(count(&region, "open"), 4);
    assert!(region.body.contains("name=\"office\""));
    let district = sv.get("/?office=UA7104").await;
    assert_eq!(case_ids(&district), vec![d.clone()]);
}

#[tokio::test]
async fn the_queue_counts_filters_pages_and_downloads_sqlite() {
    the_queue_counts_filters_pages_and_downloads(Store::Sqlite).await;
}

#[tokio::test]
async fn the_queue_counts_filters_pages_and_downloads_postgres() {
    the_queue_counts_filters_pages_and_downloads(Store::Postgres).await;
}

#[tokio::test]
async fn the_queue_pages_by_fifty() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let mut all = Vec::new();
    for _ in 0..52 {
        all.push(app.register(&cw, &application("UA7102", DAY)).await.0);
    }
    let mut web = WebClient::new(&app);
    web.sign_in_fully("olena", PW).await;
    let first = web.get("/").await;
    assert_eq!(count(&first, "open"), 52);
    let one = case_ids(&first);
    assert_eq!(one.len(), 50);
    let next = {
        let i = first.body.find("rel=\"next\"").expect("a next page");
        let before = &first.body[..i];
        let h = before.rfind("href=\"").unwrap() + 6;
        unescape(&before[h..h + before[h..].find('"').unwrap()])
    };
    assert!(next.starts_with("/?") && next.contains("page=2"), "{next}");
    let second = web.get(&next).await;
    let two = case_ids(&second);
    assert_eq!(two.len(), 2);
    let mut seen: Vec<String> = one.into_iter().chain(two).collect();
    seen.sort();
    all.sort();
    assert_eq!(seen, all, "every case once over the two pages");
    assert_eq!(web.get("/queue.csv").await.body.lines().count(), 53);
}

fn registration_form(csrf: &str, key: &str) -> Vec<(String, String)> {
    [
        ("csrf_token", csrf),
        ("idempotency_key", key),
        ("received_on", DAY),
        ("office", "UA7102"),
        ("filed_by", "self"),
        ("person.full_name", NAME),
        ("person.birth_date", BIRTH),
        ("person.contacts", "+380 67 000 0000"),
        ("person.id_document", "FE123456"),
        ("applicant.sex", "female"),
        ("applicant.birth_year", "1990"),
        ("applicant.citizenship", "ukrainian"),
        ("applicant.speaks_ukrainian_or_russian", "true"),
        ("applicant.interpreter_used", "false"),
        ("referral.source", "hotline"),
        ("referral.organisation", "La Strada hotline 527"),
        ("referral.referred_on", DAY),
        ("exploitation.forms", "labour"),
        ("exploitation.country", "PL"),
        ("documents[0].kind", "identity_document"),
        ("documents[0].note", "passport copy"),
        ("documents[1].kind", ""),
        ("documents[1].note", ""),
        ("rights_explained", "true"),
        ("step", "check"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
    .collect()
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

async fn access_log(app: &TestApp, id: &str, office: &str) -> Vec<Value> {
    let sv = app.token("sv-log", Role::Supervisor, office);
    let r = app
        .get(&format!("/api/v1/cases/{id}/access-log"), &sv)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["entries"].as_array().unwrap().clone()
}

async fn registration_checks_for_duplicates_before_saving(store: Store) {
    let app = TestApp::spawn(store).await;
    let olena = add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    let cw = token_as(&app, &olena.id, Role::Caseworker, "UA7102");
    let mut web = WebClient::new(&app);
    web.sign_in_fully("olena", PW).await;

    let form = web.get("/cases/new").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("data-form=\"register\""));
    for name in [
        "received_on",
        "office",
        "filed_by",
        "applicant.sex",
        "applicant.birth_year",
        "applicant.citizenship",
        "applicant.speaks_ukrainian_or_russian",
        "applicant.interpreter_used",
        "referral.source",
        "referral.organisation",
        "referral.referred_on",
        "exploitation.forms",
        "exploitation.country",
        "documents[0].kind",
        "documents[0].note",
        "rights_explained",
        "person.full_name",
        "person.birth_date",
        "person.contacts",
        "person.id_document",
        "id_document_missing_reason",
    ] {
        assert!(
            form.body.contains(&format!("name=\"{name}\"")),
            "no field {name}"
        );
    }
    let csrf = form.hidden("csrf_token").unwrap();
    let key = form.hidden("idempotency_key").unwrap();
    assert!(!key.is_empty());
    assert_no_personal_data_in_urls(&form);

    // Without a form of exploitation: the error next to its field, a summary in an alert, nothing
    // searched or saved, and what was typed kept.
    let mut values = registration_form(&csrf, &key);
    values.retain(|(k, _)| k != "exploitation.forms");
    let r = web.post("/cases/new", &pairs(&values)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    assert!(
        r.body.contains("id=\"exploitation_forms-error\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("href=\"#exploitation_forms\""));
    assert!(r.body.contains(&format!("value=\"{NAME}\"")));
    assert_eq!(count_rest(&app, &cw, "").await, 0);

    // The check: no other case, the values carried in hidden inputs, nothing saved yet.
    let values = registration_form(&csrf, &key);
    let check = web.post("/cases/new", &pairs(&values)).await;
    assert_eq!(check.status, 200, "{}", check.body);
    assert!(check.body.contains("data-duplicates=\"0\""));
    assert_eq!(count_rest(&app, &cw, "").await, 0);
    let carried = hidden_inputs(&check.body, "data-form=\"register\"");
    assert!(carried.contains(&("person.full_name".to_string(), NAME.to_string())));
    assert!(carried.contains(&("idempotency_key".to_string(), key.clone())));
    assert_no_personal_data_in_urls(&check);

    // Save: 303 to the case; the same form again records nothing new.
    let mut save = carried.clone();
    save.push(("step".to_string(), "save".to_string()));
    let saved = web.post("/cases/new", &pairs(&save)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let location = saved.location().unwrap().to_string();
    let first = location.strip_prefix("/cases/").unwrap().to_string();
    let r = app.get(&format!("/api/v1/cases/{first}"), &cw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let again = web.post("/cases/new", &pairs(&save)).await;
    assert_eq!(again.location(), Some(location.as_str()));
    assert_eq!(count_rest(&app, &cw, "").await, 1);

    // The same person at another district, over REST.
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");
    let mut elsewhere = application("UA7104", DAY);
    elsewhere["person"]["full_name"] = json!(NAME);
    app.register(&cw4, &elsewhere).await;

    // A second registration of the same person shows the possible duplicates before saving: the
    // case in scope as a link, the other district's as a count.
    let form = web.get("/cases/new").await;
    let key2 = form.hidden("idempotency_key").unwrap();
    assert_ne!(key2, key);
    let check = web
        .post("/cases/new", &pairs(&registration_form(&csrf, &key2)))
        .await;
    assert_eq!(check.status, 200, "{}", check.body);
    assert!(
        check.body.contains("data-duplicates=\"2\""),
        "{}",
        check.body
    );
    assert_eq!(case_ids(&check), vec![first.clone()]);
    assert!(check.body.contains(&format!("href=\"/cases/{first}\"")));
    assert!(check.body.contains("data-elsewhere=\"1\""));
    assert_eq!(
        count_rest(&app, &cw, "").await,
        1,
        "nothing saved by the check"
    );
    // The check is a person search with the reason "registration", in the case's access log.
    let log = access_log(&app, &first, "UA7102").await;
    assert!(
        log.iter().any(|e| e["sub"] == olena.id.as_str()
            && e["reason"]
                .as_str()
                .unwrap_or("")
                .contains("реєстрація заяви")),
        "{log:?}"
    );
    // The user stops: nothing more is saved.
    assert!(check.body.contains("href=\"/\""));
    assert_eq!(count_rest(&app, &cw, "").await, 1);

    // A child filing alone: the domain's refusal at saving, next to `filed_by`.
    let form = web.get("/cases/new").await;
    let key3 = form.hidden("idempotency_key").unwrap();
    let mut child = registration_form(&csrf, &key3);
    for (k, v) in &mut child {
        match k.as_str() {
            "person.full_name" => *v = "Іван Дитина".to_string(),
            "person.birth_date" => *v = "2015-05-05".to_string(),
            "applicant.birth_year" => *v = "2015".to_string(),
            "step" => *v = "save".to_string(),
            _ => {}
        }
    }
    let r = web.post("/cases/new", &pairs(&child)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("id=\"filed_by-error\""), "{}", r.body);
    assert_eq!(count_rest(&app, &cw, "").await, 1);

    // Without the CSRF token: refused, nothing saved.
    let mut forged = save.clone();
    forged.retain(|(k, _)| k != "csrf_token");
    assert_eq!(web.post("/cases/new", &pairs(&forged)).await.status, 403);
}

#[tokio::test]
async fn registration_checks_for_duplicates_before_saving_sqlite() {
    registration_checks_for_duplicates_before_saving(Store::Sqlite).await;
}

#[tokio::test]
async fn registration_checks_for_duplicates_before_saving_postgres() {
    registration_checks_for_duplicates_before_saving(Store::Postgres).await;
}

async fn person_search_needs_a_reason_and_is_logged(store: Store) {
    let app = TestApp::spawn(store).await;
    let olena = add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    add_user(&app, "ira", "auditor", "UA", PW).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let cw4 = app.token("cw-4", Role::Caseworker, "UA7104");
    let (a, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let (b, _) = app.register(&cw4, &application("UA7104", DAY)).await;
    let before_a = access_log(&app, &a, "UA7102").await.len();
    let before_b = access_log(&app, &b, "UA7104").await.len();

    let mut web = WebClient::new(&app);
    web.sign_in_fully("olena", PW).await;
    let page = web.get("/person-search").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("data-form=\"person-search\" method=\"post\""));
    let csrf = page.hidden("csrf_token").unwrap();

    // No reason: refused next to the field; nothing logged.
    let r = web
        .post(
            "/person-search",
            &[
                ("csrf_token", &csrf),
                ("full_name", NAME),
                ("birth_date", BIRTH),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    assert!(r.body.contains("id=\"reason-error\""));
    assert!(case_ids(&r).is_empty());
    assert_eq!(access_log(&app, &a, "UA7102").await.len(), before_a);

    // With a reason: the case in scope as a row, the other district's as a count; both logged.
    let r = web
        .post(
            "/person-search",
            &[
                ("csrf_token", &csrf),
                ("full_name", NAME),
                ("birth_date", BIRTH),
                ("reason", "звернення особи на гарячу лінію"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(case_ids(&r), vec![a.clone()]);
    assert!(r.body.contains("data-elsewhere=\"1\""));
    assert!(!r.body.contains(&b));
    assert_no_personal_data_in_urls(&r);
    let log = access_log(&app, &a, "UA7102").await;
    assert_eq!(log.len(), before_a + 1);
    let last = log.last().unwrap();
    assert_eq!(last["sub"], olena.id.as_str());
    assert_eq!(last["reason"], "звернення особи на гарячу лінію");
    assert_eq!(access_log(&app, &b, "UA7104").await.len(), before_b + 1);

    // Without the CSRF token: refused, nothing logged.
    let r = web
        .post(
            "/person-search",
            &[("full_name", NAME), ("birth_date", BIRTH), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(access_log(&app, &a, "UA7102").await.len(), before_a + 1);

    // An auditor does not search persons (the application layer says so).
    let mut auditor = WebClient::new(&app);
    auditor.sign_in_fully("ira", PW).await;
    let page = auditor.get("/person-search").await;
    let csrf = page.hidden("csrf_token").unwrap();
    let r = auditor
        .post(
            "/person-search",
            &[
                ("csrf_token", &csrf),
                ("full_name", NAME),
                ("birth_date", BIRTH),
                ("reason", "audit"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(case_ids(&r).is_empty());
    assert_eq!(access_log(&app, &a, "UA7102").await.len(), before_a + 1);
}

#[tokio::test]
async fn person_search_needs_a_reason_and_is_logged_sqlite() {
    person_search_needs_a_reason_and_is_logged(Store::Sqlite).await;
}

#[tokio::test]
async fn person_search_needs_a_reason_and_is_logged_postgres() {
    person_search_needs_a_reason_and_is_logged(Store::Postgres).await;
}

async fn inbox_social_and_dashboard_by_role(store: Store) {
    let app = TestApp::spawn(store).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    add_user(&app, "oksana", "decision_officer", "UA-NSS", PW).await;
    add_user(&app, "marta", "social_worker", "UA7102", PW).await;
    add_user(&app, "petro", "supervisor", "UA71", PW).await;
    add_user(&app, "ira", "auditor", "UA", PW).await;
    add_user(&app, "adam", "admin", "UA", PW).await;
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");

    // A submitted file, and a case referred to social services.
    let (submitted, es) = app.register(&cw, &application("UA7102", DAY)).await;
    submit(&app, &cw, &submitted, &es).await;
    let (referred, mut etag) = app.register(&cw, &application("UA7102", DAY)).await;
    for (action, body) in [
        (
            "record-consent",
            json!({"occurred_on": DAY, "scope": "share_with_social_services", "given_by": "person"}),
        ),
        (
            "refer-to-social-services",
            json!({"occurred_on": DAY, "centre": "Zvenyhorodka centre of social services"}),
        ),
    ] {
        let r = app.act(&cw, &referred, action, &etag, &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        etag = r.etag();
    }

    // The home page of each role.
    for (login, home) in [
        ("oksana", Some("/inbox")),
        ("marta", Some("/social")),
        ("ira", Some("/statistics")),
        ("olena", None),
        ("petro", None),
        ("adam", None),
    ] {
        let mut web = WebClient::new(&app);
        web.sign_in_fully(login, PW).await;
        let r = web.get("/").await;
        match home {
            Some(to) => {
                assert_eq!(r.status, 303, "{login}");
                assert_eq!(r.location(), Some(to), "{login}");
            }
            None => assert_eq!(r.status, 200, "{login}: {}", r.body),
        }
    }

    // The inbox: the officer sees the submitted file with its decision due date; a caseworker
    // does not have the page.
    let mut officer = WebClient::new(&app);
    officer.sign_in_fully("oksana", PW).await;
    let inbox = officer.get("/inbox").await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    assert_eq!(case_ids(&inbox), vec![submitted.clone()]);
    assert!(inbox.body.contains(&format!("href=\"/cases/{submitted}\"")));
    assert!(inbox.body.contains("class=\"badge "));
    let mut olena = WebClient::new(&app);
    olena.sign_in_fully("olena", PW).await;
    let refused = olena.get("/inbox").await;
    assert_eq!(refused.status, 403);
    assert!(case_ids(&refused).is_empty());
    assert!(refused.body.contains("role=\"alert\""));

    // The social worker: the referred case's needs assessment is due.
    let mut marta = WebClient::new(&app);
    marta.sign_in_fully("marta", PW).await;
    let social = marta.get("/social").await;
    assert_eq!(social.status, 200, "{}", social.body);
    let needs = &social.body[social.body.find("data-section=\"needs\"").unwrap()
        ..social.body.find("data-section=\"plans\"").unwrap()];
    assert!(
        needs.contains(&format!("data-case-id=\"{referred}\"")),
        "{}",
        social.body
    );
    assert!(!social
        .body
        .contains(&format!("data-case-id=\"{submitted}\"")));
    assert_eq!(olena.get("/social").await.status, 403);

    // The dashboard: the REST figures, with labels.
    let mut petro = WebClient::new(&app);
    petro.sign_in_fully("petro", PW).await;
    let dash = petro.get("/statistics").await;
    assert_eq!(dash.status, 200, "{}", dash.body);
    let sv = app.token("sv-1", Role::Supervisor, "UA71");
    let rest = app.get("/api/v1/stats", &sv).await;
    for figure in ["applications", "files_submitted", "open_cases"] {
        let shown = attr_after(
            &dash.body,
            &format!("data-figure=\"{figure}\""),
            "data-figure",
        )
        .unwrap();
        assert_eq!(shown, figure);
        let i = dash
            .body
            .find(&format!("data-figure=\"{figure}\">"))
            .unwrap()
            + format!("data-figure=\"{figure}\">").len();
        let value = &dash.body[i..i + dash.body[i..].find('<').unwrap()];
        assert_eq!(value, rest.body["totals"][figure].to_string(), "{figure}");
    }
    assert!(dash.body.contains("data-breakdown=\"office\""));
    assert!(dash.body.contains("data-group=\"UA7102\""));
    assert!(!dash.body.contains(">UA7102<"), "office names, not codes");
    let mut ira = WebClient::new(&app);
    ira.sign_in_fully("ira", PW).await;
    assert_eq!(ira.get("/statistics").await.status, 200);
    assert_eq!(olena.get("/statistics").await.status, 403);
    assert_no_personal_data_in_urls(&dash);
}

#[tokio::test]
async fn inbox_social_and_dashboard_by_role_sqlite() {
    inbox_social_and_dashboard_by_role(Store::Sqlite).await;
}

#[tokio::test]
async fn inbox_social_and_dashboard_by_role_postgres() {
    inbox_social_and_dashboard_by_role(Store::Postgres).await;
}

#[tokio::test]
async fn list_pages_need_a_session() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let mut web = WebClient::new(&app);
    for path in [
        "/",
        "/queue.csv",
        "/cases/new",
        "/person-search",
        "/inbox",
        "/social",
        "/statistics",
        // A form's address opened with another method is a page like any other.
        "/sign-out",
    ] {
        let r = web.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.location(), Some("/sign-in"), "{path}");
    }
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    web.sign_in_fully("olena", PW).await;
    let r = web.get("/sign-out").await;
    assert_eq!(r.status, 405);
    assert!(r.body.contains("role=\"alert\""));
    assert_labelled(&r);
}
