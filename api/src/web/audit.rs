//! The auditor's pages (issue 16): the case history browser (`/cases/{id}/audit`: every event
//! with its hash and the previous hash, whether the chain verifies up to it, the case as it stood
//! at a version, a business date or a recorded instant, and the difference between two versions;
//! the history as JSON, exactly as `GET /api/v1/cases/{id}/events` sends it) and the access log
//! across cases (`/access-log`, with its CSV). Auditors and supervisors; both read the same
//! application operations as the REST routes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{NaiveDateTime, TimeZone, Utc};
use ptl_domain::Role;
use serde::Deserialize;
use serde_json::Value;

use super::case::{kyiv_time, names_of, who};
use super::message_page;
use super::page::{office_name, render, Chrome, Tr};
use super::queue::{csv_cell, csv_download};
use super::session::SignedIn;
use crate::app::audit::Change;
use crate::app::{CaseRead, Error, HistoryPoint};
use crate::http::extract::Params;
use crate::http::history::{EventItem, EventList};
use crate::http::AppState;

/// The routes of these pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/audit", get(history_browser))
        .route("/cases/{id}/audit/events.json", get(events_json))
        .route("/access-log", get(access_log_page))
        .route("/access-log.csv", get(access_log_csv))
}

fn may_audit(user: &SignedIn) -> bool {
    matches!(user.caller.role, Role::Auditor | Role::Supervisor)
}

fn refused(s: &AppState, user: &SignedIn, e: &Error) -> Response {
    let tr = Tr(user.lang);
    let (status, key) = match e {
        Error::CaseNotFound | Error::NotFound(_) => (StatusCode::NOT_FOUND, "web-case-not-found"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "web-audit-only"),
        Error::Parameter { .. } => (StatusCode::BAD_REQUEST, "web-audit-bad-filter"),
        Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "web-unavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "web-case-failed"),
    };
    message_page(
        status,
        Chrome::for_user(s, user, "web-refused-title", ""),
        true,
        tr.t(key),
        Some(("/".into(), tr.t("web-back-home"))),
    )
}

// ---------------------------------------------------------------------------------------------
// The case history browser.

struct EventRow {
    sequence: u64,
    what: String,
    who: String,
    on: String,
    recorded: String,
    hash: String,
    prev_hash: String,
    /// `verified`, `broken` (the first bad event) or `unverified` (after it).
    chain: &'static str,
    chain_text: String,
}

struct Line {
    term: String,
    value: String,
}

struct ChangeRow {
    field: String,
    old: String,
    new: String,
}

#[derive(Template)]
#[template(path = "audit_history.html")]
struct HistoryBrowser {
    chrome: Chrome,
    id: String,
    version: u64,
    events: Vec<EventRow>,
    first_invalid: Option<u64>,
    at_version: String,
    on: String,
    as_of: String,
    shown: Option<(String, Vec<Line>)>,
    diff_from: String,
    diff_to: String,
    changes: Option<(String, Vec<ChangeRow>)>,
    alert: Option<String>,
}

