//! Page 7, the deciding authority's inbox (`GET /inbox`, decision officers): the files submitted
//! to the officer's authority and still with it, each with the due date of its decision; the case
//! page (`/cases/{id}`) offers the decision and the return, as the officer may do them now.
//!
//! Read through the application layer as `GET /api/v1/cases?stage=submitted` and
//! `GET /api/v1/deadlines` read (the scope of an authority is the files ever submitted to it).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ptl_domain::procedure::DeadlineKind;
use ptl_domain::{Role, Stage};

use super::page::{render, Chrome, Tr};
use super::rows::{all_deadlines, explain, whole_queue, DueItem, Section, SectionsPage, Shower};
use super::session::SignedIn;
use crate::app::lists::WorkQueueQuery;
use crate::http::AppState;

/// A page only some roles have: others get a 403 page saying so.
pub(crate) fn not_for_role(s: &AppState, user: &SignedIn, title: &str, path: &str) -> Response {
    let tr = Tr(user.lang);
    super::message_page(
        StatusCode::FORBIDDEN,
        Chrome::for_user(s, user, title, path),
        true,
        tr.t("web-lists-not-for-role"),
        Some(("/".to_string(), tr.t("web-back-home"))),
    )
}

async fn inbox(State(s): State<AppState>, user: SignedIn) -> Response {
    const TITLE: &str = "web-lists-inbox-title";
    if user.caller.role != Role::DecisionOfficer {
        return not_for_role(&s, &user, TITLE, "/inbox");
    }
    let tr = Tr(user.lang);
    let chrome = Chrome::for_user(&s, &user, TITLE, "/inbox");
    let loaded = async {
        let files = whole_queue(
            &s.app,
            &user.caller,
            WorkQueueQuery {
                stage: Some(Stage::Submitted),
                ..WorkQueueQuery::default()
            },
        )
        .await?;
        let deadlines = all_deadlines(&s.app, &user.caller, &[DeadlineKind::Decision]).await?;
        Ok::<_, crate::app::Error>((files, deadlines))
    }
    .await;
    let (files, deadlines) = match loaded {
        Ok(l) => l,
        Err(e) => {
            let (text, _) = explain(tr, e);
            return super::message_page(StatusCode::SERVICE_UNAVAILABLE, chrome, true, text, None);
        }
    };
    let decision_due: BTreeMap<_, _> = deadlines
        .iter()
        .filter(|d| {
            d.kind == DeadlineKind::Decision && d.fulfilled_on.is_none() && d.cancelled_on.is_none()
        })
        .map(|d| (d.case_id, d.due_on))
        .collect();
    let shower = Shower::new(&s.app, tr).await;
    let mut items: Vec<(Option<chrono::NaiveDate>, DueItem)> = files
        .iter()
        .filter(|r| r.submitted_to.as_deref() == Some(user.caller.office.as_str()))
        .map(|r| {
            let due = decision_due.get(&r.case_id).copied();
            (
                due,
                DueItem {
                    case_id: r.case_id.to_string(),
                    register_no: r.register_no.clone(),
                    office: shower.office(&r.office),
                    date: due.map(|d| tr.date(&d)).unwrap_or_default(),
                    badge: due.map(|d| shower.badge(d, d < shower.today)),
                    stage: tr.label("stage", r.stage.as_str()),
                },
            )
        })
        .collect();
    items.sort_by_key(|(due, item)| {
        (
            due.unwrap_or(chrono::NaiveDate::MAX),
            item.register_no.clone(),
        )
    });
    let page = SectionsPage {
        chrome,
        intro: tr.t("web-lists-inbox-intro"),
        sections: vec![Section {
            code: "submitted",
            title: tr.t("web-lists-inbox-submitted"),
            date_title: tr.t("web-lists-col-decision-due"),
            empty: tr.t("web-lists-inbox-empty"),
            items: items.into_iter().map(|(_, i)| i).collect(),
        }],
    };
    render(StatusCode::OK, user.lang, &page)
}

/// The inbox's route.
pub fn router() -> Router<AppState> {
    Router::new().route("/inbox", get(inbox))
}
