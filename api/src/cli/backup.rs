//! `ptl backup`: a checked copy of the SQLite store, and what else must be backed up.

use std::path::PathBuf;
use std::process::ExitCode;

use ptl_api::config::Settings;

use super::common;

/// The flags of `ptl backup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to write (it must not exist yet), e.g. /backups/ptl-2026-03-02.db.
    #[arg(long, short)]
    output: PathBuf,
}

/// Copies the store with `VACUUM INTO` and checks the copy; then says on stderr which key files
/// and which ledger the copy does not hold, and which of them are not in the data directory.
///
/// # Errors
/// A sentence: the store is not SQLite, there is no database file yet, or the copy failed.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let output = &args.output;
    let url = common::url(settings);
    let Some(db_path) = url.strip_prefix("sqlite://") else {
        return Err(ptl_engine::backup::BackupError::NotSqlite.to_string());
    };
    // Connecting would create an empty database: there must be one to copy.
    if !std::path::Path::new(db_path).is_file() {
        return Err(format!(
            "there is no SQLite database at {db_path}, so there is nothing to back up"
        ));
    }
    let db = ptl_engine::open::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    let result = ptl_engine::backup::backup_sqlite(&db, output).await;
    if let ptl_engine::db::Db::Sqlite(pool) = &db {
        pool.close().await;
    }
    let r = result.map_err(|e| e.to_string())?;
    println!(
        "backup {}: {} bytes ({:.1} MiB), {} events, {} cases, integrity ok",
        r.path.display(),
        r.bytes,
        r.bytes as f64 / 1_048_576.0,
        r.events,
        r.cases
    );
    let dir = common::dir(settings);
    let ledger = ptl_engine::vault::ERASURE_LOG_FILE;
    let keys = ptl_engine::backup::KEY_FILES.join(", ");
    eprintln!(
        "the copy holds no keys: back up {keys} and {ledger} from {} separately (without \
         master.key the personal data in the copy is unreadable, without hash.key its history \
         cannot be verified); restore them with the copy, {ledger} from the newest copy you have: \
         `ptl serve` re-applies it at start, so data erased after this backup does not come back",
        dir.display()
    );
    let missing: Vec<&str> = ptl_engine::backup::KEY_FILES
        .into_iter()
        .filter(|f| !dir.join(f).exists())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "{} not in {}: if the keys come from PTL_MASTER_KEY, PTL_HASH_KEY, PTL_SEARCH_KEY \
             and PTL_JWT_SECRET, keep those values with the backup instead",
            missing.join(", "),
            dir.display()
        );
    }
    if !dir.join(ledger).exists() {
        eprintln!(
            "(no {ledger} in {} yet: nothing has been erased)",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
