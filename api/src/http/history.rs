//! A case's record for those who check it: `GET /api/v1/cases/{id}/events`, `/verify`,
//! `/access-log` and `/deadlines/{name}`, with the bodies they send.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::procedure::{DayKind, Mark, SuspendCondition, Unit};
use ptl_domain::Role;
use ptl_engine::pipeline::RecordedEvent;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{CaseAccess, DeadlineSegment};
use super::openapi::{problems, AcceptLanguage, CaseId};
use super::AppState;
use crate::schema::domain;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(events))
        .routes(routes!(verify))
        .routes(routes!(access_log))
        .routes(routes!(deadline))
}

// ---------------------------------------------------------------------------------------------
// Events.

/// Who recorded an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    /// User id, or `system`.
    pub sub: String,
    /// Role, or `system`.
    #[schema(value_type = domain::Role)]
    pub role: String,
    /// Office (absent for the engine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
}

/// One event of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventItem {
    /// 1-based sequence (the case's version after it).
    pub sequence: u64,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Business date of the fact.
    pub occurred_on: NaiveDate,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub actor: EventActor,
    /// The event's data (free text appears as record ids, never as text).
    #[schema(value_type = Value)]
    pub data: serde_json::Value,
    /// Its keyed hash.
    pub hash: Option<String>,
    /// The previous event's hash.
    pub prev_hash: Option<String>,
}

impl From<RecordedEvent> for EventItem {
    fn from(e: RecordedEvent) -> Self {
        let body = serde_json::to_value(&e.event.body).unwrap_or(serde_json::Value::Null);
        let actor = if e.event.actor.role == Role::System {
            EventActor {
                sub: "system".into(),
                role: "system".into(),
                office: None,
            }
        } else {
            EventActor {
                sub: e.event.actor.sub.clone(),
                role: e.event.actor.role.to_string(),
                office: e.event.actor.office.clone(),
            }
        };
        Self {
            sequence: e.sequence,
            event_type: e.event.body.type_name().to_string(),
            occurred_on: e.event.occurred_on,
            recorded_at: e.event.recorded_at,
            actor,
            data: body.get("data").cloned().unwrap_or(serde_json::Value::Null),
            hash: e.hash,
            prev_hash: e.prev_hash,
        }
    }
}

