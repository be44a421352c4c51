//! What every step's rules share: the collected field problems, the facts a step decides on, the
//! deadlines a step starts, and the refusal of an action that is not lawful now.

use chrono::NaiveDate;

use super::availability::allowed_actions_for;
use crate::command::Command;
use crate::deadline_name::DeadlineName;
use crate::error::{DomainError, FieldError, FieldProblem, Unavailable};
use crate::event::DeadlineStarted;
use crate::procedure::{DeadlineKind, ProcedureDefinition};
use crate::state::CaseState;
use crate::types::OfficeCode;

/// Collects field problems, so that one refusal names every wrong field.
#[derive(Default)]
pub(super) struct Problems(Vec<FieldError>);

impl Problems {
    pub(super) fn add(&mut self, field: &str, problem: FieldProblem, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            problem,
            message: message.into(),
        });
    }

    pub(super) fn check(&mut self, ok: bool, field: &str, problem: FieldProblem, message: &str) {
        if !ok {
            self.add(field, problem, message);
        }
    }

    /// A business date: not in the future in Kyiv, and not before `not_before` (the
    /// registration) when given (`procedure.md`, "Order of business dates").
    pub(super) fn date(
        &mut self,
        field: &str,
        d: NaiveDate,
        today: NaiveDate,
        not_before: Option<NaiveDate>,
    ) {
        if d > today {
            self.add(
                field,
                FieldProblem::InFuture,
                format!("{d} is in the future (today is {today} in Kyiv)"),
            );
        } else if let Some(min) = not_before {
            if d < min {
                self.add(
                    field,
                    FieldProblem::BeforeRegistration,
                    format!("{d} is before the registration on {min}"),
                );
            }
        }
    }

    /// A text that must be there and not too long.
    pub(super) fn text(&mut self, field: &str, s: &str, max: usize) {
        if s.trim().is_empty() {
            self.add(field, FieldProblem::Required, "must not be empty");
        } else if s.chars().count() > max {
            self.add(
                field,
                FieldProblem::Invalid,
                format!("longer than {max} characters"),
            );
        }
    }

    pub(super) fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.0))
        }
    }
}

/// What a step of a registered case decides on.
pub(super) struct Context<'a> {
    /// The case as it stands.
    pub(super) state: &'a CaseState,
    /// The command (actor, clock reading, rule book).
    pub(super) cmd: &'a Command,
    /// The case's own procedure definition (from its registration).
    pub(super) def: &'a ProcedureDefinition,
    /// The responsible office now.
    pub(super) office: &'a OfficeCode,
    /// Today in Kyiv, from the command's clock reading.
    pub(super) today: NaiveDate,
    /// The business date of the act.
    pub(super) on: NaiveDate,
}

impl Context<'_> {
    /// Whether the person is a child on the act's date ("Children"): the flag the engine worked
    /// out from the birth date in the vault, or, when it could not (no birth date, erased), the
    /// registration's flag.
    pub(super) fn child(&self) -> bool {
        self.cmd.child.unwrap_or_else(|| self.state.is_child())
    }

    /// The deadline of `kind` starting on `start`, under the case's definition.
    pub(super) fn named(&self, kind: DeadlineKind, start: NaiveDate) -> DeadlineStarted {
        named(self.def, self.cmd, kind, start)
    }

    /// The deadline `name` of `kind` starting on `start`, under the case's definition.
    pub(super) fn deadline(
        &self,
        kind: DeadlineKind,
        name: DeadlineName,
        start: NaiveDate,
    ) -> DeadlineStarted {
        deadline(self.def, self.cmd, kind, name, start)
    }

    /// The deciding authority named by the definition in force on `on` (the transitional rule of
    /// "Procedure versions"), or the case's own definition's when none is in force yet.
    pub(super) fn authority_in_force_on(&self, on: NaiveDate) -> String {
        self.cmd.rules.in_force_on(on).map_or_else(
            || self.def.deciding_authority.clone(),
            |d| d.deciding_authority.clone(),
        )
    }

    /// The refusal of an action that is not lawful now, with what the caller may do instead.
    pub(super) fn not_allowed(&self, reason: Unavailable) -> DomainError {
        not_allowed(self.state, self.cmd, reason)
    }
}

/// The refusal of `cmd` on `state` for `reason`, with what the caller may do instead.
pub(super) fn not_allowed(state: &CaseState, cmd: &Command, reason: Unavailable) -> DomainError {
    DomainError::ActionNotAllowed {
        action: cmd.action.name(),
        stage: state.stage(),
        reason,
        allowed: allowed_actions_for(state, cmd.actor.role, cmd.actor.office.as_deref()),
    }
}

/// A deadline as the definition's rule computes it (`procedure.md`, "Deadlines" and "Counting
/// days"); the due date goes into the event, so a replay needs no rules.
pub(super) fn deadline(
    def: &ProcedureDefinition,
    cmd: &Command,
    kind: DeadlineKind,
    name: DeadlineName,
    start: NaiveDate,
) -> DeadlineStarted {
    let due_on = def.rule(kind).map_or(start, |rule| {
        rule.due(start, cmd.rules.calendar_for(def)).due_on
    });
    DeadlineStarted {
        name,
        kind,
        start,
        due_on,
    }
}

/// A deadline named after its kind (a case has one of each at a time).
pub(super) fn named(
    def: &ProcedureDefinition,
    cmd: &Command,
    kind: DeadlineKind,
    start: NaiveDate,
) -> DeadlineStarted {
    deadline(def, cmd, kind, DeadlineName::of(kind), start)
}
