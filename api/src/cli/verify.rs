//! `ptl verify`: recompute the hash chain of one case or of all cases.

use std::process::ExitCode;

use ptl_api::config::Settings;
use uuid::Uuid;

use super::common;

/// The flags of `ptl verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this case.
    #[arg(long)]
    case: Option<Uuid>,
}

/// Prints one line per case and a total. Exit code 2 when a chain is broken, so that a cron job
/// or a script tells a damaged log from a failure to check it (1).
///
/// # Errors
/// A sentence: the store cannot be read, or the given case does not exist.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let engine = common::engine(settings).await?;
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
