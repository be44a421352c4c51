//! Page 2, registration (`GET/POST /cases/new`): every field of the registration body and the
//! person's data, named as the API's (`applicant.sex`, `person.full_name`, `documents[0].kind`),
//! with the rules explained next to the fields.
//!
//! Two steps. The first `POST` (`step=check`) reads the form as the API reads the body
//! ([`parse_register`]), and, when it reads, runs a person search with the reason "registration"
//! ([`App::person_search`](crate::app::App::person_search): the access-log entries, the caller's
//! search limit, matches as the contract allows) and shows the possible duplicates with a
//! confirmation form carrying the same values in hidden inputs. The second (`step=save`)
//! registers through [`App::register`](crate::app::App::register), as `POST /api/v1/cases` does,
//! under the idempotency key the form was rendered with, and sends the browser to the case (303).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use ptl_domain::types::{
    Citizenship, DocumentKind, ExploitationForm, FiledBy, ReferralSource, Sex,
};
use ptl_domain::ActionName;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::page::{render, Chrome, Tr};
use super::rows::{explain, CaseRow, Shower};
use super::session::{random_token, SignedIn};
use crate::app::lists::PersonQuery;
use crate::app::RequestKey;
use crate::http::AppState;
use crate::models::parse_register;
use crate::offices::OfficeKind;

/// Document rows the form offers.
pub const DOCUMENT_ROWS: usize = 3;

/// Fields sent as `true`/`false`.
const BOOLEANS: &[&str] = &[
    "applicant.speaks_ukrainian_or_russian",
    "applicant.interpreter_used",
    "rights_explained",
];
/// Checkboxes: absent means `false`.
const CHECKBOXES: &[&str] = &["rights_explained"];
/// Fields sent as whole numbers.
const INTEGERS: &[&str] = &["applicant.birth_year"];
/// Fields that repeat their name for each value.
const LISTS: &[&str] = &["exploitation.forms"];
/// Form fields that are not the body's.
const CONTROL: &[&str] = &["csrf_token", "idempotency_key", "step"];

/// One path segment of a form field's name: `documents[0]` is `("documents", Some(0))`.
fn segments(name: &str) -> Vec<(&str, Option<usize>)> {
    name.split('.')
        .map(|seg| match seg.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse().ok()),
            None => (seg, None),
        })
        .collect()
}

fn leaf(name: &str, value: &str) -> Value {
    if BOOLEANS.contains(&name) {
        match value {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    if INTEGERS.contains(&name) {
        if let Ok(n) = value.parse::<i64>() {
            return Value::from(n);
        }
    }
    Value::String(value.to_string())
}

fn insert(
    target: &mut Map<String, Value>,
    segs: &[(&str, Option<usize>)],
    name: &str,
    value: &str,
) {
    let Some(((key, index), rest)) = segs.split_first() else {
        return;
    };
    let key = (*key).to_string();
    match (index, rest.is_empty()) {
        (None, true) => {
            if LISTS.contains(&name) {
                let entry = target
                    .entry(key)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(leaf(name, value));
                }
            } else {
                target.insert(key, leaf(name, value));
            }
        }
        (None, false) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                insert(inner, rest, name, value);
            }
        }
        (Some(i), _) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = entry {
                if *i >= 100 {
                    return;
                }
                while items.len() <= *i {
                    items.push(Value::Object(Map::new()));
                }
                if rest.is_empty() {
                    items[*i] = leaf(name, value);
                } else if let Value::Object(inner) = &mut items[*i] {
                    insert(inner, rest, name, value);
                }
            }
        }
    }
}

/// The JSON body a form stands for: dotted names nest, `[n]` indexes a list of objects, a name
/// of [`LISTS`] repeats; empty inputs are left out (as an absent field), empty rows of a list of
/// objects too.
#[must_use]
pub fn form_body(values: &[(String, String)]) -> Value {
    let mut body = Map::new();
    for (name, value) in values {
        let value = value.trim();
        if value.is_empty() || CONTROL.contains(&name.as_str()) {
            continue;
        }
        insert(&mut body, &segments(name), name, value);
    }
    for name in CHECKBOXES {
        if !values
            .iter()
            .any(|(n, v)| n == name && !v.trim().is_empty())
        {
            body.insert((*name).to_string(), Value::Bool(false));
        }
    }
    for v in body.values_mut() {
        if let Value::Array(items) = v {
            items.retain(|i| !matches!(i, Value::Object(m) if m.is_empty()));
        }
    }
    Value::Object(body)
}

/// The element id of a field (`applicant.sex` is `applicant_sex`).
#[must_use]
pub fn field_id(name: &str) -> String {
    name.replace(['.', '[', ']'], "_")
}

