//! What operators and monitoring read, without a token: `/healthz`, `/readyz` (with its body), `/metrics`,
//! `/openapi.json`, and the static `/dashboard` page; with an admin's token, `GET /api/v1/status`.

use axum::extract::State;
use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sha2::{Digest, Sha256};

use crate::i18n::Lang;

use super::error::ApiError;
use super::extract::Params;
use super::openapi::{document_json, problems, AcceptLanguage, Integer, JsonObject, Liveness};
use super::AppState;
use crate::app::Caller;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(dashboard))
        .routes(routes!(dashboard_script))
        .routes(routes!(labels_uk))
        .routes(routes!(labels_en))
        .routes(routes!(metrics))
        .routes(routes!(status))
        .routes(routes!(openapi))
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    summary = "Liveness",
    security(),
    responses(
        (status = 200, description = "The process is up.", body = inline(Liveness), content_type = "text/plain"),
    ),
)]
async fn healthz() -> &'static str {
    "ok"
}

/// The dashboard page, embedded in the binary (no CDN, no external script).
const DASHBOARD: &str = include_str!("../../static/dashboard.html");

/// The dashboard's script, served from this server so that the page's Content-Security-Policy
/// allows no inline script.
const DASHBOARD_JS: &str = include_str!("../../static/dashboard.js");

/// The dashboard's Content-Security-Policy: scripts only from this server (no inline script, no
/// `eval`), calls only to this server, and no framing (clickjacking).
pub const DASHBOARD_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[utoipa::path(
    get,
    path = "/dashboard",
    operation_id = "dashboard",
    tag = "operations",
    summary = "Dashboard page",
    description = "A static page (no personal data in it): it takes the token from the URL \
                   fragment (`#token=...`, never sent to the server) or a form, keeps it in \
                   session storage and calls the API with the bearer header.",
    security(),
    responses(
        (status = 200, description = "The dashboard HTML page.", body = String, content_type = "text/html"),
    ),
)]
async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DASHBOARD_CSP),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        DASHBOARD,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/dashboard.js",
    operation_id = "dashboard_script",
    tag = "operations",
    summary = "Dashboard script",
    description = "The dashboard page's script (static; no personal data in it).",
    security(),
    responses(
        (status = 200, description = "The dashboard's JavaScript.", body = String, content_type = "text/javascript"),
    ),
)]
async fn dashboard_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DASHBOARD_CSP),
        ],
        DASHBOARD_JS,
    )
        .into_response()
}

/// The label families the dashboard shows: its own texts, the statistics figures, stages,
/// statuses, deadline kinds and roles.
pub const DASHBOARD_FAMILIES: &[&str] =
    &["dashboard", "figure", "stage", "status", "deadline", "role"];

/// The labels the dashboard needs in one language (`/i18n/{lang}.json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Labels {
    /// The language (`uk`, `en`).
    pub lang: String,
    /// Catalogue key -> text, for the families `dashboard`, `figure`, `stage`, `status`,
    /// `deadline` and `role` (`stage-interview_done` -> `Співбесіду проведено`).
    pub labels: BTreeMap<String, String>,
    /// Office code -> the office's name in this language, from the office tree.
    pub offices: BTreeMap<String, String>,
}

/// How long a browser may keep the labels (they change with a release or the office tree).
const LABELS_MAX_AGE: &str = "public, max-age=300";

