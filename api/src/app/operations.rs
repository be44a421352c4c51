//! What an operator asks of a running instance: whether it can serve (`/readyz`), and the state
//! of everything that keeps it correct (`GET /api/v1/status`, the status page, `ptl status`,
//! the gauges of `/metrics`).
//!
//! One rule decides readiness: this instance cannot serve correctly when the store is
//! unreachable, when a read model it answers from is being rebuilt or is still catching up (or
//! such a run stopped before the end), or when the legal clock has not run although a record fell
//! due more than [`CLOCK_GRACE_SECS`] ago. An outbox backlog, a broker that is not connected or
//! failing webhook deliveries are warnings: taking every instance out of a load balancer because
//! RabbitMQ is down would stop caseworkers for nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::RuleBook;
use ptl_engine::db::Db;
use ptl_engine::relay::RelayHealth;
use ptl_projections::ops::{self, Kept};
use serde::Serialize;
use utoipa::ToSchema;

use super::App;

/// A record of the legal clock due longer ago than this, with no run since, makes the instance
/// not ready (the clock wakes at the due instant; a run takes seconds).
pub const CLOCK_GRACE_SECS: i64 = 300;

/// An outbox whose oldest unpublished event is older than this is reported as a backlog.
pub const OUTBOX_BACKLOG_SECS: f64 = 60.0;

/// Whether this instance can serve, and what an operator should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The instance can serve correctly.
    pub ready: bool,
    /// Why it cannot (empty when ready).
    pub reasons: Vec<String>,
    /// Warnings, such as a working-day calendar about to end or an outbox backlog.
    pub warnings: Vec<String>,
}

/// How one read model is kept.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReadModelStatus {
    /// `work_queue`, `deadlines`, `statistics` or `registers`.
    pub name: String,
    /// `in_transaction` (written with the events: never behind), `catching_up` (`ptl
    /// projections catch-up`) or `rebuilding` (`ptl projections rebuild`); a run that failed or
    /// stopped keeps its mode until a run finishes.
    #[schema(example = "in_transaction")]
    pub kept: String,
    /// Its position in the global log: the newest event when kept in the transaction, else the
    /// last event applied.
    pub position: i64,
    /// Events of the log not applied yet.
    pub lag_events: u64,
    /// Seconds since the oldest event not applied yet was recorded.
    pub lag_seconds: f64,
    /// Events applied by the current (or last) run.
    pub applied: u64,
    /// Events in the log when that run started.
    pub target: u64,
    /// When the current (or last) run started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last recorded its progress.
    pub updated_at: Option<DateTime<Utc>>,
    /// When it finished (`null` while it runs).
    pub finished_at: Option<DateTime<Utc>>,
    /// A run that has recorded no progress for five minutes (its process probably stopped).
    pub stalled: bool,
    /// The last run's error.
    pub last_error: Option<String>,
}

/// The outbox to RabbitMQ.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutboxReport {
    /// A broker is configured (`PTL_RABBITMQ_URL`): every committed event goes through it.
    pub enabled: bool,
    /// Events not published yet.
    pub pending: u64,
    /// Age of the oldest of them, in seconds.
    pub oldest_seconds: f64,
    /// This instance's relay holds a connection to the broker (`null`: not known here, as in
    /// `ptl status`, or no broker configured).
    pub broker_connected: Option<bool>,
    /// The relay's last error.
    pub last_error: Option<String>,
}

/// The missed-deadline webhook's deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WebhookReport {
    /// A webhook is configured.
    pub enabled: bool,
    /// Notifications not delivered yet.
    pub pending: u64,
    /// Of those, the ones whose last attempt failed.
    pub failing: u64,
    /// Age of the oldest undelivered one, in seconds.
    pub oldest_seconds: f64,
    /// Notifications delivered.
    pub delivered: u64,
    /// The most recent failed attempt's error.
    pub last_error: Option<String>,
}

/// The legal clock (the deadline scheduler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClockReport {
    /// When it last ran (`null`: never on this store).
    pub last_run_at: Option<DateTime<Utc>>,
    /// When it meant to wake next.
    pub next_wake_at: Option<DateTime<Utc>>,
    /// When the next record falls due (a missed deadline, an expiry, a hand-over), from the
    /// read models now.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Records written today (Kyiv).
    pub records_today: u64,
    /// It has not run although a record fell due more than five minutes ago.
    pub late: bool,
    /// The last run's error.
    pub last_error: Option<String>,
}

/// One applied migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MigrationReport {
    /// Its number.
    pub version: i64,
    /// Its description.
    pub description: String,
}

