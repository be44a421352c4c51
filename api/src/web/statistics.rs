//! Page 9, the dashboard (`GET /statistics`, supervisors and auditors): the figures of
//! `/dashboard` (totals, by office, by month, cases with a deadline soon, missed deadlines),
//! rendered on the server with labels instead of codes, read through the same application-layer
//! functions as `GET /api/v1/stats`, `GET /api/v1/cases?upcoming=true` and
//! `GET /api/v1/deadlines?state=missed`. The query parameters are an office code and dates.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::Role;
use ptl_projections::stats::{Figures, GroupBy, Stats};
use serde::Deserialize;
use serde_json::Value;

use super::inbox::not_for_role;
use super::page::{render, Chrome, Tr};
use super::queue::Choice;
use super::rows::{explain, CaseRow, Shower};
use super::session::SignedIn;
use crate::app::lists::{DeadlineQuery, StatsRequest, WorkQueueQuery};
use crate::http::AppState;

/// The figures shown, in order (as the dashboard shows them).
pub const FIGURES: &[&str] = &[
    "applications",
    "children",
    "foreigners",
    "interviews",
    "files_submitted",
    "files_returned",
    "granted",
    "refused",
    "certificates_handed_over",
    "needs_assessments",
    "rehabilitation_plans",
    "shelter_placements",
    "payments",
    "deadlines_missed",
    "median_days_to_decision",
    "pending_decision",
    "open_cases",
    "overdue",
];

/// The figures of the breakdowns.
pub const GROUP_FIGURES: &[&str] = &[
    "applications",
    "granted",
    "refused",
    "pending_decision",
    "open_cases",
    "overdue",
];

/// How many cases the two lists show.
const LIST_LIMIT: u32 = 50;

/// The dashboard's query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct StatsParams {
    /// Office code within the scope.
    pub office: Option<String>,
    /// First day.
    pub from: Option<String>,
    /// Last day.
    pub to: Option<String>,
}

/// One figure as shown.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Its code (`data-figure`).
    pub code: &'static str,
    /// Its label.
    pub label: String,
    /// Its value (a dash when there is none).
    pub value: String,
}

/// One row of a breakdown.
#[derive(Debug, Clone)]
pub struct GroupRow {
    /// The office's name or the month.
    pub key: String,
    /// The raw key (`data-group`: an office code or `YYYY-MM`).
    pub raw: String,
    /// The values of [`GROUP_FIGURES`].
    pub values: Vec<String>,
}

/// A missed deadline of the dashboard's list.
#[derive(Debug, Clone)]
pub struct MissedRow {
    /// Case id.
    pub case_id: String,
    /// The deadline (label).
    pub deadline: String,
    /// Office's name.
    pub office: String,
    /// Due date, for people.
    pub due: String,
    /// The badge.
    pub badge: (&'static str, String),
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatsPage {
    chrome: Chrome,
    alert: Option<String>,
    offices: Vec<Choice>,
    from: String,
    to: String,
    office_name: String,
    period: String,
    stock_as_of: String,
    totals: Vec<Figure>,
    sources: Vec<Figure>,
    group_heads: Vec<String>,
    by_office: Vec<GroupRow>,
    by_month: Vec<GroupRow>,
    upcoming_title: String,
    upcoming: Vec<CaseRow>,
    missed: Vec<MissedRow>,
}

pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::Null => "—".to_string(),
        Value::Number(n) => match n.as_u64() {
            Some(u) => u.to_string(),
            None => n
                .as_f64()
                .map_or_else(|| n.to_string(), |f| format!("{f:.1}")),
        },
        other => other.to_string(),
    }
}

pub(crate) fn figures_value(f: &Figures) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}

fn date_param(
    v: Option<&String>,
    name: &str,
    tr: Tr,
    problems: &mut Vec<String>,
) -> Option<NaiveDate> {
    let v = v.map(|s| s.trim()).filter(|s| !s.is_empty())?;
    match v.parse() {
        Ok(d) => Some(d),
        Err(_) => {
            problems.push(tr.t1(
                "web-lists-stats-bad-date",
                "field",
                &tr.t(&format!("web-lists-stats-{name}")),
            ));
            None
        }
    }
}

