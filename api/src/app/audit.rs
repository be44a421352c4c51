//! The auditor's console (issue 16): the access log across the cases in the caller's scope,
//! a case's history with the verification of each event's hash link, and the difference between
//! two versions of a case. Auditors and supervisors; the REST routes and the pages share these
//! operations.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ptl_domain::Role;
use ptl_engine::pipeline::RecordedEvent;
use ptl_projections::access::{list_access, AccessFilter, AccessRow, PURPOSES};
use serde_json::Value;
use uuid::Uuid;

use super::lists::Page;
use super::{App, Caller, CaseRead, Error, HistoryPoint};

/// The filters of the access log across cases.
#[derive(Debug, Clone, Default)]
pub struct AccessLogQuery {
    /// Only reads by this user id.
    pub user: Option<String>,
    /// Only reads of cases of this office (within the caller's scope).
    pub office: Option<String>,
    /// Only this case.
    pub case_id: Option<Uuid>,
    /// Only this purpose (one of [`PURPOSES`]).
    pub purpose: Option<String>,
    /// From this day (Kyiv), inclusive.
    pub from: Option<NaiveDate>,
    /// To this day (Kyiv), inclusive.
    pub to: Option<NaiveDate>,
    /// Page size.
    pub limit: u32,
    /// The previous page's cursor.
    pub cursor: Option<String>,
}

/// A case's history for the auditor: every event with its hash link, and where the chain breaks.
#[derive(Debug, Clone)]
pub struct AuditedHistory {
    /// The events in order.
    pub events: Vec<RecordedEvent>,
    /// The first event whose hash does not recompute or link (the events from it on are not
    /// verified); `None` when the whole chain verifies.
    pub first_invalid: Option<u64>,
}

/// One field of the case view that differs between two versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The field's path in the view (`stage`, `deadlines.interview.due_on`, ...): keys of the
    /// view, a deadline by its name, other list items by their position from 1.
    pub path: Vec<String>,
    /// The value at the first version (`None`: absent).
    pub old: Option<Value>,
    /// The value at the second version.
    pub new: Option<Value>,
}

pub(super) fn auditor_or_supervisor(caller: &Caller, what: &str) -> Result<(), Error> {
    if matches!(caller.role, Role::Auditor | Role::Supervisor) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "{what} is for auditors and supervisors"
        )))
    }
}

/// The start of a Kyiv day as an instant.
fn kyiv_start(d: NaiveDate) -> Option<DateTime<Utc>> {
    chrono_tz::Europe::Kyiv
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Flattens a view into leaf paths; list items keyed by their `name` when they have one.
fn flatten(prefix: &mut Vec<String>, v: &Value, out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                prefix.push(k.clone());
                flatten(prefix, x, out);
                prefix.pop();
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            out.push((prefix.clone(), v.clone()));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let key = x
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| (i + 1).to_string(), str::to_string);
                prefix.push(key);
                flatten(prefix, x, out);
                prefix.pop();
            }
        }
        other => out.push((prefix.clone(), other.clone())),
    }
}

/// The fields of the view that are no fact of the case (what the caller may do, the counter).
const NOT_COMPARED: &[&str] = &["allowed_actions", "version"];

/// The leaves of `a` and `b` that differ, in the order of `b` (keys sorted) then those only in
/// `a`.
#[must_use]
pub fn compare(a: &Value, b: &Value) -> Vec<Change> {
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    flatten(&mut Vec::new(), a, &mut la);
    flatten(&mut Vec::new(), b, &mut lb);
    let skip = |p: &Vec<String>| {
        p.first()
            .is_some_and(|k| NOT_COMPARED.contains(&k.as_str()))
    };
    let mut out = Vec::new();
    for (path, new) in &lb {
        if skip(path) {
            continue;
        }
        let old = la.iter().find(|(p, _)| p == path).map(|(_, v)| v.clone());
        let old = old.filter(|v| !v.is_null());
        let new = Some(new.clone()).filter(|v| !v.is_null());
        if old != new {
            out.push(Change {
                path: path.clone(),
                old,
                new,
            });
        }
    }
    for (path, old) in &la {
        if skip(path) || old.is_null() || lb.iter().any(|(p, _)| p == path) {
            continue;
        }
        out.push(Change {
            path: path.clone(),
            old: Some(old.clone()),
            new: None,
        });
    }
    out
}

