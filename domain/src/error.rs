//! The one error a command can be refused with. Variants are compared in tests (`PartialEq`), and
//! the API maps each to its status: `RoleNotAllowed` 403, `ActionNotAllowed` and
//! `ConsentRequired` 409, `Validation` 422.

use crate::actions::ActionName;
use crate::types::{ConsentScope, Role, Stage};

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldProblem {
    /// A business date later than today in Kyiv.
    InFuture,
    /// A business date before the case's registration.
    BeforeRegistration,
    /// A value that must be present.
    Required,
    /// A flag the law requires to be true.
    MustBeTrue,
    /// A value outside its allowed set or shape.
    Invalid,
    /// A child may not file alone.
    ChildFilingAlone,
    /// A foreigner speaking neither Ukrainian nor Russian needs an interpreter.
    InterpreterRequired,
    /// For a child, the legal representative signs.
    LegalRepresentativeRequired,
    /// The referenced thing does not exist in this case.
    NotFound,
    /// The thing was already done.
    AlreadyDone,
    /// A value that would not change anything.
    Unchanged,
}

impl FieldProblem {
    /// Stable snake_case code (the API's `code` when this is the only problem).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::InFuture => "date_in_future",
            Self::BeforeRegistration => "date_before_registration",
            Self::Required => "required",
            Self::MustBeTrue => "must_be_true",
            Self::Invalid => "invalid_value",
            Self::ChildFilingAlone => "child_filing_alone",
            Self::InterpreterRequired => "interpreter_required",
            Self::LegalRepresentativeRequired => "legal_representative_required",
            Self::NotFound => "not_found",
            Self::AlreadyDone => "already_done",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field (`occurred_on`, `applicant.interpreter_used`).
    pub field: String,
    /// What is wrong.
    pub problem: FieldProblem,
    /// A sentence for people.
    pub message: String,
}

/// A command the case refuses. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The role may never perform this action.
    #[error("the role {role} may not {action}")]
    RoleNotAllowed {
        /// The action.
        action: ActionName,
        /// The caller's role.
        role: Role,
    },
    /// The action is not lawful in the case's current stage or state.
    #[error("{action} is not allowed now (stage {stage}): {reason}")]
    ActionNotAllowed {
        /// The action.
        action: ActionName,
        /// The case's stage.
        stage: Stage,
        /// Why, in one sentence.
        reason: String,
        /// What the caller may do instead.
        allowed: Vec<ActionName>,
    },
    /// The action shares data or processes it, and the matching consent is not in force.
    #[error("{action} needs the person's consent `{scope}` in force")]
    ConsentRequired {
        /// The action.
        action: ActionName,
        /// The missing consent.
        scope: ConsentScope,
    },
    /// One or more fields are wrong.
    #[error("invalid fields: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
}

impl DomainError {
    /// A validation error about one field.
    #[must_use]
    pub fn field(field: &str, problem: FieldProblem, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            problem,
            message: message.into(),
        }])
    }

    /// The field problems, when this is a validation error.
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        match self {
            Self::Validation(v) => v.iter().map(|e| e.problem).collect(),
            _ => Vec::new(),
        }
    }
}
