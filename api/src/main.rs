//! `ptl`: the command line of the PTL Status Engine.
//!
//! Every subcommand takes `--database-url` and `--data-dir` (or `PTL_DATABASE_URL`,
//! `PTL_DATA_DIR`) so it finds the same store and key files. Errors are one sentence on stderr and
//! a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use ptl_engine::clock::SystemClock;
use ptl_engine::pipeline::{Engine, EngineOptions};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "ptl",
    version,
    about = "PTL Status Engine: the status procedure for victims of human trafficking"
)]
struct Cli {
    /// Store URL: sqlite://<file> (embedded default) or postgres://...
    #[arg(
        long,
        global = true,
        env = "PTL_DATABASE_URL",
        default_value = "sqlite://./ptl-data/ptl.db"
    )]
    database_url: String,
    /// Data directory: key files (master.key, hash.key, search.key, jwt.secret) and the erasure ledger.
    #[arg(
        long,
        global = true,
        env = "PTL_DATA_DIR",
        default_value = "./ptl-data"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Open the store, apply migrations, check durability and serve the operational endpoints.
    Serve {
        /// Listen address.
        #[arg(long, env = "PTL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Apply the schema migrations of the store.
    Migrate,
    /// Recompute the hash chain of one case or of all cases.
    Verify {
        /// Only this case.
        #[arg(long)]
        case: Option<Uuid>,
    },
    /// Show a case's history, or the case as it stood at an instant or version.
    Replay {
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
    },
    /// Key management.
    Keys {
        #[command(subcommand)]
        command: KeysCmd,
    },
    /// The procedure definitions and their deadline tables.
    Procedures,
    /// Working-day calendars.
    Calendar {
        #[command(subcommand)]
        command: CalendarCmd,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
    /// Re-wrap every case's data key under a new master key (back up master.key first).
    Rotate,
}

#[derive(Debug, Subcommand)]
enum CalendarCmd {
    /// List the non-working days of a year.
    Show {
        /// The year.
        year: i32,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ptl: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn engine(cli: &Cli) -> Result<Engine, String> {
    std::fs::create_dir_all(&cli.data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            cli.data_dir.display()
        )
    })?;
    let (keys, created) =
        ptl_engine::keys::load_or_create(&cli.data_dir).map_err(|e| e.to_string())?;
    for f in created {
        eprintln!("created key file {} (mode 0600): back it up; losing master.key loses the personal data", f.display());
    }
    let db = ptl_engine::open::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    ptl_engine::open::migrate(&db)
        .await
        .map_err(|e| e.to_string())?;
    let rules = ptl_domain::RuleBook::builtin().map_err(|e| e.to_string())?;
    Engine::new(
        db,
        Arc::new(SystemClock),
        Arc::new(rules),
        Arc::new(keys),
        None,
        EngineOptions {
            data_dir: Some(cli.data_dir.clone()),
            ..EngineOptions::default()
        },
    )
    .await
    .map_err(|e| e.to_string())
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match &cli.command {
        Cmd::Migrate => {
            let db = ptl_engine::open::connect(&cli.database_url)
                .await
                .map_err(|e| e.to_string())?;
            ptl_engine::open::migrate(&db)
                .await
                .map_err(|e| e.to_string())?;
            println!("migrations applied");
        }
        Cmd::Serve { listen } => {
            let engine = engine(&cli).await?;
            ptl_engine::open::check_durability(engine.db())
                .await
                .map_err(|e| e.to_string())?;
            let restored = engine
                .vault()
                .reapply_erasures(engine.db(), &cli.data_dir)
                .await
                .map_err(|e| e.to_string())?;
            if restored > 0 {
                eprintln!("re-applied {restored} erasure(s) from the ledger (a restored backup had brought them back)");
            }
            let app = axum::Router::new()
                .route("/healthz", axum::routing::get(|| async { "ok" }))
                .route("/readyz", axum::routing::get(|| async { "ready" }));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            eprintln!(
                "ptl listening on http://{}",
                listener.local_addr().map_err(|e| e.to_string())?
            );
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .map_err(|e| e.to_string())?;
        }
        Cmd::Verify { case } => {
            let engine = engine(&cli).await?;
            let ids = match case {
                Some(c) => vec![*c],
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
        }
        Cmd::Replay {
            case,
            as_of,
            version,
            format,
        } => {
            let engine = engine(&cli).await?;
            let history = engine.history(*case).await.map_err(|e| e.to_string())?;
            if history.is_empty() {
                return Err(format!("case {case} does not exist"));
            }
            let shown: Vec<_> = history
                .into_iter()
                .filter(|e| as_of.is_none_or(|t| e.event.recorded_at <= t))
                .filter(|e| version.is_none_or(|v| e.sequence <= v))
                .collect();
            let state = shown
                .iter()
                .map(|e| e.event.clone())
                .fold(ptl_domain::CaseState::default(), ptl_domain::evolve);
            match format {
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
        }
        Cmd::Keys {
            command: KeysCmd::Rotate,
        } => {
            let db = ptl_engine::open::connect(&cli.database_url)
                .await
                .map_err(|e| e.to_string())?;
            ptl_engine::open::migrate(&db)
                .await
                .map_err(|e| e.to_string())?;
            // Two phases: the next key is written first (reused if an earlier rotation crashed),
            // every data key is re-wrapped in one transaction, then the next key replaces the old.
            let (old, new) =
                ptl_engine::keys::prepare_rotation(&cli.data_dir).map_err(|e| e.to_string())?;
            // Re-wrapping needs only the master keys; the other keys are not touched.
            let keys = ptl_engine::keys::KeyRing::from_parts(old, [0; 32], [0; 32], Vec::new());
            let vault = ptl_engine::vault::Vault::new(Arc::new(keys));
            let n = vault
                .rotate_master(&db, &new)
                .await
                .map_err(|e| e.to_string())?;
            ptl_engine::keys::commit_rotation(&cli.data_dir, new.id())
                .map_err(|e| e.to_string())?;
            println!(
                "re-wrapped {n} case key(s) under master key {}; back up the new master.key now",
                new.id()
            );
        }
        Cmd::Procedures => {
            let rules = ptl_domain::RuleBook::builtin().map_err(|e| e.to_string())?;
            for d in rules.definitions() {
                println!(
                    "{}  effective {}  deciding authority {}  ({})",
                    d.id, d.effective_from, d.deciding_authority, d.title
                );
                for (kind, rule) in &d.deadlines {
                    println!("    {:<22} {}", kind.as_str(), rule.describe());
                }
                println!(
                    "    status validity: {}",
                    d.status_validity
                        .map_or("unlimited".to_string(), |p| format!(
                            "{} {}",
                            p.length, p.unit
                        ))
                );
            }
        }
        Cmd::Calendar {
            command: CalendarCmd::Show { year },
        } => {
            let cal = ptl_domain::Calendar::builtin().map_err(|e| e.to_string())?;
            if !cal.years().any(|y| y == *year) {
                return Err(format!(
                    "the calendar has no file for {year}: add calendars/ua/{year}.toml"
                ));
            }
            for (date, reason) in cal.non_working_days(*year) {
                println!("{date}  {reason}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
