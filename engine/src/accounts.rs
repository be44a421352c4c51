//! The web application's accounts and server-side sessions.
//!
//! The engine stores and the API crate decides: passwords arrive here already hashed (Argon2id,
//! `api/src/web/password.rs`), and the sign-in rules (lock after so many failures, idle timeout)
//! are the caller's. Every change to an account is written with its security-log entry in one
//! transaction ([`crate::security`]).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::pipeline::{Engine, EngineError};
use crate::security::{stage_security, SecurityEntry};
use crate::{fetch_all, fetch_optional, run};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Another account has this login.
    #[error("the login `{0}` is taken")]
    LoginTaken(String),
    /// No such account.
    #[error("no account `{0}`")]
    NoSuchUser(String),
    /// The store failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        Self::Engine(e.into())
    }
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name (stored lower-cased).
    pub login: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role code (`caseworker`, `officer`, ...).
    pub role: String,
    /// Office code.
    pub office: String,
    /// Argon2id PHC string; `None` for an account that signs in only through single sign-on.
    pub password_hash: Option<String>,
    /// The password must be changed at the next sign-in (a one-time password).
    pub must_change_password: bool,
    /// First seen through single sign-on.
    pub sso: bool,
}

/// A single sign-on flow under way (authorization code with PKCE): what the redirect back needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoFlow {
    /// SHA-256 (hex) of the browser-binding cookie's value.
    pub binding_hash: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// When the flow started.
    pub started_at: DateTime<Utc>,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id (a UUID), the `sub` of the user's actions.
    pub id: String,
    /// Sign-in name, lower-cased.
    pub login: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role code.
    pub role: String,
    /// Office code.
    pub office: String,
    /// Argon2id PHC string, if the account has a password.
    pub password_hash: Option<String>,
    /// See [`NewUser::must_change_password`].
    pub must_change_password: bool,
    /// Disabled accounts cannot sign in and their sessions end.
    pub disabled: bool,
    /// See [`NewUser::sso`].
    pub sso: bool,
    /// Consecutive failed sign-ins.
    pub failed_signins: i64,
    /// Locked until then, after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
    /// The undertaking text version last acknowledged.
    pub undertaking_version: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A change to an account; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New office.
    pub office: Option<String>,
    /// New password hash and whether it must be changed at the next sign-in.
    pub password: Option<(String, bool)>,
    /// Disable or enable.
    pub disabled: Option<bool>,
}

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 (hex) of the cookie's token.
    pub id_hash: String,
    /// The account.
    pub user_id: String,
    /// The CSRF token bound to the session.
    pub csrf_token: String,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
    /// Client address.
    pub address: Option<String>,
}

/// An open session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the cookie's token.
    pub id_hash: String,
    /// The CSRF token bound to the session.
    pub csrf_token: String,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
    /// Ended (signed out, revoked, expired), if so.
    pub ended_at: Option<DateTime<Utc>>,
}

type UserRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
    bool,
    i64,
    Option<i64>,
    Option<String>,
    i64,
);

const USER_COLUMNS: &str = "id, login, display_name, role, office, password_hash, \
    must_change_password, disabled, sso, failed_signins, locked_until, undertaking_version, \
    created_at";

fn micros(at: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at).unwrap_or_default()
}

fn user_from(row: UserRow) -> User {
    let (
        id,
        login,
        display_name,
        role,
        office,
        password_hash,
        must_change_password,
        disabled,
        sso,
        failed_signins,
        locked_until,
        undertaking_version,
        created_at,
    ) = row;
    User {
        id,
        login,
        display_name,
        role,
        office,
        password_hash,
        must_change_password,
        disabled,
        sso,
        failed_signins,
        locked_until: locked_until.map(micros),
        undertaking_version,
        created_at: micros(created_at),
    }
}

/// The form a login is stored and looked up in.
#[must_use]
pub fn normalise_login(login: &str) -> String {
    login.trim().to_lowercase()
}

