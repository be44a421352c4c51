//! The application layer: what a caller can do with the engine, one intent-level operation each.
//!
//! The REST handlers ([`crate::http`]) and the web pages call these operations and nothing below
//! them: a rule enforced here holds for both front doors. Each operation takes the authenticated
//! [`Caller`] and typed inputs (request bodies already parsed by [`crate::models`]) and returns a
//! typed outcome or an [`Error`]. Scope and role checks, idempotency, the version check, the vault
//! and the transactions live here or below (in the engine); nothing here knows HTTP or JSON
//! documents.
//!
//! Layout:
//! - this module: [`App`] (what the operations share), [`Caller`], [`Settings`];
//! - [`error`]: [`Error`], the refusals and failures an operation reports;
//! - [`cases`]: `find_case`, `register`, `act`, `read_case`, `read_person`;
//! - [`history`]: `history`, `verify`, `access_log`, `explain_deadline`;
//! - [`audit`]: the auditor's console: `access_log_across`, `audited_history`,
//!   `compare_versions`;
//! - [`lists`]: `work_queue` (with the person search), `person_search`, `deadlines`,
//!   `statistics`;
//! - [`search_limit`]: the per-user limit on person searches;
//! - [`operations`]: the `readiness` of this instance and the `status` operators read;
//! - [`rules`]: the procedure definitions and a calendar's year, as the engine uses them;
//! - [`registers`]: Order 366's registers of certificates and applications;
//! - [`integrity`]: the integrity report over a scope, run in the background (issue 16);
//! - [`exports`]: the HTCDS case export and the k-anonymous CTDC dataset (issue 17).

pub mod audit;
pub mod cases;
pub mod error;
pub mod exports;
pub mod history;
pub mod integrity;
pub mod lists;
pub mod operations;
pub mod registers;
pub mod rules;
pub mod search_limit;

use std::sync::Arc;

use chrono::NaiveDate;
use ptl_domain::Role;
use ptl_engine::pipeline::{Engine, EngineError, Executed};
use tokio::sync::Notify;

pub use self::cases::{CaseRead, HistoryPoint, RequestKey, Shown, Written};
pub use self::error::Error;
use crate::metrics::Metrics;
use crate::offices::OfficeTree;

/// Who is asking: the user, the role they act in and the office they act for. The front doors
/// build it from a verified token or a session; the operations trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id.
    pub sub: String,
    /// The role the user acts in (never `system`).
    pub role: Role,
    /// Office code the user acts for.
    pub office: String,
}

/// The values an administrator sets that the operations read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Deadlines due within this many (working) days are `upcoming`.
    pub upcoming_days: i64,
    /// Disclosure-control threshold for `disclosure=public`.
    pub disclosure_threshold: u64,
    /// Working days after a miss before the regional office sees the case escalated.
    pub escalate_after_working_days: u32,
    /// Person searches a user may make in a minute.
    pub person_searches_per_minute: u32,
}

/// What every operation shares: the engine, the office tree, the settings, the command metrics
/// and the wake-ups of the background workers.
pub struct App {
    /// The command pipeline and the store.
    pub engine: Arc<Engine>,
    /// The office tree (who may see which case).
    pub offices: Arc<OfficeTree>,
    /// Settings.
    pub settings: Settings,
    /// Request and command metrics.
    pub metrics: Arc<Metrics>,
    /// Wakes the deadline scheduler after a command (it may have started an earlier deadline).
    pub deadline_poke: Arc<Notify>,
    /// Wakes the outbox relay after a commit, when one runs.
    pub relay_poke: Option<Arc<Notify>>,
    /// What the outbox relay of this process knows of the broker, when one runs.
    pub relay_health: Option<Arc<ptl_engine::relay::RelayHealth>>,
    /// A missed-deadline webhook is configured.
    pub webhook_enabled: bool,
    /// Each user's person searches in the last minute (built from
    /// [`Settings::person_searches_per_minute`]).
    pub searches: search_limit::SearchLimiter,
    /// This instance's integrity-report runner (at most one report at a time).
    pub integrity: integrity::Runner,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("engine", &self.engine)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Today's business date (Europe/Kyiv) on the engine's clock.
    #[must_use]
    pub fn today(&self) -> NaiveDate {
        ptl_domain::kyiv_date(self.engine.clock().now())
    }

    /// Counts a command's outcome and its time in the engine, and turns it into the operation's
    /// result.
    fn record_command(
        &self,
        action: &str,
        started: std::time::Instant,
        result: Result<Result<Executed, ptl_domain::DomainError>, EngineError>,
    ) -> Result<Executed, Error> {
        self.metrics
            .store_time("command", started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(Ok(e)) if e.replayed => "replayed",
            Ok(Ok(_)) => "recorded",
            Ok(Err(_)) => "refused",
            Err(EngineError::Conflict { .. }) => "conflict",
            Err(EngineError::Unavailable(_)) => "unavailable",
            Err(_) => "error",
        };
        self.metrics.command(action, outcome);
        let done = result??;
        if !done.replayed {
            self.committed();
        }
        Ok(done)
    }

    /// Wakes the background workers after a command committed events.
    fn committed(&self) {
        self.deadline_poke.notify_one();
        if let Some(p) = &self.relay_poke {
            p.notify_one();
        }
    }

    /// The caller's scope as the read models filter it: its office and the offices below it, or,
    /// for a deciding authority, the cases whose file was ever submitted to it.
    fn scope_of(&self, office: &str) -> (Vec<String>, Option<String>) {
        if self.offices.is_authority(office) {
            (Vec::new(), Some(office.to_string()))
        } else {
            (
                self.offices
                    .descendants(office)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                None,
            )
        }
    }
}
