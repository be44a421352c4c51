//! The one error type of the HTTP API and its RFC 9457 `application/problem+json` rendering.
//!
//! Every refusal a client can see is a variant of [`ApiError`], documented with the status it
//! returns, so the status, the stable `code` and the body shape live in one place (`api.md`,
//! "Errors"). Titles are translated (English and Ukrainian, from `Accept-Language`); details are
//! English sentences meant for logs and developers. A 500 never carries internals to the client:
//! the cause is logged instead.
//!
//! Handlers and extractors return an [`ApiError`]; its `IntoResponse` renders English and keeps
//! the error in the response's extensions, and the [`localize`] middleware renders it again in
//! the language the request asked for. That is the one place a problem becomes a response, and
//! the one place a 500 is logged. [`ApiJson`] wraps axum's JSON extractor so that even a
//! malformed body or a wrong content type gets our problem format instead of axum's plain-text
//! rejection.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ptl_domain::{DomainError, FieldError};
use serde::Serialize;

use crate::app;
use crate::auth::Unauthorized;
use crate::models::BodyError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Prefix of the problem `type` URIs: `urn:ptl:problem:<code>` (stable, one per `code`).
pub const PROBLEM_TYPE_PREFIX: &str = "urn:ptl:problem:";

/// Language of problem titles, chosen from `Accept-Language` (the catalogue's language type,
/// re-exported here where the API first had it).
pub use crate::i18n::Lang;

/// Every error the API returns. Variants are listed in the order `api.md` checks them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401 `unauthorized`: missing, malformed, unsigned, expired or revoked token.
    #[error("{detail}")]
    Unauthorized {
        /// Why (safe to show: it names no secret).
        detail: String,
    },
    /// 404 `case_not_found`: no such case, or out of the caller's scope (existence does not leak).
    #[error("case not found")]
    CaseNotFound,
    /// 404 `not_found`: another resource (a deadline name, a cursor target) does not exist.
    #[error("{detail}")]
    NotFound {
        /// What was not found.
        detail: String,
    },
    /// 404 `unknown_action`: the action segment names no client action.
    #[error("unknown action `{action}`")]
    UnknownAction {
        /// The segment as sent (truncated).
        action: String,
    },
    /// 400 `malformed_json`: the body is not JSON.
    #[error("{detail}")]
    MalformedJson {
        /// The parser's message.
        detail: String,
    },
    /// 400 `bad_parameter`: a query or path parameter is unreadable.
    #[error("bad parameter `{parameter}`: {detail}")]
    BadParameter {
        /// The parameter's name.
        parameter: String,
        /// What is wrong.
        detail: String,
    },
    /// 413 `body_too_large`: the body exceeds 1 MiB.
    #[error("request body too large")]
    BodyTooLarge,
    /// 415 `unsupported_media_type`: the body is not `application/json`.
    #[error("expected a request with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 428 `if_match_required`: an action without `If-Match`.
    #[error("actions need an `If-Match` header with the case's current ETag")]
    IfMatchRequired,
    /// 403 `forbidden`: in scope, but the role may not do this.
    #[error("{detail}")]
    Forbidden {
        /// Why.
        detail: String,
    },
    /// 403 `consent_not_in_force`: a social worker asked for the person's data while the consent
    /// `share_with_social_services` is not in force.
    #[error("{detail}")]
    ConsentNotInForce {
        /// Which consent.
        detail: String,
    },
    /// 429 `too_many_requests`: past the per-address or per-user rate limit.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests {
        /// Value of `Retry-After`, in seconds.
        retry_after_secs: u64,
    },
    /// 412 `version_mismatch`: the `If-Match` version is stale; read the case again.
    #[error("the case is at version {current}; read it again")]
    VersionMismatch {
        /// The case's current version.
        current: u64,
    },
    /// 409 `action_not_allowed`: not lawful in the case's current stage (with `allowed_actions`).
    #[error("{detail}")]
    ActionNotAllowed {
        /// Why.
        detail: String,
        /// What the caller may do now.
        allowed_actions: Vec<String>,
    },
    /// 409 `consent_required`: the person's consent for this is not in force.
    #[error("{detail}")]
    ConsentRequired {
        /// Which consent is missing.
        detail: String,
    },
    /// 409 `request_in_progress`: the same `Idempotency-Key` is still being processed.
    #[error("a request with this Idempotency-Key is still in progress")]
    RequestInProgress,
    /// 422 `validation_failed` (or the single field problem's code, such as `date_in_future`):
    /// one or more fields are wrong (`errors`: field -> message).
    #[error("invalid fields: {}", join_errors(errors))]
    Validation {
        /// The stable code.
        code: String,
        /// Field path -> message.
        errors: BTreeMap<String, String>,
    },
    /// 422 `date_out_of_order` (`date_before_registration` when the step is the registration):
    /// the business date precedes the step the act follows (`procedure.md`, "Order of business
    /// dates"); `not_before` is the date it must not precede and `follows` that step.
    #[error("{detail}")]
    DateOutOfOrder {
        /// The sentence.
        detail: String,
        /// The date the act must not precede.
        not_before: chrono::NaiveDate,
        /// The step it follows (`ptl_domain::PriorStep` spelling).
        follows: String,
    },
    /// 422 `unknown_field`: the body has a field the action does not define.
    #[error("unknown field `{field}`")]
    UnknownField {
        /// The field's path.
        field: String,
    },
    /// 422 `idempotency_key_reused`: the same key was used with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// 429 `too_many_searches`: the caller made as many person searches as a minute allows;
    /// retry after `retry_after_secs`.
    #[error("too many person searches; retry in {retry_after_secs} s")]
    TooManySearches {
        /// Value of `Retry-After`, in seconds.
        retry_after_secs: u64,
    },
    /// 503 `store_unavailable`: the store cannot be reached; retry after `retry_after_secs`.
    #[error("the store is unavailable")]
    StoreUnavailable {
        /// Value of `Retry-After`, in seconds.
        retry_after_secs: u64,
    },
    /// 500 `internal`: a bug or an unexpected failure. The message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

