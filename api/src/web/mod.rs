//! The web application (`web.md`): pages rendered on the server from templates compiled into the
//! binary (askama), on the same application layer ([`crate::app`]) as the REST handlers, so a rule
//! holds identically on both. Texts come from the translation catalogue ([`crate::i18n`]).
//!
//! - [`session`]: the session cookie, the signed-in user, CSRF and the page language;
//! - [`password`]: Argon2id, the password policy, one-time passwords;
//! - [`signin`]: sign-in with its throttling, sign-out, the password change, the confidentiality
//!   undertaking, the language choice;
//! - [`oidc`]: single sign-on with an OpenID Connect provider (the relying party);
//! - [`assets`]: the stylesheet and scripts, served under their content hash;
//! - [`page`]: the layout every page shares and the response headers of pages.

pub mod admin;
pub mod assets;
pub mod audit;
pub mod case;
pub mod case_form;
pub mod inbox;
pub mod integrity;
pub mod oidc;
pub mod page;
pub mod password;
pub mod queue;
pub mod register;
pub mod report;
pub mod rows;
pub mod search;
pub mod security_log;
pub mod session;
pub mod signin;
pub mod social;
pub mod statistics;
pub mod status;

use std::time::Duration;

use axum::Router;

use crate::http::AppState;

/// The web application's settings.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The address users reach the server at; `https://` makes the session cookie `Secure`
    /// (`__Host-ptl_session`).
    pub public_url: Option<String>,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in whatever happens.
    pub absolute_lifetime: Duration,
    /// Failed sign-ins that lock a login.
    pub lock_after_failures: i64,
    /// How long a login (or an address) stays locked.
    pub lock_for: Duration,
    /// Failed sign-ins from one address, within [`Self::lock_for`], that lock the address.
    pub address_lock_after: i64,
    /// Single sign-on (OpenID Connect), when an issuer is configured.
    pub oidc: Option<OidcSettings>,
}

/// The OpenID Connect provider the sign-in page offers (`[oidc]` in the configuration).
pub use crate::config::OidcSettings;

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_lifetime: Duration::from_secs(12 * 3600),
            lock_after_failures: 5,
            lock_for: Duration::from_secs(15 * 60),
            address_lock_after: 50,
            oidc: None,
        }
    }
}

impl WebSettings {
    /// Whether the session cookie is the `Secure` `__Host-` one.
    #[must_use]
    pub fn secure_cookie(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// Whether the sign-in page offers single sign-on.
    #[must_use]
    pub fn sso_offered(&self) -> bool {
        self.oidc.is_some()
    }

    /// The idle timeout as a duration of time.
    #[must_use]
    pub fn idle_timeout(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.idle_timeout).unwrap_or(chrono::Duration::minutes(30))
    }

    /// The version of the confidentiality undertaking's text: its hash in both languages, so a
    /// changed text asks everyone again.
    #[must_use]
    pub fn undertaking_version(&self) -> &'static str {
        static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            for lang in [crate::i18n::Lang::Uk, crate::i18n::Lang::En] {
                h.update(crate::i18n::t(lang, "web-undertaking-text").as_bytes());
                h.update([0]);
            }
            hex::encode(&h.finalize()[..8])
        });
        &VERSION
    }
}

#[derive(askama::Template)]
#[template(path = "message.html")]
struct MessagePage {
    chrome: page::Chrome,
    alert: bool,
    message: String,
    back: Option<(String, String)>,
}

/// A page with one message (an error in `role="alert"`, or a confirmation in `role="status"`).
pub fn message_page(
    status: axum::http::StatusCode,
    chrome: page::Chrome,
    alert: bool,
    message: String,
    back: Option<(String, String)>,
) -> axum::response::Response {
    let lang = chrome.tr.0;
    page::render(
        status,
        lang,
        &MessagePage {
            chrome,
            alert,
            message,
            back,
        },
    )
}

/// 403 for a form that came without its session's CSRF token (or with another session's).
pub fn forbidden(lang: crate::i18n::Lang) -> axum::response::Response {
    let tr = page::Tr(lang);
    message_page(
        axum::http::StatusCode::FORBIDDEN,
        page::Chrome::anonymous(lang, "web-refused-title"),
        true,
        tr.t("web-form-expired"),
        Some(("/".to_string(), tr.t("web-back-home"))),
    )
}

/// Any other path outside the API: without a session, the sign-in page (303); with one, a page
/// saying there is no such page.
pub async fn fallback(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    let (mut parts, _) = req.into_parts();
    if parts.uri.path().starts_with("/api/") {
        return crate::http::error::ApiError::NotFound {
            detail: "no such route".into(),
        }
        .into_response();
    }
    match session::SignedIn::from_request_parts(&mut parts, &s).await {
        Err(to_sign_in) => to_sign_in,
        Ok(user) => {
            let tr = page::Tr(user.lang);
            message_page(
                axum::http::StatusCode::NOT_FOUND,
                page::Chrome::for_user(&s, &user, "web-not-found-title", ""),
                true,
                tr.t("web-not-found"),
                Some(("/".to_string(), tr.t("web-back-home"))),
            )
        }
    }
}

/// The pages' routes (merged into the server's router beside the API).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(signin::router())
        .merge(oidc::router())
        .merge(assets::router())
        .merge(queue::router())
        .merge(register::router())
        .merge(search::router())
        .merge(inbox::router())
        .merge(social::router())
        .merge(statistics::router())
        .merge(admin::router())
        .merge(case::router())
        .merge(security_log::router())
        .merge(audit::router())
        .merge(status::router())
        .merge(integrity::router())
        .merge(report::router())
        .method_not_allowed_fallback(method_not_allowed)
}

/// A page's address with another method (a form's `action` opened with `GET`): without a session,
/// the sign-in page (303), as for any page; with one, 405 in words.
async fn method_not_allowed(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = req.into_parts();
    match session::SignedIn::from_request_parts(&mut parts, &s).await {
        Err(to_sign_in) => to_sign_in,
        Ok(user) => {
            let tr = page::Tr(user.lang);
            message_page(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                page::Chrome::for_user(&s, &user, "web-not-found-title", ""),
                true,
                tr.t("web-lists-method-not-allowed"),
                Some(("/".to_string(), tr.t("web-back-home"))),
            )
        }
    }
}
