//! Page 1, the work queue (`GET /`, the home page of caseworkers, supervisors and administrators;
//! the other roles are sent to theirs), and its current view as CSV (`GET /queue.csv`).
//!
//! Views with their counts (open cases, mine, unassigned in my office, overdue, due within the
//! upcoming window, waiting for the deciding authority, returned for completion, closed), filters
//! by office within scope, stage, status and assignee (query parameters: codes and user ids, never
//! personal data), sorted by the next due date as the read model sorts, in pages. Every list is
//! read through [`App::work_queue`](crate::app::App::work_queue), as `GET /api/v1/cases` reads it.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use ptl_domain::{Role, Stage, Status};
use ptl_projections::queries::{QueueCounts, WorkQueueRow, MAX_LIMIT};
use serde::Deserialize;

use super::page::{render, Chrome, Tr};
use super::rows::{explain, CaseRow, Shower, MAX_ROWS};
use super::session::SignedIn;
use crate::app::lists::{Narrow, WorkQueueQuery};
use crate::http::AppState;

/// Rows on one page of the queue.
pub const PAGE_SIZE: usize = 50;

/// The queue's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Open cases in scope.
    Open,
    /// Open cases assigned to me.
    Mine,
    /// Open cases of my office nobody is assigned to.
    Unassigned,
    /// A running deadline is past due.
    Overdue,
    /// A deadline is due within the upcoming window.
    Upcoming,
    /// The file is with the deciding authority.
    Submitted,
    /// The authority returned the file for completion.
    Returned,
    /// Closed cases.
    Closed,
}

impl View {
    /// Every view, in the order shown.
    pub const ALL: [View; 8] = [
        View::Open,
        View::Mine,
        View::Unassigned,
        View::Overdue,
        View::Upcoming,
        View::Submitted,
        View::Returned,
        View::Closed,
    ];

    /// The code in the URL (`?view=`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            View::Open => "open",
            View::Mine => "mine",
            View::Unassigned => "unassigned",
            View::Overdue => "overdue",
            View::Upcoming => "upcoming",
            View::Submitted => "submitted",
            View::Returned => "returned",
            View::Closed => "closed",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == code)
    }
}

/// The query parameters of the queue and its CSV (codes and user ids only).
#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    /// The view (`open` by default).
    pub view: Option<String>,
    /// One office within the scope.
    pub office: Option<String>,
    /// Stage code.
    pub stage: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Assignee's user id.
    pub assignee: Option<String>,
    /// Page number, from 1.
    pub page: Option<String>,
}

/// The parsed filters (unreadable values are reported and left out).
#[derive(Debug, Default, Clone)]
struct Filters {
    view: Option<View>,
    office: Option<String>,
    stage: Option<Stage>,
    status: Option<Status>,
    assignee: Option<String>,
    page: usize,
    problems: Vec<String>,
}

fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl Filters {
    fn parse(p: &QueueParams, tr: Tr) -> Self {
        let mut f = Filters {
            page: 1,
            ..Filters::default()
        };
        if let Some(v) = non_empty(p.view.as_ref()) {
            f.view = View::parse(v);
            if f.view.is_none() {
                f.problems.push(tr.t("web-lists-filter-view-unknown"));
            }
        }
        f.office = non_empty(p.office.as_ref()).map(str::to_string);
        if let Some(s) = non_empty(p.stage.as_ref()) {
            f.stage = s.parse().ok();
            if f.stage.is_none() {
                f.problems.push(tr.t("web-lists-filter-stage-unknown"));
            }
        }
        if let Some(s) = non_empty(p.status.as_ref()) {
            f.status = s.parse().ok();
            if f.status.is_none() {
                f.problems.push(tr.t("web-lists-filter-status-unknown"));
            }
        }
        f.assignee = non_empty(p.assignee.as_ref()).map(str::to_string);
        if let Some(n) = non_empty(p.page.as_ref()) {
            match n.parse::<usize>() {
                Ok(n) if n >= 1 => f.page = n,
                _ => f.problems.push(tr.t("web-lists-filter-page-unknown")),
            }
        }
        f
    }

    /// The query string of these filters with another view and page (`None`: leave out).
    fn query(&self, view: View, page: Option<usize>) -> String {
        let mut parts = vec![format!("view={}", view.code())];
        if let Some(o) = &self.office {
            parts.push(format!("office={}", encode(o)));
        }
        if let Some(s) = self.stage {
            parts.push(format!("stage={}", s.as_str()));
        }
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if let Some(a) = &self.assignee {
            parts.push(format!("assignee={}", encode(a)));
        }
        if let Some(p) = page {
            parts.push(format!("page={p}"));
        }
        parts.join("&")
    }
}

