//! Page 11, administration (`web.md`): the accounts (add, disable, enable, reset password, role
//! and office), the office tree, and the procedure definitions with their deadline tables and
//! marks. Admins only; no personal data. Account changes go through [`crate::accounts`], as
//! `ptl users` does, so both doors check the same and log the same.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use ptl_domain::Role;
use serde::Deserialize;

use super::page::{office_name, render, Chrome, Tr};
use super::session::SignedIn;
use crate::accounts::{self, AddAccount, ChangedBy, Refused};
use crate::http::AppState;
use crate::offices::OfficeKind;

/// One account as the page lists it.
struct AccountRow {
    login: String,
    name: String,
    role: String,
    role_code: String,
    office: String,
    office_code: String,
    state: String,
    disabled: bool,
}

/// One office of the tree, indented by depth.
struct OfficeRow {
    depth: usize,
    name: String,
    code: String,
    kind: String,
    closed: Option<String>,
}

/// One deadline row of a definition.
struct DeadlineRow {
    name: String,
    length: String,
    starts_at: String,
    mark: String,
    default: bool,
}

/// One procedure definition.
struct DefinitionRow {
    id: String,
    title: String,
    effective: String,
    authority: String,
    sources: Vec<String>,
    deadlines: Vec<DeadlineRow>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    csrf: String,
    accounts: Vec<AccountRow>,
    roles: Vec<(String, String)>,
    offices: Vec<OfficeRow>,
    office_choices: Vec<(String, String)>,
    definitions: Vec<DefinitionRow>,
    notice: Option<String>,
    error: Option<(String, String)>,
    form: AddForm,
}

/// The form that adds an account.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    csrf_token: String,
}

/// A change to one account.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    csrf_token: String,
}

fn refuse_non_admin(s: &AppState, user: &SignedIn) -> Option<Response> {
    (user.caller.role != Role::Admin).then(|| {
        let tr = Tr(user.lang);
        super::message_page(
            StatusCode::FORBIDDEN,
            Chrome::for_user(s, user, "web-refused-title", ""),
            true,
            tr.t("web-admin-only"),
            Some(("/".into(), tr.t("web-back-home"))),
        )
    })
}

fn kind_key(kind: OfficeKind) -> &'static str {
    match kind {
        OfficeKind::National => "web-admin-kind-national",
        OfficeKind::Authority => "web-admin-kind-authority",
        OfficeKind::Region => "web-admin-kind-region",
        OfficeKind::District => "web-admin-kind-district",
    }
}

