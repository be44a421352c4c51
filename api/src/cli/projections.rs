//! `ptl projections`: rebuild the read models from the event log, or let them catch up.

use std::process::ExitCode;

use clap::Subcommand;
use ptl_api::config::Settings;

use super::common;

/// The subcommands of `ptl projections`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ProjectionsCmd,
}

#[derive(Debug, Subcommand)]
enum ProjectionsCmd {
    /// Bring read models up to date from the event log without clearing them (a read model added
    /// later catches up while the server keeps serving).
    CatchUp {
        /// Only this read model: work_queue, deadlines, statistics or registers.
        #[arg(long)]
        only: Option<String>,
    },
    /// Drop and rebuild the read models from the event log.
    Rebuild {
        /// Only this read model: work_queue, deadlines, statistics or registers.
        #[arg(long)]
        only: Option<String>,
    },
}

/// `rebuild` shows a progress bar on a terminal ([`ptl_api::rebuild_cli`]); both print a
/// one-line summary.
///
/// # Errors
/// A sentence: an unknown read model, the store cannot be read, or the run failed.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    match &args.command {
        ProjectionsCmd::Rebuild { only } => {
            let engine = common::engine(settings).await?;
            let line =
                ptl_api::rebuild_cli::rebuild_with_progress(engine.db(), only.as_deref()).await?;
            println!("{line}");
        }
        ProjectionsCmd::CatchUp { only } => {
            let engine = common::engine(settings).await?;
            let r = ptl_projections::catch_up(engine.db(), only.as_deref(), |_| {})
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "caught up from {} events of {} cases in {:.1} s",
                r.events,
                r.cases,
                r.elapsed.as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
