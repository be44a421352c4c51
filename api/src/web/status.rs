//! The operator's status page (issue 16, "Operator"): admins only. It shows what `GET
//! /api/v1/status` answers ([`crate::app::App::status`], the same operation), in words: whether
//! this instance can serve and why not, each read model with how it is kept and its lag, the
//! outbox and the broker, the webhook deliveries, the legal clock, the store and the calendars.
//! No personal data is in it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use ptl_domain::Role;

use super::page::{render, Chrome, Tr};
use super::session::SignedIn;
use crate::app::operations::OperatorStatus as Status;
use crate::http::AppState;

/// One read model's row.
struct ModelRow {
    code: String,
    name: String,
    kept_code: String,
    kept: String,
    current: bool,
    position: String,
    lag_events: String,
    lag_time: String,
    progress: String,
    updated: String,
    error: String,
}

/// A term and its value.
struct Item {
    term: String,
    value: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    chrome: Chrome,
    checked: String,
    ready: bool,
    reasons: Vec<String>,
    warnings: Vec<String>,
    models: Vec<ModelRow>,
    outbox_enabled: bool,
    outbox: Vec<Item>,
    webhooks_enabled: bool,
    webhooks: Vec<Item>,
    clock: Vec<Item>,
    store: Vec<Item>,
    calendars: Vec<Item>,
}

fn at(tr: Tr, t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || tr.t("web-status-never"),
        |t| {
            let k = t.with_timezone(&chrono_tz::Europe::Kyiv);
            format!("{} {}", tr.date(&k.date_naive()), k.format("%H:%M:%S"))
        },
    )
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn age(tr: Tr, seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s < 60 {
        super::page::Tr::t1(&tr, "web-status-seconds", "n", &s.to_string())
    } else if s < 3600 {
        crate::i18n::t_args(
            tr.0,
            "web-status-minutes",
            &[("m", &(s / 60).to_string()), ("s", &(s % 60).to_string())],
        )
    } else {
        crate::i18n::t_args(
            tr.0,
            "web-status-hours",
            &[
                ("h", &(s / 3600).to_string()),
                ("m", &(s % 3600 / 60).to_string()),
            ],
        )
    }
}

#[allow(clippy::cast_precision_loss)]
fn size(tr: Tr, bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || tr.t("web-status-unknown"),
        |b| {
            tr.t1(
                "web-status-mib",
                "n",
                &format!("{:.1}", b as f64 / 1_048_576.0),
            )
        },
    )
}

fn yes_no(tr: Tr, b: bool) -> String {
    tr.t(if b { "web-status-yes" } else { "web-status-no" })
}

fn item(tr: Tr, key: &str, value: String) -> Item {
    Item {
        term: tr.t(key),
        value,
    }
}

/// The reasons and warnings in words, from the status's data (never its English sentences).
fn verdict(tr: Tr, s: &Status) -> (Vec<String>, Vec<String>) {
    let mut reasons = Vec::new();
    for m in &s.read_models {
        let name = tr.t(&format!("web-status-model-{}", m.name));
        let args = [
            ("model", name.as_str()),
            ("applied", &m.applied.to_string()),
            ("target", &m.target.to_string()),
        ];
        let key = match m.kept.as_str() {
            "rebuilding" => "web-status-reason-rebuilding",
            "catching_up" => "web-status-reason-catching-up",
            _ => continue,
        };
        reasons.push(crate::i18n::t_args(tr.0, key, &args));
        if m.last_error.is_some() {
            reasons.push(tr.t1("web-status-reason-failed", "model", &name));
        } else if m.stalled {
            reasons.push(tr.t1("web-status-reason-stalled", "model", &name));
        }
    }
    if s.legal_clock.late {
        reasons.push(tr.t1(
            "web-status-reason-clock",
            "due",
            &at(tr, s.legal_clock.next_due_at),
        ));
    }
    let mut warnings = Vec::new();
    if let Some(last) = s.calendars.last_day {
        if (last - ptl_domain::kyiv_date(s.checked_at)).num_days() < 90 {
            warnings.push(tr.t1("web-status-warning-calendar", "day", &tr.date(&last)));
        }
    }
    if s.outbox.pending > 0
        && s.outbox.oldest_seconds >= crate::app::operations::OUTBOX_BACKLOG_SECS
    {
        warnings.push(crate::i18n::t_args(
            tr.0,
            "web-status-warning-backlog",
            &[
                ("n", &s.outbox.pending.to_string()),
                ("age", &age(tr, s.outbox.oldest_seconds)),
            ],
        ));
    }
    if s.outbox.broker_connected == Some(false) {
        warnings.push(tr.t("web-status-warning-broker"));
    }
    if s.webhooks.failing > 0 {
        warnings.push(tr.t1(
            "web-status-warning-webhook",
            "n",
            &s.webhooks.failing.to_string(),
        ));
    }
    if !s.store.durable {
        warnings.push(tr.t("web-status-warning-durable"));
    }
    (reasons, warnings)
}

