//! `GET /api/v1/cases` (the work queue, or a person search with `full_name`, `birth_date` and
//! `reason`), `POST /api/v1/person-search` (the same search with its terms in the body) and
//! `GET /api/v1/deadlines`, read from the projections' read models, with the bodies they send.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::procedure::DeadlineKind;
use ptl_domain::{Stage, Status};
use ptl_projections::queries::{DeadlineRow, WorkQueueRow};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Params, SearchBody};
use super::openapi::{problems, AcceptLanguage, Escalated, Page as PageParams};
use super::AppState;
use crate::app::lists::{
    DeadlineQuery, Elsewhere, Page, PersonQuery, PersonSearch, WorkQueue, WorkQueueQuery,
};
use crate::app::Caller;
use crate::models::{parse_person_search, PersonSearchBody, MAX_SEARCH_REASON_CHARS};
use crate::schema::{domain, OfficeCode};

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(work_queue))
        .routes(routes!(person_search))
        .routes(routes!(deadlines))
}

/// One case of the work queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkQueueItem {
    /// Case id.
    pub case_id: Uuid,
    /// Register number.
    pub register_no: String,
    /// Responsible office now.
    pub office: String,
    /// Stage.
    #[schema(value_type = domain::Stage)]
    pub stage: Stage,
    /// Status.
    #[schema(value_type = domain::Status)]
    pub status: Status,
    /// Assigned official.
    pub assignee: Option<String>,
    /// Governing procedure definition id.
    pub procedure: String,
    /// Receipt date.
    pub received_on: NaiveDate,
    /// The applicant was a child on the receipt date.
    pub child: bool,
    /// Foreign or stateless applicant.
    pub foreigner: bool,
    /// The authority the file is with now.
    pub submitted_to: Option<String>,
    /// Every authority the file was ever submitted to.
    pub ever_submitted_to: Vec<String>,
    /// Earliest due date of a running deadline.
    pub next_due_on: Option<NaiveDate>,
    /// Running deadlines.
    pub open_deadlines: u64,
    /// Deadlines whose miss the engine recorded.
    pub missed_recorded: u64,
    /// A running deadline is past due today.
    pub overdue: bool,
    /// Business date of the earliest recorded miss among the running deadlines.
    pub first_missed_on: Option<NaiveDate>,
    /// Escalation today: 0 none, 1 the supervisor of the office, 2 the regional office.
    #[schema(maximum = 2)]
    pub escalation_level: u8,
    /// Version of the case the row reflects.
    pub last_sequence: u64,
    /// Recorded time of that event.
    pub updated_at: DateTime<Utc>,
}

impl From<WorkQueueRow> for WorkQueueItem {
    fn from(r: WorkQueueRow) -> Self {
        Self {
            case_id: r.case_id,
            register_no: r.register_no,
            office: r.office,
            stage: r.stage,
            status: r.status,
            assignee: r.assignee,
            procedure: r.procedure,
            received_on: r.received_on,
            child: r.child,
            foreigner: r.foreigner,
            submitted_to: r.submitted_to,
            ever_submitted_to: r.ever_submitted_to,
            next_due_on: r.next_due_on,
            open_deadlines: r.open_deadlines,
            missed_recorded: r.missed_recorded,
            overdue: r.overdue,
            first_missed_on: r.first_missed_on,
            escalation_level: r.escalation_level,
            last_sequence: r.last_sequence,
            updated_at: r.updated_at,
        }
    }
}

/// Cases of the person outside the caller's scope: how many one office holds (never which).
#[derive(Debug, Serialize, ToSchema)]
pub struct ElsewhereCount {
    /// The office responsible for them.
    pub office: String,
    /// How many.
    pub count: u64,
}

fn elsewhere(list: Vec<Elsewhere>) -> Vec<ElsewhereCount> {
    list.into_iter()
        .map(|e| ElsewhereCount {
            office: e.office,
            count: e.count,
        })
        .collect()
}

/// A page of the work queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// The cases.
    pub items: Vec<WorkQueueItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Person search only: the person's cases outside the caller's scope, counted per office.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<Vec<ElsewhereCount>>,
}

impl From<WorkQueue> for CaseList {
    fn from(q: WorkQueue) -> Self {
        Self {
            items: q.page.items.into_iter().map(WorkQueueItem::from).collect(),
            next_cursor: q.page.next_cursor,
            elsewhere: q.elsewhere.map(elsewhere),
        }
    }
}

/// What a person search finds.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonSearchResult {
    /// The work-queue rows of the person's cases in the caller's scope.
    pub items: Vec<WorkQueueItem>,
    /// The person's cases outside the caller's scope, counted per office.
    pub elsewhere: Vec<ElsewhereCount>,
}

