//! The integrity report for auditors and supervisors (issue 16, "Auditor"): a page that starts
//! one over the user's scope (`POST /audit/integrity`, the same operation as
//! `POST /api/v1/integrity-reports`), a page per report showing its progress while it runs (the
//! page refreshes itself with `<meta http-equiv="refresh">`: no script) and its summary when done
//! (cases, events, the invalid cases with their first bad event, the log's checkpoint and its
//! problems), and its downloads (JSON and CSV) under the session.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::page::{render, Chrome, Tr};
use super::session::SignedIn;
use crate::app::integrity::ReportStatus;
use crate::app::Error;
use crate::http::AppState;

const TITLE: &str = "web-integrity-title";
const PATH: &str = "/audit/integrity";

struct Listed {
    href: String,
    started: String,
    by: String,
    scope: String,
    status: String,
    progress: String,
}

#[derive(Template)]
#[template(path = "integrity.html")]
struct ListPage {
    chrome: Chrome,
    reports: Vec<Listed>,
}

struct Invalid {
    case_id: String,
    register_no: String,
    problem: String,
    first_bad: String,
    events: String,
}

#[derive(Template)]
#[template(path = "integrity_report.html")]
struct ReportPage {
    chrome: Chrome,
    running: bool,
    status: String,
    status_class: &'static str,
    started: String,
    by: String,
    scope: String,
    done: u64,
    total: u64,
    progress: String,
    summary: Option<String>,
    verified: bool,
    invalid: Vec<Invalid>,
    log_problems: Vec<String>,
    checkpoint: String,
    json: String,
    csv: String,
}

/// The start form: only the CSRF token (the scope is the user's office).
#[derive(Debug, Deserialize)]
pub struct StartForm {
    csrf_token: String,
}

fn when(tr: Tr, t: DateTime<Utc>) -> String {
    let k = t.with_timezone(&chrono_tz::Europe::Kyiv);
    format!("{} {}", tr.date(&k.date_naive()), k.format("%H:%M:%S"))
}

fn refused(s: &AppState, user: &SignedIn) -> Option<Response> {
    if matches!(
        user.caller.role,
        ptl_domain::Role::Auditor | ptl_domain::Role::Supervisor
    ) {
        return None;
    }
    let tr = Tr(user.lang);
    Some(super::message_page(
        StatusCode::FORBIDDEN,
        Chrome::for_user(s, user, "web-refused-title", ""),
        true,
        tr.t("web-integrity-only"),
        Some(("/".into(), tr.t("web-back-home"))),
    ))
}

fn failure(s: &AppState, user: &SignedIn, e: &Error) -> Response {
    let tr = Tr(user.lang);
    tracing::warn!(error = %e, "integrity report page");
    let (status, text) = match e {
        Error::NotFound(_) => (StatusCode::NOT_FOUND, tr.t("web-integrity-not-found")),
        _ => (StatusCode::SERVICE_UNAVAILABLE, tr.t("web-unavailable")),
    };
    super::message_page(
        status,
        Chrome::for_user(s, user, TITLE, PATH),
        true,
        text,
        Some((PATH.into(), tr.t("web-integrity-back"))),
    )
}

fn status_text(tr: Tr, r: &ReportStatus) -> String {
    if r.status == "done" && r.invalid > 0 {
        return tr.t("web-integrity-status-done-invalid");
    }
    if r.status == "done"
        && r.report
            .as_ref()
            .is_some_and(|rep| !rep.log_problems.is_empty())
    {
        return tr.t("web-integrity-status-done-invalid");
    }
    tr.t(&format!("web-integrity-status-{}", r.status))
}

/// Who started a report: the account's name when it is a web account, else the token's subject.
async fn starter(s: &AppState, sub: &str) -> String {
    match s.app.engine.user_by_id(sub).await {
        Ok(Some(u)) => u.display_name,
        _ => sub.to_string(),
    }
}

async fn list(State(s): State<AppState>, user: SignedIn) -> Response {
    if let Some(r) = refused(&s, &user) {
        return r;
    }
    let tr = Tr(user.lang);
    let reports = match s.app.integrity_reports(&user.caller).await {
        Ok(r) => r,
        Err(e) => return failure(&s, &user, &e),
    };
    let mut names = std::collections::BTreeMap::new();
    for r in &reports {
        if !names.contains_key(&r.requested_by) {
            names.insert(r.requested_by.clone(), starter(&s, &r.requested_by).await);
        }
    }
    let reports = reports
        .iter()
        .map(|r| Listed {
            href: format!("{PATH}/{}", r.id),
            started: when(tr, r.started_at),
            by: names.get(&r.requested_by).cloned().unwrap_or_default(),
            scope: super::page::office_name(&s.app.offices, user.lang, &r.scope),
            status: status_text(tr, r),
            progress: crate::i18n::t_args(
                user.lang,
                "web-integrity-progress",
                &[
                    ("done", &r.done.to_string()),
                    ("total", &r.total.to_string()),
                ],
            ),
        })
        .collect();
    render(
        StatusCode::OK,
        user.lang,
        &ListPage {
            chrome: Chrome::for_user(&s, &user, TITLE, PATH),
            reports,
        },
    )
}

