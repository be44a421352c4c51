//! Starting the application: keys, store, migrations, durability check, erasure ledger and the
//! repair of unfinished erasures, engine, person index (rebuilt when the name normalisation
//! changed), authenticator and router. `ptl serve` and the end-to-end tests start it the same way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ptl_engine::clock::{Clock, SystemClock};
use ptl_engine::pipeline::{Engine, EngineOptions, Projector};

use crate::app::{App, Settings};
use crate::auth::Authenticator;
use crate::http::{router, AppState};
use crate::limits::{LimitSettings, Limits};
use crate::metrics::Metrics;

/// What the application needs to start.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Store URL.
    pub database_url: String,
    /// Data directory (key files, erasure ledger).
    pub data_dir: PathBuf,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Deadlines due within this many days are `upcoming`.
    pub upcoming_days: i64,
    /// Start even if the store's commits are not durable.
    pub allow_non_durable: bool,
    /// Extra or corrected procedure definitions.
    pub procedures_dir: Option<PathBuf>,
    /// Extra or corrected calendar years.
    pub calendars_dir: Option<PathBuf>,
    /// The office tree (default: the built-in Cherkasy tree).
    pub offices_file: Option<PathBuf>,
    /// An identity provider's public key (RS256 or EdDSA PEM) besides the shared secret.
    pub jwt_public_key_file: Option<PathBuf>,
    /// Accepted `aud` values (required when not empty).
    pub jwt_audience: Vec<String>,
    /// Accepted `iss` values (required when not empty).
    pub jwt_issuer: Vec<String>,
    /// Whether the locally signed (HS256) tokens are accepted.
    pub jwt_local_tokens: bool,
    /// Longest accepted token lifetime.
    pub jwt_max_lifetime: Duration,
    /// Connection-level limits (timeouts, connection cap, rate limits).
    pub limits: LimitSettings,
    /// Disclosure-control threshold for `disclosure=public`.
    pub disclosure_threshold: u64,
    /// RabbitMQ URL: when set, every committed event goes through the outbox to the exchange.
    pub rabbitmq_url: Option<String>,
    /// Missed-deadline webhook: URL and HMAC key.
    pub webhook: Option<(String, Vec<u8>)>,
    /// Working days after a miss before the regional office sees the case escalated.
    pub escalate_after_working_days: u32,
    /// A snapshot of a case's state after every this many events (0: never).
    pub snapshot_every: u64,
    /// Person searches one user may make in a minute.
    pub person_searches_per_minute: u32,
    /// The web application's settings.
    pub web: crate::web::WebSettings,
    /// How the integrity report is paced (small batches, pauses between them).
    pub integrity_pacing: crate::integrity::Pacing,
    /// How often `ptl serve` advances the log's signed checkpoint ([`keep_checkpoint`]).
    pub checkpoint_interval: Duration,
}

impl StartOptions {
    /// Defaults for a store URL and data directory.
    #[must_use]
    pub fn new(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            database_url: database_url.into(),
            data_dir: data_dir.into(),
            request_timeout: Duration::from_secs(10),
            upcoming_days: 3,
            allow_non_durable: false,
            procedures_dir: None,
            calendars_dir: None,
            offices_file: None,
            jwt_public_key_file: None,
            jwt_audience: Vec::new(),
            jwt_issuer: Vec::new(),
            jwt_local_tokens: true,
            jwt_max_lifetime: crate::auth::DEFAULT_MAX_LIFETIME,
            limits: LimitSettings::default(),
            disclosure_threshold: 5,
            rabbitmq_url: None,
            webhook: None,
            escalate_after_working_days: 3,
            snapshot_every: EngineOptions::default().snapshot_every,
            person_searches_per_minute: 30,
            web: crate::web::WebSettings::default(),
            integrity_pacing: crate::integrity::Pacing::default(),
            checkpoint_interval: CHECKPOINT_INTERVAL,
        }
    }

    /// From the typed settings.
    #[must_use]
    pub fn from_settings(s: &crate::config::Settings) -> Self {
        use secrecy::ExposeSecret;
        Self {
            database_url: s.database_url.expose_secret().to_string(),
            data_dir: s.data_dir.clone(),
            request_timeout: Duration::from_secs(s.request_timeout_secs.max(1)),
            upcoming_days: i64::from(s.upcoming_working_days),
            allow_non_durable: s.allow_non_durable,
            procedures_dir: s.procedures_dir.clone(),
            calendars_dir: s.calendars_dir.clone(),
            offices_file: s.offices_file.clone(),
            jwt_public_key_file: s.jwt_public_key_file.clone(),
            jwt_audience: s.jwt_audience.clone(),
            jwt_issuer: s.jwt_issuer.clone(),
            jwt_local_tokens: s.jwt_local_tokens,
            jwt_max_lifetime: Duration::from_secs(s.jwt_max_lifetime_secs),
            limits: LimitSettings {
                header_read_timeout: Duration::from_secs(s.header_read_timeout_secs.max(1)),
                idle_timeout: Duration::from_secs(s.idle_timeout_secs.max(1)),
                max_connections: s.max_connections.max(1),
                per_address_per_minute: s.rate_limit_per_address,
                per_user_per_minute: s.rate_limit_per_user,
                trusted_proxies: s.trusted_proxies.clone(),
            },
            disclosure_threshold: u64::from(s.disclosure_threshold),
            rabbitmq_url: s
                .rabbitmq_url
                .as_ref()
                .map(|u| u.expose_secret().to_string()),
            webhook: s.webhook_url.clone().map(|url| {
                (
                    url,
                    s.webhook_secret
                        .as_ref()
                        .map(|k| k.expose_secret().as_bytes().to_vec())
                        .unwrap_or_default(),
                )
            }),
            escalate_after_working_days: s.escalate_after_working_days,
            snapshot_every: EngineOptions::default().snapshot_every,
            person_searches_per_minute: s.person_searches_per_minute,
            web: crate::web::WebSettings {
                public_url: s.public_url.clone(),
                idle_timeout: Duration::from_secs(u64::from(s.session_idle_minutes) * 60),
                absolute_lifetime: Duration::from_secs(u64::from(s.session_lifetime_hours) * 3600),
                oidc: s.oidc.clone(),
                ..crate::web::WebSettings::default()
            },
            integrity_pacing: crate::integrity::Pacing::default(),
            checkpoint_interval: CHECKPOINT_INTERVAL,
        }
    }
}

