//! `POST /api/v1/cases/{id}/actions/{action}`: one procedure action on a case.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cases::case_response;
use super::error::ApiError;
use super::extract::{Act, ActionSegment, CaseAccess};
use super::openapi::{
    action_bodies, problems, AcceptLanguage, ActionRequest, CaseId, Etag, IdempotencyKey, IfMatch,
};
use super::AppState;
use crate::models::parse_action;
use crate::schema::domain::ClientAction;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(act))
}

/// The extractors answer, in order: 401, 404 (case), 404 (action), 413/400/415 (body), 428/400
/// (`If-Match`), 400 (`Idempotency-Key`); the application then: the replay, 403, 412, 409, 422.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/actions/{action}",
    operation_id = "postAction",
    tag = "cases",
    summary = "Perform a procedure action",
    description = "One action of the procedure; the body is the action's fields (the schema named \
                   for it in `x-action-bodies`; every body has `occurred_on`). Answers 200 with \
                   the case view and its new ETag.",
    params(
        CaseId,
        ("action" = ClientAction, Path, description = "The action; any other name is 404 `unknown_action`."),
        IfMatch,
        IdempotencyKey,
        AcceptLanguage,
    ),
    request_body(
        content = inline(ActionRequest),
        content_type = "application/json",
        description = "The action's body: see `x-action-bodies` for which schema.",
    ),
    responses(
        (status = 200, description = "Done: the case view.", body = crate::view::CaseView, headers(
            ("ETag" = inline(Etag), description = "The case's version, quoted (`\"3\"`): send it back as `If-Match` with the next action."),
        )),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict),
        (status = 412, response = problems::PreconditionFailed),
        (status = 413, response = problems::PayloadTooLarge),
        (status = 415, response = problems::UnsupportedMediaType),
        (status = 422, response = problems::UnprocessableEntity),
        (status = 428, response = problems::PreconditionRequired),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
    extensions(("x-action-bodies" = json!(action_bodies()))),
)]
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