/// The browser's query: one point in history (`version`, `on` or `as_of`), and two versions to
/// compare (`from`, `to`). Empty fields of the form count as absent.
#[derive(Debug, Default, Deserialize)]
struct BrowserQuery {
    version: Option<String>,
    on: Option<String>,
    as_of: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `YYYY-MM-DDTHH:MM[:SS]` as the browser's `datetime-local` sends it, in Kyiv time.
fn parse_kyiv_instant(s: &str) -> Option<chrono::DateTime<Utc>> {
    let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    chrono_tz::Europe::Kyiv
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn filled(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// A value of the case view in words.
fn value_text(
    s: &AppState,
    tr: Tr,
    names: &HashMap<String, String>,
    key: &str,
    v: &Value,
) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Bool(b) => tr.t(if *b { "web-case-yes" } else { "web-case-no" }),
        Value::Number(n) => n.to_string(),
        Value::String(x) => match key {
            "stage" => tr.label("stage", x),
            "status" => tr.label("status", x),
            "office" | "submitted_to" => office_name(&s.app.offices, tr.0, x),
            "state" => tr.enum_label("DeadlineState", x),
            "assignee" => names.get(x).cloned().unwrap_or_else(|| x.clone()),
            _ => crate::models::parse_strict_date(x).map_or_else(|| x.clone(), |d| tr.date(&d)),
        },
        Value::Array(a) => a
            .iter()
            .map(|x| value_text(s, tr, names, key, x))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => v.to_string(),
    }
}

/// A field's path in words: each key from the catalogue, a deadline by its name, other list
/// items by their number.
fn field_text(tr: Tr, path: &[String]) -> String {
    let mut out = Vec::new();
    let mut in_deadlines = false;
    for (i, p) in path.iter().enumerate() {
        if p.chars().all(|c| c.is_ascii_digit()) {
            out.push(format!("№ {p}"));
        } else if in_deadlines && i == 1 {
            out.push(tr.deadline(p));
        } else {
            let key = format!("web-audit-field-{p}");
            out.push(if crate::i18n::has(tr.0, &key) {
                tr.t(&key)
            } else {
                tr.field(p)
            });
        }
        in_deadlines = i == 0 && p == "deadlines";
    }
    out.join(" › ")
}

fn change_rows(
    s: &AppState,
    tr: Tr,
    names: &HashMap<String, String>,
    changes: &[Change],
) -> Vec<ChangeRow> {
    changes
        .iter()
        .map(|c| {
            let key = c.path.last().map_or("", String::as_str);
            let show = |v: &Option<Value>| {
                v.as_ref()
                    .map_or_else(|| "—".to_string(), |v| value_text(s, tr, names, key, v))
            };
            ChangeRow {
                field: field_text(tr, &c.path),
                old: show(&c.old),
                new: show(&c.new),
            }
        })
        .collect()
}

async fn shown_at(
    s: &AppState,
    user: &SignedIn,
    case: &CaseRead,
    point: HistoryPoint,
) -> Result<(String, Vec<Line>), Error> {
    let tr = Tr(user.lang);
    let shown = s
        .app
        .read_case(&user.caller, case.clone(), point, None)
        .await?;
    let v = &shown.view;
    let heading = tr.t1("web-audit-as-at", "version", &shown.version.to_string());
    let line = |term: &str, value: String| Line {
        term: tr.t(term),
        value,
    };
    let mut lines = vec![
        line("web-case-stage", tr.label("stage", v.stage.as_str())),
        line("web-case-status", tr.label("status", v.status.as_str())),
        line(
            "web-case-office",
            office_name(&s.app.offices, user.lang, &v.office),
        ),
        line(
            "web-audit-field-assignee",
            match &v.assignee {
                Some(a) => names_of(s, std::iter::once(a.clone()))
                    .await
                    .remove(a)
                    .unwrap_or_else(|| a.clone()),
                None => "—".into(),
            },
        ),
    ];
    for d in &v.deadlines {
        lines.push(Line {
            term: tr.deadline(&d.name),
            value: format!(
                "{} · {}",
                tr.date(&d.due_on),
                tr.enum_label("DeadlineState", d.state.as_str())
            ),
        });
    }
    Ok((heading, lines))
}

async fn history_browser(
    State(s): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<BrowserQuery>,
) -> Response {
    let tr = Tr(user.lang);
    if !may_audit(&user) {
        return refused(&s, &user, &Error::Forbidden(String::new()));
    }
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refused(&s, &user, &e),
    };
    let audited = match s.app.audited_history(&user.caller, &case).await {
        Ok(h) => h,
        Err(e) => return refused(&s, &user, &e),
    };
    let names = names_of(&s, audited.events.iter().map(|e| e.event.actor.sub.clone())).await;
    let events = audited
        .events
        .iter()
        .map(|e| {
            let actor = &e.event.actor;
            let chain = match audited.first_invalid {
                Some(bad) if e.sequence == bad => "broken",
                Some(bad) if e.sequence > bad => "unverified",
                _ => "verified",
            };
            EventRow {
                sequence: e.sequence,
                what: tr.label("event", e.event.body.type_name()),
                who: who(
                    tr,
                    &s,
                    &actor.sub,
                    actor.role.as_str(),
                    actor.office.as_deref(),
                    &names,
                ),
                on: tr.date(&e.event.occurred_on),
                recorded: kyiv_time(&e.event.recorded_at),
                hash: e.hash.clone().unwrap_or_default(),
                prev_hash: e.prev_hash.clone().unwrap_or_else(|| "—".into()),
                chain,
                chain_text: tr.t(&format!("web-audit-chain-{chain}")),
            }
        })
        .collect();
    let mut alert = None;
    // One point in history: a version, a business date or a recorded instant (the first given).
    let at_version = filled(q.version.as_ref()).unwrap_or("").to_string();
    let on = filled(q.on.as_ref()).unwrap_or("").to_string();
    let as_of = filled(q.as_of.as_ref()).unwrap_or("").to_string();
    let point = if !at_version.is_empty() {
        at_version.parse::<u64>().ok().map(HistoryPoint::Version)
    } else if !on.is_empty() {
        crate::models::parse_strict_date(&on).map(HistoryPoint::On)
    } else if !as_of.is_empty() {
        parse_kyiv_instant(&as_of).map(HistoryPoint::AsOf)
    } else {
        None
    };
    let asked = !(at_version.is_empty() && on.is_empty() && as_of.is_empty());
    let mut shown = None;
    match point {
        Some(p) => match shown_at(&s, &user, &case, p).await {
            Ok(x) => shown = Some(x),
            Err(_) => alert = Some(tr.t("web-history-no-such-point")),
        },
        None if asked => alert = Some(tr.t("web-history-no-such-point")),
        None => {}
    }
    let diff_from = filled(q.from.as_ref()).unwrap_or("").to_string();
    let diff_to = filled(q.to.as_ref()).unwrap_or("").to_string();
    let mut changes = None;
    if !diff_from.is_empty() || !diff_to.is_empty() {
        match (diff_from.parse::<u64>(), diff_to.parse::<u64>()) {
            (Ok(a), Ok(b)) => match s.app.compare_versions(&user.caller, &case, a, b).await {
                Ok(c) => {
                    let assignees = c
                        .iter()
                        .filter(|x| x.path.last().is_some_and(|k| k == "assignee"))
                        .flat_map(|x| [&x.old, &x.new])
                        .filter_map(|v| v.as_ref().and_then(Value::as_str).map(str::to_string));
                    let names = names_of(&s, assignees).await;
                    let heading = crate::i18n::t_args(
                        user.lang,
                        "web-audit-diff-heading",
                        &[("from", &a.to_string()), ("to", &b.to_string())],
                    );
                    changes = Some((heading, change_rows(&s, tr, &names, &c)));
                }
                Err(_) => alert = Some(tr.t("web-audit-no-such-versions")),
            },
            _ => alert = Some(tr.t("web-audit-no-such-versions")),
        }
    }
    let register_no = case
        .state
        .registration
        .as_ref()
        .map(|r| r.register_no.clone())
        .unwrap_or_default();
    let mut chrome = Chrome::for_user(&s, &user, "web-audit-history-title", "");
    if !register_no.is_empty() {
        chrome.title = format!("{} {register_no}", chrome.title);
    }
    let page = HistoryBrowser {
        chrome,
        id: case.id.to_string(),
        version: case.version,
        events,
        first_invalid: audited.first_invalid,
        at_version,
        on,
        as_of,
        shown,
        diff_from,
        diff_to,
        changes,
        alert,
    };
    render(StatusCode::OK, user.lang, &page)
}

