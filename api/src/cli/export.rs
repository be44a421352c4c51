//! `ptl export`: case data for partners and for the international picture, without personal
//! data (`docs/htcds.md`, `docs/ctdc.md`; [`ptl_api::app::exports`] does the work). The data goes
//! to standard output (or `--output`), a one-line summary to standard error; each export is
//! recorded in the security log with the operator as `cli:<user>`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use ptl_api::app::exports::{self, ExportRange};
use ptl_api::config::Settings;
use ptl_api::reorganise;

use super::common;

/// The exports.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// One JSON document (the rows with the export's range and counts).
    Json,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// HTCDS 2.0 case export: one row per case registered in the period, in the office and the
    /// offices below it; cases named by pseudonyms keyed for this export only.
    Htcds {
        /// Office code (`UA` for the whole country).
        #[arg(long)]
        office: String,
        /// First receipt date (YYYY-MM-DD).
        #[arg(long)]
        from: NaiveDate,
        /// Last receipt date (YYYY-MM-DD).
        #[arg(long)]
        to: NaiveDate,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// CTDC-style anonymised dataset: one row per person registered in the years, k-anonymous
    /// with k = 11 (generalised, then suppressed; the counts go to standard error).
    Ctdc {
        /// First year of registration.
        #[arg(long)]
        from: i32,
        /// Last year of registration.
        #[arg(long)]
        to: i32,
        /// Office code (default `UA`, the whole country).
        #[arg(long, default_value = "UA")]
        office: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// The operator as the security log names them.
fn operator() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn write(output: Option<&PathBuf>, text: &str) -> Result<(), String> {
    match output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Runs the export.
///
/// # Errors
/// A sentence: an unknown office, a period that ends before it starts, the store.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let tree = reorganise::load_tree(settings.offices_file.as_deref(), &common::dir(settings))
        .map_err(|e| e.to_string())?;
    match &args.command {
        Command::Htcds {
            office,
            from,
            to,
            format,
            output,
        } => {
            let range = ExportRange {
                office: office.clone(),
                from: *from,
                to: *to,
            };
            if tree.get(office).is_none() {
                return Err(format!("{office} is not an office of the tree"));
            }
            let engine = common::engine(settings).await?;
            let export = exports::htcds(&engine, &tree, &operator(), &range)
                .await
                .map_err(|e| e.to_string())?;
            let text = match format {
                Format::Csv => exports::htcds_csv(&export),
                Format::Json => {
                    serde_json::to_string_pretty(&export).map_err(|e| e.to_string())? + "\n"
                }
            };
            write(output.as_ref(), &text)?;
            eprintln!(
                "HTCDS 2.0: {} cases of {office} registered {from} to {to}",
                export.cases
            );
        }
        Command::Ctdc {
            from,
            to,
            office,
            format,
            output,
        } => {
            if tree.get(office).is_none() {
                return Err(format!("{office} is not an office of the tree"));
            }
            let engine = common::engine(settings).await?;
            let export = exports::ctdc(&engine, &tree, &operator(), office, *from, *to)
                .await
                .map_err(|e| e.to_string())?;
            let text = match format {
                Format::Csv => exports::ctdc_csv(&export),
                Format::Json => {
                    serde_json::to_string_pretty(&export).map_err(|e| e.to_string())? + "\n"
                }
            };
            write(output.as_ref(), &text)?;
            let r = &export.report;
            eprintln!(
                "CTDC: {} persons of {office} registered {from} to {to}; k = {}: {} rows published, {} of them generalised, {} suppressed",
                r.persons, r.k, r.published, r.generalised, r.suppressed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
