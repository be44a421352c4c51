//! Server-side sessions: the cookie, the signed-in user extractor, CSRF tokens and the language.
//!
//! The cookie carries 32 random bytes; the store keeps only their SHA-256, so a copy of the
//! database opens no session. Behind HTTPS (the server's `public_url` starts with `https://`) the
//! cookie is `__Host-ptl_session; Secure; HttpOnly; SameSite=Strict; Path=/`; on plain HTTP, for
//! trying it on the loopback, it is `ptl_session` without `Secure`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ptl_domain::Role;
use ptl_engine::accounts::{Session, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::Caller;
use crate::http::AppState;
use crate::i18n::Lang;

/// The cookie's name behind HTTPS.
pub const SECURE_COOKIE: &str = "__Host-ptl_session";
/// The cookie's name on plain HTTP.
pub const PLAIN_COOKIE: &str = "ptl_session";
/// The language cookie (the user's choice, not a secret).
pub const LANG_COOKIE: &str = "ptl_lang";

/// 32 random bytes, base64url.
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 (hex) under which a session token is stored.
#[must_use]
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two tokens.
#[must_use]
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value in the request, if present.
#[must_use]
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a page: the user's choice (the `ptl_lang` cookie), then `Accept-Language`,
/// then Ukrainian.
#[must_use]
pub fn page_lang(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => return Lang::En,
        Some("uk") => return Lang::Uk,
        _ => {}
    }
    match headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) {
        Some(v)
            if v.to_ascii_lowercase().contains("uk") || v.to_ascii_lowercase().contains("en") =>
        {
            Lang::from_accept_language(v)
        }
        _ => Lang::Uk,
    }
}

/// The client's address (behind a trusted proxy, the one it forwarded).
#[must_use]
pub fn client_address(parts: &Parts, s: &AppState) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| s.limits.client_address(peer.ip(), &parts.headers))
}

/// The `Set-Cookie` value that sets the session cookie.
#[must_use]
pub fn session_cookie(secure: bool, token: &str, max_age_secs: i64) -> String {
    if secure {
        format!("{SECURE_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_secs}")
    } else {
        format!("{PLAIN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}")
    }
}

/// The `Set-Cookie` value that removes the session cookie.
#[must_use]
pub fn clear_cookie(secure: bool) -> String {
    if secure {
        format!("{SECURE_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
    } else {
        format!("{PLAIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// The session token of the request, if it carries one.
#[must_use]
pub fn request_token(headers: &HeaderMap, secure: bool) -> Option<&str> {
    cookie(headers, if secure { SECURE_COOKIE } else { PLAIN_COOKIE }).filter(|t| !t.is_empty())
}

/// A signed-in user with an open session, whose password needs no change and who has
/// acknowledged the current undertaking: what every page but sign-in needs. Without one, a
/// request is sent (303) to the sign-in page, or to the password change or the undertaking.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub user: User,
    /// The session.
    pub session: Session,
    /// The page language.
    pub lang: Lang,
    /// The user as the application layer knows callers.
    pub caller: Caller,
    /// The client's address.
    pub address: Option<IpAddr>,
}

impl SignedIn {
    /// The session's CSRF token, for forms.
    #[must_use]
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// Whether a submitted CSRF token is this session's.
    #[must_use]
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|t| same_token(t, &self.session.csrf_token))
    }

    /// The client address as text, for the logs.
    #[must_use]
    pub fn address_text(&self) -> Option<String> {
        self.address.map(|a| a.to_string())
    }
}

/// A session, whatever the state of its account's password and undertaking (the pages that
/// settle those take this).
#[derive(Debug, Clone)]
pub struct AnySession(pub SignedIn);

/// Why a session does not open a page.
fn to_sign_in() -> Response {
    Redirect::to("/sign-in").into_response()
}

/// Whether a session is still open at `now` with the configured idle timeout.
#[must_use]
pub fn is_open(session: &Session, now: DateTime<Utc>, idle: chrono::Duration) -> bool {
    session.ended_at.is_none() && now < session.expires_at && now - session.last_seen_at < idle
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        if let Some(found) = parts.extensions.get::<Self>() {
            return Ok(found.clone());
        }
        let web = &s.web;
        let Some(token) = request_token(&parts.headers, web.secure_cookie()) else {
            return Err(to_sign_in());
        };
        let hash = token_hash(token);
        let engine = &s.app.engine;
        let Ok(Some((session, user))) = engine.session(&hash).await else {
            return Err(to_sign_in());
        };
        let now = engine.clock().now();
        if !is_open(&session, now, web.idle_timeout()) || user.disabled {
            if session.ended_at.is_none() {
                let address = client_address(parts, s).map(|a| a.to_string());
                let _ = engine
                    .end_session(
                        &hash,
                        ptl_engine::security::SecurityEntry::new(
                            "session_expired",
                            Some(&user.login),
                            address.as_deref(),
                        ),
                    )
                    .await;
            }
            return Err(to_sign_in());
        }
        let Ok(role) = user.role.parse::<Role>() else {
            return Err(to_sign_in());
        };
        // A role that no longer fits its office (the tree was reorganised) opens nothing.
        if !s.app.offices.role_fits(role, &user.office) {
            return Err(to_sign_in());
        }
        // Touch at most once a minute: the idle timeout needs no finer grain.
        if now - session.last_seen_at > chrono::Duration::seconds(60) {
            let _ = engine.touch_session(&hash).await;
        }
        let signed = SignedIn {
            caller: Caller {
                sub: user.id.clone(),
                role,
                office: user.office.clone(),
            },
            lang: page_lang(&parts.headers),
            address: client_address(parts, s),
            user,
            session,
        };
        let found = Self(signed);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let AnySession(signed) = AnySession::from_request_parts(parts, s).await?;
        if signed.user.must_change_password {
            return Err(Redirect::to("/password").into_response());
        }
        if signed.user.undertaking_version.as_deref() != Some(s.web.undertaking_version()) {
            return Err(Redirect::to("/undertaking").into_response());
        }
        Ok(signed)
    }
}
