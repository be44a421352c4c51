//! The regional report as a document (issue 17, item 3; `procedure.md`, "Reporting"): the
//! figures for an office (with the offices below it) and a period, as a printable page (A4,
//! Ukrainian by default, the official's name and a signature line) and as CSV, with the public
//! disclosure rules applied when the user chooses the public version. Supervisors and auditors;
//! the same application operation as `GET /api/v1/reports/regional`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use ptl_domain::Role;
use ptl_projections::GroupBy;
use serde::Deserialize;

use super::page::{office_name, render, Chrome, Tr};
use super::session::SignedIn;
use super::statistics::{figures_value, shown, FIGURES};
use crate::app::lists::{Disclosure, StatsRequest};
use crate::http::AppState;

const TITLE: &str = "web-report-title";

/// The report's query parameters (codes and dates only: no personal data).
#[derive(Debug, Default, Deserialize)]
pub struct ReportParams {
    office: Option<String>,
    from: Option<String>,
    to: Option<String>,
    disclosure: Option<String>,
}

struct Line {
    code: &'static str,
    label: String,
    values: Vec<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    chrome: Chrome,
    office: String,
    office_code: String,
    offices: Vec<(String, String, bool)>,
    from: String,
    to: String,
    period: String,
    public: bool,
    columns: Vec<String>,
    lines: Vec<Line>,
    official: String,
    csv: String,
}

fn parse_date(v: Option<&String>) -> Result<Option<NaiveDate>, ()> {
    match v.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(d) => d.parse().map(Some).map_err(|_| ()),
    }
}

fn request(p: &ReportParams, group_by: GroupBy) -> Result<StatsRequest, ()> {
    Ok(StatsRequest {
        office: p
            .office
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        from: parse_date(p.from.as_ref())?,
        to: parse_date(p.to.as_ref())?,
        group_by,
        disclosure: if p.disclosure.as_deref() == Some("public") {
            Disclosure::Public
        } else {
            Disclosure::Internal
        },
    })
}

fn refused(s: &AppState, user: &SignedIn, status: StatusCode, text: String) -> Response {
    let tr = Tr(user.lang);
    super::message_page(
        status,
        Chrome::for_user(s, user, TITLE, "/reports/regional"),
        true,
        text,
        Some(("/reports/regional".into(), tr.t("web-report-reset"))),
    )
}

async fn page(
    State(s): State<AppState>,
    user: SignedIn,
    Query(p): Query<ReportParams>,
) -> Response {
    let tr = Tr(user.lang);
    if !matches!(user.caller.role, Role::Supervisor | Role::Auditor) {
        return refused(&s, &user, StatusCode::FORBIDDEN, tr.t("web-report-only"));
    }
    let (Ok(total_q), Ok(office_q)) = (request(&p, GroupBy::None), request(&p, GroupBy::Office))
    else {
        return refused(
            &s,
            &user,
            StatusCode::BAD_REQUEST,
            tr.t("web-report-bad-date"),
        );
    };
    let loaded = async {
        let (code, totals) = s.app.statistics(&user.caller, total_q).await?;
        let (_, by_office) = s.app.statistics(&user.caller, office_q).await?;
        Ok::<_, crate::app::Error>((code, totals, by_office))
    }
    .await;
    let (code, totals, by_office) = match loaded {
        Ok(l) => l,
        Err(e) => {
            let text = match e {
                crate::app::Error::Parameter { detail, .. } => detail,
                crate::app::Error::Forbidden(_) => tr.t("web-report-only"),
                _ => tr.t("web-unavailable"),
            };
            return refused(&s, &user, StatusCode::BAD_REQUEST, text);
        }
    };
    let tree = &s.app.offices;
    let mut columns = vec![tr.t("web-report-total")];
    columns.extend(
        by_office
            .groups
            .iter()
            .map(|g| office_name(tree, user.lang, &g.key)),
    );
    let total = figures_value(&totals.totals);
    let groups: Vec<_> = by_office
        .groups
        .iter()
        .map(|g| figures_value(&g.figures))
        .collect();
    let lines = FIGURES
        .iter()
        .map(|f| Line {
            code: f,
            label: tr.label("figure", f),
            values: std::iter::once(shown(&total[*f]))
                .chain(groups.iter().map(|g| shown(&g[*f])))
                .collect(),
        })
        .collect();
    let public = p.disclosure.as_deref() == Some("public");
    let query = format!(
        "office={code}&from={}&to={}{}",
        totals.from,
        totals.to,
        if public { "&disclosure=public" } else { "" }
    );
    let mut offices: Vec<(String, String, bool)> = tree
        .descendants(&user.caller.office)
        .into_iter()
        .map(|c| (c.to_string(), office_name(tree, user.lang, c), c == code))
        .collect();
    offices.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
    render(
        StatusCode::OK,
        user.lang,
        &ReportPage {
            chrome: Chrome::for_user(&s, &user, TITLE, "/reports/regional"),
            office: office_name(tree, user.lang, &code),
            office_code: code,
            offices,
            from: totals.from.to_string(),
            to: totals.to.to_string(),
            period: format!("{} – {}", tr.date(&totals.from), tr.date(&totals.to)),
            public,
            columns,
            lines,
            official: user.user.display_name.clone(),
            csv: format!("/reports/regional.csv?{query}"),
        },
    )
}

async fn csv(State(s): State<AppState>, user: SignedIn, Query(p): Query<ReportParams>) -> Response {
    let tr = Tr(user.lang);
    if !matches!(user.caller.role, Role::Supervisor | Role::Auditor) {
        return refused(&s, &user, StatusCode::FORBIDDEN, tr.t("web-report-only"));
    }
    let Ok(q) = request(&p, GroupBy::Office) else {
        return refused(
            &s,
            &user,
            StatusCode::BAD_REQUEST,
            tr.t("web-report-bad-date"),
        );
    };
    match s.app.statistics(&user.caller, q).await {
        Ok((_, stats)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"regional-report.csv\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            ptl_projections::stats::stats_csv(&stats),
        )
            .into_response(),
        Err(crate::app::Error::Parameter { detail, .. }) => {
            refused(&s, &user, StatusCode::BAD_REQUEST, detail)
        }
        Err(_) => refused(&s, &user, StatusCode::BAD_REQUEST, tr.t("web-unavailable")),
    }
}

/// `GET /reports/regional` and `GET /reports/regional.csv`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/regional", get(page))
        .route("/reports/regional.csv", get(csv))
}
