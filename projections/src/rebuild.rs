//! Rebuilding the read models from the event log.
//!
//! Why: a new read model, a fixed projection bug or a restored database needs the tables
//! recomputed from the only source of truth. The rebuild deletes the selected tables, then
//! streams every event in commit order ([`GlobalLog::stream_after`], never the whole log in
//! memory), folds each case's state with `ptl_domain::evolve` and calls the same projection code
//! as live writes, one transaction per batch.
//!
//! It is safe while the engine is writing: every upsert keeps the row with the greater
//! sequence, so a live write and the rebuild can reach a row in either order; milestones are
//! append-only rows keyed by sequence.
//!
//! Memory: one `CaseState` per case seen so far is kept in a `HashMap` (events of different cases
//! are interleaved in the log). That is proportional to the number of cases (a few kilobytes
//! each), acceptable for the volumes of this procedure (thousands of cases a year); a larger
//! store would need an LRU of states re-read from the case's stream on a miss.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ptl_domain::{CaseEvent, CaseState};
use ptl_engine::db::{Batch, Db};
use ptl_engine::run;
use ptl_engine::store::global_log::{GlobalLog, LogCursor, LoggedEvent};
use uuid::Uuid;

use crate::project::Models;
use crate::ProjectionError;

/// Events applied per transaction.
const BATCH: usize = 500;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// Events read and applied.
    pub events: u64,
    /// Distinct cases.
    pub cases: u64,
    /// Wall time taken.
    pub elapsed: Duration,
}

/// Deletes the selected read models (`only`: `None` for all, or `work_queue`, `deadlines`,
/// `statistics`, `registers`) and rebuilds them from the event log; `progress` is called with the number of
/// events applied so far after each batch.
///
/// # Errors
/// [`ProjectionError::UnknownModel`] for an unknown `only`; [`ProjectionError::Decode`] for an
/// event that does not decode; [`ProjectionError::Db`] when the store fails (batches already
/// committed stay; running the rebuild again starts over).
pub async fn rebuild(
    db: &Db,
    only: Option<&str>,
    progress: impl Fn(u64),
) -> Result<RebuildReport, ProjectionError> {
    replay_log(db, only, true, BATCH, progress).await
}

/// Brings the selected read models up to date from the event log WITHOUT clearing them first,
/// while the server keeps writing: a read model added later (or restored from an older backup)
/// catches up from the global log without downtime. Safe beside live writes because every row
/// remembers the last event applied and ignores older ones, and milestones are insert-once.
///
/// # Errors
/// As [`rebuild`].
pub async fn catch_up(
    db: &Db,
    only: Option<&str>,
    progress: impl Fn(u64),
) -> Result<RebuildReport, ProjectionError> {
    replay_log(db, only, false, BATCH, progress).await
}

/// [`catch_up`] applying `batch` events per transaction (at least 1; [`catch_up`] takes 500):
/// progress is recorded, and `progress` called, after each batch.
///
/// # Errors
/// As [`rebuild`].
pub async fn catch_up_in_batches(
    db: &Db,
    only: Option<&str>,
    batch: usize,
    progress: impl Fn(u64),
) -> Result<RebuildReport, ProjectionError> {
    replay_log(db, only, false, batch.max(1), progress).await
}

/// The run, with its start, progress and end recorded in `projection_runs`
/// ([`crate::ops`]): while it runs, or after it failed, every instance on the store sees the
/// selected read models as not complete.
async fn replay_log(
    db: &Db,
    only: Option<&str>,
    clear: bool,
    batch: usize,
    progress: impl Fn(u64),
) -> Result<RebuildReport, ProjectionError> {
    let models = Models::parse(only)?;
    // Every event that exists now must be applied before the rebuild reports success: on
    // PostgreSQL the global log holds back events while any older transaction is still open
    // (see `GlobalLog`), so the stream can end early and is then followed up below.
    let expected = count_events(db).await?;
    crate::ops::run_started(db, models, clear, expected, chrono::Utc::now()).await?;
    let result = replay_tracked(db, models, clear, batch, expected, progress).await;
    let error = result.as_ref().err().map(ToString::to_string);
    if let Err(e) = crate::ops::run_ended(db, models, error.as_deref(), chrono::Utc::now()).await {
        tracing::warn!(error = %e, "could not record the end of the read models' run");
    }
    result
}