fn join_errors(errors: &BTreeMap<String, String>) -> String {
    errors
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An RFC 9457 problem document as we send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:ptl:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short, translated summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// This occurrence, in English.
    pub detail: String,
    /// Stable snake_case code.
    pub code: String,
    /// Field path -> message, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
    /// The actions the caller may do now, for `action_not_allowed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::schema::domain::ClientAction>>)]
    pub allowed_actions: Option<Vec<String>>,
    /// For `date_out_of_order`: the date `occurred_on` must not precede.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub not_before: Option<chrono::NaiveDate>,
    /// For `date_out_of_order`: the step the act follows (`decision`, `verification_request`,
    /// `file_received`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follows: Option<String>,
}

impl ApiError {
    /// A validation problem about one field.
    #[must_use]
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            code: "validation_failed".into(),
            errors: BTreeMap::from([(field.into(), message.into())]),
        }
    }

    /// A 400 `bad_parameter` naming the parameter.
    #[must_use]
    pub fn bad(parameter: &str, detail: impl Into<String>) -> Self {
        Self::BadParameter {
            parameter: parameter.into(),
            detail: detail.into(),
        }
    }

    /// A 401 with a reason.
    #[must_use]
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            detail: detail.into(),
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::CaseNotFound | Self::NotFound { .. } | Self::UnknownAction { .. } => {
                StatusCode::NOT_FOUND
            }
            Self::MalformedJson { .. } | Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IfMatchRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Forbidden { .. } | Self::ConsentNotInForce { .. } => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::VersionMismatch { .. } => StatusCode::PRECONDITION_FAILED,
            Self::ActionNotAllowed { .. }
            | Self::ConsentRequired { .. }
            | Self::RequestInProgress => StatusCode::CONFLICT,
            Self::Validation { .. }
            | Self::DateOutOfOrder { .. }
            | Self::UnknownField { .. }
            | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManySearches { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case code.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::CaseNotFound => "case_not_found",
            Self::NotFound { .. } => "not_found",
            Self::UnknownAction { .. } => "unknown_action",
            Self::MalformedJson { .. } => "malformed_json",
            Self::BadParameter { .. } => "bad_parameter",
            Self::BodyTooLarge => "body_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::IfMatchRequired => "if_match_required",
            Self::Forbidden { .. } => "forbidden",
            Self::ConsentNotInForce { .. } => "consent_not_in_force",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::ActionNotAllowed { .. } => "action_not_allowed",
            Self::ConsentRequired { .. } => "consent_required",
            Self::RequestInProgress => "request_in_progress",
            Self::Validation { code, .. } => code,
            // The registration bound kept its older code.
            Self::DateOutOfOrder { follows, .. } if follows == "registration" => {
                "date_before_registration"
            }
            Self::DateOutOfOrder { .. } => "date_out_of_order",
            Self::UnknownField { .. } => "unknown_field",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::TooManySearches { .. } => "too_many_searches",
            Self::StoreUnavailable { .. } => "store_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The translated title, from the catalogue: `problem-<code>` (`api/i18n/<lang>/problems.ftl`),
    /// one per code; a validation code the catalogue does not name gets the title of
    /// `validation_failed`.
    #[must_use]
    pub fn title(&self, lang: Lang) -> String {
        let family = match self {
            Self::Validation { .. } => "validation_failed",
            _ => "internal",
        };
        crate::i18n::problem_title(lang, self.code(), family)
    }

    /// The problem document in `lang`. A 500's detail is generic: its cause stays in the logs.
    #[must_use]
    pub fn problem(&self, lang: Lang) -> Problem {
        let code = self.code().to_string();
        let detail = match self {
            Self::Internal(_) => "an internal error occurred; it has been logged".to_string(),
            other => other.to_string(),
        };
        Problem {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{code}"),
            title: self.title(lang),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                Self::Validation { errors, .. } => Some(errors.clone()),
                Self::UnknownField { field } => Some(BTreeMap::from([(
                    field.clone(),
                    "this field is not defined for this request".to_string(),
                )])),
                Self::DateOutOfOrder { not_before, .. } => Some(BTreeMap::from([(
                    "occurred_on".to_string(),
                    format!("must not precede {not_before}"),
                )])),
                _ => None,
            },
            not_before: match self {
                Self::DateOutOfOrder { not_before, .. } => Some(*not_before),
                _ => None,
            },
            follows: match self {
                Self::DateOutOfOrder { follows, .. } => Some(follows.clone()),
                _ => None,
            },
            allowed_actions: match self {
                Self::ActionNotAllowed {
                    allowed_actions, ..
                } => Some(allowed_actions.clone()),
                _ => None,
            },
            code,
        }
    }

    /// The full response in `lang`: problem+json body, `Content-Language`, and `Retry-After`
    /// (429, 503) or `WWW-Authenticate` (401) where they apply.
    #[must_use]
    pub fn to_response(&self, lang: Lang) -> Response {
        let problem = self.problem(lang);
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(
            axum::http::header::CONTENT_LANGUAGE,
            HeaderValue::from_static(lang.as_str()),
        );
        match self {
            Self::StoreUnavailable { retry_after_secs }
            | Self::TooManyRequests { retry_after_secs }
            | Self::TooManySearches { retry_after_secs } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Unauthorized { .. } => {
                headers.insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer"),
                );
            }
            _ => {}
        }
        response
    }
}

