//! The test kit (cargo feature `testkit`): throw-away stores and the fixtures that the tests and
//! benchmarks of every crate share.
//!
//! Why one kit: the create/drop of a PostgreSQL test database used to be written a dozen times,
//! and a test that panicked before its teardown left its database on the server. Here:
//!
//! - [`PgTestDb`] is a fresh database on the test server (`PTL_TEST_PG_URL`) that is dropped
//!   (`DROP DATABASE ... WITH (FORCE)`, over a connection of its own) when the value is dropped,
//!   so also when the test panics;
//! - [`SqliteTestDb`] is the SQLite equivalent, a file in a temporary directory;
//! - [`Backend`], [`TestStore`] and the [`on_both_stores!`](crate::on_both_stores) macro run one
//!   test on both stores, as two `#[tokio::test]`s named `sqlite` and `postgres`;
//! - [`registration`], [`caseworker`], [`date`] and [`register_case`] are the registered case
//!   most tests start from.
//!
//! The kit is compiled only with the feature: the engine's own tests enable it through a
//! dev-dependency on the engine itself, other crates through their dev-dependencies (`ptl-tests`
//! and `ptl-bench`, which exist for testing, through their normal one). The `ptl` binary built on
//! its own (`cargo build -p ptl-api`, `cargo run` at the root) does not contain it.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::types::{
    Actor, Citizenship, DocumentKind, ExploitationForm, FiledBy, ReferralSource, Role, Sex,
};
use ptl_domain::{Action, Register};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::db::Db;
use crate::pipeline::{Engine, Personal};

/// The test server when `PTL_TEST_PG_URL` is not set: the local `test` database, whose user may
/// `CREATE DATABASE`.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Every database the kit creates is named `ptl_<label>_<uuid>`, so that one query finds any
/// left behind.
pub const PG_NAME_PREFIX: &str = "ptl_";

/// The PostgreSQL server for tests: `PTL_TEST_PG_URL`, else [`DEFAULT_PG_URL`]. The kit connects
/// to the database it names to create and drop the test databases.
#[must_use]
pub fn pg_admin_url() -> String {
    std::env::var("PTL_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into())
}

/// The URL of database `name` on the server of `admin_url`, with the same parameters
/// (`?sslmode=...`).
#[must_use]
pub fn pg_url_of(admin_url: &str, name: &str) -> String {
    let (address, params) = match admin_url.split_once('?') {
        Some((a, p)) => (a, format!("?{p}")),
        None => (admin_url, String::new()),
    };
    let base = match address.rsplit_once('/') {
        // `postgres://host` has no database part: the slashes found belong to the scheme.
        Some((base, _)) if !base.ends_with('/') => base,
        _ => address,
    };
    format!("{base}/{name}{params}")
}

/// Why a test store could not be made or removed.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    /// The label would not make a plain lowercase identifier.
    #[error("a test database label is lowercase letters, digits and `_` (got `{0}`)")]
    BadLabel(String),
    /// The server did not answer, or refused the statement.
    #[error("PostgreSQL at {url}: {message}")]
    Postgres {
        /// The administrative URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The temporary directory could not be made.
    #[error("temporary directory: {0}")]
    TempDir(#[from] std::io::Error),
    /// The store could not be opened or migrated.
    #[error("store {url}: {message}")]
    Open {
        /// The store's URL.
        url: String,
        /// What failed.
        message: String,
    },
}

/// A fresh PostgreSQL database, dropped when this value is dropped: at the end of the test, or
/// while a panic unwinds through it.
///
/// The drop runs on a thread of its own with its own runtime and connection, so it works from
/// any context (inside or outside a tokio runtime, during unwinding) and does not depend on the
/// test's pool: `WITH (FORCE)` ends the pool's connections. If the drop fails, the guard panics
/// (which fails the test) unless the thread is already panicking, where it only reports on
/// stderr (a second panic would abort the test binary).
#[derive(Debug)]
pub struct PgTestDb {
    name: String,
    url: String,
    admin_url: String,
    /// Set once the database is gone ([`PgTestDb::remove`]), so that the drop does nothing.
    removed: bool,
}

impl PgTestDb {
    /// A fresh database `ptl_test_<uuid>` on the test server ([`pg_admin_url`]).
    ///
    /// # Panics
    /// The server is unreachable or refuses: tests fail rather than skip without PostgreSQL.
    pub async fn create() -> Self {
        let admin_url = pg_admin_url();
        Self::create_on(&admin_url, "test")
            .await
            .unwrap_or_else(|e| panic!("a PostgreSQL test database is needed: {e}"))
    }

    /// A fresh database `ptl_<label>_<uuid>` on the server of `admin_url`.
    ///
    /// # Errors
    /// A label that is not a plain identifier, or the server is unreachable or refuses.
    pub async fn create_on(admin_url: &str, label: &str) -> Result<Self, TestDbError> {
        let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if label.is_empty() || !label.chars().all(plain) {
            return Err(TestDbError::BadLabel(label.into()));
        }
        let name = format!("{PG_NAME_PREFIX}{label}_{}", Uuid::new_v4().simple());
        let mut admin = admin_connection(admin_url).await?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| pg_error(admin_url, &e))?;
        // Closing politely is a courtesy: the database exists either way.
        let _ = admin.close().await;
        Ok(Self {
            url: pg_url_of(admin_url, &name),
            name,
            admin_url: admin_url.into(),
            removed: false,
        })
    }

    /// The database's name (`ptl_<label>_<uuid>`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database, for `open::connect` or the `ptl` binary.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database now, on the caller's runtime, and says whether that worked (a
    /// benchmark reports the failure instead of panicking).
    ///
    /// # Errors
    /// The server is unreachable or refuses.
    pub async fn remove(mut self) -> Result<(), TestDbError> {
        let outcome = drop_database(&self.admin_url, &self.name).await;
        // Whatever happened, the guard does not try a second time.
        self.removed = true;
        outcome
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("no runtime for the drop: {e}"))?;
            runtime
                .block_on(drop_database(&admin_url, &name))
                .map_err(|e| e.to_string())
        })
        .join()
        .unwrap_or_else(|_| Err("the drop thread panicked".into()));
        if let Err(e) = outcome {
            let message = format!("test database {} was not dropped: {e}", self.name);
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}

