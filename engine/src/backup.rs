//! Online backup of the embedded SQLite store (`ptl backup`).
//!
//! **Why `VACUUM INTO`.** Copying `ptl.db` with `cp` while the server writes can tear it (pages of
//! the main file and of the `-wal` file from different moments). `VACUUM INTO` writes a compact,
//! self-contained copy from inside one read transaction: in WAL mode a reader sees the snapshot of
//! its start and never blocks writers, so the server keeps acknowledging commands while the copy
//! is made, and the copy holds every transaction committed before it began (and none that was not
//! committed). It needs no write lock, so it bypasses the engine's write gate on purpose.
//!
//! **What the copy is not.** The keys are outside the database ([`crate::keys`]): without
//! `master.key` the personal data in the copy is noise and without `hash.key` its history can no
//! longer be verified, so they are backed up separately ([`KEY_FILES`]), together with the
//! erasure ledger `erasures.log` ([`crate::vault::ERASURE_LOG_FILE`]), which `ptl serve`
//! re-applies at start so that a restored copy never brings erased data back.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump -Fc`, `pg_basebackup`): they give the same
//! consistent snapshot and [`backup_sqlite`] refuses that backend.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::db::Db;
use crate::keys::{HASH_KEY_FILE, JWT_SECRET_FILE, MASTER_KEY_FILE, SEARCH_KEY_FILE};

/// The key files of the data directory that a database backup does not contain.
pub const KEY_FILES: [&str; 4] = [
    MASTER_KEY_FILE,
    HASH_KEY_FILE,
    SEARCH_KEY_FILE,
    JWT_SECRET_FILE,
];

/// Why a backup was not made (each message is one sentence for the operator).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The output file exists: a backup never overwrites anything.
    #[error("{0} already exists; a backup never overwrites a file, choose a new name")]
    Exists(PathBuf),
    /// The directory the output should go to does not exist.
    #[error("the directory of {0} does not exist")]
    NoDirectory(PathBuf),
    /// The output path cannot be passed to SQLite.
    #[error("the backup path {0} is not valid UTF-8")]
    NotUtf8(PathBuf),
    /// The store is PostgreSQL.
    #[error(
        "`ptl backup` copies the embedded SQLite store only; back up PostgreSQL with \
         `pg_dump -Fc` or `pg_basebackup` as the README describes (Backup and restore)"
    )]
    NotSqlite,
    /// `VACUUM INTO` failed (the partial output was removed).
    #[error("the copy could not be written: {0}")]
    Copy(#[source] sqlx::Error),
    /// The copy could not be opened or read back.
    #[error("the copy {path} could not be read back: {source}")]
    ReadBack {
        /// The copy.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: sqlx::Error,
    },
    /// The copy is not a sound database.
    #[error("the copy {path} failed its integrity check: {detail}")]
    Integrity {
        /// The copy.
        path: PathBuf,
        /// What `PRAGMA integrity_check` reported.
        detail: String,
    },
    /// A file operation on the copy failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// What a finished, checked copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The copy.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Events in it.
    pub events: u64,
    /// Cases (event streams) in it.
    pub cases: u64,
}

/// Writes a consistent copy of the live SQLite store to `path` (which must not exist) with
/// `VACUUM INTO`, while other connections keep writing, makes it durable, then checks it with
/// [`check_sqlite_copy`].
///
/// # Errors
/// [`BackupError::NotSqlite`] on PostgreSQL; [`BackupError::Exists`] if `path` exists (even as a
/// dangling link); [`BackupError::NoDirectory`] / [`BackupError::NotUtf8`] for a path SQLite
/// cannot write; [`BackupError::Copy`] if the copy failed (nothing is left behind); the errors of
/// [`check_sqlite_copy`].
pub async fn backup_sqlite(db: &Db, path: &Path) -> Result<BackupReport, BackupError> {
    let Db::Sqlite(pool) = db else {
        return Err(BackupError::NotSqlite);
    };
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(BackupError::Exists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(BackupError::NoDirectory(path.to_path_buf()));
    }
    if path.to_str().is_none() {
        return Err(BackupError::NotUtf8(path.to_path_buf()));
    }
    // SQLite creates the copy with mode 0644: it is written inside a private (0700) directory
    // beside the target, set to 0600, and only then linked to its name (which fails if the name
    // was taken meanwhile), so the copy is never readable by others, whatever the umask.
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| BackupError::Io { path: p, source }
    };
    let staging = dir.join(format!(".ptl-backup-{}", uuid::Uuid::new_v4().simple()));
    crate::open::create_private_dir(&staging).map_err(io(&staging))?;
    let staged = staging.join("copy.db");
    let result = stage_copy(pool, &staged).await.and_then(|()| {
        std::fs::hard_link(&staged, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::Exists(path.to_path_buf())
            } else {
                BackupError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })
    });
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&staging);
    result?;
    let file = path.to_path_buf();
    tokio::task::spawn_blocking(move || sync_file_and_dir(&file, &dir))
        .await
        .map_err(|e| BackupError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })??;
    check_sqlite_copy(path).await
}

/// `VACUUM INTO` the (new) file `staged`, then mode 0600 on it.
async fn stage_copy(pool: &sqlx::SqlitePool, staged: &Path) -> Result<(), BackupError> {
    let target = staged
        .to_str()
        .ok_or_else(|| BackupError::NotUtf8(staged.to_path_buf()))?;
    // Bound as a parameter (SQLite takes any expression there): no quoting of the path.
    if let Err(e) = sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(pool)
        .await
    {
        return Err(BackupError::Copy(e));
    }
    std::fs::set_permissions(
        staged,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )
    .map_err(|source| BackupError::Io {
        path: staged.to_path_buf(),
        source,
    })
}

/// Opens a copy read-only, runs `PRAGMA integrity_check` and counts its events and cases.
///
/// # Errors
/// [`BackupError::ReadBack`] if it cannot be opened or is not a PTL store,
/// [`BackupError::Integrity`] if the check reports anything but `ok`, [`BackupError::Io`] if its
/// size cannot be read.
pub async fn check_sqlite_copy(path: &Path) -> Result<BackupReport, BackupError> {
    let read_back = |source| BackupError::ReadBack {
        path: path.to_path_buf(),
        source,
    };
    // Read-only and without creating anything: a missing file is an error, not a new database.
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(read_back)?;
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(read_back)?;
    if rows.len() != 1 || rows[0] != "ok" {
        let _ = conn.close().await;
        return Err(BackupError::Integrity {
            path: path.to_path_buf(),
            detail: rows.join("; "),
        });
    }
    let counted: Result<(i64, i64), sqlx::Error> =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT aggregate_id) FROM case_events")
            .fetch_one(&mut conn)
            .await;
    let _ = conn.close().await;
    let (events, cases) = counted.map_err(read_back)?;
    let bytes = std::fs::metadata(path)
        .map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    Ok(BackupReport {
        path: path.to_path_buf(),
        bytes,
        events: u64::try_from(events).unwrap_or(0),
        cases: u64::try_from(cases).unwrap_or(0),
    })
}

/// `VACUUM INTO` syncs like the source database, but a backup is only a backup once both the file
/// and its directory entry are on disk.
fn sync_file_and_dir(file: &Path, dir: &Path) -> Result<(), BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(io(file))?;
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io(dir))
}
