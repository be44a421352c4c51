//! Opening a store from a URL: `sqlite://<path>` (the embedded default) or `postgres://...`.
//! Migrations run here (`ptl migrate` and at start), and the durability settings are checked:
//! an acknowledged command must survive a crash.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use crate::db::Db;
use crate::pipeline::EngineError;

/// Pool size for PostgreSQL (the write gate admits half as many writers).
pub const PG_POOL_SIZE: u32 = 16;

/// Creates `dir` (and missing parents) with mode 0700 whatever the umask, so the data directory
/// (keys, store, erasure ledger) is its owner's alone. An existing directory is left as it is.
///
/// # Errors
/// The directory cannot be created or its mode set.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(0o700))
}

/// Sets mode 0600 on the SQLite file at `path` and on its `-wal` and `-shm` files where they
/// exist (SQLite creates the latter two with the database file's mode, so they stay 0600).
///
/// # Errors
/// A mode cannot be set.
pub fn restrict_sqlite_files(path: &Path) -> io::Result<()> {
    let name = path.as_os_str().to_string_lossy().into_owned();
    for file in [name.clone(), format!("{name}-wal"), format!("{name}-shm")] {
        match fs::set_permissions(&file, Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// Connects to the store a URL names.
///
/// # Errors
/// An unknown scheme, or the database cannot be reached.
pub async fn connect(url: &str) -> Result<Db, EngineError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                create_private_dir(parent).map_err(|e| {
                    EngineError::Unavailable(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let pool = crate::store::sqlite::open(path)
            .await
            .map_err(EngineError::from)?;
        // SQLite creates the file 0644 (less the umask); the store holds the case history.
        restrict_sqlite_files(Path::new(path)).map_err(|e| {
            EngineError::Unavailable(format!("cannot set the mode of {path} to 0600: {e}"))
        })?;
        Ok(Db::Sqlite(pool))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new()
            .max_connections(PG_POOL_SIZE)
            .acquire_timeout(Duration::from_secs(3))
            // sqlx already pings every connection when it is returned to the pool (which also
            // flushes esrs's queued advisory-lock release); a second ping before each acquire
            // would add a round trip to every statement batch. A connection that died while idle
            // (PostgreSQL restarted) fails its next statement, which the API answers with 503,
            // and is then dropped from the pool.
            .test_before_acquire(false)
            .connect(url)
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        Ok(Db::Postgres(pool))
    } else {
        Err(EngineError::Internal(format!(
            "the database URL must start with sqlite:// or postgres:// (got `{}`)",
            url.split(':').next().unwrap_or("")
        )))
    }
}

/// Applies the migrations of the backend. On PostgreSQL this also renumbers the `xact_id`s of a
/// database restored from a dump into a cluster with a lower transaction counter, so that the
/// global log reads it ([`crate::store::global_log::renumber_restored_xact_ids`], logged).
///
/// # Errors
/// A migration failed.
pub async fn migrate(db: &Db) -> Result<(), EngineError> {
    match db {
        Db::Sqlite(p) => crate::store::migrate_sqlite(p).await,
        Db::Postgres(p) => crate::store::migrate_postgres(p).await,
    }
    .map_err(|e| EngineError::Internal(format!("migration failed: {e}")))
}

/// Refuses a store whose commits are not durable (SQLite not in WAL with `synchronous=FULL`;
/// PostgreSQL with `synchronous_commit` off), unless the operator opted out.
///
/// # Errors
/// The settings are not durable, or cannot be read.
pub async fn check_durability(db: &Db) -> Result<(), EngineError> {
    match db {
        Db::Sqlite(p) => crate::store::sqlite::check_durability(p)
            .await
            .map_err(|e| EngineError::Internal(e.to_string())),
        Db::Postgres(p) => {
            let v: String = sqlx::query_scalar("SHOW synchronous_commit")
                .fetch_one(p)
                .await?;
            if v == "off" {
                Err(EngineError::Internal(
                    "PostgreSQL has synchronous_commit=off: acknowledged commands could be lost in a crash".into(),
                ))
            } else {
                Ok(())
            }
        }
    }
}