async fn page(
    s: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<String>,
    error: Option<(String, String)>,
    form: AddForm,
) -> Response {
    let tr = Tr(user.lang);
    let lang = user.lang;
    let users = s.app.engine.users().await.unwrap_or_default();
    let tree = &s.app.offices;
    let accounts = users
        .into_iter()
        .map(|u| AccountRow {
            name: u.display_name.clone(),
            role: tr.label("role", &u.role),
            role_code: u.role.clone(),
            office: office_name(tree, lang, &u.office),
            office_code: u.office.clone(),
            state: tr.t(if u.disabled {
                "web-admin-state-disabled"
            } else if u.must_change_password {
                "web-admin-state-one-time"
            } else {
                "web-admin-state-active"
            }),
            disabled: u.disabled,
            login: u.login,
        })
        .collect();
    // The tree depth-first from the root.
    let mut offices = Vec::new();
    let mut stack: Vec<(usize, String)> = tree
        .iter()
        .filter(|o| o.parent.is_none())
        .map(|o| (0, o.code.clone()))
        .collect();
    while let Some((depth, code)) = stack.pop() {
        let Some(o) = tree.get(&code) else { continue };
        offices.push(OfficeRow {
            depth,
            name: office_name(tree, lang, &o.code),
            code: o.code.clone(),
            kind: tr.t(kind_key(o.kind)),
            closed: o.closed_on.map(|d| {
                let successor = o
                    .successor
                    .as_deref()
                    .map(|s| office_name(tree, lang, s))
                    .unwrap_or_default();
                tr.t1("web-admin-closed", "date", &tr.date(&d)) + " → " + &successor
            }),
        });
        let mut children: Vec<_> = tree
            .iter()
            .filter(|c| c.parent.as_deref() == Some(o.code.as_str()))
            .map(|c| (depth + 1, c.code.clone()))
            .collect();
        children.reverse();
        stack.extend(children);
    }
    let office_choices = tree
        .iter()
        .filter(|o| o.closed_on.is_none())
        .map(|o| (o.code.clone(), office_name(tree, lang, &o.code)))
        .collect();
    let definitions = s
        .app
        .procedures(&user.caller)
        .into_iter()
        .map(|info| {
            let d = &info.definition;
            DefinitionRow {
                id: d.id.clone(),
                title: crate::i18n::procedure_title(lang, d),
                effective: match info.effective_to {
                    Some(to) => format!("{} – {}", tr.date(&d.effective_from), tr.date(&to)),
                    None => tr.t1("web-admin-from", "date", &tr.date(&d.effective_from)),
                },
                authority: office_name(tree, lang, &d.deciding_authority),
                sources: d.sources.clone(),
                deadlines: d
                    .deadlines
                    .iter()
                    .map(|(kind, rule)| DeadlineRow {
                        name: tr.deadline(kind.as_str()),
                        length: tr.t1(
                            &format!(
                                "web-admin-length-{}-{}",
                                rule.unit.as_str(),
                                rule.days.as_str()
                            ),
                            "n",
                            &rule.length.to_string(),
                        ),
                        starts_at: rule.starts_at.clone(),
                        mark: tr.t(&format!("web-admin-mark-{}", rule.mark.as_str())),
                        default: rule.mark.as_str() == "default",
                    })
                    .collect(),
            }
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .filter(|r| **r != Role::System)
        .map(|r| (r.as_str().to_string(), tr.label("role", r.as_str())))
        .collect();
    render(
        status,
        lang,
        &AdminPage {
            chrome: Chrome::for_user(s, user, "web-admin-title", "/admin"),
            csrf: user.csrf().to_string(),
            accounts,
            roles,
            offices,
            office_choices,
            definitions,
            notice,
            error,
            form,
        },
    )
}

async fn get_admin(State(s): State<AppState>, user: SignedIn) -> Response {
    if let Some(r) = refuse_non_admin(&s, &user) {
        return r;
    }
    page(&s, &user, StatusCode::OK, None, None, AddForm::default()).await
}

fn by(user: &SignedIn) -> ChangedBy {
    ChangedBy {
        actor: user.user.login.clone(),
        address: user.address_text(),
    }
}

fn refusal_text(tr: Tr, e: &Refused) -> (String, String) {
    match e {
        Refused::Invalid { field, message } => ((*field).to_string(), message.clone()),
        Refused::NoSuchUser(_) => ("login".into(), tr.t("web-admin-no-such-user")),
        Refused::Store(_) => (String::new(), tr.t("web-unavailable")),
    }
}

async fn add_account(
    State(s): State<AppState>,
    user: SignedIn,
    Form(form): Form<AddForm>,
) -> Response {
    if let Some(r) = refuse_non_admin(&s, &user) {
        return r;
    }
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    let tr = Tr(user.lang);
    let added = accounts::add(
        &s.app.engine,
        &s.app.offices,
        &by(&user),
        AddAccount {
            login: form.login.clone(),
            role: form.role.clone(),
            office: form.office.clone(),
            name: form.name.clone(),
            password: None,
        },
    )
    .await;
    match added {
        Ok((u, otp)) => {
            let notice = tr.t1("web-admin-added", "login", &u.login)
                + " "
                + &tr.t1("web-admin-one-time", "password", &otp.unwrap_or_default());
            page(
                &s,
                &user,
                StatusCode::OK,
                Some(notice),
                None,
                AddForm::default(),
            )
            .await
        }
        Err(e) => {
            let error = refusal_text(tr, &e);
            page(
                &s,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(error),
                form,
            )
            .await
        }
    }
}

async fn change_account(
    State(s): State<AppState>,
    user: SignedIn,
    Path((login, what)): Path<(String, String)>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Some(r) = refuse_non_admin(&s, &user) {
        return r;
    }
    if !user.csrf_ok(Some(&form.csrf_token)) {
        return super::forbidden(user.lang);
    }
    let tr = Tr(user.lang);
    let engine = &s.app.engine;
    let by = by(&user);
    let done = match what.as_str() {
        "disable" if login == user.user.login => Err(Refused::Invalid {
            field: "login",
            message: tr.t("web-admin-not-yourself"),
        }),
        "disable" => accounts::set_disabled(engine, &by, &login, true)
            .await
            .map(|u| tr.t1("web-admin-disabled", "login", &u.login)),
        "enable" => accounts::set_disabled(engine, &by, &login, false)
            .await
            .map(|u| tr.t1("web-admin-enabled", "login", &u.login)),
        "reset-password" => accounts::reset_password(engine, &by, &login)
            .await
            .map(|(u, p)| {
                tr.t1("web-admin-reset", "login", &u.login)
                    + " "
                    + &tr.t1("web-admin-one-time", "password", &p)
            }),
        "role" => accounts::set_role(
            engine,
            &s.app.offices,
            &by,
            &login,
            &form.role,
            Some(form.office.as_str()).filter(|o| !o.is_empty()),
        )
        .await
        .map(|u| tr.t1("web-admin-role-changed", "login", &u.login)),
        _ => return Redirect::to("/admin").into_response(),
    };
    match done {
        Ok(notice) => {
            page(
                &s,
                &user,
                StatusCode::OK,
                Some(notice),
                None,
                AddForm::default(),
            )
            .await
        }
        Err(e) => {
            let error = refusal_text(tr, &e);
            page(
                &s,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(error),
                AddForm::default(),
            )
            .await
        }
    }
}

/// The administration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(get_admin))
        .route("/admin/users", post(add_account))
        .route("/admin/users/{login}/{what}", post(change_account))
}