fn labels_response(s: &AppState, lang: Lang, headers: &HeaderMap) -> Response {
    let body = Labels {
        lang: lang.as_str().to_string(),
        labels: crate::i18n::families(lang, DASHBOARD_FAMILIES),
        offices: s
            .app
            .offices
            .iter()
            .map(|o| {
                let name = match lang {
                    Lang::Uk => &o.name_uk,
                    Lang::En => &o.name_en,
                };
                (o.code.clone(), name.clone())
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [
        (header::CACHE_CONTROL, LABELS_MAX_AGE.to_string()),
        (header::ETAG, etag),
        (header::CONTENT_LANGUAGE, lang.as_str().to_string()),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/i18n/uk.json",
    operation_id = "labels_uk",
    tag = "operations",
    summary = "Ukrainian labels for the dashboard",
    description = "The translation catalogue's labels of the codes the dashboard shows (stages, \
                   statuses, deadline kinds, roles, statistics figures, the page's own texts) \
                   and the office names, in Ukrainian. No personal data. Cached for five \
                   minutes, with an `ETag` (`If-None-Match` gives 304).",
    security(),
    responses(
        (status = 200, description = "The labels.", body = Labels),
        (status = 304, description = "Not modified since the `ETag` sent in `If-None-Match`."),
    ),
)]
async fn labels_uk(State(s): State<AppState>, headers: HeaderMap) -> Response {
    labels_response(&s, Lang::Uk, &headers)
}

#[utoipa::path(
    get,
    path = "/i18n/en.json",
    operation_id = "labels_en",
    tag = "operations",
    summary = "English labels for the dashboard",
    description = "As `/i18n/uk.json`, in English.",
    security(),
    responses(
        (status = 200, description = "The labels.", body = Labels),
        (status = 304, description = "Not modified since the `ETag` sent in `If-None-Match`."),
    ),
)]
async fn labels_en(State(s): State<AppState>, headers: HeaderMap) -> Response {
    labels_response(&s, Lang::En, &headers)
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// This instance can serve correctly.
    pub ready: bool,
    /// Why it cannot: the store is unreachable, a read model it answers from is being rebuilt or
    /// is still catching up, or the legal clock has not run when it should have.
    pub reasons: Vec<String>,
    /// Warnings that do not stop it serving: a working-day calendar about to end, an outbox
    /// backlog, a broker that is not connected, failing webhook deliveries.
    pub warnings: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    summary = "Readiness",
    description = "503 only when this instance cannot serve correctly: the store is unreachable, \
                   a read model it answers from is being rebuilt or is still catching up (or \
                   such a run stopped before its end), or the legal clock has not run although a \
                   record fell due more than five minutes ago; `reasons` says which. An outbox \
                   backlog, an unreachable broker or failing webhook deliveries are `warnings` \
                   (and gauges in `/metrics`), not a 503: taking every instance out of a load \
                   balancer because the broker is down would stop caseworkers for nothing.",
    security(),
    responses(
        (status = 200, description = "This instance can serve (see `warnings`).", body = Readiness),
        (status = 503, description = "It cannot (see `reasons`), or the request timed out.", body = Readiness, headers(
            ("Retry-After" = inline(Integer), description = "Seconds to wait before retrying."),
        )),
    ),
)]
async fn readyz(State(s): State<AppState>) -> Response {
    let r = s.app.readiness().await;
    let body = Readiness {
        ready: r.ready,
        reasons: r.reasons,
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

#[utoipa::path(
    get,
    path = "/api/v1/status",
    operation_id = "getStatus",
    tag = "operations",
    summary = "The operator's status",
    description = "Admins only. For each read model how it is kept (`in_transaction`: written \
                   with the events, never behind; `catching_up`; `rebuilding`), its position in \
                   the global log, its lag in events and seconds, its last run and error; the \
                   outbox (pending events, the oldest's age, whether this instance's relay is \
                   connected to the broker) and the webhook deliveries; the legal clock (last \
                   run, next wake, records today, late or not); the store (size, write-ahead \
                   log, durability settings, migrations); the calendars' last year; and \
                   `/readyz`'s verdict with its reasons and warnings. No personal data.",
    params(AcceptLanguage),
    responses(
        (status = 200, description = "The status.", body = crate::app::operations::OperatorStatus),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn status(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<crate::app::operations::OperatorStatus>, ApiError> {
    p.only(&[])?;
    if caller.role != ptl_domain::Role::Admin {
        return Err(crate::app::Error::Forbidden("only an admin reads the status".into()).into());
    }
    s.app.status().await.map(Json).map_err(|e| {
        tracing::warn!(error = %e, "status: the store cannot be read");
        crate::app::Error::Unavailable.into()
    })
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "Request counters by route, command outcomes, and the operator's gauges \
                   (read models' lag, outbox, broker, webhook deliveries, legal clock, store, \
                   calendars, readiness); no personal data, no case ids.",
    security(),
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4.", body = String, content_type = "text/plain"),
    ),
)]
async fn metrics(State(s): State<AppState>) -> Response {
    let mut text = s.app.metrics.render();
    let reachable = s.app.engine.ping().await;
    let status = if reachable {
        s.app.status().await.ok()
    } else {
        None
    };
    text.push_str(&crate::metrics::render_status(reachable, status.as_ref()));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    summary = "This document",
    security(),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = inline(JsonObject)),
    ),
)]
async fn openapi() -> Response {
    match document_json() {
        Ok(doc) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            doc,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
