//! The security log for auditors (`web.md`, "Signing in": "readable by auditors"): every
//! sign-in, failure, lock, sign-out, password and account change, token revocation, master-key
//! rotation and erasure, newest first, in pages of 100. Each page is read alone and its entries
//! verified (recomputed and linked to the entry before the page); the whole chain on request. Auditors and admins; no personal data is in it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ptl_domain::Role;
use serde::Deserialize;

use super::page::{render, Chrome, Tr};
use super::session::SignedIn;
use crate::http::AppState;

const PAGE: i64 = 100;

struct Row {
    seq: i64,
    at: String,
    kind: String,
    actor: String,
    address: String,
    outcome: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "security_log.html")]
struct SecurityLogPage {
    chrome: Chrome,
    rows: Vec<Row>,
    /// The whole chain, when asked for (`?verify=all`).
    verified: Option<bool>,
    first_bad: Option<i64>,
    /// Whether the entries shown verify, in words.
    page_check: Option<(bool, String)>,
    older: Option<i64>,
    /// The `before` of the next newer page (`None`: the newest page, without `before`).
    newer: Option<Option<i64>>,
    total: i64,
}

/// `?before=<seq>`: the page of entries before it; `?verify=all`: verify the whole chain.
#[derive(Debug, Deserialize)]
pub struct Paging {
    before: Option<i64>,
    verify: Option<String>,
}

async fn show(State(s): State<AppState>, user: SignedIn, Query(p): Query<Paging>) -> Response {
    let tr = Tr(user.lang);
    if !matches!(user.caller.role, Role::Auditor | Role::Admin) {
        return super::message_page(
            StatusCode::FORBIDDEN,
            Chrome::for_user(&s, &user, "web-refused-title", ""),
            true,
            tr.t("web-seclog-only"),
            Some(("/".into(), tr.t("web-back-home"))),
        );
    }
    let engine = &s.app.engine;
    // One page is read, and verified on its own: each entry recomputed and linked to the one
    // before it. The whole chain is verified on request (`?verify=all`) or by
    // `ptl verify --security-log`, not on every view.
    let total = engine.security_log_last().await.unwrap_or(0);
    let page = engine
        .security_log_page(p.before, PAGE)
        .await
        .unwrap_or_default();
    let older = page.last().map(|e| e.seq).filter(|seq| *seq > 1);
    let newer = p.before.filter(|b| *b <= total).map(|b| b + PAGE).map(|b| {
        if b > total {
            None
        } else {
            Some(b)
        }
    });
    let range = page.last().map(|e| e.seq).zip(page.first().map(|e| e.seq));
    let page_check = match range {
        Some((from, to)) => engine
            .verify_security_log_range(from, to)
            .await
            .ok()
            .map(|bad| match bad {
                Some(seq) => (
                    false,
                    tr.t1("web-audit-seclog-page-broken", "seq", &seq.to_string()),
                ),
                None => (
                    true,
                    crate::i18n::t_args(
                        user.lang,
                        "web-audit-seclog-page",
                        &[
                            ("from", &from.to_string()),
                            ("to", &to.to_string()),
                            ("n", &total.to_string()),
                        ],
                    ),
                ),
            }),
        None => None,
    };
    let first_bad = if p.verify.as_deref() == Some("all") {
        engine.verify_security_log().await.ok()
    } else {
        None
    };
    let tz = chrono_tz::Europe::Kyiv;
    let rows = page
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: format!(
                "{} {}",
                tr.date(&e.at.with_timezone(&tz).date_naive()),
                e.at.with_timezone(&tz).format("%H:%M:%S")
            ),
            kind: tr.t(&format!("web-seclog-kind-{}", e.kind)),
            actor: e.actor.unwrap_or_default(),
            address: e.address.unwrap_or_default(),
            outcome: tr.t(&format!("web-seclog-outcome-{}", e.outcome)),
            detail: e
                .detail
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            format!(
                                "{}: {}",
                                tr.t(&format!("web-seclog-detail-{k}")),
                                v.as_str().map_or_else(|| v.to_string(), str::to_string)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
        })
        .collect();
    render(
        StatusCode::OK,
        user.lang,
        &SecurityLogPage {
            chrome: Chrome::for_user(&s, &user, "web-seclog-title", "/security-log"),
            rows,
            verified: first_bad.map(|b| b.is_none()),
            first_bad: first_bad.flatten(),
            page_check,
            older,
            newer,
            total,
        },
    )
}

/// `GET /security-log`.
pub fn router() -> Router<AppState> {
    Router::new().route("/security-log", get(show))
}
