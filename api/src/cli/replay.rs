//! `ptl replay`: a case's history, or the case as it stood at an instant or version.

use std::process::ExitCode;

use clap::ValueEnum;
use ptl_api::config::Settings;
use uuid::Uuid;

use super::common;

/// The flags of `ptl replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The case id.
    case: Uuid,
    /// What had been recorded by this instant (RFC 3339).
    #[arg(long, conflicts_with = "version")]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// The case after this many events.
    #[arg(long)]
    version: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Folds the events recorded up to `--as-of` or `--version` into the case state and prints them
/// with it, as a table or as one JSON document.
///
/// # Errors
/// A sentence: the store cannot be read, or the case does not exist.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let case = args.case;
    let engine = common::engine(settings).await?;
    let history = engine.history(case).await.map_err(|e| e.to_string())?;
    if history.is_empty() {
        return Err(format!("case {case} does not exist"));
    }
    let shown: Vec<_> = history
        .into_iter()
        .filter(|e| args.as_of.is_none_or(|t| e.event.recorded_at <= t))
        .filter(|e| args.version.is_none_or(|v| e.sequence <= v))
        .collect();
    let state = shown
        .iter()
        .map(|e| e.event.clone())
        .fold(ptl_domain::CaseState::default(), ptl_domain::evolve);
    match args.format {
        Format::Json => {
            let events: Vec<_> = shown
                .iter()
                .map(|e| serde_json::json!({"sequence": e.sequence, "event": e.event, "hash": e.hash}))
                .collect();
            let out = serde_json::json!({"case_id": case, "version": shown.len(), "stage": state.stage, "status": state.status, "events": events});
            println!(
                "{}",
                serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
            );
        }
        Format::Table => {
            println!(
                "{:>4}  {:<10}  {:<27}  {:<16}  type",
                "seq", "date", "recorded at", "actor"
            );
            for e in &shown {
                println!(
                    "{:>4}  {:<10}  {:<27}  {:<16}  {}",
                    e.sequence,
                    e.event.occurred_on,
                    e.event.recorded_at.to_rfc3339(),
                    format!("{}/{}", e.event.actor.sub, e.event.actor.role),
                    e.event.body.type_name()
                );
            }
            println!(
                "version {}: stage {}, status {}",
                shown.len(),
                state.stage.map_or("-", |s| s.as_str()),
                state.status.map_or("-", |s| s.as_str())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
