//! The HTTP server: routes of `api.md`, in the error precedence it fixes.
//!
//! Handlers are thin: authenticate, find the case and check scope (a case outside the caller's
//! scope is 404, so existence does not leak), then hand a domain command to the engine and render
//! the case view. Every failure is an [`ApiError`] rendered as problem+json in the caller's
//! language; a failed request writes nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::{ActionName, CaseState, Role};
use ptl_engine::pipeline::{Engine, EngineError, Executed, Idempotency, Personal};
use ptl_engine::vault::{PersonalText as VaultText, Reader};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Authenticator, Claims};
use crate::metrics::Metrics;
use crate::models::{parse_action, parse_register, BodyError, ParsedAction, PersonalText};
use crate::offices::OfficeTree;
use crate::problem::{ApiError, Lang};
use crate::view::{case_view, CaseView};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The command pipeline.
    pub engine: Arc<Engine>,
    /// Token verification.
    pub auth: Arc<Authenticator>,
    /// The office tree.
    pub offices: Arc<OfficeTree>,
    /// Deadlines due within this many days are `upcoming`.
    pub upcoming_days: i64,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Disclosure-control threshold for `disclosure=public`.
    pub disclosure_threshold: u64,
    /// Wakes the deadline scheduler after a command (it may have started an earlier deadline).
    pub deadline_poke: Arc<tokio::sync::Notify>,
    /// Working days after a miss before the regional office sees the case escalated.
    pub escalate_after_working_days: u32,
    /// Wakes the outbox relay after a commit, when one runs.
    pub relay_poke: Option<Arc<tokio::sync::Notify>>,
}

impl AppState {
    /// Counts a command's outcome and its time in the engine, and turns it into the response's
    /// result.
    fn record_command(
        &self,
        action: &str,
        started: std::time::Instant,
        result: Result<Result<Executed, ptl_domain::DomainError>, EngineError>,
    ) -> Result<Executed, ApiError> {
        self.metrics
            .store_time("command", started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(Ok(e)) if e.replayed => "replayed",
            Ok(Ok(_)) => "recorded",
            Ok(Err(_)) => "refused",
            Err(EngineError::Conflict { .. }) => "conflict",
            Err(EngineError::Unavailable(_)) => "unavailable",
            Err(_) => "error",
        };
        self.metrics.command(action, outcome);
        Ok(result.map_err(engine_error)??)
    }

    /// Wakes the background workers after a command committed events.
    pub fn committed(&self) {
        self.deadline_poke.notify_one();
        if let Some(p) = &self.relay_poke {
            p.notify_one();
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// Every (method, path) the router serves, in the OpenAPI path template syntax. `router()`
/// registers exactly these, and `GET /openapi.json` documents exactly these (`tests/openapi.rs`
/// checks both directions): add a route here when you add one to `router()`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/dashboard"),
    ("POST", "/api/v1/cases"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/deadlines"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/stats.csv"),
    ("GET", "/api/v1/cases/{id}"),
    ("POST", "/api/v1/cases/{id}/actions/{action}"),
    ("GET", "/api/v1/cases/{id}/events"),
    ("GET", "/api/v1/cases/{id}/verify"),
    ("GET", "/api/v1/cases/{id}/access-log"),
    ("GET", "/api/v1/cases/{id}/deadlines/{name}"),
];

/// The router with every route, the body limit and the request timeout.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/dashboard", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route(
            "/api/v1/cases",
            post(register_case).get(crate::lists::get_cases),
        )
        .route("/api/v1/deadlines", get(crate::lists::get_deadlines))
        .route("/api/v1/stats", get(crate::lists::get_stats))
        .route("/api/v1/stats.csv", get(crate::lists::get_stats_csv))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/actions/{action}", post(post_action))
        .route("/api/v1/cases/{id}/events", get(get_events))
        .route("/api/v1/cases/{id}/verify", get(get_verify))
        .route("/api/v1/cases/{id}/access-log", get(get_access_log))
        .route("/api/v1/cases/{id}/deadlines/{name}", get(get_deadline))
        .fallback(|| async {
            ApiError::NotFound {
                detail: "no such route".into(),
            }
            .into_response()
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
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
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The dashboard page, embedded in the binary (no CDN, no external script).
const DASHBOARD: &str = include_str!("../static/dashboard.html");

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
    let reachable = s.engine.ping().await;
    let today = ptl_domain::kyiv_date(s.engine.clock().now());
    let mut warnings = Vec::new();
    if let Some(last) = s.engine.rules().calendar().last_day() {
        if (last - today).num_days() < 90 {
            warnings.push(format!(
                "the working-day calendar ends on {last}: add the next year's file"
            ));
        }
    }
    let body = serde_json::json!({ "ready": reachable, "warnings": warnings });
    if reachable {
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
        s.metrics.render(),
    )
        .into_response()
}

fn respond(lang: Lang, r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| e.to_response(lang))
}

pub(crate) fn claims(s: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    s.auth.verify(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
}

pub(crate) fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Conflict { current, .. } => ApiError::VersionMismatch { current },
        EngineError::NotFound => ApiError::CaseNotFound,
        EngineError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
        EngineError::RequestInProgress => ApiError::RequestInProgress,
        EngineError::Unavailable(_) => ApiError::StoreUnavailable {
            retry_after_secs: 1,
        },
        EngineError::Internal(m) => ApiError::Internal(m),
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::CaseNotFound)
}

