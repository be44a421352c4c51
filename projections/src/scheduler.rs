//! The deadline scheduler: records, in each case's own history, the deadlines that passed unmet
//! and the statuses whose validity ended (`procedure.md`, "Deadlines": "a missed deadline is
//! itself recorded in the case history").
//!
//! Why it lives here: it finds its work in the read models' due-date index
//! ([`due_deadlines`], [`next_open_due`]) rather than by replaying every case, and this crate
//! already depends on the engine (the dependency runs domain -> engine -> projections -> api).
//!
//! Why it is safe to run anywhere, any number of times: it never writes a table itself. Every
//! record goes through [`Engine::execute`] as an [`Action::RecordMissedDeadline`] or
//! [`Action::RecordStatusExpiry`] by [`Actor::system`], so the per-case lock, the stored-version
//! check and the domain's own rule ("only an unrecorded miss, only after the due date") make a
//! second attempt a refusal that writes nothing. A restart, a cron run beside the server, or two
//! servers sharing one PostgreSQL database therefore record each miss exactly once; the loser of
//! a race sees a refusal or [`EngineError::Conflict`] and counts it as `skipped`.
//!
//! Why the business date of a record is `due_on + 1 day`: that is the day the miss happened,
//! whatever day the scheduler noticed it (a server down over the due date records the right date
//! on start); the detection instant is the engine clock's reading, kept in the event as
//! `detected_at`.
//!
//! Why the loop sleeps instead of polling: [`Scheduler::run`] sleeps until the first instant at
//! which Kyiv's date is past the earliest open due date (or status validity), or until the API
//! pokes [`Scheduler::notifier`] after a command that may have started an earlier deadline
//! (mini-redis's `purge_expired_tasks` pattern). The sleep is capped by
//! [`SchedulerOptions::max_sleep`] because tokio's timer runs on the monotonic clock, which
//! does not advance while a machine is suspended, and the business clock can be moved; a capped
//! wake costs one indexed `MIN` query.
//!
//! Status expiry: the work queue keeps each case's `valid_until` (migration 0008), so candidates
//! (granted, `valid_until` before today) come from an index, and each candidate is confirmed
//! against its replayed state before anything is recorded.
//!
//! Hand-over to a successor authority (`procedure.md`, "Procedure versions"): on the effective
//! date of a definition that takes the deciding role from an authority, the files pending there
//! pass to the definition's authority. Candidates are the work-queue rows at stage `submitted`
//! held by an authority that lost the role by today; each is confirmed by the domain
//! ([`successor_hand_over`]) and recorded as [`Action::HandOverToSuccessor`], dated the
//! effective date. Hand-overs come first in a run, so the decision deadline they restart is the
//! one whose miss is recorded. The loop wakes at midnight Kyiv of the next such effective date,
//! and at once while a candidate is left.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use ptl_domain::decide::successor_hand_over;
use ptl_domain::{kyiv_date, Action, Actor, DeadlineName, DomainError, RuleBook, Stage, Status};
use ptl_engine::db::Db;
use ptl_engine::pipeline::{Engine, EngineError, Executed, Personal};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::queries::{due_deadlines, next_open_due};
use crate::sql::{date_text, parse_opt_date};
use crate::ProjectionError;

/// Why a scheduler run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The read models could not be read.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// The engine could not record (store unavailable or an internal error).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<sqlx::Error> for SchedulerError {
    fn from(e: sqlx::Error) -> Self {
        Self::Projection(ProjectionError::Db(e))
    }
}

/// What one [`Scheduler::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Missed deadlines recorded by this run.
    pub missed_recorded: u64,
    /// Status expiries recorded by this run.
    pub expiries_recorded: u64,
    /// Pending files handed to a successor authority by this run.
    pub hand_overs_recorded: u64,
    /// Records another writer made first, or that the case no longer needed (met meanwhile,
    /// already recorded, stale read model): refused by the domain or lost a version race.
    pub skipped: u64,
    /// Records that failed with an internal error (logged; the next run retries them).
    pub failed: u64,
}

/// Timing of [`Scheduler::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Longest single sleep: the loop re-reads the clock and the index at least this often.
    pub max_sleep: Duration,
    /// Wait before retrying when a run failed or left something due it could not record.
    pub retry_after: Duration,
    /// After a poke, wait this long (gathering further pokes) before re-reading the index: under
    /// a steady write load the loop then reads it a few times a second, not once per command.
    /// A deadline started by a command is due at the earliest at the next midnight, so nothing
    /// is recorded later for it.
    pub poke_debounce: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            max_sleep: Duration::from_secs(15 * 60),
            retry_after: Duration::from_secs(60),
            poke_debounce: Duration::from_millis(250),
        }
    }
}

