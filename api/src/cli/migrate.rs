//! `ptl migrate`: apply the schema migrations of the store.

use std::process::ExitCode;

use ptl_api::config::Settings;

use super::common;

/// Connects to the configured store and applies the migrations it has not had yet.
///
/// # Errors
/// A sentence: the store cannot be reached or a migration fails.
pub async fn run(settings: &Settings) -> Result<ExitCode, String> {
    let db = ptl_engine::open::connect(&common::url(settings))
        .await
        .map_err(|e| e.to_string())?;
    ptl_engine::open::migrate(&db)
        .await
        .map_err(|e| e.to_string())?;
    println!("migrations applied");
    Ok(ExitCode::SUCCESS)
}