/// Loads a case the caller may see; anything else is 404.
async fn load_in_scope(
    s: &AppState,
    c: &Claims,
    id: &str,
) -> Result<(Uuid, Arc<CaseState>, u64), ApiError> {
    let id = parse_id(id)?;
    let (state, version) = s
        .engine
        .load(id)
        .await
        .map_err(engine_error)?
        .ok_or(ApiError::CaseNotFound)?;
    if !s
        .offices
        .case_in_scope(&c.office, state.office(), &state.ever_submitted_to)
    {
        return Err(ApiError::CaseNotFound);
    }
    Ok((id, state, version))
}

fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

pub(crate) fn today(s: &AppState) -> NaiveDate {
    ptl_domain::kyiv_date(s.engine.clock().now())
}

fn view(s: &AppState, c: &Claims, id: Uuid, state: &CaseState, version: u64) -> CaseView {
    case_view(
        id,
        state,
        version,
        c.role,
        &c.office,
        today(s),
        s.upcoming_days,
    )
}

/// Checks the body's size, JSON syntax and content type.
fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Bytes, serde_json::Value), ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge
        } else {
            ApiError::MalformedJson {
                detail: "the request body could not be read".into(),
            }
        }
    })?;
    // api.md's order: 400 (malformed JSON) before 415 (wrong content type); a body over the
    // limit cannot be read at all, so its 413 comes first.
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::MalformedJson {
            detail: format!("malformed JSON: {e}"),
        })?;
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    if !json_type {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok((body, value))
}

fn idempotency(
    headers: &HeaderMap,
    c: &Claims,
    method: &Method,
    path: &str,
    body: &[u8],
    status: u16,
) -> Result<Option<Idempotency>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v.to_str().map_err(|_| ApiError::BadParameter {
        parameter: "Idempotency-Key".into(),
        detail: "must be visible ASCII".into(),
    })?;
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::BadParameter {
            parameter: "Idempotency-Key".into(),
            detail: "1 to 200 characters".into(),
        });
    }
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    Ok(Some(Idempotency {
        scope: c.sub.clone(),
        key: key.to_string(),
        fingerprint: hex::encode(h.finalize()),
        status,
    }))
}

fn to_vault(texts: Vec<PersonalText>) -> Vec<VaultText> {
    texts
        .into_iter()
        .map(|t| VaultText {
            record: t.record,
            value: t.value,
        })
        .collect()
}

fn case_response(
    status: StatusCode,
    v: &CaseView,
    version: u64,
    location: Option<Uuid>,
) -> Response {
    let mut r = (status, Json(v)).into_response();
    r.headers_mut().insert(header::ETAG, etag(version));
    if let Some(id) = location {
        if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/cases/{id}")) {
            r.headers_mut().insert(header::LOCATION, l);
        }
    }
    r
}

async fn register_case(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(lang, register_inner(&s, &headers, body).await)
}