async fn replay_tracked(
    db: &Db,
    models: Models,
    clear: bool,
    batch_size: usize,
    expected: u64,
    progress: impl Fn(u64),
) -> Result<RebuildReport, ProjectionError> {
    let started = Instant::now();
    let tracked = |events: u64, last: Option<(i64, chrono::DateTime<chrono::Utc>)>| async move {
        if let Some((position, at)) = last {
            crate::ops::run_progress(db, models, events, position, Some(at), chrono::Utc::now())
                .await?;
        }
        Ok::<(), ProjectionError>(())
    };
    let mut tx = db.begin().await?;
    if clear && models.work_queue {
        run!(tx.conn(), "DELETE FROM work_queue")?;
    }
    if clear && models.deadlines {
        run!(tx.conn(), "DELETE FROM deadlines")?;
    }
    if clear && models.statistics {
        run!(tx.conn(), "DELETE FROM case_facts")?;
        run!(tx.conn(), "DELETE FROM case_milestones")?;
    }
    if clear && models.registers {
        run!(tx.conn(), "DELETE FROM certificate_register")?;
        run!(tx.conn(), "DELETE FROM application_register")?;
    }
    tx.commit().await?;

    let log = match db {
        Db::Sqlite(p) => GlobalLog::Sqlite(p.clone()),
        Db::Postgres(p) => GlobalLog::Postgres(p.clone()),
    };
    let mut states: HashMap<Uuid, CaseState> = HashMap::new();
    let page = i64::try_from(batch_size).unwrap_or(500);
    let mut stream = log.stream_after(LogCursor::default(), page);
    let mut batch: Vec<LoggedEvent> = Vec::with_capacity(batch_size);
    let mut events = 0_u64;
    let mut cursor = LogCursor::default();
    // The greatest global position applied, and when that event was recorded.
    let mut last: Option<(i64, chrono::DateTime<chrono::Utc>)> = None;
    let furthest = |last: &mut Option<(i64, chrono::DateTime<chrono::Utc>)>, b: &[LoggedEvent]| {
        for e in b {
            if last.is_none_or(|(p, _)| e.global_position > p) {
                *last = Some((e.global_position, e.occurred_on));
            }
        }
    };
    loop {
        let next = stream.next().await;
        let end = next.is_none();
        if let Some(e) = next {
            let e = e?;
            cursor = e.cursor;
            batch.push(e);
        }
        if batch.len() >= batch_size || (end && !batch.is_empty()) {
            furthest(&mut last, &batch);
            events += apply_batch(db, models, &mut states, std::mem::take(&mut batch)).await?;
            tracked(events, last).await?;
            progress(events);
        }
        if end {
            break;
        }
    }
    drop(stream);
    let give_up = Instant::now() + std::time::Duration::from_secs(30);
    while events < expected {
        let more = log.read_after(cursor, page).await?;
        if more.is_empty() {
            if Instant::now() > give_up {
                return Err(ProjectionError::Incomplete {
                    applied: events,
                    expected,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        if let Some(e) = more.last() {
            cursor = e.cursor;
        }
        furthest(&mut last, &more);
        events += apply_batch(db, models, &mut states, more).await?;
        tracked(events, last).await?;
        progress(events);
    }
    Ok(RebuildReport {
        events,
        cases: states.len() as u64,
        elapsed: started.elapsed(),
    })
}

async fn apply_batch(
    db: &Db,
    models: Models,
    states: &mut HashMap<Uuid, CaseState>,
    batch: Vec<LoggedEvent>,
) -> Result<u64, ProjectionError> {
    // Milestones are appended per event; the rows that follow from a case's state (work queue,
    // deadlines, facts) are written once per case per batch, from the state after the batch:
    // the same rows the live projection leaves (deadline rows carry the sequence of the last
    // event that changed them, as live), with a fraction of the statements.
    struct Dirty {
        sequence: u64,
        recorded_at: chrono::DateTime<chrono::Utc>,
        deadlines_touched_at: Option<u64>,
    }
    let mut dirty: Vec<(Uuid, Dirty)> = Vec::new();
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut tx = db.begin().await?;
    let mut n = 0;
    for logged in batch {
        let event: CaseEvent =
            serde_json::from_str(&logged.payload_json).map_err(|e| ProjectionError::Decode {
                case_id: logged.aggregate_id,
                sequence: logged.sequence_number,
                message: e.to_string(),
            })?;
        let state = states.remove(&logged.aggregate_id).unwrap_or_default();
        let state = ptl_domain::evolve(state, event.clone());
        let sequence = u64::try_from(logged.sequence_number).unwrap_or(0);
        let mut milestone = Batch::new();
        crate::project::apply_milestone(
            &mut milestone,
            models,
            logged.aggregate_id,
            sequence,
            &event,
            &state,
        );
        crate::registers::apply_certificate_event(
            &mut milestone,
            models,
            logged.aggregate_id,
            sequence,
            &event,
            &state,
            false,
        );
        milestone.execute(tx.conn()).await?;
        let touched = crate::project::touches_deadlines(&event.body).then_some(sequence);
        match index.get(&logged.aggregate_id) {
            Some(&i) => {
                let d = &mut dirty[i].1;
                d.sequence = sequence;
                d.recorded_at = event.recorded_at;
                d.deadlines_touched_at = touched.or(d.deadlines_touched_at);
            }
            None => {
                index.insert(logged.aggregate_id, dirty.len());
                dirty.push((
                    logged.aggregate_id,
                    Dirty {
                        sequence,
                        recorded_at: event.recorded_at,
                        deadlines_touched_at: touched,
                    },
                ));
            }
        }
        states.insert(logged.aggregate_id, state);
        n += 1;
    }
    for (case_id, d) in dirty {
        if let Some(state) = states.get(&case_id) {
            let mut rows = Batch::new();
            crate::project::apply_case_rows(
                &mut rows,
                models,
                case_id,
                d.sequence,
                d.recorded_at,
                d.deadlines_touched_at,
                state,
            );
            rows.execute(tx.conn()).await?;
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// The number of events in the log: the total a rebuild's progress bar counts towards (one
/// `COUNT(*)` over the event table; events written during the rebuild are not included).
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn count_events(db: &Db) -> Result<u64, ProjectionError> {
    let mut tx = db.read().await?;
    let row: Option<(i64,)> =
        ptl_engine::fetch_optional!(tx.conn(), (i64,), "SELECT COUNT(*) FROM case_events")?;
    drop(tx);
    Ok(row.map_or(0, |r| u64::try_from(r.0).unwrap_or(0)))
}