/// English, with the error kept in the response's extensions for [`localize`] to render in the
/// request's language. A 500 is logged here, inside the request's span.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, "internal error");
        }
        let mut response = self.to_response(Lang::En);
        response.extensions_mut().insert(Localizable(self));
        response
    }
}

/// An error whose response may be rendered again in another language.
#[derive(Debug, Clone)]
struct Localizable(ApiError);

/// Middleware: renders a problem in the language of the request's `Accept-Language`.
pub async fn localize(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = Lang::from_headers(req.headers());
    let response = next.run(req).await;
    if lang == Lang::En {
        return response;
    }
    match response.extensions().get::<Localizable>() {
        Some(Localizable(e)) => e.to_response(lang),
        None => response,
    }
}

impl From<Unauthorized> for ApiError {
    fn from(e: Unauthorized) -> Self {
        Self::Unauthorized { detail: e.0 }
    }
}

impl From<app::Error> for ApiError {
    fn from(e: app::Error) -> Self {
        match e {
            app::Error::CaseNotFound => Self::CaseNotFound,
            app::Error::NotFound(detail) => Self::NotFound { detail },
            app::Error::Forbidden(detail) => Self::Forbidden { detail },
            app::Error::ConsentNotInForce(detail) => Self::ConsentNotInForce { detail },
            app::Error::Parameter { parameter, detail } => Self::BadParameter { parameter, detail },
            app::Error::VersionMismatch { current } => Self::VersionMismatch { current },
            app::Error::ActionNotAllowed { reason, allowed } => Self::ActionNotAllowed {
                detail: reason.to_string(),
                allowed_actions: allowed.iter().map(|a| a.as_str().to_string()).collect(),
            },
            app::Error::Refused(e) => e.into(),
            app::Error::Input(e) => e.into(),
            app::Error::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            app::Error::RequestInProgress => Self::RequestInProgress,
            app::Error::TooManySearches { retry_after_secs } => {
                Self::TooManySearches { retry_after_secs }
            }
            app::Error::Unavailable => Self::StoreUnavailable {
                retry_after_secs: 1,
            },
            app::Error::Internal(m) => Self::Internal(m),
        }
    }
}

