//! The security log: sign-ins and their failures, locks, sign-outs, password and account changes,
//! token revocations, exports. One hash chain over the whole log, keyed by the installation's hash
//! key like the events and the access log, so an edited, removed or reordered entry is found by
//! [`Engine::verify_security_log`]. Entries are written in the transaction of the change they
//! record ([`stage_security`]), so an account change is never left unlogged.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::db::Conn;
use crate::integrity::{self, canonical_json, canonical_timestamp};
use crate::pipeline::{Engine, EngineError};
use crate::{fetch_all, fetch_optional, run};

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEntry {
    /// What happened: `sign_in`, `sign_in_failed`, `login_locked`, `address_locked`, `sign_out`,
    /// `session_expired`, `password_changed`, `user_added`, `user_changed`, `undertaking_acknowledged`,
    /// `export`, `token_revoked`, `master_key_rotated`, `personal_data_erased`, ...
    pub kind: String,
    /// Who did it (a user's login or a token's subject), when known.
    pub actor: Option<String>,
    /// The client's address, when it came over HTTP.
    pub address: Option<String>,
    /// `ok`, `refused`, `locked`, ...
    pub outcome: String,
    /// What it concerned (the account changed, the range exported, ...). Never a password.
    pub detail: Value,
}

impl SecurityEntry {
    /// An entry with outcome `ok` and no detail.
    #[must_use]
    pub fn new(kind: &str, actor: Option<&str>, address: Option<&str>) -> Self {
        Self {
            kind: kind.to_string(),
            actor: actor.map(str::to_string),
            address: address.map(str::to_string),
            outcome: "ok".to_string(),
            detail: json!({}),
        }
    }

    /// The same entry with another outcome.
    #[must_use]
    pub fn outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.to_string();
        self
    }

    /// The same entry with a detail.
    #[must_use]
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SecurityRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// See [`SecurityEntry::kind`].
    pub kind: String,
    /// See [`SecurityEntry::actor`].
    pub actor: Option<String>,
    /// See [`SecurityEntry::address`].
    pub address: Option<String>,
    /// See [`SecurityEntry::outcome`].
    pub outcome: String,
    /// See [`SecurityEntry::detail`].
    pub detail: Value,
    /// This entry's chain hash.
    pub hash: String,
}

type Row = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
);

const COLUMNS: &str = "seq, at, kind, actor, address, outcome, detail, hash, prev_hash";

/// The advisory lock key that serialises appends on PostgreSQL (instances share the chain).
const PG_LOCK_KEY: i64 = 0x0070_746c_5f73_6563; // "ptl_sec"

fn canonical(
    seq: i64,
    at: DateTime<Utc>,
    kind: &str,
    actor: Option<&str>,
    address: Option<&str>,
    outcome: &str,
    detail: &Value,
) -> Result<String, EngineError> {
    canonical_json(&json!({
        "seq": seq,
        "at": canonical_timestamp(at),
        "kind": kind,
        "actor": actor,
        "address": address,
        "outcome": outcome,
        "detail": detail,
    }))
    .map_err(|e| EngineError::Internal(format!("security log entry: {e}")))
}

/// Appends `entry` inside the caller's write transaction (see the module docs).
///
/// # Errors
/// A statement fails.
pub async fn stage_security(
    mut conn: Conn<'_>,
    hash_key: &[u8; 32],
    entry: &SecurityEntry,
    at: DateTime<Utc>,
) -> Result<(), EngineError> {
    if let Conn::Postgres(c) = &mut conn {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut **c)
            .await?;
    }
    let last = fetch_optional!(
        conn.reborrow(),
        (i64, String),
        "SELECT seq, hash FROM security_log ORDER BY seq DESC LIMIT 1",
    )?;
    let (seq, prev) = match last {
        None => (integrity::FIRST_SEQUENCE, None),
        Some((seq, hash)) => (seq + 1, Some(hash)),
    };
    // Stored to the microsecond, so the canonical form uses the stored precision.
    let at_micros = at.timestamp_micros();
    let at = DateTime::from_timestamp_micros(at_micros).unwrap_or(at);
    let text = canonical(
        seq,
        at,
        &entry.kind,
        entry.actor.as_deref(),
        entry.address.as_deref(),
        &entry.outcome,
        &entry.detail,
    )?;
    let hash = integrity::chain_hash(hash_key, prev.as_deref(), &text);
    run!(
        conn,
        "INSERT INTO security_log (seq, at, kind, actor, address, outcome, detail, hash, prev_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        seq,
        at_micros,
        &entry.kind,
        entry.actor.as_deref(),
        entry.address.as_deref(),
        &entry.outcome,
        entry.detail.to_string(),
        hash,
        prev,
    )?;
    Ok(())
}

