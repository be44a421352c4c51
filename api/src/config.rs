//! Typed settings: defaults, overridden by an optional `ptl.toml`, overridden by `PTL_*`
//! environment variables (`PTL_LISTEN`, `PTL_DATABASE_URL`, ...: the key in capitals).
//!
//! Hand-rolled on `toml` so every error is one sentence naming the key and where it came from.
//! Values that may embed credentials (the database and broker URLs, the webhook secret) are
//! [`SecretString`]s and are redacted in `Debug`, so a logged configuration leaks nothing.
//!
//! The HS256 token secret is not a setting: it is the key file `jwt.secret` in the data
//! directory, or `PTL_JWT_SECRET` (hex) in the environment (`ptl_engine::keys`). A `jwt_secret`
//! in the file is refused with an error that says so, rather than silently ignored.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// The file [`load`] is usually given when it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "ptl.toml";

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (production).
    Json,
}

/// Every setting of the server and the CLI.
#[derive(Clone)]
pub struct Settings {
    /// Address the API listens on (`127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...` (may hold a password).
    pub database_url: SecretString,
    /// Directory for the embedded store, keys and exports (`./ptl-data`).
    pub data_dir: PathBuf,
    /// Extra procedure definition files, overriding the embedded ones.
    pub procedures_dir: Option<PathBuf>,
    /// Extra working-day calendar files.
    pub calendars_dir: Option<PathBuf>,
    /// Office tree (TOML); the built-in Cherkasy tree otherwise.
    pub offices_file: Option<PathBuf>,
    /// Message broker for eventual handlers (may hold a password).
    pub rabbitmq_url: Option<SecretString>,
    /// Identity provider's RS256 or EdDSA public key (PEM).
    pub jwt_public_key_file: Option<PathBuf>,
    /// Accepted token audiences (`aud` required and checked when not empty; comma-separated).
    pub jwt_audience: Vec<String>,
    /// Accepted token issuers (`iss` required and checked when not empty; comma-separated).
    pub jwt_issuer: Vec<String>,
    /// Whether tokens signed with the local HS256 secret are accepted (true).
    pub jwt_local_tokens: bool,
    /// Longest token lifetime accepted, seconds (43,200: 12 hours).
    pub jwt_max_lifetime_secs: u64,
    /// Time a client has to send a request's headers, seconds (10).
    pub header_read_timeout_secs: u64,
    /// A connection idle this long is closed, seconds (60).
    pub idle_timeout_secs: u64,
    /// Connections served at once (1,024).
    pub max_connections: usize,
    /// Requests per minute from one client address (120,000; 0 switches the limit off).
    pub rate_limit_per_address: u32,
    /// Requests per minute from one user (60,000; 0 switches the limit off).
    pub rate_limit_per_user: u32,
    /// Proxies whose `X-Forwarded-For` is believed (comma-separated IP addresses).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Per-request timeout, seconds (10).
    pub request_timeout_secs: u64,
    /// Public statistics suppress counts below this (5).
    pub disclosure_threshold: u32,
    /// A deadline is `upcoming` within this many working days (3).
    pub upcoming_working_days: u32,
    /// Allow a store without durable writes (tests, demos). Default false.
    pub allow_non_durable: bool,
    /// Log format (`text` or `json`).
    pub log_format: LogFormat,
    /// Where missed-deadline notifications are POSTed (HMAC-signed), if anywhere.
    pub webhook_url: Option<String>,
    /// The webhook's HMAC key (`PTL_WEBHOOK_SECRET`).
    pub webhook_secret: Option<SecretString>,
    /// Working days after a miss before the case is escalated to the regional office.
    pub escalate_after_working_days: u32,
    /// Person searches one user may make in a minute (30).
    pub person_searches_per_minute: u32,
    /// The address users reach the web application at; `https://...` makes the session cookie
    /// `Secure` (`__Host-ptl_session`).
    pub public_url: Option<String>,
    /// Minutes without a request after which a web session ends.
    pub session_idle_minutes: u32,
    /// Hours after sign-in at which a web session ends.
    pub session_lifetime_hours: u32,
    /// Single sign-on with an OpenID Connect provider (`[oidc]`), when configured.
    pub oidc: Option<OidcSettings>,
}

