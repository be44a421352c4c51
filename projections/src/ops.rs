//! What an operator reads from the store (`GET /api/v1/status`, `/readyz`, `/metrics`,
//! `ptl status`): how each read model is kept, the outbox and the webhook deliveries, the legal
//! clock's last run, and the store itself.
//!
//! Why in the store: a rebuild or catch-up runs in another process (`ptl projections`), and
//! several instances may share one PostgreSQL database; each must see that a read model it
//! answers from is not complete. So [`crate::rebuild`] writes its progress to `projection_runs`
//! after each batch, and the legal clock ([`crate::scheduler`]) its last run to `clock_runs`
//! (migration 0021). Everything else is read from the tables that already hold it (`outbox`,
//! `webhook_outbox`, `case_events`, `_sqlx_migrations`).

use chrono::{DateTime, NaiveDate, Utc};
use ptl_engine::db::Db;
use ptl_engine::{fetch_all, fetch_optional, run};

use crate::project::Models;
use crate::ProjectionError;

/// The read models, in the order they are shown.
pub const MODELS: [&str; 4] = ["work_queue", "deadlines", "statistics", "registers"];

/// A run that has written no progress for this long is shown as stalled (its process probably
/// died; the read model stays incomplete until a run finishes).
pub const STALLED_AFTER_SECS: i64 = 300;

/// How a read model is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kept {
    /// Written in the same transaction as the events: never behind.
    InTransaction,
    /// Catching up from the global log (`ptl projections catch-up`), or a catch-up that did not
    /// finish.
    CatchingUp,
    /// Being rebuilt (`ptl projections rebuild`), or a rebuild that did not finish.
    Rebuilding,
}

impl Kept {
    /// The code (`in_transaction`, `catching_up`, `rebuilding`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InTransaction => "in_transaction",
            Self::CatchingUp => "catching_up",
            Self::Rebuilding => "rebuilding",
        }
    }
}

/// One read model's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelStatus {
    /// `work_queue`, `deadlines`, `statistics` or `registers`.
    pub model: &'static str,
    /// How it is kept now.
    pub kept: Kept,
    /// Its position in the global log: the newest event for a model kept in the transaction,
    /// the last event applied for one catching up or rebuilding.
    pub position: i64,
    /// Events of the log it has not applied yet.
    pub lag_events: u64,
    /// Seconds since the oldest event it has not applied was recorded (0 when none).
    pub lag_seconds: f64,
    /// Events applied by the current (or last) run, and the events in the log when it started.
    pub applied: u64,
    /// See [`Self::applied`].
    pub target: u64,
    /// When the current or last run started and last wrote its progress.
    pub started_at: Option<DateTime<Utc>>,
    /// See [`Self::started_at`].
    pub updated_at: Option<DateTime<Utc>>,
    /// When the last run finished (`None` while one runs).
    pub finished_at: Option<DateTime<Utc>>,
    /// The last run failed: its error.
    pub last_error: Option<String>,
    /// A run that has written no progress for [`STALLED_AFTER_SECS`].
    pub stalled: bool,
}

/// The outbox to RabbitMQ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxStatus {
    /// Events not published yet.
    pub pending: u64,
    /// Age of the oldest of them, in seconds (0 when none).
    pub oldest_seconds: f64,
}

/// The missed-deadline webhook's deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookStatus {
    /// Notifications not delivered yet.
    pub pending: u64,
    /// Of those, the ones whose last attempt failed.
    pub failing: u64,
    /// Age of the oldest undelivered one, in seconds (0 when none).
    pub oldest_seconds: f64,
    /// Notifications delivered.
    pub delivered: u64,
    /// The error of the most recent failed attempt still pending.
    pub last_error: Option<String>,
}

/// The legal clock's last run, as it recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRun {
    /// When it last ran (the engine clock's reading).
    pub last_run_at: DateTime<Utc>,
    /// When it meant to wake next (`None`: nothing was running).
    pub next_wake_at: Option<DateTime<Utc>>,
    /// The Kyiv date of [`Self::records_on_day`].
    pub day: String,
    /// Records (missed deadlines, expiries, hand-overs) written on that day.
    pub records_on_day: u64,
    /// The last run's error.
    pub last_error: Option<String>,
}

/// One applied migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its number.
    pub version: i64,
    /// Its description (the file name's words).
    pub description: String,
}

