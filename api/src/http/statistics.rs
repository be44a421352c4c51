//! `GET /api/v1/stats` and `GET /api/v1/stats.csv`: the regional report's figures.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ptl_projections::stats::{stats_csv, GroupBy, Stats};
use serde::Serialize;

use super::error::ApiError;
use super::extract::Params;
use super::AppState;
use crate::app::lists::{Disclosure, StatsRequest};
use crate::app::Caller;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stats", get(json))
        .route("/api/v1/stats.csv", get(csv))
}

fn stats_request(p: &Params) -> Result<StatsRequest, ApiError> {
    p.only(&["office", "from", "to", "group_by", "disclosure"])?;
    Ok(StatsRequest {
        office: p.get("office").cloned(),
        from: p.date("from")?,
        to: p.date("to")?,
        group_by: match p.get("group_by").map(String::as_str) {
            None => GroupBy::None,
            Some("office") => GroupBy::Office,
            Some("month") => GroupBy::Month,
            Some(_) => return Err(ApiError::bad("group_by", "office or month")),
        },
        disclosure: match p.get("disclosure").map(String::as_str) {
            None | Some("internal") => Disclosure::Internal,
            Some("public") => Disclosure::Public,
            Some(_) => return Err(ApiError::bad("disclosure", "public or internal")),
        },
    })
}

/// A report: the office it covers and its figures.
#[derive(Debug, Serialize)]
struct Report {
    office: String,
    #[serde(flatten)]
    stats: Stats,
}

async fn json(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<Report>, ApiError> {
    let q = stats_request(&p)?;
    let (office, stats) = s.app.statistics(&caller, q).await?;
    Ok(Json(Report { office, stats }))
}

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
