//! Integrity reports over the API (issue 16): `POST /api/v1/integrity-reports` starts one over
//! the caller's scope (auditors and supervisors), `GET /api/v1/integrity-reports` lists the
//! latest, `GET /api/v1/integrity-reports/{id}` shows one's progress, and
//! `GET /api/v1/integrity-reports/{id}/report` (`.csv`: `/report.csv`) downloads it once done.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::Params;
use super::openapi::{problems, AcceptLanguage};
use super::AppState;
use crate::app::integrity::ReportStatus;
use crate::app::Caller;
use crate::integrity::Report;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(start, list))
        .routes(routes!(status))
        .routes(routes!(download))
        .routes(routes!(download_csv))
}

/// The latest reports in the caller's scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    /// Newest first, at most 20 (without their documents).
    pub items: Vec<ReportStatus>,
}

fn report_id(id: &str) -> Result<String, ApiError> {
    Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::NotFound {
            detail: "no such integrity report".into(),
        })
}

#[utoipa::path(
    post,
    path = "/api/v1/integrity-reports",
    operation_id = "startIntegrityReport",
    tag = "audit",
    summary = "Start an integrity report",
    description = "Verifies every case of the caller's office and the offices below it (all cases, \
                   and the log's own checkpoint, for a national office) in the background of the \
                   instance that receives the request, paced so that caseworkers' requests stay \
                   fast. One report at a time per instance: while one runs, the answer is that \
                   one (200) instead of a new one (202). Auditors and supervisors. No body.",
    params(AcceptLanguage),
    responses(
        (status = 202, description = "Started; `Location` is its address.", body = ReportStatus),
        (status = 200, description = "A report already runs on this instance: that one.", body = ReportStatus),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn start(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let (report, started) = s.app.start_integrity_report(&caller).await?;
    let location = format!("/api/v1/integrity-reports/{}", report.id);
    let mut r = (
        if started {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        },
        Json(report),
    )
        .into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/api/v1/integrity-reports",
    operation_id = "listIntegrityReports",
    tag = "audit",
    summary = "The latest integrity reports",
    description = "The 20 latest reports whose scope the caller's office covers, newest first, \
                   with their progress (without the documents). Auditors and supervisors.",
    params(AcceptLanguage),
    responses(
        (status = 200, description = "The reports.", body = ReportList),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<ReportList>, ApiError> {
    Ok(Json(ReportList {
        items: s.app.integrity_reports(&caller).await?,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/integrity-reports/{id}",
    operation_id = "getIntegrityReport",
    tag = "audit",
    summary = "An integrity report's progress and result",
    description = "`status` is `running` (with `done` of `total` cases), `done` (with `report`), \
                   `failed`, or `interrupted` (its instance stopped). Any instance answers: the \
                   state is in the store. Auditors and supervisors whose office covers its scope.",
    params(
        ("id" = Uuid, Path, description = "The report's id."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The report's state.", body = ReportStatus),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReportStatus>, ApiError> {
    Ok(Json(
        s.app.integrity_report(&caller, &report_id(&id)?).await?,
    ))
}

async fn finished(s: &AppState, caller: &Caller, id: &str) -> Result<(String, Report), ApiError> {
    let id = report_id(id)?;
    let status = s.app.integrity_report(caller, &id).await?;
    match status.report {
        Some(r) => Ok((id, r)),
        None => Err(ApiError::NotFound {
            detail: format!("the integrity report is {}, not done", status.status),
        }),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/integrity-reports/{id}/report",
    operation_id = "downloadIntegrityReport",
    tag = "audit",
    summary = "An integrity report's document (JSON)",
    description = "The report once done, as a file: cases and events verified, each invalid case \
                   with its problem (`broken_chain`, `truncated`, `missing`, `head_rewritten`) \
                   and first bad event, the log's checkpoint and its problems. The same document \
                   as `ptl verify --report <file>`. 404 while it runs.",
    params(
        ("id" = Uuid, Path, description = "The report's id."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The document.", body = Report),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn download(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    p.only(&[])?;
    let (id, report) = finished(&s, &caller, &id).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"integrity-report-{id}.json\""),
        )],
        Json(report),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/integrity-reports/{id}/report.csv",
    operation_id = "downloadIntegrityReportCsv",
    tag = "audit",
    summary = "An integrity report's invalid cases (CSV)",
    description = "`case_id,register_no,problem,first_bad_event,events,checkpoint_events`, one line \
                   per invalid case, then one line per problem of the log. 404 while it runs.",
    params(
        ("id" = Uuid, Path, description = "The report's id."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The CSV.", content_type = "text/csv", body = String),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn download_csv(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (id, report) = finished(&s, &caller, &id).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"integrity-report-{id}.csv\""),
            ),
        ],
        report.to_csv(),
    )
        .into_response())
}