/// A case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Case id.
    pub case_id: Uuid,
    /// Events in order.
    pub events: Vec<EventItem>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/events",
    operation_id = "getEvents",
    tag = "cases",
    summary = "The case's events",
    description = "Not for admins. The engine's own events have actor `system`.",
    params(CaseId, AcceptLanguage),
    responses(
        (status = 200, description = "The history.", body = EventList),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn events(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
) -> Result<Json<EventList>, ApiError> {
    let history = s.app.history(&caller, &case).await?;
    Ok(Json(EventList {
        case_id: case.id,
        events: history.into_iter().map(EventItem::from).collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Verification.

/// The result of verifying a case's hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Every event's hash recomputes and links.
    pub valid: bool,
    /// Number of events.
    pub events: u64,
    /// The first event that does not verify.
    pub first_invalid_sequence: Option<u64>,
}

impl From<ptl_engine::pipeline::Verification> for Verification {
    fn from(v: ptl_engine::pipeline::Verification) -> Self {
        Self {
            valid: v.valid,
            events: v.events,
            first_invalid_sequence: v.first_invalid_sequence,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/verify",
    operation_id = "verifyCase",
    tag = "cases",
    summary = "Verify the hash chain",
    description = "Auditors and supervisors.",
    params(CaseId, AcceptLanguage),
    responses(
        (status = 200, description = "The result.", body = Verification),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn verify(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(s.app.verify(&caller, &case).await?.into()))
}

// ---------------------------------------------------------------------------------------------
// Access log.

/// One read of the case's personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    /// Position in the case's chain, from 1.
    pub seq: i64,
    /// When the read happened.
    pub at: DateTime<Utc>,
    /// Reader's subject.
    pub sub: String,
    /// Reader's role.
    pub role: String,
    /// Reader's office.
    pub office: Option<String>,
    /// Stated reason.
    pub reason: Option<String>,
    /// What was read: a JSON array of record ids, as a string; for a look-up in the person index
    /// that found the case, `["duplicate-check"]` (a registration elsewhere) or
    /// `["person-search"]` (with the searcher's `reason`).
    pub what: String,
    /// Chain hash of this entry.
    pub hash: String,
}

/// The access log of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLog {
    /// Case id.
    pub case_id: Uuid,
    /// Reads in order.
    pub entries: Vec<AccessEntry>,
    /// The log's hash chain verifies.
    pub valid: bool,
    /// The first entry that does not verify.
    pub first_invalid_seq: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/access-log",
    operation_id = "getAccessLog",
    tag = "cases",
    summary = "Who read the case's personal data or looked its person up",
    description = "Auditors and supervisors.",
    params(CaseId, AcceptLanguage),
    responses(
        (status = 200, description = "The access log.", body = AccessLog),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn access_log(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
) -> Result<Json<AccessLog>, ApiError> {
    let log = s.app.access_log(&caller, &case).await?;
    Ok(Json(AccessLog {
        case_id: case.id,
        entries: log
            .entries
            .into_iter()
            .map(|e| AccessEntry {
                seq: e.seq,
                at: e.at,
                sub: e.sub,
                role: e.role,
                office: e.office,
                reason: e.reason,
                what: e.what,
                hash: e.hash,
            })
            .collect(),
        valid: log.first_invalid_seq.is_none(),
        first_invalid_seq: log.first_invalid_seq,
    }))
}

// ---------------------------------------------------------------------------------------------
// One deadline explained.

/// A non-working day passed over while counting.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedDay {
    /// The day.
    pub date: NaiveDate,
    /// Why it is not a working day.
    pub reason: String,
}

impl From<ptl_domain::calendar::SkippedDay> for SkippedDay {
    fn from(d: ptl_domain::calendar::SkippedDay) -> Self {
        Self {
            date: d.date,
            reason: d.reason,
        }
    }
}

/// A deadline rule as data.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineRule {
    /// How many units.
    pub length: u32,
    /// Days or months.
    #[schema(value_type = domain::Unit)]
    pub unit: Unit,
    /// Calendar or working days.
    #[schema(value_type = domain::DayKind)]
    pub days: DayKind,
    /// A due date on a non-working day moves to the next working day.
    pub roll_to_working_day: bool,
    /// What starts it, in words.
    pub starts_at: String,
    /// The legal source or default mark.
    #[schema(value_type = domain::Mark)]
    pub mark: Mark,
    /// Conditions that suspend it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<domain::SuspendCondition>, required = false)]
    pub suspended_while: Vec<SuspendCondition>,
}

impl From<ptl_domain::procedure::DeadlineRule> for DeadlineRule {
    fn from(r: ptl_domain::procedure::DeadlineRule) -> Self {
        Self {
            length: r.length,
            unit: r.unit,
            days: r.days,
            roll_to_working_day: r.roll_to_working_day,
            starts_at: r.starts_at,
            mark: r.mark,
            suspended_while: r.suspended_while,
        }
    }
}

/// How a deadline's due date was computed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    /// Deadline name.
    pub name: String,
    /// The rule in words.
    pub rule: String,
    /// The rule as data.
    pub rule_data: DeadlineRule,
    /// Definition id.
    pub definition: String,
    /// Content hash of the definition.
    pub definition_hash: String,
    /// Start date.
    pub start: NaiveDate,
    /// Kind of days.
    #[schema(value_type = domain::DayKind)]
    pub kind_of_days: DayKind,
    /// Due date as recorded in the case.
    pub due_on: NaiveDate,
    /// Non-working days skipped.
    pub days_skipped: Vec<SkippedDay>,
    /// Some counted day lay beyond the calendar: only weekends were skipped for it.
    pub beyond_calendar: bool,
    /// Suspensions applied.
    pub suspensions: Vec<String>,
    /// Notes.
    pub notes: Vec<String>,
}

impl From<ptl_domain::deadlines::Explanation> for Explanation {
    fn from(e: ptl_domain::deadlines::Explanation) -> Self {
        Self {
            name: e.name.into(),
            rule: e.rule,
            rule_data: e.rule_data.into(),
            definition: e.definition,
            definition_hash: e.definition_hash,
            start: e.start,
            kind_of_days: e.kind_of_days,
            due_on: e.due_on,
            days_skipped: e.days_skipped.into_iter().map(SkippedDay::from).collect(),
            beyond_calendar: e.beyond_calendar,
            suspensions: e.suspensions,
            notes: e.notes,
        }
    }
}

/// One deadline of a case with its explanation.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineExplanation {
    /// Case id.
    pub case_id: Uuid,
    /// The explanation.
    pub deadline: Explanation,
    /// State today.
    #[schema(value_type = Option<domain::DeadlineState>)]
    pub state: Option<DeadlineState>,
    /// Days from today to the due date.
    pub days_left: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/deadlines/{name}",
    operation_id = "getDeadline",
    tag = "cases",
    summary = "One deadline with its explanation",
    params(
        CaseId,
        ("name" = String, Path, description = "Deadline name (`interview`, `verification_reply:<request_id>`, ...); a name the case has not is 404 `not_found`."),
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The deadline.", body = DeadlineExplanation),
        (status = 401, response = problems::Unauthorized),
        (status = 404, response = problems::NotFound),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn deadline(
    State(s): State<AppState>,
    CaseAccess { case, .. }: CaseAccess,
    DeadlineSegment(name): DeadlineSegment,
) -> Result<Json<DeadlineExplanation>, ApiError> {
    let report = s.app.explain_deadline(&case, &name)?;
    Ok(Json(DeadlineExplanation {
        case_id: case.id,
        deadline: report.explanation.into(),
        state: report.state,
        days_left: report.days_left,
    }))
}
