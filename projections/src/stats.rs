//! The report figures of `api.md` ("Statistics"), aggregated at query time from `case_facts`,
//! `case_milestones` and `deadlines` (no counters to drift), with statistical disclosure control
//! for public reports and a CSV rendering.
//!
//! Definitions (the choices the text leaves open):
//! - Flow figures count milestones whose business date is in `[from, to]`, attributed to the
//!   office the case had when the milestone happened (an application stays with the office that
//!   received it after a transfer). `children` and `foreigners` are applications with the child
//!   flag / a foreign or stateless applicant. `by_referral_source` counts applications by source;
//!   applications without a referral are in no cell. `granted` includes a court establishing the
//!   status; `certificates_handed_over` counts hand-overs of a granted decision.
//! - `median_days_to_decision`: over cases whose FIRST decision falls in the period, first
//!   decision date - receipt date (mean of the two middle values for an even count); attributed
//!   to the case's current office.
//! - Stock figures are as of `min(to, today)` (per month: the month's last day, capped the same
//!   way), over cases received by then, attributed to the current office: `open_cases` = not yet
//!   decided and not closed; `pending_decision` = the latest of submitted / returned / decided /
//!   closed is "submitted"; `overdue` = a deadline started by then, due before then and neither
//!   fulfilled nor cancelled by then. Past stocks are reconstructed from dated rows; because the
//!   deadlines table keeps only the current instance of each deadline (a returned file restarts
//!   `file_submission`), a past `overdue` can miss an earlier instance, and a court ruling that
//!   orders a new decision is not seen by past `pending_decision`.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use ptl_domain::types::ReferralSource;
use ptl_engine::db::{Conn, Db};
use serde::Serialize;

use crate::project::milestone as ms;
use crate::sql::{date_text, to_u64, Sql};
use crate::ProjectionError;

/// How the figures are broken down besides the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// Totals only.
    #[default]
    None,
    /// One group per office of the period (the office a milestone was recorded at).
    Office,
    /// One group per office of today: closed offices counted with their successor
    /// ([`StatsQuery::successors`]).
    Successor,
    /// One group per calendar month (`YYYY-MM`).
    Month,
}

/// A statistics request.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Scope: the offices counted (the caller's office and its descendants).
    pub offices: Vec<String>,
    /// Scope: a deciding authority counts the cases ever submitted to it.
    pub submitted_to: Option<String>,
    /// First business date of the period.
    pub from: NaiveDate,
    /// Last business date of the period (inclusive).
    pub to: NaiveDate,
    /// Today in Kyiv (stock figures are as of `min(to, today)`).
    pub today: NaiveDate,
    /// Breakdown.
    pub group_by: GroupBy,
    /// For [`GroupBy::Successor`]: each closed office and the office that holds its cases today
    /// (office codes, which are capital letters, digits and `-`).
    pub successors: BTreeMap<String, String>,
}

/// The figures of one cell set (totals or one group). `None` is a suppressed figure (or, for the
/// median, no decision in the period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Applications registered.
    pub applications: Option<u64>,
    /// Of them, children.
    pub children: Option<u64>,
    /// Of them, foreign or stateless applicants.
    pub foreigners: Option<u64>,
    /// Applications by referral source (sources with none are absent).
    pub by_referral_source: BTreeMap<String, Option<u64>>,
    /// Interviews held.
    pub interviews: Option<u64>,
    /// Files submitted.
    pub files_submitted: Option<u64>,
    /// Files returned as incomplete.
    pub files_returned: Option<u64>,
    /// Statuses granted.
    pub granted: Option<u64>,
    /// Statuses refused.
    pub refused: Option<u64>,
    /// Certificates handed over.
    pub certificates_handed_over: Option<u64>,
    /// Needs assessments.
    pub needs_assessments: Option<u64>,
    /// Rehabilitation plans approved.
    pub rehabilitation_plans: Option<u64>,
    /// Shelter placements.
    pub shelter_placements: Option<u64>,
    /// Payments recorded.
    pub payments: Option<u64>,
    /// Missed deadlines recorded.
    pub deadlines_missed: Option<u64>,
    /// Median days from receipt to first decision.
    pub median_days_to_decision: Option<f64>,
    /// Stock: files at a deciding authority.
    pub pending_decision: Option<u64>,
    /// Stock: cases neither decided nor closed.
    pub open_cases: Option<u64>,
    /// Stock: cases with a running deadline past due.
    pub overdue: Option<u64>,
    /// Names of the figures suppressed for disclosure (`by_referral_source.<source>` for a cell).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<String>,
    /// Number of decisions the median is computed from (suppression uses it; not shown).
    #[serde(skip)]
    pub median_basis: u64,
}

