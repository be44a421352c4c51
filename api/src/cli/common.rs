//! What several subcommands share: the store's URL and the data directory from the resolved
//! settings, and an engine opened on them the way the server opens it.

use std::path::PathBuf;
use std::sync::Arc;

use ptl_api::config::Settings;
use ptl_engine::clock::SystemClock;
use ptl_engine::pipeline::{Engine, EngineOptions};

/// The operator as the security log names them (`cli:<login>`), for the commands that write to
/// it (`ptl token revoke`, `ptl keys rotate`).
pub fn operator() -> String {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

/// The store's URL (`sqlite://...` or `postgres://...`), secret included: it is handed to the
/// store only, never printed (the server logs it through `serve::redact`).
pub fn url(settings: &Settings) -> String {
    use secrecy::ExposeSecret;
    settings.database_url.expose_secret().to_string()
}

/// The data directory: key files and the erasure ledger.
pub fn dir(settings: &Settings) -> PathBuf {
    settings.data_dir.clone()
}

/// An engine on the configured store, migrated, with the key files of the data directory
/// (created on first use, each reported on stderr so that it gets backed up) and the read models
/// kept in step, as `ptl serve` runs it.
///
/// # Errors
/// A sentence: the data directory cannot be created, a key file cannot be read or written, the
/// store cannot be reached or migrated, or the rules (built-in or configured) do not load.
pub async fn engine(settings: &Settings) -> Result<Engine, String> {
    let dir = dir(settings);
    ptl_engine::open::create_private_dir(&dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
    let (keys, created) = ptl_engine::keys::load_or_create(&dir).map_err(|e| e.to_string())?;
    for f in created {
        eprintln!("created key file {} (mode 0600): back it up; losing master.key loses the personal data", f.display());
    }
    let db = ptl_engine::open::connect(&url(settings))
        .await
        .map_err(|e| e.to_string())?;
    ptl_engine::open::migrate(&db)
        .await
        .map_err(|e| e.to_string())?;
    // The rules the server uses: built-in files with the configured directories' corrections.
    let rules = ptl_api::startup::rule_book_from(
        settings.procedures_dir.as_deref(),
        settings.calendars_dir.as_deref(),
    )?;
    Engine::new(
        db,
        Arc::new(SystemClock),
        Arc::new(rules),
        Arc::new(keys),
        Some(Arc::new(ptl_projections::ReadModels)),
        EngineOptions {
            data_dir: Some(dir),
            ..EngineOptions::default()
        },
    )
    .await
    .map_err(|e| e.to_string())
}