/// The store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StoreReport {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database's size in bytes.
    pub size_bytes: Option<u64>,
    /// The write-ahead log's size in bytes (`null` when it cannot be read).
    pub wal_bytes: Option<u64>,
    /// The settings that make a commit durable (`journal_mode`, `synchronous`;
    /// `synchronous_commit`, `fsync`, `full_page_writes`).
    pub durability: BTreeMap<String, String>,
    /// Whether they do.
    pub durable: bool,
    /// Migrations applied.
    pub migrations_applied: u64,
    /// Migrations this build knows.
    pub migrations_known: u64,
    /// The newest migration applied.
    pub latest_migration: Option<MigrationReport>,
}

/// The working-day calendars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CalendarReport {
    /// The last day covered.
    pub last_day: Option<NaiveDate>,
    /// The last year covered.
    pub last_year: Option<i32>,
}

/// Everything an operator reads (`GET /api/v1/status`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OperatorStatus {
    /// When it was read (the engine clock).
    pub checked_at: DateTime<Utc>,
    /// Whether this instance can serve (as `/readyz`).
    pub ready: bool,
    /// Why it cannot.
    pub reasons: Vec<String>,
    /// What an operator should look at.
    pub warnings: Vec<String>,
    /// Each read model.
    pub read_models: Vec<ReadModelStatus>,
    /// The outbox.
    pub outbox: OutboxReport,
    /// The webhook deliveries.
    pub webhooks: WebhookReport,
    /// The legal clock.
    pub legal_clock: ClockReport,
    /// The store.
    pub store: StoreReport,
    /// The calendars.
    pub calendars: CalendarReport,
}

/// What the collection needs besides the engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Beside<'a> {
    /// A broker is configured.
    pub outbox_enabled: bool,
    /// The relay running in this process, when one does.
    pub relay: Option<&'a RelayHealth>,
    /// A webhook is configured.
    pub webhook_enabled: bool,
}

fn why_not_ready(m: &ReadModelStatus) -> Option<String> {
    let what = match m.kept.as_str() {
        "rebuilding" => "is being rebuilt",
        "catching_up" => "is catching up",
        _ => return None,
    };
    let mut s = format!(
        "the read model {} {what} ({} of {} events applied, {} behind)",
        m.name, m.applied, m.target, m.lag_events
    );
    if let Some(e) = &m.last_error {
        s.push_str(&format!(
            "; its run failed: {e}; run `ptl projections {}` again",
            if m.kept == "rebuilding" {
                "rebuild"
            } else {
                "catch-up"
            }
        ));
    } else if m.stalled {
        s.push_str("; the run has recorded no progress for five minutes");
    }
    Some(s)
}

/// The legal clock's report, and whether it is late.
async fn clock_report(
    db: &Db,
    rules: &RuleBook,
    now: DateTime<Utc>,
) -> Result<ClockReport, String> {
    let run = ops::clock(db).await.map_err(|e| e.to_string())?;
    let next_due = ptl_projections::scheduler::next_wake_at(db, rules, now)
        .await
        .map_err(|e| e.to_string())?;
    let late = next_due.is_some_and(|due| {
        (now - due).num_seconds() > CLOCK_GRACE_SECS
            && run.as_ref().is_none_or(|r| r.last_run_at < due)
    });
    let today = ptl_domain::kyiv_date(now).to_string();
    Ok(ClockReport {
        last_run_at: run.as_ref().map(|r| r.last_run_at),
        next_wake_at: run.as_ref().and_then(|r| r.next_wake_at),
        next_due_at: next_due,
        records_today: run
            .as_ref()
            .filter(|r| r.day == today)
            .map_or(0, |r| r.records_on_day),
        late,
        last_error: run.and_then(|r| r.last_error),
    })
}

fn model_report(m: ops::ModelStatus) -> ReadModelStatus {
    ReadModelStatus {
        name: m.model.to_string(),
        kept: m.kept.as_str().to_string(),
        position: m.position,
        lag_events: m.lag_events,
        lag_seconds: m.lag_seconds,
        applied: m.applied,
        target: m.target,
        started_at: m.started_at,
        updated_at: m.updated_at,
        finished_at: m.finished_at,
        stalled: m.stalled,
        last_error: m.last_error,
    }
}