/// Single sign-on with an OpenID Connect provider: the `[oidc]` table of the file, or the
/// `PTL_OIDC_<KEY>` variables (`PTL_OIDC_ISSUER`, ...). The client secret is never in the file: the
/// file names the environment variable that holds it (`client_secret_env`).
#[derive(Clone)]
pub struct OidcSettings {
    /// The provider's issuer URL (`https://`, or `http://` on the loopback only), exactly as the
    /// provider spells it in `iss`; its discovery document is
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This application's client id at the provider (the `aud` of its id_tokens).
    pub client_id: String,
    /// The environment variable that holds the client secret.
    pub client_secret_env: String,
    /// The client secret, read from that variable.
    pub client_secret: SecretString,
    /// Where the provider sends the browser back: this server's `/sign-in/sso/callback`, as
    /// registered at the provider (by default under `public_url`).
    pub redirect_uri: String,
    /// The claim that holds the user's role (`role`).
    pub role_claim: String,
    /// The claim that holds the user's office code (`office`).
    pub office_claim: String,
    /// The claim that holds the user's display name (`name`).
    pub name_claim: String,
    /// The scopes asked for (`openid profile`; `openid` is always included).
    pub scopes: Vec<String>,
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret_env", &self.client_secret_env)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("role_claim", &self.role_claim)
            .field("office_claim", &self.office_claim)
            .field("name_claim", &self.name_claim)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// The keys of the `[oidc]` table.
pub const OIDC_KEYS: &[&str] = &[
    "issuer",
    "client_id",
    "client_secret_env",
    "redirect_uri",
    "role_claim",
    "office_claim",
    "name_claim",
    "scopes",
];

/// An `http(s)` URL that is `https`, or `http` on the loopback (for trying it locally).
fn secure_url(raw: &str) -> Result<String, String> {
    let v = non_empty(raw)?;
    let url = reqwest::Url::parse(v).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("expected an https:// URL (http:// only on the loopback)".into()),
        _ => return Err("expected an https:// URL".into()),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected a URL without query or fragment".into());
    }
    Ok(v.to_string())
}

/// A claim name: letters, digits and `_ - . : /` (URIs are common claim names).
fn claim_name(raw: &str) -> Result<String, String> {
    let v = non_empty(raw)?;
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c))
    {
        Ok(v.to_string())
    } else {
        Err("expected a claim name".into())
    }
}

/// The `[oidc]` values as given (raw), with where each came from, resolved into settings.
fn resolve_oidc(
    raw: &std::collections::BTreeMap<&'static str, (String, String, String)>,
    env: &dyn Fn(&str) -> Option<String>,
    public_url: Option<&str>,
) -> Result<Option<OidcSettings>, ConfigError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let invalid = |key: &str, message: String| {
        let (shown, source_name) = raw.get(key).map_or_else(
            || (format!("oidc.{key}"), "the configuration".to_string()),
            |(_, shown, source)| (shown.clone(), source.clone()),
        );
        ConfigError::Invalid {
            key: shown,
            source_name,
            message,
        }
    };
    let required = |key: &'static str| {
        raw.get(key).map(|(v, _, _)| v.as_str()).ok_or_else(|| {
            invalid(
                key,
                format!(
                    "single sign-on needs oidc.{key} (or PTL_OIDC_{}) when any oidc setting is given",
                    key.to_ascii_uppercase()
                ),
            )
        })
    };
    let optional = |key: &'static str, default: &str| {
        raw.get(key)
            .map_or_else(|| default.to_string(), |(v, _, _)| v.clone())
    };
    let issuer = secure_url(required("issuer")?).map_err(|m| invalid("issuer", m))?;
    let client_id = non_empty(required("client_id")?)
        .map_err(|m| invalid("client_id", m))?
        .to_string();
    let client_secret_env = non_empty(required("client_secret_env")?)
        .map_err(|m| invalid("client_secret_env", m))?
        .to_string();
    let client_secret = env(&client_secret_env)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            invalid(
                "client_secret_env",
                format!("the environment variable {client_secret_env} that should hold the client secret is not set"),
            )
        })?;
    // The callback under the public URL unless given.
    let redirect_uri = match (raw.contains_key("redirect_uri"), public_url) {
        (false, Some(base)) => format!("{}/sign-in/sso/callback", base.trim_end_matches('/')),
        _ => required("redirect_uri")?.to_string(),
    };
    let redirect_uri = secure_url(&redirect_uri).map_err(|m| invalid("redirect_uri", m))?;
    let role_claim =
        claim_name(&optional("role_claim", "role")).map_err(|m| invalid("role_claim", m))?;
    let office_claim =
        claim_name(&optional("office_claim", "office")).map_err(|m| invalid("office_claim", m))?;
    let name_claim =
        claim_name(&optional("name_claim", "name")).map_err(|m| invalid("name_claim", m))?;
    let mut scopes: Vec<String> = optional("scopes", "openid profile")
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    Ok(Some(OidcSettings {
        issuer,
        client_id,
        client_secret_env,
        client_secret: SecretString::from(client_secret),
        redirect_uri,
        role_claim,
        office_claim,
        name_claim,
        scopes,
    }))
}

