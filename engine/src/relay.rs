//! The outbox relay: publishes committed events from the `outbox` table to RabbitMQ.
//!
//! With `EngineOptions { outbox: true, .. }` the engine writes one outbox row per event in the
//! same transaction as the event, so a committed event always has a row, and a rolled-back one
//! never does. [`Relay`] reads the rows not yet published, in position order, publishes each to a
//! durable topic exchange (default [`DEFAULT_EXCHANGE`]) with publisher confirms on, waits for
//! the broker's acknowledgements, and only then marks the rows published.
//!
//! Each message:
//! - routing key: the event type (`application_registered`, `status_granted`, ...), so a
//!   consumer binds with `#`, `status_*` or an exact type;
//! - message id: the event id (a UUID); `type`: the event type; `app_id`: `ptl`;
//! - content type `application/json`, delivery mode 2 (persistent), timestamp: the commit time
//!   in seconds;
//! - headers `case_id` (text), `sequence` (the event's version in its case, an integer) and
//!   `event_version` (the version of the event type's data shape the body carries, an integer:
//!   the body's `version`, 1 when absent; see `ptl_domain::event`);
//! - body: the event JSON (events carry no personal data: names, free text and the institutions
//!   caseworkers type stay in the vault, sealed per case).
//!
//! # Delivery guarantee: at least once
//! The broker's confirm comes before the `UPDATE ... SET published_at`. A crash, a lost
//! connection or a lost confirm between the two leaves the rows unpublished, and the next run
//! publishes the same events again, with the same message ids. Nothing committed is lost, but a
//! consumer may see an event more than once: **consumers must deduplicate by message id** (the
//! event id), or by `(case_id, sequence)`.
//!
//! # Order
//! Within one case, events arrive in sequence order (the engine commits a case's events one
//! command at a time, so a later event is never visible before an earlier one); a redelivery
//! after a crash may repeat earlier events. Across cases there is no global order.
//!
//! # Running it
//! [`Relay::run`] loops until its shutdown future completes: it connects with exponential backoff
//! (0.5 s to 30 s), declares the exchange, publishes in batches, and when there is nothing to do
//! waits for a poke on [`Relay::notifier`] (`notify_one` after a commit) or the poll interval
//! (1 s by default), whichever comes first. Rows published longer ago than
//! [`Relay::with_purge_after`] are deleted (off by default). Rows are marked by position, one by
//! one: on PostgreSQL positions are taken at insert time, not commit time, so a range update
//! could mark a row committed late that was never read.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Notify;

use crate::db::Db;
use crate::{fetch_all, run};

/// The exchange events go to unless [`Relay::with_exchange`] names another.
pub const DEFAULT_EXCHANGE: &str = "ptl.events";

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Why a relay pass failed. Nothing is marked published for events whose confirm was not
/// received: they are published again on the next pass.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database could not be read or written.
    #[error("outbox database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The broker could not be reached, or refused an operation.
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker did not answer in time.
    #[error("AMQP timeout: {0}")]
    Timeout(&'static str),
    /// The broker refused (nacked) an event; it stays pending.
    #[error("broker refused event {event_id}")]
    Nacked {
        /// The refused event.
        event_id: String,
    },
    /// The test hook of [`Relay::with_crash_after_publish`] stopped the relay after publishing
    /// and before marking.
    #[error("simulated crash after publishing {0} messages")]
    SimulatedCrash(usize),
}

impl RelayError {
    /// The connection is unusable and must be opened again.
    fn is_connection(&self) -> bool {
        matches!(
            self,
            RelayError::Amqp(_) | RelayError::Timeout(_) | RelayError::Nacked { .. }
        )
    }
}

/// One outbox row.
type Row = (i64, String, String, i64, String, String, i64);

/// An open connection with a confirming channel and the exchange declared.
struct Session {
    conn: Connection,
    channel: Channel,
}

impl Session {
    async fn close(self) {
        let _ = self.channel.close(200, "relay stopping").await;
        let _ = self.conn.close(200, "relay stopping").await;
    }
}