/// Whether database `name` exists on the server of `admin_url` (how a test proves a guard
/// dropped its database).
///
/// # Errors
/// The server is unreachable.
pub async fn pg_database_exists(admin_url: &str, name: &str) -> Result<bool, TestDbError> {
    let mut admin = admin_connection(admin_url).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut admin)
        .await
        .map_err(|e| pg_error(admin_url, &e))?;
    let _ = admin.close().await;
    Ok(found.is_some())
}

async fn admin_connection(admin_url: &str) -> Result<PgConnection, TestDbError> {
    PgConnection::connect(admin_url)
        .await
        .map_err(|e| pg_error(admin_url, &e))
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), TestDbError> {
    let mut admin = admin_connection(admin_url).await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .map_err(|e| pg_error(admin_url, &e))?;
    let _ = admin.close().await;
    Ok(())
}

fn pg_error(url: &str, e: &sqlx::Error) -> TestDbError {
    TestDbError::Postgres {
        url: url.into(),
        message: e.to_string(),
    }
}

/// A SQLite store file (`ptl.db`, not created yet) in a fresh temporary directory, removed with
/// the directory when this value is dropped. The directory also serves as a data directory.
#[derive(Debug)]
pub struct SqliteTestDb {
    dir: tempfile::TempDir,
    path: PathBuf,
    url: String,
}

impl SqliteTestDb {
    /// A fresh directory and the store's path in it.
    ///
    /// # Panics
    /// No temporary directory can be made.
    #[must_use]
    pub fn create() -> Self {
        Self::try_create().unwrap_or_else(|e| panic!("a SQLite test store is needed: {e}"))
    }

    /// As [`SqliteTestDb::create`], with the failure returned.
    ///
    /// # Errors
    /// No temporary directory can be made.
    pub fn try_create() -> Result<Self, TestDbError> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ptl.db");
        let url = format!("sqlite://{}", path.display());
        Ok(Self { dir, path, url })
    }

    /// The store's URL (`sqlite://<dir>/ptl.db`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary directory holding the file.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file ([`SqliteTestDb`]).
    Sqlite,
    /// A fresh PostgreSQL database ([`PgTestDb`]).
    Postgres,
}

impl Backend {
    /// Both stores, SQLite first.
    pub const BOTH: [Self; 2] = [Self::Sqlite, Self::Postgres];
}

/// A fresh store of either kind; dropping it removes the file or drops the database.
#[derive(Debug)]
pub enum TestStore {
    /// A SQLite file in a temporary directory.
    Sqlite(SqliteTestDb),
    /// A PostgreSQL database.
    Postgres(PgTestDb),
}

