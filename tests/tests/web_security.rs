//! The web application's security properties over every page a user can reach (`web.md`;
//! issue 15, "Security"): each signed-in role's pages are crawled from the home page by their
//! links; every page carries `Content-Security-Policy: default-src 'self'` without inline script,
//! `Cache-Control: no-store` and no personal data in any address; after sign-out every one of
//! those addresses sends the browser to the sign-in page (303); without a session nothing but the
//! sign-in page and the static files opens; a form posted with another session's CSRF token is
//! refused and writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, VecDeque};

use ptl_domain::Role;
use ptl_tests::web::{add_user, WebClient};
use ptl_tests::{application, Store, TestApp};

const PW: &str = "рушник-над-Россю-7";
const NAME: &str = "Зоряна Квітка-Основ'яненко";
const BIRTH: &str = "1987-11-23";

/// Every same-origin address a page links to (`href`, `src`), or with `forms` posts to (`action`).
fn addresses(body: &str, forms: bool) -> Vec<String> {
    let mut out = Vec::new();
    let attrs: &[&str] = if forms {
        &["action=\""]
    } else {
        &["href=\"", "src=\""]
    };
    for attr in attrs {
        for (i, m) in body.match_indices(attr) {
            let rest = &body[i + m.len()..];
            if let Some(end) = rest.find('"') {
                let url = rest[..end].replace("&amp;", "&");
                if url.starts_with('/') && !url.starts_with("//") {
                    out.push(url);
                }
            }
        }
    }
    out
}

/// The pages reachable by links from the home page (GET), and every address any of them posts a
/// form to.
async fn crawl(web: &mut WebClient, limit: usize) -> (Vec<String>, Vec<String>) {
    let mut posts = Vec::new();
    let mut seen = BTreeSet::new();
    let mut every = Vec::new();
    let mut queue = VecDeque::from(["/".to_string()]);
    while let Some(path) = queue.pop_front() {
        if seen.len() >= limit || !seen.insert(path.clone()) {
            continue;
        }
        // Never follow sign-out or language links while crawling.
        if path.starts_with("/sign-out") || path.starts_with("/language") {
            continue;
        }
        let page = web.get(&path).await;
        every.push(path.clone());
        if page.status != 200 {
            continue;
        }
        let html = page
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        if !html {
            continue;
        }
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
        assert!(
            !page.body.contains("<script>") && !page.body.contains(" onclick="),
            "{path}: inline script"
        );
        assert!(!page.body.contains(" style=\""), "{path}: inline style");
        assert!(
            page.body.contains("<html lang=\"uk\">") || page.body.contains("<html lang=\"en\">"),
            "{path}"
        );
        for a in addresses(&page.body, false) {
            if !seen.contains(&a) {
                queue.push_back(a);
            }
        }
        posts.extend(addresses(&page.body, true));
    }
    (posts, every)
}

async fn every_page(store: Store) {
    let app = TestApp::spawn(store).await;
    // A case whose person has a distinctive name and birth date.
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let mut body = application("UA7102", "2026-03-02");
    body["person"]["full_name"] = NAME.into();
    body["person"]["birth_date"] = BIRTH.into();
    body["applicant"]["birth_year"] = 1987.into();
    app.register(&cw, &body).await;

    for (login, role, office) in [
        ("cw", "caseworker", "UA7102"),
        ("sup", "supervisor", "UA71"),
        ("sw", "social_worker", "UA7102"),
        ("officer", "decision_officer", "UA-NSS"),
        ("aud", "auditor", "UA71"),
        ("root", "admin", "UA"),
    ] {
        add_user(&app, login, role, office, PW).await;
        let mut web = WebClient::new(&app);
        web.sign_in_fully(login, PW).await;
        let (posts, visited) = crawl(&mut web, 60).await;
        assert!(!visited.is_empty(), "{login}");
        for url in visited.iter().chain(&posts) {
            assert!(
                !url.contains("Зоряна") && !url.contains("%D0%97") && !url.contains(BIRTH),
                "personal data in {url}"
            );
        }
        // Sign out: every address visited now leads to the sign-in page.
        let page = web.get("/").await;
        let page = if page.status == 303 {
            web.get(page.location().unwrap()).await
        } else {
            page
        };
        let csrf = page.hidden("csrf_token").expect("a sign-out form");
        let r = web.post("/sign-out", &[("csrf_token", &csrf)]).await;
        assert_eq!(r.status, 200, "{login}");
        for url in &visited {
            if url.starts_with("/static/") {
                continue;
            }
            let r = web.get(url).await;
            assert_eq!(
                (r.status, r.location()),
                (303, Some("/sign-in")),
                "{login}: {url} after sign-out"
            );
        }
        // And without any cookie at all.
        let mut anonymous = WebClient::new(&app);
        for url in &visited {
            let r = anonymous.get(url).await;
            if url.starts_with("/static/") {
                assert_eq!(r.status, 200, "{url}");
            } else {
                assert_eq!(
                    (r.status, r.location()),
                    (303, Some("/sign-in")),
                    "{url} without a session"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_page_of_every_role_on_sqlite() {
    every_page(Store::Sqlite).await;
}

#[tokio::test]
async fn another_sessions_csrf_token_is_refused() {
    let app = TestApp::spawn(Store::Sqlite).await;
    add_user(&app, "root", "admin", "UA", PW).await;
    add_user(&app, "mallory", "admin", "UA", PW).await;
    let mut root = WebClient::new(&app);
    root.sign_in_fully("root", PW).await;
    let mut mallory = WebClient::new(&app);
    mallory.sign_in_fully("mallory", PW).await;
    let theirs = mallory.get("/admin").await.hidden("csrf_token").unwrap();
    let mine = root.get("/admin").await.hidden("csrf_token").unwrap();
    assert_ne!(theirs, mine, "a token per session");
    for token in [theirs.as_str(), ""] {
        let r = root
            .post(
                "/admin/users",
                &[
                    ("login", "ivan"),
                    ("name", "Іван"),
                    ("role", "caseworker"),
                    ("office", "UA7102"),
                    ("csrf_token", token),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(r.body.contains("role=\"alert\""));
    }
    assert!(app
        .state
        .app
        .engine
        .user_by_login("ivan")
        .await
        .unwrap()
        .is_none());
}