async fn start(State(s): State<AppState>, user: SignedIn, Form(form): Form<StartForm>) -> Response {
    if let Some(r) = refused(&s, &user) {
        return r;
    }
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    match s.app.start_integrity_report(&user.caller).await {
        Ok((r, _)) => Redirect::to(&format!("{PATH}/{}", r.id)).into_response(),
        Err(e) => failure(&s, &user, &e),
    }
}

async fn show(State(s): State<AppState>, user: SignedIn, Path(id): Path<String>) -> Response {
    if let Some(r) = refused(&s, &user) {
        return r;
    }
    let tr = Tr(user.lang);
    let r = match s.app.integrity_report(&user.caller, &id).await {
        Ok(r) => r,
        Err(e) => return failure(&s, &user, &e),
    };
    let running = r.status == "running";
    let status_class = match r.status.as_str() {
        "running" => "notice",
        "done"
            if r.report
                .as_ref()
                .is_some_and(crate::integrity::Report::is_clean) =>
        {
            "ok"
        }
        _ => "error",
    };
    let (summary, verified, invalid, log_problems, checkpoint) = match &r.report {
        None => (None, false, Vec::new(), Vec::new(), String::new()),
        Some(rep) => {
            let n = |v: u64| v.to_string();
            let summary = crate::i18n::t_args(
                user.lang,
                "web-integrity-summary",
                &[
                    ("cases", &n(rep.cases)),
                    ("events", &n(rep.events)),
                    ("invalid", &rep.invalid.len().to_string()),
                ],
            );
            let invalid = rep
                .invalid
                .iter()
                .map(|c| Invalid {
                    case_id: c.case_id.clone(),
                    register_no: c
                        .register_no
                        .clone()
                        .unwrap_or_else(|| tr.t("web-integrity-no-register")),
                    problem: tr.t(&format!("web-integrity-problem-{}", c.problem)),
                    first_bad: c.first_bad_event.to_string(),
                    events: match c.checkpoint_events {
                        Some(cp) => crate::i18n::t_args(
                            user.lang,
                            "web-integrity-events-of-checkpoint",
                            &[
                                ("events", &c.events.to_string()),
                                ("checkpoint", &cp.to_string()),
                            ],
                        ),
                        None => c.events.to_string(),
                    },
                })
                .collect();
            let log_problems = rep
                .log_problems
                .iter()
                .map(|p| tr.t(&format!("web-integrity-log-{}", p.kind)))
                .collect();
            let checkpoint = match &rep.checkpoint {
                Some(c) => crate::i18n::t_args(
                    user.lang,
                    "web-integrity-checkpoint",
                    &[
                        ("at", &when(tr, c.at)),
                        ("events", &c.events.to_string()),
                        ("cases", &c.cases.to_string()),
                    ],
                ),
                None => tr.t("web-integrity-no-checkpoint"),
            };
            (
                Some(summary),
                rep.is_clean(),
                invalid,
                log_problems,
                checkpoint,
            )
        }
    };
    let progress = crate::i18n::t_args(
        user.lang,
        "web-integrity-progress",
        &[
            ("done", &r.done.to_string()),
            ("total", &r.total.to_string()),
        ],
    );
    render(
        StatusCode::OK,
        user.lang,
        &ReportPage {
            chrome: Chrome::for_user(&s, &user, "web-integrity-report-title", PATH),
            running,
            status: status_text(tr, &r),
            status_class,
            started: when(tr, r.started_at),
            by: starter(&s, &r.requested_by).await,
            scope: super::page::office_name(&s.app.offices, user.lang, &r.scope),
            done: r.done,
            total: r.total.max(r.done),
            progress,
            summary,
            verified,
            invalid,
            log_problems,
            checkpoint,
            json: format!("{PATH}/{}/report.json", r.id),
            csv: format!("{PATH}/{}/report.csv", r.id),
        },
    )
}

async fn download(
    State(s): State<AppState>,
    user: SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    if let Some(r) = refused(&s, &user) {
        return r;
    }
    let r = match s.app.integrity_report(&user.caller, &id).await {
        Ok(r) => r,
        Err(e) => return failure(&s, &user, &e),
    };
    let Some(report) = r.report else {
        return failure(&s, &user, &Error::NotFound("not done".into()));
    };
    let (body, kind) = match file.as_str() {
        "report.json" => (
            serde_json::to_string_pretty(&report).unwrap_or_default(),
            "application/json",
        ),
        "report.csv" => (report.to_csv(), "text/csv; charset=utf-8"),
        _ => return failure(&s, &user, &Error::NotFound("no such file".into())),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"integrity-{}-{file}\"", r.id),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET|POST /audit/integrity`, `GET /audit/integrity/{id}` and its downloads.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, get(list).post(start))
        .route("/audit/integrity/{id}", get(show))
        .route("/audit/integrity/{id}/{file}", get(download))
}
