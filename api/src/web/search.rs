//! Page 6, person search (`GET/POST /person-search`): full name, birth date and reason, sent by
//! `POST` so that no personal data is in a URL; read as `POST /api/v1/person-search` reads its
//! body ([`parse_person_search`]) and answered by the same
//! [`App::person_search`](crate::app::App::person_search): the cases in the caller's scope as rows,
//! the others as counts per office, an access-log entry with the reason for every case found.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::page::{render, Chrome, Tr};
use super::rows::{explain, CaseRow, Shower};
use super::session::SignedIn;
use crate::app::Error;
use crate::http::AppState;
use crate::models::parse_person_search;

/// The search form.
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
    /// Full name.
    #[serde(default)]
    pub full_name: String,
    /// Date of birth (`YYYY-MM-DD`).
    #[serde(default)]
    pub birth_date: String,
    /// Why the user searches (goes to the access log).
    #[serde(default)]
    pub reason: String,
}

#[derive(Template)]
#[template(path = "person_search.html")]
struct SearchPage {
    chrome: Chrome,
    full_name: String,
    birth_date: String,
    reason: String,
    errors: BTreeMap<String, String>,
    alert: Option<String>,
    searched: bool,
    rows: Vec<CaseRow>,
    elsewhere: Vec<(String, u64)>,
}

fn page(s: &AppState, user: &SignedIn, form: &SearchForm) -> SearchPage {
    SearchPage {
        chrome: Chrome::for_user(s, user, "web-lists-search-title", "/person-search"),
        full_name: form.full_name.clone(),
        birth_date: form.birth_date.clone(),
        reason: form.reason.clone(),
        errors: BTreeMap::new(),
        alert: None,
        searched: false,
        rows: Vec::new(),
        elsewhere: Vec::new(),
    }
}

async fn get_search(State(s): State<AppState>, user: SignedIn) -> Response {
    render(
        StatusCode::OK,
        user.lang,
        &page(&s, &user, &SearchForm::default()),
    )
}

async fn post_search(
    State(s): State<AppState>,
    user: SignedIn,
    Form(form): Form<SearchForm>,
) -> Response {
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    let tr = Tr(user.lang);
    let mut body = Map::new();
    for (k, v) in [
        ("full_name", &form.full_name),
        ("birth_date", &form.birth_date),
        ("reason", &form.reason),
    ] {
        if !v.trim().is_empty() {
            body.insert(k.to_string(), Value::String(v.trim().to_string()));
        }
    }
    let input = parse_person_search(&Value::Object(body));
    let mut shown = page(&s, &user, &form);
    // The role is checked first, as the API does: a role that does not search learns nothing
    // about the body.
    match s.app.person_search(&user.caller, input).await {
        Ok(found) => {
            let shower = Shower::new(&s.app, tr).await;
            shown.searched = true;
            shown.rows = found.items.iter().map(|r| shower.row(r)).collect();
            shown.elsewhere = found
                .elsewhere
                .iter()
                .map(|e| (shower.office(&e.office), e.count))
                .collect();
            render(StatusCode::OK, user.lang, &shown)
        }
        Err(e) => {
            let status = match &e {
                Error::Forbidden(_) => StatusCode::FORBIDDEN,
                Error::TooManySearches { .. } => StatusCode::TOO_MANY_REQUESTS,
                Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let (text, errors) = explain(tr, e);
            shown.alert = Some(text);
            shown.errors = errors
                .into_iter()
                .map(|(k, v)| {
                    let v = if v == "required" {
                        tr.t("web-lists-required")
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect();
            render(status, user.lang, &shown)
        }
    }
}

/// The person search's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/person-search", get(get_search).post(post_search))
}
