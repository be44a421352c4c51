//! Test harness: the real server on port 0 over a fresh store of the kit (`ptl_engine::testkit`:
//! a SQLite file in a temporary directory, or a fresh PostgreSQL database dropped at the end, also
//! when the test panics), driven over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod browser;
pub mod integrity;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ptl_api::http::AppState;
use ptl_api::startup::{start, StartOptions};
use ptl_domain::Role;
use ptl_engine::clock::SettableClock;
use ptl_engine::testkit::TestStore;
use reqwest::header::HeaderMap;
use serde_json::Value;
use uuid::Uuid;

/// Which store a test runs on (the kit's [`Backend`]: `Store::Sqlite`, `Store::Postgres`).
pub use ptl_engine::testkit::Backend as Store;

pub mod web;

/// A running server.
#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<SettableClock>,
    /// The data directory (key files, erasure ledger).
    pub dir: tempfile::TempDir,
    /// The outbox relay when a broker is configured, NOT started (a test that needs it spawns
    /// its `run`).
    pub relay: Option<ptl_engine::relay::Relay>,
    /// The store: a SQLite file, or a PostgreSQL database dropped with the app, also when the
    /// test panics.
    store: TestStore,
    server: tokio::task::JoinHandle<()>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// Starts the server on a fresh store; the clock stands at noon Kyiv on 2026-03-02.
    pub async fn spawn(store: Store) -> Self {
        Self::spawn_with(store, |_| {}).await
    }

    /// [`TestApp::spawn`] with start options changed by `configure` (limits, token settings).
    pub async fn spawn_with(store: Store, configure: impl FnOnce(&mut StartOptions)) -> Self {
        Self::spawn_at(store, |opts, _| configure(opts)).await
    }

    /// [`TestApp::spawn_with`] where `configure` also learns the server's base URL
    /// (`http://127.0.0.1:<port>`) before the server starts, for settings that name it (the single
    /// sign-on redirect URI).
    pub async fn spawn_at(store: Store, configure: impl FnOnce(&mut StartOptions, &str)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let store = TestStore::create(store).await;
        let url = store.url().to_owned();
        let clock = Arc::new(SettableClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        ));
        let mut opts = StartOptions::new(url, dir.path().join("data"));
        configure(&mut opts, &base);
        let app = start(&opts, clock.clone()).await.expect("app starts");
        let limits = app.state.limits.settings.clone();
        let server = serve_on(listener, app.router, limits);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base,
            http,
            state: app.state,
            clock,
            dir,
            relay: app.relay,
            store,
            server,
        }
    }

    /// The store's URL (to start a second instance on it, as a restart does).
    pub fn url(&self) -> &str {
        self.store.url()
    }

    /// Stops the server and starts it again on the same store, data directory and clock, as a
    /// restart after a crash would (migrations, re-applied erasures, repairs at start).
    pub async fn restart(self) -> Self {
        let Self {
            http,
            state,
            clock,
            dir,
            store,
            server,
            ..
        } = self;
        server.abort();
        let _ = server.await;
        ptl_engine::testkit::close(state.app.engine.db()).await;
        drop(state);
        let opts = StartOptions::new(store.url().to_owned(), dir.path().join("data"));
        let app = start(&opts, clock.clone()).await.expect("app restarts");
        let limits = app.state.limits.settings.clone();
        let (base, server) = serve(app.router, limits).await;
        Self {
            base,
            http,
            state: app.state,
            clock,
            dir,
            relay: app.relay,
            store,
            server,
        }
    }

    /// Stops the server and removes the store.
    pub async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
        ptl_engine::testkit::close(self.state.app.engine.db()).await;
        drop(self.state);
        drop(self.store);
    }

    /// A token for a user.
    pub fn token(&self, sub: &str, role: Role, office: &str) -> String {
        self.state
            .auth
            .mint(
                sub,
                sub,
                role,
                office,
                Duration::from_secs(3600),
                Some(Uuid::new_v4().to_string()),
            )
            .unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(reqwest::Method::GET, path, Some(token), &[], None)
            .await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send(
            reqwest::Method::POST,
            path,
            Some(token),
            &h,
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }

    /// Registers the standard application; returns (case id, etag).
    pub async fn register(&self, token: &str, body: &Value) -> (String, String) {
        let r = self.post_json("/api/v1/cases", token, &[], body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        (r.body["id"].as_str().unwrap().to_string(), r.etag())
    }

    /// Performs an action with the given ETag; returns the response.
    pub async fn act(&self, token: &str, id: &str, action: &str, etag: &str, body: &Value) -> Resp {
        self.post_json(
            &format!("/api/v1/cases/{id}/actions/{action}"),
            token,
            &[("if-match", etag)],
            body,
        )
        .await
    }
}

/// Serves `router` on a free local port: its base URL and the server task.
async fn serve(
    router: axum::Router,
    limits: ptl_api::limits::LimitSettings,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (base, serve_on(listener, router, limits))
}

/// Serves `router` on `listener` with the server loop of `ptl serve` and its connection limits.
fn serve_on(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: ptl_api::limits::LimitSettings,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _ = ptl_api::http::serve(listener, router, limits, std::future::pending()).await;
    })
}

/// A lawful registration body (an adult Ukrainian citizen, referred by the hotline).
pub fn application(office: &str, received_on: &str) -> Value {
    serde_json::json!({
        "received_on": received_on,
        "office": office,
        "filed_by": "self",
        "applicant": { "sex": "female", "birth_year": 1990, "citizenship": "ukrainian", "speaks_ukrainian_or_russian": true, "interpreter_used": false },
        "referral": { "source": "hotline", "organisation": "La Strada hotline 527", "referred_on": received_on },
        "exploitation": { "forms": ["labour"], "country": "PL" },
        "documents": [{ "kind": "identity_document", "note": "passport copy" }],
        "rights_explained": true,
        "person": { "full_name": "Марʼяна Коваль", "birth_date": "1990-04-02", "contacts": "+380 67 000 0000", "id_document": "FE123456" }
    })
}
