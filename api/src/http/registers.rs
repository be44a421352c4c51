//! `GET /api/v1/registers/certificates` and `GET /api/v1/registers/applications` (with `.csv`
//! exports): Order 366's register of issued certificates and register of applications, in the
//! caller's scope.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use ptl_projections::registers::{
    applications_csv, certificates_csv, ApplicationRow, CertificateRow,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::Params;
use super::openapi::{problems, AcceptLanguage, Page as PageParams};
use super::AppState;
use crate::app::lists::Page;
use crate::app::registers::RegisterQuery;
use crate::app::Caller;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(certificates))
        .routes(routes!(certificates_export))
        .routes(routes!(applications))
        .routes(routes!(applications_export))
}

/// One entry of the register of issued certificates.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateEntry {
    /// Certificate number (unique per issuing authority).
    pub certificate_no: String,
    /// Date of issue (the decision's date).
    pub issued_on: NaiveDate,
    /// The issuing authority (office code).
    pub authority: String,
    /// The case's register number.
    pub register_no: String,
    /// The case.
    pub case_id: Uuid,
    /// Date the decision was handed to the person.
    pub handed_over_on: Option<NaiveDate>,
}

impl From<CertificateRow> for CertificateEntry {
    fn from(r: CertificateRow) -> Self {
        Self {
            certificate_no: r.certificate_no,
            issued_on: r.issued_on,
            authority: r.authority,
            register_no: r.register_no,
            case_id: r.case_id,
            handed_over_on: r.handed_over_on,
        }
    }
}

/// A page of the register of issued certificates.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateRegister {
    /// The entries, by date of issue, authority and number.
    pub items: Vec<CertificateEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<CertificateRow>> for CertificateRegister {
    fn from(p: Page<CertificateRow>) -> Self {
        Self {
            items: p.items.into_iter().map(CertificateEntry::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// One entry of the register of applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationEntry {
    /// Register number.
    pub register_no: String,
    /// The case.
    pub case_id: Uuid,
    /// Date received.
    pub received_on: NaiveDate,
    /// The office that received it.
    pub office: String,
    /// How it was filed: `self`, `legal_representative`, `person_aware_of_child`.
    pub filed_by: String,
    /// Outcome so far: `pending`, `granted`, `refused`, `withdrawn` or `expired`.
    pub outcome: String,
    /// Date of the decision, if any.
    pub outcome_on: Option<NaiveDate>,
}

impl From<ApplicationRow> for ApplicationEntry {
    fn from(r: ApplicationRow) -> Self {
        Self {
            register_no: r.register_no,
            case_id: r.case_id,
            received_on: r.received_on,
            office: r.office,
            filed_by: r.filed_by,
            outcome: r.outcome,
            outcome_on: r.outcome_on,
        }
    }
}

/// A page of the register of applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationRegister {
    /// The entries, by date received and register number.
    pub items: Vec<ApplicationEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<ApplicationRow>> for ApplicationRegister {
    fn from(p: Page<ApplicationRow>) -> Self {
        Self {
            items: p.items.into_iter().map(ApplicationEntry::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// The query parameters of the JSON lists (any other is a 400), documented by their attributes.
const LIST_PARAMS: &[&str] = &["from", "to", "limit", "cursor"];
/// The query parameters of the CSV exports.
const CSV_PARAMS: &[&str] = &["from", "to"];

fn query(p: &Params, allowed: &[&str]) -> Result<RegisterQuery, ApiError> {
    p.only(allowed)?;
    Ok(RegisterQuery {
        from: p.date("from")?,
        to: p.date("to")?,
        limit: p.limit()?,
        cursor: p.get("cursor").cloned(),
    })
}

fn csv_response(body: String, name: &str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/registers/certificates",
    operation_id = "certificateRegister",
    tag = "registers",
    summary = "Register of issued certificates",
    description = "Order 366's register of certificates in the caller's scope: number, date of \
                   issue, issuing authority, the case's register number, hand-over date. Not for \
                   admins.",
    params(
        ("from" = Option<NaiveDate>, Query, description = "Only certificates issued on or after this day."),
        ("to" = Option<NaiveDate>, Query, description = "Only certificates issued on or before this day."),
        PageParams,
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "A page of the register.", body = CertificateRegister),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn certificates(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<CertificateRegister>, ApiError> {
    let q = query(&p, LIST_PARAMS)?;
    Ok(Json(s.app.certificate_register(&caller, q).await?.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/registers/certificates.csv",
    operation_id = "certificateRegisterCsv",
    tag = "registers",
    summary = "Register of issued certificates as CSV",
    description = "The whole register in the caller's scope (columns as the JSON list); a cell a \
                   spreadsheet would read as a formula (`=`, `+`, `-`, `@`) starts with `'`.",
    params(
        ("from" = Option<NaiveDate>, Query, description = "Only certificates issued on or after this day."),
        ("to" = Option<NaiveDate>, Query, description = "Only certificates issued on or before this day."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The register as CSV.", body = String, content_type = "text/csv"),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn certificates_export(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    let q = query(&p, CSV_PARAMS)?;
    let rows = s.app.all_certificates(&caller, q).await?;
    Ok(csv_response(certificates_csv(&rows), "certificates"))
}

#[utoipa::path(
    get,
    path = "/api/v1/registers/applications",
    operation_id = "applicationRegister",
    tag = "registers",
    summary = "Register of applications",
    description = "Order 366's register of applications in the caller's scope: register number, \
                   date received, office, how the application was filed, outcome. Not for admins.",
    params(
        ("from" = Option<NaiveDate>, Query, description = "Only applications received on or after this day."),
        ("to" = Option<NaiveDate>, Query, description = "Only applications received on or before this day."),
        PageParams,
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "A page of the register.", body = ApplicationRegister),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn applications(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<ApplicationRegister>, ApiError> {
    let q = query(&p, LIST_PARAMS)?;
    Ok(Json(s.app.application_register(&caller, q).await?.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/registers/applications.csv",
    operation_id = "applicationRegisterCsv",
    tag = "registers",
    summary = "Register of applications as CSV",
    description = "The whole register in the caller's scope (columns as the JSON list); a cell a \
                   spreadsheet would read as a formula (`=`, `+`, `-`, `@`) starts with `'`.",
    params(
        ("from" = Option<NaiveDate>, Query, description = "Only applications received on or after this day."),
        ("to" = Option<NaiveDate>, Query, description = "Only applications received on or before this day."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The register as CSV.", body = String, content_type = "text/csv"),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn applications_export(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    let q = query(&p, CSV_PARAMS)?;
    let rows = s.app.all_applications(&caller, q).await?;
    Ok(csv_response(applications_csv(&rows), "applications"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::openapi::params::{documented, sorted};

    #[test]
    fn the_registers_document_exactly_the_query_parameters_they_read() {
        assert_eq!(documented::<__path_certificates>(), sorted(LIST_PARAMS));
        assert_eq!(documented::<__path_applications>(), sorted(LIST_PARAMS));
        assert_eq!(
            documented::<__path_certificates_export>(),
            sorted(CSV_PARAMS)
        );
        assert_eq!(
            documented::<__path_applications_export>(),
            sorted(CSV_PARAMS)
        );
    }
}