/// Shows a URL's scheme only: user names, passwords and hosts stay out of logs.
fn redacted_url(url: &SecretString) -> String {
    let s = url.expose_secret();
    match s.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://[redacted]"),
        None => "[redacted]".to_string(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redacted_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("procedures_dir", &self.procedures_dir)
            .field("calendars_dir", &self.calendars_dir)
            .field("offices_file", &self.offices_file)
            .field(
                "rabbitmq_url",
                &self.rabbitmq_url.as_ref().map(redacted_url),
            )
            .field("jwt_public_key_file", &self.jwt_public_key_file)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_local_tokens", &self.jwt_local_tokens)
            .field("jwt_max_lifetime_secs", &self.jwt_max_lifetime_secs)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("rate_limit_per_address", &self.rate_limit_per_address)
            .field("rate_limit_per_user", &self.rate_limit_per_user)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("disclosure_threshold", &self.disclosure_threshold)
            .field("upcoming_working_days", &self.upcoming_working_days)
            .field("allow_non_durable", &self.allow_non_durable)
            .field("log_format", &self.log_format)
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "escalate_after_working_days",
                &self.escalate_after_working_days,
            )
            .field(
                "person_searches_per_minute",
                &self.person_searches_per_minute,
            )
            .field("public_url", &self.public_url)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_lifetime_hours", &self.session_lifetime_hours)
            .field("oidc", &self.oidc)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: SecretString::from("sqlite://./ptl-data/ptl.db"),
            data_dir: PathBuf::from("./ptl-data"),
            procedures_dir: None,
            calendars_dir: None,
            offices_file: None,
            rabbitmq_url: None,
            jwt_public_key_file: None,
            jwt_audience: Vec::new(),
            jwt_issuer: Vec::new(),
            jwt_local_tokens: true,
            jwt_max_lifetime_secs: 12 * 3600,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
            rate_limit_per_address: 120_000,
            rate_limit_per_user: 60_000,
            trusted_proxies: Vec::new(),
            request_timeout_secs: 10,
            disclosure_threshold: 5,
            upcoming_working_days: 3,
            allow_non_durable: false,
            log_format: LogFormat::Text,
            webhook_url: None,
            webhook_secret: None,
            escalate_after_working_days: 3,
            person_searches_per_minute: 30,
            public_url: None,
            session_idle_minutes: 30,
            session_lifetime_hours: 12,
            oidc: None,
        }
    }
}

/// Settings that cannot be loaded. Each message is one sentence naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The file is not TOML.
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A key no setting has.
    #[error("unknown setting `{key}` in {source_name}")]
    UnknownKey {
        /// The key.
        key: String,
        /// The file or `environment`.
        source_name: String,
    },
    /// A value of the wrong shape.
    #[error("invalid value for `{key}` (from {source_name}): {message}")]
    Invalid {
        /// The key (`listen`, or `PTL_LISTEN` for the environment).
        key: String,
        /// The file or `environment`.
        source_name: String,
        /// What was expected.
        message: String,
    },
}

