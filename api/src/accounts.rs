//! The web application's local accounts, as `ptl users` and the administration page manage them
//! (`web.md`, "Signing in"): the same checks on both doors (a login of letters, digits, `.`, `-`
//! and `_`; a role that fits its office in the office tree; the password policy), the Argon2id
//! hash, one-time passwords, and a security-log entry for every change.

use ptl_domain::Role;
use ptl_engine::accounts::{AccountError, NewUser, User, UserChange};
use ptl_engine::pipeline::Engine;
use ptl_engine::security::SecurityEntry;
use serde_json::json;

use crate::offices::OfficeTree;
use crate::web::password;

/// Who makes a change: the login of the administrator (or `cli:<os user>` for `ptl users`) and
/// the address it came from.
#[derive(Debug, Clone)]
pub struct ChangedBy {
    /// The administrator's login, or `cli`.
    pub actor: String,
    /// The client address, for changes over HTTP.
    pub address: Option<String>,
}

impl ChangedBy {
    fn entry(&self, kind: &str, detail: serde_json::Value) -> SecurityEntry {
        SecurityEntry::new(kind, Some(&self.actor), self.address.as_deref()).detail(detail)
    }
}

/// An account refused or not found; the message is one sentence for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// A value is not acceptable; `field` names the input.
    #[error("{message}")]
    Invalid {
        /// The input (`login`, `role`, `office`, `name`, `password`).
        field: &'static str,
        /// Why.
        message: String,
    },
    /// No account with this login.
    #[error("there is no account `{0}`")]
    NoSuchUser(String),
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(String),
}

impl From<AccountError> for Refused {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::LoginTaken(login) => Self::Invalid {
                field: "login",
                message: format!("the login `{login}` is taken"),
            },
            AccountError::NoSuchUser(login) => Self::NoSuchUser(login),
            AccountError::Engine(e) => Self::Store(e.to_string()),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> Refused {
    Refused::Invalid {
        field,
        message: message.into(),
    }
}

/// Checks a login's form.
///
/// # Errors
/// [`Refused::Invalid`] naming `login`.
pub fn check_login(login: &str) -> Result<String, Refused> {
    let login = ptl_engine::accounts::normalise_login(login);
    let ok_chars = login
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if !(2..=64).contains(&login.chars().count()) || !ok_chars {
        return Err(invalid(
            "login",
            "a login is 2 to 64 characters: Latin letters, digits, `.`, `-`, `_` and `@`",
        ));
    }
    Ok(login)
}

/// Checks a role and office against the tree.
///
/// # Errors
/// [`Refused::Invalid`] naming `role` or `office`.
pub fn check_role(tree: &OfficeTree, role: &str, office: &str) -> Result<Role, Refused> {
    let parsed: Role = role.parse().map_err(|_| {
        invalid(
            "role",
            format!("`{role}` is not a role: caseworker, supervisor, social_worker, decision_officer, auditor or admin"),
        )
    })?;
    if parsed == Role::System {
        return Err(invalid("role", "the role `system` is the engine's own"));
    }
    if tree.get(office).is_none() {
        return Err(invalid(
            "office",
            format!("the office tree has no office `{office}`"),
        ));
    }
    if !tree.role_fits(parsed, office) {
        return Err(invalid(
            "office",
            format!("the role {parsed} does not belong to the office {office} (caseworkers, supervisors and social workers: district and region offices; decision officers: a deciding authority; admins: UA; auditors: any office)"),
        ));
    }
    Ok(parsed)
}

/// An account to add.
#[derive(Debug, Clone)]
pub struct AddAccount {
    /// Sign-in name.
    pub login: String,
    /// Role code.
    pub role: String,
    /// Office code.
    pub office: String,
    /// Display name.
    pub name: String,
    /// The password (no change required); `None` gives a one-time password that must be changed
    /// at the first sign-in.
    pub password: Option<String>,
}

/// Adds an account; returns it with its one-time password, if one was made.
///
/// # Errors
/// [`Refused`]: a bad login, role, office, name or password, a taken login, the store.
pub async fn add(
    engine: &Engine,
    tree: &OfficeTree,
    by: &ChangedBy,
    a: AddAccount,
) -> Result<(User, Option<String>), Refused> {
    let login = check_login(&a.login)?;
    let role = check_role(tree, &a.role, &a.office)?;
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(
            "name",
            "the display name must be 1 to 200 characters",
        ));
    }
    let (secret, one_time) = match a.password {
        Some(p) => {
            password::check_policy(&p).map_err(|w| invalid("password", w.to_string()))?;
            (p, false)
        }
        None => (password::one_time(), true),
    };
    let hash = password::hash(&secret).map_err(Refused::Store)?;
    let user = engine
        .add_user(
            NewUser {
                login: login.clone(),
                display_name: name.to_string(),
                role: role.as_str().to_string(),
                office: a.office.clone(),
                password_hash: Some(hash),
                must_change_password: one_time,
                sso: false,
            },
            by.entry(
                "user_added",
                json!({ "user": login, "role": role.as_str(), "office": a.office }),
            ),
        )
        .await?;
    Ok((user, one_time.then_some(secret)))
}

