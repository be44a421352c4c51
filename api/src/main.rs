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
    /// The resolved settings (file, then environment, then these flags).
    #[arg(skip)]
    settings: Option<ptl_api::config::Settings>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the REST API server.
    Serve {
        /// Listen address (default 127.0.0.1:8080) [env: PTL_LISTEN]
        #[arg(long)]
        listen: Option<String>,
        /// Start even if the store's commits are not durable (acknowledged commands could be lost).
        #[arg(long)]
        allow_non_durable: bool,
        /// Log format [env: PTL_LOG_FORMAT]
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
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
    /// Copy the SQLite store to a new file while the server keeps serving, and check the copy.
    ///
    /// The copy is made with SQLite's `VACUUM INTO` inside one read transaction: it holds every
    /// command committed before it began, never blocks writers, and is then opened read-only and
    /// checked with `PRAGMA integrity_check`. The key files (master.key, hash.key, search.key,
    /// jwt.secret) and the erasure ledger (erasures.log) are NOT in the copy: back them up from
    /// the data directory separately. For PostgreSQL use `pg_dump -Fc` or `pg_basebackup` (see the
    /// README, "Backup and restore").
    Backup {
        /// The file to write (it must not exist yet), e.g. /backups/ptl-2026-03-02.db.
        #[arg(long, short)]
        output: PathBuf,
    },
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
    /// The legal clock: record missed deadlines and expiries now; explain a due date.
    Deadlines {
        #[command(subcommand)]
        command: DeadlinesCmd,
    },
    /// Fill an empty store with realistic cases through the engine.
    Demo {
        /// `basic` (8 cases) or `cherkasy` (the figures of the Cherkasy regional report over the last 90 days).
        #[arg(long, default_value = "basic")]
        scenario: String,
    },
    /// Read models.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCmd,
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
enum ProjectionsCmd {
    /// Bring read models up to date from the event log without clearing them (a read model added
    /// later catches up while the server keeps serving).
    CatchUp {
        /// Only this read model: work_queue, deadlines or statistics.
        #[arg(long)]
        only: Option<String>,
    },
    /// Drop and rebuild the read models from the event log.
    Rebuild {
        /// Only this read model: work_queue, deadlines or statistics.
        #[arg(long)]
        only: Option<String>,
    },
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
    let mut cli = Cli::parse();
    let settings = match resolve(&cli) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("ptl: {message}");
            return ExitCode::FAILURE;
        }
    };
    let json_logs = match &cli.command {
        Cmd::Serve {
            log_format: Some(f),
            ..
        } => matches!(f, LogFormat::Json),
        _ => settings.log_format == ptl_api::config::LogFormat::Json,
    };
    cli.settings = Some(settings);
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
    match run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ptl: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Settings from the file and the environment, overridden by the global flags.
fn resolve(cli: &Cli) -> Result<ptl_api::config::Settings, String> {
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

impl Cli {
    fn settings(&self) -> &ptl_api::config::Settings {
        static DEFAULT: std::sync::OnceLock<ptl_api::config::Settings> = std::sync::OnceLock::new();
        self.settings
            .as_ref()
            .unwrap_or_else(|| DEFAULT.get_or_init(ptl_api::config::Settings::default))
    }
    fn url(&self) -> String {
        use secrecy::ExposeSecret;
        self.settings().database_url.expose_secret().to_string()
    }
    fn dir(&self) -> PathBuf {
        self.settings().data_dir.clone()
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
    std::fs::create_dir_all(cli.dir()).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            cli.dir().display()
        )
    })?;
    let (keys, created) =
        ptl_engine::keys::load_or_create(&cli.dir()).map_err(|e| e.to_string())?;
    for f in created {
        eprintln!("created key file {} (mode 0600): back it up; losing master.key loses the personal data", f.display());
    }
    let db = ptl_engine::open::connect(&cli.url())
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
            data_dir: Some(cli.dir()),
            ..EngineOptions::default()
        },
    )
    .await
    .map_err(|e| e.to_string())
}