fn page(s: &AppState, user: &SignedIn, st: &Status) -> StatusPage {
    let tr = Tr(user.lang);
    let (reasons, warnings) = verdict(tr, st);
    let models = st
        .read_models
        .iter()
        .map(|m| {
            let current = crate::app::operations::is_current(&m.kept);
            ModelRow {
                code: m.name.clone(),
                name: tr.t(&format!("web-status-model-{}", m.name)),
                kept_code: m.kept.clone(),
                kept: tr.t(&format!("web-status-kept-{}", m.kept)),
                current,
                position: m.position.to_string(),
                lag_events: m.lag_events.to_string(),
                lag_time: age(tr, m.lag_seconds),
                progress: if m.started_at.is_some() {
                    crate::i18n::t_args(
                        tr.0,
                        "web-status-progress-of",
                        &[
                            ("applied", &m.applied.to_string()),
                            ("target", &m.target.to_string()),
                        ],
                    )
                } else {
                    String::new()
                },
                updated: if m.stalled {
                    format!("{} {}", at(tr, m.updated_at), tr.t("web-status-stalled"))
                } else if m.updated_at.is_some() {
                    at(tr, m.updated_at)
                } else {
                    String::new()
                },
                error: if current {
                    String::new()
                } else {
                    m.last_error.clone().unwrap_or_default()
                },
            }
        })
        .collect();
    let o = &st.outbox;
    let mut outbox = vec![
        item(tr, "web-status-pending", o.pending.to_string()),
        item(tr, "web-status-oldest", age(tr, o.oldest_seconds)),
        item(
            tr,
            "web-status-broker",
            tr.t(match o.broker_connected {
                Some(true) => "web-status-broker-yes",
                Some(false) => "web-status-broker-no",
                None => "web-status-broker-unknown",
            }),
        ),
    ];
    if let Some(e) = &o.last_error {
        outbox.push(item(tr, "web-status-last-error", e.clone()));
    }
    let w = &st.webhooks;
    let mut webhooks = vec![
        item(tr, "web-status-pending", w.pending.to_string()),
        item(tr, "web-status-failing", w.failing.to_string()),
        item(tr, "web-status-oldest", age(tr, w.oldest_seconds)),
        item(tr, "web-status-delivered", w.delivered.to_string()),
    ];
    if let Some(e) = &w.last_error {
        webhooks.push(item(tr, "web-status-last-error", e.clone()));
    }
    let c = &st.legal_clock;
    let mut clock = vec![
        item(tr, "web-status-last-run", at(tr, c.last_run_at)),
        item(
            tr,
            "web-status-next-wake",
            c.next_wake_at
                .map_or_else(|| tr.t("web-status-none"), |t| at(tr, Some(t))),
        ),
        item(
            tr,
            "web-status-next-due",
            c.next_due_at
                .map_or_else(|| tr.t("web-status-none"), |t| at(tr, Some(t))),
        ),
        item(tr, "web-status-records-today", c.records_today.to_string()),
        item(tr, "web-status-clock-late", yes_no(tr, c.late)),
    ];
    if let Some(e) = &c.last_error {
        clock.push(item(tr, "web-status-last-error", e.clone()));
    }
    let d = &st.store;
    let store = vec![
        item(
            tr,
            "web-status-backend",
            tr.t(&format!("web-status-backend-{}", d.backend)),
        ),
        item(tr, "web-status-size", size(tr, d.size_bytes)),
        item(tr, "web-status-wal", size(tr, d.wal_bytes)),
        item(
            tr,
            "web-status-durability",
            d.durability
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        item(tr, "web-status-durable", yes_no(tr, d.durable)),
        item(
            tr,
            "web-status-migrations",
            crate::i18n::t_args(
                tr.0,
                "web-status-migrations-of",
                &[
                    ("applied", &d.migrations_applied.to_string()),
                    ("known", &d.migrations_known.to_string()),
                ],
            ),
        ),
    ];
    let calendars = vec![item(
        tr,
        "web-status-last-year",
        st.calendars
            .last_year
            .map_or_else(|| tr.t("web-status-none"), |y| y.to_string()),
    )];
    StatusPage {
        chrome: Chrome::for_user(s, user, "web-status-title", "/admin/status"),
        checked: tr.t1("web-status-checked", "at", &at(tr, Some(st.checked_at))),
        ready: st.ready,
        reasons,
        warnings,
        models,
        outbox_enabled: o.enabled,
        outbox,
        webhooks_enabled: w.enabled,
        webhooks,
        clock,
        store,
        calendars,
    }
}

async fn show(State(s): State<AppState>, user: SignedIn) -> Response {
    let tr = Tr(user.lang);
    if user.caller.role != Role::Admin {
        return super::message_page(
            StatusCode::FORBIDDEN,
            Chrome::for_user(&s, &user, "web-refused-title", ""),
            true,
            tr.t("web-status-only"),
            Some(("/".into(), tr.t("web-back-home"))),
        );
    }
    match s.app.status().await {
        Ok(st) => render(StatusCode::OK, user.lang, &page(&s, &user, &st)),
        Err(e) => {
            tracing::warn!(error = %e, "status page: the store cannot be read");
            super::message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Chrome::for_user(&s, &user, "web-status-title", "/admin/status"),
                true,
                tr.t("web-unavailable"),
                Some(("/admin/status".into(), tr.t("web-status-refresh"))),
            )
        }
    }
}

/// `GET /admin/status`.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/status", get(show))
}