async fn find(engine: &Engine, login: &str) -> Result<User, Refused> {
    engine
        .user_by_login(login)
        .await
        .map_err(|e| Refused::Store(e.to_string()))?
        .ok_or_else(|| Refused::NoSuchUser(ptl_engine::accounts::normalise_login(login)))
}

/// Disables (or enables) an account; disabling ends its sessions.
///
/// # Errors
/// [`Refused::NoSuchUser`], the store.
pub async fn set_disabled(
    engine: &Engine,
    by: &ChangedBy,
    login: &str,
    disabled: bool,
) -> Result<User, Refused> {
    let user = find(engine, login).await?;
    let kind = if disabled {
        "user_disabled"
    } else {
        "user_enabled"
    };
    Ok(engine
        .change_user(
            &user.id,
            UserChange {
                disabled: Some(disabled),
                ..UserChange::default()
            },
            by.entry(kind, json!({ "user": user.login })),
        )
        .await?)
}

/// Gives an account a new one-time password (ending its sessions); returns it.
///
/// # Errors
/// [`Refused::NoSuchUser`], the store.
pub async fn reset_password(
    engine: &Engine,
    by: &ChangedBy,
    login: &str,
) -> Result<(User, String), Refused> {
    let user = find(engine, login).await?;
    let secret = password::one_time();
    let hash = password::hash(&secret).map_err(Refused::Store)?;
    let user = engine
        .change_user(
            &user.id,
            UserChange {
                password: Some((hash, true)),
                ..UserChange::default()
            },
            by.entry("password_reset", json!({ "user": user.login })),
        )
        .await?;
    Ok((user, secret))
}

/// Changes an account's role and, optionally, office (ending its sessions).
///
/// # Errors
/// [`Refused`]: a role that does not fit the office, no such account, the store.
pub async fn set_role(
    engine: &Engine,
    tree: &OfficeTree,
    by: &ChangedBy,
    login: &str,
    role: &str,
    office: Option<&str>,
) -> Result<User, Refused> {
    let user = find(engine, login).await?;
    let office = office.unwrap_or(&user.office).to_string();
    let role = check_role(tree, role, &office)?;
    Ok(engine
        .change_user(
            &user.id,
            UserChange {
                role: Some(role.as_str().to_string()),
                office: Some(office.clone()),
                ..UserChange::default()
            },
            by.entry(
                "user_role_changed",
                json!({ "user": user.login, "role": role.as_str(), "office": office,
                        "was": { "role": user.role, "office": user.office } }),
            ),
        )
        .await?)
}

/// The demo's accounts: one per role for the demo offices (and a second caseworker), each with a
/// one-time password. `(login, role, office, display name)`.
pub const DEMO_ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    ("caseworker", "caseworker", "UA7102", "Олена Коваль"),
    ("caseworker2", "caseworker", "UA7102", "Петро Мельник"),
    ("supervisor", "supervisor", "UA71", "Ірина Бондар"),
    ("social", "social_worker", "UA7102", "Наталія Шевчук"),
    ("officer", "decision_officer", "UA-NSS", "Андрій Ткаченко"),
    ("auditor", "auditor", "UA71", "Марія Кравченко"),
    ("admin", "admin", "UA", "Василь Олійник"),
];

/// Creates the demo's accounts (`ptl demo`); returns each with its one-time password.
///
/// # Errors
/// [`Refused`]: an account exists already, the store.
pub async fn add_demo_accounts(
    engine: &Engine,
    tree: &OfficeTree,
) -> Result<Vec<(User, String)>, Refused> {
    let by = ChangedBy {
        actor: "demo".into(),
        address: None,
    };
    let mut added = Vec::new();
    for (login, role, office, name) in DEMO_ACCOUNTS {
        let (user, one_time) = add(
            engine,
            tree,
            &by,
            AddAccount {
                login: (*login).to_string(),
                role: (*role).to_string(),
                office: (*office).to_string(),
                name: (*name).to_string(),
                password: None,
            },
        )
        .await?;
        added.push((user, one_time.unwrap_or_default()));
    }
    Ok(added)
}