/// Records missed deadlines and expired statuses; see the module docs.
#[derive(Debug)]
pub struct Scheduler {
    engine: Arc<Engine>,
    notify: Arc<Notify>,
    options: SchedulerOptions,
}

/// The first instant at which Kyiv's date is `day` or later (midnight Kyiv, found with the
/// domain's own [`kyiv_date`] so that the scheduler's "today" can never disagree with `decide`'s).
#[must_use]
pub fn kyiv_midnight(day: NaiveDate) -> DateTime<Utc> {
    let utc_midnight = day.and_time(chrono::NaiveTime::MIN).and_utc();
    // Kyiv is UTC+2 or UTC+3; try the earlier candidate first.
    for hours in [3, 2] {
        let t = utc_midnight - chrono::Duration::hours(hours);
        if kyiv_date(t) >= day {
            return t;
        }
    }
    utc_midnight
}

/// The day after `d` (saturating at the end of the calendar).
fn next_day(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

/// Outcome of one attempted record.
enum Attempt {
    Recorded,
    Skipped,
    Failed,
}

fn classify(
    what: &str,
    case_id: Uuid,
    outcome: Result<Result<Executed, DomainError>, EngineError>,
) -> Result<Attempt, SchedulerError> {
    match outcome {
        Ok(Ok(_)) => Ok(Attempt::Recorded),
        Ok(Err(refusal)) => {
            tracing::debug!(%case_id, what, %refusal, "not recorded: refused by the domain");
            Ok(Attempt::Skipped)
        }
        Err(EngineError::Conflict { .. } | EngineError::NotFound) => Ok(Attempt::Skipped),
        Err(e @ EngineError::Unavailable(_)) => Err(e.into()),
        Err(e) => {
            tracing::error!(%case_id, what, error = %e, "could not record");
            Ok(Attempt::Failed)
        }
    }
}

impl Scheduler {
    /// A scheduler over `engine` with the default timing.
    #[must_use]
    pub fn new(engine: Arc<Engine>) -> Self {
        Self::with_options(engine, SchedulerOptions::default())
    }

    /// A scheduler with explicit timing.
    #[must_use]
    pub fn with_options(engine: Arc<Engine>, options: SchedulerOptions) -> Self {
        Self {
            engine,
            notify: Arc::new(Notify::new()),
            options,
        }
    }

    /// The handle the API pokes with `notify_one()` after each recorded command, so the loop
    /// recomputes its wake-up time (a poke while the loop is busy is kept, not lost).
    #[must_use]
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Records every deadline that passed unmet and every granted status whose validity ended,
    /// as of the engine clock's Kyiv date. Misses come first, so a deadline that fell due before
    /// an expiry is recorded before the expiry cancels the case's open deadlines.
    ///
    /// # Errors
    /// The read models cannot be read or the store is unavailable; records made before the error
    /// stay recorded and the next run continues where this one stopped.
    pub async fn run_once(&self) -> Result<RunReport, SchedulerError> {
        let started = self.engine.clock().now();
        let result = self.record_due(kyiv_date(started)).await;
        // The run is recorded (`clock_runs`, migration 0021) so that `/readyz`, the status page
        // and `ptl status` can tell a legal clock that stopped from one with nothing to do.
        let recorded = result.as_ref().map_or(0, |r| {
            r.missed_recorded + r.expiries_recorded + r.hand_overs_recorded
        });
        let wake = self.next_wake().await.ok().flatten();
        let error = result.as_ref().err().map(ToString::to_string);
        if let Err(e) = crate::ops::clock_ran(
            self.engine.db(),
            started,
            kyiv_date(started),
            recorded,
            wake,
            error.as_deref(),
        )
        .await
        {
            tracing::warn!(error = %e, "deadline scheduler: cannot record its run");
        }
        result
    }

    async fn record_due(&self, today: NaiveDate) -> Result<RunReport, SchedulerError> {
        let mut report = RunReport::default();
        let rules = self.engine.rules().clone();
        for case_id in hand_over_candidates(self.engine.db(), &rules, today).await? {
            let Some((state, _)) = self.engine.load(case_id).await? else {
                continue;
            };
            let Some(def) = successor_hand_over(&state, &rules, today) else {
                continue;
            };
            let command = self.engine.command(
                Actor::system(),
                def.effective_from,
                Action::HandOverToSuccessor,
            );
            let outcome = self
                .engine
                .execute(case_id, None, command, Personal::default(), None)
                .await;
            match classify("hand-over to a successor", case_id, outcome)? {
                Attempt::Recorded => report.hand_overs_recorded += 1,
                Attempt::Skipped => report.skipped += 1,
                Attempt::Failed => report.failed += 1,
            }
        }
        for (case_id, name, due_on) in due_deadlines(self.engine.db(), today).await? {
            // A row names a deadline the projections copied from an event; one that does not
            // parse is no deadline of the case, as the domain would answer: skipped.
            let name: DeadlineName = match name.parse() {
                Ok(name) => name,
                Err(refusal) => {
                    tracing::debug!(%case_id, %refusal, "not recorded: no deadline name");
                    report.skipped += 1;
                    continue;
                }
            };
            let command = self.engine.command(
                Actor::system(),
                next_day(due_on),
                Action::RecordMissedDeadline { name },
            );
            let outcome = self
                .engine
                .execute(case_id, None, command, Personal::default(), None)
                .await;
            match classify("missed deadline", case_id, outcome)? {
                Attempt::Recorded => report.missed_recorded += 1,
                Attempt::Skipped => report.skipped += 1,
                Attempt::Failed => report.failed += 1,
            }
        }
        for case_id in expiry_candidates(self.engine.db(), today).await? {
            let Some((state, _)) = self.engine.load(case_id).await? else {
                continue;
            };
            let Some(until) = state.valid_until else {
                continue;
            };
            if state.status() != Status::Granted || until >= today {
                // Extended, or no longer granted: not expired (not a skip either).
                continue;
            }
            let command =
                self.engine
                    .command(Actor::system(), next_day(until), Action::RecordStatusExpiry);
            let outcome = self
                .engine
                .execute(case_id, None, command, Personal::default(), None)
                .await;
            match classify("status expiry", case_id, outcome)? {
                Attempt::Recorded => report.expiries_recorded += 1,
                Attempt::Skipped => report.skipped += 1,
                Attempt::Failed => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// When the next record can fall due: midnight Kyiv after the earliest open due date or
    /// status validity; `None` when nothing is running. An instant at or before now means work
    /// is due (or was left by a run that could not record it).
    ///
    /// # Errors
    /// The read models cannot be read.
    pub async fn next_wake(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        next_wake_at(
            self.engine.db(),
            self.engine.rules(),
            self.engine.clock().now(),
        )
        .await
    }

    /// The loop of `ptl serve`: a catch-up run at start, then a run each time the next wake-up
    /// instant passes; until `shutdown` completes. Errors are logged and retried after
    /// [`SchedulerOptions::retry_after`]; they never end the loop.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ran = self.run_logged().await;
        loop {
            let now = self.engine.clock().now();
            let sleep_for = match self.next_wake().await {
                Err(e) => {
                    tracing::warn!(error = %e, "deadline scheduler: cannot read the due-date index");
                    self.options.retry_after
                }
                Ok(None) => self.options.max_sleep,
                Ok(Some(t)) if t <= now => {
                    if ran {
                        // Something stays due that the last run could not record: back off.
                        self.options.retry_after
                    } else {
                        ran = self.run_logged().await;
                        continue;
                    }
                }
                Ok(Some(t)) => (t - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(self.options.max_sleep),
            };
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = self.notify.notified() => {
                    tokio::select! {
                        biased;
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(self.options.poke_debounce) => {}
                    }
                }
                () = tokio::time::sleep(sleep_for) => {}
            }
            ran = false;
        }
    }

    /// One run whose outcome is logged; always `true` (a run happened).
    async fn run_logged(&self) -> bool {
        match self.run_once().await {
            Ok(r) if r == RunReport::default() => {}
            Ok(r) => tracing::info!(
                missed_recorded = r.missed_recorded,
                expiries_recorded = r.expiries_recorded,
                hand_overs_recorded = r.hand_overs_recorded,
                skipped = r.skipped,
                failed = r.failed,
                "deadline scheduler run"
            ),
            Err(e) => tracing::warn!(error = %e, "deadline scheduler run failed"),
        }
        true
    }
}

/// [`Scheduler::next_wake`] on a store and rule book at `now`, without an engine (the status
/// reads it too).
///
/// # Errors
/// The read models cannot be read.
pub async fn next_wake_at(
    db: &Db,
    rules: &RuleBook,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, SchedulerError> {
    let today = kyiv_date(now);
    let due = next_open_due(db).await?;
    let expiry = next_expiry(db, today).await?;
    let earliest = match (due, expiry) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    // A role moves at midnight Kyiv of its definition's effective date; a file still pending
    // at an authority that lost it is due now.
    let hand_over = if hand_over_candidates(db, rules, today).await?.is_empty() {
        next_role_move(rules, today)
    } else {
        Some(today)
    };
    let wakes = [
        earliest.map(|d| kyiv_midnight(next_day(d))),
        hand_over.map(kyiv_midnight),
    ];
    Ok(wakes.into_iter().flatten().min())
}

/// The authorities that a definition in force by `today` took the deciding role from (the
/// authority of each definition followed by one naming another).
fn retired_authorities(rules: &RuleBook, today: NaiveDate) -> Vec<&str> {
    let mut out: Vec<&str> = rules
        .definitions()
        .windows(2)
        .filter(|w| {
            w[1].effective_from <= today && w[0].deciding_authority != w[1].deciding_authority
        })
        .map(|w| w[0].deciding_authority.as_str())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The next effective date after `today` of a definition that moves the deciding role.
fn next_role_move(rules: &RuleBook, today: NaiveDate) -> Option<NaiveDate> {
    rules
        .definitions()
        .windows(2)
        .filter(|w| {
            w[1].effective_from > today && w[0].deciding_authority != w[1].deciding_authority
        })
        .map(|w| w[1].effective_from)
        .min()
}

/// Cases whose file is pending (stage `submitted`, index `work_queue_stage`) at an authority
/// that lost the deciding role by `today`; confirmed by the caller on the state.
async fn hand_over_candidates(
    db: &Db,
    rules: &RuleBook,
    today: NaiveDate,
) -> Result<Vec<Uuid>, SchedulerError> {
    let mut ids = Vec::new();
    for authority in retired_authorities(rules, today) {
        let mut tx = db.read().await?;
        let rows: Vec<(String,)> = ptl_engine::fetch_all!(
            tx.conn(),
            (String,),
            "SELECT case_id FROM work_queue WHERE stage = $1 AND submitted_to = $2 ORDER BY case_id",
            Stage::Submitted.as_str(),
            authority
        )?;
        drop(tx);
        for (c,) in rows {
            ids.push(
                Uuid::parse_str(&c)
                    .map_err(|e| sqlx::Error::Decode(format!("case_id: {e}").into()))?,
            );
        }
    }
    Ok(ids)
}

/// Granted cases whose work-queue `valid_until` is before `today` (index
/// `work_queue_status_valid_until`), confirmed by the caller on the state.
async fn expiry_candidates(db: &Db, today: NaiveDate) -> Result<Vec<Uuid>, SchedulerError> {
    let mut tx = db.read().await?;
    let rows: Vec<(String,)> = ptl_engine::fetch_all!(
        tx.conn(),
        (String,),
        "SELECT case_id FROM work_queue WHERE status = $1 AND valid_until IS NOT NULL AND valid_until < $2 \
         ORDER BY case_id",
        Status::Granted.as_str(),
        date_text(today)
    )?;
    drop(tx);
    rows.into_iter()
        .map(|(c,)| {
            Uuid::parse_str(&c)
                .map_err(|e| sqlx::Error::Decode(format!("case_id: {e}").into()).into())
        })
        .collect()
}

/// The earliest `valid_until` on or after `today` among granted cases (the scheduler's wake-up
/// for expiries; one indexed `MIN`).
async fn next_expiry(db: &Db, today: NaiveDate) -> Result<Option<NaiveDate>, SchedulerError> {
    let text = "SELECT MIN(valid_until) FROM work_queue WHERE status = $1 AND valid_until >= $2";
    let mut tx = db.read().await?;
    let rows: Vec<(Option<String>,)> = ptl_engine::fetch_all!(
        tx.conn(),
        (Option<String>,),
        text,
        Status::Granted.as_str(),
        date_text(today)
    )?;
    drop(tx);
    Ok(parse_opt_date(
        rows.into_iter().next().and_then(|r| r.0).as_deref(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_in_kyiv_is_22_utc_in_winter_and_21_utc_in_summer() {
        let winter = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap_or_default();
        assert_eq!(
            kyiv_midnight(winter).to_rfc3339(),
            "2026-03-05T22:00:00+00:00"
        );
        let summer = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or_default();
        assert_eq!(
            kyiv_midnight(summer).to_rfc3339(),
            "2026-06-30T21:00:00+00:00"
        );
        // The day DST starts (29 March 2026): midnight is still UTC+2.
        let switch = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap_or_default();
        assert_eq!(
            kyiv_midnight(switch).to_rfc3339(),
            "2026-03-28T22:00:00+00:00"
        );
    }

    #[test]
    fn the_instant_before_midnight_kyiv_is_still_the_previous_day() {
        let day = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap_or_default();
        let t = kyiv_midnight(day);
        assert_eq!(kyiv_date(t), day);
        assert!(kyiv_date(t - chrono::Duration::microseconds(1)) < day);
    }
}