/// Percent-encodes a query value (unreserved characters stay).
#[must_use]
pub fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One view in the list of views.
#[derive(Debug, Clone)]
pub struct ViewLink {
    /// Its code.
    pub code: &'static str,
    /// Its name.
    pub name: String,
    /// How many cases it holds.
    pub count: usize,
    /// Its address (with the current filters).
    pub href: String,
    /// Whether it is the view shown.
    pub current: bool,
}

/// An option of a filter's select.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The value sent.
    pub value: String,
    /// What people read.
    pub text: String,
    /// Whether it is selected.
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    chrome: Chrome,
    views: Vec<ViewLink>,
    view_code: &'static str,
    view_name: String,
    offices: Vec<Choice>,
    stages: Vec<Choice>,
    statuses: Vec<Choice>,
    assignees: Vec<Choice>,
    rows: Vec<CaseRow>,
    total: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    csv: String,
    problems: Vec<String>,
}

/// What a view shows after the filters: the rows of one page (or of every page, for the CSV),
/// how many the view holds, the counts of every view and the assignees to filter by. Everything is
/// counted and paged by the read model: nothing reads a whole view to count it.
struct Loaded {
    view: View,
    rows: Vec<WorkQueueRow>,
    total: usize,
    page: usize,
    counts: QueueCounts,
    assignees: Vec<String>,
}

/// Which rows to read: one page (from 1; past the last page reads the last), or every row of the
/// view up to [`MAX_ROWS`].
#[derive(Debug, Clone, Copy)]
enum Rows {
    Page(usize),
    All,
}

/// The query of a view with the filters, or `None` when the filters exclude the view's cases
/// (another stage than the view's, another office than the user's for "unassigned").
fn view_query(
    view: View,
    f: &Filters,
    caller: &crate::app::Caller,
) -> Option<(WorkQueueQuery, Narrow)> {
    let mut q = WorkQueueQuery {
        office: f.office.clone(),
        stage: f.stage,
        status: f.status,
        assignee: f.assignee.clone(),
        ..WorkQueueQuery::default()
    };
    let mut narrow = Narrow::default();
    let stage = |q: &mut WorkQueueQuery, st: Stage| match q.stage {
        Some(other) if other != st => false,
        _ => {
            q.stage = Some(st);
            true
        }
    };
    match view {
        View::Open => narrow.open = Some(true),
        View::Mine => {
            narrow.open = Some(true);
            q.assignee = Some(caller.sub.clone());
        }
        View::Unassigned => {
            if q.office.as_deref().is_some_and(|o| o != caller.office) || q.assignee.is_some() {
                return None;
            }
            narrow.open = Some(true);
            narrow.unassigned = true;
            q.office = Some(caller.office.clone());
        }
        View::Overdue => q.overdue = true,
        View::Upcoming => {
            narrow.open = Some(true);
            q.upcoming = true;
        }
        View::Submitted => {
            if !stage(&mut q, Stage::Submitted) {
                return None;
            }
        }
        View::Returned => {
            if !stage(&mut q, Stage::Returned) {
                return None;
            }
        }
        View::Closed => {
            if !stage(&mut q, Stage::Closed) {
                return None;
            }
        }
    }
    Some((q, narrow))
}