/// Every key, in the file's spelling.
pub const KEYS: &[&str] = &[
    "listen",
    "database_url",
    "data_dir",
    "procedures_dir",
    "calendars_dir",
    "offices_file",
    "rabbitmq_url",
    "jwt_public_key_file",
    "jwt_audience",
    "jwt_issuer",
    "jwt_local_tokens",
    "jwt_max_lifetime_secs",
    "header_read_timeout_secs",
    "idle_timeout_secs",
    "max_connections",
    "rate_limit_per_address",
    "rate_limit_per_user",
    "trusted_proxies",
    "request_timeout_secs",
    "disclosure_threshold",
    "upcoming_working_days",
    "allow_non_durable",
    "log_format",
    "webhook_url",
    "webhook_secret",
    "escalate_after_working_days",
    "person_searches_per_minute",
    "public_url",
    "session_idle_minutes",
    "session_lifetime_hours",
];

fn env_name(key: &str) -> String {
    format!("PTL_{}", key.to_ascii_uppercase())
}

fn non_empty(raw: &str) -> Result<&str, String> {
    let t = raw.trim();
    if t.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(t)
    }
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_positive<T: std::str::FromStr + PartialEq + Default>(raw: &str) -> Result<T, String> {
    match raw.trim().parse::<T>() {
        Ok(v) if v != T::default() => Ok(v),
        _ => Err("expected a whole number greater than 0".into()),
    }
}

fn parse_count(raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse()
        .map_err(|_| "expected a whole number (0 switches the limit off)".to_string())
}

/// A comma-separated list, without empty entries.
fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

/// Why `jwt_secret` is refused in the file.
pub const JWT_SECRET_NOT_A_SETTING: &str = "the token secret is not read from the configuration file: it is the key file jwt.secret in the data directory, or PTL_JWT_SECRET (hex) in the environment; remove this key";

/// Applies one `key = raw` to `s`; the message explains what was expected.
fn apply(s: &mut Settings, key: &str, raw: &str) -> Result<(), String> {
    match key {
        "listen" => {
            s.listen = raw
                .trim()
                .parse()
                .map_err(|_| "expected an address such as 127.0.0.1:8080".to_string())?;
        }
        "database_url" => {
            let v = non_empty(raw)?;
            let ok = ["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| v.starts_with(p));
            if !ok {
                return Err("expected a sqlite:// or postgres:// URL".into());
            }
            s.database_url = SecretString::from(v);
        }
        "data_dir" => s.data_dir = PathBuf::from(non_empty(raw)?),
        "procedures_dir" => s.procedures_dir = Some(PathBuf::from(non_empty(raw)?)),
        "calendars_dir" => s.calendars_dir = Some(PathBuf::from(non_empty(raw)?)),
        "offices_file" => s.offices_file = Some(PathBuf::from(non_empty(raw)?)),
        "jwt_public_key_file" => s.jwt_public_key_file = Some(PathBuf::from(non_empty(raw)?)),
        "rabbitmq_url" => {
            let v = non_empty(raw)?;
            if !(v.starts_with("amqp://") || v.starts_with("amqps://")) {
                return Err("expected an amqp:// or amqps:// URL".into());
            }
            s.rabbitmq_url = Some(SecretString::from(v));
        }
        "jwt_audience" => s.jwt_audience = list(raw),
        "jwt_issuer" => s.jwt_issuer = list(raw),
        "jwt_local_tokens" => s.jwt_local_tokens = parse_bool(raw)?,
        "jwt_max_lifetime_secs" => s.jwt_max_lifetime_secs = parse_positive(raw)?,
        "header_read_timeout_secs" => s.header_read_timeout_secs = parse_positive(raw)?,
        "idle_timeout_secs" => s.idle_timeout_secs = parse_positive(raw)?,
        "max_connections" => s.max_connections = parse_positive(raw)?,
        "rate_limit_per_address" => s.rate_limit_per_address = parse_count(raw)?,
        "rate_limit_per_user" => s.rate_limit_per_user = parse_count(raw)?,
        "trusted_proxies" => {
            s.trusted_proxies = list(raw)
                .iter()
                .map(|a| a.parse().map_err(|_| format!("`{a}` is not an IP address")))
                .collect::<Result<_, _>>()?;
        }
        "request_timeout_secs" => s.request_timeout_secs = parse_positive(raw)?,
        "disclosure_threshold" => s.disclosure_threshold = parse_positive(raw)?,
        "upcoming_working_days" => {
            s.upcoming_working_days = raw
                .trim()
                .parse()
                .map_err(|_| "expected a whole number of days".to_string())?;
        }
        "allow_non_durable" => s.allow_non_durable = parse_bool(raw)?,
        "log_format" => {
            s.log_format = match raw.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("expected text or json".into()),
            }
        }
        "webhook_url" => {
            let v = non_empty(raw)?;
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                return Err("expected an http:// or https:// URL".into());
            }
            s.webhook_url = Some(v.to_string());
        }
        "webhook_secret" => {
            s.webhook_secret = Some(SecretString::from(non_empty(raw)?.to_string()))
        }
        "escalate_after_working_days" => s.escalate_after_working_days = parse_positive(raw)?,
        "person_searches_per_minute" => s.person_searches_per_minute = parse_positive(raw)?,
        "public_url" => {
            let v = non_empty(raw)?.trim_end_matches('/');
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                return Err("expected an http:// or https:// URL".into());
            }
            s.public_url = Some(v.to_string());
        }
        "session_idle_minutes" => s.session_idle_minutes = parse_positive(raw)?,
        "session_lifetime_hours" => {
            let h: u32 = parse_positive(raw)?;
            if h > 24 {
                return Err("a session may last at most 24 hours".into());
            }
            s.session_lifetime_hours = h;
        }
        _ => return Err("unknown setting".into()),
    }
    Ok(())
}

