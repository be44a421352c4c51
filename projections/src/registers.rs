//! The registers of Order 366 of the Ministry of Social Policy (`procedure.md`, steps 2 and 7):
//! the register of applications (register number, date received, office, how the application
//! was filed, outcome) and the register of issued certificates (number, date, issuing authority,
//! the case's register number, hand-over date).
//!
//! Both are read models written in the same transaction as the events (tables of migration
//! 0017) and rebuilt from the log with the others (`ptl projections rebuild`, or `--only
//! registers`). The certificate register also carries a rule: its unique index on (authority,
//! number) is what makes a certificate number unique per issuing authority. The engine looks the
//! number up before a grant (the domain refuses a number already issued); were two grants with
//! the same number to race, the second's insert fails here and its command rolls back. A rebuild
//! keeps the first row of a number and skips a later duplicate (history written before the rule).
//!
//! Lists are in scope like the work queue (the case's current office and the offices above it; a
//! deciding authority sees the certificates it issued and the applications submitted to it),
//! keyset-paginated, and exportable as CSV with spreadsheet formulas defused.

use chrono::NaiveDate;
use ptl_domain::types::RulingOutcome;
use ptl_domain::{CaseEvent, CaseState, EventBody};
use ptl_engine::db::{Batch, Db};
use serde::Serialize;
use uuid::Uuid;

use crate::project::Models;
use crate::queries::{decode_cursor, encode_cursor, page_limit};
use crate::sql::{date_text, parse_date, parse_opt_date, to_i64, Arg, Sql};
use crate::ProjectionError;

/// Adds the case's row of the register of applications (from the state after the command).
pub(crate) fn apply_application_row(
    batch: &mut Batch,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    state: &CaseState,
) {
    let (true, Some(reg)) = (models.registers, state.registration.as_ref()) else {
        return;
    };
    let ever = if state.ever_submitted_to.is_empty() {
        ",".to_string()
    } else {
        format!(",{},", state.ever_submitted_to.join(","))
    };
    batch.push(
        "INSERT INTO application_register (case_id, register_no, received_on, received_by, office, \
         ever_submitted_to, filed_by, outcome, outcome_on, last_sequence) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (case_id) DO UPDATE SET register_no = excluded.register_no, \
         received_on = excluded.received_on, received_by = excluded.received_by, \
         office = excluded.office, ever_submitted_to = excluded.ever_submitted_to, \
         filed_by = excluded.filed_by, outcome = excluded.outcome, outcome_on = excluded.outcome_on, \
         last_sequence = excluded.last_sequence \
         WHERE application_register.last_sequence < excluded.last_sequence",
        vec![
            case_id.to_string().into(),
            reg.register_no.clone().into(),
            date_text(reg.received_on).into(),
            receiving_office(&reg.register_no, state.office()).into(),
            state.office().into(),
            ever.into(),
            reg.filed_by.as_str().into(),
            state.status().as_str().into(),
            state.decision.as_ref().map(|d| date_text(d.on)).into(),
            to_i64(sequence).into(),
        ],
    );
}

/// The office that received an application: the first part of its register number
/// (`<office>-<year>-<sequence>`, drawn by the engine at registration), which a transfer does
/// not change; `current` if the number is not of that shape.
fn receiving_office(register_no: &str, current: &str) -> String {
    let mut parts = register_no.rsplitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(office)) if !office.is_empty() => office.to_string(),
        _ => current.to_string(),
    }
}

/// Adds what one event writes to the register of certificates: a row for a certificate issued
/// (a grant, or a court establishing the status with a number), the hand-over date on a
/// hand-over. `live` is the engine's write, where a number already issued by the authority
/// fails the command; a rebuild (`live = false`) keeps the first and skips the duplicate.
pub(crate) fn apply_certificate_event(
    batch: &mut Batch,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    event: &CaseEvent,
    state: &CaseState,
    live: bool,
) {
    let (true, Some(reg), Some(decision)) = (
        models.registers,
        state.registration.as_ref(),
        state.decision.as_ref(),
    ) else {
        return;
    };
    let Some(number) = decision
        .certificate_no
        .as_ref()
        .filter(|_| decision.granted)
    else {
        return;
    };
    match &event.body {
        EventBody::StatusGranted { .. }
        | EventBody::CourtRulingRecorded {
            outcome: RulingOutcome::AnnulledStatusEstablished,
            ..
        } => {
            let conflict = if live {
                "ON CONFLICT (case_id, sequence) DO NOTHING"
            } else {
                "ON CONFLICT DO NOTHING"
            };
            batch.push(
                format!(
                    "INSERT INTO certificate_register (case_id, sequence, authority, certificate_no, \
                     issued_on, register_no, handed_over_on) VALUES ($1, $2, $3, $4, $5, $6, NULL) \
                     {conflict}"
                ),
                vec![
                    case_id.to_string().into(),
                    to_i64(sequence).into(),
                    decision.authority.clone().into(),
                    number.clone().into(),
                    date_text(decision.on).into(),
                    reg.register_no.clone().into(),
                ],
            );
        }
        EventBody::DecisionHandedOver {} => {
            batch.push(
                "UPDATE certificate_register SET handed_over_on = $1 \
                 WHERE case_id = $2 AND authority = $3 AND certificate_no = $4",
                vec![
                    date_text(event.occurred_on).into(),
                    case_id.to_string().into(),
                    decision.authority.clone().into(),
                    number.clone().into(),
                ],
            );
        }
        _ => {}
    }
}

