//! The case page (`web.md`, page 3), its action forms, the personal-data reveal (page 5), the
//! history (page 4) and the printable documents (page 10).
//!
//! Everything is read and written through the application layer, as the REST handlers do: the
//! case through `find_case`/`read_case` (`GET /api/v1/cases/{id}`), the actions through `act`
//! (`POST /api/v1/cases/{id}/actions/{action}`, with the form's `version` as `If-Match` and its
//! `idempotency_key`), the person through `read_case` with the person included (which writes the
//! access log), the history through `history`/`verify`/`access_log`/`explain_deadline`. The
//! actions offered are the case view's `allowed_actions` for the caller.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use ptl_domain::{ActionName, CaseState, Role};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::case_form::{self, Fill, Filled, Group, Widget};
use super::page::{office_name, Chrome, Tr};
use super::session::{random_token, SignedIn};
use super::{forbidden, message_page};
use crate::app::{CaseRead, Error, HistoryPoint, RequestKey};
use crate::http::AppState;
use crate::view::CaseView;

/// The routes of these pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}", get(case_page))
        .route(
            "/cases/{id}/actions/{action}",
            post(post_action).get(to_case_page),
        )
        .route("/cases/{id}/person", post(reveal_person).get(to_case_page))
        .route("/cases/{id}/history", get(history_page))
        .route("/cases/{id}/print/{doc}", get(print_page))
        .route("/registers/{register}/print", get(register_print))
}

// ---------------------------------------------------------------------------------------------
// What the case page shows.

/// One row of a definition list.
#[derive(Debug, Clone)]
pub struct Row {
    /// The term.
    pub term: String,
    /// The value.
    pub value: String,
}

fn row(term: String, value: String) -> Row {
    Row { term, value }
}

/// One deadline.
#[derive(Debug, Clone)]
pub struct DeadlineRow {
    /// What it is for.
    pub what: String,
    /// Due date.
    pub due: String,
    /// Days left, in words (working or calendar).
    pub left: String,
    /// Badge class (`overdue`, `due-soon`, `on-time`) or empty for a closed deadline.
    pub badge: &'static str,
    /// Badge word, or the closed deadline's state.
    pub word: String,
    /// The rule's value is the system's default, not the law's.
    pub default_mark: bool,
    /// How the date was computed, line by line.
    pub explanation: Vec<String>,
}

/// One action form.
#[derive(Debug, Clone)]
pub struct ActionForm {
    /// The action's name (`record-consent`).
    pub action: String,
    /// Its label.
    pub title: String,
    /// Its inputs.
    pub groups: Vec<Group>,
    /// A fresh key for this rendering.
    pub idempotency_key: String,
    /// The case version the form is rendered at.
    pub version: u64,
    /// Errors of this form, for the summary.
    pub errors: Vec<(String, String)>,
}

/// One line of "what happened".
#[derive(Debug, Clone)]
pub struct EventLine {
    /// Sequence.
    pub sequence: u64,
    /// What happened, in words.
    pub what: String,
    /// Who: name, role, office.
    pub who: String,
    /// Business date.
    pub on: String,
    /// Recorded at (Kyiv time).
    pub recorded: String,
    /// The event type (for the filter).
    pub kind: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    id: String,
    version: u64,
    summary: Vec<Row>,
    deadlines: Vec<DeadlineRow>,
    consents: Vec<Row>,
    verifications: Vec<Row>,
    documents: Vec<String>,
    assistance: Vec<Row>,
    corrections: Vec<Row>,
    forms: Vec<ActionForm>,
    status: Option<String>,
    alert: Option<String>,
    since: Vec<EventLine>,
    typed: Vec<Row>,
    person: Option<Vec<Row>>,
    may_reveal: bool,
    purposes: Vec<(String, String)>,
    access_log: Option<Vec<Row>>,
    prints: Vec<(String, String)>,
}

/// Purposes a person's data is revealed for (the access log records the code and the note).
const PURPOSES: &[&str] = &[
    "case_work",
    "verification",
    "assistance",
    "documents",
    "person_request",
    "audit",
];

fn yes_no(tr: Tr, b: bool) -> String {
    tr.t(if b { "web-case-yes" } else { "web-case-no" })
}

/// The page's parts built from the case view.
struct Parts {
    summary: Vec<Row>,
    deadlines: Vec<DeadlineRow>,
    consents: Vec<Row>,
    verifications: Vec<Row>,
    documents: Vec<String>,
    assistance: Vec<Row>,
    corrections: Vec<Row>,
}

fn working_days_between(cal: &ptl_domain::Calendar, from: NaiveDate, to: NaiveDate) -> i64 {
    let (a, b, sign) = if from <= to {
        (from, to, 1)
    } else {
        (to, from, -1)
    };
    let mut n = 0;
    let mut d = a;
    while d < b {
        d = d.succ_opt().unwrap_or(b);
        if cal.is_working_day(d) {
            n += 1;
        }
    }
    n * sign
}

/// Why a day was not a working day, in the page's language: the weekend days from the
/// catalogue; a holiday as the calendar file names it ("English (Ukrainian)", the file format),
/// its Ukrainian name on a Ukrainian page.
fn day_reason(tr: Tr, reason: &str) -> String {
    match reason {
        "Saturday" => return tr.t("web-case-day-saturday"),
        "Sunday" => return tr.t("web-case-day-sunday"),
        _ => {}
    }
    if tr.0 == crate::i18n::Lang::Uk {
        if let Some((_, inner)) = reason.strip_suffix(')').and_then(|r| r.split_once(" (")) {
            return inner.to_string();
        }
    }
    reason.to_string()
}

