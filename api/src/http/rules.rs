//! `GET /api/v1/procedures` and `GET /api/v1/calendars/{year}`: the rules as the engine uses them
//! (`procedure.md`, "Procedure versions": every definition, its marks and its source file; the
//! working-day calendar with the reason and source of each non-working day).

use axum::extract::{RawPathParams, State};
use axum::Json;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::Params;
use super::history::DeadlineRule;
use super::openapi::{problems, AcceptLanguage};
use super::AppState;
use crate::app::rules::{DefinitionInfo, NonWorkingKind};
use crate::app::Caller;
use crate::schema::domain;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(procedures))
        .routes(routes!(calendar_year))
}

/// A length of time.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodBody {
    /// How many units.
    pub length: u32,
    /// Days or months.
    #[schema(value_type = domain::Unit)]
    pub unit: ptl_domain::procedure::Unit,
}

/// The rule that moves a due date off a non-working day, with its mark.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollingRuleBody {
    /// `law` or `default`.
    #[schema(value_type = domain::Mark)]
    pub mark: ptl_domain::procedure::Mark,
    /// Where it comes from.
    pub source: String,
    /// What it does.
    pub rule: String,
}

/// One row of a definition's deadline table.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineRow {
    /// The deadline kind (`interview`, `verification_reply`, ...).
    #[schema(value_type = domain::DeadlineKind)]
    pub kind: ptl_domain::procedure::DeadlineKind,
    /// The rule in words, with its mark.
    pub description: String,
    /// The rule as data: length, unit, kind of days, `roll_to_working_day`, start, `mark`.
    #[serde(flatten)]
    pub rule: DeadlineRule,
}

/// A procedure definition exactly as the engine uses it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureBody {
    /// Identifier (`ua-417-2021`).
    pub id: String,
    /// Title.
    pub title: String,
    /// The legal acts it implements.
    pub sources: Vec<String>,
    /// First registration date it governs.
    pub effective_from: NaiveDate,
    /// Last registration date it governs (`null`: the latest definition).
    pub effective_to: Option<NaiveDate>,
    /// Office code of the deciding authority (`UA-MSP`, `UA-NSS`).
    pub deciding_authority: String,
    /// The calendar its working days and rolling count on.
    pub calendar: String,
    /// Validity of a granted status (`null`: unlimited).
    pub status_validity: Option<PeriodBody>,
    /// Longest single extension of a status.
    pub status_extension_max: Option<PeriodBody>,
    /// The rolling rule (`null` in a definition that does not document it).
    pub rolling: Option<RollingRuleBody>,
    /// The deadline table.
    pub deadlines: Vec<DeadlineRow>,
    /// The file it was read from (built-in: `<id>.toml`).
    pub file: String,
    /// Hex SHA-256 of that file, as recorded in the cases it governs.
    pub sha256: String,
}

fn period(p: Option<ptl_domain::procedure::Period>) -> Option<PeriodBody> {
    p.map(|p| PeriodBody {
        length: p.length,
        unit: p.unit,
    })
}

impl From<DefinitionInfo> for ProcedureBody {
    fn from(i: DefinitionInfo) -> Self {
        let d = &*i.definition;
        Self {
            id: d.id.clone(),
            title: d.title.clone(),
            sources: d.sources.clone(),
            effective_from: d.effective_from,
            effective_to: i.effective_to,
            deciding_authority: d.deciding_authority.clone(),
            calendar: d.calendar.clone(),
            status_validity: period(d.status_validity),
            status_extension_max: period(d.status_extension_max),
            rolling: d.rolling.as_ref().map(|r| RollingRuleBody {
                mark: r.mark,
                source: r.source.clone(),
                rule: "a deadline whose last day is a non-working day ends on the next working \
                       day, for each deadline whose `roll_to_working_day` is true"
                    .into(),
            }),
            deadlines: d
                .deadlines
                .iter()
                .map(|(kind, rule)| DeadlineRow {
                    kind: *kind,
                    description: rule.describe(),
                    rule: rule.clone().into(),
                })
                .collect(),
            file: i.file,
            sha256: d.content_hash.clone(),
        }
    }
}

/// Every procedure definition, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureList {
    /// The definitions.
    pub items: Vec<ProcedureBody>,
}