/// The plain count figures, in report order (the CSV column order too).
const COUNT_FIELDS: [&str; 17] = [
    "applications",
    "children",
    "foreigners",
    "interviews",
    "files_submitted",
    "files_returned",
    "granted",
    "refused",
    "certificates_handed_over",
    "needs_assessments",
    "rehabilitation_plans",
    "shelter_placements",
    "payments",
    "deadlines_missed",
    "pending_decision",
    "open_cases",
    "overdue",
];

const REFERRAL_PREFIX: &str = "by_referral_source.";

impl Figures {
    /// Every figure at zero.
    #[must_use]
    pub fn zero() -> Self {
        Self {
            applications: Some(0),
            children: Some(0),
            foreigners: Some(0),
            by_referral_source: BTreeMap::new(),
            interviews: Some(0),
            files_submitted: Some(0),
            files_returned: Some(0),
            granted: Some(0),
            refused: Some(0),
            certificates_handed_over: Some(0),
            needs_assessments: Some(0),
            rehabilitation_plans: Some(0),
            shelter_placements: Some(0),
            payments: Some(0),
            deadlines_missed: Some(0),
            median_days_to_decision: None,
            pending_decision: Some(0),
            open_cases: Some(0),
            overdue: Some(0),
            suppressed: Vec::new(),
            median_basis: 0,
        }
    }

    /// A count cell by name (a field of [`COUNT_FIELDS`] or `by_referral_source.<source>`).
    fn cell_mut(&mut self, name: &str) -> Option<&mut Option<u64>> {
        if let Some(src) = name.strip_prefix(REFERRAL_PREFIX) {
            return self.by_referral_source.get_mut(src);
        }
        Some(match name {
            "applications" => &mut self.applications,
            "children" => &mut self.children,
            "foreigners" => &mut self.foreigners,
            "interviews" => &mut self.interviews,
            "files_submitted" => &mut self.files_submitted,
            "files_returned" => &mut self.files_returned,
            "granted" => &mut self.granted,
            "refused" => &mut self.refused,
            "certificates_handed_over" => &mut self.certificates_handed_over,
            "needs_assessments" => &mut self.needs_assessments,
            "rehabilitation_plans" => &mut self.rehabilitation_plans,
            "shelter_placements" => &mut self.shelter_placements,
            "payments" => &mut self.payments,
            "deadlines_missed" => &mut self.deadlines_missed,
            "pending_decision" => &mut self.pending_decision,
            "open_cases" => &mut self.open_cases,
            "overdue" => &mut self.overdue,
            _ => return None,
        })
    }

    fn cell(&self, name: &str) -> Option<Option<u64>> {
        self.clone().cell_mut(name).map(|c| *c)
    }

    fn cell_names(&self) -> Vec<String> {
        COUNT_FIELDS
            .iter()
            .map(|s| (*s).to_string())
            .chain(
                self.by_referral_source
                    .keys()
                    .map(|k| format!("{REFERRAL_PREFIX}{k}")),
            )
            .collect()
    }

    fn hide(&mut self, name: &str) {
        if let Some(c) = self.cell_mut(name) {
            *c = None;
        } else if name == "median_days_to_decision" {
            self.median_days_to_decision = None;
        }
        if !self.suppressed.iter().any(|s| s == name) {
            self.suppressed.push(name.to_string());
        }
    }

