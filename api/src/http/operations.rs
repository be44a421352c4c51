//! What operators and monitoring read, without a token: `/healthz`, `/readyz`, `/metrics`,
//! `/openapi.json`, and the static `/dashboard` page.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use crate::schema::Readiness;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/dashboard", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(super::openapi::openapi_json))
}

/// The dashboard page, embedded in the binary (no CDN, no external script).
const DASHBOARD: &str = include_str!("../../static/dashboard.html");

async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        DASHBOARD,
    )
        .into_response()
}

async fn readyz(State(s): State<AppState>) -> Response {
    let r = s.app.readiness().await;
    let body = Readiness {
        ready: r.ready,
        warnings: r.warnings,
    };
    if body.ready {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.app.metrics.render(),
    )
        .into_response()
}
