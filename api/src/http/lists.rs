//! `GET /api/v1/cases` (the work queue, or a person search with `full_name` and `birth_date`) and
//! `GET /api/v1/deadlines`, read from the projections' read models.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::{Stage, Status};
use ptl_projections::queries::{DeadlineRow, WorkQueueRow};
use serde::Serialize;

use super::error::ApiError;
use super::extract::Params;
use super::AppState;
use crate::app::lists::{DeadlineQuery, Page, PersonQuery, WorkQueueQuery};
use crate::app::Caller;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", get(work_queue))
        .route("/api/v1/deadlines", get(deadlines))
}

/// A page of a list as the API sends it.
#[derive(Debug, Serialize)]
pub struct ListBody<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for ListBody<T> {
    fn from(p: Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

fn work_queue_query(p: &Params) -> Result<WorkQueueQuery, ApiError> {
    p.only(&[
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
    ])?;
    let person = match (p.get("full_name"), p.date("birth_date")?) {
        (Some(name), Some(birth_date)) => Some(PersonQuery {
            full_name: name.clone(),
            birth_date,
            reason: p.get("reason").cloned(),
        }),
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

async fn work_queue(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<ListBody<WorkQueueRow>>, ApiError> {
    let q = work_queue_query(&p)?;
    Ok(Json(s.app.work_queue(&caller, q).await?.into()))
}

async fn deadlines(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<ListBody<DeadlineRow>>, ApiError> {
    p.only(&["office", "state", "due_before", "limit", "cursor"])?;
    let q = DeadlineQuery {
        office: p.get("office").cloned(),
        state: p.parsed::<DeadlineState>("state")?,
        due_before: p.date("due_before")?,
        limit: p.limit()?,
        cursor: p.get("cursor").cloned(),
    };
    Ok(Json(s.app.deadlines(&caller, q).await?.into()))
}