async fn register_inner(
    s: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let c = claims(s, headers)?;
    let (raw, value) = json_body(headers, body)?;
    let idem = idempotency(headers, &c, &Method::POST, "/api/v1/cases", &raw, 201)?;
    if let Some(done) = s
        .engine
        .idempotent_replay(idem.as_ref(), None)
        .await
        .map_err(engine_error)?
    {
        return Ok(case_response(
            StatusCode::CREATED,
            &view(s, &c, done.case_id, &done.state, done.version),
            done.version,
            Some(done.case_id),
        ));
    }
    if !ActionName::Register.allows(c.role) {
        return Err(ApiError::Forbidden {
            detail: format!("the role {} may not register applications", c.role),
        });
    }
    let parsed = parse_register(&value, String::new())?;
    if !s.offices.covers(&c.office, &parsed.register.office) {
        return Err(ApiError::Forbidden {
            detail: format!(
                "office {} is outside your office {}",
                parsed.register.office, c.office
            ),
        });
    }
    if s.offices.get(&parsed.register.office).is_none() {
        return Err(ApiError::field(
            "office",
            format!("{} is not a known office", parsed.register.office),
        ));
    }
    let actor = ptl_domain::Actor::user(c.sub.clone(), c.role, c.office.clone());
    let command = s.engine.command(
        actor,
        parsed.received_on,
        ptl_domain::Action::Register(parsed.register),
    );
    let personal = Personal {
        texts: to_vault(parsed.texts),
        person_index: Some((parsed.person.full_name.clone(), parsed.person.birth_date)),
    };
    let started = std::time::Instant::now();
    let result = s.engine.register(command, personal, idem).await;
    let done = s.record_command("register", started, result)?;
    if !done.replayed {
        s.committed();
    }
    let mut v = view(s, &c, done.case_id, &done.state, done.version);
    v.person = None;
    let mut r = case_response(StatusCode::CREATED, &v, done.version, Some(done.case_id));
    if !done.same_person.is_empty() {
        let others: Vec<String> = done.same_person.iter().map(Uuid::to_string).collect();
        if let Ok(h) = HeaderValue::from_str(&others.join(",")) {
            r.headers_mut().insert("x-possible-duplicates", h);
        }
    }
    Ok(r)
}

/// Query parameters of `GET /cases/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseQuery {
    as_of: Option<String>,
    on: Option<String>,
    version: Option<String>,
    include: Option<String>,
    reason: Option<String>,
}

fn bad(parameter: &str, detail: &str) -> ApiError {
    ApiError::BadParameter {
        parameter: parameter.into(),
        detail: detail.into(),
    }
}

async fn get_case(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(lang, get_case_inner(&s, &id, q, &headers).await)
}

