//! What an operation of the application layer reports when it does not do what was asked.
//!
//! Kept apart, as esrs keeps them: the command was refused (by the domain, a role, the scope, a
//! stale version) and the outcome could not be recorded (the store). The front doors map each
//! variant to what their user sees: [`crate::http::error`] to problem+json.

use ptl_domain::{ActionName, DomainError};
use ptl_engine::pipeline::EngineError;
use ptl_projections::ProjectionError;

use crate::models::BodyError;

/// Every way an operation can end without its outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such case, or out of the caller's scope (existence does not leak).
    #[error("case not found")]
    CaseNotFound,
    /// Another thing the caller named does not exist (a deadline name).
    #[error("{0}")]
    NotFound(String),
    /// In scope, but the caller's role may not do this (or an office outside the caller's).
    #[error("{0}")]
    Forbidden(String),
    /// A parameter of the request names something that does not fit (a point in history before
    /// the case, an office outside the caller's scope, a cursor this server did not give out).
    #[error("bad parameter `{parameter}`: {detail}")]
    Parameter {
        /// The parameter's name.
        parameter: String,
        /// What is wrong.
        detail: String,
    },
    /// The version the caller acted on is stale.
    #[error("the case is at version {current}; read it again")]
    VersionMismatch {
        /// The case's current version.
        current: u64,
    },
    /// The action is not lawful in the case's current stage.
    #[error("{reason}")]
    ActionNotAllowed {
        /// Why.
        reason: ptl_domain::error::Unavailable,
        /// What the caller may do now.
        allowed: Vec<ActionName>,
    },
    /// The domain refused the command.
    #[error(transparent)]
    Refused(#[from] DomainError),
    /// The request's input is not a valid command.
    #[error(transparent)]
    Input(#[from] BodyError),
    /// The same idempotency key came with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// The same idempotency key is still being processed.
    #[error("a request with this Idempotency-Key is still in progress")]
    RequestInProgress,
    /// The caller made as many person searches as a minute allows; the next is possible after
    /// `retry_after_secs`.
    #[error("too many person searches; retry in {retry_after_secs} s")]
    TooManySearches {
        /// Seconds until the next search is allowed.
        retry_after_secs: u64,
    },
    /// The store cannot be reached (or is full, or busy): retry.
    #[error("the store is unavailable")]
    Unavailable,
    /// A bug or an unexpected failure; the cause is for the logs.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A bad parameter.
    #[must_use]
    pub fn parameter(parameter: &str, detail: impl Into<String>) -> Self {
        Self::Parameter {
            parameter: parameter.into(),
            detail: detail.into(),
        }
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Conflict { current, .. } => Self::VersionMismatch { current },
            EngineError::NotFound => Self::CaseNotFound,
            EngineError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            EngineError::RequestInProgress => Self::RequestInProgress,
            EngineError::Unavailable(_) => Self::Unavailable,
            EngineError::Internal(m) => Self::Internal(m),
        }
    }
}

/// A failure of the store or the vault, classified by the engine (down, full or busy is
/// [`Error::Unavailable`]).
pub(crate) fn store(e: impl Into<EngineError>) -> Error {
    e.into().into()
}

impl From<ProjectionError> for Error {
    fn from(e: ProjectionError) -> Self {
        match e {
            ProjectionError::InvalidCursor => {
                Self::parameter("cursor", "not a cursor this server gave out")
            }
            // The engine's own classification: a store that is down, full or busy is a 503 to
            // retry, as on every other route.
            ProjectionError::Db(e) => store(e),
            other => Self::Internal(other.to_string()),
        }
    }
}
