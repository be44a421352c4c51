//! Single sign-on with an OpenID Connect provider: the relying party's side (`web.md`, Signing
//! in).
//!
//! The authorization-code flow with PKCE (S256): [`Oidc::begin`] reads the provider's discovery
//! document (`<issuer>/.well-known/openid-configuration`, cached), draws `state`, `nonce` and the
//! code verifier, keeps them on the server under `state` for ten minutes, and returns the
//! provider's authorization URL and a browser binding value for a short-lived `SameSite=Lax`
//! cookie. The provider sends the browser back to the callback by a cross-site navigation, which
//! carries no `Strict` cookie but does carry the `Lax` one: [`Oidc::complete`] takes the flow out
//! by `state` (once: a replayed callback finds nothing), requires the same browser (the binding
//! cookie, against login CSRF: someone else's callback URL signs nobody in), checks the `iss`
//! parameter when the provider sends one (RFC 9207), exchanges the code with the client secret and
//! the verifier, and validates the id_token: an asymmetric signature by a key of the provider's
//! JWKS (`DecodingKey::from_jwk`; refetched once when a `kid` is unknown, for key rotation), `iss`,
//! `aud` (with `azp` when there are several audiences), `exp`, `iat` and the `nonce`. Its role and
//! office claims (names configured) are then checked against the office tree exactly as an API
//! token's are ([`crate::offices::OfficeTree::role_fits`]): a role that does not belong to the
//! office's kind, or an office the tree does not know, is refused with a sentence that says so.
//!
//! The flows under way are kept in the store (`sso_pending`, by the SHA-256 of their `state`;
//! [`ptl_engine::accounts::SsoFlow`]): with several server instances behind one address, the
//! provider's redirect may reach any of them, and a redirect is taken out (used) once.

use std::fmt;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ptl_domain::Role;
use rand::RngCore as _;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use ptl_engine::accounts::{NewUser, SsoFlow, User, UserChange};
use ptl_engine::pipeline::Engine;
use ptl_engine::security::SecurityEntry;
use serde_json::json;

use super::page::{render, Chrome};
use super::session::{client_address, cookie, page_lang};
use crate::config::OidcSettings;
use crate::http::AppState;
use crate::i18n::{self, Lang};
use crate::offices::OfficeTree;

/// How long a started sign-in may take before its callback is refused.
pub const FLOW_TTL: Duration = Duration::from_secs(600);

/// Sign-ins under way at once, at most (a flood of `/sign-in/sso` cannot grow the table further).
pub const MAX_PENDING: i64 = 10_000;

/// How long the discovery document is trusted before it is read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The JWKS is read again for an unknown `kid` at most this often.
const JWKS_REFRESH_MIN: Duration = Duration::from_secs(60);

/// Clock skew tolerated on `exp` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 60;

/// Calls to the provider give up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the provider's account cannot act in this system: its role and office claims, checked
/// against the office tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimsProblem {
    /// No role claim (its name).
    NoRole(String),
    /// A role this system does not have (or `system`).
    UnknownRole(String),
    /// No office claim (its name).
    NoOffice(String),
    /// An office the tree does not know.
    UnknownOffice(String),
    /// A role that does not belong to the office's kind.
    RoleNotAtOffice(Role, String),
}

/// Why a single sign-on did not sign the user in. [`SsoError::text`] is the sentence for the
/// person at the browser, from the translation catalogue; [`fmt::Display`] is the technical
/// detail for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    /// The provider could not be reached, or answered something unusable.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// No sign-in under way for this `state`: expired, already completed, or never started.
    #[error("no sign-in under way for this state")]
    UnknownState,
    /// The callback came to another browser than the one that started the sign-in.
    #[error("the callback is not from the browser that started the sign-in")]
    OtherBrowser,
    /// The provider answered with an error (`error`, `error_description`).
    #[error("the identity provider answered {error}: {description}")]
    Provider {
        /// The OAuth error code.
        error: String,
        /// The provider's description, if any.
        description: String,
    },
    /// The id_token was issued for another application.
    #[error("id_token audience {got:?} is not this client {expected}")]
    Audience {
        /// The token's `aud`.
        got: Vec<String>,
        /// This application's client id.
        expected: String,
    },
    /// The id_token (or the callback) names another issuer.
    #[error("issuer {got} is not the configured {expected}")]
    Issuer {
        /// What the token or callback said.
        got: String,
        /// The configured issuer.
        expected: String,
    },
    /// The id_token is not valid: signature, algorithm, expiry, nonce, missing claims.
    #[error("invalid id_token: {0}")]
    Token(String),
    /// The account's claims give no usable role or office.
    #[error("unusable claims: {0:?}")]
    Claims(ClaimsProblem),
}