/// What [`Relay::run`] last knew of the broker, for the status page, `/readyz`'s warnings and
/// `/metrics` of the instance that runs it.
#[derive(Debug, Default)]
pub struct RelayHealth {
    connected: std::sync::atomic::AtomicBool,
    last_error: std::sync::Mutex<Option<String>>,
}

impl RelayHealth {
    /// The relay holds a working connection (false before the first connection and after a
    /// failed one).
    #[must_use]
    pub fn connected(&self) -> bool {
        self.connected.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The last error of the relay (the broker's address without credentials), until a pass
    /// succeeds.
    #[must_use]
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, connected: Option<bool>, error: Option<String>) {
        if let Some(c) = connected {
            self.connected
                .store(c, std::sync::atomic::Ordering::Relaxed);
        }
        *self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = error;
    }
}

/// Publishes the outbox to RabbitMQ (see the module docs).
pub struct Relay {
    health: Arc<RelayHealth>,
    db: Db,
    url: String,
    exchange: String,
    batch_size: usize,
    poll_interval: Duration,
    purge_after: Option<Duration>,
    notify: Arc<Notify>,
    crash_after_publish: Option<usize>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("url", &redact(&self.url))
            .field("exchange", &self.exchange)
            .field("batch_size", &self.batch_size)
            .field("poll_interval", &self.poll_interval)
            .field("purge_after", &self.purge_after)
            .finish_non_exhaustive()
    }
}

/// The URL without its credentials, for logs.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

impl Relay {
    /// A relay over a migrated database (`db`) to the broker at `url`
    /// (`amqp://user:pass@host:5672/%2f`), publishing to [`DEFAULT_EXCHANGE`] in batches of 100,
    /// polling every second when not notified.
    #[must_use]
    pub fn new(db: Db, url: impl Into<String>) -> Self {
        Self {
            health: Arc::new(RelayHealth::default()),
            db,
            url: url.into(),
            exchange: DEFAULT_EXCHANGE.to_owned(),
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            purge_after: None,
            notify: Arc::new(Notify::new()),
            crash_after_publish: None,
        }
    }