async fn statistics(
    State(s): State<AppState>,
    user: SignedIn,
    Query(params): Query<StatsParams>,
) -> Response {
    const TITLE: &str = "web-lists-stats-title";
    if !matches!(user.caller.role, Role::Supervisor | Role::Auditor) {
        return not_for_role(&s, &user, TITLE, "/statistics");
    }
    let tr = Tr(user.lang);
    let mut problems = Vec::new();
    let from = date_param(params.from.as_ref(), "from", tr, &mut problems);
    let to = date_param(params.to.as_ref(), "to", tr, &mut problems);
    let office = params
        .office
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string);
    let request = |group_by| StatsRequest {
        office: office.clone(),
        from,
        to,
        group_by,
        ..StatsRequest::default()
    };
    let app = &s.app;
    let caller = &user.caller;
    let loaded = async {
        let (code, totals) = app.statistics(caller, request(GroupBy::None)).await?;
        let (_, by_office) = app.statistics(caller, request(GroupBy::Office)).await?;
        let (_, by_month) = app.statistics(caller, request(GroupBy::Month)).await?;
        let upcoming = app
            .work_queue(
                caller,
                WorkQueueQuery {
                    office: office.clone(),
                    upcoming: true,
                    limit: LIST_LIMIT,
                    ..WorkQueueQuery::default()
                },
            )
            .await?;
        let missed = app
            .deadlines(
                caller,
                DeadlineQuery {
                    office: office.clone(),
                    state: Some(DeadlineState::Missed),
                    limit: LIST_LIMIT,
                    ..DeadlineQuery::default()
                },
            )
            .await?;
        Ok::<_, crate::app::Error>((code, totals, by_office, by_month, upcoming, missed))
    }
    .await;
    let chrome = Chrome::for_user(&s, &user, TITLE, "/statistics");
    let (code, totals, by_office, by_month, upcoming, missed) = match loaded {
        Ok(l) => l,
        Err(e) => {
            let (text, _) = explain(tr, e);
            return super::message_page(
                StatusCode::BAD_REQUEST,
                chrome,
                true,
                text,
                Some(("/statistics".to_string(), tr.t("web-lists-stats-reset"))),
            );
        }
    };
    let shower = Shower::new(app, tr).await;
    let t = figures_value(&totals.totals);
    let figure = |v: &Value, code: &'static str| Figure {
        code,
        label: tr.label("figure", code),
        value: shown(&v[code]),
    };
    let sources = totals
        .totals
        .by_referral_source
        .iter()
        .map(|(source, n)| Figure {
            code: "by_referral_source",
            label: tr.enum_label("referral_source", source),
            value: n.map_or_else(|| "—".to_string(), |n| n.to_string()),
        })
        .collect();
    let groups = |st: &Stats, month: bool| -> Vec<GroupRow> {
        st.groups
            .iter()
            .map(|g| {
                let v = figures_value(&g.figures);
                GroupRow {
                    key: if month {
                        g.key.clone()
                    } else {
                        shower.office(&g.key)
                    },
                    raw: g.key.clone(),
                    values: GROUP_FIGURES.iter().map(|f| shown(&v[*f])).collect(),
                }
            })
            .collect()
    };
    let mut offices: Vec<Choice> = app
        .offices
        .descendants(&caller.office)
        .into_iter()
        .map(|c| Choice {
            value: c.to_string(),
            text: shower.office(c),
            selected: c == code,
        })
        .collect();
    offices.sort_by(|a, b| (a.value.len(), &a.value).cmp(&(b.value.len(), &b.value)));
    let missed = missed
        .items
        .iter()
        .map(|d| MissedRow {
            case_id: d.case_id.to_string(),
            deadline: tr.deadline(d.name.as_str()),
            office: shower.office(&d.office),
            due: tr.date(&d.due_on),
            badge: shower.badge(d.due_on, true),
        })
        .collect();
    let page = StatsPage {
        alert: (!problems.is_empty()).then(|| problems.join(" ")),
        offices,
        from: totals.from.to_string(),
        to: totals.to.to_string(),
        office_name: shower.office(&code),
        period: format!("{} – {}", tr.date(&totals.from), tr.date(&totals.to)),
        stock_as_of: tr.date(&totals.stock_as_of),
        totals: FIGURES.iter().map(|f| figure(&t, f)).collect(),
        sources,
        group_heads: GROUP_FIGURES
            .iter()
            .map(|f| tr.label("figure", f))
            .collect(),
        by_office: groups(&by_office, false),
        by_month: groups(&by_month, true),
        upcoming_title: tr.t1(
            "web-lists-view-upcoming",
            "days",
            &app.settings.upcoming_days.to_string(),
        ),
        upcoming: upcoming.page.items.iter().map(|r| shower.row(r)).collect(),
        missed,
        chrome,
    };
    render(StatusCode::OK, user.lang, &page)
}

/// The dashboard's route.
pub fn router() -> Router<AppState> {
    Router::new().route("/statistics", get(statistics))
}