impl Engine {
    /// Creates an account, with its security-log entry.
    ///
    /// # Errors
    /// [`AccountError::LoginTaken`]; the store fails.
    pub async fn add_user(&self, new: NewUser, log: SecurityEntry) -> Result<User, AccountError> {
        let login = normalise_login(&new.login);
        let now = self.clock().now();
        let id = Uuid::new_v4().to_string();
        let mut tx = self.begin_write().await?;
        let taken = fetch_optional!(
            tx.conn(),
            (String,),
            "SELECT id FROM users WHERE login = $1",
            &login
        )?;
        if taken.is_some() {
            return Err(AccountError::LoginTaken(login));
        }
        run!(
            tx.conn(),
            "INSERT INTO users (id, login, display_name, role, office, password_hash, \
             must_change_password, disabled, sso, failed_signins, locked_until, \
             undertaking_version, undertaking_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, 0, NULL, NULL, NULL, $9, $9)",
            &id,
            &login,
            &new.display_name,
            &new.role,
            &new.office,
            new.password_hash.as_deref(),
            new.must_change_password,
            new.sso,
            now.timestamp_micros(),
        )?;
        stage_security(tx.conn(), self.keys().hash_key(), &log, now).await?;
        tx.commit().await?;
        self.user_by_id(&id)
            .await?
            .ok_or(AccountError::NoSuchUser(login))
    }

    /// The account with this login (any case).
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, EngineError> {
        let mut tx = self.db().read().await?;
        let row = fetch_optional!(
            tx.conn(),
            UserRow,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE login = $1"),
            normalise_login(login),
        )?;
        Ok(row.map(user_from))
    }