impl From<PersonSearch> for PersonSearchResult {
    fn from(p: PersonSearch) -> Self {
        Self {
            items: p.items.into_iter().map(WorkQueueItem::from).collect(),
            elsewhere: elsewhere(p.elsewhere),
        }
    }
}

/// One deadline of the deadline list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineListItem {
    /// Case id.
    pub case_id: Uuid,
    /// Deadline name.
    pub name: String,
    /// Rule kind.
    #[schema(value_type = domain::DeadlineKind)]
    pub kind: DeadlineKind,
    /// Start date.
    pub start: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// Date fulfilled.
    pub fulfilled_on: Option<NaiveDate>,
    /// Date cancelled (the case closed).
    pub cancelled_on: Option<NaiveDate>,
    /// The engine recorded the miss.
    pub missed_recorded: bool,
    /// The case's office.
    pub office: String,
    /// State today.
    #[schema(value_type = domain::DeadlineState)]
    pub state: DeadlineState,
    /// Days from today to the due date (negative when past).
    pub days_left: i64,
    /// Version of the case the row reflects.
    pub last_sequence: u64,
}

impl From<DeadlineRow> for DeadlineListItem {
    fn from(r: DeadlineRow) -> Self {
        Self {
            case_id: r.case_id,
            name: r.name,
            kind: r.kind,
            start: r.start,
            due_on: r.due_on,
            fulfilled_on: r.fulfilled_on,
            cancelled_on: r.cancelled_on,
            missed_recorded: r.missed_recorded,
            office: r.office,
            state: r.state,
            days_left: r.days_left,
            last_sequence: r.last_sequence,
        }
    }
}