/// An option of a select, a radio or a checkbox.
#[derive(Debug, Clone)]
pub struct Opt {
    /// The value sent.
    pub value: String,
    /// Its label.
    pub text: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    chrome: Chrome,
    /// The values as typed (name -> values).
    values: BTreeMap<String, Vec<String>>,
    /// Messages per field (the API's field names).
    errors: BTreeMap<String, String>,
    /// A message for the whole form.
    alert: Option<String>,
    key: String,
    offices: Vec<Opt>,
    filed_by: Vec<Opt>,
    sexes: Vec<Opt>,
    citizenships: Vec<Opt>,
    sources: Vec<Opt>,
    forms: Vec<Opt>,
    kinds: Vec<Opt>,
    rows: Vec<usize>,
    today: String,
}

impl RegisterPage {
    /// The first value typed for `name` (empty when none).
    fn v(&self, name: &str) -> String {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `value` was chosen for `name`.
    fn has(&self, name: &str, value: &str) -> bool {
        self.values
            .get(name)
            .is_some_and(|v| v.iter().any(|x| x == value))
    }

    /// The message for a field, if any.
    fn err(&self, name: &str) -> Option<String> {
        self.errors.get(name).cloned()
    }

    /// `documents[i].kind` and friends.
    fn doc(&self, i: &usize, field: &str) -> String {
        format!("documents[{i}].{field}")
    }

    /// The errors for the summary: (the field's element id, "label: message").
    fn summary(&self) -> Vec<(String, String)> {
        let tr = self.chrome.tr;
        self.errors
            .iter()
            .map(|(name, message)| (field_id(name), format!("{}: {message}", tr.field(name))))
            .collect()
    }

    /// The `aria-describedby` of a field: its help and its error, when present.
    fn described(&self, name: &str, help: bool) -> String {
        let id = field_id(name);
        let mut ids = Vec::new();
        if help {
            ids.push(format!("{id}-help"));
        }
        if self.errors.contains_key(name) {
            ids.push(format!("{id}-error"));
        }
        ids.join(" ")
    }
}

#[derive(Template)]
#[template(path = "register_check.html")]
struct CheckPage {
    chrome: Chrome,
    /// The values to carry, name by name.
    hidden: Vec<(String, String)>,
    key: String,
    rows: Vec<CaseRow>,
    elsewhere: Vec<(String, u64)>,
    alert: Option<String>,
}

fn opts<T: Copy>(tr: Tr, family: &str, all: &[T], code: impl Fn(T) -> &'static str) -> Vec<Opt> {
    all.iter()
        .map(|x| Opt {
            value: code(*x).to_string(),
            text: tr.label(family, code(*x)),
        })
        .collect()
}

/// Whether the user's role registers applications (as the application layer decides).
fn may_register(user: &SignedIn) -> bool {
    ActionName::Register.allows(user.caller.role)
}

fn form_page(
    s: &AppState,
    user: &SignedIn,
    status: StatusCode,
    values: &[(String, String)],
    errors: BTreeMap<String, String>,
    alert: Option<String>,
) -> Response {
    let tr = Tr(user.lang);
    let today = s.app.today();
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in values {
        map.entry(k.clone()).or_default().push(v.clone());
    }
    let key = map
        .get("idempotency_key")
        .and_then(|v| v.first())
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .cloned()
        .unwrap_or_else(random_token);
    let offices = s
        .app
        .offices
        .descendants(&user.caller.office)
        .into_iter()
        .filter_map(|code| s.app.offices.get(code))
        .filter(|o| o.kind == OfficeKind::District && o.open_on(today))
        .map(|o| Opt {
            value: o.code.clone(),
            text: super::page::office_name(&s.app.offices, user.lang, &o.code),
        })
        .collect();
    let page = RegisterPage {
        chrome: Chrome::for_user(s, user, "web-lists-register-title", "/cases/new"),
        values: map,
        errors,
        alert,
        key,
        offices,
        filed_by: opts(tr, "enum-filed_by", FiledBy::ALL, FiledBy::as_str),
        sexes: opts(tr, "enum-sex", Sex::ALL, Sex::as_str),
        citizenships: opts(
            tr,
            "enum-citizenship",
            Citizenship::ALL,
            Citizenship::as_str,
        ),
        sources: opts(
            tr,
            "enum-referral_source",
            ReferralSource::ALL,
            ReferralSource::as_str,
        ),
        forms: opts(
            tr,
            "enum-exploitation_form",
            ExploitationForm::ALL,
            ExploitationForm::as_str,
        ),
        kinds: opts(
            tr,
            "enum-document_kind",
            DocumentKind::ALL,
            DocumentKind::as_str,
        ),
        rows: (0..DOCUMENT_ROWS).collect(),
        today: today.to_string(),
    };
    render(status, user.lang, &page)
}

fn not_for_role(s: &AppState, user: &SignedIn) -> Response {
    let tr = Tr(user.lang);
    super::message_page(
        StatusCode::FORBIDDEN,
        Chrome::for_user(s, user, "web-lists-register-title", "/cases/new"),
        true,
        tr.t("web-lists-not-for-role"),
        Some(("/".to_string(), tr.t("web-back-home"))),
    )
}

/// `GET /cases/new`: the empty form (today's receipt date, the user's office).
async fn get_new(State(s): State<AppState>, user: SignedIn) -> Response {
    if !may_register(&user) {
        return not_for_role(&s, &user);
    }
    let defaults = vec![
        ("received_on".to_string(), s.app.today().to_string()),
        ("office".to_string(), user.caller.office.clone()),
        ("rights_explained".to_string(), String::new()),
    ];
    form_page(&s, &user, StatusCode::OK, &defaults, BTreeMap::new(), None)
}

/// Field messages in the page's language where the catalogue has them ("required").
fn word_errors(tr: Tr, errors: BTreeMap<String, String>) -> BTreeMap<String, String> {
    errors
        .into_iter()
        .map(|(k, v)| {
            let v = if v == "required" {
                tr.t("web-lists-required")
            } else {
                v
            };
            (k, v)
        })
        .collect()
}

/// `POST /cases/new`: check and show possible duplicates, or save.
async fn post_new(
    State(s): State<AppState>,
    user: SignedIn,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    let tr = Tr(user.lang);
    let field = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if !user.csrf_ok(field("csrf_token")) {
        return super::forbidden(user.lang);
    }
    if !may_register(&user) {
        return not_for_role(&s, &user);
    }
    let step = field("step").unwrap_or("check");
    if step == "edit" {
        return form_page(&s, &user, StatusCode::OK, &values, BTreeMap::new(), None);
    }
    let body = form_body(&values);
    let parsed = parse_register(&body, String::new());
    let person = match &parsed {
        Ok(p) => p.person.clone(),
        Err(e) => {
            let (text, errors) = explain(tr, crate::app::Error::Input(e.clone()));
            return form_page(
                &s,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                word_errors(tr, errors),
                Some(text),
            );
        }
    };
    if step == "save" {
        let key = field("idempotency_key")
            .filter(|k| !k.is_empty())
            .map(|k| RequestKey {
                key: k.to_string(),
                fingerprint: hex::encode(Sha256::digest(body.to_string().as_bytes())),
            });
        return match s.app.register(&user.caller, parsed, key).await {
            Ok(written) => Redirect::to(&format!("/cases/{}", written.case_id)).into_response(),
            Err(e) => {
                let status = if matches!(e, crate::app::Error::Unavailable) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let (text, errors) = explain(tr, e);
                form_page(
                    &s,
                    &user,
                    status,
                    &values,
                    word_errors(tr, errors),
                    Some(text),
                )
            }
        };
    }
    // The check: a person search with the reason "registration", before anything is saved.
    let query = PersonQuery {
        full_name: person.full_name.clone(),
        birth_date: person.birth_date,
        reason: tr.t("web-lists-register-search-reason"),
    };
    let hidden: Vec<(String, String)> = values
        .iter()
        .filter(|(k, v)| !CONTROL.contains(&k.as_str()) && !v.trim().is_empty())
        .cloned()
        .collect();
    let key = field("idempotency_key")
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map_or_else(random_token, str::to_string);
    let chrome = Chrome::for_user(&s, &user, "web-lists-register-check-title", "/cases/new");
    match s.app.person_search(&user.caller, Ok(query)).await {
        Ok(found) => {
            let shower = Shower::new(&s.app, tr).await;
            let page = CheckPage {
                chrome,
                hidden,
                key,
                rows: found.items.iter().map(|r| shower.row(r)).collect(),
                elsewhere: found
                    .elsewhere
                    .iter()
                    .map(|e| (shower.office(&e.office), e.count))
                    .collect(),
                alert: None,
            };
            render(StatusCode::OK, user.lang, &page)
        }
        Err(e) => {
            let status = match e {
                crate::app::Error::TooManySearches { .. } => StatusCode::TOO_MANY_REQUESTS,
                crate::app::Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            let (text, _) = explain(tr, e);
            form_page(&s, &user, status, &values, BTreeMap::new(), Some(text))
        }
    }
}

/// The registration routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/cases/new", get(get_new).post(post_new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    #[test]
    fn a_form_nests_lists_and_types_as_the_api_body() {
        let body = form_body(&pairs(&[
            ("csrf_token", "t"),
            ("received_on", "2026-03-02"),
            ("applicant.sex", "female"),
            ("applicant.birth_year", "1990"),
            ("applicant.interpreter_used", "false"),
            ("exploitation.forms", "labour"),
            ("exploitation.forms", "begging"),
            ("documents[0].kind", "application"),
            ("documents[0].note", ""),
            ("documents[1].kind", ""),
            ("documents[2].kind", "other"),
            ("person.full_name", " Марʼяна Коваль "),
            ("referral.organisation", ""),
        ]));
        assert_eq!(
            body,
            serde_json::json!({
                "received_on": "2026-03-02",
                "applicant": {"sex": "female", "birth_year": 1990, "interpreter_used": false},
                "exploitation": {"forms": ["labour", "begging"]},
                "documents": [{"kind": "application"}, {"kind": "other"}],
                "person": {"full_name": "Марʼяна Коваль"},
                "rights_explained": false,
            })
        );
    }
}
