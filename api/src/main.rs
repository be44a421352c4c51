//! `ptl`: the command line of the PTL Status Engine.
//!
//! Every subcommand takes `--database-url` and `--data-dir` (or `PTL_DATABASE_URL`,
//! `PTL_DATA_DIR`) so it finds the same store and key files. Errors are one sentence on stderr and
//! a non-zero exit.
//!
//! This file holds the global flags, the list of subcommands and the start (settings, logging);
//! each subcommand's flags and work are in its own module under [`cli`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ptl_api::config::Settings;

mod cli;

#[derive(Debug, Parser)]
#[command(
    name = "ptl",
    version,
    about = "PTL Status Engine: the status procedure for victims of human trafficking"
)]
struct Cli {
    /// Settings file (default: ./ptl.toml if it exists); `PTL_*` variables override it.
    #[arg(long, global = true, env = "PTL_CONFIG")]
    config: Option<PathBuf>,
    /// Store URL: sqlite://<file> (embedded default, sqlite://./ptl-data/ptl.db) or postgres://...
    /// [env: PTL_DATABASE_URL]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Data directory: key files (master.key, hash.key, search.key, jwt.secret) and the erasure
    /// ledger (default ./ptl-data) [env: PTL_DATA_DIR]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the REST API server.
    Serve(cli::serve::Args),
    /// Mint a token signed with the configured key, or revoke one.
    Token(cli::token::Args),
    /// Apply the schema migrations of the store.
    Migrate,
    /// Copy the SQLite store to a new file while the server keeps serving, and check the copy.
    ///
    /// The copy is made with SQLite's `VACUUM INTO` inside one read transaction: it holds every
    /// command committed before it began, never blocks writers, and is then opened read-only and
    /// checked with `PRAGMA integrity_check`. The key files (master.key, hash.key, search.key,
    /// jwt.secret) and the erasure ledger (erasures.log) are NOT in the copy: back them up from
    /// the data directory separately. For PostgreSQL use `pg_dump -Fc` or `pg_basebackup` (see the
    /// README, "Backup and restore").
    Backup(cli::backup::Args),
    /// Recompute the hash chain of one case or of all cases.
    Verify(cli::verify::Args),
    /// Show a case's history, or the case as it stood at an instant or version.
    Replay(cli::replay::Args),
    /// The legal clock: record missed deadlines and expiries now; explain a due date.
    Deadlines(cli::deadlines::Args),
    /// Fill an empty store with realistic cases through the engine.
    Demo(cli::demo::Args),
    /// Case data without personal data: HTCDS 2.0 case export, CTDC-style anonymised dataset.
    Export(cli::export::Args),
    /// Read models.
    Projections(cli::projections::Args),
    /// Key management.
    Keys(cli::keys::Args),
    /// The procedure definitions and their deadline tables.
    Procedures,
    /// Working-day calendars.
    Calendar(cli::calendar::Args),
    /// The office tree; closing an office and moving its cases to its successor.
    Offices(cli::offices::Args),
    /// The web application's local accounts: add, list, disable, enable, reset-password, set-role.
    Users(cli::users::Args),
    /// What the status page shows, read from the store: read models, outbox, legal clock, store,
    /// calendars (exit code 2 when an instance could not serve).
    Status(cli::status::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match resolve(&cli) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("ptl: {message}");
            return ExitCode::FAILURE;
        }
    };
    let json_logs = match &cli.command {
        Cmd::Serve(cli::serve::Args {
            log_format: Some(f),
            ..
        }) => matches!(f, cli::serve::LogFormat::Json),
        _ => settings.log_format == ptl_api::config::LogFormat::Json,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json_logs {
        builder.json().init();
    } else {
        builder.init();
    }
    match run(&settings, &cli.command).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ptl: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Settings from the file and the environment, overridden by the global flags.
fn resolve(cli: &Cli) -> Result<Settings, String> {
    let default_file = PathBuf::from(ptl_api::config::DEFAULT_CONFIG_FILE);
    let file = cli
        .config
        .clone()
        .or_else(|| default_file.exists().then_some(default_file));
    let mut settings =
        ptl_api::config::load_from_process_env(file.as_deref()).map_err(|e| e.to_string())?;
    if let Some(url) = &cli.database_url {
        settings.database_url = url.clone().into();
    }
    if let Some(dir) = &cli.data_dir {
        settings.data_dir = dir.clone();
    }
    Ok(settings)
}

/// Hands the subcommand to its module.
async fn run(settings: &Settings, command: &Cmd) -> Result<ExitCode, String> {
    match command {
        Cmd::Serve(args) => cli::serve::run(settings, args).await,
        Cmd::Token(args) => cli::token::run(settings, args).await,
        Cmd::Migrate => cli::migrate::run(settings).await,
        Cmd::Backup(args) => cli::backup::run(settings, args).await,
        Cmd::Verify(args) => cli::verify::run(settings, args).await,
        Cmd::Replay(args) => cli::replay::run(settings, args).await,
        Cmd::Deadlines(args) => cli::deadlines::run(settings, args).await,
        Cmd::Demo(args) => cli::demo::run(settings, args).await,
        Cmd::Export(args) => cli::export::run(settings, args).await,
        Cmd::Projections(args) => cli::projections::run(settings, args).await,
        Cmd::Keys(args) => cli::keys::run(settings, args).await,
        Cmd::Procedures => cli::procedures::run(settings),
        Cmd::Calendar(args) => cli::calendar::run(settings, args),
        Cmd::Offices(args) => cli::offices::run(settings, args).await,
        Cmd::Users(args) => cli::users::run(settings, args).await,
        Cmd::Status(args) => cli::status::run(settings, args).await,
    }
}
