//! The case page over HTTP (`web.md`, pages 3, 4, 5 and 10): only the actions the user may do now
//! are offered and any other is refused with nothing written; a field error next to its field;
//! the stale-version page that keeps the input and says what happened; a double submit recorded
//! once; CSRF; the personal-data reveal and the prints written to the access log; the history;
//! no personal data in any URL. On both stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ptl_domain::Role;
use ptl_tests::web::{add_user, Page, WebClient};
use ptl_tests::{application, Store, TestApp};

const PW: &str = "рушник-над-Россю-7";
const NAME: &str = "Марʼяна Коваль";

/// The case's version as the store has it.
async fn version(app: &TestApp, token: &str, id: &str) -> String {
    app.get(&format!("/api/v1/cases/{id}"), token).await.etag()
}

/// The access log as the REST API gives it to a supervisor.
async fn access_log(app: &TestApp, id: &str) -> String {
    let sup = app.token("sup-rest", Role::Supervisor, "UA71");
    let r = app
        .get(&format!("/api/v1/cases/{id}/access-log"), &sup)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body.to_string()
}

/// The inputs of the form `data-action="<action>"` on a page, as the page renders them
/// (hidden fields included).
fn form_of(page: &Page, action: &str) -> String {
    let start = page
        .body
        .find(&format!("data-action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form {action} in {}", page.body));
    let end = page.body[start..].find("</form>").unwrap() + start;
    page.body[start..end].to_string()
}

fn hidden_in(form: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let s = form.find(&needle).unwrap() + needle.len();
    let e = form[s..].find('"').unwrap() + s;
    form[s..e].to_string()
}

/// No URL the server sent (redirects, links, form actions) carries the person's data.
fn no_person_in_urls(page: &Page) {
    if let Some(l) = page.location() {
        assert!(!l.contains("Коваль") && !l.contains("FE123456"), "{l}");
    }
    for attr in ["href=\"", "action=\""] {
        for part in page.body.split(attr).skip(1) {
            let url = part.split('"').next().unwrap_or("");
            assert!(
                !url.contains("Коваль") && !url.contains("FE123456") && !url.contains("%D0"),
                "{url}"
            );
        }
    }
}

