//! The access log across cases (`GET /api/v1/access-log`): every read of a victim's personal
//! data and every look-up in the person index (a person search, the duplicate check of a
//! registration), from the engine's per-case hash-chained `access_log`, limited to the cases in
//! the caller's scope (the scope predicate of [`crate::queries`] on the case's `work_queue` row)
//! and filtered by reader, office of the case, case, purpose and dates. Newest first, with a
//! keyset cursor on `(at, case_id, seq)`.
//!
//! The purpose of an entry is derived from what it records: the look-up markers of the vault
//! (`["person-search"]`, `["duplicate-check"]`, `["person-index-rebuild"]`) or, for a read of
//! the data, the purpose the web page writes in front of the reason (`audit: ...`); a read with
//! none of those (an API read with a free reason) is `other`.

use chrono::{DateTime, Utc};
use ptl_engine::db::Db;
use ptl_engine::vault::{LOOKUP_DUPLICATE_CHECK, LOOKUP_INDEX_REBUILD, LOOKUP_PERSON_SEARCH};
use uuid::Uuid;

use crate::queries::{decode_cursor, encode_cursor, page_limit, scope};
use crate::sql::{Arg, Sql};
use crate::ProjectionError;

/// The purposes a read of personal data states on the web page (the catalogue's `purpose-*`).
pub const READ_PURPOSES: &[&str] = &[
    "case_work",
    "verification",
    "assistance",
    "documents",
    "person_request",
    "audit",
];

/// Every value of the `purpose` filter: [`READ_PURPOSES`], the look-ups, and `other`.
pub const PURPOSES: &[&str] = &[
    "case_work",
    "verification",
    "assistance",
    "documents",
    "person_request",
    "audit",
    "person_search",
    "duplicate_check",
    "index_rebuild",
    "other",
];

const LOOKUPS: &[(&str, &str)] = &[
    ("person_search", LOOKUP_PERSON_SEARCH),
    ("duplicate_check", LOOKUP_DUPLICATE_CHECK),
    ("index_rebuild", LOOKUP_INDEX_REBUILD),
];

/// The filters of the access log.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    /// Scope: offices whose cases the caller sees.
    pub offices: Vec<String>,
    /// Scope: a deciding authority sees the cases ever submitted to it.
    pub submitted_to: Option<String>,
    /// Only reads by this user (subject).
    pub user: Option<String>,
    /// Only reads of cases whose office is this one.
    pub office: Option<String>,
    /// Only this case.
    pub case_id: Option<Uuid>,
    /// Only this purpose (one of [`PURPOSES`]).
    pub purpose: Option<String>,
    /// Only reads at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only reads before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Page size, clamped to 1..=[`crate::queries::MAX_LIMIT`].
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One entry of the access log, with the case's office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    /// The case read.
    pub case_id: Uuid,
    /// Its register number.
    pub register_no: String,
    /// Its office now.
    pub case_office: String,
    /// Position in the case's chain.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Reader's subject.
    pub sub: String,
    /// Reader's role.
    pub role: String,
    /// Reader's office.
    pub office: Option<String>,
    /// The purpose (one of [`PURPOSES`]).
    pub purpose: String,
    /// The stated reason (for a read on the page, without its purpose prefix).
    pub reason: Option<String>,
    /// What was read (record ids as a JSON array, or a look-up marker), as stored.
    pub what: String,
    /// The entry's chain hash.
    pub hash: String,
}

#[derive(sqlx::FromRow)]
struct Tuple {
    case_id: String,
    register_no: String,
    case_office: String,
    seq: i64,
    at: i64,
    sub: String,
    role: String,
    office: Option<String>,
    reason: Option<String>,
    what: String,
    hash: String,
}

/// The purpose of an entry and its reason without the purpose prefix (see the module docs).
#[must_use]
pub fn purpose_of(what: &str, reason: Option<&str>) -> (String, Option<String>) {
    if let Some((p, _)) = LOOKUPS.iter().find(|(_, marker)| *marker == what) {
        return ((*p).to_string(), reason.map(str::to_string));
    }
    if let Some(r) = reason {
        for p in READ_PURPOSES {
            if let Some(rest) = r.strip_prefix(p).and_then(|t| t.strip_prefix(": ")) {
                return ((*p).to_string(), Some(rest.to_string()));
            }
        }
    }
    ("other".to_string(), reason.map(str::to_string))
}