/// A deadline's rule in the page's language: its length in the plural the language needs, from
/// which step it runs (the step is the deadline kind's, fixed by the procedure: the definition's
/// `starts_at` only describes it, in English), whether it moves off a non-working day, and its
/// confidence mark.
fn rule_words(tr: Tr, e: &ptl_domain::deadlines::Explanation) -> String {
    use ptl_domain::procedure::{DayKind, Unit};
    let r = &e.rule_data;
    let n = i64::from(r.length);
    let length = match (r.unit, r.days) {
        (Unit::Months, _) => tr.count("count-months", n),
        (Unit::Days, DayKind::Working) => tr.count("count-working-days", n),
        (Unit::Days, DayKind::Calendar) => tr.count("count-calendar-days", n),
    };
    let kind = e.name.as_str().split(':').next().unwrap_or_default();
    let key = format!("web-case-rule-from-{kind}");
    let from = if crate::i18n::has(tr.0, &key) {
        tr.t(&key)
    } else {
        tr.t1("web-case-rule-from", "step", &r.starts_at)
    };
    let mut text = format!("{length} {from}");
    if r.roll_to_working_day {
        text.push_str(&tr.t("web-case-rule-rolled"));
    }
    format!("{text} ({})", tr.enum_label("Mark", r.mark.as_str()))
}

