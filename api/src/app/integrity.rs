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
use ptl_engine::pipeline::{Engine, EngineError};
use ptl_engine::{fetch_all, fetch_optional, run};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::store;
use super::{App, Caller, Error};
use crate::integrity::{build, Counters, Pacing, Report, Scope};
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
        let scope = self.integrity_scope(&caller.office);
        run_in_background(
            self.engine.clone(),
            self.integrity.clone(),
            id,
            caller.office.clone(),
            scope,
        );
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

/// How often the runner writes the report's counters (and its heartbeat) to its row.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs a report on a thread of its own at the lowest scheduling priority (`SCHED_IDLE`: it gets
/// a core only when caseworkers' requests leave one idle), over its own connection to the store
/// (`Engine::reader`), so that it neither takes the server's connections nor waits in its
/// runtime's queues. Its counters and its result are written by a task on the server's runtime,
/// at normal priority, through the server's engine: the report's thread never holds the write
/// gate. The heartbeat goes on while the thread runs, however slowly it advances.
fn run_in_background(
    engine: Arc<Engine>,
    runner: Runner,
    id: String,
    office: String,
    scope: Scope,
) {
    let (counters_tx, mut counters_rx) = tokio::sync::watch::channel(Counters::default());
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<Result<Report, EngineError>>();
    let reader_engine = engine.clone();
    let pacing = runner.pacing;
    let spawned = std::thread::Builder::new()
        .name("ptl-integrity".into())
        .spawn(move || {
            lower_priority();
            let outcome = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(async {
                    let reader = reader_engine.reader(1).await?;
                    let progress = |c: Counters| {
                        counters_tx.send_replace(c);
                    };
                    build(&reader, &office, &scope, Some(pacing), Some(&progress)).await
                }),
                Err(e) => Err(EngineError::Internal(format!(
                    "the integrity report's runtime could not start: {e}"
                ))),
            };
            // The receiver is gone only when the server is shutting down.
            let _ = done_tx.send(outcome);
        });
    if let Err(e) = spawned {
        tracing::error!(report = %id, error = %e, "the integrity report's thread could not start");
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut written = Counters::default();
        let mut heartbeat = std::time::Instant::now();
        let outcome = loop {
            tokio::select! {
                outcome = &mut done_rx => {
                    break outcome.unwrap_or_else(|_| Err(EngineError::Internal(
                        "the integrity report's thread stopped without a result".into(),
                    )));
                }
                _ = tick.tick() => {
                    let now = *counters_rx.borrow_and_update();
                    let stale = heartbeat.elapsed() >= std::time::Duration::from_secs(30);
                    if now != written || stale {
                        match write_progress(&engine, &id, now).await {
                            Ok(()) => {
                                written = now;
                                heartbeat = std::time::Instant::now();
                            }
                            Err(e) => tracing::warn!(report = %id, error = %e, "the integrity report's progress could not be written"),
                        }
                    }
                }
            }
        };
        // The last counters (a short report can end between two ticks).
        let last = *counters_rx.borrow();
        if last != written {
            if let Err(e) = write_progress(&engine, &id, last).await {
                tracing::warn!(report = %id, error = %e, "the integrity report's progress could not be written");
            }
        }
        if let Err(e) = finish(&engine, &id, outcome).await {
            tracing::error!(report = %id, error = %e, "the integrity report's result could not be stored");
        }
        runner.running.store(false, Ordering::SeqCst);
    });
}

/// Puts the calling thread (and the threads it starts) at `SCHED_IDLE`. Where the system refuses,
/// the report still runs, paced, at normal priority.
fn lower_priority() {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    ) {
        tracing::warn!(error = ?e, "the integrity report runs at normal priority");
    }
}

async fn write_progress(engine: &Engine, id: &str, c: Counters) -> Result<(), EngineError> {
    let mut w = engine.begin_write().await?;
    run!(
        w.conn(),
        "UPDATE integrity_reports SET done = $1, events = $2, invalid = $3, heartbeat = $4, \
         total = $6 WHERE id = $5",
        i64::try_from(c.done).unwrap_or(i64::MAX),
        i64::try_from(c.events).unwrap_or(i64::MAX),
        i64::try_from(c.invalid).unwrap_or(i64::MAX),
        engine.clock().now().timestamp_micros(),
        id,
        i64::try_from(c.total).unwrap_or(i64::MAX),
    )?;
    w.commit().await?;
    Ok(())
}

async fn finish(
    engine: &Engine,
    id: &str,
    outcome: Result<Report, EngineError>,
) -> Result<(), EngineError> {
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

#[cfg(test)]
mod tests {
    /// The scheduling policy of the calling thread, from `/proc/thread-self/sched` (5 is
    /// `SCHED_IDLE`, 0 `SCHED_OTHER`).
    fn policy() -> Option<u32> {
        let text = std::fs::read_to_string("/proc/thread-self/sched").ok()?;
        text.lines()
            .find(|l| l.starts_with("policy"))?
            .split(':')
            .nth(1)?
            .trim()
            .parse()
            .ok()
    }

    /// The report's thread runs at `SCHED_IDLE`, and so do the threads it starts (a SQLite
    /// connection's worker thread is started by the thread that opens the connection).
    #[test]
    fn the_report_thread_and_its_children_run_at_idle_priority() {
        let outer = std::thread::spawn(|| {
            let before = policy();
            super::lower_priority();
            let after = policy();
            let child = std::thread::spawn(policy).join().ok().flatten();
            (before, after, child)
        })
        .join()
        .unwrap_or_default();
        assert_eq!(outer, (Some(0), Some(5), Some(5)));
        // The server's own threads keep the normal policy.
        assert_eq!(policy(), Some(0));
    }
}