impl TestStore {
    /// A fresh, empty store of the given kind.
    ///
    /// # Panics
    /// As [`PgTestDb::create`] and [`SqliteTestDb::create`].
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::Sqlite(SqliteTestDb::create()),
            Backend::Postgres => Self::Postgres(PgTestDb::create().await),
        }
    }

    /// The store's kind.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The store's URL.
    #[must_use]
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite(s) => s.url(),
            Self::Postgres(p) => p.url(),
        }
    }

    /// A connected pool on the store, migrated.
    ///
    /// # Errors
    /// The store cannot be reached or migrated.
    pub async fn try_open(&self) -> Result<Db, TestDbError> {
        let failed = |e: crate::pipeline::EngineError| TestDbError::Open {
            url: self.url().into(),
            message: e.to_string(),
        };
        let db = crate::open::connect(self.url()).await.map_err(failed)?;
        crate::open::migrate(&db).await.map_err(failed)?;
        Ok(db)
    }

    /// As [`TestStore::try_open`], failing the test if the store cannot be opened.
    ///
    /// # Panics
    /// The store cannot be reached or migrated.
    pub async fn open(&self) -> Db {
        self.try_open()
            .await
            .unwrap_or_else(|e| panic!("the test store does not open: {e}"))
    }
}

/// Every value of `column` in `table`, as text (`jsonb` cast to its text): what a reader of the
/// database (or of a backup) sees there. Identifiers are the caller's constants (lower-case
/// letters and `_` only, else nothing is read).
pub async fn column_texts(db: &Db, table: &str, column: &str) -> Vec<String> {
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !plain(table) || !plain(column) {
        return Vec::new();
    }
    let sql = format!("SELECT CAST({column} AS TEXT) FROM {table}");
    let rows: Result<Vec<(Option<String>,)>, sqlx::Error> = match db {
        Db::Sqlite(p) => sqlx::query_as(&sql).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as(&sql).fetch_all(p).await,
    };
    rows.unwrap_or_else(|e| panic!("{table}.{column} does not read: {e}"))
        .into_iter()
        .filter_map(|r| r.0)
        .collect()
}

/// Closes a pool, so that its connections end before the store is removed.
pub async fn close(db: &Db) {
    match db {
        Db::Sqlite(p) => p.close().await,
        Db::Postgres(p) => p.close().await,
    }
}

/// One test written once, run on both stores: `on_both_stores!(run, scenario)` makes a module
/// `scenario` with two `#[tokio::test]`s, `sqlite` and `postgres`, each calling
/// `run(Backend::..., scenario).await`; extra arguments go between the two
/// (`on_both_stores!(run, scenario, rules())` calls `run(backend, rules(), scenario)`). `run` is
/// the test file's own: it makes the [`TestStore`] and whatever fixture the scenario takes. The
/// tests get two worker threads, as the server and the engine's background tasks need.
#[macro_export]
macro_rules! on_both_stores {
    ($run:ident, $name:ident $(, $arg:expr)* $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$run($crate::testkit::Backend::Sqlite, $($arg,)* super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$run($crate::testkit::Backend::Postgres, $($arg,)* super::$name).await;
            }
        }
    };
}

/// A date written `YYYY-MM-DD` in a test.
///
/// # Panics
/// The text is not such a date (a typo in the test).
#[must_use]
pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("`{text}` is not a date YYYY-MM-DD: {e}"))
}

/// Caseworker `cw-1` of office UA7102, who registers the tests' cases.
#[must_use]
pub fn caseworker() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}