    fn add_flow(&mut self, kind: &str, n: u64) {
        let cell = match kind {
            ms::APPLICATION => &mut self.applications,
            ms::INTERVIEW => &mut self.interviews,
            ms::FILE_SUBMITTED => &mut self.files_submitted,
            ms::FILE_RETURNED => &mut self.files_returned,
            ms::GRANTED => &mut self.granted,
            ms::REFUSED => &mut self.refused,
            ms::CERTIFICATE_HANDED_OVER => &mut self.certificates_handed_over,
            ms::NEEDS_ASSESSMENT => &mut self.needs_assessments,
            ms::REHABILITATION_PLAN => &mut self.rehabilitation_plans,
            ms::SHELTER_PLACEMENT => &mut self.shelter_placements,
            ms::PAYMENT => &mut self.payments,
            ms::DEADLINE_MISSED => &mut self.deadlines_missed,
            _ => return,
        };
        *cell = Some(cell.unwrap_or(0) + n);
    }
}

/// One group of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsGroup {
    /// Office code or `YYYY-MM`.
    pub key: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// A report (the API adds the `office` it was asked for).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// The date the stock figures of the totals are as of.
    pub stock_as_of: NaiveDate,
    /// Totals over the scope.
    pub totals: Figures,
    /// The breakdown (empty without grouping).
    pub groups: Vec<StatsGroup>,
}

/// Longest period a monthly breakdown covers (one stock query per month).
const MAX_MONTHS: usize = 240;

#[derive(Clone, Copy)]
enum Key<'a> {
    Total,
    /// By office, with closed offices mapped to their successors when the map is not empty.
    Office(&'a BTreeMap<String, String>),
    Month,
}

/// A SQL string literal for an office code (codes are checked to be capital letters, digits and
/// `-`; quotes are doubled all the same).
fn literal(code: &str) -> String {
    format!("'{}'", code.replace('\'', "''"))
}

/// `col`, or `col` with the closed offices replaced by their successors.
fn office_expr(col: &str, successors: &BTreeMap<String, String>) -> String {
    if successors.is_empty() {
        return col.to_string();
    }
    let mut e = format!("CASE {col}");
    for (from, to) in successors {
        e.push_str(&format!(" WHEN {} THEN {}", literal(from), literal(to)));
    }
    e.push_str(&format!(" ELSE {col} END"));
    e
}

impl Key<'_> {
    /// (select expression, group-by prefix) over milestones `m`.
    fn milestone(self) -> (String, String) {
        match self {
            Key::Total => ("'total'".into(), String::new()),
            Key::Office(map) => {
                let e = office_expr("m.office", map);
                (e.clone(), format!("{e}, "))
            }
            Key::Month => (
                "substr(m.on_date, 1, 7)".into(),
                "substr(m.on_date, 1, 7), ".into(),
            ),
        }
    }
}