impl App {
    /// The access log across the cases in the caller's scope, newest first.
    ///
    /// # Errors
    /// A role other than auditor or supervisor, an office outside the scope, an unknown purpose,
    /// `from` after `to`, a cursor this server did not give out, the store.
    pub async fn access_log_across(
        &self,
        caller: &Caller,
        q: AccessLogQuery,
    ) -> Result<Page<AccessRow>, Error> {
        auditor_or_supervisor(caller, "the access log")?;
        let office = self.office_filter(caller, q.office)?;
        if let Some(p) = &q.purpose {
            if !PURPOSES.contains(&p.as_str()) {
                return Err(Error::parameter(
                    "purpose",
                    format!("one of {}", PURPOSES.join(", ")),
                ));
            }
        }
        if let (Some(f), Some(t)) = (q.from, q.to) {
            if f > t {
                return Err(Error::parameter("to", "must not be before `from`"));
            }
        }
        let (offices, submitted_to) = self.scope_of(&caller.office);
        let filter = AccessFilter {
            offices,
            submitted_to,
            user: q.user,
            office,
            case_id: q.case_id,
            purpose: q.purpose,
            from: q.from.and_then(kyiv_start),
            to: q.to.and_then(|d| d.succ_opt()).and_then(kyiv_start),
            limit: q.limit,
            cursor: q.cursor,
        };
        let (items, next_cursor) = list_access(self.engine.db(), &filter).await?;
        Ok(Page { items, next_cursor })
    }

    /// Every event of the case with its hash link, and the first that does not verify.
    ///
    /// # Errors
    /// A role other than auditor or supervisor, the store.
    pub async fn audited_history(
        &self,
        caller: &Caller,
        case: &CaseRead,
    ) -> Result<AuditedHistory, Error> {
        auditor_or_supervisor(caller, "the history browser")?;
        let events = self.history(caller, case).await?;
        let verification = self.engine.verify(case.id).await?;
        Ok(AuditedHistory {
            events,
            first_invalid: verification.first_invalid_sequence,
        })
    }

    /// The fields of the case view that differ between versions `from` and `to`.
    ///
    /// # Errors
    /// A role other than auditor or supervisor, a version the case does not have, the store.
    pub async fn compare_versions(
        &self,
        caller: &Caller,
        case: &CaseRead,
        from: u64,
        to: u64,
    ) -> Result<Vec<Change>, Error> {
        auditor_or_supervisor(caller, "comparing versions")?;
        for (name, v) in [("from", from), ("to", to)] {
            if v == 0 || v > case.version {
                return Err(Error::parameter(
                    name,
                    format!("a version from 1 to {}", case.version),
                ));
            }
        }
        let a = self
            .read_case(caller, case.clone(), HistoryPoint::Version(from), None)
            .await?;
        let b = self
            .read_case(caller, case.clone(), HistoryPoint::Version(to), None)
            .await?;
        let va = serde_json::to_value(&a.view).map_err(|e| Error::Internal(e.to_string()))?;
        let vb = serde_json::to_value(&b.view).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(compare(&va, &vb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_comparison_names_the_changed_leaves_and_keys_deadlines_by_name() {
        let a = json!({"stage": "registration", "version": 1, "deadlines": [{"name": "interview", "due_on": "2026-01-10"}], "assignee": null});
        let b = json!({"stage": "interview", "version": 2, "deadlines": [{"name": "interview", "due_on": "2026-01-12"}, {"name": "decision", "due_on": "2026-02-01"}], "assignee": "u1"});
        // The order of an object's keys is serde_json's (alphabetical, or as written when a crate
        // of the workspace turns on `preserve_order`): compared sorted.
        let mut c = compare(&a, &b);
        c.sort_by_key(|x| x.path.join("."));
        let paths: Vec<String> = c.iter().map(|x| x.path.join(".")).collect();
        assert_eq!(
            paths,
            vec![
                "assignee",
                "deadlines.decision.due_on",
                "deadlines.decision.name",
                "deadlines.interview.due_on",
                "stage"
            ]
        );
        assert_eq!(c[0].old, None);
        assert_eq!(c[0].new, Some(json!("u1")));
        assert_eq!(c[4].old, Some(json!("registration")));
        assert!(compare(&a, &a).is_empty());
    }
}