fn field_errors(errors: Vec<FieldError>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for e in errors {
        map.entry(e.field)
            .and_modify(|m: &mut String| {
                m.push_str("; ");
                m.push_str(&e.message);
            })
            .or_insert(e.message);
    }
    map
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let detail = e.to_string();
        match e {
            DomainError::RoleNotAllowed { .. } => Self::Forbidden { detail },
            DomainError::ActionNotAllowed { allowed, .. } => Self::ActionNotAllowed {
                detail,
                allowed_actions: allowed.iter().map(|a| a.as_str().to_string()).collect(),
            },
            DomainError::ConsentRequired { .. } => Self::ConsentRequired { detail },
            DomainError::DateOutOfOrder {
                follows,
                not_before,
                ..
            } => Self::DateOutOfOrder {
                detail,
                not_before,
                follows: follows.as_str().to_string(),
            },
            DomainError::Validation(errors) => {
                let code = match errors.as_slice() {
                    [one] => one.problem.code().to_string(),
                    _ => "validation_failed".to_string(),
                };
                Self::Validation {
                    code,
                    errors: field_errors(errors),
                }
            }
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::UnknownField { path } => Self::UnknownField { field: path },
            BodyError::Invalid { errors } => Self::Validation {
                code: "validation_failed".into(),
                errors,
            },
            BodyError::TooDeep { path } => Self::field(
                path,
                format!("nested deeper than {} levels", crate::models::MAX_DEPTH),
            ),
            BodyError::StringTooLong { path } => Self::field(
                path,
                format!("longer than {} characters", crate::models::MAX_STRING_CHARS),
            ),
            BodyError::NotAClientAction(action) => Self::UnknownAction {
                action: action.as_str().to_string(),
            },
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(e) => Self::MalformedJson {
                detail: e.body_text(),
            },
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                match text.split_once("unknown field `") {
                    Some((_, rest)) => Self::UnknownField {
                        field: rest.split('`').next().unwrap_or_default().to_string(),
                    },
                    None => Self::field("body", text),
                }
            }
            JsonRejection::BytesRejection(e) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Self::BodyTooLarge
                } else {
                    Self::MalformedJson {
                        detail: e.body_text(),
                    }
                }
            }
            other => Self::MalformedJson {
                detail: other.body_text(),
            },
        }
    }
}