/// A lawful registration at UA7102: a Ukrainian woman born 1990-04-02, exploited for labour in
/// Poland, referred by the hotline on `referred_on`, with an identity document and her rights
/// explained.
#[must_use]
pub fn registration(referred_on: NaiveDate) -> Register {
    Register {
        register_no: String::new(),
        office: "UA7102"
            .parse()
            .unwrap_or_else(|e| panic!("the kit's office code: {e}")),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: date("1990-04-02"),
            citizenship: Citizenship::Ukrainian,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Hotline,
            organisation: None,
            referred_on,
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
}

/// Registers [`registration`] (referred the same day) by [`caseworker`] on `on`, without
/// personal data, and returns the new case's id.
///
/// # Panics
/// The engine fails or refuses the registration.
pub async fn register_case(engine: &Engine, on: NaiveDate) -> Uuid {
    let command = engine.command(
        caseworker(),
        on,
        Action::Register(Box::new(registration(on))),
    );
    match engine.register(command, Personal::default(), None).await {
        Ok(Ok(done)) => done.case_id,
        Ok(Err(refused)) => panic!("the registration was refused: {refused:?}"),
        Err(e) => panic!("the registration was not recorded: {e}"),
    }
}

/// Supervisor `sv-1` of UA7102, who may erase the tests' cases.
#[must_use]
pub fn supervisor() -> Actor {
    Actor::user("sv-1", Role::Supervisor, "UA7102")
}

/// Erases the personal data of `case_id` by [`supervisor`] on `on`, on the person's request, with
/// `reason` for the erasure ledger; returns the case's version after it.
///
/// # Panics
/// The engine fails or refuses the erasure.
pub async fn erase_case(
    engine: &Engine,
    case_id: Uuid,
    on: NaiveDate,
    reason: Option<&str>,
) -> u64 {
    let command = engine.command(
        supervisor(),
        on,
        Action::ErasePersonalData {
            category: ptl_domain::types::ErasureCategory::PersonRequest,
        },
    );
    let personal = Personal {
        erasure_reason: reason.map(|r| crate::vault::ErasureReason(r.to_owned())),
        ..Personal::default()
    };
    match engine.execute(case_id, None, command, personal, None).await {
        Ok(Ok(done)) => done.version,
        Ok(Err(refused)) => panic!("the erasure was refused: {refused:?}"),
        Err(e) => panic!("the erasure was not recorded: {e}"),
    }
}

/// A case's wrapped data key as stored (master key id, wrapped bytes); `None` once destroyed.
///
/// # Panics
/// The query fails.
pub async fn stored_key(db: &Db, case_id: Uuid) -> Option<(String, Vec<u8>)> {
    let mut conn = db
        .acquire()
        .await
        .unwrap_or_else(|e| panic!("no connection: {e}"));
    let row = crate::fetch_optional!(
        conn.conn(),
        (Option<String>, Option<Vec<u8>>),
        "SELECT master_key_id, wrapped FROM case_keys WHERE case_id = $1",
        case_id.to_string(),
    )
    .unwrap_or_else(|e| panic!("the key does not read: {e}"));
    match row {
        Some((Some(id), Some(bytes))) => Some((id, bytes)),
        _ => None,
    }
}

/// Leaves the store as the earlier two-step erasure did when the process died (or the second
/// step failed) between its two transactions: the case's wrapped key `key` (read with
/// [`stored_key`] before the erasure) is put back and its erasure-ledger row deleted, while the
/// `personal_data_erased` event stays. The data directory's `erasures.log` is the caller's.
///
/// # Panics
/// A statement fails.
pub async fn undo_key_destruction(db: &Db, case_id: Uuid, key: (String, Vec<u8>)) {
    let mut tx = db
        .begin()
        .await
        .unwrap_or_else(|e| panic!("no transaction: {e}"));
    crate::run!(
        tx.conn(),
        "UPDATE case_keys SET master_key_id = $2, wrapped = $3, erased_at = NULL \
         WHERE case_id = $1",
        case_id.to_string(),
        key.0,
        key.1,
    )
    .unwrap_or_else(|e| panic!("the key is not put back: {e}"));
    crate::run!(
        tx.conn(),
        "DELETE FROM erasure_ledger WHERE case_id = $1",
        case_id.to_string(),
    )
    .unwrap_or_else(|e| panic!("the ledger row is not deleted: {e}"));
    tx.commit()
        .await
        .unwrap_or_else(|e| panic!("no commit: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_parameters() {
        assert_eq!(
            pg_url_of("postgres://postgres@127.0.0.1:5432/test", "ptl_test_1"),
            "postgres://postgres@127.0.0.1:5432/ptl_test_1"
        );
        assert_eq!(
            pg_url_of("postgres://u:p@db:5432/admin?sslmode=require", "ptl_x"),
            "postgres://u:p@db:5432/ptl_x?sslmode=require"
        );
        assert_eq!(
            pg_url_of("postgres://postgres@127.0.0.1:5432", "ptl_y"),
            "postgres://postgres@127.0.0.1:5432/ptl_y"
        );
    }

    #[test]
    fn the_registered_case_is_lawful_and_referred_on_the_given_day() {
        let on = date("2026-03-02");
        // The engine numbers a registration before the domain decides it.
        let numbered = Register {
            register_no: "UA7102-2026-000001".into(),
            ..registration(on)
        };
        let rules = ptl_domain::RuleBook::builtin().unwrap_or_else(|e| panic!("{e}"));
        let command = ptl_domain::Command {
            actor: caseworker(),
            recorded_at: chrono::Utc::now(),
            occurred_on: on,
            rules: std::sync::Arc::new(rules),
            child: None,
            action: Action::Register(Box::new(numbered)),
            lookups: Default::default(),
        };
        let events = ptl_domain::decide(&ptl_domain::CaseState::default(), command);
        assert!(matches!(&events, Ok(e) if !e.is_empty()), "{events:?}");
        assert_eq!(registration(on).referral.map(|r| r.referred_on), Some(on));
    }
}
