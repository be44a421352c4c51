//! Integrity reports (issue 16, "Auditor"): an auditor or supervisor starts one over the cases of
//! their office and the offices below it ([`App::start_integrity_report`]); it runs in the
//! background of this instance, paced (`crate::integrity::Pacing`), at most one at a time per
//! instance (starting another while one runs answers the running one); its state lives in the
//! `integrity_reports` table, so every instance shows its progress and its result
//! ([`App::integrity_report`], [`App::integrity_reports`]).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ptl_domain::Role;
use ptl_engine::pipeline::Engine;
use ptl_engine::{fetch_all, fetch_optional, run};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::store;
use super::{App, Caller, Error};
use crate::integrity::{build, Pacing, Progress, Report, Scope};
use crate::offices::OfficeKind;

/// This instance's runner: whether a report runs here now, and its pacing.
#[derive(Debug, Default, Clone)]
pub struct Runner {
    running: Arc<AtomicBool>,
    /// How the report is paced.
    pub pacing: Pacing,
}

impl Runner {
    /// A runner with this pacing.
    #[must_use]
    pub fn new(pacing: Pacing) -> Self {
        Self {
            running: Arc::default(),
            pacing,
        }
    }
}

/// A report's state: `running`, `done`, `failed`, or `interrupted` (its instance stopped
/// writing progress: stopped or crashed).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportStatus {
    /// Its id.
    pub id: String,
    /// `running`, `done`, `failed` or `interrupted`.
    pub status: String,
    /// Who started it.
    pub requested_by: String,
    /// The office whose cases it covers.
    pub scope: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Cases to verify.
    pub total: u64,
    /// Cases verified so far.
    pub done: u64,
    /// Their events.
    pub events: u64,
    /// Invalid cases found so far.
    pub invalid: u64,
    /// The whole report, once done.
    pub report: Option<Report>,
}

/// Progress older than this means the instance running it stopped.
const STALE_AFTER_SECS: i64 = 120;

type Row = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
);

const COLUMNS: &str = "id, requested_by, scope, status, started_at, heartbeat, finished_at, \
                       total, done, events, invalid, result";

fn micros(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).unwrap_or_default()
}

fn status_of(row: Row, now: DateTime<Utc>) -> ReportStatus {
    let (id, by, scope, status, started, heartbeat, finished, total, done, events, invalid, result) =
        row;
    let status =
        if status == "running" && now - micros(heartbeat) > Duration::seconds(STALE_AFTER_SECS) {
            "interrupted".to_string()
        } else {
            status
        };
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    ReportStatus {
        id,
        status,
        requested_by: by,
        scope,
        started_at: micros(started),
        finished_at: finished.map(micros),
        total: n(total),
        done: n(done),
        events: n(events),
        invalid: n(invalid),
        report: result.and_then(|r| serde_json::from_str(&r).ok()),
    }
}

fn auditor_or_supervisor(caller: &Caller) -> Result<(), Error> {
    if matches!(caller.role, Role::Auditor | Role::Supervisor) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "integrity reports are for auditors and supervisors".into(),
        ))
    }
}

impl App {
    fn integrity_scope(&self, office: &str) -> Scope {
        if self
            .offices
            .get(office)
            .is_some_and(|o| o.kind == OfficeKind::National)
        {
            Scope::All
        } else {
            Scope::Offices(
                self.offices
                    .descendants(office)
                    .into_iter()
                    .map(str::to_string)
                    .collect::<BTreeSet<_>>(),
            )
        }
    }