fn month_key(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

fn scope(sql: &mut Sql, office_col: &str, q: &StatsQuery) -> String {
    let by_office = sql.in_list(office_col, &q.offices);
    match &q.submitted_to {
        Some(a) => {
            let p = sql.text_arg(format!("%,{a},%"));
            format!("({by_office} OR f.ever_submitted_to LIKE {p})")
        }
        None => format!("({by_office})"),
    }
}

fn median(v: &mut [i64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    #[allow(clippy::cast_precision_loss)]
    let m = if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    };
    Some(m)
}

/// Flow figures (and the median) by key into `out`.
async fn flows(
    mut conn: Conn<'_>,
    q: &StatsQuery,
    key: Key<'_>,
    out: &mut BTreeMap<String, Figures>,
) -> Result<(), sqlx::Error> {
    let (kexpr, kgroup) = key.milestone();
    let from = date_text(q.from);
    let to = date_text(q.to);

    let mut sql = Sql::new("");
    let s = scope(&mut sql, "m.office", q);
    let (pf, pt) = (sql.text_arg(from.clone()), sql.text_arg(to.clone()));
    let base = format!(
        "FROM case_milestones m JOIN case_facts f ON f.case_id = m.case_id \
         WHERE {s} AND m.on_date >= {pf} AND m.on_date <= {pt}"
    );
    sql.push(&format!(
        "SELECT {kexpr}, m.kind, COUNT(*) {base} GROUP BY {kgroup}m.kind"
    ));
    let rows: Vec<(String, String, i64)> = sql.fetch_all(conn.reborrow()).await?;
    for (k, kind, n) in rows {
        out.entry(k)
            .or_insert_with(Figures::zero)
            .add_flow(&kind, to_u64(n));
    }

    let app = format!("{base} AND m.kind = '{}'", ms::APPLICATION);
    let mut sql2 = sql.clone();
    sql2.text = format!(
        "SELECT {kexpr}, COUNT(CASE WHEN f.child THEN 1 END), COUNT(CASE WHEN f.foreigner THEN 1 END) \
         {app}{}",
        if kgroup.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", kgroup.trim_end_matches(", "))
        }
    );
    let rows: Vec<(String, i64, i64)> = sql2.fetch_all(conn.reborrow()).await?;
    for (k, children, foreigners) in rows {
        let f = out.entry(k).or_insert_with(Figures::zero);
        f.children = Some(to_u64(children));
        f.foreigners = Some(to_u64(foreigners));
    }

    let mut sql3 = sql.clone();
    sql3.text = format!(
        "SELECT {kexpr}, f.referral_source, COUNT(*) {app} AND f.referral_source IS NOT NULL \
         GROUP BY {kgroup}f.referral_source"
    );
    let rows: Vec<(String, String, i64)> = sql3.fetch_all(conn.reborrow()).await?;
    for (k, src, n) in rows {
        out.entry(k)
            .or_insert_with(Figures::zero)
            .by_referral_source
            .insert(src, Some(to_u64(n)));
    }

    // Median time to the first decision, by the case's current office / the decision's month.
    let fkey = match key {
        Key::Total => "'total'".to_string(),
        Key::Office(map) => office_expr("f.office", map),
        Key::Month => "substr(f.first_decided_on, 1, 7)".to_string(),
    };
    let mut sql4 = Sql::new("");
    let s = scope(&mut sql4, "f.office", q);
    let (pf, pt) = (sql4.text_arg(from), sql4.text_arg(to));
    sql4.push(&format!(
        "SELECT {fkey}, f.decided_days FROM case_facts f WHERE {s} AND f.decided_days IS NOT NULL \
         AND f.first_decided_on >= {pf} AND f.first_decided_on <= {pt}"
    ));
    let rows: Vec<(String, i64)> = sql4.fetch_all(conn.reborrow()).await?;
    let mut days: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, d) in rows {
        days.entry(k).or_default().push(d);
    }
    for (k, mut v) in days {
        let f = out.entry(k).or_insert_with(Figures::zero);
        f.median_basis = v.len() as u64;
        f.median_days_to_decision = median(&mut v);
    }
    Ok(())
}