/// The store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The database's size in bytes.
    pub size_bytes: Option<u64>,
    /// The write-ahead log's size in bytes (`None` when it cannot be read: PostgreSQL without
    /// the `pg_monitor` role).
    pub wal_bytes: Option<u64>,
    /// The settings that make a commit durable, as `(name, value)`.
    pub durability: Vec<(String, String)>,
    /// Whether they do.
    pub durable: bool,
    /// The migrations applied, oldest first.
    pub migrations: Vec<Migration>,
    /// The migrations this build knows.
    pub migrations_known: u64,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn instant(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

fn secs_between(now: DateTime<Utc>, then_us: Option<i64>) -> f64 {
    then_us.map_or(0.0, |t| {
        #[allow(clippy::cast_precision_loss)]
        let s = (micros(now) - t) as f64 / 1e6;
        s.max(0.0)
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn names(models: Models) -> Vec<&'static str> {
    [
        (models.work_queue, MODELS[0]),
        (models.deadlines, MODELS[1]),
        (models.statistics, MODELS[2]),
        (models.registers, MODELS[3]),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// Records that a rebuild (`rebuild: true`) or catch-up of `models` starts, towards `target`
/// events: from now on every instance sees these read models as not complete.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn run_started(
    db: &Db,
    models: Models,
    rebuild: bool,
    target: u64,
    now: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let mode = if rebuild { "rebuild" } else { "catch_up" };
    let mut tx = db.begin().await?;
    for model in names(models) {
        run!(
            tx.conn(),
            "INSERT INTO projection_runs (model, mode, state, started_at, updated_at, finished_at, \
             applied, target, position, position_at, last_error) \
             VALUES ($1, $2, 'running', $3, $3, NULL, 0, $4, 0, NULL, NULL) \
             ON CONFLICT (model) DO UPDATE SET mode = excluded.mode, state = 'running', \
             started_at = excluded.started_at, updated_at = excluded.updated_at, finished_at = NULL, \
             applied = 0, target = excluded.target, position = 0, position_at = NULL, last_error = NULL",
            model,
            mode,
            micros(now),
            i64::try_from(target).unwrap_or(i64::MAX)
        )?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records a run's progress: `applied` events so far, the greatest global position applied and
/// when that event was recorded.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn run_progress(
    db: &Db,
    models: Models,
    applied: u64,
    position: i64,
    position_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let mut tx = db.begin().await?;
    for model in names(models) {
        run!(
            tx.conn(),
            "UPDATE projection_runs SET applied = $1, position = $2, position_at = $3, \
             updated_at = $4, target = CASE WHEN target < $1 THEN $1 ELSE target END \
             WHERE model = $5",
            i64::try_from(applied).unwrap_or(i64::MAX),
            position,
            position_at.map(micros),
            micros(now),
            model
        )?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records that the run ended: `error` `None` when it finished (the read models are then kept in
/// the transaction again), or the error that stopped it (they stay incomplete until a run
/// finishes).
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn run_ended(
    db: &Db,
    models: Models,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let mut tx = db.begin().await?;
    for model in names(models) {
        run!(
            tx.conn(),
            "UPDATE projection_runs SET state = $1, finished_at = $2, updated_at = $2, last_error = $3 \
             WHERE model = $4",
            if error.is_some() { "failed" } else { "done" },
            micros(now),
            error.map(|e| e.chars().take(500).collect::<String>()),
            model
        )?;
    }
    tx.commit().await?;
    Ok(())
}

type RunRow = (
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    i64,
    Option<String>,
);

/// The newest event of the log: its global position (0 for an empty log).
async fn head(db: &Db) -> Result<i64, ProjectionError> {
    let mut tx = db.read().await?;
    let row: Option<(Option<i64>,)> = fetch_optional!(
        tx.conn(),
        (Option<i64>,),
        "SELECT MAX(global_position) FROM case_events"
    )?;
    Ok(row.and_then(|r| r.0).unwrap_or(0))
}

/// Events after `position`, and when the first of them was recorded (µs).
async fn behind(db: &Db, position: i64) -> Result<(u64, Option<i64>), ProjectionError> {
    let mut tx = db.read().await?;
    let n: Option<(i64,)> = fetch_optional!(
        tx.conn(),
        (i64,),
        "SELECT COUNT(*) FROM case_events WHERE global_position > $1",
        position
    )?;
    let first: Option<(i64,)> = match db {
        Db::Sqlite(_) => fetch_optional!(
            tx.conn(),
            (i64,),
            "SELECT occurred_on FROM case_events WHERE global_position > $1 \
             ORDER BY global_position LIMIT 1",
            position
        )?,
        Db::Postgres(_) => fetch_optional!(
            tx.conn(),
            (i64,),
            "SELECT (EXTRACT(EPOCH FROM occurred_on) * 1000000)::BIGINT FROM case_events \
             WHERE global_position > $1 ORDER BY global_position LIMIT 1",
            position
        )?,
    };
    Ok((n.map_or(0, |r| count(r.0)), first.map(|r| r.0)))
}

/// Every read model's state. The lag in seconds is counted on the wall clock from the
/// persistence instant of the oldest event not applied (`case_events.occurred_on`, which the
/// store stamps on the wall clock, not the engine's).
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn models(db: &Db) -> Result<Vec<ModelStatus>, ProjectionError> {
    let now = Utc::now();
    let rows: Vec<RunRow> = {
        let mut tx = db.read().await?;
        fetch_all!(
            tx.conn(),
            RunRow,
            "SELECT model, mode, state, started_at, updated_at, finished_at, applied, target, \
             position, last_error FROM projection_runs"
        )?
    };
    let head = head(db).await?;
    let mut out = Vec::with_capacity(MODELS.len());
    for model in MODELS {
        let row = rows.iter().find(|r| r.0 == model);
        let mut status = ModelStatus {
            model,
            kept: Kept::InTransaction,
            position: head,
            lag_events: 0,
            lag_seconds: 0.0,
            applied: 0,
            target: 0,
            started_at: None,
            updated_at: None,
            finished_at: None,
            last_error: None,
            stalled: false,
        };
        if let Some((_, mode, state, started, updated, finished, applied, target, position, err)) =
            row
        {
            status.started_at = instant(*started);
            status.updated_at = instant(*updated);
            status.finished_at = finished.and_then(instant);
            status.applied = count(*applied);
            status.target = count(*target);
            status.last_error.clone_from(err);
            if state != "done" {
                status.kept = if mode == "rebuild" {
                    Kept::Rebuilding
                } else {
                    Kept::CatchingUp
                };
                status.position = *position;
                let (lag, first) = behind(db, *position).await?;
                status.lag_events = lag;
                status.lag_seconds = secs_between(now, first);
                // Runs write their progress on the wall clock (they have no engine clock).
                status.stalled =
                    state == "running" && micros(now) - updated > STALLED_AFTER_SECS * 1_000_000;
            }
        }
        out.push(status);
    }
    Ok(out)
}

/// The outbox at `now`.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn outbox(db: &Db, now: DateTime<Utc>) -> Result<OutboxStatus, ProjectionError> {
    let mut tx = db.read().await?;
    let row: Option<(i64, Option<i64>)> = fetch_optional!(
        tx.conn(),
        (i64, Option<i64>),
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE published_at IS NULL"
    )?;
    let (pending, oldest) = row.unwrap_or((0, None));
    Ok(OutboxStatus {
        pending: count(pending),
        oldest_seconds: secs_between(now, oldest),
    })
}

/// The webhook deliveries at `now`.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn webhook(db: &Db, now: DateTime<Utc>) -> Result<WebhookStatus, ProjectionError> {
    let mut tx = db.read().await?;
    let row: Option<(i64, i64, Option<i64>)> = fetch_optional!(
        tx.conn(),
        (i64, i64, Option<i64>),
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), \
         MIN(created_at) FROM webhook_outbox WHERE delivered_at IS NULL"
    )?;
    let delivered: Option<(i64,)> = fetch_optional!(
        tx.conn(),
        (i64,),
        "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NOT NULL"
    )?;
    let last_error: Option<(Option<String>,)> = fetch_optional!(
        tx.conn(),
        (Option<String>,),
        "SELECT last_error FROM webhook_outbox WHERE delivered_at IS NULL AND last_error IS NOT NULL \
         ORDER BY next_attempt_at DESC LIMIT 1"
    )?;
    let (pending, failing, oldest) = row.unwrap_or((0, 0, None));
    Ok(WebhookStatus {
        pending: count(pending),
        failing: count(failing),
        oldest_seconds: secs_between(now, oldest),
        delivered: delivered.map_or(0, |r| count(r.0)),
        last_error: last_error.and_then(|r| r.0),
    })
}

/// Records a run of the legal clock: `recorded` records written, the instant it means to wake
/// next, the error that stopped it.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn clock_ran(
    db: &Db,
    now: DateTime<Utc>,
    today: NaiveDate,
    recorded: u64,
    next_wake: Option<DateTime<Utc>>,
    error: Option<&str>,
) -> Result<(), ProjectionError> {
    let mut tx = db.begin().await?;
    run!(
        tx.conn(),
        "INSERT INTO clock_runs (id, last_run_at, next_wake_at, day, records_today, last_error) \
         VALUES (1, $1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET last_run_at = excluded.last_run_at, \
         next_wake_at = excluded.next_wake_at, last_error = excluded.last_error, \
         records_today = CASE WHEN clock_runs.day = excluded.day \
             THEN clock_runs.records_today + excluded.records_today ELSE excluded.records_today END, \
         day = excluded.day",
        micros(now),
        next_wake.map(micros),
        today.to_string(),
        i64::try_from(recorded).unwrap_or(i64::MAX),
        error.map(|e| e.chars().take(500).collect::<String>())
    )?;
    tx.commit().await?;
    Ok(())
}

/// The legal clock's last run, if it ever ran on this store.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn clock(db: &Db) -> Result<Option<ClockRun>, ProjectionError> {
    let mut tx = db.read().await?;
    type ClockRow = (i64, Option<i64>, String, i64, Option<String>);
    let row: Option<ClockRow> = fetch_optional!(
        tx.conn(),
        ClockRow,
        "SELECT last_run_at, next_wake_at, day, records_today, last_error FROM clock_runs WHERE id = 1"
    )?;
    Ok(row.and_then(|(last, next, day, n, err)| {
        Some(ClockRun {
            last_run_at: instant(last)?,
            next_wake_at: next.and_then(instant),
            day,
            records_on_day: count(n),
            last_error: err,
        })
    }))
}

/// The store: size, write-ahead log, durability settings and migrations.
///
/// # Errors
/// [`ProjectionError::Db`].
pub async fn store(db: &Db) -> Result<StoreStatus, ProjectionError> {
    let mut tx = db.read().await?;
    let migrations: Vec<(i64, String)> = fetch_all!(
        tx.conn(),
        (i64, String),
        "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version"
    )?;
    let migrations = migrations
        .into_iter()
        .map(|(version, description)| Migration {
            version,
            description,
        })
        .collect();
    drop(tx);
    match db {
        Db::Sqlite(p) => {
            let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(p).await?;
            let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(p).await?;
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(p)
                .await?;
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(p)
                .await?;
            let files: Vec<(i64, String, String)> =
                sqlx::query_as("PRAGMA database_list").fetch_all(p).await?;
            let wal_bytes = files
                .iter()
                .find(|f| f.1 == "main" && !f.2.is_empty())
                .and_then(|f| std::fs::metadata(format!("{}-wal", f.2)).ok())
                .map(|m| m.len());
            let synchronous_name = match synchronous {
                0 => "off",
                1 => "normal",
                2 => "full",
                3 => "extra",
                _ => "unknown",
            };
            Ok(StoreStatus {
                backend: "sqlite",
                size_bytes: Some(count(pages.saturating_mul(page_size))),
                wal_bytes: Some(wal_bytes.unwrap_or(0)),
                durable: journal.eq_ignore_ascii_case("wal") && synchronous >= 2,
                durability: vec![
                    ("journal_mode".into(), journal.to_lowercase()),
                    ("synchronous".into(), synchronous_name.into()),
                ],
                migrations,
                migrations_known: ptl_engine::store::SQLITE_MIGRATOR.iter().count() as u64,
            })
        }
        Db::Postgres(p) => {
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(p)
                .await?;
            // Needs superuser or pg_monitor: left unknown otherwise.
            let wal: Option<i64> =
                sqlx::query_scalar("SELECT COALESCE(SUM(size), 0)::BIGINT FROM pg_ls_waldir()")
                    .fetch_one(p)
                    .await
                    .ok();
            let mut durability = Vec::new();
            for name in ["synchronous_commit", "fsync", "full_page_writes"] {
                let v: String = sqlx::query_scalar(&format!("SHOW {name}"))
                    .fetch_one(p)
                    .await?;
                durability.push((name.to_string(), v));
            }
            let durable = durability.iter().all(|(_, v)| v != "off");
            Ok(StoreStatus {
                backend: "postgres",
                size_bytes: Some(count(size)),
                wal_bytes: wal.map(count),
                durability,
                durable,
                migrations,
                migrations_known: ptl_engine::store::POSTGRES_MIGRATOR.iter().count() as u64,
            })
        }
    }
}