/// `axum::Json` whose rejections are our problems: 400 `malformed_json`, 415
/// `unsupported_media_type`, 413 `body_too_large` (behind a body limit layer), 422 for a body
/// that is JSON but of the wrong shape. Handlers usually extract `ApiJson<serde_json::Value>` and
/// parse it with [`crate::models`], which gives precise field paths.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header::{HeaderMap, ACCEPT_LANGUAGE};
    use ptl_domain::types::{ConsentScope, Stage};
    use ptl_domain::{ActionName, FieldProblem, Role};

    fn all_variants() -> Vec<(ApiError, u16, &'static str)> {
        vec![
            (ApiError::unauthorized("no token"), 401, "unauthorized"),
            (ApiError::CaseNotFound, 404, "case_not_found"),
            (
                ApiError::NotFound {
                    detail: "no deadline `x`".into(),
                },
                404,
                "not_found",
            ),
            (
                ApiError::UnknownAction {
                    action: "fly".into(),
                },
                404,
                "unknown_action",
            ),
            (
                ApiError::MalformedJson {
                    detail: "eof".into(),
                },
                400,
                "malformed_json",
            ),
            (
                ApiError::BadParameter {
                    parameter: "limit".into(),
                    detail: "not a number".into(),
                },
                400,
                "bad_parameter",
            ),
            (ApiError::BodyTooLarge, 413, "body_too_large"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (ApiError::IfMatchRequired, 428, "if_match_required"),
            (
                ApiError::Forbidden {
                    detail: "no".into(),
                },
                403,
                "forbidden",
            ),
            (
                ApiError::ConsentNotInForce {
                    detail: "no".into(),
                },
                403,
                "consent_not_in_force",
            ),
            (
                ApiError::TooManyRequests {
                    retry_after_secs: 3,
                },
                429,
                "too_many_requests",
            ),
            (
                ApiError::VersionMismatch { current: 7 },
                412,
                "version_mismatch",
            ),
            (
                ApiError::ActionNotAllowed {
                    detail: "no".into(),
                    allowed_actions: vec!["add-note".into()],
                },
                409,
                "action_not_allowed",
            ),
            (
                ApiError::ConsentRequired {
                    detail: "no".into(),
                },
                409,
                "consent_required",
            ),
            (ApiError::RequestInProgress, 409, "request_in_progress"),
            (
                ApiError::field("occurred_on", "in the future"),
                422,
                "validation_failed",
            ),
            (
                ApiError::UnknownField {
                    field: "colour".into(),
                },
                422,
                "unknown_field",
            ),
            (
                ApiError::IdempotencyKeyReused,
                422,
                "idempotency_key_reused",
            ),
            (
                ApiError::TooManySearches {
                    retry_after_secs: 7,
                },
                429,
                "too_many_searches",
            ),
            (
                ApiError::StoreUnavailable {
                    retry_after_secs: 5,
                },
                503,
                "store_unavailable",
            ),
            (ApiError::Internal("db pool".into()), 500, "internal"),
        ]
    }

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn each_variant_has_its_status_code_and_a_problem_json_body() {
        for (error, status, code) in all_variants() {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.code(), code);
            let response = error.to_response(Lang::En);
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers().get(CONTENT_TYPE).unwrap(), PROBLEM_JSON);
            let body = body_json(response).await;
            assert_eq!(body["status"], status);
            assert_eq!(body["code"], code);
            assert_eq!(body["type"], format!("urn:ptl:problem:{code}"));
            assert!(body["title"].is_string());
            assert!(body["detail"].is_string());
        }
    }

    #[tokio::test]
    async fn an_internal_error_keeps_its_cause_out_of_the_body() {
        let body = body_json(ApiError::Internal("password=hunter2".into()).into_response()).await;
        assert!(!body.to_string().contains("hunter2"));
    }

    #[test]
    fn store_unavailable_says_when_to_retry() {
        let r = ApiError::StoreUnavailable {
            retry_after_secs: 5,
        }
        .into_response();
        assert_eq!(r.headers().get(RETRY_AFTER).unwrap(), "5");
    }

    #[tokio::test]
    async fn action_not_allowed_lists_the_allowed_actions_and_validation_the_errors() {
        let body = body_json(
            ApiError::ActionNotAllowed {
                detail: "no".into(),
                allowed_actions: vec!["add-note".into()],
            }
            .into_response(),
        )
        .await;
        assert_eq!(body["allowed_actions"], serde_json::json!(["add-note"]));
        assert!(body.get("errors").is_none());
        let body = body_json(ApiError::field("office", "unknown office").into_response()).await;
        assert_eq!(body["errors"]["office"], "unknown office");
        assert!(body.get("allowed_actions").is_none());
    }

    #[tokio::test]
    async fn a_date_out_of_order_names_the_date_it_must_not_precede_and_the_step() {
        let e: ApiError = DomainError::DateOutOfOrder {
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(),
            follows: ptl_domain::PriorStep::FileReceived,
            not_before: chrono::NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(e.into_response()).await;
        assert_eq!(body["code"], "date_out_of_order");
        assert_eq!(body["type"], "urn:ptl:problem:date_out_of_order");
        assert_eq!(body["not_before"], "2026-03-05");
        assert_eq!(body["follows"], "file_received");
        assert_eq!(body["errors"]["occurred_on"], "must not precede 2026-03-05");
        // The registration bound keeps its older code.
        let e: ApiError = DomainError::DateOutOfOrder {
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            follows: ptl_domain::PriorStep::Registration,
            not_before: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        }
        .into();
        let body = body_json(e.into_response()).await;
        assert_eq!(
            (body["code"].as_str(), body["not_before"].as_str()),
            (Some("date_before_registration"), Some("2026-03-02"))
        );
    }

    #[tokio::test]
    async fn a_ukrainian_accept_language_gives_ukrainian_titles() {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("uk-UA,uk;q=0.9"));
        let lang = Lang::from_headers(&headers);
        assert_eq!(lang, Lang::Uk);
        let body = body_json(ApiError::CaseNotFound.to_response(lang)).await;
        assert_eq!(body["title"], "Справу не знайдено");
        let body = body_json(ApiError::CaseNotFound.to_response(Lang::En)).await;
        assert_eq!(body["title"], "Case not found");
    }

    /// Every field problem, in a chain the compiler checks: a new `FieldProblem` variant makes
    /// this match non-exhaustive until it is given its place.
    fn every_field_problem() -> Vec<FieldProblem> {
        use FieldProblem as P;
        fn next(p: P) -> Option<P> {
            match p {
                P::InFuture => Some(P::BeforeRegistration),
                P::BeforeRegistration => Some(P::Required),
                P::Required => Some(P::MustBeTrue),
                P::MustBeTrue => Some(P::Invalid),
                P::Invalid => Some(P::ChildFilingAlone),
                P::ChildFilingAlone => Some(P::InterpreterRequired),
                P::InterpreterRequired => Some(P::LegalRepresentativeRequired),
                P::LegalRepresentativeRequired => Some(P::NotFound),
                P::NotFound => Some(P::AlreadyDone),
                P::AlreadyDone => Some(P::Unchanged),
                P::Unchanged => Some(P::DuplicateCertificate),
                P::DuplicateCertificate => None,
            }
        }
        std::iter::successors(Some(P::InFuture), |p| next(*p)).collect()
    }

    /// Every problem code a client can get: each variant's, each field problem's (the code of a
    /// validation problem with one field) and the date-order codes.
    fn every_problem_code() -> Vec<String> {
        let mut codes: Vec<String> = all_variants()
            .into_iter()
            .map(|(_, _, code)| code.to_string())
            .collect();
        for p in every_field_problem() {
            let e: ApiError = DomainError::field("f", p, "m").into();
            codes.push(e.code().to_string());
        }
        for follows in ptl_domain::PriorStep::ALL {
            let e: ApiError = DomainError::DateOutOfOrder {
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                follows: *follows,
                not_before: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            }
            .into();
            codes.push(e.code().to_string());
        }
        codes.sort();
        codes.dedup();
        codes
    }

    #[test]
    fn every_problem_code_has_a_title_of_its_own_in_both_languages() {
        let codes = every_problem_code();
        assert!(codes.iter().any(|c| c == "date_in_future"), "{codes:?}");
        assert!(
            codes.iter().any(|c| c == "date_before_registration"),
            "{codes:?}"
        );
        let mut wrong = Vec::new();
        for code in &codes {
            let key = format!("problem-{code}");
            for lang in [Lang::Uk, Lang::En] {
                if !crate::i18n::has(lang, &key) {
                    wrong.push(format!("{key} missing in {}", lang.as_str()));
                }
            }
            if crate::i18n::t(Lang::Uk, &key) == crate::i18n::t(Lang::En, &key) {
                wrong.push(format!("{key}: the Ukrainian title is the English one"));
            }
        }
        assert_eq!(wrong, Vec::<String>::new());
    }

    #[tokio::test]
    async fn titles_come_from_the_catalogue_in_the_language_asked_for() {
        for (error, _, code) in all_variants() {
            for lang in [Lang::Uk, Lang::En] {
                let body = body_json(error.to_response(lang)).await;
                assert_eq!(
                    body["title"],
                    crate::i18n::t(lang, &format!("problem-{code}")),
                    "{code}"
                );
            }
        }
        // A validation problem's own code names it; a code the catalogue does not know gets the
        // validation title.
        let e: ApiError = DomainError::field("occurred_on", FieldProblem::InFuture, "x").into();
        assert_eq!(e.title(Lang::Uk), "Дата не може бути в майбутньому");
        let e = ApiError::Validation {
            code: "no_such_code".into(),
            errors: BTreeMap::new(),
        };
        assert_eq!(e.title(Lang::Uk), "Помилка перевірки даних");
    }

    #[test]
    fn accept_language_respects_quality_and_defaults_to_english() {
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.5, uk;q=0.8"), Lang::Uk);
        assert_eq!(Lang::from_accept_language("uk;q=0.5, en"), Lang::En);
        assert_eq!(Lang::from_accept_language("de-DE, fr"), Lang::En);
        assert_eq!(Lang::from_accept_language("uk;q=0"), Lang::En);
    }

    #[test]
    fn domain_errors_map_to_their_statuses() {
        let e: ApiError = DomainError::RoleNotAllowed {
            action: ActionName::Assign,
            role: Role::Caseworker,
        }
        .into();
        assert_eq!(e.status(), StatusCode::FORBIDDEN);

        let e: ApiError = DomainError::ActionNotAllowed {
            action: ActionName::SubmitFile,
            stage: Stage::Registered,
            reason: ptl_domain::error::Unavailable::NotSubmittable,
            allowed: vec![ActionName::RecordInterview, ActionName::SkipInterview],
        }
        .into();
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(e.code(), "action_not_allowed");
        assert_eq!(
            e.problem(Lang::En).allowed_actions,
            Some(vec!["record-interview".into(), "skip-interview".into()])
        );

        let e: ApiError = DomainError::ConsentRequired {
            action: ActionName::RequestVerification,
            scope: ConsentScope::ShareWithPolice,
        }
        .into();
        assert_eq!(e.code(), "consent_required");

        let e: ApiError =
            DomainError::field("occurred_on", FieldProblem::InFuture, "in the future").into();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code(), "date_in_future");

        let mut two = DomainError::field("a", FieldProblem::Required, "required");
        if let (DomainError::Validation(v), DomainError::Validation(w)) = (
            &mut two,
            DomainError::field("b", FieldProblem::Invalid, "bad"),
        ) {
            v.extend(w);
        }
        let e: ApiError = two.into();
        assert_eq!(e.code(), "validation_failed");
        assert_eq!(e.problem(Lang::En).errors.map(|m| m.len()), Some(2));
    }

    fn json_request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = axum::http::Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(Body::from(body.to_string())).unwrap()
    }

    #[tokio::test]
    async fn the_json_extractor_turns_rejections_into_problems() {
        let ok = ApiJson::<serde_json::Value>::from_request(
            json_request(Some("application/json"), r#"{"a":1}"#),
            &(),
        )
        .await
        .unwrap();
        assert_eq!(ok.0["a"], 1);

        let malformed = ApiJson::<serde_json::Value>::from_request(
            json_request(Some("application/json"), "{"),
            &(),
        )
        .await
        .unwrap_err();
        assert_eq!(malformed.code(), "malformed_json");

        let wrong_type =
            ApiJson::<serde_json::Value>::from_request(json_request(Some("text/plain"), "{}"), &())
                .await
                .unwrap_err();
        assert_eq!(wrong_type.code(), "unsupported_media_type");

        let missing_type =
            ApiJson::<serde_json::Value>::from_request(json_request(None, "{}"), &())
                .await
                .unwrap_err();
        assert_eq!(missing_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::post(
                    |ApiJson(v): ApiJson<serde_json::Value>| async move { ApiJson(v) },
                ),
            )
            .layer(axum::extract::DefaultBodyLimit::max(8));
        let response = app
            .oneshot(json_request(Some("application/json"), &"1".repeat(64)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body_json(response).await["code"], "body_too_large");
    }
}
