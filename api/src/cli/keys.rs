//! `ptl keys rotate`: re-wrap every case's data key, and re-seal every erasure reason of the
//! erasure ledger, under a new master key.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use ptl_api::config::Settings;
use ptl_engine::security::SecurityEntry;
use serde_json::json;

use super::common;

/// The subcommands of `ptl keys`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCmd,
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
    /// Re-wrap every case's data key and erasure reason under a new master key (back up
    /// master.key first).
    Rotate,
}

/// Rotates in two phases, so that a crash in between loses no key: the next master key is
/// written first (reused if an earlier rotation crashed), every data key is re-wrapped (and every
/// erasure reason re-sealed) in one transaction, then the next key replaces the old one.
///
/// # Errors
/// A sentence: the store or the key files cannot be used, or the re-wrapping failed (nothing
/// changed then).
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let KeysCmd::Rotate = args.command;
    let dir = common::dir(settings);
    let db = ptl_engine::open::connect(&common::url(settings))
        .await
        .map_err(|e| e.to_string())?;
    ptl_engine::open::migrate(&db)
        .await
        .map_err(|e| e.to_string())?;
    let hash_key = ptl_engine::keys::load_hash_key(&dir).map_err(|e| e.to_string())?;
    let (old, new) = ptl_engine::keys::prepare_rotation(&dir).map_err(|e| e.to_string())?;
    // Re-wrapping needs only the master keys, and the security log entry the hash key; the
    // other keys are not touched.
    let entry =
        SecurityEntry::new("master_key_rotated", Some(&common::operator()), None).detail(json!({
            "old_key": old.id(),
            "new_key": new.id(),
        }));
    let keys = ptl_engine::keys::KeyRing::from_parts(old, *hash_key, [0; 32], Vec::new());
    let vault = ptl_engine::vault::Vault::new(Arc::new(keys));
    let n = vault
        .rotate_master_logged(&db, &new, &entry, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    ptl_engine::keys::commit_rotation(&dir, new.id()).map_err(|e| e.to_string())?;
    println!(
        "re-wrapped {n} case key(s) and the erasure reasons under master key {}; back up the new \
         master.key now",
        new.id()
    );
    Ok(ExitCode::SUCCESS)
}