    /// Publishes to another exchange (declared durable, type topic).
    #[must_use]
    pub fn with_exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = exchange.into();
        self
    }

    /// Rows read and published per pass (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The longest idle wait before looking at the outbox again without a notification.
    #[must_use]
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Deletes rows published longer ago than `age` (checked at most hourly while idle).
    #[must_use]
    pub fn with_purge_after(mut self, age: Duration) -> Self {
        self.purge_after = Some(age);
        self
    }

    /// Test hook simulating a crash between publish and mark: once `n` messages have been
    /// published and confirmed, the relay stops ([`Relay::run`] returns, [`Relay::run_once`]
    /// fails with [`RelayError::SimulatedCrash`]) without marking any of them published.
    #[doc(hidden)]
    #[must_use]
    pub fn with_crash_after_publish(mut self, n: usize) -> Self {
        self.crash_after_publish = Some(n);
        self
    }

    /// The exchange published to.
    #[must_use]
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// What the running relay knows of the broker (shared: read it while [`Relay::run`] runs).
    #[must_use]
    pub fn health(&self) -> Arc<RelayHealth> {
        self.health.clone()
    }

    /// Wakes the relay when idle: call `notify_one()` after a commit (a notification sent while
    /// the relay is busy is kept, so none is lost).
    #[must_use]
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Publishes everything pending once, over a connection of its own, and returns how many
    /// events were published and marked.
    ///
    /// # Errors
    /// The database or the broker failed; the events not confirmed stay pending.
    pub async fn run_once(&self) -> Result<usize, RelayError> {
        let session = self.connect().await?;
        let mut budget = self.crash_after_publish;
        let mut total = 0;
        let result = loop {
            match self.publish_batch(&session.channel, &mut budget).await {
                Ok(0) => break Ok(total),
                Ok(n) => total += n,
                Err(e) => break Err(e),
            }
        };
        session.close().await;
        result
    }

    /// Runs until `shutdown` completes (see the module docs). Errors are logged and retried with
    /// backoff; they never end the loop.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut session: Option<Session> = None;
        let mut backoff = BACKOFF_MIN;
        let mut budget = self.crash_after_publish;
        let mut last_purge: Option<tokio::time::Instant> = None;
        tracing::info!(url = %redact(&self.url), exchange = %self.exchange, "outbox relay starting");
        loop {
            let step = self.step(&mut session, &mut budget);
            let outcome = tokio::select! {
                biased;
                () = &mut shutdown => break,
                r = step => r,
            };
            match outcome {
                Ok(n) => {
                    self.health.set(Some(true), None);
                    backoff = BACKOFF_MIN;
                    if n > 0 {
                        tracing::debug!(published = n, "outbox relay published");
                        if n >= self.batch_size {
                            continue;
                        }
                    }
                    if self.purge_after.is_some()
                        && last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY)
                    {
                        last_purge = Some(tokio::time::Instant::now());
                        if let Err(e) = self.purge().await {
                            tracing::warn!(error = %e, "outbox purge failed");
                        }
                    }
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = self.notify.notified() => {}
                        () = tokio::time::sleep(self.poll_interval) => {}
                    }
                }
                Err(RelayError::SimulatedCrash(n)) => {
                    tracing::warn!(published = n, "outbox relay: simulated crash");
                    // A crash closes nothing gracefully.
                    drop(session.take());
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "outbox relay error");
                    self.health.set(
                        e.is_connection().then_some(false),
                        Some(format!("{} ({})", e, redact(&self.url))),
                    );
                    if e.is_connection() {
                        if let Some(s) = session.take() {
                            s.close().await;
                        }
                    }
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        if let Some(s) = session.take() {
            s.close().await;
        }
        self.health.set(Some(false), None);
        tracing::info!("outbox relay stopped");
    }

    /// Connects if needed, then publishes one batch.
    async fn step(
        &self,
        session: &mut Option<Session>,
        budget: &mut Option<usize>,
    ) -> Result<usize, RelayError> {
        let s = match session.take() {
            Some(s) if s.channel.status().connected() => s,
            Some(stale) => {
                stale.close().await;
                self.connect().await?
            }
            None => self.connect().await?,
        };
        let channel = s.channel.clone();
        *session = Some(s);
        self.publish_batch(&channel, budget).await
    }

    async fn connect(&self) -> Result<Session, RelayError> {
        let props = ConnectionProperties::default().with_connection_name("ptl-relay".into());
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&self.url, props))
            .await
            .map_err(|_| RelayError::Timeout("connect"))??;
        let channel = conn.create_channel().await?;
        channel
            .exchange_declare(
                &self.exchange,
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Session { conn, channel })
    }

    /// Publishes up to one batch of pending rows, waits for their confirms, marks the confirmed
    /// ones and returns how many were marked.
    async fn publish_batch(
        &self,
        channel: &Channel,
        budget: &mut Option<usize>,
    ) -> Result<usize, RelayError> {
        let limit = i64::try_from(self.batch_size).unwrap_or(i64::MAX);
        let rows: Vec<Row> = {
            let mut tx = self.db.read().await?;
            let rows = fetch_all!(
                tx.conn(),
                Row,
                "SELECT position, event_id, case_id, sequence, event_type, payload, created_at FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT $1",
                limit
            )?;
            tx.commit().await?;
            rows
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let rows = match *budget {
            Some(left) if left < rows.len() => &rows[..left],
            _ => &rows[..],
        };
        // Pipelined: send the whole batch, then collect the confirms in order.
        let mut confirms = Vec::with_capacity(rows.len());
        for row in rows {
            let confirm = channel
                .basic_publish(
                    &self.exchange,
                    &row.4,
                    BasicPublishOptions::default(),
                    row.5.as_bytes(),
                    properties(row),
                )
                .await?;
            confirms.push(confirm);
        }
        let mut confirmed = Vec::with_capacity(rows.len());
        let mut failure = None;
        for (row, confirm) in rows.iter().zip(confirms) {
            match tokio::time::timeout(CONFIRM_TIMEOUT, confirm).await {
                Ok(Ok(c)) if c.is_ack() => confirmed.push(row.0),
                Ok(Ok(_)) => {
                    failure = Some(RelayError::Nacked {
                        event_id: row.1.clone(),
                    });
                    break;
                }
                Ok(Err(e)) => {
                    failure = Some(e.into());
                    break;
                }
                Err(_) => {
                    failure = Some(RelayError::Timeout("publisher confirm"));
                    break;
                }
            }
        }
        if let Some(left) = budget.as_mut() {
            *left -= rows.len().min(*left);
            if *left == 0 {
                return Err(RelayError::SimulatedCrash(confirmed.len()));
            }
        }
        // Mark the confirmed prefix: later rows of the batch are published again (at least once,
        // and a case's events never overtake an earlier one left pending).
        if !confirmed.is_empty() {
            let now = Utc::now().timestamp_micros();
            let mut tx = self.db.begin().await?;
            for position in &confirmed {
                run!(
                    tx.conn(),
                    "UPDATE outbox SET published_at = $1 WHERE position = $2 AND published_at IS NULL",
                    now,
                    *position
                )?;
            }
            tx.commit().await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(confirmed.len()),
        }
    }

    /// Deletes rows published longer ago than the purge age; returns how many.
    async fn purge(&self) -> Result<u64, RelayError> {
        let Some(age) = self.purge_after else {
            return Ok(0);
        };
        let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
        let cutoff = Utc::now()
            .checked_sub_signed(age)
            .map_or(i64::MIN, |t| t.timestamp_micros());
        let mut tx = self.db.begin().await?;
        let n = run!(
            tx.conn(),
            "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1",
            cutoff
        )?;
        tx.commit().await?;
        Ok(n)
    }
}

