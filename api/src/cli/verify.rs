//! `ptl verify`: recompute the hash chain of one case or of all cases, after repairing any
//! erasure whose key was still readable, and compare the log with its signed checkpoint (tail
//! truncation, deleted cases); `--report <file>` writes the integrity report, `--accept-restore`
//! starts a new checkpoint after a deliberate restore.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use ptl_api::config::Settings;
use ptl_api::integrity::{build_with_cases, InvalidCase, Scope};
use ptl_engine::checkpoint::Advance;
use uuid::Uuid;

use super::common;

/// The flags of `ptl verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this case.
    #[arg(long, conflicts_with_all = ["security_log", "report", "accept_restore"])]
    case: Option<Uuid>,
    /// Only the security log (sign-ins, account changes, exports): its hash chain.
    #[arg(long, conflicts_with_all = ["report", "accept_restore"])]
    security_log: bool,
    /// Also write the integrity report to this file: JSON, or CSV when its name ends in `.csv`
    /// (the same document as the web page's and `GET /api/v1/integrity-reports/{id}`'s).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// After restoring an older backup on purpose (see the README's restore steps): accept the
    /// log as it is now, start a new checkpoint from it, and record that in the security log.
    #[arg(long)]
    accept_restore: bool,
}

/// First destroys the key of every case whose history says erased but whose key still opens
/// its data (one line per repaired case; the repair is logged in `erasures.log` and the erasure
/// ledger), then prints one line per case, the log's comparison with its signed checkpoint (a
/// case missing, a case whose last events were deleted, a shorter log, a forged or missing
/// checkpoint) and a total. When everything verifies, the checkpoint is advanced. Exit code 2
/// when a chain is broken or the log does not match its checkpoint, so that a cron job or a
/// script tells a damaged log from a failure to check it (1); a repair alone does not change the
/// exit code (the data is erased once it is printed).
///
/// # Errors
/// A sentence: the store cannot be read, the given case does not exist, or the report cannot be
/// written.
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
    let recovered = engine
        .log_unlogged_erasures()
        .await
        .map_err(|e| e.to_string())?;
    for id in &recovered {
        println!("{id}  LOGGED   erased without a security-log entry: the entry is written now");
    }
    if let Some(id) = args.case {
        let v = engine.verify(id).await.map_err(|e| e.to_string())?;
        if v.events == 0 {
            return Err(format!("case {id} does not exist"));
        }
        return Ok(match v.first_invalid_sequence {
            None => {
                println!("{id}  ok       {} events", v.events);
                ExitCode::SUCCESS
            }
            Some(s) => {
                println!("{id}  INVALID  first bad event: {s} of {}", v.events);
                ExitCode::from(2)
            }
        });
    }
    if args.accept_restore {
        let actor = std::env::var("USER").unwrap_or_else(|_| "operator".to_string());
        let c = engine
            .accept_restore(&actor)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "log  RESTORE ACCEPTED  new checkpoint (epoch {}) at {} events in {} cases; recorded in the security log",
            c.epoch, c.events, c.cases
        );
    }
    let (report, verified) = build_with_cases(&engine, "UA", &Scope::All, None, None)
        .await
        .map_err(|e| e.to_string())?;
    let invalid: BTreeMap<&str, &InvalidCase> = report
        .invalid
        .iter()
        .map(|c| (c.case_id.as_str(), c))
        .collect();
    for (id, events) in &verified {
        match invalid.get(id.to_string().as_str()) {
            None => println!("{id}  ok       {events} events"),
            Some(c) => println!("{id}  {}", line(c)),
        }
    }
    for c in report
        .invalid
        .iter()
        .filter(|c| !verified.iter().any(|(id, _)| id.to_string() == c.case_id))
    {
        println!("{}  {}", c.case_id, line(c));
    }
    for p in &report.log_problems {
        println!("log  INVALID  {}", p.detail);
    }
    if let Some(path) = &args.report {
        let text = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            report.to_csv()
        } else {
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        };
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))?;
        println!("report written to {}", path.display());
    }
    let mut clean = report.is_clean();
    if clean {
        clean = advance(&engine, report.checkpoint.as_ref()).await;
    }
    // The total stays the last line (scripts print it).
    println!(
        "{} case(s) verified, {} invalid",
        verified.len(),
        report.invalid.len()
    );
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Moves the checkpoint to the verified log and prints its line; `false` when the log went
/// backwards meanwhile. A checkpoint that cannot be written (a read-only store or data
/// directory) is a warning: the verification itself stands.
async fn advance(
    engine: &ptl_engine::pipeline::Engine,
    seen: Option<&ptl_api::integrity::CheckpointSummary>,
) -> bool {
    let line = |epoch: i64, seq: i64, events: i64, cases: i64| {
        println!("log  ok       checkpoint {epoch}.{seq}: {events} events in {cases} cases");
    };
    match engine.advance_checkpoint().await {
        Ok(Advance::Started(c) | Advance::Advanced(c)) => line(c.epoch, c.seq, c.events, c.cases),
        Ok(Advance::Unchanged) => match seen {
            Some(c) => line(c.epoch, c.seq, c.events, c.cases),
            None => println!("log  ok"),
        },
        Ok(Advance::Empty) => println!("log  ok       empty"),
        Ok(Advance::Refused(findings)) => {
            for f in findings {
                println!("log  INVALID  {}", f.describe());
            }
            return false;
        }
        Err(e) => eprintln!("warning: the log's checkpoint could not be advanced: {e}"),
    }
    true
}

/// An invalid case's line after its id.
fn line(c: &InvalidCase) -> String {
    let cp = c.checkpoint_events.unwrap_or(0);
    match c.problem.as_str() {
        "missing" => format!("MISSING  all its events are gone; it had {cp} at the checkpoint"),
        "truncated" => format!(
            "TRUNCATED  first bad event: {} (deleted); it ends at {} of the checkpoint's {cp}",
            c.first_bad_event, c.events
        ),
        "head_rewritten" => format!(
            "INVALID  first bad event: {} differs from the checkpoint's",
            c.first_bad_event
        ),
        _ => format!(
            "INVALID  first bad event: {} of {}",
            c.first_bad_event, c.events
        ),
    }
}
