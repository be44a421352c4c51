//! Catch-up reader over the events of all cases, in commit order, that never skips an event.
//!
//! Projections and rebuilds follow this log with a [`LogCursor`]: "give me what was committed
//! after what I have seen". The cursor is only correct if nothing can ever become visible BEHIND
//! it, i.e. a reader must never see an event before another event that will later be visible with
//! a smaller cursor.
//!
//! # SQLite
//!
//! Every writer starts with `BEGIN IMMEDIATE`, which takes the database write lock before any rowid
//! is allocated, so transactions are serialised and rowid (`global_position`, `AUTOINCREMENT`,
//! never reused) order is commit order. The cursor is the position; `tx` is always 0.
//!
//! # PostgreSQL
//!
//! `global_position` is an identity column: values are allocated in INSERT order, not COMMIT
//! order. If T1 inserts position 10 and T2 then inserts position 11 and commits first, a reader
//! that reads `global_position > checkpoint` sees 11, moves its checkpoint to 11, and never sees
//! 10 when T1 commits. A position-only cursor therefore silently loses events.
//!
//! Each row also records `xact_id` (`pg_current_xact_id()`, the inserting top-level transaction).
//! The reader only returns rows with `xact_id < pg_snapshot_xmin(pg_current_snapshot())`: xmin
//! is the oldest transaction still running when the statement's snapshot was taken, so every
//! transaction below it has finished, and the committed ones are all visible in that snapshot.
//! Rows are ordered by `(xact_id, global_position)` and that PAIR is the cursor. Any transaction
//! that commits later was either running at snapshot time (so its xid is >= xmin) or had no xid
//! yet (so it will get an xid >= the next xid, which is >= xmin). Every row already returned has
//! `xact_id < xmin`, so every row that appears later sorts strictly after the cursor: nothing can
//! appear behind it. Rows of one transaction share `xact_id` and keep their insert order.
//!
//! The price is latency, not correctness: a long-running transaction anywhere in the cluster
//! (not only in this table, xmin is cluster-wide) holds the log back until it ends.
//!
//! # PostgreSQL: a dump restored into another cluster
//!
//! `xact_id` values are only meaningful in the cluster that assigned them. `pg_dump` copies them
//! as data; `pg_restore` into a cluster whose transaction counter is lower (a younger cluster)
//! leaves rows that look like they come from the future: `xact_id >= xmin` for a long time, so
//! the reader above returns nothing and a rebuild gives up waiting. (`pg_basebackup` and
//! point-in-time recovery keep the counter and are unaffected.) [`renumber_restored_xact_ids`]
//! repairs such a store at migration time; see its documentation for why that is safe.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row, SqlitePool};
use uuid::Uuid;

use super::sqlite::micros_to_datetime;

/// Position in the global log. Opaque to clients (use [`fmt::Display`] / [`LogCursor::parse`]).
///
/// Ordered as `(tx, position)`; on SQLite `tx` is always 0. [`LogCursor::default`] is "before
/// the first event".
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, Hash,
)]
pub struct LogCursor {
    /// PostgreSQL: the inserting transaction's `xact_id` (or [`RESTORED_XACT_ID`] for rows
    /// renumbered by [`renumber_restored_xact_ids`]); SQLite: 0.
    pub tx: i64,
    /// The event's `global_position`.
    pub position: i64,
}

/// A string that is not a [`LogCursor`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid log cursor {0:?}")]
pub struct LogCursorParseError(pub String);

impl LogCursor {
    /// Parses the string produced by `to_string()` (`"{tx}-{position}"`).
    ///
    /// # Errors
    ///
    /// [`LogCursorParseError`] if the text is not two non-negative integers joined by `-`.
    pub fn parse(text: &str) -> Result<Self, LogCursorParseError> {
        let bad = || LogCursorParseError(text.to_owned());
        let (tx, position) = text.split_once('-').ok_or_else(bad)?;
        let tx: i64 = tx.parse().map_err(|_| bad())?;
        let position: i64 = position.parse().map_err(|_| bad())?;
        if tx < 0 || position < 0 {
            return Err(bad());
        }
        Ok(Self { tx, position })
    }
}

impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx, self.position)
    }
}

impl FromStr for LogCursor {
    type Err = LogCursorParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One event of the global log, payload left as JSON text (decode it once, into what you need).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Cursor of this event: pass it to [`GlobalLog::read_after`] to continue after it.
    pub cursor: LogCursor,
    /// Insert position across all cases.
    pub global_position: i64,
    /// Event id.
    pub id: Uuid,
    /// The case the event belongs to.
    pub aggregate_id: Uuid,
    /// Sequence number within the case.
    pub sequence_number: i64,
    /// Persistence time.
    pub occurred_on: DateTime<Utc>,
    /// The payload as JSON text.
    pub payload_json: String,
}

