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

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` parameters: the VALUES list of a
/// multi-row insert (one round trip to the store instead of one per row). Both backends accept it.
#[must_use]
pub fn values_placeholders(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 1..=columns {
            if c > 1 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * columns + c).to_string());
        }
        out.push(')');
    }
    out
}

/// A value bound to a [`Batch`] statement (the common subset of both backends' types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// TEXT.
    Text(Option<String>),
    /// INTEGER / BIGINT.
    Int(Option<i64>),
    /// BOOLEAN (an integer on SQLite).
    Bool(Option<bool>),
    /// BLOB / BYTEA.
    Blob(Option<Vec<u8>>),
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self::Blob(Some(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(Some(v))
    }
}

/// Statements without results written together. On SQLite the whole batch is ONE statement text
/// (SQLite runs `a; b; c` in order), so it costs one round trip to the connection's worker thread
/// instead of one per statement: on the single-writer SQLite path those round trips, not the SQL,
/// bound the write rate. On PostgreSQL the statements run one after another.
///
/// Each statement is written with its own placeholders `$1..$n` (no `$` elsewhere in its text);
/// the batch renumbers them. A failing statement fails the batch: the caller's transaction must
/// be rolled back, since earlier statements of the batch may have run.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    statements: Vec<(String, Vec<Value>)>,
}

impl Batch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a statement and its values (for `$1..$n`, in order).
    pub fn push(&mut self, text: impl Into<String>, args: Vec<Value>) {
        self.statements.push((text.into(), args));
    }

    /// Whether nothing was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The number of statements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// The SQLite text: every statement, placeholders renumbered after the previous ones' and
    /// after `offset` values bound before the batch's (in the same statement text).
    pub(crate) fn sqlite_text(&self, offset: usize) -> String {
        let mut out = String::new();
        let mut offset = offset;
        for (text, args) in &self.statements {
            if !out.is_empty() {
                out.push_str(";\n");
            }
            renumber(text, offset, &mut out);
            offset += args.len();
        }
        out
    }

    /// Each statement with its values (its own placeholders `$1..$n`), in order.
    pub(crate) fn statements(&self) -> &[(String, Vec<Value>)] {
        &self.statements
    }

    /// Binds the batch's values, in order, after those already bound to `query`.
    pub(crate) fn bind_sqlite<'q>(
        &'q self,
        mut query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
        for a in self.statements.iter().flat_map(|(_, a)| a) {
            query = match a {
                Value::Text(v) => query.bind(v.as_deref()),
                Value::Int(v) => query.bind(*v),
                Value::Bool(v) => query.bind(*v),
                Value::Blob(v) => query.bind(v.as_deref()),
            };
        }
        query
    }

    /// Runs every statement.
    ///
    /// # Errors
    /// The first failing statement's error.
    pub async fn execute(&self, conn: Conn<'_>) -> Result<(), sqlx::Error> {
        macro_rules! bind {
            ($q:expr, $args:expr) => {{
                let mut q = $q;
                for a in $args {
                    q = match a {
                        Value::Text(v) => q.bind(v.clone()),
                        Value::Int(v) => q.bind(*v),
                        Value::Bool(v) => q.bind(*v),
                        Value::Blob(v) => q.bind(v.clone()),
                    };
                }
                q
            }};
        }
        match conn {
            Conn::Sqlite(c) => {
                if self.statements.is_empty() {
                    return Ok(());
                }
                let text = self.sqlite_text(0);
                self.bind_sqlite(sqlx::query(&text))
                    .execute(&mut *c)
                    .await?;
            }
            Conn::Postgres(c) => {
                for (text, args) in &self.statements {
                    bind!(sqlx::query(text), args).execute(&mut *c).await?;
                }
            }
        }
        Ok(())
    }
}

/// Copies `text` to `out` with every `$n` placeholder shifted by `offset`.
fn renumber(text: &str, offset: usize, out: &mut String) {
    let mut chars = text.char_indices().peekable();
    while let Some((_, ch)) = chars.next() {
        out.push(ch);
        if ch != '$' {
            continue;
        }
        let mut n: usize = 0;
        let mut digits = false;
        while let Some(&(_, d)) = chars.peek() {
            match d.to_digit(10) {
                Some(v) => {
                    n = n * 10 + v as usize;
                    digits = true;
                    chars.next();
                }
                None => break,
            }
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
}

impl Db {
    /// A second pool on the same database with at most `max` connections, opened with the same
    /// settings: for a long background read (the integrity report) that must neither take the
    /// server's connections nor run on its threads (a SQLite connection's worker thread is
    /// started by the thread that opens it, and inherits its scheduling priority).
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn another_pool(&self, max: u32) -> Result<Self, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(p) => Self::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(max.max(1))
                    .connect_with((*p.connect_options()).clone())
                    .await?,
            ),
            Self::Postgres(p) => Self::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(max.max(1))
                    .connect_with((*p.connect_options()).clone())
                    .await?,
            ),
        })
    }

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

    /// A connection for one statement, outside any transaction.
    ///
    /// # Errors
    /// The pool cannot give a connection.
    pub async fn acquire(&self) -> Result<Pooled, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Pooled::Sqlite(p.acquire().await?),
            Db::Postgres(p) => Pooled::Postgres(p.acquire().await?),
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

/// A pooled connection outside any transaction, for a single statement (a read snapshot would
/// cost a `BEGIN` and a `ROLLBACK` more).
#[derive(Debug)]
pub enum Pooled {
    /// SQLite.
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    /// PostgreSQL.
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl Pooled {
    /// The connection.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(c),
        }
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

#[cfg(test)]
mod tests {
    use super::values_placeholders;

    #[test]
    fn placeholders_number_every_cell_row_by_row() {
        assert_eq!(values_placeholders(1, 2), "($1, $2)");
        assert_eq!(values_placeholders(3, 2), "($1, $2), ($3, $4), ($5, $6)");
        assert_eq!(values_placeholders(0, 4), "");
    }

    #[test]
    fn a_batch_renumbers_each_statements_placeholders_after_the_previous_ones() {
        let mut b = super::Batch::new();
        b.push(
            "INSERT INTO a (x, y) VALUES ($1, $2)",
            vec![1_i64.into(), "y".into()],
        );
        b.push("UPDATE b SET z = $1", vec![true.into()]);
        b.push("DELETE FROM c", vec![]);
        b.push(
            "INSERT INTO d VALUES ($1, $12, $2)",
            vec![2_i64.into(), 3_i64.into()],
        );
        assert_eq!(
            b.sqlite_text(0),
            "INSERT INTO a (x, y) VALUES ($1, $2);\nUPDATE b SET z = $3;\nDELETE FROM c;\nINSERT INTO d VALUES ($4, $15, $5)"
        );
        // After 6 values bound ahead of the batch in the same text.
        assert_eq!(
            b.sqlite_text(6),
            "INSERT INTO a (x, y) VALUES ($7, $8);\nUPDATE b SET z = $9;\nDELETE FROM c;\nINSERT INTO d VALUES ($10, $21, $11)"
        );
        assert_eq!(b.len(), 4);
    }
}
