//! Erasure around the command pipeline: the `erasures.log` line written before an erasure
//! commits, and the repair of a case whose history says erased while its key is still live.
//!
//! The erasure itself (key destroyed, person-index rows deleted, ledger row) is a row of the
//! command, written in the transaction of its `personal_data_erased` event (`record.rs`). What
//! is left here is what happens outside that transaction:
//!
//! - before it commits, the line in `erasures.log` (outside the database, fsync'ed), so that a
//!   restored backup cannot bring the key back ([`crate::vault::Vault::reapply_erasures`]). A
//!   crash or a failed commit after the line errs on the side of erasing: the next start
//!   destroys the key of a case whose erasure was asked for but not recorded;
//! - [`Engine::repair_erasures`], run at every start and by `ptl verify`: a case whose history
//!   holds the erasure event but whose key is live (left by the earlier code, which destroyed the
//!   key in a second transaction after the event, or by a hand edit) gets its key destroyed, a
//!   `repair` line in `erasures.log`, `repaired_at` in its ledger row and a warning in the log;
//! - after it commits, its security-log entry, which marks the ledger row
//!   (`security_logged_at`); [`Engine::log_unlogged_erasures`], run at every start and by
//!   `ptl verify`, writes the entry of a row left unmarked by a crash in between.

use chrono::{DateTime, Utc};
use ptl_domain::{CaseEvent, EventBody};
use uuid::Uuid;

use super::{Engine, EngineError};
use crate::db::Batch;
use crate::vault::{self, Erasure, VaultError};

/// A failure to write the erasure log is a passing condition of the machine (a full or failing
/// disk): nothing was recorded, the caller may retry.
fn log_failed(e: VaultError) -> EngineError {
    match e {
        VaultError::Io(e) => EngineError::Unavailable(format!("erasure log: {e}")),
        other => EngineError::from(other),
    }
}

impl Engine {
    /// Appends a line to `erasures.log` for each `personal_data_erased` event of a command about
    /// to be persisted (nothing without a data directory).
    ///
    /// # Errors
    /// [`EngineError::Unavailable`] if the line cannot be written: the command is not persisted.
    pub(super) async fn log_erasures(
        &self,
        case_id: Uuid,
        events: &[CaseEvent],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let Some(dir) = self.data_dir() else {
            return Ok(());
        };
        for event in events {
            if matches!(event.body, EventBody::PersonalDataErased { .. }) {
                vault::log_erasure(dir, case_id, &event.actor.sub, now, false)
                    .await
                    .map_err(log_failed)?;
            }
        }
        Ok(())
    }

    /// Writes each committed `personal_data_erased` event to the security log: the case id,
    /// the reason category and who erased, never personal data. The security log's chain needs
    /// its last entry read, which the erasure's batched rows cannot do, so this follows the
    /// commit, in a transaction that also marks the erasure's ledger row as logged; a failure is
    /// logged as a warning (the erasure itself stands, and its event and ledger row record it),
    /// and a row left unmarked gets its entry at the next start ([`Self::log_unlogged_erasures`]).
    pub(super) async fn log_erasures_to_security_log(&self, case_id: Uuid, events: &[CaseEvent]) {
        for event in events {
            if let EventBody::PersonalDataErased { category } = &event.body {
                let entry = crate::security::SecurityEntry::new(
                    "personal_data_erased",
                    Some(&event.actor.sub),
                    None,
                )
                .detail(serde_json::json!({
                    "case": case_id.to_string(),
                    "category": category.map(|c| c.as_str()),
                }));
                if let Err(e) = self.log_erasure_entry(case_id, &entry).await {
                    tracing::warn!(%case_id, error = %e, "the erasure could not be written to the security log; it will be at the next start");
                }
            }
        }
    }