async fn get_case_inner(
    s: &AppState,
    id: &str,
    q: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let c = claims(s, headers)?;
    let (id, current, version) = load_in_scope(s, &c, id).await?;
    let Query(q) = q.map_err(|e| bad("query", &e.body_text()))?;
    if let Some(name) = [
        ("as_of", &q.as_of),
        ("on", &q.on),
        ("version", &q.version),
        ("include", &q.include),
        ("reason", &q.reason),
    ]
    .into_iter()
    .find_map(|(name, v)| {
        v.as_deref()
            .is_some_and(|v| v.contains('\0'))
            .then_some(name)
    }) {
        return Err(bad(name, "must not contain the NUL character (U+0000)"));
    }
    let historical = [q.as_of.is_some(), q.on.is_some(), q.version.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if historical > 1 {
        return Err(bad("as_of", "use one of as_of, on and version"));
    }
    let include_person = match q.include.as_deref() {
        None => false,
        Some("person") => true,
        Some(other) => return Err(bad("include", &format!("`{other}` is not `person`"))),
    };
    let (state, shown_version, is_history): (Arc<CaseState>, u64, bool) = if let Some(t) = &q.as_of
    {
        let t: DateTime<Utc> = DateTime::parse_from_rfc3339(t)
            .map_err(|_| bad("as_of", "an RFC 3339 instant"))?
            .with_timezone(&Utc);
        let (st, n) = s
            .engine
            .load_as_of(id, t)
            .await
            .map_err(engine_error)?
            .ok_or_else(|| bad("as_of", "the case did not exist yet"))?;
        (Arc::new(st), n, true)
    } else if let Some(d) = &q.on {
        let d =
            crate::models::parse_strict_date(d).ok_or_else(|| bad("on", "a date YYYY-MM-DD"))?;
        let st = s
            .engine
            .load_on(id, d)
            .await
            .map_err(engine_error)?
            .ok_or(ApiError::CaseNotFound)?;
        // Nothing had occurred by then: there is no case to show (as for `as_of`).
        if st.version == 0 || st.registration.is_none() {
            return Err(bad("on", "the case was not registered yet on that date"));
        }
        let n = st.version;
        (Arc::new(st), n, true)
    } else if let Some(v) = &q.version {
        let v: u64 = v
            .parse()
            .map_err(|_| bad("version", "a positive integer"))?;
        let st = s
            .engine
            .load_version(id, v)
            .await
            .map_err(engine_error)?
            .ok_or_else(|| bad("version", "no such version"))?;
        (Arc::new(st), v, true)
    } else {
        (current, version, false)
    };
    let mut v = view(s, &c, id, &state, shown_version);
    if is_history {
        v.allowed_actions.clear();
    }
    if include_person {
        if matches!(c.role, Role::Auditor | Role::Admin) {
            return Err(ApiError::Forbidden {
                detail: format!("the role {} never sees personal data", c.role),
            });
        }
        v.person = Some(read_person(s, &c, id, &state, q.reason).await?);
    }
    let mut r = (StatusCode::OK, Json(v)).into_response();
    if !is_history {
        r.headers_mut().insert(header::ETAG, etag(shown_version));
    }
    Ok(r)
}

async fn read_person(
    s: &AppState,
    c: &Claims,
    id: Uuid,
    state: &CaseState,
    reason: Option<String>,
) -> Result<serde_json::Value, ApiError> {
    let Some(person) = person_ref(state) else {
        return Ok(serde_json::Value::Null);
    };
    let reader = Reader {
        sub: c.sub.clone(),
        role: c.role.to_string(),
        office: Some(c.office.clone()),
        reason,
    };
    let mut tx = s.engine.begin_write().await.map_err(engine_error)?;
    let records = s
        .engine
        .vault()
        .read_records(tx.conn(), id, &[person], &reader)
        .await
        .map_err(|e| engine_error(e.into()))?;
    tx.commit().await.map_err(|e| engine_error(e.into()))?;
    Ok(records
        .into_iter()
        .next()
        .and_then(|(_, v)| v)
        .unwrap_or(serde_json::Value::Null))
}

fn person_ref(state: &CaseState) -> Option<ptl_domain::RecordRef> {
    state.registration.as_ref().and_then(|r| r.person.clone())
}

async fn post_action(
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(
        lang,
        post_action_inner(&s, &id, &action, &headers, body).await,
    )
}

async fn post_action_inner(
    s: &AppState,
    id: &str,
    action: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let c = claims(s, headers)?;
    let (case_id, state, _) = load_in_scope(s, &c, id).await?;
    let name: ActionName = action
        .parse()
        .ok()
        .filter(|a: &ActionName| a.is_client_action())
        .ok_or_else(|| ApiError::UnknownAction {
            action: action.chars().take(64).collect(),
        })?;
    let (raw, value) = json_body(headers, body)?;
    let expected = match headers.get(header::IF_MATCH) {
        None => return Err(ApiError::IfMatchRequired),
        Some(v) => v
            .to_str()
            .ok()
            .map(|v| {
                v.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .to_string()
            })
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| bad("If-Match", "the quoted version from the ETag, e.g. \"3\""))?,
    };
    let path = format!("/api/v1/cases/{case_id}/actions/{action}");
    let idem = idempotency(headers, &c, &Method::POST, &path, &raw, 200)?;
    if let Some(done) = s
        .engine
        .idempotent_replay(idem.as_ref(), Some(case_id))
        .await
        .map_err(engine_error)?
    {
        return Ok(case_response(
            StatusCode::OK,
            &view(s, &c, case_id, &done.state, done.version),
            done.version,
            None,
        ));
    }
    if !name.allows(c.role) {
        return Err(ApiError::Forbidden {
            detail: format!("the role {} may not {}", c.role, name),
        });
    }
    let parsed = match parse_action(name, &value).and_then(|p| known_office(s, p)) {
        Ok(p) => p,
        Err(e) => {
            // A stale version and an unlawful action outrank a bad field.
            if let Some((_, version)) = s.engine.load(case_id).await.map_err(engine_error)? {
                if version != expected {
                    return Err(ApiError::VersionMismatch { current: version });
                }
            }
            if let Err(reason) = ptl_domain::decide::availability(&state, name) {
                return Err(ApiError::ActionNotAllowed {
                    detail: reason.to_string(),
                    allowed_actions: ptl_domain::allowed_actions_for(
                        &state,
                        c.role,
                        Some(&c.office),
                    )
                    .into_iter()
                    .map(|a| a.as_str().to_string())
                    .collect(),
                });
            }
            return Err(e.into());
        }
    };
    let actor = ptl_domain::Actor::user(c.sub.clone(), c.role, c.office.clone());
    let command = s.engine.command(actor, parsed.occurred_on, parsed.action);
    let personal = Personal {
        texts: to_vault(parsed.texts),
        person_index: None,
    };
    let started = std::time::Instant::now();
    let result = s
        .engine
        .execute(case_id, Some(expected), command, personal, idem)
        .await;
    let done = s.record_command(name.as_str(), started, result)?;
    if !done.replayed {
        s.committed();
    }
    if name == ActionName::ErasePersonalData {
        let mut tx = s.engine.begin_write().await.map_err(engine_error)?;
        s.engine
            .vault()
            .erase(
                tx.conn(),
                case_id,
                &c.sub,
                s.engine.clock().now(),
                s.engine.data_dir(),
            )
            .await
            .map_err(|e| engine_error(e.into()))?;
        tx.commit().await.map_err(|e| engine_error(e.into()))?;
    }
    Ok(case_response(
        StatusCode::OK,
        &view(s, &c, case_id, &done.state, done.version),
        done.version,
        None,
    ))
}

