//! What the list pages (work queue, person search, registration's duplicate check, inbox, social
//! worker's view) share: a case row as shown (labels, not codes), its deadline badge, the names of
//! assignees, reading a whole list from the application layer, and an application error in words.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ptl_domain::procedure::DeadlineKind;
use ptl_projections::queries::{upcoming_horizon, WorkQueueRow, MAX_LIMIT};

use super::page::{office_name, Tr};
use crate::app::lists::WorkQueueQuery;
use crate::app::{App, Caller, Error};
use crate::http::error::ApiError;
use crate::i18n::Lang;
use ptl_domain::DomainError;

/// Rows read at most for one list (the work queue's views are read whole to be counted).
pub const MAX_ROWS: usize = 20_000;

/// A deadline's badge: overdue, due soon, on time; a word and a colour (class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    /// Past due.
    Overdue,
    /// Due within the upcoming window.
    DueSoon,
    /// Further away.
    OnTime,
}

impl Badge {
    /// The badge of a due date (overdue as the read model computed it).
    #[must_use]
    pub fn of(due: NaiveDate, overdue: bool, today: NaiveDate, horizon: NaiveDate) -> Self {
        if overdue || due < today {
            Self::Overdue
        } else if due <= horizon {
            Self::DueSoon
        } else {
            Self::OnTime
        }
    }

    /// The CSS class (`.badge.overdue` ...).
    #[must_use]
    pub fn class(self) -> &'static str {
        match self {
            Self::Overdue => "overdue",
            Self::DueSoon => "due-soon",
            Self::OnTime => "on-time",
        }
    }

    /// The word on the badge.
    #[must_use]
    pub fn word(self, tr: Tr) -> String {
        tr.t(match self {
            Self::Overdue => "web-lists-badge-overdue",
            Self::DueSoon => "web-lists-badge-due-soon",
            Self::OnTime => "web-lists-badge-on-time",
        })
    }
}

/// One case of a list, as shown.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Case id (`data-case-id`, the link).
    pub case_id: String,
    /// Register number.
    pub register_no: String,
    /// Stage (label).
    pub stage: String,
    /// Status (label).
    pub status: String,
    /// Next due date, written for people.
    pub due: String,
    /// Badge class and word, when something is due.
    pub badge: Option<(&'static str, String)>,
    /// Assignee's name (empty when unassigned).
    pub assignee: String,
    /// Office's name.
    pub office: String,
    /// Receipt date, written for people.
    pub received: String,
}

/// What turns read-model rows into shown rows: the language, today, the upcoming window's end,
/// the names of users.
#[derive(Debug)]
pub struct Shower<'a> {
    /// Translation.
    pub tr: Tr,
    /// Today in Kyiv.
    pub today: NaiveDate,
    /// The last day of the upcoming window.
    pub horizon: NaiveDate,
    /// User id -> display name.
    pub names: BTreeMap<String, String>,
    app: &'a App,
}

impl<'a> Shower<'a> {
    /// For `tr` on the application's clock, rules and users.
    pub async fn new(app: &'a App, tr: Tr) -> Self {
        let today = app.today();
        let horizon = upcoming_horizon(
            app.engine.rules(),
            today,
            u32::try_from(app.settings.upcoming_days).unwrap_or(3),
        );
        let names = match app.engine.users().await {
            Ok(users) => users.into_iter().map(|u| (u.id, u.display_name)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "user names for a list");
                BTreeMap::new()
            }
        };
        Self {
            tr,
            today,
            horizon,
            names,
            app,
        }
    }

    /// A user's name (the id when the account is unknown, e.g. a token's subject).
    #[must_use]
    pub fn name(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// An office's name.
    #[must_use]
    pub fn office(&self, code: &str) -> String {
        office_name(&self.app.offices, self.tr.0, code)
    }

    /// The badge of a due date.
    #[must_use]
    pub fn badge(&self, due: NaiveDate, overdue: bool) -> (&'static str, String) {
        let b = Badge::of(due, overdue, self.today, self.horizon);
        (b.class(), b.word(self.tr))
    }

    /// A work-queue row as shown.
    #[must_use]
    pub fn row(&self, r: &WorkQueueRow) -> CaseRow {
        CaseRow {
            case_id: r.case_id.to_string(),
            register_no: r.register_no.clone(),
            stage: self.tr.label("stage", r.stage.as_str()),
            status: self.tr.label("status", r.status.as_str()),
            due: r.next_due_on.map(|d| self.tr.date(&d)).unwrap_or_default(),
            badge: r.next_due_on.map(|d| self.badge(d, r.overdue)),
            assignee: r
                .assignee
                .as_deref()
                .map(|a| self.name(a))
                .unwrap_or_default(),
            office: self.office(&r.office),
            received: self.tr.date(&r.received_on),
        }
    }
}