/// A TOML value as the text [`apply`] reads; tables and arrays are not settings.
fn toml_scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}

/// An array of strings, as the comma-separated text the list settings read.
fn toml_string_list(value: &toml::Value) -> Option<String> {
    let toml::Value::Array(items) = value else {
        return None;
    };
    items
        .iter()
        .map(|v| v.as_str().map(String::from))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.join(","))
}

/// Loads the settings: defaults, then `config_file` (if given; it must exist), then the
/// `PTL_<KEY>` variables that `env` returns. Pass `&|k| std::env::var(k).ok()` in production.
///
/// # Errors
///
/// [`ConfigError`] naming the file or variable and the key at fault.
pub fn load(
    config_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    // The `[oidc]` values: key -> (value, the key as shown in errors, where it came from).
    let mut oidc: std::collections::BTreeMap<&'static str, (String, String, String)> =
        std::collections::BTreeMap::new();
    if let Some(path) = config_file {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: shown.clone(),
                    message: e.message().to_string(),
                })?;
        for (key, value) in &table {
            if key == "jwt_secret" {
                return Err(ConfigError::Invalid {
                    key: key.clone(),
                    source_name: shown.clone(),
                    message: JWT_SECRET_NOT_A_SETTING.into(),
                });
            }
            if key == "oidc" {
                let toml::Value::Table(table) = value else {
                    return Err(ConfigError::Invalid {
                        key: key.clone(),
                        source_name: shown.clone(),
                        message: "expected a table ([oidc])".into(),
                    });
                };
                for (k, v) in table {
                    let Some(known) = OIDC_KEYS.iter().find(|o| **o == k.as_str()) else {
                        return Err(ConfigError::UnknownKey {
                            key: format!("oidc.{k}"),
                            source_name: shown.clone(),
                        });
                    };
                    let raw = toml_scalar(v)
                        .or_else(|| toml_string_list(v))
                        .ok_or_else(|| ConfigError::Invalid {
                            key: format!("oidc.{k}"),
                            source_name: shown.clone(),
                            message: "expected a string".into(),
                        })?;
                    oidc.insert(known, (raw, format!("oidc.{k}"), shown.clone()));
                }
                continue;
            }
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey {
                    key: key.clone(),
                    source_name: shown.clone(),
                });
            }
            let invalid = |message: String| ConfigError::Invalid {
                key: key.clone(),
                source_name: shown.clone(),
                message,
            };
            let raw = toml_scalar(value)
                .or_else(|| toml_string_list(value))
                .ok_or_else(|| invalid("expected a string, number or boolean".into()))?;
            apply(&mut settings, key, &raw).map_err(invalid)?;
        }
    }
    for key in KEYS {
        let name = env_name(key);
        if let Some(raw) = env(&name) {
            apply(&mut settings, key, &raw).map_err(|message| ConfigError::Invalid {
                key: name.clone(),
                source_name: "the environment".into(),
                message,
            })?;
        }
    }
    for key in OIDC_KEYS {
        let name = format!("PTL_OIDC_{}", key.to_ascii_uppercase());
        if let Some(raw) = env(&name) {
            oidc.insert(key, (raw, name, "the environment".into()));
        }
    }
    settings.oidc = resolve_oidc(&oidc, env, settings.public_url.as_deref())?;
    Ok(settings)
}

