//! A browser-less client for the web pages: keeps cookies by hand (so tests can look at every
//! `Set-Cookie`), follows no redirect by itself, and finds hidden form fields in a page.

use std::collections::BTreeMap;

use ptl_api::web::password;
use ptl_engine::accounts::{NewUser, User};
use ptl_engine::security::SecurityEntry;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};

use crate::TestApp;

/// A page or redirect as received.
#[derive(Debug)]
pub struct Page {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    #[must_use]
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` value.
    #[must_use]
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The value of the hidden input `name` (the first one).
    #[must_use]
    pub fn hidden(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }
}

/// One browser's cookies against one server.
#[derive(Debug)]
pub struct WebClient {
    base: String,
    http: reqwest::Client,
    /// The cookies the server set (name -> value).
    pub cookies: BTreeMap<String, String>,
}

impl WebClient {
    /// A client without cookies.
    #[must_use]
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let first = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = first.split_once('=') {
                let expired = v.contains("Max-Age=0");
                if expired || val.is_empty() {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), val.to_string());
                }
            }
        }
        let body = r.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(r).await
    }

    /// `POST path` with a form.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(r).await
    }

    /// Signs in through the sign-in page; the response to the form.
    pub async fn sign_in(&mut self, login: &str, password: &str) -> Page {
        let page = self.get("/sign-in").await;
        let csrf = page.hidden("csrf_token").unwrap_or_default();
        self.post(
            "/sign-in",
            &[
                ("login", login),
                ("password", password),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }

    /// Signs in and settles the password change and the undertaking, ending on the work queue.
    pub async fn sign_in_fully(&mut self, login: &str, password: &str) {
        let r = self.sign_in(login, password).await;
        assert_eq!(r.status, 303, "sign-in of {login}: {}", r.body);
        if r.location() == Some("/undertaking") {
            let page = self.get("/undertaking").await;
            let csrf = page.hidden("csrf_token").unwrap();
            let r = self.post("/undertaking", &[("csrf_token", &csrf)]).await;
            assert_eq!(r.location(), Some("/"));
        }
    }
}

/// Creates a local account with a password that needs no change.
pub async fn add_user(app: &TestApp, login: &str, role: &str, office: &str, pw: &str) -> User {
    app.state
        .app
        .engine
        .add_user(
            NewUser {
                login: login.to_string(),
                display_name: format!("User {login}"),
                role: role.to_string(),
                office: office.to_string(),
                password_hash: Some(password::hash(pw).unwrap()),
                must_change_password: false,
                sso: false,
            },
            SecurityEntry::new("user_added", Some("test"), None),
        )
        .await
        .unwrap()
}