/// The global log of `case_events` on either backend.
#[derive(Debug, Clone)]
pub enum GlobalLog {
    /// SQLite store: the cursor is the rowid.
    Sqlite(SqlitePool),
    /// PostgreSQL store: the cursor is `(xact_id, global_position)` below the snapshot xmin.
    Postgres(PgPool),
}

const SQLITE_READ_AFTER: &str =
    "SELECT global_position, id, aggregate_id, sequence_number, occurred_on, payload \
     FROM case_events WHERE global_position > ?1 ORDER BY global_position ASC LIMIT ?2";

const PG_READ_AFTER: &str =
    "SELECT xact_id::text::bigint AS tx, global_position, id, aggregate_id, sequence_number, \
            occurred_on, payload::text AS payload \
     FROM case_events \
     WHERE xact_id < pg_snapshot_xmin(pg_current_snapshot()) \
       AND (xact_id, global_position) > ($1::bigint::text::xid8, $2) \
     ORDER BY xact_id ASC, global_position ASC \
     LIMIT $3";

/// The `xact_id` given to every row by [`renumber_restored_xact_ids`]: `FrozenTransactionId`
/// (2), below every transaction id a cluster ever assigns (normal ids start at 3), so below every
/// snapshot's xmin.
pub const RESTORED_XACT_ID: i64 = 2;

/// Tables with a column holding `pg_current_xact_id()` of the inserting transaction. Only the
/// event log has one: the outboxes (`outbox`, `webhook_outbox`) are ordered by an identity
/// column or keyed by case and sequence, not by transaction ids.
const XACT_ID_TABLES: [&str; 1] = ["case_events"];

/// Rows written by a transaction this cluster has not started yet: `pg_snapshot_xmax` is the
/// first transaction id not yet assigned (so this is `xact_id > pg_current_xact_id()` without
/// assigning one to the caller).
fn future_rows_sql(table: &str) -> String {
    format!("SELECT count(*) FROM {table} WHERE xact_id >= pg_snapshot_xmax(pg_current_snapshot())")
}

