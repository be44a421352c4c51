//! `ptl offices`: the office tree in force, and closing an office with its successor
//! ([`ptl_api::reorganise`] does the work).

use std::process::ExitCode;

use chrono::NaiveDate;
use ptl_api::config::Settings;
use ptl_api::reorganise;

use super::common;

/// The subcommands of `ptl offices`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the office tree in force (TOML, the format of `offices_file`).
    Show,
    /// Close an office on a date: it accepts no new registrations from that day, its successor
    /// sees its cases, and every open case moves to the successor with its own `transfer` event.
    /// The tree is written to `offices_file` (or `offices.toml` in the data directory); restart
    /// the servers afterwards so they read it.
    Close {
        /// The office that closes.
        code: String,
        /// The day it closes (YYYY-MM-DD, not in the future).
        #[arg(long)]
        on: NaiveDate,
        /// The office that takes over its cases.
        #[arg(long)]
        successor: String,
        /// The user id of the successor's supervisor in whose name the transfers are recorded.
        #[arg(long)]
        by: String,
    },
}

/// Runs the subcommand.
///
/// # Errors
/// A sentence: the tree file cannot be read or written, the closing is not valid, or a transfer
/// is refused or cannot be recorded.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let data_dir = common::dir(settings);
    let configured = settings.offices_file.as_deref();
    let tree = reorganise::load_tree(configured, &data_dir).map_err(|e| e.to_string())?;
    match &args.command {
        Command::Show => {
            print!("{}", tree.to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Close {
            code,
            on,
            successor,
            by,
        } => {
            let engine = common::engine(settings).await?;
            let file = reorganise::tree_path(configured, &data_dir);
            let done =
                reorganise::close_office(&engine, &tree, &file, code, *on, successor, by).await?;
            println!(
                "{code} closed on {on}; successor {successor}; tree written to {}",
                done.tree_file.display()
            );
            println!(
                "{} open cases transferred to {successor}",
                done.transferred.len()
            );
            for r in &done.transferred {
                println!("  {r}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