async fn case_page(store: Store) {
    let app = TestApp::spawn(store).await;
    add_user(&app, "olena", "caseworker", "UA7102", PW).await;
    add_user(&app, "petro", "caseworker", "UA7102", PW).await;
    add_user(&app, "ivanna", "auditor", "UA71", PW).await;
    add_user(&app, "stepan", "supervisor", "UA71", PW).await;
    let rest = app.token("cw-rest", Role::Caseworker, "UA7102");
    let today = app.state.app.today();
    let (id, _) = app
        .register(&rest, &application("UA7102", &today.to_string()))
        .await;
    let case = format!("/cases/{id}");

    let mut olena = WebClient::new(&app);
    olena.sign_in_fully("olena", PW).await;
    let page = olena.get(&case).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!(
        "<main id=\"main\" data-case-id=\"{id}\" data-version=\"1\">"
    )));
    no_person_in_urls(&page);
    // The person's data is hidden until asked for.
    assert!(!page.body.contains(NAME));
    assert!(page.body.contains("data-form=\"reveal-person\""));
    // The caseworker's actions are offered, built from their schemas; the officer's are not.
    let consent = form_of(&page, "record-consent");
    assert!(consent.contains(&format!("action=\"/cases/{id}/actions/record-consent\"")));
    assert!(consent.contains("name=\"scope\""));
    assert!(consent.contains("name=\"given_by\""));
    assert!(consent.contains(&format!("name=\"occurred_on\" value=\"{today}\"")));
    assert_eq!(hidden_in(&consent, "version"), "1");
    assert!(!hidden_in(&consent, "idempotency_key").is_empty());
    assert!(!page.body.contains("data-action=\"record-decision\""));
    let csrf = page.hidden("csrf_token").unwrap();
    // The deadlines' rules in words of the page's language, not the definition file's English.
    assert!(page.body.contains("від реєстрації заяви"), "{}", page.body);
    assert!(page.body.contains("календарн"), "{}", page.body);
    assert!(!page.body.contains("from registration"), "{}", page.body);
    // The procedure by its Ukrainian title from the catalogue, not the file's English or its id.
    assert!(
        page.body
            .contains("Постанова КМУ № 417 у редакції постанови № 531 (2021)"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Resolution 417"), "{}", page.body);
    assert!(!page.body.contains("(ua-417-2021)"), "{}", page.body);

    // An auditor is offered nothing, and a form posted anyway is refused with nothing written.
    let mut ivanna = WebClient::new(&app);
    ivanna.sign_in_fully("ivanna", PW).await;
    let page = ivanna.get(&case).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("data-action="), "{}", page.body);
    assert!(!page.body.contains("data-form=\"reveal-person\""));
    let auditor_csrf = page.hidden("csrf_token").unwrap();
    let r = ivanna
        .post(
            &format!("{case}/actions/record-consent"),
            &[
                ("csrf_token", &auditor_csrf),
                ("idempotency_key", "auditor-1"),
                ("version", "1"),
                ("occurred_on", &today.to_string()),
                ("scope", "status_procedure"),
                ("given_by", "person"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    assert_eq!(version(&app, &rest, &id).await, "\"1\"");
    // So is a decision posted by a caseworker (not offered, not hers).
    let r = olena
        .post(
            &format!("{case}/actions/record-decision"),
            &[
                ("csrf_token", &csrf),
                ("idempotency_key", "cw-decision"),
                ("version", "1"),
                ("occurred_on", &today.to_string()),
                ("outcome", "granted"),
            ],
        )
        .await;
    assert!(r.status == 403 || r.status == 409, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    assert_eq!(version(&app, &rest, &id).await, "\"1\"");

    // Without the session's CSRF token: refused, nothing written.
    let key = hidden_in(&consent, "idempotency_key");
    let r = olena
        .post(
            &format!("{case}/actions/record-consent"),
            &[
                ("csrf_token", "not-the-token"),
                ("idempotency_key", &key),
                ("version", "1"),
                ("occurred_on", &today.to_string()),
                ("scope", "status_procedure"),
                ("given_by", "person"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(version(&app, &rest, &id).await, "\"1\"");

    // A date in the future: the error next to its field, the input kept, nothing written.
    let tomorrow = today.succ_opt().unwrap().to_string();
    let r = olena
        .post(
            &format!("{case}/actions/record-consent"),
            &[
                ("csrf_token", &csrf),
                ("idempotency_key", &key),
                ("version", "1"),
                ("occurred_on", &tomorrow),
                ("scope", "status_procedure"),
                ("given_by", "person"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let form = form_of(&r, "record-consent");
    assert!(form.contains("role=\"alert\""), "{form}");
    assert!(form.contains(&format!(
        "name=\"occurred_on\" value=\"{tomorrow}\" required aria-invalid=\"true\" aria-describedby=\"f-record-consent-occurred_on-error\""
    )), "{form}");
    assert!(form.contains("<p class=\"field-error\" id=\"f-record-consent-occurred_on-error\">"));
    // In the page's language (Ukrainian here), not the domain's English sentence.
    assert!(form.contains("Дата не може бути в майбутньому"), "{form}");
    assert!(!form.contains("is in the future"), "{form}");
    assert!(
        form.contains("value=\"status_procedure\" selected"),
        "{form}"
    );
    assert_eq!(version(&app, &rest, &id).await, "\"1\"");

    // The form as rendered, sent twice (a double click): recorded once.
    let good = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("version", "1"),
        ("occurred_on", &today.to_string()),
        ("scope", "status_procedure"),
        ("given_by", "person"),
    ];
    let r = olena
        .post(&format!("{case}/actions/record-consent"), &good)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location(),
        Some(format!("{case}?done=record-consent").as_str())
    );
    no_person_in_urls(&r);
    let r = olena
        .post(&format!("{case}/actions/record-consent"), &good)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(version(&app, &rest, &id).await, "\"2\"");
    let page = olena.get(&format!("{case}?done=record-consent")).await;
    assert!(page.body.contains("role=\"status\""));
    assert!(page.body.contains("data-version=\"2\""));

    // Olena opens a form at version 2; meanwhile Petro records the interview; her form is stale.
    let stale_form = form_of(&page, "attach-document");
    let mut petro = WebClient::new(&app);
    petro.sign_in_fully("petro", PW).await;
    let ppage = petro.get(&case).await;
    let interview = form_of(&ppage, "record-interview");
    let r = petro
        .post(
            &format!("{case}/actions/record-interview"),
            &[
                ("csrf_token", &ppage.hidden("csrf_token").unwrap()),
                ("idempotency_key", &hidden_in(&interview, "idempotency_key")),
                ("version", &hidden_in(&interview, "version")),
                ("occurred_on", &today.to_string()),
                ("consent_signed_by", "person"),
                ("non_disclosure_receipt_signed", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(version(&app, &rest, &id).await, "\"3\"");
    let r = olena
        .post(
            &format!("{case}/actions/attach-document"),
            &[
                ("csrf_token", &csrf),
                (
                    "idempotency_key",
                    &hidden_in(&stale_form, "idempotency_key"),
                ),
                ("version", "2"),
                ("occurred_on", &today.to_string()),
                ("kind", "identity_document"),
                ("note", "the second page of the passport"),
            ],
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    // What happened since: Petro's interview, by name.
    assert!(r.body.contains("User petro"), "{}", r.body);
    // Her input kept, in a form at the new version.
    let again = form_of(&r, "attach-document");
    assert!(
        again.contains("value=\"identity_document\" selected"),
        "{again}"
    );
    assert!(
        again.contains(">the second page of the passport</textarea>"),
        "{again}"
    );
    assert_eq!(hidden_in(&again, "version"), "3");
    assert_eq!(version(&app, &rest, &id).await, "\"3\"");

    // A stale form whose action is no longer offered (the interview is recorded now): said so,
    // and what was typed is shown, nothing written.
    let skip = form_of(&page, "skip-interview");
    let r = olena
        .post(
            &format!("{case}/actions/skip-interview"),
            &[
                ("csrf_token", &csrf),
                ("idempotency_key", &hidden_in(&skip, "idempotency_key")),
                ("version", &hidden_in(&skip, "version")),
                ("occurred_on", &today.to_string()),
                ("ground", "already_recognised"),
                ("reference", "decision 12/2025 of the service"),
            ],
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert!(!r.body.contains("data-action=\"skip-interview\""));
    assert!(r.body.contains("data-typed"), "{}", r.body);
    assert!(r.body.contains("decision 12/2025 of the service"));
    assert_eq!(version(&app, &rest, &id).await, "\"3\"");

    // The personal data: hidden until asked, shown for that page view, written to the log.
    assert!(!access_log(&app, &id).await.contains("checking the file"));
    let r = olena
        .post(
            &format!("{case}/person"),
            &[
                ("csrf_token", &csrf),
                ("purpose", "case_work"),
                ("reason", "checking the file"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(NAME));
    no_person_in_urls(&r);
    assert!(access_log(&app, &id).await.contains("checking the file"));
    let page = olena.get(&case).await;
    assert!(!page.body.contains(NAME));
    // Without a reason: not shown, nothing logged.
    let before = access_log(&app, &id).await;
    let r = olena
        .post(
            &format!("{case}/person"),
            &[
                ("csrf_token", &csrf),
                ("purpose", "case_work"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains(NAME));
    assert_eq!(access_log(&app, &id).await, before);

    // A supervisor sees the case's access log on the case page.
    let mut stepan = WebClient::new(&app);
    stepan.sign_in_fully("stepan", PW).await;
    let page = stepan.get(&case).await;
    assert!(page.body.contains("data-access-log"));
    assert!(page.body.contains("checking the file"));
    assert!(page.body.contains("User olena, "), "the reader by name");

    // A print is a logged read and carries the official's name and a signature line.
    let r = olena.get(&format!("{case}/print/card")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(NAME));
    assert!(r.body.contains("User olena"));
    assert!(r.body.contains("class=\"signature\""));
    assert!(access_log(&app, &id).await.contains("print: card"));
    for doc in ["application", "handover"] {
        let r = olena.get(&format!("{case}/print/{doc}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("class=\"print-note\""));
        assert!(access_log(&app, &id)
            .await
            .contains(&format!("print: {doc}")));
    }
    // The auditor's print has no personal data.
    let r = ivanna.get(&format!("{case}/print/card")).await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains(NAME));

    // An extract of the register of applications: the case's entry, the official, a signature
    // line; the print is in the security log.
    let register_no = app.get(&format!("/api/v1/cases/{id}"), &rest).await.body["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    let r = olena.get("/registers/applications/print").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("<td>{register_no}</td>")),
        "{}",
        r.body
    );
    assert!(r.body.contains("class=\"signature\""));
    assert!(r.body.contains("User olena"));
    let r = olena.get("/registers/certificates/print").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let log = app.state.app.engine.security_log(0, 100).await.unwrap();
    assert_eq!(
        log.iter().filter(|e| e.kind == "register_printed").count(),
        2,
        "{log:?}"
    );

    // The history: each event in words with who did it; the supervisor's mark that it verifies;
    // the case as it stood at a version.
    let h = olena.get(&format!("{case}/history")).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.body.matches("<tr data-event=").count(), 3, "{}", h.body);
    assert!(h.body.contains("User petro"));
    let h = stepan.get(&format!("{case}/history?version=1")).await;
    assert!(h.body.contains("data-verified=\"true\""), "{}", h.body);
    assert!(h.body.contains("<dl class=\"summary\">"));
    let h = stepan
        .get(&format!("{case}/history?kind=consent_recorded"))
        .await;
    assert_eq!(h.status, 200);
    assert!(h.body.matches("<tr data-event=").count() <= 1);
    no_person_in_urls(&h);
}

#[tokio::test]
async fn case_page_on_sqlite() {
    case_page(Store::Sqlite).await;
}

#[tokio::test]
async fn case_page_on_postgres() {
    case_page(Store::Postgres).await;
}