impl SsoError {
    /// The sentence shown to the person at the browser, in `lang`.
    #[must_use]
    pub fn text(&self, lang: Lang) -> String {
        let t = |key: &str, args: &[(&str, &str)]| i18n::t_args(lang, key, args);
        match self {
            Self::Unavailable(_) => t("sso-unavailable", &[]),
            Self::UnknownState => t("sso-unknown-state", &[]),
            Self::OtherBrowser => t("sso-other-browser", &[]),
            Self::Provider { error, .. } => t("sso-provider-error", &[("error", error)]),
            Self::Audience { got, expected } => t(
                "sso-audience",
                &[("got", &got.join(", ")), ("expected", expected)],
            ),
            Self::Issuer { got, expected } => {
                t("sso-issuer", &[("got", got), ("expected", expected)])
            }
            Self::Token(_) => t("sso-token", &[]),
            Self::Claims(ClaimsProblem::NoRole(claim)) => t("sso-no-role", &[("claim", claim)]),
            Self::Claims(ClaimsProblem::UnknownRole(role)) => t(
                "sso-unknown-role",
                &[("role", role), ("roles", &user_roles(lang))],
            ),
            Self::Claims(ClaimsProblem::NoOffice(claim)) => t("sso-no-office", &[("claim", claim)]),
            Self::Claims(ClaimsProblem::UnknownOffice(office)) => {
                t("sso-unknown-office", &[("office", office)])
            }
            Self::Claims(ClaimsProblem::RoleNotAtOffice(role, office)) => t(
                "sso-role-not-at-office",
                &[("role", &role_label(lang, *role)), ("office", office)],
            ),
        }
    }

    /// A stable name of the kind of failure (the security log's outcome).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::UnknownState => "unknown_state",
            Self::OtherBrowser => "other_browser",
            Self::Provider { .. } => "provider_error",
            Self::Audience { .. } => "audience",
            Self::Issuer { .. } => "issuer",
            Self::Token(_) => "token",
            Self::Claims(_) => "claims",
        }
    }
}

/// Who the provider signed in, checked against the office tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The provider (its issuer URL).
    pub issuer: String,
    /// The provider's subject identifier (`sub`): stable for the person at this provider.
    pub subject: String,
    /// The display name (the name claim, or the subject without one).
    pub name: String,
    /// The role, from the role claim.
    pub role: Role,
    /// The office code, from the office claim.
    pub office: String,
}

/// The start of a sign-in: where to send the browser, and the value of the binding cookie.
#[derive(Debug, Clone)]
pub struct Begin {
    /// The provider's authorization URL with every parameter.
    pub authorization_url: String,
    /// The value for the short-lived `SameSite=Lax` cookie that ties the callback to this
    /// browser.
    pub binding: String,
}

/// What the provider's redirect brings to the callback (its query string).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` this server drew.
    pub state: Option<String>,
    /// The issuer, when the provider sends it (RFC 9207).
    pub iss: Option<String>,
    /// An OAuth error code instead of a code.
    pub error: Option<String>,
    /// The error's description.
    pub error_description: Option<String>,
}

/// The parts of the discovery document used here.
#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct Cache {
    metadata: Option<(Metadata, Instant)>,
    jwks: Option<(Vec<Jwk>, Instant)>,
}

/// The relying party: configuration, the provider's cached metadata and keys, and the sign-ins
/// under way. Shared by the handlers (`Arc`).
pub struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Cache>,
}

impl fmt::Debug for Oidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `n` random bytes, base64url without padding.
fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a text, in hex (what the store keeps of a state or a binding cookie).
fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
#[must_use]
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether an endpoint the provider names may be called: https, or http on the loopback.
fn endpoint_allowed(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| match u.scheme() {
        "https" => true,
        "http" => matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        _ => false,
    })
}