    /// The account with this id.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, EngineError> {
        let mut tx = self.db().read().await?;
        let row = fetch_optional!(
            tx.conn(),
            UserRow,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            id,
        )?;
        Ok(row.map(user_from))
    }

    /// Every account, by login.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn users(&self) -> Result<Vec<User>, EngineError> {
        let mut tx = self.db().read().await?;
        let rows = fetch_all!(
            tx.conn(),
            UserRow,
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY login"),
        )?;
        Ok(rows.into_iter().map(user_from).collect())
    }

    /// Changes an account, with its security-log entry. Disabling it, changing its role or
    /// office, or setting a new password ends its open sessions.
    ///
    /// # Errors
    /// [`AccountError::NoSuchUser`]; the store fails.
    pub async fn change_user(
        &self,
        id: &str,
        change: UserChange,
        log: SecurityEntry,
    ) -> Result<User, AccountError> {
        let now = self.clock().now().timestamp_micros();
        let mut tx = self.begin_write().await?;
        let current = fetch_optional!(
            tx.conn(),
            UserRow,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            id,
        )?
        .map(user_from)
        .ok_or_else(|| AccountError::NoSuchUser(id.to_string()))?;
        let (hash, must_change) = match &change.password {
            Some((hash, must)) => (Some(hash.clone()), *must),
            None => (current.password_hash.clone(), current.must_change_password),
        };
        let disabled = change.disabled.unwrap_or(current.disabled);
        run!(
            tx.conn(),
            "UPDATE users SET display_name = $2, role = $3, office = $4, password_hash = $5, \
             must_change_password = $6, disabled = $7, updated_at = $8, \
             failed_signins = CASE WHEN $9 THEN 0 ELSE failed_signins END, \
             locked_until = CASE WHEN $9 THEN NULL ELSE locked_until END \
             WHERE id = $1",
            id,
            change
                .display_name
                .as_deref()
                .unwrap_or(&current.display_name),
            change.role.as_deref().unwrap_or(&current.role),
            change.office.as_deref().unwrap_or(&current.office),
            hash,
            must_change,
            disabled,
            now,
            change.password.is_some(),
        )?;
        let ends_sessions = disabled
            || change.role.as_ref().is_some_and(|r| *r != current.role)
            || change.office.as_ref().is_some_and(|o| *o != current.office)
            || change.password.is_some();
        if ends_sessions {
            run!(
                tx.conn(),
                "UPDATE web_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL",
                id,
                now,
            )?;
        }
        stage_security(tx.conn(), self.keys().hash_key(), &log, self.clock().now()).await?;
        tx.commit().await?;
        self.user_by_id(id)
            .await?
            .ok_or_else(|| AccountError::NoSuchUser(id.to_string()))
    }

    /// Records a failed sign-in: the account's failure count (when the login exists) and the
    /// address's failure, with the security-log entry. `lock_until` locks the account (the
    /// caller decides when). Returns the account's consecutive failures.
    ///
    /// # Errors
    /// The store fails.
    pub async fn record_signin_failure(
        &self,
        user_id: Option<&str>,
        address: Option<&str>,
        lock_after: i64,
        lock_until: DateTime<Utc>,
        log: SecurityEntry,
    ) -> Result<i64, EngineError> {
        let now = self.clock().now();
        let mut tx = self.begin_write().await?;
        let mut failures = 0;
        if let Some(id) = user_id {
            run!(
                tx.conn(),
                "UPDATE users SET failed_signins = failed_signins + 1 WHERE id = $1",
                id
            )?;
            failures = fetch_optional!(
                tx.conn(),
                (i64,),
                "SELECT failed_signins FROM users WHERE id = $1",
                id
            )?
            .map_or(0, |r| r.0);
            if failures >= lock_after {
                run!(
                    tx.conn(),
                    "UPDATE users SET locked_until = $2, failed_signins = 0 WHERE id = $1",
                    id,
                    lock_until.timestamp_micros(),
                )?;
            }
        }
        if let Some(address) = address {
            run!(
                tx.conn(),
                "INSERT INTO signin_failures (address, at) VALUES ($1, $2)",
                address,
                now.timestamp_micros(),
            )?;
        }
        stage_security(tx.conn(), self.keys().hash_key(), &log, now).await?;
        tx.commit().await?;
        Ok(failures)
    }

    /// Failed sign-ins from `address` since `since`.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn address_failures_since(
        &self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, EngineError> {
        let mut tx = self.db().read().await?;
        Ok(fetch_optional!(
            tx.conn(),
            (i64,),
            "SELECT COUNT(*) FROM signin_failures WHERE address = $1 AND at >= $2",
            address,
            since.timestamp_micros(),
        )?
        .map_or(0, |r| r.0))
    }

    /// Opens a session after a successful sign-in: resets the account's failures and writes the
    /// security-log entry.
    ///
    /// # Errors
    /// The store fails.
    pub async fn open_session(
        &self,
        new: NewSession,
        log: SecurityEntry,
    ) -> Result<(), EngineError> {
        let now = self.clock().now();
        let mut tx = self.begin_write().await?;
        run!(
            tx.conn(),
            "UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = $1",
            &new.user_id
        )?;
        run!(
            tx.conn(),
            "INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, \
             expires_at, ended_at, address) VALUES ($1, $2, $3, $4, $4, $5, NULL, $6)",
            &new.id_hash,
            &new.user_id,
            &new.csrf_token,
            now.timestamp_micros(),
            new.expires_at.timestamp_micros(),
            new.address.as_deref(),
        )?;
        stage_security(tx.conn(), self.keys().hash_key(), &log, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A session by its hash, with its account.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn session(&self, id_hash: &str) -> Result<Option<(Session, User)>, EngineError> {
        let mut tx = self.db().read().await?;
        let row = fetch_optional!(
            tx.conn(),
            (String, String, i64, i64, i64, Option<i64>),
            "SELECT user_id, csrf_token, created_at, last_seen_at, expires_at, ended_at \
             FROM web_sessions WHERE id_hash = $1",
            id_hash,
        )?;
        let Some((user_id, csrf_token, created, seen, expires, ended)) = row else {
            return Ok(None);
        };
        let user = fetch_optional!(
            tx.conn(),
            UserRow,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            &user_id,
        )?
        .map(user_from);
        Ok(user.map(|user| {
            (
                Session {
                    id_hash: id_hash.to_string(),
                    csrf_token,
                    created_at: micros(created),
                    last_seen_at: micros(seen),
                    expires_at: micros(expires),
                    ended_at: ended.map(micros),
                },
                user,
            )
        }))
    }

    /// Notes a request on the session (the idle timeout counts from here).
    ///
    /// # Errors
    /// The store fails.
    pub async fn touch_session(&self, id_hash: &str) -> Result<(), EngineError> {
        let mut tx = self.begin_write().await?;
        run!(
            tx.conn(),
            "UPDATE web_sessions SET last_seen_at = $2 WHERE id_hash = $1",
            id_hash,
            self.clock().now().timestamp_micros(),
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session (sign-out, idle or absolute timeout), with its security-log entry.
    ///
    /// # Errors
    /// The store fails.
    pub async fn end_session(&self, id_hash: &str, log: SecurityEntry) -> Result<(), EngineError> {
        let now = self.clock().now();
        let mut tx = self.begin_write().await?;
        run!(
            tx.conn(),
            "UPDATE web_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL",
            id_hash,
            now.timestamp_micros(),
        )?;
        stage_security(tx.conn(), self.keys().hash_key(), &log, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps a single sign-on flow under way, keyed by the SHA-256 of its `state`, after
    /// removing the flows started before `expired_before`. `false` (nothing kept) when
    /// `max_pending` flows are already under way.
    ///
    /// # Errors
    /// The store fails.
    pub async fn begin_sso_flow(
        &self,
        state_hash: &str,
        flow: &SsoFlow,
        expired_before: DateTime<Utc>,
        max_pending: i64,
    ) -> Result<bool, EngineError> {
        let mut tx = self.begin_write().await?;
        run!(
            tx.conn(),
            "DELETE FROM sso_pending WHERE started_at < $1",
            expired_before.timestamp_micros(),
        )?;
        let under_way = fetch_optional!(tx.conn(), (i64,), "SELECT COUNT(*) FROM sso_pending")?
            .map_or(0, |r| r.0);
        if under_way >= max_pending {
            tx.commit().await?;
            return Ok(false);
        }
        run!(
            tx.conn(),
            "INSERT INTO sso_pending (state_hash, binding_hash, verifier, nonce, started_at) \
             VALUES ($1, $2, $3, $4, $5)",
            state_hash,
            flow.binding_hash.as_str(),
            flow.verifier.as_str(),
            flow.nonce.as_str(),
            flow.started_at.timestamp_micros(),
        )?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes out the single sign-on flow of a `state` (by its SHA-256): it is deleted whatever
    /// follows, so a redirect can be used once, on whichever instance it arrives.
    ///
    /// # Errors
    /// The store fails.
    pub async fn take_sso_flow(&self, state_hash: &str) -> Result<Option<SsoFlow>, EngineError> {
        let mut tx = self.begin_write().await?;
        let row = fetch_optional!(
            tx.conn(),
            (String, String, String, i64),
            "SELECT binding_hash, verifier, nonce, started_at FROM sso_pending WHERE state_hash = $1",
            state_hash
        )?;
        if row.is_some() {
            run!(
                tx.conn(),
                "DELETE FROM sso_pending WHERE state_hash = $1",
                state_hash
            )?;
        }
        tx.commit().await?;
        Ok(row.map(|(binding_hash, verifier, nonce, started)| SsoFlow {
            binding_hash,
            verifier,
            nonce,
            started_at: DateTime::from_timestamp_micros(started).unwrap_or_default(),
        }))
    }

    /// Records the acknowledgement of the confidentiality undertaking's text `version`.
    ///
    /// # Errors
    /// The store fails.
    pub async fn acknowledge_undertaking(
        &self,
        user_id: &str,
        version: &str,
        log: SecurityEntry,
    ) -> Result<(), EngineError> {
        let now = self.clock().now();
        let mut tx = self.begin_write().await?;
        run!(
            tx.conn(),
            "UPDATE users SET undertaking_version = $2, undertaking_at = $3 WHERE id = $1",
            user_id,
            version,
            now.timestamp_micros(),
        )?;
        run!(
            tx.conn(),
            "INSERT INTO undertaking_acks (user_id, version, at) VALUES ($1, $2, $3)",
            user_id,
            version,
            now.timestamp_micros(),
        )?;
        stage_security(tx.conn(), self.keys().hash_key(), &log, now).await?;
        tx.commit().await?;
        Ok(())
    }
}
