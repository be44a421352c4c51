//! `GET /api/v1/access-log`: the access log across the cases in the caller's scope (auditors
//! and supervisors), with the body it sends. The page `/access-log` reads the same operation.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use ptl_projections::access::AccessRow;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::Params;
use super::openapi::{problems, AcceptLanguage, Page as PageParams};
use super::AppState;
use crate::app::audit::AccessLogQuery;
use crate::app::Caller;
use crate::schema::OfficeCode;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(access_log))
}

/// The query parameters of `GET /api/v1/access-log`.
pub const ACCESS_LOG_PARAMS: &[&str] = &[
    "user", "office", "case", "purpose", "from", "to", "limit", "cursor",
];

/// Why the data was read: the purpose stated on the page, a look-up in the person index, or
/// `other` (a read with a free reason only).
#[derive(Debug, Clone, Copy)]
pub struct AccessPurpose;

impl utoipa::PartialSchema for AccessPurpose {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schema::string_enum(
            ptl_projections::access::PURPOSES.iter().copied(),
            "Why the data was read: the purpose stated on the page, a look-up in the person \
             index (`person_search`, `duplicate_check`, `index_rebuild`), or `other`.",
        )
    }
}

impl ToSchema for AccessPurpose {}

/// One read of a case's personal data, or one look-up that found the case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogItem {
    /// The case.
    pub case_id: Uuid,
    /// Its register number.
    pub register_no: String,
    /// Its office now.
    pub case_office: String,
    /// Position in the case's access-log chain, from 1.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Reader's subject.
    pub sub: String,
    /// Reader's role.
    pub role: String,
    /// Reader's office.
    pub office: Option<String>,
    /// Why.
    #[schema(value_type = AccessPurpose)]
    pub purpose: String,
    /// The stated reason (without the purpose in front of it).
    pub reason: Option<String>,
    /// What was read: a JSON array of record ids as a string, or the look-up marker
    /// (`["person-search"]`, `["duplicate-check"]`, `["person-index-rebuild"]`).
    pub what: String,
    /// Chain hash of this entry.
    pub hash: String,
}

impl From<AccessRow> for AccessLogItem {
    fn from(r: AccessRow) -> Self {
        Self {
            case_id: r.case_id,
            register_no: r.register_no,
            case_office: r.case_office,
            seq: r.seq,
            at: r.at,
            sub: r.sub,
            role: r.role,
            office: r.office,
            purpose: r.purpose,
            reason: r.reason,
            what: r.what,
            hash: r.hash,
        }
    }
}

/// A page of the access log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogPage {
    /// Entries, newest first.
    pub items: Vec<AccessLogItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query as the operation takes it (the page reads its form with the same function).
///
/// # Errors
/// 400 for an unknown parameter, a malformed case id, date or limit.
pub fn access_log_query(p: &Params) -> Result<AccessLogQuery, ApiError> {
    p.only(ACCESS_LOG_PARAMS)?;
    let case_id = p
        .get("case")
        .map(|c| Uuid::parse_str(c).map_err(|_| ApiError::bad("case", "a case id (UUID)")))
        .transpose()?;
    Ok(AccessLogQuery {
        user: p.get("user").cloned(),
        office: p.get("office").cloned(),
        case_id,
        purpose: p.get("purpose").cloned(),
        from: p.date("from")?,
        to: p.date("to")?,
        limit: p.limit()?,
        cursor: p.get("cursor").cloned(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/access-log",
    operation_id = "listAccessLog",
    tag = "lists",
    summary = "Who read personal data, across cases",
    description = "Auditors and supervisors. Every read of a victim's personal data and every \
                   look-up in the person index that found a case (person search, duplicate check \
                   of a registration), for the cases in the caller's scope, newest first. Each \
                   case's entries are hash-chained (`GET /api/v1/cases/{id}/access-log` \
                   verifies them).",
    params(
        ("user" = Option<String>, Query, description = "Only reads by this user id."),
        ("office" = inline(Option<OfficeCode>), Query, description = "Only reads of cases of this office (within scope)."),
        ("case" = Option<Uuid>, Query, description = "Only this case."),
        ("purpose" = inline(Option<AccessPurpose>), Query, description = "Only this purpose."),
        ("from" = Option<chrono::NaiveDate>, Query, description = "From this day (Kyiv), inclusive."),
        ("to" = Option<chrono::NaiveDate>, Query, description = "To this day (Kyiv), inclusive."),
        PageParams,
        AcceptLanguage,
    ),
    responses(
        (status = 200, description = "A page of the access log.", body = AccessLogPage),
        (status = 400, response = problems::BadRequest),
        (status = 401, response = problems::Unauthorized),
        (status = 403, response = problems::Forbidden),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    ),
)]
async fn access_log(
    State(s): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<AccessLogPage>, ApiError> {
    let q = access_log_query(&p)?;
    let page = s.app.access_log_across(&caller, q).await?;
    Ok(Json(AccessLogPage {
        items: page.items.into_iter().map(AccessLogItem::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::openapi::params::{documented, sorted};

    #[test]
    fn the_access_log_documents_exactly_the_query_parameters_it_reads() {
        assert_eq!(documented::<__path_access_log>(), sorted(ACCESS_LOG_PARAMS));
    }
}