impl Oidc {
    /// A relying party for these settings.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built (the TLS trust store cannot be read).
    pub fn new(settings: OidcSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("the HTTP client for single sign-on: {e}"))?;
        Ok(Self {
            settings,
            http,
            cache: tokio::sync::Mutex::new(Cache::default()),
        })
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, SsoError> {
        let r = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| SsoError::Unavailable(format!("GET {url}: {e}")))?;
        if !r.status().is_success() {
            return Err(SsoError::Unavailable(format!("GET {url}: {}", r.status())));
        }
        r.json()
            .await
            .map_err(|e| SsoError::Unavailable(format!("GET {url}: not the expected JSON: {e}")))
    }

    /// The discovery document, read when missing or older than an hour.
    async fn metadata(&self) -> Result<Metadata, SsoError> {
        let mut cache = self.cache.lock().await;
        if let Some((m, at)) = &cache.metadata {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let m: Metadata = self.get_json(&url).await?;
        // OpenID Connect Discovery §4.3: the document's issuer is exactly the configured one.
        if m.issuer != self.settings.issuer {
            return Err(SsoError::Unavailable(format!(
                "the discovery document names the issuer {}, not the configured {}",
                m.issuer, self.settings.issuer
            )));
        }
        for endpoint in [&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri] {
            if !endpoint_allowed(endpoint) {
                return Err(SsoError::Unavailable(format!(
                    "the discovery document names the endpoint {endpoint}, which is not https"
                )));
            }
        }
        if let Some(methods) = &m.code_challenge_methods_supported {
            if !methods.iter().any(|x| x == "S256") {
                return Err(SsoError::Unavailable(
                    "the provider does not support PKCE with S256".into(),
                ));
            }
        }
        cache.metadata = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    /// The provider's signing keys; read again when `kid` is unknown (key rotation), at most once
    /// a minute.
    async fn key_for(&self, jwks_uri: &str, kid: Option<&str>) -> Result<Jwk, SsoError> {
        let mut cache = self.cache.lock().await;
        let find = |keys: &[Jwk]| -> Option<Jwk> {
            let signing = keys.iter().filter(|k| {
                !matches!(
                    k.common.public_key_use,
                    Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
                )
            });
            match kid {
                Some(kid) => signing
                    .clone()
                    .find(|k| k.common.key_id.as_deref() == Some(kid))
                    .cloned(),
                // Without a `kid`, only an unambiguous set will do.
                None => {
                    let all: Vec<&Jwk> = signing.collect();
                    (all.len() == 1).then(|| all[0].clone())
                }
            }
        };
        if let Some((keys, _)) = &cache.jwks {
            if let Some(k) = find(keys) {
                return Ok(k);
            }
        }
        let fresh_enough = cache
            .jwks
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < JWKS_REFRESH_MIN);
        if !fresh_enough {
            let set: Value = self.get_json(jwks_uri).await?;
            // Keys this library cannot read (other types, encryption keys) are left out one by
            // one rather than failing the whole set.
            let keys: Vec<Jwk> = set["keys"]
                .as_array()
                .map(|ks| {
                    ks.iter()
                        .filter_map(|k| serde_json::from_value(k.clone()).ok())
                        .collect()
                })
                .unwrap_or_default();
            cache.jwks = Some((keys, Instant::now()));
        }
        cache
            .jwks
            .as_ref()
            .and_then(|(keys, _)| find(keys))
            .ok_or_else(|| {
                SsoError::Token(format!(
                    "signed with a key the provider does not publish (kid {})",
                    kid.unwrap_or("none")
                ))
            })
    }

    /// Starts a sign-in: the provider's authorization URL and the binding cookie's value.
    ///
    /// # Errors
    ///
    /// [`SsoError::Unavailable`] when the provider's discovery document cannot be read or is not
    /// acceptable, or when too many sign-ins are under way.
    pub async fn begin(&self, engine: &Engine) -> Result<Begin, SsoError> {
        let m = self.metadata().await?;
        let state = random_token(32);
        let nonce = random_token(32);
        let verifier = random_token(32);
        let binding = random_token(32);
        let challenge = pkce_challenge(&verifier);
        let now = engine.clock().now();
        let flow = SsoFlow {
            binding_hash: sha256_hex(&binding),
            verifier,
            nonce: nonce.clone(),
            started_at: now,
        };
        let expired_before = now - chrono::Duration::from_std(FLOW_TTL).unwrap_or_default();
        let kept = engine
            .begin_sso_flow(&sha256_hex(&state), &flow, expired_before, MAX_PENDING)
            .await
            .map_err(|e| SsoError::Unavailable(format!("the store: {e}")))?;
        if !kept {
            return Err(SsoError::Unavailable(
                "too many sign-ins under way at once".into(),
            ));
        }
        let mut url = reqwest::Url::parse(&m.authorization_endpoint)
            .map_err(|e| SsoError::Unavailable(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_uri)
            .append_pair("scope", &self.settings.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(Begin {
            authorization_url: url.into(),
            binding,
        })
    }

    /// Completes a sign-in from the provider's redirect: the identity, checked against `offices`.
    /// `binding` is the binding cookie's value as the browser sent it.
    ///
    /// # Errors
    ///
    /// Every [`SsoError`]: see the module's documentation for the checks.
    pub async fn complete(
        &self,
        engine: &Engine,
        callback: &Callback,
        binding: Option<&str>,
        offices: &OfficeTree,
    ) -> Result<SsoIdentity, SsoError> {
        let state = callback.state.as_deref().ok_or(SsoError::UnknownState)?;
        // Taken out at once: a callback can be used only once, whatever follows.
        let now = engine.clock().now();
        let pending = engine
            .take_sso_flow(&sha256_hex(state))
            .await
            .map_err(|e| SsoError::Unavailable(format!("the store: {e}")))?
            .filter(|p| {
                now.signed_duration_since(p.started_at)
                    .to_std()
                    .is_ok_and(|age| age < FLOW_TTL)
            })
            .ok_or(SsoError::UnknownState)?;
        if binding.map(sha256_hex).as_deref() != Some(pending.binding_hash.as_str()) {
            return Err(SsoError::OtherBrowser);
        }
        if let Some(iss) = &callback.iss {
            if iss != &self.settings.issuer {
                return Err(SsoError::Issuer {
                    got: iss.clone(),
                    expected: self.settings.issuer.clone(),
                });
            }
        }
        if let Some(error) = &callback.error {
            return Err(SsoError::Provider {
                error: error.chars().take(100).collect(),
                description: callback
                    .error_description
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| SsoError::Provider {
                error: "no_code".into(),
                description: "the provider sent the browser back without a code".into(),
            })?;
        let m = self.metadata().await?;
        let id_token = self.exchange(&m, code, &pending.verifier).await?;
        let header = jsonwebtoken::decode_header(&id_token)
            .map_err(|e| SsoError::Token(format!("unreadable header: {e}")))?;
        let jwk = self.key_for(&m.jwks_uri, header.kid.as_deref()).await?;
        let claims = validate_id_token(
            &id_token,
            &jwk,
            &self.settings.issuer,
            &self.settings.client_id,
            &pending.nonce,
        )?;
        identity(&claims, &self.settings, offices)
    }

    /// The token request (client_secret_basic, the code and the PKCE verifier): the id_token.
    async fn exchange(&self, m: &Metadata, code: &str, verifier: &str) -> Result<String, SsoError> {
        // RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic.
        let form = |s: &str| {
            reqwest::Url::parse_with_params("x:", [("v", s)])
                .map(|u| u.query().unwrap_or("").trim_start_matches("v=").to_string())
                .unwrap_or_default()
        };
        let r = self
            .http
            .post(&m.token_endpoint)
            .basic_auth(
                form(&self.settings.client_id),
                Some(form(self.settings.client_secret.expose_secret())),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.settings.redirect_uri.as_str()),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .map_err(|e| SsoError::Unavailable(format!("token endpoint: {e}")))?;
        let status = r.status();
        let body: Value = r
            .json()
            .await
            .map_err(|e| SsoError::Unavailable(format!("token endpoint ({status}): {e}")))?;
        if !status.is_success() {
            return Err(SsoError::Provider {
                error: body["error"].as_str().unwrap_or("token_error").to_string(),
                description: body["error_description"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        body["id_token"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| SsoError::Token("the token response has no id_token".into()))
    }
}

/// The asymmetric algorithms an id_token may be signed with (never `none` or a shared secret).
const ACCEPTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Validates an id_token against one of the provider's keys: the signature (an asymmetric
/// algorithm the key is for), `iss`, `aud` (and `azp` when there are several audiences), `exp`,
/// `iat`, `sub` and the `nonce` of this sign-in. Returns the claims.
///
/// # Errors
///
/// [`SsoError::Audience`], [`SsoError::Issuer`] or [`SsoError::Token`] naming what failed.
pub fn validate_id_token(
    token: &str,
    jwk: &Jwk,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<Map<String, Value>, SsoError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| SsoError::Token(format!("unreadable header: {e}")))?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(SsoError::Token(format!(
            "the algorithm {:?} is not accepted",
            header.alg
        )));
    }
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Err(SsoError::Token(
            "a shared-secret key is not accepted".into(),
        ));
    }
    if let Some(key_alg) = jwk.common.key_algorithm {
        if format!("{key_alg:?}") != format!("{:?}", header.alg) {
            return Err(SsoError::Token(format!(
                "signed with {:?} by a key meant for {key_alg:?}",
                header.alg
            )));
        }
    }
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|e| SsoError::Token(format!("the provider's key cannot be read: {e}")))?;
    let mut v = Validation::new(header.alg);
    v.leeway = LEEWAY_SECS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.set_issuer(&[issuer]);
    v.set_audience(&[client_id]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidAudience => SsoError::Audience {
                got: audiences(&payload(token)),
                expected: client_id.to_string(),
            },
            K::InvalidIssuer => SsoError::Issuer {
                got: payload(token)["iss"].as_str().unwrap_or("").to_string(),
                expected: issuer.to_string(),
            },
            K::ExpiredSignature => SsoError::Token("it has expired".into()),
            K::ImmatureSignature => SsoError::Token("it is not valid yet".into()),
            K::InvalidSignature => SsoError::Token("its signature does not verify".into()),
            K::MissingRequiredClaim(c) => SsoError::Token(format!("it has no `{c}` claim")),
            K::InvalidAlgorithm => {
                SsoError::Token("its algorithm does not fit the provider's key".into())
            }
            _ => SsoError::Token(e.to_string()),
        }
    })?;
    let claims = data.claims;
    let aud = audiences(&Value::Object(claims.clone()));
    if aud.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(client_id) {
        return Err(SsoError::Audience {
            got: aud,
            expected: client_id.to_string(),
        });
    }
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
    let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat > now.saturating_add(leeway) => {
            return Err(SsoError::Token("it was issued in the future".into()))
        }
        Some(_) => {}
        None => return Err(SsoError::Token("it has no `iat` claim".into())),
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(SsoError::Token(
            "its nonce is not the one of this sign-in".into(),
        ));
    }
    Ok(claims)
}

/// The payload of a JWT without verification (only to word an error).
fn payload(token: &str) -> Value {
    token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// A claim by name: a top-level claim, or a dotted path into nested objects
/// (`realm_access.role`) when no top-level claim has the whole name.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut v = claims.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

/// The identity in validated claims: subject, name, and the role and office checked against the
/// office tree as for an API token.
///
/// # Errors
///
/// [`SsoError::Claims`]: a missing or unknown role, the role `system`, a missing office, an
/// office the tree does not know, or a role that does not belong to the office's kind.
pub fn identity(
    claims: &Map<String, Value>,
    settings: &OidcSettings,
    offices: &OfficeTree,
) -> Result<SsoIdentity, SsoError> {
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SsoError::Token("it has no subject".into()))?
        .to_string();
    let text = |name: &str| claim(claims, name).and_then(Value::as_str).map(str::trim);
    let short = |v: &str| v.chars().take(40).collect::<String>();
    let role_text = text(&settings.role_claim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| SsoError::Claims(ClaimsProblem::NoRole(settings.role_claim.clone())))?;
    let role: Role = role_text
        .parse()
        .ok()
        .filter(|r| *r != Role::System)
        .ok_or_else(|| SsoError::Claims(ClaimsProblem::UnknownRole(short(role_text))))?;
    let office = text(&settings.office_claim)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| SsoError::Claims(ClaimsProblem::NoOffice(settings.office_claim.clone())))?
        .to_string();
    if offices.get(&office).is_none() {
        return Err(SsoError::Claims(ClaimsProblem::UnknownOffice(short(
            &office,
        ))));
    }
    if !offices.role_fits(role, &office) {
        return Err(SsoError::Claims(ClaimsProblem::RoleNotAtOffice(
            role, office,
        )));
    }
    let name = text(&settings.name_claim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| subject.clone(), |n| n.chars().take(200).collect());
    Ok(SsoIdentity {
        issuer: settings.issuer.clone(),
        subject,
        name,
        role,
        office,
    })
}

