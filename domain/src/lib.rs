//! The pure state machine of a PTL status case (`shared/procedure.md`).
//!
//! A case is a stream of [`CaseEvent`]s. [`decide`] turns a [`Command`] into new events or a
//! [`DomainError`]; [`evolve`] folds an event into the [`CaseState`]. The pair has exactly the shape
//! of `esrs::Aggregate::{handle_command, apply_event}`, so the engine's aggregate is a thin adapter;
//! this crate does not depend on esrs (nor on tokio, sqlx or any I/O) and never reads a clock:
//! commands carry the actor, the clock reading and the business date, and the [`RuleBook`] of
//! procedure definitions and the working-day calendar.
//!
//! Layout (every module):
//! - [`types`]: roles, actors, office codes ([`OfficeCode`]) and the closed value sets (their JSON
//!   spellings are a contract);
//! - [`actions`]: action names and the role table;
//! - [`procedure`]: procedure definitions (TOML files, embedded and overridable) and deadline rules;
//! - [`calendar`]: working days from per-year calendar files, calendar and month arithmetic;
//! - [`command`]: what a caller asks, with every fact the decision needs;
//! - [`countries`]: the ISO 3166-1 codes (alpha-2 checked at registration, alpha-3 for exports);
//! - [`event`]: the events, the persistent contract;
//! - [`deadline_name`]: the name of a deadline instance ([`DeadlineName`]), below both the fold
//!   and the deadline views;
//! - [`state`]: the case's state and [`evolve`], the fold;
//! - [`decide`](mod@decide): every rule of the procedure, one module per step (registration,
//!   interview, verification, submission, decision, appeal, withdrawal, assistance, case
//!   management, the engine's own records), and the actions allowed now;
//! - [`error`]: why a command is refused ([`DomainError`], [`Unavailable`]);
//! - [`deadlines`]: deadlines as seen on a date, and how each due date was computed.
//!
//! Imports point one way: `deadlines` reads `state`, `state` folds `event`s, `decide` reads
//! `state` and writes `event`s; none is imported back.

pub mod actions;
pub mod calendar;
pub mod command;
pub mod countries;
pub mod deadline_name;
pub mod deadlines;
pub mod decide;
pub mod error;
pub mod event;
pub mod procedure;
pub mod state;
pub mod types;

#[cfg(test)]
mod tests;

pub use actions::ActionName;
pub use calendar::Calendar;
pub use command::{Action, ApplicantInput, Command, Lookups, ReferralInput, Register};
pub use deadline_name::DeadlineName;
pub use deadlines::{deadlines, explain, DeadlineState, DeadlineView};
pub use decide::{
    age_on, allowed_actions, allowed_actions_for, certificate_to_issue, decide, kyiv_date,
};
pub use error::{DomainError, FieldError, FieldProblem, PriorStep, Unavailable};
pub use event::{upcast, CaseEvent, EventBody, UpcastError};
pub use procedure::{ProcedureDefinition, RuleBook};
pub use state::{evolve, CaseState, STATE_FORMAT};
pub use types::{Actor, OfficeCode, RecordRef, Role, Stage, Status};

/// The aggregate's name: the stream and table prefix (`case_events`). Persistent: never change it.
pub const AGGREGATE_NAME: &str = "case";
