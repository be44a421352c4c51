//! The missed-deadline webhook: delivers the rows of `webhook_outbox` (written by the projector in
//! the same transaction as each `deadline_missed` event) to a configured URL.
//!
//! Each row is POSTed as a JSON body without personal data, signed with
//! `X-PTL-Signature: sha256=<hex HMAC-SHA-256(secret, body)>` and identified by
//! `X-PTL-Delivery: <case id>:<sequence>` (receivers dedupe by it: delivery is at-least-once).
//! A 2xx answer marks the row delivered; anything else (refused connection, timeout, other
//! status) counts an attempt and schedules the next one with exponential backoff. Attempts and the
//! next attempt's time live in the row, so a restart loses nothing. Several senders on one
//! database claim a row before sending it (an optimistic update of its `next_attempt_at`), so a
//! row is normally sent by one of them only.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use ptl_engine::db::Db;
use ptl_engine::{fetch_all, run};
use serde::Serialize;
use sha2::Sha256;

use crate::ProjectionError;

/// Tuning of a [`WebhookSender`].
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Rows taken per pass.
    pub batch: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub base_backoff: Duration,
    /// Longest delay between two attempts.
    pub max_backoff: Duration,
    /// Pause of [`WebhookSender::run`] between passes that found nothing to send.
    pub poll: Duration,
    /// Timeout of one HTTP request; also how long a claimed row is reserved for its sender.
    pub request_timeout: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            batch: 50,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            poll: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Rows delivered (2xx).
    pub delivered: u64,
    /// Rows whose attempt failed (rescheduled).
    pub failed: u64,
}

/// The JSON body of one notification (no personal data).
#[derive(Debug, Clone, Serialize)]
pub struct MissedDeadlineNotice {
    /// Always `deadline_missed`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The id of the `deadline_missed` event (when the integrity log has it).
    pub event_id: Option<String>,
    /// The case.
    pub case_id: String,
    /// The event's sequence in the case.
    pub sequence: i64,
    /// Deadline name.
    pub deadline: String,
    /// When it fell due.
    pub due_on: String,
    /// Business date the miss was recorded.
    pub missed_on: String,
    /// The case's office then.
    pub office: String,
    /// Escalation level (1: the supervisor of the office).
    pub escalation_level: i64,
}

/// Why building a sender failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The HTTP client could not be built.
    #[error("webhook client: {0}")]
    Client(String),
    /// The URL is not an `http://` or `https://` URL.
    #[error("webhook URL must start with http:// or https://")]
    Url,
}

type Row = (
    String,
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
);

/// Delivers the webhook outbox.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    db: Db,
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
    opts: WebhookOptions,
}