    /// The security-log entry of an erasure and the mark on its ledger row, in one transaction.
    async fn log_erasure_entry(
        &self,
        case_id: Uuid,
        entry: &crate::security::SecurityEntry,
    ) -> Result<(), EngineError> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        crate::security::stage_security(tx.conn(), self.keys.hash_key(), entry, now).await?;
        self.vault
            .mark_security_logged(tx.conn(), case_id, now)
            .await
            .map_err(EngineError::from)?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the security-log entry of every erasure whose ledger row says it has none (the
    /// process stopped between an erasure's commit and its entry, or a restored backup lost the
    /// erasure and the start re-applied it from `erasures.log`), and returns those cases. The
    /// entry is `personal_data_erased` with `"recovered": true` and the erasure's own time; run
    /// at every start and by `ptl verify`.
    ///
    /// # Errors
    /// The store cannot be read or written (nothing is written then).
    pub async fn log_unlogged_erasures(&self) -> Result<Vec<Uuid>, EngineError> {
        let unlogged = {
            let mut tx = self.db.read().await?;
            self.vault
                .unlogged_erasures(tx.conn())
                .await
                .map_err(EngineError::from)?
        };
        if unlogged.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        for u in &unlogged {
            let entry =
                crate::security::SecurityEntry::new("personal_data_erased", Some(&u.by_sub), None)
                    .detail(serde_json::json!({
                        "case": u.case_id.to_string(),
                        "category": u.category.map(|c| c.as_str()),
                        "erased_at": u.erased_at.to_rfc3339(),
                        "recovered": true,
                    }));
            crate::security::stage_security(tx.conn(), self.keys.hash_key(), &entry, now).await?;
            self.vault
                .mark_security_logged(tx.conn(), u.case_id, now)
                .await
                .map_err(EngineError::from)?;
        }
        tx.commit().await?;
        Ok(unlogged.into_iter().map(|u| u.case_id).collect())
    }

    /// Destroys the key of every case whose history says erased while its key is still live,
    /// and returns those cases (see the module docs). Each is logged (`erasures.log` line before
    /// the commit, a warning after it) and its ledger row gets `repaired_at`; all in one
    /// transaction, after which no such case remains.
    ///
    /// # Errors
    /// The store, or the erasure log cannot be written (nothing is destroyed then).
    pub async fn repair_erasures(&self) -> Result<Vec<Uuid>, EngineError> {
        let pending = {
            let mut tx = self.db.read().await?;
            self.vault
                .pending_erasures(tx.conn())
                .await
                .map_err(EngineError::from)?
        };
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        if let Some(dir) = self.data_dir() {
            for p in &pending {
                vault::log_erasure(dir, p.case_id, &p.by_sub, p.erased_at, true)
                    .await
                    .map_err(log_failed)?;
            }
        }
        let mut tx = self.begin_write().await?;
        for p in &pending {
            let mut batch = Batch::new();
            self.vault
                .stage_erasure(
                    &mut batch,
                    &Erasure {
                        case_id: p.case_id,
                        by_sub: &p.by_sub,
                        erased_at: p.erased_at,
                        category: p.category,
                        reason: None,
                        repaired_at: Some(now),
                        security_logged_at: Some(now),
                    },
                )
                .map_err(EngineError::from)?;
            batch.execute(tx.conn()).await?;
            let entry = crate::security::SecurityEntry::new(
                "personal_data_erasure_repaired",
                Some(&p.by_sub),
                None,
            )
            .detail(serde_json::json!({
                "case": p.case_id.to_string(),
                "category": p.category.map(|c| c.as_str()),
            }));
            crate::security::stage_security(tx.conn(), self.keys.hash_key(), &entry, now).await?;
        }
        tx.commit().await?;
        for p in &pending {
            tracing::warn!(
                case_id = %p.case_id,
                erased_by = %p.by_sub,
                erased_at = %p.erased_at,
                "repaired an erasure: the history said erased but the key was still readable; \
                 the key is destroyed now"
            );
        }
        Ok(pending.into_iter().map(|p| p.case_id).collect())
    }
}