/// Makes a database restored from a logical dump into a younger cluster readable by the global
/// log; returns the number of rows renumbered (0 in every other case, after one index probe).
/// Run by `migrate_postgres`, i.e. by `ptl migrate` and before any command or server reads the
/// store.
///
/// # What it does
///
/// If some row's `xact_id` is at or past the first transaction id this cluster has not assigned
/// yet (impossible in a live cluster: only a restore from a cluster with a higher counter produces
/// it), then in ONE transaction, holding an `EXCLUSIVE` lock on the table (writers and other
/// repairs wait; readers keep reading the committed state), it checks again and sets the
/// `xact_id` of EVERY row of the table to [`RESTORED_XACT_ID`], and logs a warning.
///
/// # Why every row, and why that keeps the order
///
/// * Only the future rows would not be enough: their order relative to the other rows, and to
///   rows written after the repair (which get real, smaller-than-theirs transaction ids), would be
///   wrong. Mapping them to distinct past ids that keep their order is not possible in general
///   (a young cluster has fewer past ids than the dump has transactions).
/// * With one constant `xact_id` the log order becomes `global_position`, the insert order. Per
///   case that is the sequence order: event `n + 1` is inserted by a writer that loaded event
///   `n` after its transaction committed, so its identity value was drawn later and is larger. The
///   order across cases changes but nothing depends on it (every read model row is per case).
/// * Every renumbered row is below every snapshot's xmin, so all are visible at once; every row
///   written later gets a real transaction id, greater than [`RESTORED_XACT_ID`], and sorts after
///   all of them: the log stays append-only from here on.
/// * No reader can hold a cursor past a renumbered row: cursors live in memory only (a rebuild or
///   catch-up starts from the beginning), and every process opening the store runs this first. The
///   situation only exists right after the restore, before anything has read or written the
///   store; a second process starting at the same time waits for the lock and then finds nothing
///   to do.
///
/// `ptl verify` is unaffected: `xact_id` is not part of the hashed event content.
///
/// # Errors
///
/// Database errors; the transaction is rolled back and nothing is changed.
pub async fn renumber_restored_xact_ids(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut renumbered = 0_u64;
    for table in XACT_ID_TABLES {
        // Cheap check first (index on (xact_id, global_position), no lock, no transaction id).
        let probe = format!(
            "SELECT EXISTS (SELECT 1 FROM {table} \
             WHERE xact_id >= pg_snapshot_xmax(pg_current_snapshot()))"
        );
        let any: bool = sqlx::query_scalar(&probe).fetch_one(pool).await?;
        if !any {
            continue;
        }
        let mut tx = pool.begin().await?;
        sqlx::query(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE"))
            .execute(&mut *tx)
            .await?;
        // Again under the lock: another process may have repaired the table meanwhile.
        let future: i64 = sqlx::query_scalar(&future_rows_sql(table))
            .fetch_one(&mut *tx)
            .await?;
        if future == 0 {
            tx.rollback().await?;
            continue;
        }
        let done = sqlx::query(&format!(
            "UPDATE {table} SET xact_id = $1::bigint::text::xid8 \
             WHERE xact_id <> $1::bigint::text::xid8"
        ))
        .bind(RESTORED_XACT_ID)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        tracing::warn!(
            table,
            renumbered = done,
            future_rows = future,
            "renumbered the xact_id of {done} rows of {table} to {RESTORED_XACT_ID}: {future} of \
             them carried transaction ids this PostgreSQL cluster has not reached yet (a dump \
             restored into a cluster with a lower transaction counter), which the global log \
             would never read; the log order is now the insert order (global_position)"
        );
        renumbered += done;
    }
    Ok(renumbered)
}

fn decode_error(what: &str, detail: impl fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: {detail}").into())
}

impl GlobalLog {
    /// Reads at most `limit` events committed after `after`, in log order.
    ///
    /// An empty result means "nothing more right now"; call again later with the same cursor.
    ///
    /// # Errors
    ///
    /// Database errors, or [`sqlx::Error::Decode`] for a corrupt row.
    pub async fn read_after(
        &self,
        after: LogCursor,
        limit: i64,
    ) -> Result<Vec<LoggedEvent>, sqlx::Error> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        match self {
            Self::Sqlite(pool) => {
                let rows = sqlx::query(SQLITE_READ_AFTER)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let global_position: i64 = row.try_get(0)?;
                        let id: &str = row.try_get(1)?;
                        let aggregate_id: &str = row.try_get(2)?;
                        let occurred_on: i64 = row.try_get(4)?;
                        Ok(LoggedEvent {
                            cursor: LogCursor {
                                tx: 0,
                                position: global_position,
                            },
                            global_position,
                            id: Uuid::parse_str(id).map_err(|e| decode_error("id", e))?,
                            aggregate_id: Uuid::parse_str(aggregate_id)
                                .map_err(|e| decode_error("aggregate_id", e))?,
                            sequence_number: row.try_get(3)?,
                            occurred_on: micros_to_datetime(occurred_on)
                                .ok_or_else(|| decode_error("occurred_on", occurred_on))?,
                            payload_json: row.try_get(5)?,
                        })
                    })
                    .collect()
            }
            Self::Postgres(pool) => {
                let rows = sqlx::query(PG_READ_AFTER)
                    .bind(after.tx)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let tx: i64 = row.try_get(0)?;
                        let global_position: i64 = row.try_get(1)?;
                        let sequence_number: i32 = row.try_get(4)?;
                        Ok(LoggedEvent {
                            cursor: LogCursor {
                                tx,
                                position: global_position,
                            },
                            global_position,
                            id: row.try_get(2)?,
                            aggregate_id: row.try_get(3)?,
                            sequence_number: i64::from(sequence_number),
                            occurred_on: row.try_get(5)?,
                            payload_json: row.try_get(6)?,
                        })
                    })
                    .collect()
            }
        }
    }

    /// Streams every event after `after` that is readable now, fetching pages of `batch_size`;
    /// ends when the log is caught up (for rebuilds). Remember the last event's cursor to resume.
    pub fn stream_after(
        &self,
        after: LogCursor,
        batch_size: i64,
    ) -> BoxStream<'_, Result<LoggedEvent, sqlx::Error>> {
        let batch_size = batch_size.max(1);
        stream::try_unfold(Some(after), move |cursor| async move {
            let Some(cursor) = cursor else {
                return Ok::<_, sqlx::Error>(None);
            };
            let page = self.read_after(cursor, batch_size).await?;
            let Some(last) = page.last() else {
                return Ok(None);
            };
            let next = if i64::try_from(page.len()).unwrap_or(i64::MAX) < batch_size {
                None
            } else {
                Some(last.cursor)
            };
            Ok(Some((stream::iter(page.into_iter().map(Ok)), next)))
        })
        .try_flatten()
        .boxed()
    }
}
