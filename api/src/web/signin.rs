//! Signing in and out (`web.md`, "Signing in"): the sign-in page with its throttling (5 failures
//! lock a login for 15 minutes; 50 failures from one address within 15 minutes lock the address),
//! a new session id at every sign-in, sign-out ending the session on the server, the password
//! change (required after a one-time password), the confidentiality undertaking, the language.
//! Every outcome is written to the security log.

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{REFERER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use ptl_engine::accounts::{NewSession, User, UserChange};
use ptl_engine::security::SecurityEntry;
use serde::Deserialize;
use serde_json::json;

use super::page::{render, Chrome, Tr};
use super::password;
use super::session::{
    clear_cookie, client_address, cookie, page_lang, random_token, request_token, same_token,
    session_cookie, token_hash, AnySession, LANG_COOKIE,
};
use crate::http::AppState;

/// The cookie carrying the sign-in form's CSRF token (there is no session yet).
const SIGNIN_COOKIE: &str = "ptl_signin";

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    login: String,
    error: Option<String>,
    notice: Option<String>,
    sso: Option<String>,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    must_change: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "undertaking.html")]
struct UndertakingPage {
    chrome: Chrome,
    text: Vec<String>,
    version: String,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

/// The password-change form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    csrf_token: String,
}

/// The request's client address, as text.
struct Address(Option<String>);

impl FromRequestParts<AppState> for Address {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(client_address(parts, s).map(|a| a.to_string())))
    }
}