#[utoipa::path(
    get,
    path = "/api/v1/procedures",
    operation_id = "listProcedures",
    tag = "rules",
    summary = "Procedure definitions",
    description = "Every procedure definition the engine uses (built-in files with the \
                   administrator's procedures directory applied), oldest first: effective dates, \
                   deciding authority, calendar, the deadline table with each rule's `law` or \
                   `default` mark and whether it rolls to the next working day, the rolling rule, \
                   and the SHA-256 of the file. No personal data: every role may read it.",
    params(AcceptLanguage),
    responses(
        (status = 200, description = "The definitions.", body = ProcedureList),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn procedures(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<ProcedureList>, ApiError> {
    p.only(&[])?;
    Ok(Json(ProcedureList {
        items: s
            .app
            .procedures(&caller)
            .into_iter()
            .map(ProcedureBody::from)
            .collect(),
    }))
}

/// What kind of non-working day.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKindBody {
    /// Saturday or Sunday.
    Weekend,
    /// A public holiday that is a day off.
    Holiday,
    /// A weekday made a day off: a statutory shift (Labour Code art. 67) or a Cabinet transfer.
    DayOff,
}

/// A day of the calendar with why it is special.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDayBody {
    /// The date.
    pub date: NaiveDate,
    /// The kind of day.
    pub kind: DayKindBody,
    /// Why: the holiday's name, the shifted holiday, or the Cabinet order of a transfer.
    pub reason: String,
}

/// A special working day.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkingDayBody {
    /// The date.
    pub date: NaiveDate,
    /// Why it is a working day (the Cabinet order, or martial law for a holiday).
    pub reason: String,
}

/// A calendar's year.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarYearBody {
    /// The calendar's id (`ua`).
    pub calendar: String,
    /// The year.
    pub year: i32,
    /// The file the year was read from: its header cites the sources and says whether the year
    /// was checked against the Cabinet's orders.
    pub source: String,
    /// Every non-working day, weekends included, in date order.
    pub non_working_days: Vec<CalendarDayBody>,
    /// Saturdays and Sundays made working days by a Cabinet transfer.
    pub worked_weekend_days: Vec<WorkingDayBody>,
    /// Public holidays that are not days off (martial law), listed for documentation.
    pub holidays_not_observed: Vec<WorkingDayBody>,
}

#[utoipa::path(
    get,
    path = "/api/v1/calendars/{year}",
    operation_id = "calendarYear",
    tag = "rules",
    summary = "A calendar's non-working days of a year",
    description = "The working-day calendar as the engine counts on it (built-in files with the \
                   administrator's calendars directory applied): every non-working day of the \
                   year with its kind and reason, the worked weekend days, and the holidays that \
                   are not days off. A year without a file is 404 `not_found`.",
    params(
        ("year" = i32, Path, description = "The year, e.g. 2019."),
        ("calendar" = Option<String>, Query, description = "The calendar's id (default: the one the latest procedure definition counts on)."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The year.", body = CalendarYearBody),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn calendar_year(
    State(s): State<AppState>,
    caller: Caller,
    path: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    p: Params,
) -> Result<Json<CalendarYearBody>, ApiError> {
    let path = path.map_err(|e| ApiError::bad("path", e.body_text()))?;
    let raw = path
        .iter()
        .find(|(k, _)| *k == "year")
        .map_or("", |(_, v)| v);
    let year: i32 = raw
        .parse()
        .ok()
        .filter(|y| (1..=9999).contains(y))
        .ok_or_else(|| ApiError::bad("year", "a year such as 2019"))?;
    p.only(&["calendar"])?;
    let info = s
        .app
        .calendar_year(&caller, year, p.get("calendar").map(String::as_str))?;
    let day = |(date, reason): (NaiveDate, String)| WorkingDayBody { date, reason };
    Ok(Json(CalendarYearBody {
        calendar: info.calendar,
        year: info.year,
        source: info.source,
        non_working_days: info
            .non_working_days
            .into_iter()
            .map(|d| CalendarDayBody {
                date: d.date,
                kind: match d.kind {
                    NonWorkingKind::Weekend => DayKindBody::Weekend,
                    NonWorkingKind::Holiday => DayKindBody::Holiday,
                    NonWorkingKind::DayOff => DayKindBody::DayOff,
                },
                reason: d.reason,
            })
            .collect(),
        worked_weekend_days: info.worked_weekend_days.into_iter().map(day).collect(),
        holidays_not_observed: info.holidays_not_observed.into_iter().map(day).collect(),
    }))
}