/// The whole history as JSON, as `GET /api/v1/cases/{id}/events` gives it, for download.
async fn events_json(
    State(s): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Response {
    if !may_audit(&user) {
        return refused(&s, &user, &Error::Forbidden(String::new()));
    }
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refused(&s, &user, &e),
    };
    let history = match s.app.history(&user.caller, &case).await {
        Ok(h) => h,
        Err(e) => return refused(&s, &user, &e),
    };
    let body = EventList {
        case_id: case.id,
        events: history.into_iter().map(EventItem::from).collect(),
    };
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"case-{}-events.json\"",
        case.id
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---------------------------------------------------------------------------------------------
// The access log across cases.

struct AccessLine {
    at: String,
    case_id: String,
    register_no: String,
    case_office: String,
    sub: String,
    user_href: String,
    reader: String,
    purpose: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    chrome: Chrome,
    rows: Vec<AccessLine>,
    user_filter: String,
    office: String,
    case: String,
    purpose: String,
    from: String,
    to: String,
    offices: Vec<(String, String)>,
    purposes: Vec<(String, String)>,
    next: Option<String>,
    csv: String,
    alert: Option<String>,
}

/// The form's fields without the empty ones, and `user` as a sign-in name turned into the
/// account's id (a token's subject is used as given).
async fn form_params(s: &AppState, raw: HashMap<String, String>) -> Params {
    let mut p: HashMap<String, String> = raw
        .into_iter()
        .map(|(k, v)| (k, v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if let Some(u) = p.get("user").cloned() {
        if let Ok(Some(account)) = s.app.engine.user_by_login(&u.to_lowercase()).await {
            p.insert("user".into(), account.id);
        }
    }
    Params(p)
}

fn query_string(p: &Params, cursor: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> =
        p.0.iter()
            .filter(|(k, _)| k.as_str() != "cursor")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    pairs.sort();
    if let Some(c) = cursor {
        pairs.push(("cursor".into(), c.to_string()));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn lines(
    s: &AppState,
    user: &SignedIn,
    rows: &[ptl_projections::access::AccessRow],
) -> Vec<AccessLine> {
    let tr = Tr(user.lang);
    let names = names_of(s, rows.iter().map(|r| r.sub.clone())).await;
    rows.iter()
        .map(|r| AccessLine {
            at: kyiv_time(&r.at),
            case_id: r.case_id.to_string(),
            register_no: r.register_no.clone(),
            case_office: office_name(&s.app.offices, user.lang, &r.case_office),
            sub: r.sub.clone(),
            user_href: format!("/access-log?user={}", urlencode(&r.sub)),
            reader: who(tr, s, &r.sub, &r.role, r.office.as_deref(), &names),
            purpose: tr.enum_label("AccessPurpose", &r.purpose),
            reason: r.reason.clone().unwrap_or_default(),
        })
        .collect()
}

async fn access_log_page(
    State(s): State<AppState>,
    user: SignedIn,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let tr = Tr(user.lang);
    if !may_audit(&user) {
        return refused(&s, &user, &Error::Forbidden(String::new()));
    }
    let p = form_params(&s, raw.clone()).await;
    let mut alert = None;
    let (rows, next) = match crate::http::audit::access_log_query(&p) {
        Ok(q) => match s.app.access_log_across(&user.caller, q).await {
            Ok(page) => (lines(&s, &user, &page.items).await, page.next_cursor),
            Err(Error::Parameter { .. }) => {
                alert = Some(tr.t("web-audit-bad-filter"));
                (Vec::new(), None)
            }
            Err(e) => return refused(&s, &user, &e),
        },
        Err(_) => {
            alert = Some(tr.t("web-audit-bad-filter"));
            (Vec::new(), None)
        }
    };
    let get = |k: &str| raw.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let offices = s
        .app
        .offices
        .descendants(&user.caller.office)
        .into_iter()
        .map(|o| (o.to_string(), office_name(&s.app.offices, user.lang, o)))
        .collect();
    let purposes = ptl_projections::access::PURPOSES
        .iter()
        .map(|p| ((*p).to_string(), tr.enum_label("AccessPurpose", p)))
        .collect();
    let page = AccessLogPage {
        chrome: Chrome::for_user(&s, &user, "web-audit-access-title", "/access-log"),
        rows,
        user_filter: get("user"),
        office: get("office"),
        case: get("case"),
        purpose: get("purpose"),
        from: get("from"),
        to: get("to"),
        offices,
        purposes,
        next: next.map(|c| format!("/access-log?{}", query_string(&p, Some(&c)))),
        csv: format!("/access-log.csv?{}", query_string(&p, None)),
        alert,
    };
    render(StatusCode::OK, user.lang, &page)
}

/// Every entry matching the filters (all pages), as CSV (UTF-8 with a byte-order mark), cells a
/// spreadsheet would run escaped as in the work queue's CSV.
async fn access_log_csv(
    State(s): State<AppState>,
    user: SignedIn,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let tr = Tr(user.lang);
    if !may_audit(&user) {
        return refused(&s, &user, &Error::Forbidden(String::new()));
    }
    let p = form_params(&s, raw).await;
    let Ok(mut q) = crate::http::audit::access_log_query(&p) else {
        return (StatusCode::BAD_REQUEST, tr.t("web-audit-bad-filter")).into_response();
    };
    q.limit = ptl_projections::queries::MAX_LIMIT;
    let mut all = Vec::new();
    loop {
        match s.app.access_log_across(&user.caller, q.clone()).await {
            Ok(page) => {
                all.extend(page.items);
                match page.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
            Err(Error::Parameter { .. }) => {
                return (StatusCode::BAD_REQUEST, tr.t("web-audit-bad-filter")).into_response()
            }
            Err(e) => return refused(&s, &user, &e),
        }
    }
    let rows = lines(&s, &user, &all).await;
    let mut out = String::from("\u{feff}");
    let head = [
        "web-audit-col-at",
        "web-audit-col-case",
        "web-audit-col-case-office",
        "web-audit-col-reader",
        "web-audit-col-purpose",
        "web-audit-col-reason",
    ]
    .map(|k| csv_cell(&tr.t(k)));
    out.push_str(&head.join(","));
    out.push_str("\r\n");
    for r in rows {
        let cells = [
            r.at,
            r.register_no,
            r.case_office,
            r.reader,
            r.purpose,
            r.reason,
        ]
        .map(|c| csv_cell(&c));
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    csv_download(out, "access-log.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_the_filters_and_encodes_them() {
        let mut m = HashMap::new();
        m.insert("user".to_string(), "a b&c".to_string());
        m.insert("cursor".to_string(), "old".to_string());
        let q = query_string(&Params(m), Some("n/1"));
        assert_eq!(q, "user=a%20b%26c&cursor=n%2F1");
    }

    #[test]
    fn a_kyiv_instant_from_the_form_is_read_in_kyiv_time() {
        let t = parse_kyiv_instant("2026-07-01T12:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T09:00:00+00:00");
        assert!(parse_kyiv_instant("yesterday").is_none());
    }
}