async fn load(
    s: &AppState,
    user: &SignedIn,
    f: &mut Filters,
    which: Rows,
) -> Result<Loaded, crate::app::Error> {
    let app = &s.app;
    let caller = &user.caller;
    let view = f.view.unwrap_or(View::Open);
    let counts = app.work_queue_counts(caller).await?;
    let assignees = app.work_queue_assignees(caller).await?;
    let (mut rows, mut total, mut page) = (Vec::new(), 0, 1);
    // Without a filter the list is the view itself, whose count the page already has.
    let known =
        (f.office.is_none() && f.stage.is_none() && f.status.is_none() && f.assignee.is_none())
            .then(|| view.count(&counts));
    if let Some((q, narrow)) = view_query(view, f, caller) {
        let (offset, limit) = match which {
            Rows::Page(p) => ((p.max(1) - 1) * PAGE_SIZE, PAGE_SIZE),
            Rows::All => (0, MAX_LIMIT as usize),
        };
        let first = app
            .work_queue_page(
                caller,
                q.clone(),
                narrow,
                offset as u64,
                limit as u32,
                known,
            )
            .await;
        let mut got = match first {
            Ok(got) => got,
            Err(crate::app::Error::Parameter { parameter, .. }) if parameter == "office" => {
                f.problems
                    .push(Tr(user.lang).t("web-lists-filter-office-outside"));
                f.office = None;
                return Box::pin(load(s, user, f, which)).await;
            }
            Err(e) => return Err(e),
        };
        total = usize::try_from(got.total).unwrap_or(usize::MAX);
        match which {
            Rows::Page(p) => {
                let pages = total.div_ceil(PAGE_SIZE).max(1);
                page = p.clamp(1, pages);
                if page != p.max(1) {
                    got = app
                        .work_queue_page(
                            caller,
                            q,
                            narrow,
                            ((page - 1) * PAGE_SIZE) as u64,
                            limit as u32,
                            known,
                        )
                        .await?;
                }
                rows = got.items;
            }
            Rows::All => {
                rows = got.items;
                while rows.len() < total.min(MAX_ROWS) {
                    let more = app
                        .work_queue_page(
                            caller,
                            q.clone(),
                            narrow,
                            rows.len() as u64,
                            limit as u32,
                            known,
                        )
                        .await?;
                    if more.items.is_empty() {
                        break;
                    }
                    rows.extend(more.items);
                }
            }
        }
    }
    Ok(Loaded {
        view,
        rows,
        total,
        page,
        counts,
        assignees,
    })
}

impl View {
    /// This view's count.
    fn count(self, c: &QueueCounts) -> u64 {
        match self {
            View::Open => c.open,
            View::Mine => c.mine,
            View::Unassigned => c.unassigned,
            View::Overdue => c.overdue,
            View::Upcoming => c.upcoming,
            View::Submitted => c.submitted,
            View::Returned => c.returned,
            View::Closed => c.closed,
        }
    }
}

fn view_name(tr: Tr, v: View, upcoming_days: i64) -> String {
    match v {
        View::Upcoming => tr.t1(
            "web-lists-view-upcoming",
            "days",
            &upcoming_days.to_string(),
        ),
        other => tr.t(&format!("web-lists-view-{}", other.code())),
    }
}