fn parts(s: &AppState, tr: Tr, case: &CaseRead, state: &CaseState, view: &CaseView) -> Parts {
    let lang = tr.0;
    let tree = &s.app.offices;
    let mut summary = vec![
        row(tr.t("web-case-register-no"), view.register_no.clone()),
        row(
            tr.t("web-case-office"),
            office_name(tree, lang, &view.office),
        ),
        row(
            tr.t("web-case-procedure"),
            state.procedure().map_or_else(
                || view.procedure.clone(),
                |d| crate::i18n::procedure_title(lang, d),
            ),
        ),
        row(
            tr.t("web-case-stage"),
            tr.label("stage", view.stage.as_str()),
        ),
        row(
            tr.t("web-case-status"),
            tr.label("status", view.status.as_str()),
        ),
        row(
            tr.t("web-case-assignee"),
            view.assignee
                .clone()
                .unwrap_or_else(|| tr.t("web-case-unassigned")),
        ),
        row(tr.t("web-case-received-on"), tr.date(&view.received_on)),
        row(tr.t("web-case-child"), yes_no(tr, view.child)),
    ];
    if let Some(a) = &view.submitted_to {
        summary.push(row(
            tr.t("web-case-submitted-to"),
            office_name(tree, lang, a),
        ));
    }
    if let Some(c) = &view.certificate_no {
        summary.push(row(tr.t("web-case-certificate-no"), c.clone()));
    }
    if let Some(v) = &view.valid_until {
        summary.push(row(tr.t("web-case-valid-until"), tr.date(v)));
    }
    if view.personal_data_erased {
        summary.push(row(tr.t("web-case-erased"), yes_no(tr, true)));
    }

    let calendar = s.app.engine.rules().calendar_for_case(state);
    let today = s.app.today();
    let deadlines = view
        .deadlines
        .iter()
        .map(|d| {
            let record = state.deadlines.get(d.name.as_str());
            let kind = record.map_or("", |r| r.kind.as_str());
            let mut what = crate::i18n::deadline(lang, kind);
            if let Some((_, n)) = d.name.split_once(':') {
                if let Some(i) = state
                    .verification_requests
                    .iter()
                    .position(|r| r.request_id == n)
                {
                    what = format!("{what} №{}", i + 1);
                }
            }
            let report = s.app.explain_deadline(case, &d.name).ok();
            let working = report
                .as_ref()
                .is_some_and(|r| r.explanation.kind_of_days.as_str() == "working");
            let open = d.state.as_str() == "open";
            let left = if !open && !d.overdue {
                String::new()
            } else {
                let n = if working {
                    working_days_between(calendar, today, d.due_on)
                } else {
                    d.days_left
                };
                let key = match (working, n < 0) {
                    (true, false) => "web-case-working-days-left",
                    (true, true) => "web-case-working-days-over",
                    (false, false) => "web-case-days-left",
                    (false, true) => "web-case-days-over",
                };
                tr.t1(key, "n", &n.abs().to_string())
            };
            let (badge, word) = if d.overdue || (open && d.days_left < 0) {
                ("overdue", tr.t("web-case-badge-overdue"))
            } else if d.upcoming {
                ("due-soon", tr.t("web-case-badge-due-soon"))
            } else if open {
                ("on-time", tr.t("web-case-badge-on-time"))
            } else {
                (
                    "",
                    crate::i18n::enum_label(lang, "DeadlineState", d.state.as_str()),
                )
            };
            let explanation = report
                .map(|r| {
                    let e = r.explanation;
                    let mut lines = vec![
                        tr.t1("web-case-explain-start", "date", &tr.date(&e.start)),
                        tr.t(if working {
                            "web-case-explain-working"
                        } else {
                            "web-case-explain-calendar"
                        }),
                        tr.t1("web-case-explain-rule", "rule", &rule_words(tr, &e)),
                        tr.t1("web-case-explain-due", "date", &tr.date(&e.due_on)),
                    ];
                    if !e.days_skipped.is_empty() {
                        let days: Vec<String> = e
                            .days_skipped
                            .iter()
                            .map(|d| {
                                format!("{} ({})", tr.date(&d.date), day_reason(tr, &d.reason))
                            })
                            .collect();
                        lines.push(tr.t1("web-case-explain-skipped", "days", &days.join(", ")));
                    }
                    if e.beyond_calendar {
                        lines.push(tr.t("web-case-explain-beyond"));
                    }
                    lines.extend(e.notes);
                    lines.push(tr.t1("web-case-explain-definition", "definition", &e.definition));
                    lines
                })
                .unwrap_or_default();
            DeadlineRow {
                what,
                due: tr.date(&d.due_on),
                left,
                badge,
                word,
                default_mark: d.mark.is_some_and(|m| m.as_str() == "default"),
                explanation,
            }
        })
        .collect();

    let consents = state
        .consents
        .iter()
        .map(|(scope, c)| {
            row(
                tr.label("enum-consent_scope", scope.as_str()),
                format!(
                    "{} · {} · {}",
                    tr.t(if c.in_force {
                        "web-case-consent-in-force"
                    } else {
                        "web-case-consent-withdrawn"
                    }),
                    tr.label("enum-given_by", c.given_by.as_str()),
                    tr.date(&c.on)
                ),
            )
        })
        .collect();
    let verifications = view
        .verification_requests
        .iter()
        .map(|v| {
            row(
                tr.label("enum-verification_target", v.to.as_str()),
                format!(
                    "{} · {} · {}",
                    tr.t1("web-case-sent-on", "date", &tr.date(&v.sent_on)),
                    tr.t1("web-case-reply-due", "date", &tr.date(&v.due_on)),
                    v.reply.map_or_else(
                        || tr.t("web-case-no-reply"),
                        |r| tr.label("enum-reply_outcome", r.as_str())
                    )
                ),
            )
        })
        .collect();
    let documents = state
        .documents
        .iter()
        .map(|d| tr.label("enum-document_kind", d.as_str()))
        .collect();
    let a = &view.assistance;
    let mut assistance = Vec::new();
    if let Some(r) = &a.referred_to {
        assistance.push(row(tr.t("web-case-referred"), tr.date(&r.on)));
    }
    if let Some(n) = &a.needs_assessment {
        let needs: Vec<String> = n
            .needs
            .iter()
            .map(|x| tr.label("enum-need", x.as_str()))
            .collect();
        assistance.push(row(
            tr.t("web-case-needs"),
            format!("{} · {}", needs.join(", "), tr.date(&n.on)),
        ));
    }
    if let Some(p) = &a.plan {
        let services: Vec<String> = p
            .services
            .iter()
            .map(|x| tr.label("enum-need", x.service.as_str()))
            .collect();
        assistance.push(row(
            tr.t("web-case-plan"),
            format!("{} · {}", services.join(", "), tr.date(&p.on)),
        ));
    }
    for sv in &a.services {
        assistance.push(row(
            tr.t("web-case-service"),
            format!(
                "{} · {}{}",
                tr.label("enum-need", sv.service.as_str()),
                tr.date(&sv.from),
                sv.to
                    .map(|t| format!(" – {}", tr.date(&t)))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(sh) = &a.shelter {
        assistance.push(row(
            tr.t("web-case-shelter"),
            format!(
                "{} – {}{}",
                tr.date(&sh.since),
                tr.date(&sh.until),
                sh.ended_on
                    .map(|e| format!(" · {}", tr.t1("web-case-ended-on", "date", &tr.date(&e))))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(d) = a.payment.requested_on {
        assistance.push(row(tr.t("web-case-payment-requested"), tr.date(&d)));
    }
    if let (Some(d), Some(k)) = (a.payment.paid_on, a.payment.amount_kopiyky) {
        assistance.push(row(
            tr.t("web-case-payment-paid"),
            format!("{}.{:02} · {}", k / 100, k % 100, tr.date(&d)),
        ));
    }
    let corrections = view
        .corrections
        .iter()
        .map(|c| {
            let mut v = tr.t1("web-case-correction-of", "n", &c.supersedes.to_string());
            if let (Some(o), Some(n)) = (c.original_on, c.corrected_on) {
                v = format!("{v}: {} → {}", tr.date(&o), tr.date(&n));
            }
            if let Some(r) = &c.reason {
                v = format!("{v} · {r}");
            }
            row(crate::i18n::field(lang, &c.field), v)
        })
        .collect();
    Parts {
        summary,
        deadlines,
        consents,
        verifications,
        documents,
        assistance,
        corrections,
    }
}

/// A form for `action` at `version`, with what the user typed and the errors if re-rendered.
fn action_form(
    s: &AppState,
    tr: Tr,
    action: &str,
    version: u64,
    typed: Option<&Filled>,
    errors: &BTreeMap<String, String>,
) -> Option<ActionForm> {
    let props = case_form::action_props(action)?;
    let fill = Fill {
        tr,
        today: s.app.today().format("%Y-%m-%d").to_string(),
        form: typed,
        errors,
    };
    let groups = case_form::groups(action, &props, &fill);
    let ids: HashMap<&str, &str> = groups
        .iter()
        .flat_map(|g| &g.inputs)
        .map(|i| (i.name.as_str(), i.id.as_str()))
        .collect();
    let errors = errors
        .iter()
        .map(|(path, m)| {
            let base = path.split('[').next().unwrap_or(path);
            let target = ids
                .get(path.as_str())
                .or_else(|| ids.get(base))
                .map_or_else(String::new, |id| (*id).to_string());
            (target, format!("{}: {m}", crate::i18n::field(tr.0, path)))
        })
        .collect();
    Some(ActionForm {
        action: action.to_string(),
        title: tr.label("action", action),
        groups,
        idempotency_key: random_token(),
        version,
        errors,
    })
}

/// How the case page is to be drawn beyond the case itself.
#[derive(Default)]
struct Extras {
    status: Option<String>,
    alert: Option<String>,
    since: Vec<EventLine>,
    /// The action re-rendered with the user's input and errors.
    retry: Option<(String, Filled, BTreeMap<String, String>)>,
    person: Option<serde_json::Value>,
}

/// What the user typed into a form that can no longer be offered, as label: value rows.
fn typed_rows(tr: Tr, action: &str, form: &Filled) -> Vec<Row> {
    let props = super::case_form::action_props(action).unwrap_or_default();
    form.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf_token" | "idempotency_key" | "version"))
        .filter_map(|(k, v)| {
            let v: Vec<&str> = v
                .iter()
                .map(String::as_str)
                .filter(|x| !x.trim().is_empty())
                .collect();
            let scalar = super::case_form::scalar_of(&props, k);
            let words: Vec<String> = v
                .iter()
                .map(|x| super::case_form::value_in_words(tr, scalar.as_ref(), x))
                .collect();
            (!v.is_empty()).then(|| row(crate::i18n::field(tr.0, k), words.join(", ")))
        })
        .collect()
}

async fn render_case(
    s: &AppState,
    user: &SignedIn,
    case: CaseRead,
    status: StatusCode,
    extras: Extras,
) -> Response {
    let tr = Tr(user.lang);
    let state = case.state.clone();
    let view = s.app.view(&user.caller, case.id, &state, case.version);
    let p = parts(s, tr, &case, &state, &view);
    let mut forms = Vec::new();
    for a in &view.allowed_actions {
        let (typed, errors) = match &extras.retry {
            Some((name, typed, errors)) if name == a => (Some(typed), errors.clone()),
            _ => (None, BTreeMap::new()),
        };
        if let Some(f) = action_form(s, tr, a, case.version, typed, &errors) {
            forms.push(f);
        }
    }
    // The form re-rendered first, so the user finds it at once; if the action is no longer
    // offered, what was typed is shown as text so that nothing is lost.
    let mut typed = Vec::new();
    if let Some((name, form, _)) = &extras.retry {
        forms.sort_by_key(|f| &f.action != name);
        if !forms.iter().any(|f| &f.action == name) {
            typed = typed_rows(tr, name, form);
        }
    }
    let access_log = if matches!(user.caller.role, Role::Supervisor | Role::Auditor) {
        match s.app.access_log(&user.caller, &case).await {
            Ok(log) => {
                let names = names_of(s, log.entries.iter().map(|e| e.sub.clone())).await;
                Some(
                    log.entries
                        .iter()
                        .map(|e| {
                            row(
                                kyiv_time(&e.at),
                                format!(
                                    "{} · {} · {}",
                                    who(tr, s, &e.sub, &e.role, e.office.as_deref(), &names),
                                    e.reason.clone().unwrap_or_default(),
                                    if e.what.starts_with('[') {
                                        tr.t("web-case-log-read")
                                    } else {
                                        tr.t("web-case-log-lookup")
                                    }
                                ),
                            )
                        })
                        .collect(),
                )
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let person = extras.person.as_ref().map(|p| person_rows(tr, p));
    let mut chrome = Chrome::for_user(s, user, "web-case-title", "");
    if !view.register_no.is_empty() {
        chrome.title = format!("{} {}", chrome.title, view.register_no);
    }
    let page = CasePage {
        chrome,
        id: case.id.to_string(),
        version: case.version,
        summary: p.summary,
        deadlines: p.deadlines,
        consents: p.consents,
        verifications: p.verifications,
        documents: p.documents,
        assistance: p.assistance,
        corrections: p.corrections,
        forms,
        status: extras.status,
        alert: extras.alert,
        since: extras.since,
        typed,
        person,
        may_reveal: !matches!(user.caller.role, Role::Auditor | Role::Admin)
            && !view.personal_data_erased,
        purposes: PURPOSES
            .iter()
            .map(|p| ((*p).to_string(), tr.label("purpose", p)))
            .collect(),
        access_log,
        prints: PRINTS
            .iter()
            .map(|d| {
                (
                    format!("/cases/{}/print/{d}", case.id),
                    tr.label("web-print-title", d),
                )
            })
            .chain(["applications", "certificates"].iter().map(|r| {
                (
                    format!("/registers/{r}/print"),
                    tr.label("web-print-title", r),
                )
            }))
            .collect(),
    };
    super::page::render(status, user.lang, &page)
}

/// The person's data as rows (field label: value), nested objects flattened.
fn person_rows(tr: Tr, v: &serde_json::Value) -> Vec<Row> {
    fn walk(tr: Tr, prefix: &str, v: &serde_json::Value, out: &mut Vec<Row>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let path = if prefix.is_empty() {
                        format!("person.{k}")
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(tr, &path, x, out);
                }
            }
            serde_json::Value::Array(a) => {
                let items: Vec<String> = a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect();
                out.push(row(crate::i18n::field(tr.0, prefix), items.join(", ")));
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => {
                let shown =
                    crate::models::parse_strict_date(s).map_or_else(|| s.clone(), |d| tr.date(&d));
                out.push(row(crate::i18n::field(tr.0, prefix), shown));
            }
            other => out.push(row(crate::i18n::field(tr.0, prefix), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(tr, "", v, &mut out);
    out
}

pub(super) fn kyiv_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Kyiv)
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

/// Who did something: name (when the account is known), role, office.
pub(super) fn who(
    tr: Tr,
    s: &AppState,
    sub: &str,
    role: &str,
    office: Option<&str>,
    names: &HashMap<String, String>,
) -> String {
    if role == "system" {
        return tr.t("web-case-system");
    }
    let mut parts = Vec::new();
    if let Some(n) = names.get(sub) {
        parts.push(n.clone());
    }
    parts.push(tr.label("role", role));
    if let Some(o) = office {
        parts.push(office_name(&s.app.offices, tr.0, o));
    }
    parts.join(", ")
}

pub(super) async fn names_of(
    s: &AppState,
    subs: impl Iterator<Item = String>,
) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for sub in subs {
        if names.contains_key(&sub) || sub == "system" {
            continue;
        }
        if let Ok(Some(u)) = s.app.engine.user_by_id(&sub).await {
            names.insert(sub, u.display_name);
        }
    }
    names
}

/// The events after `after` (all with 0), in words.
async fn event_lines(
    s: &AppState,
    user: &SignedIn,
    case: &CaseRead,
    after: u64,
) -> Result<Vec<EventLine>, Error> {
    let tr = Tr(user.lang);
    let events = s.app.history(&user.caller, case).await?;
    let names = names_of(s, events.iter().map(|e| e.event.actor.sub.clone())).await;
    Ok(events
        .into_iter()
        .filter(|e| e.sequence > after)
        .map(|e| {
            let actor = &e.event.actor;
            let kind = e.event.body.type_name().to_string();
            EventLine {
                sequence: e.sequence,
                what: tr.label("event", &kind),
                who: who(
                    tr,
                    s,
                    &actor.sub,
                    actor.role.as_str(),
                    actor.office.as_deref(),
                    &names,
                ),
                on: tr.date(&e.event.occurred_on),
                recorded: kyiv_time(&e.event.recorded_at),
                kind,
            }
        })
        .collect())
}

/// The page for an error of the application layer that is not about the form's fields.
fn refusal(s: &AppState, user: &SignedIn, e: &Error, back: &str) -> Response {
    let tr = Tr(user.lang);
    let (status, key) = match e {
        Error::CaseNotFound | Error::NotFound(_) => (StatusCode::NOT_FOUND, "web-case-not-found"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "web-case-forbidden"),
        Error::ConsentNotInForce(_) => (StatusCode::FORBIDDEN, "web-case-consent-not-in-force"),
        Error::ActionNotAllowed { .. } => (StatusCode::CONFLICT, "web-case-not-allowed-now"),
        Error::IdempotencyKeyReused | Error::RequestInProgress => {
            (StatusCode::CONFLICT, "web-case-in-progress")
        }
        Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "web-unavailable"),
        Error::Parameter { .. } => (StatusCode::BAD_REQUEST, "web-case-bad-parameter"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "web-case-failed"),
    };
    message_page(
        status,
        Chrome::for_user(s, user, "web-refused-title", ""),
        true,
        tr.t(key),
        Some((back.to_string(), tr.t("web-case-back"))),
    )
}

// ---------------------------------------------------------------------------------------------
// Handlers.

/// A form's address opened as a page (a bookmark, the back button): the case page.
async fn to_case_page(_user: SignedIn, Path(params): Path<Vec<(String, String)>>) -> Response {
    let id = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    match uuid::Uuid::parse_str(id) {
        Ok(id) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(_) => Redirect::to("/").into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct CaseQuery {
    done: Option<String>,
}

async fn case_page(
    State(s): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Response {
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refusal(&s, &user, &e, "/"),
    };
    let tr = Tr(user.lang);
    let status = q
        .done
        .filter(|a| a.parse::<ActionName>().is_ok())
        .map(|a| tr.t1("web-case-done", "action", &tr.label("action", &a)));
    render_case(
        &s,
        &user,
        case,
        StatusCode::OK,
        Extras {
            status,
            ..Extras::default()
        },
    )
    .await
}

fn first<'a>(form: &'a Filled, name: &str) -> Option<&'a str> {
    form.get(name).and_then(|v| v.first()).map(String::as_str)
}

async fn post_action(
    State(s): State<AppState>,
    user: SignedIn,
    Path((id, action)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = case_form::filled(&pairs);
    if !user.csrf_ok(first(&form, "csrf_token")) {
        return forbidden(user.lang);
    }
    let tr = Tr(user.lang);
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refusal(&s, &user, &e, "/"),
    };
    let back = format!("/cases/{}", case.id);
    let Some(name) = action
        .parse::<ActionName>()
        .ok()
        .filter(|a| a.is_client_action())
    else {
        return refusal(&s, &user, &Error::NotFound("no such action".into()), &back);
    };
    let Some(props) = case_form::action_props(name.as_str()) else {
        return refusal(&s, &user, &Error::NotFound("no such action".into()), &back);
    };
    let Some(expected) = first(&form, "version").and_then(|v| v.parse::<u64>().ok()) else {
        return refusal(&s, &user, &Error::parameter("version", "missing"), &back);
    };
    let body = case_form::to_body(&props, &form);
    let key = first(&form, "idempotency_key")
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(|k| {
            let mut h = Sha256::new();
            h.update(format!("POST /cases/{}/actions/{}\n", case.id, name.as_str()).as_bytes());
            h.update(body.to_string().as_bytes());
            RequestKey {
                key: k.to_string(),
                fingerprint: hex::encode(h.finalize()),
            }
        });
    let input = crate::models::parse_action(name, &body);
    match s
        .app
        .act(&user.caller, &case, name, expected, input, key)
        .await
    {
        Ok(_) => Redirect::to(&format!("{back}?done={}", name.as_str())).into_response(),
        Err(Error::VersionMismatch { .. }) => {
            // Read the case again: the form comes back at the new version with what was typed.
            let fresh = match s.app.find_case(&user.caller, &id).await {
                Ok(c) => c,
                Err(e) => return refusal(&s, &user, &e, &back),
            };
            let since = event_lines(&s, &user, &fresh, expected)
                .await
                .unwrap_or_default();
            let still = s
                .app
                .view(&user.caller, fresh.id, &fresh.state, fresh.version)
                .allowed_actions
                .iter()
                .any(|a| a == name.as_str());
            let alert = tr.t(if still {
                "web-case-stale"
            } else {
                "web-case-stale-gone"
            });
            render_case(
                &s,
                &user,
                fresh,
                StatusCode::PRECONDITION_FAILED,
                Extras {
                    alert: Some(alert),
                    since,
                    retry: Some((name.as_str().to_string(), form, BTreeMap::new())),
                    ..Extras::default()
                },
            )
            .await
        }
        Err(Error::Input(e)) => {
            let errors = body_errors(tr, &e);
            invalid(&s, &user, case, name, form, errors).await
        }
        Err(Error::Refused(e)) => match domain_errors(tr, &e) {
            Some(errors) => invalid(&s, &user, case, name, form, errors).await,
            None => refusal(&s, &user, &Error::Refused(e), &back),
        },
        Err(e) => refusal(&s, &user, &e, &back),
    }
}

async fn invalid(
    s: &AppState,
    user: &SignedIn,
    case: CaseRead,
    name: ActionName,
    form: Filled,
    errors: BTreeMap<String, String>,
) -> Response {
    let tr = Tr(user.lang);
    render_case(
        s,
        user,
        case,
        StatusCode::UNPROCESSABLE_ENTITY,
        Extras {
            alert: Some(tr.t1(
                "web-case-invalid",
                "action",
                &tr.label("action", name.as_str()),
            )),
            retry: Some((name.as_str().to_string(), form, errors)),
            ..Extras::default()
        },
    )
    .await
}

/// A message in the page's language for an API field message: `required` and the domain's
/// problems have their own texts; otherwise the API's sentence.
fn field_message(tr: Tr, problem: Option<&str>, message: &str) -> String {
    let key = match (problem, message) {
        (_, "required") | (Some("required"), _) => Some("problem-required".to_string()),
        (Some(code), _) => Some(format!("problem-{code}")),
        _ => None,
    };
    match key {
        Some(k) if crate::i18n::has(tr.0, &k) => tr.t(&k),
        _ => tr.t1("web-case-error-invalid", "detail", message),
    }
}

fn body_errors(tr: Tr, e: &crate::models::BodyError) -> BTreeMap<String, String> {
    use crate::models::BodyError as B;
    match e {
        B::Invalid { errors } => errors
            .iter()
            .map(|(k, v)| (k.clone(), field_message(tr, None, v)))
            .collect(),
        B::UnknownField { path } | B::TooDeep { path } | B::StringTooLong { path } => {
            BTreeMap::from([(path.clone(), field_message(tr, None, &e.to_string()))])
        }
        B::NotAClientAction(_) => BTreeMap::from([(String::new(), e.to_string())]),
    }
}

fn domain_errors(tr: Tr, e: &ptl_domain::DomainError) -> Option<BTreeMap<String, String>> {
    use ptl_domain::DomainError as D;
    match e {
        D::Validation(errors) => {
            let mut m = BTreeMap::new();
            for f in errors {
                let text = field_message(tr, Some(f.problem.code()), &f.message);
                m.entry(f.field.clone())
                    .and_modify(|x: &mut String| {
                        x.push_str("; ");
                        x.push_str(&text);
                    })
                    .or_insert(text);
            }
            Some(m)
        }
        D::DateOutOfOrder { not_before, .. } => Some(BTreeMap::from([(
            "occurred_on".to_string(),
            tr.t1("web-case-error-not-before", "date", &tr.date(not_before)),
        )])),
        D::ConsentRequired { scope, .. } => Some(BTreeMap::from([(
            String::new(),
            tr.t1(
                "web-case-error-consent",
                "scope",
                &tr.label("enum-consent_scope", scope.as_str()),
            ),
        )])),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
struct RevealForm {
    csrf_token: String,
    purpose: String,
    reason: String,
}

async fn reveal_person(
    State(s): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<RevealForm>,
) -> Response {
    if !user.csrf_ok(Some(&f.csrf_token)) {
        return forbidden(user.lang);
    }
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refusal(&s, &user, &e, "/"),
    };
    let back = format!("/cases/{}", case.id);
    let tr = Tr(user.lang);
    let reason = f.reason.trim();
    if !PURPOSES.contains(&f.purpose.as_str()) || reason.is_empty() {
        return render_case(
            &s,
            &user,
            case,
            StatusCode::UNPROCESSABLE_ENTITY,
            Extras {
                alert: Some(tr.t("web-case-reveal-needs-reason")),
                ..Extras::default()
            },
        )
        .await;
    }
    let logged = format!("{}: {}", f.purpose, reason);
    match s
        .app
        .read_case(
            &user.caller,
            case.clone(),
            HistoryPoint::Current,
            Some(Some(logged)),
        )
        .await
    {
        Ok(shown) => {
            let person = shown.view.person.unwrap_or(serde_json::Value::Null);
            render_case(
                &s,
                &user,
                case,
                StatusCode::OK,
                Extras {
                    status: Some(tr.t("web-case-revealed")),
                    person: Some(person),
                    ..Extras::default()
                },
            )
            .await
        }
        Err(e) => refusal(&s, &user, &e, &back),
    }
}

// ---------------------------------------------------------------------------------------------
// History.

#[derive(Template)]
#[template(path = "case_history.html")]
struct HistoryPage {
    chrome: Chrome,
    id: String,
    version: u64,
    events: Vec<EventLine>,
    kinds: Vec<(String, String)>,
    kind: String,
    on: String,
    at_version: String,
    verified: Option<bool>,
    as_of: Option<(String, Vec<Row>)>,
    alert: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    kind: Option<String>,
    on: Option<String>,
    version: Option<String>,
}

async fn history_page(
    State(s): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refusal(&s, &user, &e, "/"),
    };
    let tr = Tr(user.lang);
    let all = match event_lines(&s, &user, &case, 0).await {
        Ok(l) => l,
        Err(e) => return refusal(&s, &user, &e, &format!("/cases/{}", case.id)),
    };
    let mut kinds: Vec<(String, String)> = Vec::new();
    for e in &all {
        if !kinds.iter().any(|(k, _)| k == &e.kind) {
            kinds.push((e.kind.clone(), e.what.clone()));
        }
    }
    let kind = q.kind.unwrap_or_default();
    let events = all
        .into_iter()
        .filter(|e| kind.is_empty() || e.kind == kind)
        .collect();
    let verified = if matches!(user.caller.role, Role::Supervisor | Role::Auditor) {
        s.app
            .verify(&user.caller, &case)
            .await
            .ok()
            .map(|v| v.valid)
    } else {
        None
    };
    let on = q.on.unwrap_or_default();
    let at_version = q.version.unwrap_or_default();
    let point = if let Some(d) = crate::models::parse_strict_date(on.trim()) {
        Some(HistoryPoint::On(d))
    } else {
        at_version
            .trim()
            .parse::<u64>()
            .ok()
            .map(HistoryPoint::Version)
    };
    let mut alert = None;
    let mut as_of = None;
    if let Some(point) = point {
        match s
            .app
            .read_case(&user.caller, case.clone(), point, None)
            .await
        {
            Ok(shown) => {
                let v = &shown.view;
                let heading = match point {
                    HistoryPoint::On(d) => tr.t1("web-history-as-on", "date", &tr.date(&d)),
                    _ => tr.t1("web-history-as-at", "version", &shown.version.to_string()),
                };
                let mut rows = vec![
                    row(tr.t("web-case-stage"), tr.label("stage", v.stage.as_str())),
                    row(
                        tr.t("web-case-status"),
                        tr.label("status", v.status.as_str()),
                    ),
                    row(
                        tr.t("web-case-office"),
                        office_name(&s.app.offices, user.lang, &v.office),
                    ),
                ];
                for d in &v.deadlines {
                    let kind = shown_kind(&case.state, &d.name);
                    rows.push(row(
                        crate::i18n::deadline(user.lang, &kind),
                        format!(
                            "{} · {}",
                            tr.date(&d.due_on),
                            crate::i18n::enum_label(user.lang, "DeadlineState", d.state.as_str())
                        ),
                    ));
                }
                as_of = Some((heading, rows));
            }
            Err(_) => alert = Some(tr.t("web-history-no-such-point")),
        }
    }
    let page = HistoryPage {
        chrome: Chrome::for_user(&s, &user, "web-history-title", ""),
        id: case.id.to_string(),
        version: case.version,
        events,
        kinds,
        kind,
        on,
        at_version,
        verified,
        as_of,
        alert,
    };
    super::page::render(StatusCode::OK, user.lang, &page)
}

fn shown_kind(state: &CaseState, name: &str) -> String {
    state
        .deadlines
        .get(name)
        .map_or_else(String::new, |r| r.kind.as_str().to_string())
}

// ---------------------------------------------------------------------------------------------
// Printable documents.

/// The printable documents of a case.
const PRINTS: &[&str] = &["application", "card", "handover"];

#[derive(Template)]
#[template(path = "case_print.html")]
struct PrintPage {
    chrome: Chrome,
    id: String,
    rows: Vec<Row>,
    person: Vec<Row>,
    official: String,
    date: String,
}

async fn print_page(
    State(s): State<AppState>,
    user: SignedIn,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let case = match s.app.find_case(&user.caller, &id).await {
        Ok(c) => c,
        Err(e) => return refusal(&s, &user, &e, "/"),
    };
    let back = format!("/cases/{}", case.id);
    if !PRINTS.contains(&doc.as_str()) {
        return refusal(
            &s,
            &user,
            &Error::NotFound("no such document".into()),
            &back,
        );
    }
    let tr = Tr(user.lang);
    // The person's data only for those who may see it; the print is a logged read.
    let sees_person = !matches!(user.caller.role, Role::Auditor | Role::Admin);
    let person = if sees_person && !case.state.erased {
        match s
            .app
            .read_case(
                &user.caller,
                case.clone(),
                HistoryPoint::Current,
                Some(Some(format!("print: {doc}"))),
            )
            .await
        {
            Ok(shown) => shown
                .view
                .person
                .map(|p| person_rows(tr, &p))
                .unwrap_or_default(),
            Err(Error::ConsentNotInForce(_) | Error::Forbidden(_)) => Vec::new(),
            Err(e) => return refusal(&s, &user, &e, &back),
        }
    } else {
        Vec::new()
    };
    let state = case.state.clone();
    let view = s.app.view(&user.caller, case.id, &state, case.version);
    let p = parts(&s, tr, &case, &state, &view);
    let mut rows = p.summary;
    match doc.as_str() {
        "application" => {
            if let Some(r) = &state.registration {
                let lang = user.lang;
                let a = &r.applicant;
                rows.push(row(
                    tr.t("web-print-filed-by"),
                    tr.label("enum-filed_by", r.filed_by.as_str()),
                ));
                rows.push(row(
                    crate::i18n::field(lang, "applicant.sex"),
                    tr.label("enum-sex", a.sex.as_str()),
                ));
                rows.push(row(
                    crate::i18n::field(lang, "applicant.birth_year"),
                    a.birth_year.to_string(),
                ));
                rows.push(row(
                    crate::i18n::field(lang, "applicant.citizenship"),
                    tr.label("enum-citizenship", a.citizenship.as_str()),
                ));
                rows.push(row(
                    crate::i18n::field(lang, "applicant.speaks_ukrainian_or_russian"),
                    yes_no(tr, a.speaks_ukrainian_or_russian),
                ));
                rows.push(row(
                    crate::i18n::field(lang, "applicant.interpreter_used"),
                    yes_no(tr, a.interpreter_used),
                ));
                if let Some(f) = &r.referral {
                    rows.push(row(
                        crate::i18n::field(lang, "referral.source"),
                        format!(
                            "{} · {}",
                            tr.label("enum-referral_source", f.source.as_str()),
                            tr.date(&f.referred_on)
                        ),
                    ));
                }
                rows.push(row(
                    crate::i18n::field(lang, "exploitation.country"),
                    r.exploitation_country.clone(),
                ));
                let forms: Vec<String> = r
                    .exploitation_forms
                    .iter()
                    .map(|f| tr.label("enum-exploitation_form", f.as_str()))
                    .collect();
                rows.push(row(tr.t("web-print-exploitation"), forms.join(", ")));
            }
            for d in p.documents {
                rows.push(row(tr.t("web-case-documents"), d));
            }
        }
        "handover" => {
            if state.decision.is_none() {
                rows.push(row(
                    tr.t("web-print-decision"),
                    tr.t("web-print-no-decision"),
                ));
            }
            if let Some(d) = &state.decision {
                rows.push(row(
                    tr.t("web-print-decision"),
                    format!(
                        "{} · {}",
                        tr.t(if d.granted {
                            "web-print-granted"
                        } else {
                            "web-print-refused"
                        }),
                        tr.date(&d.on)
                    ),
                ));
                rows.push(row(
                    tr.t("web-print-authority"),
                    office_name(&s.app.offices, user.lang, &d.authority),
                ));
                if let Some(h) = d.handed_over_on {
                    rows.push(row(tr.t("web-print-handed-over-on"), tr.date(&h)));
                }
            }
        }
        _ => {}
    }
    let mut chrome = Chrome::for_user(&s, &user, "web-print-page-title", "");
    chrome.title = tr.label("web-print-title", &doc);
    let page = PrintPage {
        chrome,
        id: case.id.to_string(),
        rows,
        person,
        official: user.user.display_name.clone(),
        date: tr.date(&s.app.today()),
    };
    super::page::render(StatusCode::OK, user.lang, &page)
}

// ---------------------------------------------------------------------------------------------
// Extracts of Order 366's registers.

#[derive(Template)]
#[template(path = "register_print.html")]
struct RegisterPrint {
    chrome: Chrome,
    register: String,
    from: String,
    to: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    official: String,
    date: String,
}

#[derive(Debug, Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// An extract of the register of applications or of certificates for a period (by default the
/// current month), in the caller's scope, through the same application-layer functions as
/// `GET /api/v1/registers/...`. The registers hold no personal data; the print is written to the
/// security log (who printed which register for which period).
async fn register_print(
    State(s): State<AppState>,
    user: SignedIn,
    Path(register): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    use chrono::Datelike;
    let tr = Tr(user.lang);
    let today = s.app.today();
    let from = q
        .from
        .as_deref()
        .and_then(|d| crate::models::parse_strict_date(d.trim()))
        .unwrap_or_else(|| today.with_day(1).unwrap_or(today));
    let to =
        q.to.as_deref()
            .and_then(|d| crate::models::parse_strict_date(d.trim()))
            .unwrap_or(today);
    let query = crate::app::registers::RegisterQuery {
        from: Some(from),
        to: Some(to),
        limit: 0,
        cursor: None,
    };
    let office = |code: &str| office_name(&s.app.offices, user.lang, code);
    let date = |d: Option<NaiveDate>| d.map(|d| tr.date(&d)).unwrap_or_default();
    let (head, rows): (Vec<String>, Vec<Vec<String>>) = match register.as_str() {
        "applications" => match s.app.all_applications(&user.caller, query).await {
            Ok(items) => (
                vec![
                    tr.t("web-case-register-no"),
                    tr.t("web-case-received-on"),
                    tr.t("web-case-office"),
                    tr.t("web-print-filed-by"),
                    tr.t("web-print-decision"),
                ],
                items
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.register_no,
                            tr.date(&r.received_on),
                            office(&r.office),
                            tr.label("enum-filed_by", &r.filed_by),
                            format!("{} {}", tr.label("status", &r.outcome), date(r.outcome_on))
                                .trim()
                                .to_string(),
                        ]
                    })
                    .collect(),
            ),
            Err(e) => return refusal(&s, &user, &e, "/"),
        },
        "certificates" => match s.app.all_certificates(&user.caller, query).await {
            Ok(items) => (
                vec![
                    tr.t("web-case-certificate-no"),
                    tr.t("web-print-issued-on"),
                    tr.t("web-print-authority"),
                    tr.t("web-case-register-no"),
                    tr.t("web-print-handed-over-on"),
                ],
                items
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.certificate_no,
                            tr.date(&r.issued_on),
                            office(&r.authority),
                            r.register_no,
                            date(r.handed_over_on),
                        ]
                    })
                    .collect(),
            ),
            Err(e) => return refusal(&s, &user, &e, "/"),
        },
        _ => return refusal(&s, &user, &Error::NotFound("no such register".into()), "/"),
    };
    let logged = s
        .app
        .engine
        .log_security(
            ptl_engine::security::SecurityEntry::new(
                "register_printed",
                Some(&user.user.login),
                user.address_text().as_deref(),
            )
            .detail(serde_json::json!({
                "register": register,
                "from": from.to_string(),
                "to": to.to_string(),
                "rows": rows.len(),
            })),
        )
        .await;
    if logged.is_err() {
        return refusal(&s, &user, &Error::Unavailable, "/");
    }
    let mut chrome = Chrome::for_user(&s, &user, "web-print-page-title", "");
    chrome.title = tr.label("web-print-title", &register);
    let page = RegisterPrint {
        chrome,
        register,
        from: from.to_string(),
        to: to.to_string(),
        head,
        rows,
        official: user.user.display_name.clone(),
        date: tr.date(&today),
    };
    super::page::render(StatusCode::OK, user.lang, &page)
}

#[cfg(test)]
mod tests {
    use crate::i18n::{has, Lang};

    const UK: &str = include_str!("../../i18n/uk/web-case.ftl");
    const EN: &str = include_str!("../../i18n/en/web-case.ftl");

    fn keys(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .filter(|k| !k.starts_with('#') && !k.is_empty())
            .collect()
    }

    #[test]
    fn both_languages_have_every_text_of_these_pages() {
        assert_eq!(keys(UK), keys(EN));
        for k in keys(UK) {
            assert!(has(Lang::Uk, k) && has(Lang::En, k), "{k}");
        }
        let families = ptl_domain::DeadlineState::ALL
            .iter()
            .map(|s| format!("enum-deadline_state-{}", s.as_str()))
            .chain(super::PURPOSES.iter().map(|p| format!("purpose-{p}")))
            .chain(
                super::PRINTS
                    .iter()
                    .chain(&["applications", "certificates"])
                    .map(|d| format!("web-print-title-{d}")),
            );
        for k in families {
            assert!(has(Lang::Uk, &k) && has(Lang::En, &k), "{k}");
        }
    }
}
