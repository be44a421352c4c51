//! `GET /api/v1/stats` and `GET /api/v1/stats.csv`: the regional report's figures, with the body
//! the JSON route sends; `GET /api/v1/reports/regional`: the regional report (`procedure.md`,
//! "Reporting") as CSV, per district.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use ptl_projections::stats::{stats_csv, GroupBy};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::Params;
use super::openapi::{
    problems, AcceptLanguage, Disclosure as DisclosureParam, GroupBy as GroupByParam,
};
use super::AppState;
use crate::app::lists::{Disclosure, StatsRequest};
use crate::app::Caller;
use crate::schema::OfficeCode;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(json))
        .routes(routes!(csv))
        .routes(routes!(regional_report))
}

/// Report figures. `null` is a suppressed figure (`disclosure=public`) or, for the median, no
/// decision in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Figures {
    /// Applications registered.
    pub applications: Option<u64>,
    /// Of them, children.
    pub children: Option<u64>,
    /// Of them, foreigners and stateless persons.
    pub foreigners: Option<u64>,
    /// Applications by referral source.
    pub by_referral_source: BTreeMap<String, Option<u64>>,
    /// Interviews.
    pub interviews: Option<u64>,
    /// Files submitted to a deciding authority.
    pub files_submitted: Option<u64>,
    /// Files returned.
    pub files_returned: Option<u64>,
    /// Statuses granted.
    pub granted: Option<u64>,
    /// Refusals.
    pub refused: Option<u64>,
    /// Certificates handed over.
    pub certificates_handed_over: Option<u64>,
    /// Needs assessments.
    pub needs_assessments: Option<u64>,
    /// Rehabilitation plans approved.
    pub rehabilitation_plans: Option<u64>,
    /// Shelter placements.
    pub shelter_placements: Option<u64>,
    /// Payments.
    pub payments: Option<u64>,
    /// Deadlines missed.
    pub deadlines_missed: Option<u64>,
    /// Median days from registration to decision.
    pub median_days_to_decision: Option<f64>,
    /// Files at a deciding authority (stock).
    pub pending_decision: Option<u64>,
    /// Open cases (stock).
    pub open_cases: Option<u64>,
    /// Cases with an overdue deadline (stock).
    pub overdue: Option<u64>,
    /// Names of the suppressed figures (`disclosure=public` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub suppressed: Vec<String>,
}

impl From<ptl_projections::stats::Figures> for Figures {
    fn from(f: ptl_projections::stats::Figures) -> Self {
        Self {
            applications: f.applications,
            children: f.children,
            foreigners: f.foreigners,
            by_referral_source: f.by_referral_source,
            interviews: f.interviews,
            files_submitted: f.files_submitted,
            files_returned: f.files_returned,
            granted: f.granted,
            refused: f.refused,
            certificates_handed_over: f.certificates_handed_over,
            needs_assessments: f.needs_assessments,
            rehabilitation_plans: f.rehabilitation_plans,
            shelter_placements: f.shelter_placements,
            payments: f.payments,
            deadlines_missed: f.deadlines_missed,
            median_days_to_decision: f.median_days_to_decision,
            pending_decision: f.pending_decision,
            open_cases: f.open_cases,
            overdue: f.overdue,
            suppressed: f.suppressed,
        }
    }
}

/// One group of a breakdown: its key and its figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsGroup {
    /// Office code or `YYYY-MM`.
    pub key: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// A statistics report.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsReport {
    /// The office reported on (with its districts).
    pub office: String,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// The date the stock figures are as of.
    pub stock_as_of: NaiveDate,
    /// Totals.
    pub totals: Figures,
    /// The breakdown (empty without `group_by`).
    pub groups: Vec<StatsGroup>,
}

impl StatsReport {
    fn new(office: String, s: ptl_projections::stats::Stats) -> Self {
        Self {
            office,
            from: s.from,
            to: s.to,
            stock_as_of: s.stock_as_of,
            totals: s.totals.into(),
            groups: s
                .groups
                .into_iter()
                .map(|g| StatsGroup {
                    key: g.key,
                    figures: g.figures.into(),
                })
                .collect(),
        }
    }
}

/// The query parameters both routes read (any other is a 400), documented by their attributes
/// (a test compares).
const STATS_PARAMS: &[&str] = &["office", "from", "to", "group_by", "disclosure"];

