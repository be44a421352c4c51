//! A case's record for those who check it: `GET /api/v1/cases/{id}/events`, `/verify`,
//! `/access-log` and `/deadlines/{name}`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ptl_domain::deadlines::{DeadlineState, Explanation};
use ptl_domain::Role;
use ptl_engine::pipeline::{RecordedEvent, Verification};
use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{CaseAccess, DeadlineSegment};
use super::AppState;
use crate::schema::{AccessEntry, AccessLog, EventActor, EventItem, EventList};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{id}/events", get(events))
        .route("/api/v1/cases/{id}/verify", get(verify))
        .route("/api/v1/cases/{id}/access-log", get(access_log))
        .route("/api/v1/cases/{id}/deadlines/{name}", get(deadline))
}

fn event_item(e: RecordedEvent) -> EventItem {
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
    EventItem {
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

async fn events(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
) -> Result<Json<EventList>, ApiError> {
    let history = s.app.history(&caller, &case).await?;
    Ok(Json(EventList {
        case_id: case.id,
        events: history.into_iter().map(event_item).collect(),
    }))
}

async fn verify(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(s.app.verify(&caller, &case).await?))
}

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

/// One deadline of a case with its explanation.
#[derive(Debug, Serialize)]
struct DeadlineResponse {
    case_id: Uuid,
    deadline: Explanation,
    state: Option<DeadlineState>,
    days_left: Option<i64>,
}

async fn deadline(
    State(s): State<AppState>,
    CaseAccess { case, .. }: CaseAccess,
    DeadlineSegment(name): DeadlineSegment,
) -> Result<Json<DeadlineResponse>, ApiError> {
    let report = s.app.explain_deadline(&case, &name)?;
    Ok(Json(DeadlineResponse {
        case_id: case.id,
        deadline: report.explanation,
        state: report.state,
        days_left: report.days_left,
    }))
}