/// A page of deadlines.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineList {
    /// The deadlines.
    pub items: Vec<DeadlineListItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<DeadlineRow>> for DeadlineList {
    fn from(p: Page<DeadlineRow>) -> Self {
        Self {
            items: p.items.into_iter().map(DeadlineListItem::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// The query parameters `GET /api/v1/cases` reads (any other is a 400); the path attribute of
/// [`work_queue`] documents each (a test compares the two).
const WORK_QUEUE_PARAMS: &[&str] = &[
    "office",
    "stage",
    "status",
    "assignee",
    "overdue",
    "upcoming",
    "escalated",
    "due_before",
    "full_name",
    "birth_date",
    "limit",
    "cursor",
    "reason",
];

/// The query parameters `GET /api/v1/deadlines` reads, documented by [`deadlines`]'s attribute.
const DEADLINE_PARAMS: &[&str] = &["office", "state", "due_before", "limit", "cursor"];

/// The `reason` of a person search in the query: required (it goes to the access log of every
/// case found), not blank, at most [`MAX_SEARCH_REASON_CHARS`] characters; 400 otherwise.
fn search_reason(p: &Params) -> Result<String, ApiError> {
    let reason = p.get("reason").map(|r| r.trim()).unwrap_or_default();
    if reason.is_empty() {
        return Err(ApiError::bad(
            "reason",
            "a person search needs a reason (it is written to the access log of every case found)",
        ));
    }
    if reason.chars().count() > MAX_SEARCH_REASON_CHARS {
        return Err(ApiError::bad(
            "reason",
            format!("at most {MAX_SEARCH_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_string())
}

fn work_queue_query(p: &Params) -> Result<WorkQueueQuery, ApiError> {
    p.only(WORK_QUEUE_PARAMS)?;
    let person = match (p.get("full_name"), p.date("birth_date")?) {
        (Some(name), Some(birth_date)) => Some(PersonQuery {
            full_name: name.clone(),
            birth_date,
            reason: search_reason(p)?,
        }),
        (None, None) if p.get("reason").is_some() => {
            return Err(ApiError::bad(
                "reason",
                "only a person search (full_name and birth_date) takes a reason",
            ))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::bad(
                "full_name",
                "a person search needs both full_name and birth_date",
            ))
        }
    };
    Ok(WorkQueueQuery {
        office: p.get("office").cloned(),
        stage: p.parsed::<Stage>("stage")?,
        status: p.parsed::<Status>("status")?,
        assignee: p.get("assignee").cloned(),
        overdue: p.flag("overdue")?,
        upcoming: p.flag("upcoming")?,
        escalated: match p.get("escalated").map(String::as_str) {
            None => None,
            Some("1") => Some(1),
            Some("2") => Some(2),
            Some(_) => {
                return Err(ApiError::bad(
                    "escalated",
                    "1 (supervisor) or 2 (regional office)",
                ))
            }
        },
        due_before: p.date("due_before")?,
        person,
        limit: p.limit()?,
        cursor: p.get("cursor").cloned(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/cases",
    operation_id = "listCases",
    tag = "lists",
    summary = "Work queue and person search",
    description = "Cases in the caller's scope. A person search needs `full_name`, `birth_date` and \
                   `reason` together (400 otherwise); it does what `POST /api/v1/person-search` \
                   does (prefer that form: it keeps the name out of URLs and logs): exact match \
                   after normalisation, rows only for cases in scope and `elsewhere` counts per \
                   office for the others, written to the access log of every case found, limited \
                   per user (429); caseworkers, supervisors, social workers and decision officers \
                   only.",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Only this office (within scope)."),
        ("stage" = Option<domain::Stage>, Query, description = "Only this stage."),
        ("status" = Option<domain::Status>, Query, description = "Only this status."),
        ("assignee" = Option<String>, Query, description = "Only cases assigned to this user id."),
        ("overdue" = Option<bool>, Query, description = "Only cases with an overdue deadline."),
        ("upcoming" = Option<bool>, Query, description = "Only cases with a running deadline due from today to the configured number of working days ahead."),
        ("escalated" = inline(Option<Escalated>), Query, description = "Only cases escalated at least to this level today: `1` the supervisor of the office (a recorded miss), `2` the regional office."),
        ("due_before" = Option<NaiveDate>, Query, description = "Only cases with a deadline due before this date."),
        ("full_name" = Option<String>, Query, description = "Person search: full name."),
        ("birth_date" = Option<NaiveDate>, Query, description = "Person search: date of birth."),
        ("reason" = Option<String>, Query, description = "Why the person search is made: required with `full_name` and `birth_date`, at most 500 characters; written to the access log of every case found."),
        PageParams,
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "A page of cases.", body = CaseList),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 429, response = problems::TooManySearches),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn work_queue(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<CaseList>, ApiError> {
    let q = work_queue_query(&p)?;
    Ok(Json(s.app.work_queue(&caller, q).await?.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/person-search",
    operation_id = "searchPerson",
    tag = "lists",
    summary = "Person search",
    description = "Caseworkers, supervisors, social workers and decision officers. Exact match \
                   on the full name and birth date after normalisation (Unicode NFC, case, \
                   whitespace, apostrophe variants, zero-width characters, Latin letters that \
                   look Cyrillic). `items`: the work-queue rows of the person's cases in the \
                   caller's scope; `elsewhere`: how many cases each other office holds, never \
                   which. Every case found gets an entry in its access log with the caller and \
                   the `reason`. Limited per user (default 30 a minute; 429 with `Retry-After` \
                   beyond).",
    params(AcceptLanguage),
    request_body(content = PersonSearchBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The person's cases.", body = PersonSearchResult),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 413, response = problems::PayloadTooLarge),
        (status = 415, response = problems::UnsupportedMediaType),
        (status = 422, response = problems::UnprocessableEntity),
        (status = 429, response = problems::TooManySearches),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn person_search(
    State(s): State<AppState>,
    caller: Caller,
    SearchBody(body): SearchBody,
) -> Result<Json<PersonSearchResult>, ApiError> {
    let input = parse_person_search(&body.value);
    Ok(Json(s.app.person_search(&caller, input).await?.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/deadlines",
    operation_id = "listDeadlines",
    tag = "lists",
    summary = "Deadlines",
    params(
        ("office" = inline(Option<OfficeCode>), Query, description = "Only this office (within scope)."),
        ("state" = Option<domain::DeadlineState>, Query, description = "Only deadlines in this state today."),
        ("due_before" = Option<NaiveDate>, Query, description = "Only deadlines due before this date."),
        PageParams,
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "A page of deadlines.", body = DeadlineList),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn deadlines(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<DeadlineList>, ApiError> {
    p.only(DEADLINE_PARAMS)?;
    let q = DeadlineQuery {
        office: p.get("office").cloned(),
        state: p.parsed::<DeadlineState>("state")?,
        due_before: p.date("due_before")?,
        kinds: Vec::new(),
        limit: p.limit()?,
        cursor: p.get("cursor").cloned(),
    };
    Ok(Json(s.app.deadlines(&caller, q).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::openapi::params::{documented, sorted};

    #[test]
    fn the_lists_document_exactly_the_query_parameters_they_read() {
        assert_eq!(documented::<__path_work_queue>(), sorted(WORK_QUEUE_PARAMS));
        assert_eq!(documented::<__path_deadlines>(), sorted(DEADLINE_PARAMS));
    }
}