/// `sha256=<hex HMAC-SHA-256(secret, body)>`, the value of `X-PTL-Signature`.
#[must_use]
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error branch cannot happen.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl WebhookSender {
    /// A sender with default options.
    ///
    /// # Errors
    /// [`WebhookError`] for a URL that is not http(s) or a client that cannot be built.
    pub fn new(db: Db, url: String, secret: Vec<u8>) -> Result<Self, WebhookError> {
        Self::with_options(db, url, secret, WebhookOptions::default())
    }

    /// A sender with the given options.
    ///
    /// # Errors
    /// [`WebhookError`] for a URL that is not http(s) or a client that cannot be built.
    pub fn with_options(
        db: Db,
        url: String,
        secret: Vec<u8>,
        opts: WebhookOptions,
    ) -> Result<Self, WebhookError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WebhookError::Url);
        }
        let client = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Self {
            db,
            url,
            secret,
            client,
            opts,
        })
    }

    /// The delay after `attempts` failed attempts.
    fn backoff(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.opts
            .base_backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.opts.max_backoff)
    }

    /// One pass: every row due now is claimed and sent once.
    ///
    /// # Errors
    /// [`ProjectionError::Db`] when the outbox cannot be read or updated (HTTP failures are not
    /// errors: they reschedule the row).
    pub async fn run_once(&self) -> Result<DeliveryReport, ProjectionError> {
        let now = Utc::now().timestamp_micros();
        let mut tx = self.db.read().await?;
        let rows: Vec<Row> = fetch_all!(
            tx.conn(),
            Row,
            "SELECT w.case_id, w.sequence, w.deadline, w.due_on, w.missed_on, w.office, w.level, \
             w.attempts, w.next_attempt_at, i.event_id FROM webhook_outbox w \
             LEFT JOIN event_integrity i ON i.case_id = w.case_id AND i.sequence = w.sequence \
             WHERE w.delivered_at IS NULL AND w.next_attempt_at <= $1 \
             ORDER BY w.next_attempt_at, w.case_id, w.sequence LIMIT $2",
            now,
            i64::from(self.opts.batch.max(1))
        )?;
        drop(tx);
        let mut report = DeliveryReport::default();
        for (case_id, sequence, deadline, due_on, missed_on, office, level, attempts, next, ev) in
            rows
        {
            // Claim: only the sender whose update matches the read `next_attempt_at` sends.
            let lease = Utc::now().timestamp_micros() + micros(self.opts.request_timeout) * 2;
            let mut tx = self.db.begin().await?;
            let claimed = run!(
                tx.conn(),
                "UPDATE webhook_outbox SET next_attempt_at = $1 \
                 WHERE case_id = $2 AND sequence = $3 AND next_attempt_at = $4 AND delivered_at IS NULL",
                lease,
                case_id.clone(),
                sequence,
                next
            )?;
            tx.commit().await?;
            if claimed != 1 {
                continue;
            }
            let notice = MissedDeadlineNotice {
                kind: "deadline_missed",
                event_id: ev,
                case_id: case_id.clone(),
                sequence,
                deadline,
                due_on,
                missed_on,
                office,
                escalation_level: level,
            };
            let outcome = self.send(&notice).await;
            let attempts = attempts.saturating_add(1);
            let done = Utc::now().timestamp_micros();
            let mut tx = self.db.begin().await?;
            match outcome {
                Ok(()) => {
                    run!(
                        tx.conn(),
                        "UPDATE webhook_outbox SET delivered_at = $1, attempts = $2, last_error = NULL \
                         WHERE case_id = $3 AND sequence = $4",
                        done,
                        attempts,
                        case_id.clone(),
                        sequence
                    )?;
                    report.delivered += 1;
                }
                Err(e) => {
                    let retry_at = done + micros(self.backoff(attempts));
                    tracing::warn!(
                        target: "ptl::webhook",
                        sequence,
                        attempts,
                        error = %e,
                        "webhook delivery failed; retrying later"
                    );
                    run!(
                        tx.conn(),
                        "UPDATE webhook_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 \
                         WHERE case_id = $4 AND sequence = $5",
                        attempts,
                        retry_at,
                        e.chars().take(500).collect::<String>(),
                        case_id.clone(),
                        sequence
                    )?;
                    report.failed += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(report)
    }

    async fn send(&self, notice: &MissedDeadlineNotice) -> Result<(), String> {
        let body = serde_json::to_vec(notice).map_err(|e| e.to_string())?;
        let sig = signature(&self.secret, &body);
        let resp = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-PTL-Signature", sig)
            .header(
                "X-PTL-Delivery",
                format!("{}:{}", notice.case_id, notice.sequence),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", resp.status().as_u16()))
        }
    }

    /// Runs passes until `shutdown` completes: right after a pass that sent something, otherwise
    /// after [`WebhookOptions::poll`]. A database failure is logged and retried after the pause.
    pub async fn run<F>(&self, shutdown: F)
    where
        F: Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        loop {
            let busy = match self.run_once().await {
                Ok(r) => r.delivered > 0,
                Err(e) => {
                    tracing::error!(target: "ptl::webhook", error = %e, "webhook outbox pass failed");
                    false
                }
            };
            let pause = if busy { Duration::ZERO } else { self.opts.poll };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