/// [`load`] with the process environment.
///
/// # Errors
///
/// As [`load`].
pub fn load_from_process_env(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
    load(config_file, &|k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_apply_without_file_or_environment() {
        let s = load(None, &no_env).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url.expose_secret(), "sqlite://./ptl-data/ptl.db");
        assert_eq!(s.data_dir, PathBuf::from("./ptl-data"));
        assert_eq!(s.request_timeout_secs, 10);
        assert_eq!(s.disclosure_threshold, 5);
        assert_eq!(s.upcoming_working_days, 3);
        assert!(!s.allow_non_durable);
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.procedures_dir.is_none() && s.rabbitmq_url.is_none());
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let f = write(
            r#"
            listen = "0.0.0.0:9000"
            request_timeout_secs = 30
            allow_non_durable = true
            log_format = "json"
            offices_file = "/etc/ptl/offices.toml"
            "#,
        );
        let env: HashMap<&str, &str> = HashMap::from([
            ("PTL_LISTEN", "127.0.0.1:9100"),
            ("PTL_DATABASE_URL", "postgres://ptl:s3cret@db/ptl"),
            ("PTL_DISCLOSURE_THRESHOLD", "10"),
        ]);
        let s = load(Some(f.path()), &|k| env.get(k).map(|v| (*v).to_string())).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(s.request_timeout_secs, 30);
        assert!(s.allow_non_durable);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.offices_file, Some(PathBuf::from("/etc/ptl/offices.toml")));
        assert_eq!(s.disclosure_threshold, 10);
        assert_eq!(
            s.database_url.expose_secret(),
            "postgres://ptl:s3cret@db/ptl"
        );
    }

    #[test]
    fn the_person_search_limit_is_30_a_minute_unless_configured() {
        assert_eq!(load(None, &no_env).unwrap().person_searches_per_minute, 30);
        let f = write("person_searches_per_minute = 12\n");
        assert_eq!(
            load(Some(f.path()), &no_env)
                .unwrap()
                .person_searches_per_minute,
            12
        );
        let env = |k: &str| (k == "PTL_PERSON_SEARCHES_PER_MINUTE").then(|| "5".to_string());
        assert_eq!(
            load(Some(f.path()), &env)
                .unwrap()
                .person_searches_per_minute,
            5
        );
        let zero = |k: &str| (k == "PTL_PERSON_SEARCHES_PER_MINUTE").then(|| "0".to_string());
        assert!(load(None, &zero).is_err());
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("PTL_DATABASE_URL", "postgres://ptl:s3cret@db/ptl"),
            ("PTL_RABBITMQ_URL", "amqp://guest:hunter2@mq:5672"),
            (
                "PTL_WEBHOOK_SECRET",
                "a-very-long-shared-secret-of-40-bytes!!",
            ),
        ]);
        let s = load(None, &|k| env.get(k).map(|v| (*v).to_string())).unwrap();
        let debug = format!("{s:?}");
        for secret in ["s3cret", "hunter2", "a-very-long", "db/ptl"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("postgres://[redacted]"), "{debug}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let f = write("lisen = \"0.0.0.0:1\"\n");
        let e = load(Some(f.path()), &no_env).unwrap_err();
        assert!(matches!(&e, ConfigError::UnknownKey { key, .. } if key == "lisen"));
        assert!(
            e.to_string().starts_with("unknown setting `lisen` in "),
            "{e}"
        );
    }

    #[test]
    fn a_bad_value_names_its_key_and_source() {
        let f = write("request_timeout_secs = \"soon\"\n");
        let e = load(Some(f.path()), &no_env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid value for `request_timeout_secs` (from "),
            "{e}"
        );

        let bad_env = [
            ("PTL_LISTEN", "localhost"),
            ("PTL_LOG_FORMAT", "xml"),
            ("PTL_ALLOW_NON_DURABLE", "maybe"),
            ("PTL_REQUEST_TIMEOUT_SECS", "0"),
            ("PTL_DATABASE_URL", "mysql://x"),
            ("PTL_MAX_CONNECTIONS", "0"),
        ];
        for (name, value) in bad_env {
            let e = load(None, &|k| (k == name).then(|| value.to_string())).unwrap_err();
            assert_eq!(
                e.to_string().split(':').next().unwrap(),
                format!("invalid value for `{name}` (from the environment)"),
                "{e}"
            );
            assert!(!e.to_string().contains("short"), "{e}");
        }
    }

    #[test]
    fn jwt_secret_in_the_file_is_refused_with_the_reason() {
        let f = write("jwt_secret = \"0123456789abcdef0123456789abcdef0123\"\n");
        let e = load(Some(f.path()), &no_env).unwrap_err();
        assert!(matches!(&e, ConfigError::Invalid { key, .. } if key == "jwt_secret"));
        assert!(
            e.to_string().contains("jwt.secret in the data directory"),
            "{e}"
        );
        assert!(!e.to_string().contains("0123456789abcdef"), "{e}");
    }

    #[test]
    fn token_and_connection_limits_have_defaults_and_can_be_set() {
        let s = load(None, &no_env).unwrap();
        assert_eq!(s.jwt_max_lifetime_secs, 43_200);
        assert!(s.jwt_local_tokens && s.jwt_audience.is_empty() && s.jwt_issuer.is_empty());
        assert_eq!(s.max_connections, 1024);
        assert!(s.trusted_proxies.is_empty());
        let f = write(
            r#"
            jwt_audience = ["ptl", "ptl-web"]
            jwt_issuer = "https://idp.example"
            jwt_local_tokens = false
            jwt_max_lifetime_secs = 3600
            header_read_timeout_secs = 5
            idle_timeout_secs = 30
            max_connections = 64
            rate_limit_per_address = 600
            rate_limit_per_user = 0
            trusted_proxies = "10.0.0.1, ::1"
            "#,
        );
        let s = load(Some(f.path()), &no_env).unwrap();
        assert_eq!(
            s.jwt_audience,
            vec!["ptl".to_string(), "ptl-web".to_string()]
        );
        assert_eq!(s.jwt_issuer, vec!["https://idp.example".to_string()]);
        assert!(!s.jwt_local_tokens);
        assert_eq!(s.jwt_max_lifetime_secs, 3600);
        assert_eq!((s.header_read_timeout_secs, s.idle_timeout_secs), (5, 30));
        assert_eq!(s.max_connections, 64);
        assert_eq!((s.rate_limit_per_address, s.rate_limit_per_user), (600, 0));
        assert_eq!(s.trusted_proxies.len(), 2);
    }

    #[test]
    fn a_missing_or_broken_file_is_an_error() {
        let e = load(Some(Path::new("/nonexistent/ptl.toml")), &no_env).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
        let f = write("listen = \n");
        let e = load(Some(f.path()), &no_env).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    }

    fn oidc_file() -> tempfile::NamedTempFile {
        write(
            r#"
            listen = "127.0.0.1:8080"
            [oidc]
            issuer = "https://idp.example/realms/ptl/"
            client_id = "ptl-web"
            client_secret_env = "PTL_TEST_OIDC_SECRET"
            redirect_uri = "https://ptl.example/sign-in/sso/callback"
            office_claim = "ptl_office"
            "#,
        )
    }

    #[test]
    fn single_sign_on_is_configured_by_the_oidc_table_with_the_secret_from_the_environment() {
        assert!(load(None, &no_env).unwrap().oidc.is_none());
        let f = oidc_file();
        let env = |k: &str| (k == "PTL_TEST_OIDC_SECRET").then(|| "s3cret-value".to_string());
        let s = load(Some(f.path()), &env).unwrap();
        let o = s.oidc.clone().unwrap();
        // Kept exactly as given: the provider's `iss` must equal it.
        assert_eq!(o.issuer, "https://idp.example/realms/ptl/");
        assert_eq!(o.client_id, "ptl-web");
        assert_eq!(o.client_secret.expose_secret(), "s3cret-value");
        assert_eq!(o.redirect_uri, "https://ptl.example/sign-in/sso/callback");
        assert_eq!(
            (
                o.role_claim.as_str(),
                o.office_claim.as_str(),
                o.name_claim.as_str()
            ),
            ("role", "ptl_office", "name")
        );
        assert_eq!(o.scopes, vec!["openid".to_string(), "profile".to_string()]);
        let debug = format!("{s:?}");
        assert!(!debug.contains("s3cret-value"), "{debug}");
        assert!(debug.contains("PTL_TEST_OIDC_SECRET"), "{debug}");

        // The environment alone, and the scopes always with `openid`.
        let env = |k: &str| match k {
            "PTL_OIDC_ISSUER" => Some("http://localhost:9000".to_string()),
            "PTL_OIDC_CLIENT_ID" => Some("ptl".to_string()),
            "PTL_OIDC_CLIENT_SECRET_ENV" => Some("IDP_SECRET".to_string()),
            "PTL_OIDC_REDIRECT_URI" => {
                Some("http://127.0.0.1:8080/sign-in/sso/callback".to_string())
            }
            "PTL_OIDC_SCOPES" => Some("profile email".to_string()),
            "IDP_SECRET" => Some("x".to_string()),
            _ => None,
        };
        let o = load(None, &env).unwrap().oidc.unwrap();
        assert_eq!(o.issuer, "http://localhost:9000");
        assert_eq!(o.scopes, vec!["openid", "profile", "email"]);
        assert_eq!(o.redirect_uri, "http://127.0.0.1:8080/sign-in/sso/callback");

        // Without a redirect URI, the callback under the public URL.
        let f = write(
            "public_url = \"https://ptl.example/\"\n[oidc]\nissuer = \"https://idp.example\"\nclient_id = \"ptl\"\nclient_secret_env = \"S\"\n",
        );
        let o = load(Some(f.path()), &|k: &str| {
            (k == "S").then(|| "x".to_string())
        })
        .unwrap()
        .oidc
        .unwrap();
        assert_eq!(o.redirect_uri, "https://ptl.example/sign-in/sso/callback");
    }

    #[test]
    fn a_broken_oidc_table_is_refused_naming_the_key() {
        // The secret's variable is not set.
        let e = load(Some(oidc_file().path()), &no_env).unwrap_err();
        assert!(
            e.to_string().contains("`oidc.client_secret_env`")
                && e.to_string().contains("PTL_TEST_OIDC_SECRET"),
            "{e}"
        );
        let secret = |k: &str| (k == "S").then(|| "x".to_string());
        let cases = [
            ("issuer = \"http://idp.example\"", "oidc.issuer", "https"),
            ("issuer = \"not a url\"", "oidc.issuer", "not a URL"),
            (
                "redirect_uri = \"http://ptl.example/cb\"",
                "oidc.redirect_uri",
                "https",
            ),
            ("role_claim = \"a b\"", "oidc.role_claim", "claim name"),
            ("colour = \"blue\"", "oidc.colour", "unknown setting"),
        ];
        for (line, key, says) in cases {
            let mut table = vec![
                ("issuer", "issuer = \"https://idp.example\""),
                ("client_id", "client_id = \"ptl\""),
                ("client_secret_env", "client_secret_env = \"S\""),
                (
                    "redirect_uri",
                    "redirect_uri = \"https://ptl.example/sign-in/sso/callback\"",
                ),
            ];
            table.retain(|(k, _)| !line.starts_with(k));
            let text = format!(
                "[oidc]\n{}\n{line}\n",
                table.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("\n")
            );
            let e = load(Some(write(&text).path()), &secret).unwrap_err();
            assert!(
                e.to_string().contains(&format!("`{key}`")) && e.to_string().contains(says),
                "{line}: {e}"
            );
        }
        // A required key missing.
        let e = load(
            Some(write("[oidc]\nissuer = \"https://idp.example\"\n").path()),
            &secret,
        )
        .unwrap_err();
        assert!(e.to_string().contains("oidc.client_id"), "{e}");
    }
}
