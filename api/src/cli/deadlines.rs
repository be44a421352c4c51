//! `ptl deadlines`: the legal clock run once (record missed deadlines and expiries now, for
//! cron), and how a case's due date was computed.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use ptl_api::config::Settings;
use uuid::Uuid;

use super::common;

/// The subcommands of `ptl deadlines`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DeadlinesCmd,
}

#[derive(Debug, Subcommand)]
enum DeadlinesCmd {
    /// Record every deadline that passed unmet and every expired status, once (for cron).
    RunOnce,
    /// How a case's due date was computed: rule, definition, start, days skipped.
    Explain {
        /// The case id.
        case: Uuid,
        /// The deadline name (`interview`, `verification_reply:vr-1`, ...).
        name: String,
    },
}

/// `run-once` runs the scheduler's pass once and fails (exit code 1) if a case could not be
/// handled; `explain` prints the explanation of one deadline.
///
/// # Errors
/// A sentence: the store cannot be read, the case does not exist or has no such deadline.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    match &args.command {
        DeadlinesCmd::RunOnce => {
            let engine = Arc::new(common::engine(settings).await?);
            let r = ptl_projections::scheduler::Scheduler::new(engine)
                .run_once()
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "missed deadlines recorded: {}, expiries recorded: {}, files handed to a successor authority: {}, skipped: {}, failed: {}",
                r.missed_recorded, r.expiries_recorded, r.hand_overs_recorded, r.skipped, r.failed
            );
            if r.failed > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        DeadlinesCmd::Explain { case, name } => {
            let engine = common::engine(settings).await?;
            let (state, _) = engine
                .load(*case)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("case {case} does not exist"))?;
            let e = ptl_domain::explain(&state, name, engine.rules().calendar_for_case(&state))
                .ok_or_else(|| format!("case {case} has no deadline `{name}`"))?;
            println!("{}: due {} ({})", e.name, e.due_on, e.rule);
            println!(
                "  definition {} ({}), start {}, {} days",
                e.definition,
                &e.definition_hash[..12.min(e.definition_hash.len())],
                e.start,
                e.kind_of_days
            );
            for d in &e.days_skipped {
                println!("  skipped {}  {}", d.date, d.reason);
            }
            for n in e.suspensions.iter().chain(e.notes.iter()) {
                println!("  note: {n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