/// A role's label in the catalogue (`role-<code>`), or its code while the catalogue has none.
fn role_label(lang: Lang, role: Role) -> String {
    let key = format!("role-{}", role.as_str());
    if i18n::has(lang, &key) {
        i18n::t(lang, &key)
    } else {
        role.as_str().to_string()
    }
}

fn user_roles(lang: Lang) -> String {
    Role::ALL
        .iter()
        .filter(|r| **r != Role::System)
        .map(|r| role_label(lang, *r))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// The routes: `GET /sign-in/sso` starts a sign-in, `GET /sign-in/sso/callback` completes it.
// ---------------------------------------------------------------------------------------------

/// The binding cookie's name behind HTTPS (`__Host-`: this host only, `Secure`, `Path=/`).
pub const SECURE_BINDING_COOKIE: &str = "__Host-ptl_sso";
/// The binding cookie's name on plain HTTP.
pub const PLAIN_BINDING_COOKIE: &str = "ptl_sso";

fn binding_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_BINDING_COOKIE
    } else {
        PLAIN_BINDING_COOKIE
    }
}

/// The binding cookie: `SameSite=Lax`, so the provider's cross-site redirect to the callback
/// (a top-level GET navigation) carries it, while no cross-site form or script request does.
fn binding_cookie(secure: bool, value: &str, max_age: u64) -> String {
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        binding_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// The single sign-on routes (they answer 404 when no issuer is configured).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in/sso", get(start))
        .route("/sign-in/sso/callback", get(callback))
}