/// Who sees which rows: the offices of the caller's scope, or the deciding authority.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    /// Scope: the caller's office and its descendants (by the case's current office).
    pub offices: Vec<String>,
    /// Scope: a deciding authority (its certificates; the applications submitted to it).
    pub authority: Option<String>,
    /// Only rows dated on or after this day (receipt / issue date).
    pub from: Option<NaiveDate>,
    /// Only rows dated on or before this day.
    pub to: Option<NaiveDate>,
    /// Page size, clamped to 1..=[`crate::MAX_LIMIT`].
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One entry of the register of issued certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRow {
    /// Certificate number.
    pub certificate_no: String,
    /// Date of issue (the decision's date).
    pub issued_on: NaiveDate,
    /// The issuing authority (office code; `court` for a status a court established).
    pub authority: String,
    /// The case's register number.
    pub register_no: String,
    /// The case.
    pub case_id: Uuid,
    /// Date the decision was handed to the person.
    pub handed_over_on: Option<NaiveDate>,
}

/// One entry of the register of applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationRow {
    /// Register number.
    pub register_no: String,
    /// The case.
    pub case_id: Uuid,
    /// Date received.
    pub received_on: NaiveDate,
    /// The office that received it.
    pub office: String,
    /// How it was filed: `self`, `legal_representative`, `person_aware_of_child`.
    pub filed_by: String,
    /// Outcome so far: the case's status (`pending`, `granted`, `refused`, `withdrawn`,
    /// `expired`).
    pub outcome: String,
    /// Date of the decision, if any.
    pub outcome_on: Option<NaiveDate>,
}

fn scope(sql: &mut Sql, f: &RegisterFilter, authority_col: Option<&str>) -> String {
    let by_office = sql.in_list("a.office", &f.offices);
    match &f.authority {
        Some(auth) => {
            let like = sql.text_arg(format!("%,{auth},%"));
            match authority_col {
                Some(col) => {
                    let p = sql.text_arg(auth.clone());
                    format!("({by_office} OR {col} = {p} OR a.ever_submitted_to LIKE {like})")
                }
                None => format!("({by_office} OR a.ever_submitted_to LIKE {like})"),
            }
        }
        None => format!("({by_office})"),
    }
}

fn dated(sql: &mut Sql, f: &RegisterFilter, col: &str) {
    if let Some(from) = f.from {
        let p = sql.text_arg(date_text(from));
        sql.push(&format!(" AND {col} >= {p}"));
    }
    if let Some(to) = f.to {
        let p = sql.text_arg(date_text(to));
        sql.push(&format!(" AND {col} <= {p}"));
    }
}

fn uuid(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|e| sqlx::Error::Decode(format!("bad stored case id: {e}").into()))
}