fn sign_in_page(
    s: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    login: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let lang = page_lang(headers);
    // The browser's pending sign-in token is kept (another tab, or a request the browser makes
    // on its own that lands here, must not invalidate the form on screen).
    let csrf = cookie(headers, SIGNIN_COOKIE)
        .filter(|c| {
            c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(random_token, str::to_string);
    let page = SignInPage {
        chrome: Chrome::anonymous(lang, "web-sign-in-title"),
        csrf: csrf.clone(),
        login: login.to_string(),
        error,
        notice,
        sso: s
            .web
            .sso_offered()
            .then(|| crate::i18n::t(lang, "web-sign-in-sso")),
    };
    let mut response = render(status, lang, &page);
    if let Ok(v) = format!(
        "{SIGNIN_COOKIE}={csrf}; Path=/sign-in; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if s.web.secure_cookie() {
            "; Secure"
        } else {
            ""
        }
    )
    .parse()
    {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

async fn get_sign_in(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = request_token(&headers, s.web.secure_cookie()) {
        if let Ok(Some((session, user))) = s.app.engine.session(&token_hash(token)).await {
            let now = s.app.engine.clock().now();
            if super::session::is_open(&session, now, s.web.idle_timeout()) && !user.disabled {
                return Redirect::to("/").into_response();
            }
        }
    }
    sign_in_page(&s, &headers, StatusCode::OK, "", None, None)
}

fn see_other_with_cookie(to: &str, cookies: &[String]) -> Response {
    let mut response = Redirect::to(to).into_response();
    for c in cookies {
        if let Ok(v) = c.parse() {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

async fn post_sign_in(
    State(s): State<AppState>,
    Address(address): Address,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = page_lang(&headers);
    let tr = Tr(lang);
    let engine = &s.app.engine;
    let now = engine.clock().now();
    let web = &s.web;
    let refuse =
        |status, key: &str| sign_in_page(&s, &headers, status, &form.login, Some(tr.t(key)), None);
    let csrf_ok = cookie(&headers, SIGNIN_COOKIE).is_some_and(|c| same_token(c, &form.csrf_token));
    if !csrf_ok {
        return refuse(StatusCode::FORBIDDEN, "web-form-expired");
    }
    let lock_for =
        chrono::Duration::from_std(web.lock_for).unwrap_or(chrono::Duration::minutes(15));
    // The address lock first: a whole office may share one address, so it takes many failures.
    if let Some(addr) = &address {
        let failures = engine
            .address_failures_since(addr, now - lock_for)
            .await
            .unwrap_or(0);
        if failures >= web.address_lock_after {
            let _ = engine
                .log_security(
                    SecurityEntry::new("sign_in_refused", Some(&form.login), Some(addr))
                        .outcome("address_locked"),
                )
                .await;
            return refuse(StatusCode::TOO_MANY_REQUESTS, "web-sign-in-address-locked");
        }
    }
    let user = match engine.user_by_login(&form.login).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "sign-in: the store cannot be read");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "web-unavailable");
        }
    };
    let login = ptl_engine::accounts::normalise_login(&form.login);
    if let Some(user) = &user {
        if user.locked_until.is_some_and(|until| until > now) {
            let _ = engine
                .log_security(
                    SecurityEntry::new("sign_in_refused", Some(&login), address.as_deref())
                        .outcome("login_locked"),
                )
                .await;
            return refuse(StatusCode::TOO_MANY_REQUESTS, "web-sign-in-locked");
        }
    }
    let good = match &user {
        Some(u) if !u.disabled => u
            .password_hash
            .as_deref()
            .is_some_and(|h| password::verify(&form.password, h)),
        _ => {
            password::verify_nothing(&form.password);
            false
        }
    };
    let user_id = user.as_ref().map(|u| u.id.clone());
    let Some(user) = user.filter(|_| good) else {
        let failures = engine
            .record_signin_failure(
                user_id.as_deref(),
                address.as_deref(),
                web.lock_after_failures,
                now + lock_for,
                SecurityEntry::new("sign_in_failed", Some(&login), address.as_deref())
                    .outcome("refused"),
            )
            .await
            .unwrap_or(0);
        if user_id.is_some() && failures >= web.lock_after_failures {
            let _ = engine
                .log_security(
                    SecurityEntry::new("login_locked", Some(&login), address.as_deref())
                        .outcome("locked")
                        .detail(json!({ "minutes": lock_for.num_minutes() })),
                )
                .await;
            return refuse(StatusCode::TOO_MANY_REQUESTS, "web-sign-in-locked");
        }
        return refuse(StatusCode::UNAUTHORIZED, "web-sign-in-failed");
    };
    start_session(&s, &user, address.as_deref(), &headers, "password").await
}

/// Opens a new session for `user` (always a new id: a session id the browser had before is never
/// kept), ends the one the browser came with, and sends the browser on: to the password change,
/// the undertaking or the work queue. Used by the local sign-in and by single sign-on.
pub async fn start_session(
    s: &AppState,
    user: &User,
    address: Option<&str>,
    headers: &HeaderMap,
    method: &str,
) -> Response {
    let engine = &s.app.engine;
    let web = &s.web;
    if let Some(old) = request_token(headers, web.secure_cookie()) {
        let _ = engine
            .end_session(
                &token_hash(old),
                SecurityEntry::new("session_replaced", Some(&user.login), address),
            )
            .await;
    }
    let token = random_token();
    let lifetime =
        chrono::Duration::from_std(web.absolute_lifetime).unwrap_or(chrono::Duration::hours(12));
    let opened = engine
        .open_session(
            NewSession {
                id_hash: token_hash(&token),
                user_id: user.id.clone(),
                csrf_token: random_token(),
                expires_at: engine.clock().now() + lifetime,
                address: address.map(str::to_string),
            },
            SecurityEntry::new("sign_in", Some(&user.login), address)
                .detail(json!({ "method": method })),
        )
        .await;
    if let Err(e) = opened {
        tracing::error!(error = %e, "sign-in: the session cannot be stored");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the session cannot be stored",
        )
            .into_response();
    }
    let next = if user.must_change_password {
        "/password"
    } else if user.undertaking_version.as_deref() != Some(web.undertaking_version()) {
        "/undertaking"
    } else {
        "/"
    };
    see_other_with_cookie(
        next,
        &[
            session_cookie(web.secure_cookie(), &token, lifetime.num_seconds()),
            format!("{SIGNIN_COOKIE}=; Path=/sign-in; HttpOnly; SameSite=Strict; Max-Age=0"),
        ],
    )
}

async fn post_sign_out(
    State(s): State<AppState>,
    AnySession(user): AnySession,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    let address = user.address_text();
    let _ = s
        .app
        .engine
        .end_session(
            &user.session.id_hash,
            SecurityEntry::new("sign_out", Some(&user.user.login), address.as_deref()),
        )
        .await;
    let mut response = sign_in_page(
        &s,
        &headers,
        StatusCode::OK,
        "",
        None,
        Some(Tr(user.lang).t("web-signed-out")),
    );
    if let Ok(v) = clear_cookie(s.web.secure_cookie()).parse() {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

async fn get_password(State(s): State<AppState>, AnySession(user): AnySession) -> Response {
    password_page(&s, &user, StatusCode::OK, None)
}

fn password_page(
    s: &AppState,
    user: &super::session::SignedIn,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let page = PasswordPage {
        chrome: Chrome::for_user(s, user, "web-password-title", "/password"),
        must_change: user.user.must_change_password,
        error,
    };
    render(status, user.lang, &page)
}

async fn post_password(
    State(s): State<AppState>,
    AnySession(user): AnySession,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let tr = Tr(user.lang);
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    let current_ok = user
        .user
        .password_hash
        .as_deref()
        .is_some_and(|h| password::verify(&form.current_password, h));
    if !current_ok {
        return password_page(
            &s,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(tr.t("web-password-current-wrong")),
        );
    }
    if let Err(weak) = password::check_policy(&form.new_password) {
        return password_page(
            &s,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(tr.t(weak.key())),
        );
    }
    if form.new_password == form.current_password {
        return password_page(
            &s,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(tr.t("web-password-same")),
        );
    }
    let hash = match password::hash(&form.new_password) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "password change");
            return password_page(&s, &user, StatusCode::INTERNAL_SERVER_ERROR, None);
        }
    };
    let address = user.address_text();
    let changed = s
        .app
        .engine
        .change_user(
            &user.user.id,
            UserChange {
                password: Some((hash, false)),
                ..UserChange::default()
            },
            SecurityEntry::new(
                "password_changed",
                Some(&user.user.login),
                address.as_deref(),
            )
            .detail(json!({ "user": user.user.login })),
        )
        .await;
    match changed {
        // A new password ends every session of the account: this browser gets a new one.
        Ok(updated) => {
            start_session(
                &s,
                &updated,
                address.as_deref(),
                &headers,
                "password_change",
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "password change");
            password_page(
                &s,
                &user,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(tr.t("web-unavailable")),
            )
        }
    }
}