/// `GET /`: the home page: the work queue, or the page of the user's role.
async fn home(
    State(s): State<AppState>,
    user: SignedIn,
    Query(params): Query<QueueParams>,
) -> Response {
    match user.caller.role {
        Role::DecisionOfficer => return Redirect::to("/inbox").into_response(),
        Role::SocialWorker => return Redirect::to("/social").into_response(),
        Role::Auditor => return Redirect::to("/statistics").into_response(),
        _ => {}
    }
    let tr = Tr(user.lang);
    let mut f = Filters::parse(&params, tr);
    let chrome = Chrome::for_user(&s, &user, "web-lists-queue-title", "/");
    let wanted = Rows::Page(f.page);
    let loaded = match load(&s, &user, &mut f, wanted).await {
        Ok(l) => l,
        Err(e) => {
            let (text, _) = explain(tr, e);
            return super::message_page(StatusCode::BAD_REQUEST, chrome, true, text, None);
        }
    };
    let shower = Shower::new(&s.app, tr).await;
    let total = loaded.total;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = loaded.page;
    let rows = loaded.rows.iter().map(|r| shower.row(r)).collect();
    let views = View::ALL
        .into_iter()
        .map(|v| ViewLink {
            code: v.code(),
            name: view_name(tr, v, s.app.settings.upcoming_days),
            count: usize::try_from(v.count(&loaded.counts)).unwrap_or(usize::MAX),
            href: format!("/?{}", f.query(v, None)),
            current: v == loaded.view,
        })
        .collect();
    let offices = s
        .app
        .offices
        .descendants(&user.caller.office)
        .into_iter()
        .map(|code| Choice {
            value: code.to_string(),
            text: shower.office(code),
            selected: f.office.as_deref() == Some(code),
        })
        .collect();
    let stages = Stage::ALL
        .iter()
        .map(|st| Choice {
            value: st.as_str().to_string(),
            text: tr.label("stage", st.as_str()),
            selected: f.stage == Some(*st),
        })
        .collect();
    let statuses = Status::ALL
        .iter()
        .map(|st| Choice {
            value: st.as_str().to_string(),
            text: tr.label("status", st.as_str()),
            selected: f.status == Some(*st),
        })
        .collect();
    let ids: BTreeSet<&str> = loaded
        .assignees
        .iter()
        .map(String::as_str)
        .chain(f.assignee.as_deref())
        .collect();
    let mut assignees: Vec<Choice> = ids
        .into_iter()
        .map(|id| Choice {
            value: id.to_string(),
            text: shower.name(id),
            selected: f.assignee.as_deref() == Some(id),
        })
        .collect();
    assignees.sort_by(|a, b| a.text.cmp(&b.text));
    let page_link = |p: usize| format!("/?{}", f.query(loaded.view, Some(p)));
    let body = QueuePage {
        view_code: loaded.view.code(),
        view_name: view_name(tr, loaded.view, s.app.settings.upcoming_days),
        views,
        offices,
        stages,
        statuses,
        assignees,
        rows,
        total,
        page,
        pages,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
        csv: format!("/queue.csv?{}", f.query(loaded.view, None)),
        problems: f.problems.clone(),
        chrome,
    };
    render(StatusCode::OK, user.lang, &body)
}

/// A CSV cell: quoted when it holds a separator, a quote or a line break; a cell a spreadsheet
/// would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading apostrophe.
#[must_use]
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// A CSV document as a download (`filename`), never stored by the browser or a proxy.
#[must_use]
pub fn csv_download(body: String, filename: &str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /queue.csv`: the current view (every page) with the same filters, as CSV (UTF-8 with a
/// byte-order mark, for spreadsheets).
async fn queue_csv(
    State(s): State<AppState>,
    user: SignedIn,
    Query(params): Query<QueueParams>,
) -> Response {
    let tr = Tr(user.lang);
    if !matches!(
        user.caller.role,
        Role::Caseworker | Role::Supervisor | Role::Admin
    ) {
        return super::message_page(
            StatusCode::FORBIDDEN,
            Chrome::for_user(&s, &user, "web-lists-queue-title", "/"),
            true,
            tr.t("web-lists-not-for-role"),
            Some(("/".to_string(), tr.t("web-back-home"))),
        );
    }
    let mut f = Filters::parse(&params, tr);
    let loaded = match load(&s, &user, &mut f, Rows::All).await {
        Ok(l) => l,
        Err(e) => {
            let (text, _) = explain(tr, e);
            return (StatusCode::BAD_REQUEST, text).into_response();
        }
    };
    let shower = Shower::new(&s.app, tr).await;
    let mut out = String::from("\u{feff}");
    let head = [
        "web-lists-col-register-no",
        "web-lists-col-stage",
        "web-lists-col-status",
        "web-lists-col-due",
        "web-lists-col-badge",
        "web-lists-col-assignee",
        "web-lists-col-office",
    ]
    .map(|k| csv_cell(&tr.t(k)));
    out.push_str(&head.join(","));
    out.push_str("\r\n");
    for r in &loaded.rows {
        let row = shower.row(r);
        let cells = [
            row.register_no,
            row.stage,
            row.status,
            row.due,
            row.badge.map(|(_, w)| w).unwrap_or_default(),
            row.assignee,
            row.office,
        ]
        .map(|c| csv_cell(&c));
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    csv_download(out, "work-queue.csv")
}

/// The queue's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/queue.csv", get(queue_csv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_escaped() {
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("UA7102-2026-000001"), "UA7102-2026-000001");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("UA7102"), "UA7102");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
