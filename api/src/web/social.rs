//! Page 8, the social worker's view (`GET /social`): needs assessments due, rehabilitation plans
//! to draw up, the cases with an approved plan (whose services are recorded), and shelter stays
//! ending, from the deadlines read model of the worker's scope (as `GET /api/v1/deadlines` reads
//! it), each case with its register number from the work queue.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ptl_domain::procedure::DeadlineKind;
use ptl_domain::Role;
use ptl_projections::queries::{DeadlineRow, WorkQueueRow};

use super::inbox::not_for_role;
use super::page::{render, Chrome, Tr};
use super::rows::{all_deadlines, explain, DueItem, Section, SectionsPage, Shower};
use super::session::SignedIn;
use crate::http::AppState;

fn running(d: &DeadlineRow) -> bool {
    d.fulfilled_on.is_none() && d.cancelled_on.is_none()
}

async fn social(State(s): State<AppState>, user: SignedIn) -> Response {
    const TITLE: &str = "web-lists-social-title";
    if !matches!(user.caller.role, Role::SocialWorker | Role::Supervisor) {
        return not_for_role(&s, &user, TITLE, "/social");
    }
    let tr = Tr(user.lang);
    let chrome = Chrome::for_user(&s, &user, TITLE, "/social");
    let loaded = async {
        // The deadlines of the assistance track, then only their cases' rows.
        let deadlines = all_deadlines(
            &s.app,
            &user.caller,
            &[
                DeadlineKind::NeedsAssessment,
                DeadlineKind::RehabilitationPlan,
                DeadlineKind::Shelter,
            ],
        )
        .await?;
        let ids: BTreeSet<uuid::Uuid> = deadlines.iter().map(|d| d.case_id).collect();
        let cases = s
            .app
            .cases_by_id(&user.caller, ids.into_iter().collect())
            .await?;
        Ok::<_, crate::app::Error>((cases, deadlines))
    }
    .await;
    let (cases, deadlines) = match loaded {
        Ok(l) => l,
        Err(e) => {
            let (text, _) = explain(tr, e);
            return super::message_page(StatusCode::SERVICE_UNAVAILABLE, chrome, true, text, None);
        }
    };
    let cases: BTreeMap<_, &WorkQueueRow> = cases.iter().map(|r| (r.case_id, r)).collect();
    let shower = Shower::new(&s.app, tr).await;
    let item = |d: &DeadlineRow, done: bool| -> Option<DueItem> {
        let case = cases.get(&d.case_id)?;
        let date = if done {
            d.fulfilled_on.unwrap_or(d.due_on)
        } else {
            d.due_on
        };
        Some(DueItem {
            case_id: d.case_id.to_string(),
            register_no: case.register_no.clone(),
            office: shower.office(&d.office),
            date: tr.date(&date),
            badge: (!done).then(|| shower.badge(d.due_on, d.due_on < shower.today)),
            stage: tr.label("stage", case.stage.as_str()),
        })
    };
    let section = |code: &'static str, kind: DeadlineKind, done: bool, date_key: &str| {
        let mut rows: Vec<&DeadlineRow> = deadlines
            .iter()
            .filter(|d| d.kind == kind && running(d) != done)
            .filter(|d| !done || d.fulfilled_on.is_some())
            .collect();
        rows.sort_by_key(|d| (d.due_on, d.case_id));
        Section {
            code,
            title: tr.t(&format!("web-lists-social-{code}")),
            date_title: tr.t(date_key),
            empty: tr.t("web-lists-empty"),
            items: rows.into_iter().filter_map(|d| item(d, done)).collect(),
        }
    };
    let sections = vec![
        section(
            "needs",
            DeadlineKind::NeedsAssessment,
            false,
            "web-lists-col-due-on",
        ),
        section(
            "plans",
            DeadlineKind::RehabilitationPlan,
            false,
            "web-lists-col-due-on",
        ),
        section(
            "services",
            DeadlineKind::RehabilitationPlan,
            true,
            "web-lists-col-plan-approved",
        ),
        section(
            "shelter",
            DeadlineKind::Shelter,
            false,
            "web-lists-col-stay-ends",
        ),
    ];
    let page = SectionsPage {
        chrome,
        intro: tr.t("web-lists-social-intro"),
        sections,
    };
    render(StatusCode::OK, user.lang, &page)
}

/// The social worker's view's route.
pub fn router() -> Router<AppState> {
    Router::new().route("/social", get(social))
}
