//! `POST /api/v1/cases/{id}/actions/{action}`: one procedure action on a case.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::cases::case_response;
use super::error::ApiError;
use super::extract::{Act, ActionSegment, CaseAccess};
use super::AppState;
use crate::models::parse_action;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/cases/{id}/actions/{action}", post(act))
}

/// The extractors answer, in order: 401, 404 (case), 404 (action), 413/400/415 (body), 428/400
/// (`If-Match`), 400 (`Idempotency-Key`); the application then: the replay, 403, 412, 409, 422.
async fn act(
    State(s): State<AppState>,
    CaseAccess { caller, case }: CaseAccess,
    ActionSegment(name): ActionSegment,
    request: Act,
) -> Result<Response, ApiError> {
    let input = parse_action(name, &request.body.value);
    let done = s
        .app
        .act(&caller, &case, name, request.expected, input, request.key)
        .await?;
    Ok(case_response(
        StatusCode::OK,
        &done.view,
        done.version,
        None,
    ))
}
