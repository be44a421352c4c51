//! A statement built at run time with its bound values, executed on either backend.
//!
//! The engine's `run!` / `fetch_all!` macros bind a fixed argument list; scope filters bind one
//! placeholder per office, so the text and the values are built together here. Both dialects
//! accept `$n` placeholders, so one text serves SQLite and PostgreSQL.

use ptl_engine::db::Conn;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// A bound value: the engine's own (the common subset of both backends' types).
pub(crate) use ptl_engine::db::Value as Arg;

/// SQL text and the values for its placeholders, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// Appends text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds a value and returns its placeholder (`$n`).
    pub(crate) fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// Binds text and returns its placeholder.
    pub(crate) fn text_arg(&mut self, s: impl Into<String>) -> String {
        self.arg(Arg::Text(Some(s.into())))
    }

    /// `IN ($a, $b, ...)` over `values`; `1 = 0` (matches nothing) for an empty list.
    pub(crate) fn in_list(&mut self, column: &str, values: &[String]) -> String {
        if values.is_empty() {
            return "1 = 0".to_string();
        }
        let ps: Vec<String> = values.iter().map(|v| self.text_arg(v.clone())).collect();
        format!("{column} IN ({})", ps.join(", "))
    }

    /// Fetches every row, decoded into `T`.
    pub(crate) async fn fetch_all<T>(&self, conn: Conn<'_>) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        macro_rules! bound {
            ($q:expr) => {{
                let mut q = $q;
                for a in &self.args {
                    q = match a {
                        Arg::Text(s) => q.bind(s.clone()),
                        Arg::Int(i) => q.bind(*i),
                        Arg::Bool(b) => q.bind(*b),
                        Arg::Blob(b) => q.bind(b.clone()),
                    };
                }
                q
            }};
        }
        match conn {
            Conn::Sqlite(c) => {
                bound!(sqlx::query_as::<_, T>(&self.text))
                    .fetch_all(&mut *c)
                    .await
            }
            Conn::Postgres(c) => {
                bound!(sqlx::query_as::<_, T>(&self.text))
                    .fetch_all(&mut *c)
                    .await
            }
        }
    }
}

/// A date as stored (`YYYY-MM-DD`).
pub(crate) fn date_text(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses a stored date.
pub(crate) fn parse_date(s: &str) -> Result<chrono::NaiveDate, sqlx::Error> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| sqlx::Error::Decode(format!("bad stored date {s:?}: {e}").into()))
}

/// Parses an optional stored date.
pub(crate) fn parse_opt_date(s: Option<&str>) -> Result<Option<chrono::NaiveDate>, sqlx::Error> {
    s.map(parse_date).transpose()
}

/// A stored non-negative count or sequence.
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A sequence or count as bound.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
