//! `ptl verify`: recompute the hash chain of one case or of all cases, after repairing any
//! erasure whose key was still readable.

use std::process::ExitCode;

use ptl_api::config::Settings;
use uuid::Uuid;

use super::common;

/// The flags of `ptl verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this case.
    #[arg(long, conflicts_with = "security_log")]
    case: Option<Uuid>,
    /// Only the security log (sign-ins, account changes, exports): its hash chain.
    #[arg(long)]
    security_log: bool,
}

/// First destroys the key of every case whose history says erased but whose key still opens
/// its data (one line per repaired case; the repair is logged in `erasures.log` and the erasure
/// ledger), then prints one line per case and a total. Exit code 2 when a chain is broken, so
/// that a cron job or a script tells a damaged log from a failure to check it (1); a repair alone
/// does not change the exit code (the data is erased once it is printed).
///
/// # Errors
/// A sentence: the store cannot be read, or the given case does not exist.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let engine = common::engine(settings).await?;
    if args.security_log {
        let entries = engine
            .security_log(0, i64::MAX)
            .await
            .map_err(|e| e.to_string())?
            .len();
        return Ok(
            match engine
                .verify_security_log()
                .await
                .map_err(|e| e.to_string())?
            {
                None => {
                    println!("security log  ok       {entries} entries");
                    ExitCode::SUCCESS
                }
                Some(seq) => {
                    println!("security log  INVALID  first bad entry: {seq} of {entries}");
                    ExitCode::from(2)
                }
            },
        );
    }
    let repaired = engine.repair_erasures().await.map_err(|e| e.to_string())?;
    for id in &repaired {
        println!("{id}  REPAIRED erased in its history but its key was readable: key destroyed");
    }
    let ids = match args.case {
        Some(c) => vec![c],
        None => engine.case_ids().await.map_err(|e| e.to_string())?,
    };
    let mut bad = 0;
    for id in &ids {
        let v = engine.verify(*id).await.map_err(|e| e.to_string())?;
        if v.events == 0 {
            return Err(format!("case {id} does not exist"));
        }
        match v.first_invalid_sequence {
            None => println!("{id}  ok       {} events", v.events),
            Some(s) => {
                bad += 1;
                println!("{id}  INVALID  first bad event: {s} of {}", v.events);
            }
        }
    }
    println!("{} case(s) verified, {bad} invalid", ids.len());
    if bad > 0 {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