/// Stock figures as of `at`, by current office (`by_office`, mapped to successors when the map is
/// not empty) or in total, into `out`.
async fn stocks(
    conn: Conn<'_>,
    q: &StatsQuery,
    at: NaiveDate,
    by_office: Option<&BTreeMap<String, String>>,
    fixed_key: &str,
    out: &mut BTreeMap<String, Figures>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("");
    let s = scope(&mut sql, "f.office", q);
    let t = sql.text_arg(date_text(at));
    let key = match by_office {
        Some(map) => office_expr("f.office", map),
        None => sql.text_arg(fixed_key),
    };
    let closed = format!(
        "EXISTS (SELECT 1 FROM case_milestones c WHERE c.case_id = f.case_id AND c.kind = '{}' \
         AND c.on_date <= {t})",
        ms::CLOSED
    );
    let open = format!("(f.first_decided_on IS NULL OR f.first_decided_on > {t}) AND NOT {closed}");
    let pending = format!(
        "(SELECT m.kind FROM case_milestones m WHERE m.case_id = f.case_id \
         AND m.kind IN ('{}', '{}', '{}', '{}', '{}') AND m.on_date <= {t} \
         ORDER BY m.on_date DESC, m.sequence DESC LIMIT 1) = '{}'",
        ms::FILE_SUBMITTED,
        ms::FILE_RETURNED,
        ms::GRANTED,
        ms::REFUSED,
        ms::CLOSED,
        ms::FILE_SUBMITTED
    );
    let overdue = format!(
        "EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = f.case_id AND d.start_on <= {t} \
         AND d.due_on < {t} AND (d.fulfilled_on IS NULL OR d.fulfilled_on > {t}) \
         AND (d.cancelled_on IS NULL OR d.cancelled_on > {t}))"
    );
    sql.push(&format!(
        "SELECT {key}, COUNT(CASE WHEN {pending} THEN 1 END), COUNT(CASE WHEN {open} THEN 1 END), \
         COUNT(CASE WHEN {overdue} THEN 1 END) FROM case_facts f \
         WHERE {s} AND f.received_on <= {t}{}",
        if by_office.is_some() {
            format!(" GROUP BY {key}")
        } else {
            String::new()
        }
    ));
    let rows: Vec<(String, i64, i64, i64)> = sql.fetch_all(conn).await?;
    for (k, pending, open, overdue) in rows {
        let f = out.entry(k).or_insert_with(Figures::zero);
        f.pending_decision = Some(to_u64(pending));
        f.open_cases = Some(to_u64(open));
        f.overdue = Some(to_u64(overdue));
    }
    Ok(())
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first)
}

/// The report for a scope and period.
///
/// # Errors
/// [`ProjectionError::Db`] when the store cannot be read.
pub async fn stats(db: &Db, q: &StatsQuery) -> Result<Stats, ProjectionError> {
    let as_of = q.to.min(q.today);
    let mut tx = db.read().await?;
    let mut totals = BTreeMap::new();
    totals.insert("total".to_string(), Figures::zero());
    flows(tx.conn(), q, Key::Total, &mut totals).await?;
    stocks(tx.conn(), q, as_of, None, "total", &mut totals).await?;
    let totals = totals.remove("total").unwrap_or_else(Figures::zero);

    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    match q.group_by {
        GroupBy::None => {}
        GroupBy::Office | GroupBy::Successor => {
            let none = BTreeMap::new();
            let map = if q.group_by == GroupBy::Successor {
                &q.successors
            } else {
                &none
            };
            flows(tx.conn(), q, Key::Office(map), &mut groups).await?;
            stocks(tx.conn(), q, as_of, Some(map), "", &mut groups).await?;
        }
        GroupBy::Month => {
            let mut month = q.from.with_day(1).unwrap_or(q.from);
            let mut n = 0;
            while month <= q.to && n < MAX_MONTHS {
                groups.insert(month_key(month), Figures::zero());
                let at = last_of_month(month).min(as_of);
                if at >= month {
                    stocks(tx.conn(), q, at, None, &month_key(month), &mut groups).await?;
                }
                month = match month.checked_add_months(Months::new(1)) {
                    Some(m) => m,
                    None => break,
                };
                n += 1;
            }
            flows(tx.conn(), q, Key::Month, &mut groups).await?;
        }
    }
    drop(tx);
    Ok(Stats {
        from: q.from,
        to: q.to,
        stock_as_of: as_of,
        totals,
        groups: groups
            .into_iter()
            .map(|(key, figures)| StatsGroup { key, figures })
            .collect(),
    })
}

