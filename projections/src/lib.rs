//! Read models (work queue, deadlines, statistics) and their rebuild from the event log.
//!
//! Why this crate exists: the event log answers "what happened to case X" but not "which cases of
//! my office are overdue" or "how many statuses were granted in March". Those questions are
//! answered from tables kept consistent with the events: [`ReadModels`] implements the engine's
//! [`Projector`](ptl_engine::pipeline::Projector), so every table is written in the same
//! transaction as the events it reflects (no side effects; a failure aborts the command).
//!
//! Every row remembers the sequence of the last event it applied and an upsert only wins with a
//! greater sequence, so applying an event twice, replaying, or rebuilding while the engine is
//! writing is harmless (`shared/style.md`, "Projections are idempotent"). Time-relative facts
//! (overdue, a deadline's state, days left) are never stored: they are computed against the
//! caller's `today` when read.
//!
//! Layout:
//! - [`project`]: [`ReadModels`] and the per-event projection code shared by live writes and
//!   rebuilds; the tables are created by `engine/migrations/*/0004_projections.sql`;
//! - [`access`]: the access log across cases in the caller's scope ([`access::list_access`]);
//! - [`queries`]: the work queue ([`list_cases`]), deadlines ([`list_deadlines`]) and the
//!   scheduler's look-up ([`due_deadlines`]), with opaque keyset cursors;
//! - [`stats`](mod@stats): the report figures of `api.md` ([`stats()`]), statistical disclosure control
//!   ([`publish`]: [`suppress`], then keyed rounding) and CSV ([`stats_csv`]);
//! - [`registers`]: Order 366's register of applications and register of issued certificates
//!   (lists and CSV); the certificate register's unique index keeps a number unique per
//!   authority;
//! - [`tally`]: the counts of the work queue's views per office, kept by triggers (migration
//!   0025), and the fold of PostgreSQL's change rows into them;
//! - [`rebuild`](mod@rebuild): [`rebuild()`] from the global log;
//! - [`scheduler`]: the legal clock's background loop: it sleeps until the next due deadline (or
//!   until a command wakes it) and records every missed deadline and expired status through the
//!   engine, once;
//! - [`webhook`]: the missed-deadline webhook, signed with HMAC and retried, fed from the log;
//! - [`ops`]: what operators read (how each read model is kept, with the progress a rebuild or
//!   catch-up records; the outbox, the webhook deliveries, the legal clock's last run, the store);
//! - `sql`: the small dynamic query builder both backends share (lists of offices need a variable
//!   number of placeholders, which the engine's fixed-argument macros cannot bind).

pub mod access;
pub mod ops;
pub mod project;
pub mod queries;
pub mod rebuild;
pub mod registers;
pub mod scheduler;
mod sql;
pub mod stats;
pub mod tally;
pub mod webhook;

pub use project::{Models, ReadModels};
pub use queries::{
    due_deadlines, list_cases, list_deadlines, next_open_due, upcoming_horizon, CaseFilter,
    DeadlineFilter, DeadlineRow, EscalationCutoffs, WorkQueueRow,
    DEFAULT_ESCALATE_AFTER_WORKING_DAYS, ESCALATION_REGIONAL, ESCALATION_SUPERVISOR, MAX_LIMIT,
};
pub use rebuild::{catch_up, catch_up_in_batches, rebuild, RebuildReport};
pub use stats::{
    check_public_period, last_complete_month, publish, round_published, stats, stats_csv, suppress,
    Figures, GroupBy, RoundingKey, Stats, StatsGroup, StatsQuery,
};

/// Why a read-model query or a rebuild failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database failed (HTTP 503 or 500 depending on the kind).
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A list cursor that this crate did not produce, or for another list (HTTP 400).
    #[error("invalid cursor")]
    InvalidCursor,
    /// A rebuild was asked for a read model that does not exist.
    #[error(
        "unknown read model `{0}`; expected one of: work_queue, deadlines, statistics, registers"
    )]
    UnknownModel(String),
    /// A stored event does not decode (rebuild).
    #[error("event {sequence} of case {case_id} does not decode: {message}")]
    Decode {
        /// The case.
        case_id: uuid::Uuid,
        /// Its sequence.
        sequence: i64,
        /// The decoder's message.
        message: String,
    },
    /// A rebuild could not read every event that existed when it started (on PostgreSQL the
    /// global log waits for transactions still open anywhere on the server).
    #[error("the rebuild applied {applied} of {expected} events before giving up waiting for the log; run it again")]
    Incomplete {
        /// Events applied.
        applied: u64,
        /// Events in the log when the rebuild started.
        expected: u64,
    },
}