    /// Starts an integrity report over the caller's scope in the background of this instance,
    /// or, when one already runs here, answers that one (`Ok((status, false))`).
    ///
    /// # Errors
    /// A role other than auditor or supervisor (403), the store.
    pub async fn start_integrity_report(
        &self,
        caller: &Caller,
    ) -> Result<(ReportStatus, bool), Error> {
        auditor_or_supervisor(caller)?;
        if self
            .integrity
            .running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            let mut tx = self.engine.db().read().await.map_err(store)?;
            let row = fetch_optional!(
                tx.conn(),
                Row,
                &format!(
                    "SELECT {COLUMNS} FROM integrity_reports WHERE status = 'running' \
                     ORDER BY started_at DESC LIMIT 1"
                ),
            )
            .map_err(store)?;
            if let Some(row) = row {
                return Ok((status_of(row, self.engine.clock().now()), false));
            }
            return Err(Error::Unavailable);
        }
        let started = self.insert_report(caller).await;
        let (id, status) = match started {
            Ok(s) => s,
            Err(e) => {
                self.integrity.running.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let engine = self.engine.clone();
        let scope = self.integrity_scope(&caller.office);
        let office = caller.office.clone();
        let runner = self.integrity.clone();
        tokio::spawn(async move {
            let outcome = build(
                &engine,
                &office,
                &scope,
                Some(runner.pacing),
                Some(Progress { id: &id }),
            )
            .await;
            if let Err(e) = finish(&engine, &id, outcome).await {
                tracing::error!(report = %id, error = %e, "the integrity report's result could not be stored");
            }
            runner.running.store(false, Ordering::SeqCst);
        });
        Ok((status, true))
    }

    async fn insert_report(&self, caller: &Caller) -> Result<(String, ReportStatus), Error> {
        let id = Uuid::new_v4().to_string();
        let now = self.engine.clock().now().timestamp_micros();
        let mut w = self.engine.begin_write().await?;
        run!(
            w.conn(),
            "INSERT INTO integrity_reports (id, requested_by, scope, status, started_at, heartbeat, \
             total, done, events, invalid) VALUES ($1, $2, $3, 'running', $4, $4, 0, 0, 0, 0)",
            &id,
            &caller.sub,
            &caller.office,
            now,
        )
        .map_err(store)?;
        w.commit().await.map_err(store)?;
        let status = status_of(
            (
                id.clone(),
                caller.sub.clone(),
                caller.office.clone(),
                "running".into(),
                now,
                now,
                None,
                0,
                0,
                0,
                0,
                None,
            ),
            self.engine.clock().now(),
        );
        Ok((id, status))
    }

    /// A report, if the caller's office covers its scope.
    ///
    /// # Errors
    /// A role other than auditor or supervisor (403), no such report in scope (404), the store.
    pub async fn integrity_report(&self, caller: &Caller, id: &str) -> Result<ReportStatus, Error> {
        auditor_or_supervisor(caller)?;
        let mut tx = self.engine.db().read().await.map_err(store)?;
        let row = fetch_optional!(
            tx.conn(),
            Row,
            &format!("SELECT {COLUMNS} FROM integrity_reports WHERE id = $1"),
            id,
        )
        .map_err(store)?
        .filter(|r| self.offices.covers(&caller.office, &r.2))
        .ok_or_else(|| Error::NotFound("no such integrity report".into()))?;
        Ok(status_of(row, self.engine.clock().now()))
    }

    /// The latest reports the caller's office covers, newest first (without their documents).
    ///
    /// # Errors
    /// A role other than auditor or supervisor (403), the store.
    pub async fn integrity_reports(&self, caller: &Caller) -> Result<Vec<ReportStatus>, Error> {
        auditor_or_supervisor(caller)?;
        let mut tx = self.engine.db().read().await.map_err(store)?;
        let rows = fetch_all!(
            tx.conn(),
            Row,
            &format!(
                "SELECT {} FROM integrity_reports ORDER BY started_at DESC LIMIT 200",
                COLUMNS.replace("result", "NULL AS result")
            ),
        )
        .map_err(store)?;
        let now = self.engine.clock().now();
        Ok(rows
            .into_iter()
            .filter(|r| self.offices.covers(&caller.office, &r.2))
            .take(20)
            .map(|r| status_of(r, now))
            .collect())
    }
}

async fn finish(
    engine: &Engine,
    id: &str,
    outcome: Result<Report, ptl_engine::pipeline::EngineError>,
) -> Result<(), ptl_engine::pipeline::EngineError> {
    let now = engine.clock().now().timestamp_micros();
    let mut w = engine.begin_write().await?;
    match outcome {
        Ok(report) => {
            let text = serde_json::to_string(&report).unwrap_or_default();
            run!(
                w.conn(),
                "UPDATE integrity_reports SET status = 'done', finished_at = $1, heartbeat = $1, \
                 done = total, events = $2, invalid = $3, result = $4 WHERE id = $5",
                now,
                i64::try_from(report.events).unwrap_or(i64::MAX),
                i64::try_from(report.invalid.len()).unwrap_or(i64::MAX),
                text,
                id,
            )?;
        }
        Err(e) => {
            tracing::error!(report = %id, error = %e, "the integrity report failed");
            run!(
                w.conn(),
                "UPDATE integrity_reports SET status = 'failed', finished_at = $1, heartbeat = $1 \
                 WHERE id = $2",
                now,
                id,
            )?;
        }
    }
    w.commit().await?;
    Ok(())
}