/// Statistical disclosure control for `disclosure=public`.
///
/// Rules, applied until nothing changes:
/// 1. Primary: a count `n` with `0 < n < threshold` becomes `null` and its name goes to
///    `suppressed`. Zeros are published (a zero describes no person). The median becomes `null`
///    when fewer than `threshold` decisions make it.
/// 2. Complementary, within a cell set: if exactly one `by_referral_source` cell is suppressed,
///    the smallest remaining non-zero cell is suppressed too, so the sources cannot be
///    subtracted from one another to find it.
/// 3. Complementary, across groups: for every count figure (and every referral cell), if exactly
///    one group's cell is suppressed while the total is published, the smallest remaining
///    non-zero group cell is suppressed too, so `total - sum(other groups)` cannot reveal it.
///    (Monthly stock figures are not additive; they are treated the same way, conservatively.)
///
/// Children and foreigners are subsets of applications whose complements are not published, so
/// they need no complementary cell.
#[must_use]
pub fn suppress(mut stats: Stats, threshold: u64) -> Stats {
    let primary = |f: &mut Figures| {
        for name in f.cell_names() {
            if let Some(Some(n)) = f.cell(&name) {
                if n > 0 && n < threshold {
                    f.hide(&name);
                }
            }
        }
        if f.median_days_to_decision.is_some() && f.median_basis < threshold {
            f.hide("median_days_to_decision");
        }
    };
    primary(&mut stats.totals);
    for g in &mut stats.groups {
        primary(&mut g.figures);
    }
    loop {
        let mut changed = within_referrals(&mut stats.totals);
        for g in &mut stats.groups {
            changed |= within_referrals(&mut g.figures);
        }
        changed |= across_groups(&mut stats);
        if !changed {
            break;
        }
    }
    stats
}

/// Rule 2 on one cell set; whether it suppressed anything.
fn within_referrals(f: &mut Figures) -> bool {
    let hidden = f
        .by_referral_source
        .values()
        .filter(|v| v.is_none())
        .count();
    if hidden != 1 {
        return false;
    }
    let smallest = f
        .by_referral_source
        .iter()
        .filter_map(|(k, v)| v.filter(|n| *n > 0).map(|n| (n, k.clone())))
        .min();
    match smallest {
        Some((_, k)) => {
            f.hide(&format!("{REFERRAL_PREFIX}{k}"));
            true
        }
        None => false,
    }
}

