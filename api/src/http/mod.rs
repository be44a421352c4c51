//! The HTTP front door: the routes of `api.md`, one module per resource, over the application
//! layer ([`crate::app`]).
//!
//! A handler reads like its use case: extract (the caller, the case in scope, typed parameters,
//! the body; [`extract`]), call one operation of [`crate::app::App`], map its outcome to a
//! response. Every failure is an [`error::ApiError`], rendered as problem+json in one place.
//!
//! Layout:
//! - [`cases`]: register an application, read a case (now or in the past, with the person);
//! - [`actions`]: one procedure action on a case;
//! - [`history`]: a case's events, the verification of its chain, its access log, a deadline's
//!   explanation;
//! - [`lists`]: the work queue (with the person search) and the deadlines;
//! - [`statistics`]: the regional report's figures, as JSON and CSV, and the regional report
//!   (`/reports/regional`) as CSV;
//! - [`exports`]: the HTCDS case export and the k-anonymous CTDC dataset;
//! - [`rules`]: the procedure definitions and a calendar's year, as the engine uses them;
//! - [`registers`]: Order 366's registers of certificates and applications, as JSON and CSV;
//! - [`integrity`]: integrity reports (every case in scope verified, the log's checkpoint);
//! - [`operations`]: health, readiness, metrics, the OpenAPI document, the dashboard page;
//! - [`extract`]: the extractors, in the order of the error precedence; [`error`]: the problem
//!   documents; [`openapi`]: the OpenAPI document.
//!
//! Each handler declares its path, parameters, body and responses once, in a `#[utoipa::path]`
//! attribute; each module's `router()` registers its handlers with `utoipa_axum::routes!`, and
//! [`api`] merges them into one [`OpenApiRouter`]: the axum router ([`router`]) and the document's
//! paths ([`openapi::document`]) are its two halves, so they cannot disagree.

pub mod actions;
pub mod audit;
pub mod cases;
pub mod error;
pub mod exports;
pub mod extract;
pub mod history;
pub mod integrity;
pub mod lists;
pub mod openapi;
pub mod operations;
pub mod registers;
pub mod rules;
pub mod statistics;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::app::App;
use crate::auth::Authenticator;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares: the application and the token verification.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The application layer.
    pub app: Arc<App>,
    /// Bearer token verification.
    pub auth: Arc<Authenticator>,
    /// Connection-level limits and the rate tables.
    pub limits: Arc<crate::limits::Limits>,
    /// The web application's settings (sessions, sign-in throttling, single sign-on).
    pub web: Arc<crate::web::WebSettings>,
    /// Single sign-on's relying party (the provider's cached metadata and keys, the sign-ins under
    /// way), when an issuer is configured.
    pub sso: Option<Arc<crate::web::oidc::Oidc>>,
}

/// Every route with its documentation: the resource modules' routers merged.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .merge(operations::router())
        .merge(cases::router())
        .merge(actions::router())
        .merge(history::router())
        .merge(audit::router())
        .merge(lists::router())
        .merge(statistics::router())
        .merge(exports::router())
        .merge(rules::router())
        .merge(registers::router())
        .merge(integrity::router())
}

/// The router with every route, the body limit and the request timeout.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let metrics = state.app.metrics.clone();
    let limits = state.limits.clone();
    let (routes, _) = api().split_for_parts();
    routes
        .merge(crate::web::router())
        .fallback(crate::web::fallback)
        .layer(axum::middleware::from_fn(error::localize))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let request_id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
            }),
        )
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(security_headers))
        // Outermost: the per-address rate limit comes before everything else.
        .layer(axum::middleware::from_fn_with_state(
            limits,
            crate::limits::per_address,
        ))
        .with_state(state)
}

/// Middleware: `X-Content-Type-Options: nosniff` on every response, and `Cache-Control:
/// no-store` on every response of the API (`/api/...`: case data, personal data, statistics and
/// their errors), so that no browser or proxy cache keeps them.
pub async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Serves until `shutdown` completes, then finishes in-flight requests, with the connection
/// limits ([`crate::limits::serve`]).
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: crate::limits::LimitSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::limits::serve(listener, app, limits, shutdown).await
}