impl Engine {
    /// Appends an entry to the security log in a transaction of its own.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn log_security(&self, entry: SecurityEntry) -> Result<(), EngineError> {
        let mut tx = self.begin_write().await?;
        let now = self.clock().now();
        stage_security(tx.conn(), self.keys().hash_key(), &entry, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries with `seq > after`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// The store cannot be read, or a stored entry does not decode.
    pub async fn security_log(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<SecurityRecord>, EngineError> {
        let mut tx = self.db().read().await?;
        let rows = fetch_all!(
            tx.conn(),
            Row,
            &format!("SELECT {COLUMNS} FROM security_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
            after,
            limit,
        )?;
        rows.into_iter().map(record).collect()
    }

    /// Entries with `seq < before` (all with `None`), newest first, at most `limit`: a page of
    /// the log as the auditor's page shows it, without reading the rest.
    ///
    /// # Errors
    /// The store cannot be read, or a stored entry does not decode.
    pub async fn security_log_page(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<SecurityRecord>, EngineError> {
        let mut tx = self.db().read().await?;
        let rows = fetch_all!(
            tx.conn(),
            Row,
            &format!(
                "SELECT {COLUMNS} FROM security_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
            ),
            before.unwrap_or(i64::MAX),
            limit,
        )?;
        rows.into_iter().map(record).collect()
    }

    /// The number of the last entry (0 when the log is empty).
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn security_log_last(&self) -> Result<i64, EngineError> {
        let mut tx = self.db().read().await?;
        let last = fetch_optional!(
            tx.conn(),
            (i64,),
            "SELECT seq FROM security_log ORDER BY seq DESC LIMIT 1",
        )?;
        Ok(last.map_or(0, |r| r.0))
    }

    /// Verifies the whole security log; the first invalid `seq`, `None` when intact.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn verify_security_log(&self) -> Result<Option<i64>, EngineError> {
        let mut tx = self.db().read().await?;
        let rows = fetch_all!(
            tx.conn(),
            Row,
            &format!("SELECT {COLUMNS} FROM security_log ORDER BY seq"),
        )?;
        Ok(self.verify_rows(None, rows))
    }

    /// Verifies the entries `from..=to` only, each recomputed and linked to the one before it
    /// (the entry `from - 1` is taken as stored): what one page of the log shows, read and
    /// checked without the rest. A removed entry inside the range, an edited one, or a broken
    /// link to the entry before is found; the whole chain is [`Self::verify_security_log`]'s.
    /// The first invalid `seq`, `None` when the range is intact.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn verify_security_log_range(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Option<i64>, EngineError> {
        let mut tx = self.db().read().await?;
        let anchor = if from > integrity::FIRST_SEQUENCE {
            fetch_optional!(
                tx.conn(),
                (i64, String),
                "SELECT seq, hash FROM security_log WHERE seq = $1",
                from - 1,
            )?
        } else {
            None
        };
        if from > integrity::FIRST_SEQUENCE && anchor.is_none() {
            return Ok(Some(from - 1));
        }
        let rows = fetch_all!(
            tx.conn(),
            Row,
            &format!(
                "SELECT {COLUMNS} FROM security_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq"
            ),
            from,
            to,
        )?;
        if let Some((first, ..)) = rows.first() {
            if *first != from {
                return Ok(Some(from));
            }
        }
        Ok(self.verify_rows(anchor, rows))
    }

    fn verify_rows(&self, anchor: Option<(i64, String)>, rows: Vec<Row>) -> Option<i64> {
        let mut items = Vec::with_capacity(rows.len());
        for (seq, at, kind, actor, address, outcome, detail, hash, prev) in rows {
            let text = DateTime::from_timestamp_micros(at)
                .zip(serde_json::from_str::<Value>(&detail).ok())
                .and_then(|(at, detail)| {
                    canonical(
                        seq,
                        at,
                        &kind,
                        actor.as_deref(),
                        address.as_deref(),
                        &outcome,
                        &detail,
                    )
                    .ok()
                });
            let Some(text) = text else {
                return Some(seq);
            };
            items.push((seq, text, hash, prev));
        }
        let items = items
            .iter()
            .map(|(s, c, h, p)| (*s, c.as_str(), h.as_str(), p.as_deref()));
        match &anchor {
            Some((seq, hash)) => {
                integrity::verify_chain_after(self.keys().hash_key(), (*seq, hash), items)
            }
            None => integrity::verify_chain(self.keys().hash_key(), items),
        }
    }
}

fn record(
    (seq, at, kind, actor, address, outcome, detail, hash, _): Row,
) -> Result<SecurityRecord, EngineError> {
    Ok(SecurityRecord {
        seq,
        at: DateTime::from_timestamp_micros(at)
            .ok_or_else(|| EngineError::Internal(format!("security log entry {seq}: bad time")))?,
        kind,
        actor,
        address,
        outcome,
        detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
        hash,
    })
}
