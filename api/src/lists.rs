//! The list endpoints: the work queue (with person search), deadlines, and the statistics of
//! `api.md`, read from the projections' read models.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Datelike, NaiveDate};
use ptl_domain::deadlines::DeadlineState;
use ptl_domain::{Role, Stage, Status};
use ptl_projections::queries::{list_cases, list_deadlines, CaseFilter, DeadlineFilter, MAX_LIMIT};
use ptl_projections::stats::{stats, stats_csv, suppress, GroupBy, StatsQuery};
use ptl_projections::ProjectionError;

use crate::auth::Claims;
use crate::problem::{ApiError, Lang};
use crate::server::AppState;

fn bad(parameter: &str, detail: impl Into<String>) -> ApiError {
    ApiError::BadParameter {
        parameter: parameter.into(),
        detail: detail.into(),
    }
}

fn projection_error(e: ProjectionError) -> ApiError {
    match e {
        ProjectionError::InvalidCursor => bad("cursor", "not a cursor this server gave out"),
        // The engine's own classification: a store that is down, full or busy is a 503 to retry,
        // as on every other route.
        ProjectionError::Db(e) => crate::server::engine_error(e.into()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// The caller's scope: its office and the offices below it, or, for a deciding authority, the
/// cases whose file was ever submitted to it.
fn scope(s: &AppState, c: &Claims) -> (Vec<String>, Option<String>) {
    if s.offices.is_authority(&c.office) {
        (Vec::new(), Some(c.office.clone()))
    } else {
        (
            s.offices
                .descendants(&c.office)
                .into_iter()
                .map(str::to_string)
                .collect(),
            None,
        )
    }
}

fn date(params: &HashMap<String, String>, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    params
        .get(key)
        .map(|v| crate::models::parse_strict_date(v).ok_or_else(|| bad(key, "a date YYYY-MM-DD")))
        .transpose()
}

fn only(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(
            k,
            format!("unknown parameter; expected one of {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn limit(params: &HashMap<String, String>) -> Result<u32, ApiError> {
    match params.get("limit") {
        None => Ok(50),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad("limit", format!("1 to {MAX_LIMIT}"))),
    }
}

fn in_scope_office(
    s: &AppState,
    c: &Claims,
    office: Option<&String>,
) -> Result<Option<String>, ApiError> {
    match office {
        Some(o) if !s.offices.covers(&c.office, o) => {
            Err(bad("office", format!("{o} is outside your scope")))
        }
        other => Ok(other.cloned()),
    }
}

type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

/// The query parameters; a NUL character (U+0000) in any of them is a 400 (PostgreSQL cannot
/// compare or store it).
fn params(q: Params) -> Result<HashMap<String, String>, ApiError> {
    let p = q
        .map(|Query(p)| p)
        .map_err(|e| bad("query", e.body_text()))?;
    match p.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        Some((k, _)) => Err(bad(k, "must not contain the NUL character (U+0000)")),
        None => Ok(p),
    }
}

/// `GET /api/v1/cases`: the work queue, or a person search with `full_name` and `birth_date`.
pub async fn get_cases(State(s): State<AppState>, q: Params, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    cases_inner(&s, q, &headers)
        .await
        .unwrap_or_else(|e| e.to_response(lang))
}

async fn cases_inner(s: &AppState, q: Params, headers: &HeaderMap) -> Result<Response, ApiError> {
    let c = crate::server::claims(s, headers)?;
    let p = params(q)?;
    only(
        &p,
        &[
            "office",
            "stage",
            "status",
            "assignee",
            "overdue",
            "upcoming",
            "escalated",
            "due_before",
            "full_name",
            "birth_date",
            "limit",
            "cursor",
            "reason",
        ],
    )?;
    let today = crate::server::today(s);
    let (offices, submitted_to) = scope(s, &c);
    let mut case_ids = None;
    match (p.get("full_name"), date(&p, "birth_date")?) {
        (Some(name), Some(birth)) => {
            if matches!(c.role, Role::Auditor | Role::Admin) {
                return Err(ApiError::Forbidden {
                    detail: format!("the role {} does not search persons", c.role),
                });
            }
            let mut tx = s
                .engine
                .begin_write()
                .await
                .map_err(crate::server::engine_error)?;
            let found = s
                .engine
                .vault()
                .find_person(tx.conn(), name, birth)
                .await
                .map_err(|e| crate::server::engine_error(e.into()))?;
            tx.commit()
                .await
                .map_err(|e| crate::server::engine_error(e.into()))?;
            tracing::info!(target: "ptl::audit", sub = %c.sub, role = %c.role, office = %c.office, matches = found.len(), "person search");
            case_ids = Some(found);
        }
        (None, None) => {}
        _ => {
            return Err(bad(
                "full_name",
                "a person search needs both full_name and birth_date",
            ))
        }
    }
    let filter = CaseFilter {
        offices,
        submitted_to,
        office: in_scope_office(s, &c, p.get("office"))?,
        stage: p
            .get("stage")
            .map(|v| v.parse::<Stage>().map_err(|e| bad("stage", e.to_string())))
            .transpose()?,
        status: p
            .get("status")
            .map(|v| {
                v.parse::<Status>()
                    .map_err(|e| bad("status", e.to_string()))
            })
            .transpose()?,
        assignee: p.get("assignee").cloned(),
        overdue: match p.get("overdue").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(bad("overdue", "true or false")),
        },
        due_before: date(&p, "due_before")?,
        case_ids,
        // Escalation and upcoming filters: defaults until the API exposes them
        // (`?escalated=1|2`, `?upcoming=true`).
        escalation: match p.get("escalated").map(String::as_str) {
            None => None,
            Some("1") => Some(1),
            Some("2") => Some(2),
            Some(_) => return Err(bad("escalated", "1 (supervisor) or 2 (regional office)")),
        },
        escalate_after_working_days: s.escalate_after_working_days,
        upcoming: match p.get("upcoming").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(bad("upcoming", "true or false")),
        },
        upcoming_working_days: u32::try_from(s.upcoming_days).unwrap_or(3),
        rules: s.engine.rules().clone(),
        today,
        limit: limit(&p)?,
        cursor: p.get("cursor").cloned(),
    };
    let (items, next) = list_cases(s.engine.db(), &filter)
        .await
        .map_err(projection_error)?;
    Ok(Json(serde_json::json!({ "items": items, "next_cursor": next })).into_response())
}

/// `GET /api/v1/deadlines`.
pub async fn get_deadlines(State(s): State<AppState>, q: Params, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    async {
        let c = crate::server::claims(&s, &headers)?;
        let p = params(q)?;
        only(&p, &["office", "state", "due_before", "limit", "cursor"])?;
        let (offices, submitted_to) = scope(&s, &c);
        let filter = DeadlineFilter {
            offices,
            submitted_to,
            office: in_scope_office(&s, &c, p.get("office"))?,
            state: p
                .get("state")
                .map(|v| {
                    v.parse::<DeadlineState>()
                        .map_err(|e| bad("state", e.to_string()))
                })
                .transpose()?,
            due_before: date(&p, "due_before")?,
            today: crate::server::today(&s),
            limit: limit(&p)?,
            cursor: p.get("cursor").cloned(),
        };
        let (items, next) = list_deadlines(s.engine.db(), &filter)
            .await
            .map_err(projection_error)?;
        Ok::<_, ApiError>(
            Json(serde_json::json!({ "items": items, "next_cursor": next })).into_response(),
        )
    }
    .await
    .unwrap_or_else(|e| e.to_response(lang))
}

async fn stats_inner(
    s: &AppState,
    q: Params,
    headers: &HeaderMap,
) -> Result<(String, ptl_projections::stats::Stats), ApiError> {
    let c = crate::server::claims(s, headers)?;
    if c.role == Role::Admin {
        return Err(ApiError::Forbidden {
            detail: "an administrator does not read case statistics".into(),
        });
    }
    let p = params(q)?;
    only(&p, &["office", "from", "to", "group_by", "disclosure"])?;
    let today = crate::server::today(s);
    let office = in_scope_office(s, &c, p.get("office"))?.unwrap_or_else(|| c.office.clone());
    let (offices, submitted_to) = if s.offices.is_authority(&office) {
        (Vec::new(), Some(office.clone()))
    } else {
        (
            s.offices
                .descendants(&office)
                .into_iter()
                .map(str::to_string)
                .collect(),
            None,
        )
    };
    let from = date(&p, "from")?
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = date(&p, "to")?.unwrap_or(today);
    if from > to {
        return Err(bad("from", "must not be after `to`"));
    }
    let group_by = match p.get("group_by").map(String::as_str) {
        None => GroupBy::None,
        Some("office") => GroupBy::Office,
        Some("month") => GroupBy::Month,
        Some(_) => return Err(bad("group_by", "office or month")),
    };
    let mut result = stats(
        s.engine.db(),
        &StatsQuery {
            offices,
            submitted_to,
            from,
            to,
            today,
            group_by,
        },
    )
    .await
    .map_err(projection_error)?;
    match p.get("disclosure").map(String::as_str) {
        None | Some("internal") => {}
        Some("public") => result = suppress(result, s.disclosure_threshold),
        Some(_) => return Err(bad("disclosure", "public or internal")),
    }
    Ok((office, result))
}

/// `GET /api/v1/stats`.
pub async fn get_stats(State(s): State<AppState>, q: Params, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    match stats_inner(&s, q, &headers).await {
        Ok((office, st)) => {
            let mut body = serde_json::to_value(&st).unwrap_or(serde_json::Value::Null);
            if let Some(o) = body.as_object_mut() {
                o.insert("office".into(), serde_json::Value::String(office));
            }
            Json(body).into_response()
        }
        Err(e) => e.to_response(lang),
    }
}

/// `GET /api/v1/stats.csv`.
pub async fn get_stats_csv(State(s): State<AppState>, q: Params, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    match stats_inner(&s, q, &headers).await {
        Ok((_, st)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            stats_csv(&st),
        )
            .into_response(),
        Err(e) => e.to_response(lang),
    }
}