async fn get_undertaking(State(s): State<AppState>, AnySession(user): AnySession) -> Response {
    if user.user.must_change_password {
        return Redirect::to("/password").into_response();
    }
    let tr = Tr(user.lang);
    let page = UndertakingPage {
        chrome: Chrome::for_user(&s, &user, "web-undertaking-title", "/undertaking"),
        text: tr
            .t("web-undertaking-text")
            .split("\n\n")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        version: s.web.undertaking_version().to_string(),
    };
    render(StatusCode::OK, user.lang, &page)
}

async fn post_undertaking(
    State(s): State<AppState>,
    AnySession(user): AnySession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    let version = s.web.undertaking_version();
    let address = user.address_text();
    let done = s
        .app
        .engine
        .acknowledge_undertaking(
            &user.user.id,
            version,
            SecurityEntry::new(
                "undertaking_acknowledged",
                Some(&user.user.login),
                address.as_deref(),
            )
            .detail(json!({ "version": version })),
        )
        .await;
    match done {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "undertaking");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the acknowledgement cannot be stored",
            )
                .into_response()
        }
    }
}

/// `GET /language/{uk|en}`: remembers the choice in a cookie and goes back to the page the link
/// was on (same origin only).
async fn language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = match code.as_str() {
        "uk" | "en" => code,
        _ => return (StatusCode::NOT_FOUND, "no such language").into_response(),
    };
    let back = headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_string());
    see_other_with_cookie(
        &back,
        &[format!(
            "{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000"
        )],
    )
}

/// The sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(get_sign_in).post(post_sign_in))
        .route("/sign-out", axum::routing::post(post_sign_out))
        .route("/password", get(get_password).post(post_password))
        .route("/undertaking", get(get_undertaking).post(post_undertaking))
        .route("/language/{code}", get(language))
}