#[derive(Template)]
#[template(path = "sso_continue.html")]
struct ContinuePage {
    chrome: Chrome,
    next: String,
}

/// A refusal, on a page that says why and leads back to the sign-in page.
fn refused(lang: Lang, status: StatusCode, text: String, secure: bool) -> Response {
    let mut response = super::message_page(
        status,
        Chrome::anonymous(lang, "sso-refused-title"),
        true,
        text,
        Some(("/sign-in".to_string(), i18n::t(lang, "sso-try-again"))),
    );
    let h = response.headers_mut();
    // The callback's URL (code, state) is not passed on in a Referer.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(v) = binding_cookie(secure, "", 0).parse() {
        h.append(SET_COOKIE, v);
    }
    response
}

fn not_configured(lang: Lang) -> Response {
    super::message_page(
        StatusCode::NOT_FOUND,
        Chrome::anonymous(lang, "web-not-found-title"),
        true,
        i18n::t(lang, "web-not-found"),
        Some(("/sign-in".to_string(), i18n::t(lang, "sso-try-again"))),
    )
}

async fn start(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let lang = page_lang(&headers);
    let Some(sso) = s.sso.clone() else {
        return not_configured(lang);
    };
    let secure = s.web.secure_cookie();
    match sso.begin(&s.app.engine).await {
        Ok(begin) => {
            let mut response = Redirect::to(&begin.authorization_url).into_response();
            if let Ok(v) = binding_cookie(secure, &begin.binding, FLOW_TTL.as_secs()).parse() {
                response.headers_mut().append(SET_COOKIE, v);
            }
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on cannot start");
            refused(lang, StatusCode::BAD_GATEWAY, e.text(lang), secure)
        }
    }
}

