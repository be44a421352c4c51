//! `GET /api/v1/exports/htcds` and `GET /api/v1/exports/ctdc`: case data without personal data
//! for partners and for the international picture (`app::exports`, `docs/htcds.md`,
//! `docs/ctdc.md`), as JSON or CSV.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::Params;
use super::openapi::{problems, AcceptLanguage, ExportFormat};
use super::AppState;
use crate::app::exports::{ctdc_csv, htcds_csv, CtdcExport, HtcdsExport, HtcdsRequest};
use crate::app::Caller;
use crate::schema::OfficeCode;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(htcds))
        .routes(routes!(ctdc))
}

/// The query parameters of the HTCDS export (any other is a 400), documented by its attribute
/// (a test compares).
const HTCDS_PARAMS: &[&str] = &["office", "from", "to", "format"];
/// The query parameters of the CTDC export.
const CTDC_PARAMS: &[&str] = &["office", "from", "to", "format"];

/// `json` (the default) or `csv`.
fn csv_wanted(p: &Params) -> Result<bool, ApiError> {
    match p.get("format").map(String::as_str) {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::bad("format", "json or csv")),
    }
}

fn required_date(p: &Params, key: &str) -> Result<NaiveDate, ApiError> {
    p.date(key)?
        .ok_or_else(|| ApiError::bad(key, "required (YYYY-MM-DD)"))
}

fn required_year(p: &Params, key: &str) -> Result<i32, ApiError> {
    p.parsed::<i32>(key)?
        .ok_or_else(|| ApiError::bad(key, "required (a year such as 2024)"))
}

fn csv_response(text: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        text,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/exports/htcds",
    operation_id = "exportHtcds",
    tag = "exports",
    summary = "HTCDS 2.0 case export",
    description = "One row per case registered (receipt date) in [from, to] in the office and the \
                   offices below it, in the field names of the Human Trafficking Case Data \
                   Standard 2.0 (mapping: docs/htcds.md). Cases are named by pseudonyms keyed for \
                   this export only; no name, birth date, register or certificate number or free \
                   text. For a region's supervisor and auditors; recorded in the security log.",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Default: the caller's office."),
        ("from" = NaiveDate, Query, description = "First receipt date."),
        ("to" = NaiveDate, Query, description = "Last receipt date."),
        ("format" = inline(Option<ExportFormat>), Query, description = "`json` (default) or `csv` (lists joined with `;`)."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The export.", content(
            (HtcdsExport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn htcds(State(s): State<AppState>, caller: Caller, p: Params) -> Result<Response, ApiError> {
    p.only(HTCDS_PARAMS)?;
    let q = HtcdsRequest {
        office: p.get("office").cloned(),
        from: required_date(&p, "from")?,
        to: required_date(&p, "to")?,
    };
    let csv = csv_wanted(&p)?;
    let export = s.app.export_htcds(&caller, q).await?;
    Ok(if csv {
        csv_response(htcds_csv(&export))
    } else {
        Json(export).into_response()
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/exports/ctdc",
    operation_id = "exportCtdc",
    tag = "exports",
    summary = "CTDC-style anonymised dataset",
    description = "One row per person registered in the years [from, to] in the office and the \
                   offices below it, with the CTDC codebook's variables the engine's facts fill, \
                   k-anonymous with k = 11 over all of them by generalisation and then row \
                   suppression (docs/ctdc.md); the report says how many rows were generalised and \
                   suppressed. For a region's supervisor and auditors; recorded in the security log.",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Default: the caller's office."),
        ("from" = i32, Query, description = "First year of registration."),
        ("to" = i32, Query, description = "Last year of registration."),
        ("format" = inline(Option<ExportFormat>), Query, description = "`json` (default, with the report) or `csv` (the rows)."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The dataset.", content(
            (CtdcExport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn ctdc(State(s): State<AppState>, caller: Caller, p: Params) -> Result<Response, ApiError> {
    p.only(CTDC_PARAMS)?;
    let office = p.get("office").cloned();
    let from = required_year(&p, "from")?;
    let to = required_year(&p, "to")?;
    let csv = csv_wanted(&p)?;
    let export = s.app.export_ctdc(&caller, office, from, to).await?;
    Ok(if csv {
        csv_response(ctdc_csv(&export))
    } else {
        Json(export).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::openapi::params::{documented, sorted};

    #[test]
    fn both_exports_document_exactly_the_query_parameters_they_read() {
        assert_eq!(documented::<__path_htcds>(), sorted(HTCDS_PARAMS));
        assert_eq!(documented::<__path_ctdc>(), sorted(CTDC_PARAMS));
    }
}
