//! Bearer JWT authentication.
//!
//! Tokens are signed either with the installation's HS256 shared secret (the `ptl` CLI mints them
//! for small deployments) or by an identity provider with an RS256 or EdDSA key whose public half
//! is configured. The algorithm a token claims must be one we configured *and* match the key it
//! is checked with, so `alg: none`, algorithm confusion (an RS256 public key used as an HMAC
//! secret) and unconfigured algorithms are all 401. Claims are required in full (`api.md`): `sub`,
//! `name`, `role`, `office`, `exp`; the engine's own role `system` is never accepted from a token.
//!
//! When the server is configured with an audience or an issuer, `aud` or `iss` is required and
//! must match. A token's lifetime (`exp - iat`, or `exp` - now without `iat`) may not exceed the
//! configured maximum (12 hours by default), `iat` may not lie in the future and `nbf` is
//! honoured. The locally signed tokens (the HS256 secret) can be switched off when an identity
//! provider issues them.
//!
//! Revocation is a deny list of `jti`s shared with the server ([`Authenticator::revocations`]),
//! which refreshes it from its store; this module only checks it.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ptl_domain::Role;
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Longest token lifetime accepted by default (12 hours).
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Why a token was not accepted (a 401 on the API). The reason names no secret, so it may be
/// shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthorized(pub String);

impl Unauthorized {
    /// A refusal with its reason.
    #[must_use]
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// The claims of an API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// The role the user acts in (never `system`).
    pub role: Role,
    /// Office code the user acts for.
    pub office: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id, for revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// A key or secret that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The shared secret is too short.
    #[error("the JWT secret must be at least {MIN_SECRET_BYTES} bytes long")]
    SecretTooShort,
    /// The PEM is neither an RSA nor an Ed25519 public key.
    #[error("the JWT public key is neither an RSA nor an Ed25519 public key in PEM: {0}")]
    BadPublicKey(String),
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// The role is the engine's own.
    #[error("tokens are never issued for the role `system`")]
    SystemRole,
    /// The office code is not well formed.
    #[error("`{0}` is not an office code")]
    BadOffice(String),
    /// Signing failed.
    #[error("the token could not be signed: {0}")]
    Signing(String),
    /// The lifetime asked for is longer than the server accepts.
    #[error(
        "a token may live at most {max_secs} s (jwt_max_lifetime_secs); ask for a shorter --ttl"
    )]
    TooLong {
        /// The configured maximum, in seconds.
        max_secs: u64,
    },
    /// The server does not accept locally signed tokens.
    #[error("locally signed tokens are switched off (jwt_local_tokens = false): the identity provider issues the tokens")]
    LocalTokensOff,
}

/// What a minted token carries besides the [`Claims`]: the configured audience and issuer.
#[derive(Serialize)]
struct Minted<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
}