/// The provider's answer: the account's sign-in name in this system for a subject (`sso:` and
/// the subject; a subject with capitals, which logins do not keep, by its hash).
#[must_use]
pub fn sso_login(subject: &str) -> String {
    if subject.chars().all(|c| !c.is_uppercase()) && subject.len() <= 200 {
        format!("sso:{subject}")
    } else {
        format!(
            "sso:{}",
            &hex::encode(Sha256::digest(subject.as_bytes()))[..32]
        )
    }
}

/// Why a valid identity still cannot sign in (the account in this system).
enum AccountRefusal {
    LocalAccount,
    Disabled,
    Store(String),
}

/// The local account of a single sign-on identity: created on its first sign-in (marked as
/// single sign-on, without a password), and its name, role and office brought up to the
/// provider's on each later one.
async fn account(
    s: &AppState,
    id: &SsoIdentity,
    address: Option<&str>,
) -> Result<User, AccountRefusal> {
    let engine = &s.app.engine;
    let login = sso_login(&id.subject);
    let store = |e: &dyn fmt::Display| AccountRefusal::Store(e.to_string());
    match engine.user_by_login(&login).await.map_err(|e| store(&e))? {
        None => engine
            .add_user(
                NewUser {
                    login: login.clone(),
                    display_name: id.name.clone(),
                    role: id.role.as_str().to_string(),
                    office: id.office.clone(),
                    password_hash: None,
                    must_change_password: false,
                    sso: true,
                },
                SecurityEntry::new("user_added", Some(&login), address).detail(json!({
                    "by": "single_sign_on",
                    "issuer": id.issuer,
                    "role": id.role.as_str(),
                    "office": id.office,
                })),
            )
            .await
            .map_err(|e| store(&e)),
        Some(u) if !u.sso => Err(AccountRefusal::LocalAccount),
        Some(u) if u.disabled => Err(AccountRefusal::Disabled),
        Some(u)
            if u.role == id.role.as_str() && u.office == id.office && u.display_name == id.name =>
        {
            Ok(u)
        }
        Some(u) => engine
            .change_user(
                &u.id,
                UserChange {
                    display_name: Some(id.name.clone()),
                    role: Some(id.role.as_str().to_string()),
                    office: Some(id.office.clone()),
                    ..UserChange::default()
                },
                SecurityEntry::new("user_changed", Some(&login), address).detail(json!({
                    "by": "single_sign_on",
                    "role": id.role.as_str(),
                    "office": id.office,
                })),
            )
            .await
            .map_err(|e| store(&e)),
    }
}