/// Every row of a work-queue query (page after page), at most [`MAX_ROWS`].
///
/// # Errors
/// As [`App::work_queue`].
pub async fn whole_queue(
    app: &App,
    caller: &Caller,
    mut q: WorkQueueQuery,
) -> Result<Vec<WorkQueueRow>, Error> {
    q.limit = MAX_LIMIT;
    q.cursor = None;
    let mut rows = Vec::new();
    loop {
        let page = app.work_queue(caller, q.clone()).await?.page;
        rows.extend(page.items);
        match page.next_cursor {
            Some(c) if rows.len() < MAX_ROWS => q.cursor = Some(c),
            _ => break,
        }
    }
    Ok(rows)
}

/// An application error in words: the problem's title in the page's language with its detail,
/// and the messages per field (the field names as the API's). The detail and the domain's
/// messages per field are English sentences (the API's contract): a page in Ukrainian shows the
/// title alone and each field's problem from the catalogue, by its code.
#[must_use]
pub fn explain(tr: Tr, e: Error) -> (String, BTreeMap<String, String>) {
    if matches!(e, Error::Unavailable) {
        return (tr.t("web-unavailable"), BTreeMap::new());
    }
    let by_code: Option<BTreeMap<String, String>> = match &e {
        _ if tr.0 == Lang::En => None,
        Error::Refused(DomainError::Validation(list)) => Some(
            list.iter()
                .map(|f| {
                    (
                        f.field.clone(),
                        tr.t(&format!("problem-{}", f.problem.code())),
                    )
                })
                .collect(),
        ),
        Error::Refused(DomainError::DateOutOfOrder { not_before, .. }) => Some(BTreeMap::from([(
            "occurred_on".to_string(),
            format!(
                "{} ({})",
                tr.t("problem-date_out_of_order"),
                tr.date(not_before)
            ),
        )])),
        _ => None,
    };
    let problem = ApiError::from(e).problem(tr.0);
    let mut errors = problem.errors.unwrap_or_default();
    if tr.0 != Lang::En {
        match by_code {
            Some(localized) => errors = localized,
            None => {
                let text = tr.t(&format!("problem-{}", problem.code));
                for message in errors.values_mut() {
                    message.clone_from(&text);
                }
            }
        }
        return (problem.title, errors);
    }
    // With messages per field, the title heads the list of them (the detail repeats them).
    let text = if !errors.is_empty() || problem.detail.is_empty() || problem.detail == problem.title
    {
        problem.title
    } else {
        format!("{}: {}", problem.title, problem.detail)
    };
    (text, errors)
}

/// Every deadline of these kinds in the caller's scope (page after page), at most [`MAX_ROWS`].
///
/// # Errors
/// As [`App::deadlines`].
pub async fn all_deadlines(
    app: &App,
    caller: &Caller,
    kinds: &[DeadlineKind],
) -> Result<Vec<ptl_projections::queries::DeadlineRow>, Error> {
    let mut q = crate::app::lists::DeadlineQuery {
        kinds: kinds.to_vec(),
        limit: MAX_LIMIT,
        ..Default::default()
    };
    let mut rows = Vec::new();
    loop {
        let page = app.deadlines(caller, q.clone()).await?;
        rows.extend(page.items);
        match page.next_cursor {
            Some(c) if rows.len() < MAX_ROWS => q.cursor = Some(c),
            _ => break,
        }
    }
    Ok(rows)
}