/// Verifies (and, with the shared secret, mints) bearer tokens. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    hs_encoding: EncodingKey,
    hs_decoding: DecodingKey,
    public: Option<(Algorithm, DecodingKey)>,
    audience: Option<Vec<String>>,
    issuer: Option<Vec<String>>,
    local_tokens: bool,
    max_lifetime: Duration,
    revoked: Arc<RwLock<HashSet<String>>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("hs256_secret", &"[redacted]")
            .field("public_key_alg", &self.public.as_ref().map(|(a, _)| *a))
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("local_tokens", &self.local_tokens)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator with an HS256 shared secret.
    ///
    /// # Errors
    ///
    /// [`KeyError::SecretTooShort`] under [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort);
        }
        Ok(Self {
            hs_encoding: EncodingKey::from_secret(secret),
            hs_decoding: DecodingKey::from_secret(secret),
            public: None,
            audience: None,
            issuer: None,
            local_tokens: true,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            revoked: Arc::new(RwLock::new(HashSet::new())),
        })
    }

    /// Also accepts tokens signed by an identity provider: RS256 for an RSA public key, EdDSA for
    /// an Ed25519 one (PEM, `-----BEGIN PUBLIC KEY-----` or `BEGIN RSA PUBLIC KEY`).
    ///
    /// # Errors
    ///
    /// [`KeyError::BadPublicKey`] when the PEM is neither.
    pub fn with_public_key_pem(mut self, pem: &[u8]) -> Result<Self, KeyError> {
        let key = match DecodingKey::from_rsa_pem(pem) {
            Ok(k) => (Algorithm::RS256, k),
            Err(rsa_error) => match DecodingKey::from_ed_pem(pem) {
                Ok(k) => (Algorithm::EdDSA, k),
                Err(_) => return Err(KeyError::BadPublicKey(rsa_error.to_string())),
            },
        };
        self.public = Some(key);
        Ok(self)
    }

    /// Requires `aud` (one of `audience`); tokens minted here carry the first. Without this, a
    /// token carrying `aud` is accepted whatever its value. An empty list changes nothing.
    #[must_use]
    pub fn with_audience(mut self, audience: Vec<String>) -> Self {
        self.audience = (!audience.is_empty()).then_some(audience);
        self
    }

    /// Requires `iss` (one of `issuer`); tokens minted here carry the first. An empty list
    /// changes nothing.
    #[must_use]
    pub fn with_issuer(mut self, issuer: Vec<String>) -> Self {
        self.issuer = (!issuer.is_empty()).then_some(issuer);
        self
    }

    /// Refuses the locally signed (HS256) tokens: only the identity provider's are accepted.
    #[must_use]
    pub fn without_local_tokens(mut self) -> Self {
        self.local_tokens = false;
        self
    }

    /// The longest lifetime a token may have (default [`DEFAULT_MAX_LIFETIME`]).
    #[must_use]
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Starts from this deny list of revoked `jti`s.
    #[must_use]
    pub fn with_revoked(self, revoked: HashSet<String>) -> Self {
        if let Ok(mut set) = self.revoked.write() {
            *set = revoked;
        }
        self
    }

    /// The shared deny list: the server replaces or extends its content as revocations are
    /// stored; every clone of this authenticator sees the change.
    #[must_use]
    pub fn revocations(&self) -> Arc<RwLock<HashSet<String>>> {
        Arc::clone(&self.revoked)
    }

    /// Adds a `jti` to the deny list.
    pub fn revoke(&self, jti: impl Into<String>) {
        match self.revoked.write() {
            Ok(mut set) => {
                set.insert(jti.into());
            }
            Err(poisoned) => {
                poisoned.into_inner().insert(jti.into());
            }
        }
    }

    /// Whether `jti` is revoked.
    #[must_use]
    pub fn is_revoked(&self, jti: &str) -> bool {
        match self.revoked.read() {
            Ok(set) => set.contains(jti),
            Err(poisoned) => poisoned.into_inner().contains(jti),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.audience {
            Some(aud) => {
                v.set_audience(aud);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            v.set_issuer(iss);
            required.push("iss");
        }
        v.set_required_spec_claims(&required);
        v
    }

    /// Checks an `Authorization` header value (`Bearer <jwt>`) and returns the claims.
    ///
    /// # Errors
    ///
    /// [`Unauthorized`] for a missing header, another scheme, a malformed, unsigned,
    /// wrongly signed, expired or revoked token, an unconfigured algorithm, missing claims, an
    /// unknown role or the role `system`.
    pub fn verify(&self, header_value: Option<&str>) -> Result<Claims, Unauthorized> {
        let value = header_value.ok_or_else(|| Unauthorized::new("missing bearer token"))?;
        let token = value
            .trim()
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Unauthorized::new("expected `Authorization: Bearer <token>`"))?;
        let invalid = || Unauthorized::new("invalid token");
        // `alg: none` and unknown algorithms fail here: jsonwebtoken has no such variant.
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let key = match header.alg {
            Algorithm::HS256 if !self.local_tokens => {
                return Err(Unauthorized::new(
                    "locally signed tokens are not accepted; use the identity provider's",
                ))
            }
            Algorithm::HS256 => &self.hs_decoding,
            alg => match &self.public {
                Some((configured, key)) if *configured == alg => key,
                _ => return Err(Unauthorized::new("token algorithm not accepted")),
            },
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation(header.alg))
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Unauthorized::new("token expired")
                }
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                    Unauthorized::new("token not valid yet (nbf)")
                }
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    Unauthorized::new("token audience not accepted")
                }
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    Unauthorized::new("token issuer not accepted")
                }
                jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(claim) => {
                    Unauthorized::new(format!("token without the required claim `{claim}`"))
                }
                _ => invalid(),
            })?;
        let claims = data.claims;
        self.check_lifetime(&claims)?;
        if claims.role == Role::System {
            return Err(Unauthorized::new("the role `system` is not a user role"));
        }
        if !ptl_domain::types::is_valid_office_code(&claims.office) || claims.sub.is_empty() {
            return Err(invalid());
        }
        if claims.jti.as_deref().is_some_and(|j| self.is_revoked(j)) {
            return Err(Unauthorized::new("token revoked"));
        }
        Ok(claims)
    }

    /// `iat` not in the future, and a lifetime (`exp - iat`, or `exp` - now) within the maximum.
    fn check_lifetime(&self, claims: &Claims) -> Result<(), Unauthorized> {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let max = i64::try_from(self.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        if let Some(iat) = claims.iat {
            if iat > now.saturating_add(leeway) {
                return Err(Unauthorized::new("token issued in the future (iat)"));
            }
        }
        let from = claims.iat.unwrap_or(now);
        if claims.exp.saturating_sub(from) > max.saturating_add(leeway) {
            return Err(Unauthorized::new(format!(
                "token lifetime over the maximum of {max} s"
            )));
        }
        Ok(())
    }

    /// Mints an HS256 token valid for `ttl` from now (the CLI's default is 8 hours), with the
    /// configured audience and issuer (the first of each).
    ///
    /// # Errors
    ///
    /// [`MintError::SystemRole`] for `system`, [`MintError::BadOffice`] for a malformed office
    /// code, [`MintError::LocalTokensOff`] when local tokens are switched off,
    /// [`MintError::TooLong`] for a `ttl` over the maximum lifetime, [`MintError::Signing`] if
    /// signing fails.
    pub fn mint(
        &self,
        sub: &str,
        name: &str,
        role: Role,
        office: &str,
        ttl: Duration,
        jti: Option<String>,
    ) -> Result<String, MintError> {
        if role == Role::System {
            return Err(MintError::SystemRole);
        }
        if !ptl_domain::types::is_valid_office_code(office) {
            return Err(MintError::BadOffice(office.chars().take(40).collect()));
        }
        if !self.local_tokens {
            return Err(MintError::LocalTokensOff);
        }
        if ttl > self.max_lifetime {
            return Err(MintError::TooLong {
                max_secs: self.max_lifetime.as_secs(),
            });
        }
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: sub.to_string(),
            name: name.to_string(),
            role,
            office: office.to_string(),
            exp: now.saturating_add(ttl),
            iat: Some(now),
            jti,
        };
        let minted = Minted {
            claims: &claims,
            aud: self
                .audience
                .as_ref()
                .and_then(|a| a.first())
                .map(String::as_str),
            iss: self
                .issuer
                .as_ref()
                .and_then(|i| i.first())
                .map(String::as_str),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &minted, &self.hs_encoding)
            .map_err(|e| MintError::Signing(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const HOUR: Duration = Duration::from_secs(3600);

    fn auth() -> Authenticator {
        Authenticator::new(SECRET).unwrap()
    }

    fn now() -> i64 {
        i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
    }

    fn claims_json() -> serde_json::Value {
        json!({"sub": "u1", "name": "Olena", "role": "caseworker", "office": "UA7102",
               "exp": now() + 3600, "jti": "t-1"})
    }

    fn sign(alg: Algorithm, claims: &serde_json::Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    fn assert_401(result: Result<Claims, Unauthorized>) {
        if let Ok(c) = result {
            panic!("accepted {c:?}");
        }
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let a = auth();
        let token = a
            .mint(
                "u1",
                "Olena",
                Role::Supervisor,
                "UA71",
                HOUR,
                Some("j1".into()),
            )
            .unwrap();
        let claims = a.verify(Some(&bearer(&token))).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.role, Role::Supervisor);
        assert_eq!(claims.office, "UA71");
        assert_eq!(claims.jti.as_deref(), Some("j1"));
        assert!(claims.iat.is_some());
        // the scheme is case-insensitive
        assert!(a.verify(Some(&format!("bearer {token}"))).is_ok());
    }

    #[test]
    fn a_token_signed_by_hand_with_the_secret_passes() {
        let token = sign(Algorithm::HS256, &claims_json(), SECRET);
        assert_eq!(auth().verify(Some(&bearer(&token))).unwrap().name, "Olena");
    }

    #[test]
    fn a_missing_or_non_bearer_header_is_401() {
        assert_401(auth().verify(None));
        assert_401(auth().verify(Some("Basic dTpw")));
        assert_401(auth().verify(Some("Bearer ")));
        assert_401(auth().verify(Some("Bearer not.a.jwt")));
    }

    #[test]
    fn an_expired_token_is_401() {
        let mut c = claims_json();
        c["exp"] = json!(now() - 120);
        let e = auth().verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))));
        assert_eq!(e.unwrap_err(), Unauthorized::new("token expired"));
    }

    #[test]
    fn expiry_within_the_leeway_is_tolerated() {
        let mut c = claims_json();
        c["exp"] = json!(now() - 5);
        assert!(auth()
            .verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
            .is_ok());
    }

    #[test]
    fn a_wrong_signature_is_401() {
        let token = sign(
            Algorithm::HS256,
            &claims_json(),
            b"another secret another secret !!",
        );
        assert_401(auth().verify(Some(&bearer(&token))));
    }

    #[test]
    fn an_unsigned_alg_none_token_is_401() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(claims_json().to_string());
        assert_401(auth().verify(Some(&bearer(&format!("{header}.{claims}.")))));
        // the same with a signature copied from a valid token
        let valid = sign(Algorithm::HS256, &claims_json(), SECRET);
        let sig = valid.rsplit('.').next().unwrap();
        assert_401(auth().verify(Some(&bearer(&format!("{header}.{claims}.{sig}")))));
    }

    #[test]
    fn hs512_is_401_when_only_hs256_is_configured() {
        let token = sign(Algorithm::HS512, &claims_json(), SECRET);
        assert_401(auth().verify(Some(&bearer(&token))));
    }

    #[test]
    fn a_token_without_office_is_401() {
        let mut c = claims_json();
        c.as_object_mut().unwrap().remove("office");
        assert_401(auth().verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET)))));
    }

    #[test]
    fn a_token_without_exp_or_name_is_401() {
        for field in ["exp", "name", "sub", "role"] {
            let mut c = claims_json();
            c.as_object_mut().unwrap().remove(field);
            assert_401(auth().verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET)))));
        }
    }

    #[test]
    fn the_system_role_or_an_unknown_role_is_401() {
        for role in ["system", "judge"] {
            let mut c = claims_json();
            c["role"] = json!(role);
            assert_401(auth().verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET)))));
        }
        assert_eq!(
            auth().mint("s", "s", Role::System, "UA", HOUR, None),
            Err(MintError::SystemRole)
        );
    }

    #[test]
    fn a_revoked_jti_is_401() {
        let a = auth().with_revoked(HashSet::from(["t-1".to_string()]));
        assert!(a.is_revoked("t-1"));
        let token = sign(Algorithm::HS256, &claims_json(), SECRET);
        assert_eq!(
            a.verify(Some(&bearer(&token))).unwrap_err(),
            Unauthorized::new("token revoked")
        );
        // revoking through the shared handle affects existing clones
        let b = auth();
        let clone = b.clone();
        assert!(clone.verify(Some(&bearer(&token))).is_ok());
        b.revocations().write().unwrap().insert("t-1".into());
        assert_401(clone.verify(Some(&bearer(&token))));
    }

    #[test]
    fn an_audience_when_configured_must_match() {
        let mut c = claims_json();
        c["aud"] = json!("other-app");
        let token = sign(Algorithm::HS256, &c, SECRET);
        assert!(auth().verify(Some(&bearer(&token))).is_ok());
        let a = auth().with_audience(vec!["ptl".into()]);
        assert_401(a.verify(Some(&bearer(&token))));
    }

    #[test]
    fn a_configured_audience_or_issuer_is_required_and_checked() {
        let a = auth()
            .with_audience(vec!["ptl".into()])
            .with_issuer(vec!["https://idp.example".into()]);
        // without aud
        let mut c = claims_json();
        c["iss"] = json!("https://idp.example");
        assert_eq!(
            a.verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
                .unwrap_err(),
            Unauthorized::new("token without the required claim `aud`")
        );
        // without iss
        let mut c = claims_json();
        c["aud"] = json!("ptl");
        assert_eq!(
            a.verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
                .unwrap_err(),
            Unauthorized::new("token without the required claim `iss`")
        );
        c["iss"] = json!("https://evil.example");
        assert_eq!(
            a.verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
                .unwrap_err(),
            Unauthorized::new("token issuer not accepted")
        );
        c["iss"] = json!("https://idp.example");
        assert!(a
            .verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
            .is_ok());
        // a minted token carries both and passes
        let minted = a
            .mint("u1", "Olena", Role::Caseworker, "UA7102", HOUR, None)
            .unwrap();
        assert!(a.verify(Some(&bearer(&minted))).is_ok());
    }

    #[test]
    fn locally_signed_tokens_can_be_switched_off() {
        let a = auth()
            .with_public_key_pem(ED_PUBLIC.as_bytes())
            .unwrap()
            .without_local_tokens();
        let hs = sign(Algorithm::HS256, &claims_json(), SECRET);
        assert_eq!(
            a.verify(Some(&bearer(&hs))).unwrap_err(),
            Unauthorized::new(
                "locally signed tokens are not accepted; use the identity provider's"
            )
        );
        assert_eq!(
            a.mint("u1", "Olena", Role::Caseworker, "UA7102", HOUR, None),
            Err(MintError::LocalTokensOff)
        );
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let ed =
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims_json(), &key).unwrap();
        assert!(a.verify(Some(&bearer(&ed))).is_ok());
    }

    #[test]
    fn a_token_living_longer_than_the_maximum_is_401() {
        // 13 hours by iat
        let mut c = claims_json();
        c["iat"] = json!(now());
        c["exp"] = json!(now() + 13 * 3600);
        assert_eq!(
            auth()
                .verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
                .unwrap_err(),
            Unauthorized::new("token lifetime over the maximum of 43200 s")
        );
        // without iat, from now
        let mut c = claims_json();
        c["exp"] = json!(now() + 30 * 86_400);
        assert_401(auth().verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET)))));
        // a shorter configured maximum
        let a = auth().with_max_lifetime(Duration::from_secs(600));
        assert_401(a.verify(Some(&bearer(&sign(
            Algorithm::HS256,
            &claims_json(),
            SECRET,
        )))));
        assert_eq!(
            a.mint("u1", "Olena", Role::Caseworker, "UA7102", HOUR, None),
            Err(MintError::TooLong { max_secs: 600 })
        );
    }

    #[test]
    fn a_token_issued_in_the_future_or_not_valid_yet_is_401() {
        let mut c = claims_json();
        c["iat"] = json!(now() + 600);
        assert_eq!(
            auth()
                .verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
                .unwrap_err(),
            Unauthorized::new("token issued in the future (iat)")
        );
        let mut c = claims_json();
        c["nbf"] = json!(now() + 600);
        assert_eq!(
            auth()
                .verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
                .unwrap_err(),
            Unauthorized::new("token not valid yet (nbf)")
        );
        let mut c = claims_json();
        c["nbf"] = json!(now() - 60);
        assert!(auth()
            .verify(Some(&bearer(&sign(Algorithm::HS256, &c, SECRET))))
            .is_ok());
    }

    #[test]
    fn a_short_secret_and_a_bad_public_key_are_refused() {
        assert_eq!(
            Authenticator::new(b"short").unwrap_err(),
            KeyError::SecretTooShort
        );
        assert!(matches!(
            auth().with_public_key_pem(
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
            ),
            Err(KeyError::BadPublicKey(_))
        ));
    }

    /// An Ed25519 key pair (RFC 8410 example encoding): PKCS#8 private, SPKI public.
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

    #[test]
    fn an_identity_provider_eddsa_token_passes_when_its_key_is_configured() {
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims_json(), &key).unwrap();
        assert_401(auth().verify(Some(&bearer(&token))));
        let a = auth().with_public_key_pem(ED_PUBLIC.as_bytes()).unwrap();
        assert_eq!(a.verify(Some(&bearer(&token))).unwrap().sub, "u1");
        // HS256 keeps working beside it
        let hs = sign(Algorithm::HS256, &claims_json(), SECRET);
        assert!(a.verify(Some(&bearer(&hs))).is_ok());
    }

    #[test]
    fn the_debug_output_hides_the_secret() {
        let debug = format!("{:?}", auth());
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
    }
}