/// The condition of the `purpose` filter on the `a` (access log) columns; a value not in
/// [`PURPOSES`] matches nothing (the API refuses it before).
fn purpose_condition(sql: &mut Sql, purpose: &str) -> String {
    if let Some((_, marker)) = LOOKUPS.iter().find(|(p, _)| *p == purpose) {
        let p = sql.text_arg(*marker);
        return format!("a.what = {p}");
    }
    let markers: Vec<String> = LOOKUPS.iter().map(|(_, m)| (*m).to_string()).collect();
    let not_lookup = format!("NOT ({})", sql.in_list("a.what", &markers));
    if READ_PURPOSES.contains(&purpose) {
        let p = sql.text_arg(format!("{purpose}: %"));
        return format!("{not_lookup} AND a.reason LIKE {p}");
    }
    if purpose == "other" {
        let mut parts = vec![not_lookup];
        for rp in READ_PURPOSES {
            let p = sql.text_arg(format!("{rp}: %"));
            parts.push(format!("(a.reason IS NULL OR a.reason NOT LIKE {p})"));
        }
        return parts.join(" AND ");
    }
    "1 = 0".to_string()
}

/// A page of the access log in the caller's scope, newest first, with the next page's cursor.
///
/// # Errors
/// [`ProjectionError::InvalidCursor`] for a cursor this function did not give out,
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn list_access(
    db: &Db,
    f: &AccessFilter,
) -> Result<(Vec<AccessRow>, Option<String>), ProjectionError> {
    let mut sql = Sql::new(
        "SELECT a.case_id AS case_id, w.register_no AS register_no, w.office AS case_office, \
         a.seq AS seq, a.at AS at, a.sub AS sub, a.role AS role, a.office AS office, \
         a.reason AS reason, a.what AS what, a.hash AS hash \
         FROM access_log a JOIN work_queue w ON w.case_id = a.case_id WHERE ",
    );
    let s = scope(
        &mut sql,
        "w.office",
        "w.ever_submitted_to",
        &f.offices,
        f.submitted_to.as_deref(),
    );
    sql.push(&s);
    if let Some(u) = &f.user {
        let p = sql.text_arg(u.clone());
        sql.push(&format!(" AND a.sub = {p}"));
    }
    if let Some(o) = &f.office {
        let p = sql.text_arg(o.clone());
        sql.push(&format!(" AND w.office = {p}"));
    }
    if let Some(c) = f.case_id {
        let p = sql.text_arg(c.to_string());
        sql.push(&format!(" AND a.case_id = {p}"));
    }
    if let Some(purpose) = &f.purpose {
        let c = purpose_condition(&mut sql, purpose);
        sql.push(&format!(" AND {c}"));
    }
    if let Some(t) = f.from {
        let p = sql.arg(Arg::Int(Some(t.timestamp_micros())));
        sql.push(&format!(" AND a.at >= {p}"));
    }
    if let Some(t) = f.to {
        let p = sql.arg(Arg::Int(Some(t.timestamp_micros())));
        sql.push(&format!(" AND a.at < {p}"));
    }
    if let Some(c) = &f.cursor {
        let parts = decode_cursor("a", c, 3)?;
        let at: i64 = parts[0]
            .parse()
            .map_err(|_| ProjectionError::InvalidCursor)?;
        let seq: i64 = parts[2]
            .parse()
            .map_err(|_| ProjectionError::InvalidCursor)?;
        let pa = sql.arg(Arg::Int(Some(at)));
        let pc = sql.text_arg(parts[1].clone());
        let ps = sql.arg(Arg::Int(Some(seq)));
        sql.push(&format!(
            " AND (a.at, a.case_id, a.seq) < ({pa}, {pc}, {ps})"
        ));
    }
    let limit = page_limit(f.limit);
    let pl = sql.arg(Arg::Int(Some(limit + 1)));
    sql.push(&format!(
        " ORDER BY a.at DESC, a.case_id DESC, a.seq DESC LIMIT {pl}"
    ));
    let mut tx = db.read().await?;
    let rows: Vec<Tuple> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    let mut out = rows
        .into_iter()
        .map(|t| {
            let (purpose, reason) = purpose_of(&t.what, t.reason.as_deref());
            Ok(AccessRow {
                case_id: Uuid::parse_str(&t.case_id)
                    .map_err(|e| sqlx::Error::Decode(format!("case_id: {e}").into()))?,
                register_no: t.register_no,
                case_office: t.case_office,
                seq: t.seq,
                at: DateTime::<Utc>::from_timestamp_micros(t.at)
                    .ok_or_else(|| sqlx::Error::Decode(format!("at: {}", t.at).into()))?,
                sub: t.sub,
                role: t.role,
                office: t.office,
                purpose,
                reason,
                what: t.what,
                hash: t.hash,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next = if out.len() as i64 > limit {
        out.truncate(usize::try_from(limit).unwrap_or(0));
        out.last().map(|r| {
            encode_cursor(&[
                "a",
                &r.at.timestamp_micros().to_string(),
                &r.case_id.to_string(),
                &r.seq.to_string(),
            ])
        })
    } else {
        None
    };
    Ok((out, next))
}