/// Rule 3 over the groups; whether it suppressed anything.
fn across_groups(stats: &mut Stats) -> bool {
    if stats.groups.len() < 2 {
        return false;
    }
    let mut names: Vec<String> = stats.totals.cell_names();
    for g in &stats.groups {
        for n in g.figures.cell_names() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let mut changed = false;
    for name in names {
        if matches!(stats.totals.cell(&name), Some(None)) {
            continue;
        }
        let hidden = stats
            .groups
            .iter()
            .filter(|g| matches!(g.figures.cell(&name), Some(None)))
            .count();
        if hidden != 1 {
            continue;
        }
        let smallest = stats
            .groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| match g.figures.cell(&name) {
                Some(Some(n)) if n > 0 => Some((n, i)),
                _ => None,
            })
            .min();
        if let Some((_, i)) = smallest {
            if let Some(g) = stats.groups.get_mut(i) {
                g.figures.hide(&name);
                changed = true;
            }
        }
    }
    changed
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(key: &str, from: NaiveDate, to: NaiveDate, f: &Figures) -> String {
    let mut cells = vec![csv_field(key), date_text(from), date_text(to)];
    let n = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
    for name in &COUNT_FIELDS[..14] {
        cells.push(n(f.cell(name).flatten()));
    }
    for src in ReferralSource::ALL {
        cells.push(n(f
            .by_referral_source
            .get(src.as_str())
            .copied()
            .flatten()
            .or(
                // A source with no application is a published zero unless suppressed.
                if f.by_referral_source.contains_key(src.as_str()) {
                    None
                } else {
                    Some(0)
                },
            )));
    }
    cells.push(
        f.median_days_to_decision
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    for name in &COUNT_FIELDS[14..] {
        cells.push(n(f.cell(name).flatten()));
    }
    cells.push(csv_field(&f.suppressed.join(";")));
    cells.join(",")
}

/// The report as CSV (UTF-8, comma-separated, CRLF line ends as RFC 4180): a header row, the
/// totals (`key` = `total`), then one row per group. Suppressed figures are empty cells and
/// their names are listed in the last column.
#[must_use]
pub fn stats_csv(stats: &Stats) -> String {
    let mut header: Vec<String> = vec!["key".into(), "from".into(), "to".into()];
    header.extend(COUNT_FIELDS[..14].iter().map(|s| (*s).to_string()));
    header.extend(
        ReferralSource::ALL
            .iter()
            .map(|s| format!("{REFERRAL_PREFIX}{}", s.as_str())),
    );
    header.push("median_days_to_decision".into());
    header.extend(COUNT_FIELDS[14..].iter().map(|s| (*s).to_string()));
    header.push("suppressed".into());
    let mut out = header.join(",");
    out.push_str("\r\n");
    out.push_str(&csv_row("total", stats.from, stats.to, &stats.totals));
    out.push_str("\r\n");
    for g in &stats.groups {
        out.push_str(&csv_row(&g.key, stats.from, stats.to, &g.figures));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn figures(applications: u64, sources: &[(&str, u64)]) -> Figures {
        let mut f = Figures::zero();
        f.applications = Some(applications);
        f.by_referral_source = sources
            .iter()
            .map(|(k, n)| ((*k).to_string(), Some(*n)))
            .collect();
        f
    }

    fn report() -> Stats {
        Stats {
            from: d("2026-01-01"),
            to: d("2026-03-31"),
            stock_as_of: d("2026-03-31"),
            totals: figures(13, &[("hotline", 2), ("police", 7), ("ngo", 9)]),
            groups: vec![
                StatsGroup {
                    key: "UA7102".into(),
                    figures: figures(10, &[]),
                },
                StatsGroup {
                    key: "UA7104".into(),
                    figures: figures(3, &[]),
                },
                StatsGroup {
                    key: "UA7106".into(),
                    figures: figures(0, &[]),
                },
            ],
        }
    }

    #[test]
    fn suppression_hides_small_cells_and_a_complementary_cell() {
        let s = suppress(report(), 5);
        // Referral sources: 2 is small; the next smallest (7) goes too, so 2 cannot be found
        // from the others; 9 stays.
        let src = &s.totals.by_referral_source;
        assert_eq!(
            (src["hotline"], src["police"], src["ngo"]),
            (None, None, Some(9))
        );
        assert!(s
            .totals
            .suppressed
            .contains(&"by_referral_source.hotline".to_string()));
        assert!(s
            .totals
            .suppressed
            .contains(&"by_referral_source.police".to_string()));
        // Groups: 3 is small; with the total (13) published, 10 is hidden as well; zeros stay.
        assert_eq!(s.totals.applications, Some(13));
        assert_eq!(s.groups[1].figures.applications, None);
        assert_eq!(s.groups[0].figures.applications, None);
        assert_eq!(s.groups[2].figures.applications, Some(0));
        assert_eq!(
            s.groups[0].figures.suppressed,
            vec!["applications".to_string()]
        );
        // The JSON shows nulls and names them.
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["groups"][1]["applications"], serde_json::Value::Null);
        assert_eq!(json["groups"][1]["key"], "UA7104");
        assert_eq!(
            json["totals"]["suppressed"][0],
            "by_referral_source.hotline"
        );
    }

    #[test]
    fn counts_at_or_above_the_threshold_are_published() {
        let s = suppress(report(), 2);
        assert_eq!(s.totals.by_referral_source["hotline"], Some(2));
        assert_eq!(s.groups[1].figures.applications, Some(3));
        assert!(s.totals.suppressed.is_empty());
    }

    #[test]
    fn the_csv_has_a_header_and_one_row_per_group_with_empty_suppressed_cells() {
        let csv = stats_csv(&suppress(report(), 5));
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1 + 1 + 3);
        let header: Vec<&str> = lines[0].split(',').collect();
        let row: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(header.len(), row.len());
        let col = header.iter().position(|h| *h == "applications").unwrap();
        assert_eq!((row[0], row[col]), ("UA7102", ""));
        assert!(lines[2].ends_with(",applications"));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [4, 1, 3, 10]), Some(3.5));
        assert_eq!(median(&mut [5]), Some(5.0));
        assert_eq!(median(&mut []), None);
    }
}