/// A transfer names an office of the office tree (the parser checks only the code's syntax; a
/// case moved to an unknown code would drop out of every office's scope but the national one).
fn known_office(s: &AppState, p: ParsedAction) -> Result<ParsedAction, BodyError> {
    match &p.action {
        ptl_domain::Action::Transfer { to_office } if s.offices.get(to_office).is_none() => Err(
            BodyError::field("to_office", format!("{to_office} is not a known office")),
        ),
        _ => Ok(p),
    }
}

async fn get_events(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(lang, async {
        let c = claims(&s, &headers)?;
        let (id, _, _) = load_in_scope(&s, &c, &id).await?;
        if c.role == Role::Admin {
            return Err(ApiError::Forbidden { detail: "an administrator does not read case histories".into() });
        }
        let history = s.engine.history(id).await.map_err(engine_error)?;
        let events: Vec<serde_json::Value> = history
            .into_iter()
            .map(|e| {
                let body = serde_json::to_value(&e.event.body).unwrap_or(serde_json::Value::Null);
                let actor = if e.event.actor.role == Role::System {
                    serde_json::json!({"sub": "system", "role": "system"})
                } else {
                    serde_json::json!({"sub": e.event.actor.sub, "role": e.event.actor.role, "office": e.event.actor.office})
                };
                serde_json::json!({
                    "sequence": e.sequence,
                    "type": e.event.body.type_name(),
                    "occurred_on": e.event.occurred_on,
                    "recorded_at": e.event.recorded_at,
                    "actor": actor,
                    "data": body.get("data").cloned().unwrap_or(serde_json::Value::Null),
                    "hash": e.hash,
                    "prev_hash": e.prev_hash,
                })
            })
            .collect();
        Ok(Json(serde_json::json!({ "case_id": id, "events": events })).into_response())
    }
    .await)
}

async fn get_verify(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(
        lang,
        async {
            let c = claims(&s, &headers)?;
            let (id, _, _) = load_in_scope(&s, &c, &id).await?;
            if !matches!(c.role, Role::Auditor | Role::Supervisor) {
                return Err(ApiError::Forbidden {
                    detail: "verification is for auditors and supervisors".into(),
                });
            }
            let v = s.engine.verify(id).await.map_err(engine_error)?;
            Ok(Json(v).into_response())
        }
        .await,
    )
}

async fn get_access_log(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(lang, async {
        let c = claims(&s, &headers)?;
        let (id, _, _) = load_in_scope(&s, &c, &id).await?;
        if !matches!(c.role, Role::Auditor | Role::Supervisor) {
            return Err(ApiError::Forbidden { detail: "the access log is for auditors and supervisors".into() });
        }
        let mut tx = s.engine.db().read().await.map_err(|e| engine_error(e.into()))?;
        let entries = s.engine.vault().access_log(tx.conn(), id).await.map_err(|e| engine_error(e.into()))?;
        let mut tx2 = s.engine.db().read().await.map_err(|e| engine_error(e.into()))?;
        let broken = s.engine.vault().verify_access_log(tx2.conn(), id).await.map_err(|e| engine_error(e.into()))?;
        Ok(Json(serde_json::json!({ "case_id": id, "entries": entries, "valid": broken.is_none(), "first_invalid_seq": broken })).into_response())
    }
    .await)
}

async fn get_deadline(
    State(s): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    respond(
        lang,
        async {
            let c = claims(&s, &headers)?;
            let (id, state, _) = load_in_scope(&s, &c, &id).await?;
            let explanation = ptl_domain::explain(&state, &name, s.engine.rules().calendar())
                .ok_or_else(|| ApiError::NotFound {
                    detail: format!(
                        "the case has no deadline `{}`",
                        name.chars().take(64).collect::<String>()
                    ),
                })?;
            let today = today(&s);
            let record = state.deadlines.get(name.as_str());
            let current = record.map(|d| ptl_domain::deadlines::deadline_state(d, today));
            Ok(Json(serde_json::json!({
                "case_id": id,
                "deadline": explanation,
                "state": current,
                "days_left": record.map(|d| (d.due_on - today).num_days()),
            }))
            .into_response())
        }
        .await,
    )
}