/// Reads everything an operator looks at from the store `db` at `now` (the engine clock), with
/// the rules in force (the calendars, the legal clock's next record) and the relay running here,
/// if any.
///
/// # Errors
/// A sentence: the store cannot be read.
pub async fn collect(
    db: &Db,
    rules: &RuleBook,
    now: DateTime<Utc>,
    beside: Beside<'_>,
) -> Result<OperatorStatus, String> {
    let read_models: Vec<ReadModelStatus> = ops::models(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(model_report)
        .collect();
    let outbox = ops::outbox(db, now).await.map_err(|e| e.to_string())?;
    let webhook = ops::webhook(db, now).await.map_err(|e| e.to_string())?;
    let legal_clock = clock_report(db, rules, now).await?;
    let store = ops::store(db).await.map_err(|e| e.to_string())?;
    let last_day = rules.calendar().last_day();
    let today = ptl_domain::kyiv_date(now);

    let mut reasons: Vec<String> = read_models.iter().filter_map(why_not_ready).collect();
    if legal_clock.late {
        reasons.push(format!(
            "the legal clock has not run since {}: a record fell due at {}",
            legal_clock
                .last_run_at
                .map_or_else(|| "it was installed".to_string(), |t| t.to_rfc3339()),
            legal_clock
                .next_due_at
                .map_or_else(String::new, |t| t.to_rfc3339()),
        ));
    }
    let mut warnings = Vec::new();
    if let Some(last) = last_day {
        if (last - today).num_days() < 90 {
            warnings.push(format!(
                "the working-day calendar ends on {last}: add the next year's file"
            ));
        }
    }
    let broker_connected = match (beside.outbox_enabled, beside.relay) {
        (true, Some(r)) => Some(r.connected()),
        _ => None,
    };
    if outbox.pending > 0 && outbox.oldest_seconds >= OUTBOX_BACKLOG_SECS {
        warnings.push(format!(
            "the outbox holds {} events not published to the broker, the oldest for {:.0} s",
            outbox.pending, outbox.oldest_seconds
        ));
    }
    if broker_connected == Some(false) {
        warnings.push(format!(
            "the broker is not connected ({} events waiting in the outbox){}",
            outbox.pending,
            beside
                .relay
                .and_then(RelayHealth::last_error)
                .map_or_else(String::new, |e| format!(": {e}"))
        ));
    }
    if webhook.failing > 0 {
        warnings.push(format!(
            "{} missed-deadline webhook deliveries are failing{}",
            webhook.failing,
            webhook
                .last_error
                .as_ref()
                .map_or_else(String::new, |e| format!(": {e}"))
        ));
    }
    if !store.durable {
        warnings.push("the store's commits are not durable (see its durability settings)".into());
    }
    Ok(OperatorStatus {
        checked_at: now,
        ready: reasons.is_empty(),
        reasons,
        warnings,
        read_models,
        outbox: OutboxReport {
            enabled: beside.outbox_enabled,
            pending: outbox.pending,
            oldest_seconds: outbox.oldest_seconds,
            broker_connected,
            last_error: beside.relay.and_then(RelayHealth::last_error),
        },
        webhooks: WebhookReport {
            enabled: beside.webhook_enabled,
            pending: webhook.pending,
            failing: webhook.failing,
            oldest_seconds: webhook.oldest_seconds,
            delivered: webhook.delivered,
            last_error: webhook.last_error,
        },
        legal_clock,
        store: StoreReport {
            backend: store.backend.to_string(),
            size_bytes: store.size_bytes,
            wal_bytes: store.wal_bytes,
            durability: store.durability.into_iter().collect(),
            durable: store.durable,
            migrations_applied: store.migrations.len() as u64,
            migrations_known: store.migrations_known,
            latest_migration: store.migrations.last().map(|m| MigrationReport {
                version: m.version,
                description: m.description.clone(),
            }),
        },
        calendars: CalendarReport {
            last_day,
            last_year: last_day.map(|d| chrono::Datelike::year(&d)),
        },
    })
}

impl App {
    /// What the instance's operator reads: [`collect`] with this instance's relay.
    ///
    /// # Errors
    /// A sentence: the store cannot be read.
    pub async fn status(&self) -> Result<OperatorStatus, String> {
        collect(
            self.engine.db(),
            self.engine.rules(),
            self.engine.clock().now(),
            Beside {
                outbox_enabled: self.relay_poke.is_some(),
                relay: self.relay_health.as_deref(),
                webhook_enabled: self.webhook_enabled,
            },
        )
        .await
    }

    /// Pings the store, then [`Self::status`]'s rule: not ready while a read model is being
    /// rebuilt or catching up or the legal clock is late; the rest are warnings.
    pub async fn readiness(&self) -> Readiness {
        if !self.engine.ping().await {
            return Readiness {
                ready: false,
                reasons: vec!["the store is unreachable".into()],
                warnings: Vec::new(),
            };
        }
        match self.status().await {
            Ok(s) => Readiness {
                ready: s.ready,
                reasons: s.reasons,
                warnings: s.warnings,
            },
            Err(e) => Readiness {
                ready: false,
                reasons: vec![format!("the store cannot be read: {e}")],
                warnings: Vec::new(),
            },
        }
    }
}

/// Whether a read model's `kept` code means it is complete.
#[must_use]
pub fn is_current(kept: &str) -> bool {
    kept == Kept::InTransaction.as_str()
}
