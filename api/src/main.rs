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
    /// Run the REST API server.
    Serve {
        /// Listen address.
        #[arg(long, env = "PTL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Start even if the store's commits are not durable (acknowledged commands could be lost).
        #[arg(long, env = "PTL_ALLOW_NON_DURABLE")]
        allow_non_durable: bool,
        /// Log format.
        #[arg(long, value_enum, default_value = "text", env = "PTL_LOG_FORMAT")]
        log_format: LogFormat,
    },
    /// Mint a token signed with the configured key, or revoke one.
    Token {
        #[command(subcommand)]
        revoke: Option<TokenCmd>,
        /// User id (`sub`).
        #[arg(long)]
        sub: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Role: caseworker, supervisor, social_worker, decision_officer, auditor, admin.
        #[arg(long)]
        role: Option<String>,
        /// Office code (e.g. UA7102).
        #[arg(long)]
        office: Option<String>,
        /// Lifetime, e.g. 8h, 30m, 2d.
        #[arg(long, default_value = "8h")]
        ttl: String,
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
enum TokenCmd {
    /// Add a token id (`jti`) to the deny list the server checks.
    Revoke {
        /// The token id.
        jti: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
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

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--ttl `{s}` is not like 8h, 30m or 2d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("--ttl `{s}` is not like 8h, 30m or 2d")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
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
        Some(Arc::new(ptl_projections::ReadModels)),
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
        Cmd::Serve {
            listen,
            allow_non_durable,
            ..
        } => {
            let mut opts =
                ptl_api::app::StartOptions::new(cli.database_url.clone(), cli.data_dir.clone());
            opts.allow_non_durable = *allow_non_durable;
            let app = ptl_api::app::start(&opts, ptl_api::app::system_clock()).await?;
            if !app.created_keys.is_empty() {
                eprintln!(
                    "first start: created the JWT secret, the master key and the hash keys in {} (mode 0600; back them up: losing master.key loses the personal data)",
                    cli.data_dir.display()
                );
                eprintln!(
                    "mint a token with: ptl token --sub cw-1 --role caseworker --office UA7102"
                );
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%addr, store = %redact(&cli.database_url), "ptl listening");
            let refresher = tokio::spawn(ptl_api::app::refresh_revocations(app.state.clone()));
            let server = ptl_api::server::serve(listener, app.router, shutdown_signal());
            let result = server.await;
            refresher.abort();
            result.map_err(|e| format!("the server stopped: {e}"))?;
            tracing::info!("ptl stopped");
        }
        Cmd::Token {
            revoke: Some(TokenCmd::Revoke { jti }),
            ..
        } => {
            let engine = engine(&cli).await?;
            engine.revoke_token(jti).await.map_err(|e| e.to_string())?;
            println!("revoked {jti}; running servers refuse it within 5 seconds");
        }
        Cmd::Token {
            revoke: None,
            sub,
            name,
            role,
            office,
            ttl,
        } => {
            let (Some(sub), Some(role), Some(office)) = (sub, role, office) else {
                return Err("a token needs --sub, --role and --office".into());
            };
            let role: ptl_domain::Role = role
                .parse()
                .map_err(|e: ptl_domain::types::UnknownValue| e.to_string())?;
            let ttl = parse_ttl(ttl)?;
            std::fs::create_dir_all(&cli.data_dir).map_err(|e| e.to_string())?;
            let (keys, _) =
                ptl_engine::keys::load_or_create(&cli.data_dir).map_err(|e| e.to_string())?;
            let auth =
                ptl_api::auth::Authenticator::new(keys.jwt_secret()).map_err(|e| e.to_string())?;
            let jti = Uuid::new_v4().simple().to_string();
            let token = auth
                .mint(
                    sub,
                    name.as_deref().unwrap_or(sub),
                    role,
                    office,
                    ttl,
                    Some(jti),
                )
                .map_err(|e| e.to_string())?;
            println!("{token}");
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
