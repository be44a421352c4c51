//! The security log for auditors (`web.md`, "Signing in": "readable by auditors"): every
//! sign-in, failure, lock, sign-out, password and account change, newest first, in pages of 100,
//! with the mark that its hash chain verifies. Auditors and admins; no personal data is in it.

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
    verified: Option<bool>,
    first_bad: Option<i64>,
    older: Option<i64>,
    total: i64,
}

/// `?before=<seq>`: the page of entries before it.
#[derive(Debug, Deserialize)]
pub struct Paging {
    before: Option<i64>,
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
    let all = engine.security_log(0, i64::MAX).await.unwrap_or_default();
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let before = p.before.unwrap_or(i64::MAX);
    let mut page: Vec<_> = all.into_iter().filter(|e| e.seq < before).collect();
    page.reverse();
    page.truncate(usize::try_from(PAGE).unwrap_or(100));
    let older = page.last().map(|e| e.seq).filter(|seq| *seq > 1);
    let first_bad = engine.verify_security_log().await.ok();
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
            older,
            total,
        },
    )
}

/// `GET /security-log`.
pub fn router() -> Router<AppState> {
    Router::new().route("/security-log", get(show))
}