async fn callback(
    State(s): State<AppState>,
    ConnectInfoAddress(address): ConnectInfoAddress,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    let lang = page_lang(&headers);
    let Some(sso) = s.sso.clone() else {
        return not_configured(lang);
    };
    let secure = s.web.secure_cookie();
    let engine = &s.app.engine;
    let binding = cookie(&headers, binding_cookie_name(secure));
    let identity = match sso.complete(engine, &cb, binding, &s.app.offices).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on refused");
            let _ = engine
                .log_security(
                    SecurityEntry::new("sign_in_failed", None, address.as_deref())
                        .outcome(&format!("sso_{}", e.kind()))
                        .detail(json!({ "method": "sso", "reason": e.to_string() })),
                )
                .await;
            let status = match e {
                SsoError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                SsoError::UnknownState | SsoError::OtherBrowser => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            return refused(lang, status, e.text(lang), secure);
        }
    };
    let user = match account(&s, &identity, address.as_deref()).await {
        Ok(u) => u,
        Err(refusal) => {
            let (status, key, outcome) = match refusal {
                AccountRefusal::LocalAccount => (
                    StatusCode::FORBIDDEN,
                    "sso-local-account",
                    "sso_local_account",
                ),
                AccountRefusal::Disabled => (StatusCode::FORBIDDEN, "sso-disabled", "disabled"),
                AccountRefusal::Store(e) => {
                    tracing::error!(error = %e, "single sign-on: the account cannot be stored");
                    (StatusCode::SERVICE_UNAVAILABLE, "web-unavailable", "store")
                }
            };
            let _ = engine
                .log_security(
                    SecurityEntry::new(
                        "sign_in_refused",
                        Some(&sso_login(&identity.subject)),
                        address.as_deref(),
                    )
                    .outcome(outcome)
                    .detail(json!({ "method": "sso" })),
                )
                .await;
            return refused(lang, status, i18n::t(lang, key), secure);
        }
    };
    // The same session as a password sign-in; its answer (a 303 with the session cookie) is
    // turned into a same-site page: the browser came here by a cross-site navigation, and a
    // redirect from here would still be part of it, so the `Strict` cookie would not be sent with
    // the next page. The page continues by itself (meta refresh) or by its link; no script.
    let opened = super::signin::start_session(&s, &user, address.as_deref(), &headers, "sso").await;
    if opened.status() != StatusCode::SEE_OTHER {
        return opened;
    }
    let next = opened
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with('/') && !v.starts_with("//"))
        .unwrap_or("/")
        .to_string();
    let mut response = render(
        StatusCode::OK,
        lang,
        &ContinuePage {
            chrome: Chrome::anonymous(lang, "sso-title"),
            next,
        },
    );
    let h = response.headers_mut();
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    for c in opened.headers().get_all(SET_COOKIE) {
        h.append(SET_COOKIE, c.clone());
    }
    if let Ok(v) = binding_cookie(secure, "", 0).parse() {
        h.append(SET_COOKIE, v);
    }
    response
}

/// The client's address as text (behind a trusted proxy, the one it forwarded).
struct ConnectInfoAddress(Option<String>);