/// One case of a section of the inbox or the social worker's view.
#[derive(Debug, Clone)]
pub struct DueItem {
    /// Case id.
    pub case_id: String,
    /// Register number.
    pub register_no: String,
    /// Office's name.
    pub office: String,
    /// The date shown (due, or done), for people.
    pub date: String,
    /// The badge, for a running deadline.
    pub badge: Option<(&'static str, String)>,
    /// Stage (label).
    pub stage: String,
}

/// A titled list of cases with a date.
#[derive(Debug, Clone)]
pub struct Section {
    /// A stable hook (`data-section`).
    pub code: &'static str,
    /// Its heading.
    pub title: String,
    /// The heading of the date column.
    pub date_title: String,
    /// What it says when empty.
    pub empty: String,
    /// The cases.
    pub items: Vec<DueItem>,
}

/// A page of sections (the inbox, the social worker's view).
#[derive(Debug, askama::Template)]
#[template(path = "sections.html")]
pub struct SectionsPage {
    /// The layout.
    pub chrome: super::page::Chrome,
    /// A line under the title.
    pub intro: String,
    /// The sections.
    pub sections: Vec<Section>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{has, Lang};

    /// The list pages' sources and templates.
    const SOURCES: &[&str] = &[
        include_str!("queue.rs"),
        include_str!("register.rs"),
        include_str!("search.rs"),
        include_str!("inbox.rs"),
        include_str!("social.rs"),
        include_str!("statistics.rs"),
        include_str!("rows.rs"),
        include_str!("mod.rs"),
        include_str!("../../templates/_case_rows.html"),
        include_str!("../../templates/queue.html"),
        include_str!("../../templates/register.html"),
        include_str!("../../templates/register_check.html"),
        include_str!("../../templates/person_search.html"),
        include_str!("../../templates/sections.html"),
        include_str!("../../templates/statistics.html"),
    ];

    #[test]
    fn every_text_the_list_pages_use_is_in_both_languages() {
        let mut keys: Vec<String> = Vec::new();
        for source in SOURCES {
            for (i, _) in source.match_indices("\"web-lists-") {
                let rest = &source[i + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .unwrap_or(rest.len());
                let key = &rest[..end];
                // Keys completed at run time (`web-lists-view-{code}`) end with a dash.
                if !key.ends_with('-') {
                    keys.push(key.to_string());
                }
            }
        }
        keys.extend(
            crate::web::queue::View::ALL
                .iter()
                .map(|v| format!("web-lists-view-{}", v.code())),
        );
        keys.extend(
            ["needs", "plans", "services", "shelter"].map(|s| format!("web-lists-social-{s}")),
        );
        assert!(keys.len() > 50, "{keys:?}");
        for key in keys {
            for lang in [Lang::Uk, Lang::En] {
                assert!(has(lang, &key), "{key} is missing in {lang:?}");
            }
        }
    }

    #[test]
    fn a_badge_tells_overdue_due_soon_and_on_time_apart() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (today, horizon) = (d("2026-03-02"), d("2026-03-05"));
        assert_eq!(
            Badge::of(d("2026-03-01"), false, today, horizon),
            Badge::Overdue
        );
        assert_eq!(
            Badge::of(d("2026-03-04"), true, today, horizon),
            Badge::Overdue
        );
        assert_eq!(
            Badge::of(d("2026-03-02"), false, today, horizon),
            Badge::DueSoon
        );
        assert_eq!(
            Badge::of(d("2026-03-05"), false, today, horizon),
            Badge::DueSoon
        );
        assert_eq!(
            Badge::of(d("2026-03-06"), false, today, horizon),
            Badge::OnTime
        );
    }
}
