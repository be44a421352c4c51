//! The deny list of revoked API tokens (`ptl token revoke`): token ids (`jti`) the server refuses.
//! It shares only the database with the command pipeline, hence its own module; the server
//! reads the list at start and again every few seconds, so a revocation by another process
//! reaches it.

use serde_json::json;

use crate::pipeline::{Engine, EngineError};
use crate::security::{stage_security, SecurityEntry};
use crate::{fetch_all, run};

impl Engine {
    /// Adds a token id to the deny list the server checks, and writes the revocation (the token
    /// id, and who revoked it: `by`, the operator's account or `None` from the command line) to
    /// the security log in the same transaction.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn revoke_token(&self, jti: &str, by: Option<&str>) -> Result<(), EngineError> {
        let mut tx = self.begin_write().await?;
        let now = self.clock().now();
        run!(
            tx.conn(),
            "INSERT INTO revoked_tokens (jti, revoked_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            jti.to_string(),
            now.timestamp_micros()
        )?;
        let entry = SecurityEntry::new("token_revoked", by, None).detail(json!({ "token": jti }));
        stage_security(tx.conn(), self.keys().hash_key(), &entry, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every revoked token id.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn revoked_tokens(&self) -> Result<Vec<String>, EngineError> {
        let mut tx = self.db().read().await?;
        let rows: Vec<(String,)> =
            fetch_all!(tx.conn(), (String,), "SELECT jti FROM revoked_tokens")?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
