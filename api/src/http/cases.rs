//! `POST /api/v1/cases` (register an application) and `GET /api/v1/cases/{id}` (the case view,
//! now or as it stood, with the person's data on request).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{CaseAccess, Create};
use super::openapi::{
    problems, AcceptLanguage, CaseId, Etag, IdempotencyKey, Include, RegisterRequest, Version,
};
use super::AppState;
use crate::app::lists::Matches;
use crate::app::{Caller, HistoryPoint, Written};
use crate::models::parse_register;
use crate::view::CaseView;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(register))
        .routes(routes!(read))
}

/// The `ETag` of a version: the number, quoted.
pub(crate) fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A case view with its `ETag` (and `Location` for a new case).
pub(crate) fn case_response(
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

/// The `Possible-Duplicates` header of a registration: the other cases of the person in the
/// caller's scope by id, then `<office>=<count>` for each office outside it (never an id there);
/// `None` when there are none.
fn duplicates_header(m: &Matches) -> Option<HeaderValue> {
    let entries: Vec<String> = m
        .in_scope
        .iter()
        .map(Uuid::to_string)
        .chain(
            m.elsewhere
                .iter()
                .map(|e| format!("{}={}", e.office, e.count)),
        )
        .collect();
    if entries.is_empty() {
        return None;
    }
    HeaderValue::from_str(&entries.join(",")).ok()
}

/// `POST /api/v1/cases`. The `Possible-Duplicates` description states
/// [`ptl_engine::pipeline::SAME_PERSON_LISTED`] (a test checks the number).
#[utoipa::path(
    post,
    path = "/api/v1/cases",
    operation_id = "registerCase",
    tag = "cases",
    summary = "Register an application",
    description = "Caseworker or supervisor of an office covering `office`. Whether the applicant \
                   is a child is derived from `person.birth_date` on `received_on`.",
    params(IdempotencyKey, AcceptLanguage),
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered: the case view.", body = CaseView, headers(
            ("Location" = String, description = "`/api/v1/cases/{id}` of the new case."),
            ("ETag" = inline(Etag), description = "The case's version, quoted (`\"3\"`): send it back as `If-Match` with the next action."),
            ("Possible-Duplicates" = String, description = "Other cases of the same person (exact match as in the person search), if any, comma-separated: the ids of those in the caller's scope (the first 20 in id order), then `<office>=<count>` for the cases each office outside the scope holds (never their ids). Each case found gets a `duplicate check` entry in its access log."),
        )),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 409, response = problems::Conflict),
        (status = 413, response = problems::PayloadTooLarge),
        (status = 415, response = problems::UnsupportedMediaType),
        (status = 422, response = problems::UnprocessableEntity),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn register(
    State(s): State<AppState>,
    caller: Caller,
    request: Create,
) -> Result<Response, ApiError> {
    let input = parse_register(&request.body.value, String::new());
    let Written {
        case_id,
        view,
        version,
        possible_duplicates,
    } = s.app.register(&caller, input, request.key).await?;
    let mut r = case_response(StatusCode::CREATED, &view, version, Some(case_id));
    if let Some(h) = duplicates_header(&possible_duplicates) {
        r.headers_mut().insert("possible-duplicates", h);
    }
    Ok(r)
}

/// Query parameters of `GET /cases/{id}`, read as text and checked by [`history_point`] (so each
/// failure is a 400 naming its parameter); documented with the types they must have.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CaseQuery {
    /// What had been recorded by this instant (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    as_of: Option<String>,
    /// Facts that occurred by this business date, as known now.
    #[param(value_type = Option<chrono::NaiveDate>)]
    on: Option<String>,
    /// The case after this many events.
    #[param(value_type = Option<Version>, inline)]
    version: Option<String>,
    /// `person`: the personal data.
    #[param(value_type = Option<Include>, inline)]
    include: Option<String>,
    /// Why personal data is read (access log).
    reason: Option<String>,
}

/// Which state to show and whether to include the person (with the reason), or a 400.
fn history_point(
    q: Result<Query<CaseQuery>, QueryRejection>,
) -> Result<(HistoryPoint, Option<Option<String>>), ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
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
        return Err(ApiError::bad(
            name,
            "must not contain the NUL character (U+0000)",
        ));
    }
    let historical = [q.as_of.is_some(), q.on.is_some(), q.version.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if historical > 1 {
        return Err(ApiError::bad("as_of", "use one of as_of, on and version"));
    }
    let include_person = match q.include.as_deref() {
        None => false,
        Some("person") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "include",
                format!("`{other}` is not `person`"),
            ))
        }
    };
    let point = if let Some(t) = &q.as_of {
        let t: DateTime<Utc> = DateTime::parse_from_rfc3339(t)
            .map_err(|_| ApiError::bad("as_of", "an RFC 3339 instant"))?
            .with_timezone(&Utc);
        HistoryPoint::AsOf(t)
    } else if let Some(d) = &q.on {
        HistoryPoint::On(
            crate::models::parse_strict_date(d)
                .ok_or_else(|| ApiError::bad("on", "a date YYYY-MM-DD"))?,
        )
    } else if let Some(v) = &q.version {
        HistoryPoint::Version(
            v.parse()
                .map_err(|_| ApiError::bad("version", "a positive integer"))?,
        )
    } else {
        HistoryPoint::Current
    };
    Ok((point, include_person.then_some(q.reason)))
}

/// `GET /api/v1/cases/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    operation_id = "getCase",
    tag = "cases",
    summary = "The case view",
    description = "History with one of `as_of`, `on` and `version` (no ETag, no allowed actions). \
                   `include=person` adds personal data for the roles that may see it (logged).",
    params(
        CaseId,
        CaseQuery,
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The case view.", body = CaseView, headers(
            ("ETag" = inline(Etag), description = "The case's version, quoted (`\"3\"`): send it back as `If-Match` with the next action."),
        )),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn read(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
    q: Result<Query<CaseQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (point, person) = history_point(q)?;
    let shown = s.app.read_case(&caller, case, point, person).await?;
    let mut r = (StatusCode::OK, Json(&shown.view)).into_response();
    if shown.current {
        r.headers_mut().insert(header::ETAG, etag(shown.version));
    }
    Ok(r)
}