impl FromRequestParts<AppState> for ConnectInfoAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(client_address(parts, s).map(|a| a.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;

    /// An Ed25519 key pair (RFC 8410's example): the private half in PKCS#8, the public `x`.
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    const ED_X: &str = "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE";
    const ISS: &str = "https://idp.example";

    fn jwk() -> Jwk {
        serde_json::from_value(
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "k1", "use": "sig"}),
        )
        .unwrap()
    }

    fn now() -> i64 {
        i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": ISS, "aud": "ptl-web", "sub": "u-1", "exp": now() + 300, "iat": now(),
               "nonce": "n-1", "name": "Олена Мельник", "role": "caseworker", "office": "UA7102"})
    }

    fn sign(claims: &Value) -> String {
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some("k1".into());
        jsonwebtoken::encode(&h, claims, &key).unwrap()
    }

    fn check(claims: &Value) -> Result<Map<String, Value>, SsoError> {
        validate_id_token(&sign(claims), &jwk(), ISS, "ptl-web", "n-1")
    }

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer: ISS.into(),
            client_id: "ptl-web".into(),
            client_secret_env: "S".into(),
            client_secret: SecretString::from("secret"),
            redirect_uri: "https://ptl.example/sign-in/sso/callback".into(),
            role_claim: "role".into(),
            office_claim: "office".into(),
            name_claim: "name".into(),
            scopes: vec!["openid".into(), "profile".into()],
        }
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_valid_id_token_gives_its_claims() {
        let c = check(&claims()).unwrap();
        assert_eq!(c["sub"], "u-1");
    }

    #[test]
    fn a_token_for_another_audience_is_refused_naming_both() {
        let mut c = claims();
        c["aud"] = json!("another-app");
        let e = check(&c).unwrap_err();
        assert_eq!(
            e,
            SsoError::Audience {
                got: vec!["another-app".into()],
                expected: "ptl-web".into()
            }
        );
        let text = e.text(Lang::En);
        assert!(text.contains("another application (another-app)"), "{text}");
        // Several audiences need `azp` naming this client.
        let mut c = claims();
        c["aud"] = json!(["ptl-web", "other"]);
        assert!(matches!(check(&c), Err(SsoError::Audience { .. })));
        c["azp"] = json!("ptl-web");
        assert!(check(&c).is_ok());
    }

    #[test]
    fn another_issuer_a_wrong_nonce_an_expired_or_unsigned_token_is_refused() {
        let mut c = claims();
        c["iss"] = json!("https://evil.example");
        assert!(matches!(check(&c), Err(SsoError::Issuer { .. })));
        let mut c = claims();
        c["nonce"] = json!("n-2");
        assert_eq!(
            check(&c).unwrap_err(),
            SsoError::Token("its nonce is not the one of this sign-in".into())
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("nonce");
        assert!(check(&c).is_err());
        let mut c = claims();
        c["exp"] = json!(now() - 3600);
        assert_eq!(
            check(&c).unwrap_err(),
            SsoError::Token("it has expired".into())
        );
        let mut c = claims();
        c["iat"] = json!(now() + 3600);
        assert!(check(&c).is_err());
        // alg none with the claims of a valid token
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims().to_string());
        assert!(
            validate_id_token(&format!("{header}.{body}."), &jwk(), ISS, "ptl-web", "n-1").is_err()
        );
        // a signature that does not verify
        let valid = sign(&claims());
        let mut parts: Vec<&str> = valid.split('.').collect();
        let other = sign(&json!({"sub": "x"}));
        parts[2] = other.rsplit('.').next().unwrap();
        assert!(matches!(
            validate_id_token(&parts.join("."), &jwk(), ISS, "ptl-web", "n-1"),
            Err(SsoError::Token(_))
        ));
        // HS256 signed with the public key's bytes as a secret (algorithm confusion)
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(ED_X.as_bytes()),
        )
        .unwrap();
        assert!(validate_id_token(&hs, &jwk(), ISS, "ptl-web", "n-1").is_err());
    }

    #[test]
    fn the_role_and_office_are_checked_against_the_office_tree() {
        let tree = OfficeTree::default();
        let ok = identity(check(&claims()).as_ref().unwrap(), &settings(), &tree).unwrap();
        assert_eq!(
            (
                ok.subject.as_str(),
                ok.role,
                ok.office.as_str(),
                ok.name.as_str()
            ),
            ("u-1", Role::Caseworker, "UA7102", "Олена Мельник")
        );
        let refused = |patch: Value| {
            let mut c = claims();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            match identity(c.as_object().unwrap(), &settings(), &tree) {
                Err(SsoError::Claims(p)) => p,
                other => panic!("{patch}: {other:?}"),
            }
        };
        use ClaimsProblem as P;
        assert_eq!(
            refused(json!({"office": "UA9999"})),
            P::UnknownOffice("UA9999".into())
        );
        assert_eq!(
            refused(json!({"office": null})),
            P::NoOffice("office".into())
        );
        assert_eq!(
            refused(json!({"role": "judge"})),
            P::UnknownRole("judge".into())
        );
        assert_eq!(
            refused(json!({"role": "system"})),
            P::UnknownRole("system".into())
        );
        assert_eq!(refused(json!({"role": null})), P::NoRole("role".into()));
        // A decision officer belongs to a deciding authority, not to a district office.
        assert_eq!(
            refused(json!({"role": "decision_officer"})),
            P::RoleNotAtOffice(Role::DecisionOfficer, "UA7102".into())
        );
        // Nested claims by a dotted name, and the subject when there is no name.
        let mut s = settings();
        s.role_claim = "ptl.role".into();
        let mut c = claims();
        c["ptl"] = json!({"role": "supervisor"});
        c.as_object_mut().unwrap().remove("name");
        let id = identity(c.as_object().unwrap(), &s, &tree).unwrap();
        assert_eq!((id.role, id.name.as_str()), (Role::Supervisor, "u-1"));
    }

    #[test]
    fn every_refusal_reads_as_a_sentence_in_both_languages() {
        let all = [
            SsoError::Unavailable("x".into()),
            SsoError::UnknownState,
            SsoError::OtherBrowser,
            SsoError::Provider {
                error: "access_denied".into(),
                description: String::new(),
            },
            SsoError::Audience {
                got: vec!["another-app".into()],
                expected: "ptl-web".into(),
            },
            SsoError::Issuer {
                got: "https://evil.example".into(),
                expected: ISS.into(),
            },
            SsoError::Token("x".into()),
            SsoError::Claims(ClaimsProblem::NoRole("role".into())),
            SsoError::Claims(ClaimsProblem::UnknownRole("judge".into())),
            SsoError::Claims(ClaimsProblem::NoOffice("office".into())),
            SsoError::Claims(ClaimsProblem::UnknownOffice("UA9999".into())),
            SsoError::Claims(ClaimsProblem::RoleNotAtOffice(
                Role::DecisionOfficer,
                "UA7102".into(),
            )),
        ];
        for e in &all {
            for lang in [Lang::Uk, Lang::En] {
                let text = e.text(lang);
                assert!(
                    text.ends_with('.') && !text.starts_with("sso-") && !text.contains('{'),
                    "{e:?} in {lang:?}: {text}"
                );
            }
        }
        let audience = all[4].text(Lang::En);
        assert!(
            audience.contains("another-app") && audience.contains("ptl-web"),
            "{audience}"
        );
        assert!(all[10].text(Lang::Uk).contains("UA9999"));
    }
}