/// The version of its type's data shape that a stored event's JSON carries (`version` beside its
/// body; 1 when absent, as events of a type that never changed are written).
fn event_version(payload: &str) -> i64 {
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(default)]
        version: Option<i64>,
    }
    serde_json::from_str::<Version>(payload)
        .ok()
        .and_then(|v| v.version)
        .unwrap_or(1)
}

/// The AMQP properties of one row (see the module docs).
fn properties(row: &Row) -> BasicProperties {
    let (_, event_id, case_id, sequence, event_type, _, created_at) = row;
    let mut headers = FieldTable::default();
    headers.insert(
        "case_id".into(),
        AMQPValue::LongString(LongString::from(case_id.as_str())),
    );
    headers.insert("sequence".into(), AMQPValue::LongLongInt(*sequence));
    headers.insert(
        "event_version".into(),
        AMQPValue::LongLongInt(event_version(&row.5)),
    );
    BasicProperties::default()
        .with_message_id(ShortString::from(event_id.as_str()))
        .with_type(ShortString::from(event_type.as_str()))
        .with_app_id("ptl".into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_timestamp(u64::try_from(created_at.div_euclid(1_000_000)).unwrap_or(0))
        .with_headers(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(props: &BasicProperties, name: &str) -> Option<AMQPValue> {
        props
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name).cloned())
    }

    #[test]
    fn a_message_says_which_version_of_its_event_type_it_carries() {
        let row = |payload: &str| -> Row {
            (
                1,
                "e-1".into(),
                "c-1".into(),
                4,
                "placed_in_shelter".into(),
                payload.into(),
                0,
            )
        };
        let v2 = properties(&row(r#"{"version":2,"body":{"type":"placed_in_shelter"}}"#));
        assert_eq!(
            header(&v2, "event_version"),
            Some(AMQPValue::LongLongInt(2))
        );
        let v1 = properties(&row(r#"{"body":{"type":"consent_given"}}"#));
        assert_eq!(
            header(&v1, "event_version"),
            Some(AMQPValue::LongLongInt(1))
        );
    }
}