/// The register of issued certificates in scope, by date of issue, authority and number; with
/// the cursor of the next page.
///
/// # Errors
/// [`ProjectionError::InvalidCursor`] for a cursor this function did not produce;
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn list_certificates(
    db: &Db,
    f: &RegisterFilter,
) -> Result<(Vec<CertificateRow>, Option<String>), ProjectionError> {
    let mut sql = Sql::new(
        "SELECT c.certificate_no, c.issued_on, c.authority, c.register_no, c.case_id, \
         c.handed_over_on FROM certificate_register c \
         JOIN application_register a ON a.case_id = c.case_id WHERE ",
    );
    let s = scope(&mut sql, f, Some("c.authority"));
    sql.push(&s);
    dated(&mut sql, f, "c.issued_on");
    if let Some(cur) = &f.cursor {
        let parts = decode_cursor("rc", cur, 3)?;
        let pa = sql.text_arg(parts[0].clone());
        let pb = sql.text_arg(parts[1].clone());
        let pc = sql.text_arg(parts[2].clone());
        sql.push(&format!(
            " AND (c.issued_on, c.authority, c.certificate_no) > ({pa}, {pb}, {pc})"
        ));
    }
    let limit = page_limit(f.limit);
    let pl = sql.arg(Arg::Int(Some(limit + 1)));
    sql.push(&format!(
        " ORDER BY c.issued_on, c.authority, c.certificate_no LIMIT {pl}"
    ));
    type Tuple = (String, String, String, String, String, Option<String>);
    let mut tx = db.read().await?;
    let rows: Vec<Tuple> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    let mut out = rows
        .into_iter()
        .map(|(no, issued, authority, register_no, case_id, handed)| {
            Ok(CertificateRow {
                certificate_no: no,
                issued_on: parse_date(&issued)?,
                authority,
                register_no,
                case_id: uuid(&case_id)?,
                handed_over_on: parse_opt_date(handed.as_deref())?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next = if out.len() as i64 > limit {
        out.truncate(usize::try_from(limit).unwrap_or(0));
        out.last().map(|r| {
            encode_cursor(&[
                "rc",
                &date_text(r.issued_on),
                &r.authority,
                &r.certificate_no,
            ])
        })
    } else {
        None
    };
    Ok((out, next))
}

/// The register of applications in scope, by date received and register number; with the
/// cursor of the next page.
///
/// # Errors
/// [`ProjectionError::InvalidCursor`] for a cursor this function did not produce;
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn list_applications(
    db: &Db,
    f: &RegisterFilter,
) -> Result<(Vec<ApplicationRow>, Option<String>), ProjectionError> {
    let mut sql = Sql::new(
        "SELECT a.register_no, a.case_id, a.received_on, a.received_by, a.filed_by, a.outcome, \
         a.outcome_on FROM application_register a WHERE ",
    );
    let s = scope(&mut sql, f, None);
    sql.push(&s);
    dated(&mut sql, f, "a.received_on");
    if let Some(cur) = &f.cursor {
        let parts = decode_cursor("ra", cur, 2)?;
        let pa = sql.text_arg(parts[0].clone());
        let pb = sql.text_arg(parts[1].clone());
        sql.push(&format!(
            " AND (a.received_on, a.register_no) > ({pa}, {pb})"
        ));
    }
    let limit = page_limit(f.limit);
    let pl = sql.arg(Arg::Int(Some(limit + 1)));
    sql.push(&format!(
        " ORDER BY a.received_on, a.register_no LIMIT {pl}"
    ));
    type Tuple = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
    );
    let mut tx = db.read().await?;
    let rows: Vec<Tuple> = sql.fetch_all(tx.conn()).await?;
    drop(tx);
    let mut out = rows
        .into_iter()
        .map(
            |(register_no, case_id, received, office, filed_by, outcome, outcome_on)| {
                Ok(ApplicationRow {
                    register_no,
                    case_id: uuid(&case_id)?,
                    received_on: parse_date(&received)?,
                    office,
                    filed_by,
                    outcome,
                    outcome_on: parse_opt_date(outcome_on.as_deref())?,
                })
            },
        )
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next = if out.len() as i64 > limit {
        out.truncate(usize::try_from(limit).unwrap_or(0));
        out.last()
            .map(|r| encode_cursor(&["ra", &date_text(r.received_on), &r.register_no]))
    } else {
        None
    };
    Ok((out, next))
}

/// One CSV cell: a value a spreadsheet would read as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading apostrophe, then RFC 4180 quoting.
#[must_use]
pub fn csv_cell(s: &str) -> String {
    let defused = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The register of certificates as CSV (UTF-8, CRLF, a header row).
#[must_use]
pub fn certificates_csv(rows: &[CertificateRow]) -> String {
    csv(
        &[
            "certificate_no",
            "issued_on",
            "authority",
            "register_no",
            "case_id",
            "handed_over_on",
        ],
        rows.iter().map(|r| {
            vec![
                r.certificate_no.clone(),
                date_text(r.issued_on),
                r.authority.clone(),
                r.register_no.clone(),
                r.case_id.to_string(),
                r.handed_over_on.map(date_text).unwrap_or_default(),
            ]
        }),
    )
}

/// The register of applications as CSV (UTF-8, CRLF, a header row).
#[must_use]
pub fn applications_csv(rows: &[ApplicationRow]) -> String {
    csv(
        &[
            "register_no",
            "case_id",
            "received_on",
            "office",
            "filed_by",
            "outcome",
            "outcome_on",
        ],
        rows.iter().map(|r| {
            vec![
                r.register_no.clone(),
                r.case_id.to_string(),
                date_text(r.received_on),
                r.office.clone(),
                r.filed_by.clone(),
                r.outcome.clone(),
                r.outcome_on.map(date_text).unwrap_or_default(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiving_office_is_the_first_part_of_the_register_number() {
        assert_eq!(receiving_office("UA7102-2026-000001", "UA7104"), "UA7102");
        assert_eq!(receiving_office("UA-X-2026-000001", "UA7104"), "UA-X");
        assert_eq!(receiving_office("odd", "UA7104"), "UA7104");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+380"), "'+380");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("17/2026"), "17/2026");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
    }
}