/// `ptl backup`: a checked copy of the SQLite store, and what else must be backed up.
async fn backup(cli: &Cli, output: &std::path::Path) -> Result<(), String> {
    let url = cli.url();
    let Some(db_path) = url.strip_prefix("sqlite://") else {
        return Err(ptl_engine::backup::BackupError::NotSqlite.to_string());
    };
    // Connecting would create an empty database: there must be one to copy.
    if !std::path::Path::new(db_path).is_file() {
        return Err(format!(
            "there is no SQLite database at {db_path}, so there is nothing to back up"
        ));
    }
    let db = ptl_engine::open::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    let result = ptl_engine::backup::backup_sqlite(&db, output).await;
    if let ptl_engine::db::Db::Sqlite(pool) = &db {
        pool.close().await;
    }
    let r = result.map_err(|e| e.to_string())?;
    println!(
        "backup {}: {} bytes ({:.1} MiB), {} events, {} cases, integrity ok",
        r.path.display(),
        r.bytes,
        r.bytes as f64 / 1_048_576.0,
        r.events,
        r.cases
    );
    let dir = cli.dir();
    let ledger = ptl_engine::vault::ERASURE_LOG_FILE;
    let keys = ptl_engine::backup::KEY_FILES.join(", ");
    eprintln!(
        "the copy holds no keys: back up {keys} and {ledger} from {} separately (without \
         master.key the personal data in the copy is unreadable, without hash.key its history \
         cannot be verified); restore them with the copy, {ledger} from the newest copy you have: \
         `ptl serve` re-applies it at start, so data erased after this backup does not come back",
        dir.display()
    );
    let missing: Vec<&str> = ptl_engine::backup::KEY_FILES
        .into_iter()
        .filter(|f| !dir.join(f).exists())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "{} not in {}: if the keys come from PTL_MASTER_KEY, PTL_HASH_KEY, PTL_SEARCH_KEY \
             and PTL_JWT_SECRET, keep those values with the backup instead",
            missing.join(", "),
            dir.display()
        );
    }
    if !dir.join(ledger).exists() {
        eprintln!(
            "(no {ledger} in {} yet: nothing has been erased)",
            dir.display()
        );
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match &cli.command {
        Cmd::Migrate => {
            let db = ptl_engine::open::connect(&cli.url())
                .await
                .map_err(|e| e.to_string())?;
            ptl_engine::open::migrate(&db)
                .await
                .map_err(|e| e.to_string())?;
            println!("migrations applied");
        }
        Cmd::Backup { output } => backup(&cli, output).await?,
        Cmd::Serve {
            listen,
            allow_non_durable,
            ..
        } => {
            let mut opts = ptl_api::startup::StartOptions::from_settings(cli.settings());
            opts.allow_non_durable |= *allow_non_durable;
            let listen = listen
                .clone()
                .unwrap_or_else(|| cli.settings().listen.to_string());
            let listen = &listen;
            let app = ptl_api::startup::start(&opts, ptl_api::startup::system_clock()).await?;
            if !app.created_keys.is_empty() {
                eprintln!(
                    "first start: created the JWT secret, the master key and the hash keys in {} (mode 0600; back them up: losing master.key loses the personal data)",
                    cli.dir().display()
                );
                eprintln!(
                    "mint a token with: ptl token --sub cw-1 --role caseworker --office UA7102"
                );
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%addr, store = %redact(&cli.url()), "ptl listening");
            // The API and the background workers run as sibling tasks; whichever stops first is
            // reported, and the others are told to stop.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let mut scheduler_stop = stop_rx.clone();
            let mut scheduler = tokio::spawn(app.scheduler.run(async move {
                let _ = scheduler_stop.changed().await;
            }));
            let refresher = tokio::spawn(ptl_api::startup::refresh_revocations(app.state.clone()));
            let webhook = app.webhook.map(|sender| {
                let mut hook_stop = stop_rx.clone();
                tokio::spawn(async move {
                    sender
                        .run(async move {
                            let _ = hook_stop.changed().await;
                        })
                        .await;
                })
            });
            let relay = app.relay.map(|relay| {
                let mut relay_stop = stop_rx.clone();
                tokio::spawn(relay.run(async move {
                    let _ = relay_stop.changed().await;
                }))
            });
            let mut server_stop = stop_rx.clone();
            let mut server = tokio::spawn(ptl_api::http::serve(listener, app.router, async move {
                tokio::select! {
                    () = shutdown_signal() => {},
                    _ = server_stop.changed() => {},
                }
            }));
            let outcome = tokio::select! {
                r = &mut server => match r {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("the HTTP server stopped: {e}")),
                    Err(e) => Err(format!("the HTTP server task failed: {e}")),
                },
                r = &mut scheduler => Err(format!("the deadline scheduler stopped unexpectedly ({r:?})")),
            };
            let _ = stop_tx.send(true);
            refresher.abort();
            if !server.is_finished() {
                let _ = server.await;
            }
            if !scheduler.is_finished() {
                let _ = scheduler.await;
            }
            if let Some(relay) = relay {
                let _ = relay.await;
            }
            if let Some(hook) = webhook {
                let _ = hook.await;
            }
            outcome?;
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
            std::fs::create_dir_all(cli.dir()).map_err(|e| e.to_string())?;
            let (keys, _) =
                ptl_engine::keys::load_or_create(&cli.dir()).map_err(|e| e.to_string())?;
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
            let db = ptl_engine::open::connect(&cli.url())
                .await
                .map_err(|e| e.to_string())?;
            ptl_engine::open::migrate(&db)
                .await
                .map_err(|e| e.to_string())?;
            // Two phases: the next key is written first (reused if an earlier rotation crashed),
            // every data key is re-wrapped in one transaction, then the next key replaces the old.
            let (old, new) =
                ptl_engine::keys::prepare_rotation(&cli.dir()).map_err(|e| e.to_string())?;
            // Re-wrapping needs only the master keys; the other keys are not touched.
            let keys = ptl_engine::keys::KeyRing::from_parts(old, [0; 32], [0; 32], Vec::new());
            let vault = ptl_engine::vault::Vault::new(Arc::new(keys));
            let n = vault
                .rotate_master(&db, &new)
                .await
                .map_err(|e| e.to_string())?;
            ptl_engine::keys::commit_rotation(&cli.dir(), new.id()).map_err(|e| e.to_string())?;
            println!(
                "re-wrapped {n} case key(s) under master key {}; back up the new master.key now",
                new.id()
            );
        }
        Cmd::Deadlines {
            command: DeadlinesCmd::RunOnce,
        } => {
            let engine = Arc::new(engine(&cli).await?);
            let r = ptl_projections::scheduler::Scheduler::new(engine)
                .run_once()
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "missed deadlines recorded: {}, expiries recorded: {}, skipped: {}, failed: {}",
                r.missed_recorded, r.expiries_recorded, r.skipped, r.failed
            );
            if r.failed > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Cmd::Deadlines {
            command: DeadlinesCmd::Explain { case, name },
        } => {
            let engine = engine(&cli).await?;
            let (state, _) = engine
                .load(*case)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("case {case} does not exist"))?;
            let e = ptl_domain::explain(&state, name, engine.rules().calendar())
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
        Cmd::Demo { scenario } => {
            let scenario: ptl_api::demo::Scenario = scenario.parse()?;
            let engine = engine(&cli).await?;
            let today = ptl_domain::kyiv_date(engine.clock().now());
            let report = ptl_api::demo::demo(&engine, scenario, today).await?;
            println!(
                "demo `{scenario}`: {} cases, {} events recorded through the engine",
                report.cases, report.events
            );
        }
        Cmd::Projections {
            command: ProjectionsCmd::Rebuild { only },
        } => {
            let engine = engine(&cli).await?;
            let line =
                ptl_api::rebuild_cli::rebuild_with_progress(engine.db(), only.as_deref()).await?;
            println!("{line}");
        }
        Cmd::Projections {
            command: ProjectionsCmd::CatchUp { only },
        } => {
            let engine = engine(&cli).await?;
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
