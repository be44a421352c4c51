//! The engine's own tables on either backend.
//!
//! esrs owns neither our vault, integrity, idempotency nor projection tables; we write them with
//! plain sqlx on whichever backend the store URL names. Both dialects accept `$1`-style
//! placeholders, and we keep column types to the common subset (TEXT, BIGINT/INTEGER, BLOB/BYTEA,
//! BOOLEAN), so most statements are written once; where dialects differ, [`Conn`] is matched.

use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

/// A pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Db {
    /// Embedded SQLite file.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A connection (usually inside a transaction) on one of the two backends.
#[derive(Debug)]
pub enum Conn<'a> {
    /// SQLite.
    Sqlite(&'a mut SqliteConnection),
    /// PostgreSQL.
    Postgres(&'a mut PgConnection),
}

impl Conn<'_> {
    /// Reborrows, so a `Conn` can be passed to several calls in turn.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// Runs the same statement text on either backend, binding the same values (`$conn` is a [`Conn`]
/// taken by value: pass `conn.reborrow()` to keep using it):
/// `run!(conn, "INSERT ... VALUES ($1, $2)", a, b)` executes; `fetch_optional!` / `fetch_all!`
/// decode rows into a tuple type.
#[macro_export]
macro_rules! run {
    ($conn:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut *c).await.map(|r| r.rows_affected()),
            $crate::db::Conn::Postgres(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut *c).await.map(|r| r.rows_affected()),
        }
    };
}

/// `fetch_all!(conn, (A, B), "SELECT a, b ...", args...)`.
#[macro_export]
macro_rules! fetch_all {
    ($conn:expr, $ty:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query_as::<_, $ty>($sql)$(.bind($arg))*.fetch_all(&mut *c).await,
            $crate::db::Conn::Postgres(c) => sqlx::query_as::<_, $ty>($sql)$(.bind($arg))*.fetch_all(&mut *c).await,
        }
    };
}

/// `fetch_optional!(conn, (A, B), "SELECT a, b ...", args...)`.
#[macro_export]
macro_rules! fetch_optional {
    ($conn:expr, $ty:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query_as::<_, $ty>($sql)$(.bind($arg))*.fetch_optional(&mut *c).await,
            $crate::db::Conn::Postgres(c) => sqlx::query_as::<_, $ty>($sql)$(.bind($arg))*.fetch_optional(&mut *c).await,
        }
    };
}

impl Db {
    /// Opens a transaction (`BEGIN IMMEDIATE` on SQLite, so it takes the write lock at once).
    ///
    /// # Errors
    /// The pool cannot give a connection or the database refuses to begin.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Opens a read-only snapshot (a plain transaction: no write lock on SQLite).
    ///
    /// # Errors
    /// The pool cannot give a connection.
    pub async fn read(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}

/// An open transaction on either backend.
#[derive(Debug)]
pub enum Tx {
    /// SQLite.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// The transaction's connection.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(t),
            Tx::Postgres(t) => Conn::Postgres(t),
        }
    }

    /// Commits.
    ///
    /// # Errors
    /// The commit failed: nothing was written.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}
