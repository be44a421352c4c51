//! The work queue's tallies: how many cases each office has per stage and assignee, and per
//! earliest running deadline's due date (migration 0025), kept by triggers on `work_queue` so the
//! work queue page reads its eight view counts and its assignees from a few rows per office
//! instead of a pass over every case ([`crate::queries::queue_counts`]).
//!
//! On SQLite (one writer) the triggers update the tallies themselves. On PostgreSQL, where several
//! API instances write at once, they append change rows (`work_queue_tally_changes`, -1 for the
//! groups a case leaves and +1 for those it joins) that lock nothing; every read adds them to
//! the tallies in the same statement, and [`fold_tally_changes`], run by `ptl serve` every
//! second, folds them into the tallies so that they stay few.

use ptl_engine::db::{Db, Tx};

use crate::ProjectionError;

/// The rows (office, stage, assignee, cases) whose sum per group is the number of cases of the
/// group, as a `FROM` source.
pub(crate) fn group_source(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => "work_queue_tally",
        Db::Postgres(_) => {
            "(SELECT office, stage, assignee, cases FROM work_queue_tally \
             UNION ALL SELECT office, stage, assignee, cases FROM work_queue_tally_changes) \
             AS tally"
        }
    }
}

/// The rows (office, next_due_on, stage, cases) whose sum per group is the number of cases with
/// that earliest running deadline, as a `FROM` source.
pub(crate) fn due_source(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => "work_queue_due_tally",
        Db::Postgres(_) => {
            "(SELECT office, next_due_on, stage, cases FROM work_queue_due_tally \
             UNION ALL SELECT office, next_due_on, stage, cases FROM work_queue_tally_changes \
             WHERE next_due_on IS NOT NULL) AS due_tally"
        }
    }
}

/// The key of the advisory lock under which one PostgreSQL session at a time folds the changes
/// (`ptl` in ASCII, then 0025: the migration).
const FOLD_LOCK: i64 = 0x7074_6c00_0025;

/// Folds the change rows the PostgreSQL triggers appended into the tallies, in one transaction,
/// and drops the groups left empty; returns how many change rows it folded. Rows of transactions
/// still open stay for the next fold; when another instance is folding, this one does nothing.
/// Nothing to do on SQLite, where the triggers update the tallies directly.
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be written (nothing is folded).
pub async fn fold_tally_changes(db: &Db) -> Result<u64, ProjectionError> {
    let Db::Postgres(_) = db else {
        return Ok(0);
    };
    let mut tx = db.begin().await?;
    let Tx::Postgres(t) = &mut tx else {
        return Ok(0);
    };
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(FOLD_LOCK)
        .fetch_one(&mut **t)
        .await?;
    if !locked {
        return Ok(0);
    }
    let (folded,): (i64,) = sqlx::query_as(
        "WITH moved AS (DELETE FROM work_queue_tally_changes \
         RETURNING office, stage, assignee, next_due_on, cases), \
         by_group AS (INSERT INTO work_queue_tally AS t (office, stage, assignee, cases) \
         SELECT office, stage, assignee, SUM(cases) FROM moved GROUP BY office, stage, assignee \
         ON CONFLICT (office, stage, assignee) DO UPDATE SET cases = t.cases + excluded.cases), \
         by_day AS (INSERT INTO work_queue_due_tally AS t (office, next_due_on, stage, cases) \
         SELECT office, next_due_on, stage, SUM(cases) FROM moved WHERE next_due_on IS NOT NULL \
         GROUP BY office, next_due_on, stage \
         ON CONFLICT (office, next_due_on, stage) DO UPDATE SET cases = t.cases + excluded.cases) \
         SELECT COUNT(*) FROM moved",
    )
    .fetch_one(&mut **t)
    .await?;
    // (Data-modifying `WITH` parts run to completion whether or not the query reads them; the
    // statement's parts share one snapshot, so the groups left empty are dropped after it.)
    if folded > 0 {
        sqlx::query("DELETE FROM work_queue_tally WHERE cases = 0")
            .execute(&mut **t)
            .await?;
        sqlx::query("DELETE FROM work_queue_due_tally WHERE cases = 0")
            .execute(&mut **t)
            .await?;
    }
    tx.commit().await?;
    Ok(u64::try_from(folded).unwrap_or(0))
}