fn stats_request(p: &Params) -> Result<StatsRequest, ApiError> {
    p.only(STATS_PARAMS)?;
    Ok(StatsRequest {
        office: p.get("office").cloned(),
        from: p.date("from")?,
        to: p.date("to")?,
        group_by: match p.get("group_by").map(String::as_str) {
            None => GroupBy::None,
            Some("office") => GroupBy::Office,
            Some("month") => GroupBy::Month,
            Some("successor") => GroupBy::Successor,
            Some(_) => return Err(ApiError::bad("group_by", "office, successor or month")),
        },
        disclosure: match p.get("disclosure").map(String::as_str) {
            None | Some("internal") => Disclosure::Internal,
            Some("public") => Disclosure::Public,
            Some(_) => return Err(ApiError::bad("disclosure", "public or internal")),
        },
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/stats",
    operation_id = "stats",
    tag = "stats",
    summary = "Report figures",
    description = "Flow figures count events whose business date is in [from, to]; stock figures \
                   are as of `to`. Not for admins.",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Default: the caller's office."),
        ("from" = Option<NaiveDate>, Query, description = "Default: 1 January of the current year."),
        ("to" = Option<NaiveDate>, Query, description = "Default: today."),
        ("group_by" = inline(Option<GroupByParam>), Query, description = "Breakdown (default none)."),
        ("disclosure" = inline(Option<DisclosureParam>), Query, description = "`public`: only a whole calendar month, quarter or year that has ended (400 otherwise; without `from` and `to`, the last complete month); small counts and complementary cells suppressed, every published count rounded to a multiple of 5 by keyed random rounding (the same cell always rounds the same way)."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The report.", body = StatsReport),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn json(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<StatsReport>, ApiError> {
    let q = stats_request(&p)?;
    let (office, stats) = s.app.statistics(&caller, q).await?;
    Ok(Json(StatsReport::new(office, stats)))
}

#[utoipa::path(
    get,
    path = "/api/v1/stats.csv",
    operation_id = "statsCsv",
    tag = "stats",
    summary = "Report figures as CSV",
    description = "Flow figures count events whose business date is in [from, to]; stock figures \
                   are as of `to`. Not for admins.",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Default: the caller's office."),
        ("from" = Option<NaiveDate>, Query, description = "Default: 1 January of the current year."),
        ("to" = Option<NaiveDate>, Query, description = "Default: today."),
        ("group_by" = inline(Option<GroupByParam>), Query, description = "Breakdown (default none)."),
        ("disclosure" = inline(Option<DisclosureParam>), Query, description = "`public`: only a whole calendar month, quarter or year that has ended (400 otherwise; without `from` and `to`, the last complete month); small counts and complementary cells suppressed, every published count rounded to a multiple of 5 by keyed random rounding (the same cell always rounds the same way)."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The report as CSV.", body = String, content_type = "text/csv"),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn csv(State(s): State<AppState>, caller: Caller, p: Params) -> Result<Response, ApiError> {
    let q = stats_request(&p)?;
    let (_, stats) = s.app.statistics(&caller, q).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        stats_csv(&stats),
    )
        .into_response())
}

/// The query parameters of the regional report.
const REPORT_PARAMS: &[&str] = &["office", "from", "to", "disclosure"];

#[utoipa::path(
    get,
    path = "/api/v1/reports/regional",
    operation_id = "regionalReport",
    tag = "stats",
    summary = "The regional report as CSV",
    description = "The figures of the regional report (`procedure.md`, Reporting) for an office \
                   and a period: a `total` line, then one line per office of the period (the \
                   districts). Flow figures count events whose business date is in [from, to]; \
                   stock figures are as of `to`. With `disclosure=public`, the public rules of \
                   `/stats`. Not for admins.",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Default: the caller's office."),
        ("from" = Option<NaiveDate>, Query, description = "Default: 1 January of the current year."),
        ("to" = Option<NaiveDate>, Query, description = "Default: today."),
        ("disclosure" = inline(Option<DisclosureParam>), Query, description = "`public`: only a whole calendar month, quarter or year that has ended (400 otherwise; without `from` and `to`, the last complete month); small counts and complementary cells suppressed, every published count rounded to a multiple of 5 by keyed random rounding. Default `internal`."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The report as CSV.", body = String, content_type = "text/csv"),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn regional_report(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    p.only(REPORT_PARAMS)?;
    let q = StatsRequest {
        group_by: GroupBy::Office,
        ..stats_request(&p)?
    };
    let (_, stats) = s.app.statistics(&caller, q).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        stats_csv(&stats),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::openapi::params::{documented, sorted};

    #[test]
    fn both_reports_document_exactly_the_query_parameters_they_read() {
        let read = sorted(STATS_PARAMS);
        assert_eq!(documented::<__path_json>(), read);
        assert_eq!(documented::<__path_csv>(), read);
        assert_eq!(
            documented::<__path_regional_report>(),
            sorted(REPORT_PARAMS)
        );
    }
}
