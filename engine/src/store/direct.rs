//! The SQLite committer's own connection, for groups whose every command's rows were prepared
//! ahead, in the caller's task ([`super::sqlite::Rows::prepare`]).
//!
//! sqlx runs each SQLite connection on a worker thread of its own: every statement is a round
//! trip from the async task to that thread and back (two thread wake-ups). On the single-writer
//! path those hand-offs, not the SQL, bounded the write rate (a group of four commands made
//! about six of them). Here the whole group, from `BEGIN IMMEDIATE` to `COMMIT`, runs on one
//! blocking thread through rusqlite over the same SQLite library (the same `libsqlite3-sys`):
//! one hand-off per group. Statements are prepared once and kept (rusqlite's statement cache).
//!
//! The semantics are those of the sqlx path in `sqlite.rs`: one `BEGIN IMMEDIATE` transaction
//! per group, each command in a savepoint of its own (a failing command is rolled back alone),
//! one `COMMIT` (one WAL sync). The connection gets the same pragmas as the pool's
//! ([`super::sqlite::connect_options`]); a connection that is not durable (`synchronous` not
//! FULL, journal not WAL) is refused, and the committer stays on the sqlx path.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::db::{Batch, Value};

/// Prepared statements kept (as many as the pool's connections keep).
const STATEMENT_CACHE: usize = 400;

/// A failure of a statement or of the transaction: the database's message, and whether it is a
/// passing condition (busy, locked, read-only, I/O, disk full, cannot open), as
/// [`super::is_unavailable`] tells for sqlx's errors.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub message: String,
    pub unavailable: bool,
    /// A unique violation on the events' `(aggregate_id, sequence_number)`.
    pub sequence_conflict: bool,
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        let (unavailable, sequence_conflict) = match &e {
            rusqlite::Error::SqliteFailure(f, message) => {
                let unavailable = super::sqlite_code_is_passing(i64::from(f.extended_code));
                let unique = f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY;
                let conflict = unique
                    && message
                        .as_deref()
                        .is_some_and(|m| m.contains("sequence_number"));
                (unavailable, conflict)
            }
            _ => (false, false),
        };
        Self {
            message: e.to_string(),
            unavailable,
            sequence_conflict,
        }
    }
}

/// One command as the direct writer sees it.
pub(crate) struct Command<'a> {
    /// `INSERT INTO {table} ... VALUES (?, ?, ?, ?, ?, ?), ...` for the command's events.
    pub insert: &'a str,
    /// Six values per event, in the insert's column order.
    pub events: Vec<[Value; 6]>,
    /// The rows prepared ahead.
    pub rows: &'a Batch,
}

/// The committer's connection.
pub(crate) struct DirectWriter {
    conn: Connection,
}

impl std::fmt::Debug for DirectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWriter").finish_non_exhaustive()
    }
}

impl DirectWriter {
    /// Opens the database file at `path` (it must exist: the pool created and migrated it).
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Self, Failure> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy_timeout)?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        if !journal.eq_ignore_ascii_case("wal") || synchronous != 2 {
            return Err(Failure {
                message: format!(
                    "the committer's connection is not durable (journal_mode={journal}, synchronous={synchronous})"
                ),
                unavailable: false,
                sequence_conflict: false,
            });
        }
        Ok(Self { conn })
    }

    /// Writes the group in one transaction. `Err` when the transaction itself failed (begin,
    /// savepoint, commit): nothing was written. Otherwise each command's own result: a failing
    /// command's savepoint was rolled back, the others are committed.
    pub(crate) fn write_group(
        &mut self,
        commands: &[Command<'_>],
    ) -> Result<Vec<Result<(), Failure>>, Failure> {
        let outcome = self.try_group(commands);
        if outcome.is_err() && !self.conn.is_autocommit() {
            // SQLite may have ended the transaction itself (disk full, I/O error); if not, it
            // is ended here, so the connection is clean for the next group.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        outcome
    }

    fn try_group(&mut self, commands: &[Command<'_>]) -> Result<Vec<Result<(), Failure>>, Failure> {
        let alone = commands.len() == 1;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut results = Vec::with_capacity(commands.len());
        for command in commands {
            if !alone {
                self.conn.execute_batch("SAVEPOINT job")?;
            }
            let result = self.write_command(command);
            if result.is_err() {
                if alone {
                    self.conn.execute_batch("ROLLBACK")?;
                    return Ok(vec![result]);
                }
                // The most recent savepoint of the name: this command's.
                self.conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            }
            results.push(result);
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(results)
    }

    fn write_command(&self, command: &Command<'_>) -> Result<(), Failure> {
        let mut insert = self.conn.prepare_cached(command.insert)?;
        let mut index = 0;
        for row in &command.events {
            for value in row {
                index += 1;
                bind(&mut insert, index, value)?;
            }
        }
        insert.raw_execute()?;
        for (text, values) in command.rows.statements() {
            let mut statement = self.conn.prepare_cached(text)?;
            // Each statement numbers its own placeholders `$1..$n`.
            for i in 1..=statement.parameter_count() {
                let n = statement
                    .parameter_name(i)
                    .and_then(|name| name.strip_prefix('$'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(i);
                let value = n
                    .checked_sub(1)
                    .and_then(|k| values.get(k))
                    .ok_or_else(|| Failure {
                        message: format!("statement {text:?} has no value for ${n}"),
                        unavailable: false,
                        sequence_conflict: false,
                    })?;
                bind(&mut statement, i, value)?;
            }
            statement.raw_execute()?;
        }
        Ok(())
    }
}

fn bind(statement: &mut rusqlite::Statement<'_>, i: usize, value: &Value) -> rusqlite::Result<()> {
    match value {
        Value::Text(v) => statement.raw_bind_parameter(i, v.as_deref()),
        Value::Int(v) => statement.raw_bind_parameter(i, v),
        Value::Bool(v) => statement.raw_bind_parameter(i, v),
        Value::Blob(v) => statement.raw_bind_parameter(i, v.as_deref()),
    }
}