/// A started application: the router to serve and its shared state.
#[derive(Debug)]
pub struct Started {
    /// The router.
    pub router: axum::Router,
    /// The shared state.
    pub state: AppState,
    /// Key files created on this start.
    pub created_keys: Vec<PathBuf>,
    /// The deadline scheduler, to be run beside the server (`ptl serve` spawns it).
    pub scheduler: ptl_projections::scheduler::Scheduler,
    /// The outbox relay to RabbitMQ, when configured (`ptl serve` spawns it).
    pub relay: Option<ptl_engine::relay::Relay>,
    /// The missed-deadline webhook sender, when configured (`ptl serve` spawns it).
    pub webhook: Option<ptl_projections::webhook::WebhookSender>,
}

/// Opens everything and builds the router.
///
/// # Errors
/// A sentence saying what could not be opened.
pub async fn start(opts: &StartOptions, clock: Arc<dyn Clock>) -> Result<Started, String> {
    // The read models are updated in the same transaction as the events.
    let projector: Option<Arc<dyn Projector>> = Some(Arc::new(ptl_projections::ReadModels));
    // 0700 whatever the umask: the keys, the store and the erasure ledger live here.
    ptl_engine::open::create_private_dir(&opts.data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            opts.data_dir.display()
        )
    })?;
    let (keys, created_keys) =
        ptl_engine::keys::load_or_create(&opts.data_dir).map_err(|e| e.to_string())?;
    let db = ptl_engine::open::connect(&opts.database_url)
        .await
        .map_err(|e| e.to_string())?;
    ptl_engine::open::migrate(&db)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = ptl_engine::open::check_durability(&db).await {
        if opts.allow_non_durable {
            tracing::warn!(error = %e, "the store is not durable; starting anyway because the operator opted out");
        } else {
            return Err(format!(
                "{e} (start with --allow-non-durable to accept that risk)"
            ));
        }
    }
    let rules = rule_book(opts)?;
    if let Some(last) = rules.calendar().last_day() {
        let today = ptl_domain::kyiv_date(clock.now());
        if (last - today).num_days() < 90 {
            tracing::warn!(%last, "the working-day calendar ends within 90 days: add the next year's file to the calendars directory");
        }
    }
    let auth = authenticator(opts, keys.jwt_secret())?;
    let offices = crate::reorganise::load_tree(opts.offices_file.as_deref(), &opts.data_dir)
        .map_err(|e| e.to_string())?;
    let keys = Arc::new(keys);
    let engine = Engine::new(
        db,
        clock,
        Arc::new(rules),
        keys,
        projector,
        EngineOptions {
            data_dir: Some(opts.data_dir.clone()),
            outbox: opts.rabbitmq_url.is_some(),
            snapshot_every: opts.snapshot_every,
            ..EngineOptions::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let restored = engine
        .vault()
        .reapply_erasures(engine.db(), &opts.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    if restored > 0 {
        tracing::warn!(
            restored,
            "re-applied erasures from the ledger (a restored backup had brought them back)"
        );
    }
    // A person index built with an older name normalisation would miss names that the current
    // one matches: rebuild it from the vault before the first search.
    engine
        .ensure_person_index()
        .await
        .map_err(|e| format!("cannot rebuild the person index: {e}"))?;
    // A case whose history says erased but whose key still opens its data (left by a crash of
    // the earlier two-step erasure, or a hand edit): its key is destroyed before anyone reads.
    let repaired = engine.repair_erasures().await.map_err(|e| e.to_string())?;
    if !repaired.is_empty() {
        tracing::warn!(
            cases = repaired.len(),
            "repaired erasures whose key was still readable (see erasures.log and the erasure \
             ledger's repaired_at)"
        );
    }
    // An erasure whose security-log entry a crash prevented (between its commit and the entry)
    // gets the entry now.
    let recovered = engine
        .log_unlogged_erasures()
        .await
        .map_err(|e| format!("cannot write the erasures' security-log entries: {e}"))?;
    if !recovered.is_empty() {
        tracing::warn!(
            cases = recovered.len(),
            "wrote the security-log entries of erasures that had none (the process had stopped \
             between an erasure and its entry)"
        );
    }
    // The log's checkpoint, moved to the log as it stands (or the first one written); a log that
    // went backwards is reported, and the server still starts (`ptl verify` names the cases).
    advance_checkpoint(&engine).await;
    for jti in engine.revoked_tokens().await.map_err(|e| e.to_string())? {
        auth.revoke(jti);
    }
    let engine = Arc::new(engine);
    let relay = opts.rabbitmq_url.as_ref().map(|url| {
        ptl_engine::relay::Relay::new(engine.db().clone(), url.clone())
            .with_purge_after(Duration::from_secs(7 * 86_400))
    });
    let scheduler = ptl_projections::scheduler::Scheduler::new(engine.clone());
    let webhook = match &opts.webhook {
        Some((url, secret)) => {
            if secret.len() < 16 {
                return Err(
                    "the webhook needs PTL_WEBHOOK_SECRET (at least 16 bytes) to sign its bodies"
                        .into(),
                );
            }
            Some(
                ptl_projections::webhook::WebhookSender::new(
                    engine.db().clone(),
                    url.clone(),
                    secret.clone(),
                )
                .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let app = App {
        engine,
        offices: Arc::new(offices),
        settings: Settings {
            upcoming_days: opts.upcoming_days,
            disclosure_threshold: opts.disclosure_threshold,
            escalate_after_working_days: opts.escalate_after_working_days,
            person_searches_per_minute: opts.person_searches_per_minute,
        },
        metrics: Arc::new(Metrics::default()),
        deadline_poke: scheduler.notifier(),
        relay_poke: relay.as_ref().map(ptl_engine::relay::Relay::notifier),
        relay_health: relay.as_ref().map(ptl_engine::relay::Relay::health),
        webhook_enabled: webhook.is_some(),
        searches: crate::app::search_limit::SearchLimiter::new(opts.person_searches_per_minute),
        integrity: crate::app::integrity::Runner::new(opts.integrity_pacing),
    };
    let state = AppState {
        app: Arc::new(app),
        auth: Arc::new(auth),
        limits: Arc::new(Limits::new(opts.limits.clone())),
        web: Arc::new(opts.web.clone()),
        sso: match &opts.web.oidc {
            Some(settings) => Some(Arc::new(crate::web::oidc::Oidc::new(settings.clone())?)),
            None => None,
        },
    };
    Ok(Started {
        router: router(state.clone(), opts.request_timeout),
        state,
        created_keys,
        scheduler,
        relay,
        webhook,
    })
}

/// The token verifier the options describe: the HS256 `secret` (unless local tokens are switched
/// off), the identity provider's public key, the audience, the issuer and the longest lifetime.
/// `ptl token` mints with the same, so its tokens pass.
///
/// # Errors
/// A sentence: the secret is too short, the public key cannot be read or used, or local tokens
/// are switched off without a public key (no token could ever pass).
pub fn authenticator(opts: &StartOptions, secret: &[u8]) -> Result<Authenticator, String> {
    let mut auth = Authenticator::new(secret)
        .map_err(|e| e.to_string())?
        .with_audience(opts.jwt_audience.clone())
        .with_issuer(opts.jwt_issuer.clone())
        .with_max_lifetime(opts.jwt_max_lifetime);
    if let Some(path) = &opts.jwt_public_key_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the JWT public key {}: {e}", path.display()))?;
        auth = auth.with_public_key_pem(&pem).map_err(|e| e.to_string())?;
    }
    if !opts.jwt_local_tokens {
        if opts.jwt_public_key_file.is_none() {
            return Err("jwt_local_tokens = false needs jwt_public_key_file (the identity provider's key): otherwise no token is accepted".into());
        }
        auth = auth.without_local_tokens();
    }
    Ok(auth)
}

/// The built-in procedure definitions and calendars, with the directories' additions and
/// corrections. In the calendars directory, year files directly in it correct or extend the
/// built-in `ua` calendar, and each subdirectory `<id>/` holds the years of calendar `<id>`
/// (`ua/` extends the built-in one; another id is a calendar of its own that a definition may
/// name). A definition naming a calendar that is missing, or that lacks a year it needs, is refused.
///
/// # Errors
/// A sentence naming the broken file.
pub fn rule_book(opts: &StartOptions) -> Result<ptl_domain::RuleBook, String> {
    rule_book_from(
        opts.procedures_dir.as_deref(),
        opts.calendars_dir.as_deref(),
    )
}

/// [`rule_book`] from the two directories (`ptl procedures`, `ptl calendar show`).
///
/// # Errors
/// A sentence naming the broken file.
pub fn rule_book_from(
    procedures_dir: Option<&std::path::Path>,
    calendars_dir: Option<&std::path::Path>,
) -> Result<ptl_domain::RuleBook, String> {
    let mut ua = ptl_domain::Calendar::builtin().map_err(|e| e.to_string())?;
    let mut others = Vec::new();
    if let Some(dir) = calendars_dir {
        ua = ua.with_dir(dir).map_err(|e| e.to_string())?;
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read: {e}", dir.display()))?;
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| format!("{}: cannot read: {e}", dir.display()))?
                .path();
            if path.is_dir() {
                subdirs.push(path);
            }
        }
        subdirs.sort();
        for sub in subdirs {
            if sub.file_name().is_some_and(|n| n == ua.id()) {
                ua = ua.with_dir(&sub).map_err(|e| e.to_string())?;
            } else {
                others.push(ptl_domain::Calendar::from_dir(&sub).map_err(|e| e.to_string())?);
            }
        }
    }
    let mut calendars = vec![ua];
    calendars.extend(others);
    match procedures_dir {
        Some(dir) => {
            ptl_domain::RuleBook::with_dir_and_calendars(dir, calendars).map_err(|e| e.to_string())
        }
        None => {
            ptl_domain::RuleBook::from_builtin_with_calendars(calendars).map_err(|e| e.to_string())
        }
    }
}

/// Keeps the server's deny list in step with `ptl token revoke` run by another process.
pub async fn refresh_revocations(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Ok(list) = state.app.engine.revoked_tokens().await {
            for jti in list {
                state.auth.revoke(jti);
            }
        }
    }
}

/// The system clock, for production.
#[must_use]
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// How often `ptl serve` advances the log's checkpoint by default.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// Advances the log's signed checkpoint once (`ptl_engine::checkpoint`), logging what it found:
/// a log shorter than its checkpoint, a case missing or truncated, a forged or missing checkpoint
/// is an error in the log (the checkpoint stays where it was until `ptl verify --accept-restore`).
pub async fn advance_checkpoint(engine: &Engine) {
    use ptl_engine::checkpoint::Advance;
    match engine.advance_checkpoint().await {
        Ok(Advance::Refused(findings)) => {
            for f in &findings {
                tracing::error!(finding = %f.describe(), "the event log does not match its checkpoint; run `ptl verify`");
            }
        }
        Ok(Advance::Started(c)) => {
            tracing::info!(
                events = c.events,
                cases = c.cases,
                "started the event log's checkpoint"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "the event log's checkpoint could not be advanced"),
    }
}

/// Advances the log's checkpoint every `interval` (beside the server, in `ptl serve`), until
/// the task is dropped.
pub async fn keep_checkpoint(engine: Arc<Engine>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        advance_checkpoint(&engine).await;
    }
}

/// On PostgreSQL, folds the work queue tallies' change rows into the tallies every `interval`
/// (`ptl_projections::tally`), so that the work queue page's counts stay a few rows per office;
/// until the task is dropped. Nothing to do on SQLite.
pub async fn keep_tallies_folded(engine: Arc<Engine>, interval: Duration) {
    if !matches!(engine.db(), ptl_engine::db::Db::Postgres(_)) {
        return;
    }
    loop {
        tokio::time::sleep(interval).await;
        if let Err(e) = ptl_projections::tally::fold_tally_changes(engine.db()).await {
            tracing::warn!(error = %e, "the work queue's counts could not be folded; retrying");
        }
    }
}
