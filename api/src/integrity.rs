//! The integrity report (issue 16, "Auditor"): every case in a scope verified, with the log's
//! checkpoint compared (`ptl_engine::checkpoint`), as one document: the number of cases and
//! events, and each invalid case with its first bad event (a broken chain, its last events
//! deleted, or the whole case missing), and what is wrong with the log as a whole.
//!
//! [`build`] makes it; `ptl verify --report <file>` calls it at full speed, and the server's
//! background runner (`app::integrity`) calls it paced ([`Pacing`]: small batches, a pause after
//! each as long as the batch took, at least [`Pacing::pause`]) on a thread of its own at the
//! lowest scheduling priority, handing its counters ([`Counters`]) to a task that writes them to
//! the `integrity_reports` table so that every instance shows them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ptl_engine::checkpoint::{Checkpoint, Finding};
use ptl_engine::fetch_all;
use ptl_engine::pipeline::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How the server paces a report so that caseworkers' requests stay fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Cases verified between two pauses.
    pub batch: usize,
    /// The shortest pause after a batch (the pause is at least as long as the batch took, so the
    /// report uses at most half of one core).
    pub pause: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            batch: 25,
            pause: Duration::from_millis(20),
        }
    }
}

/// One invalid case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvalidCase {
    /// The case.
    pub case_id: String,
    /// Its register number, when the work queue knows it.
    pub register_no: Option<String>,
    /// `broken_chain` (an event edited, inserted, reordered or removed before the last),
    /// `truncated` (its last events deleted), `missing` (no events left) or `head_rewritten`.
    pub problem: String,
    /// The first bad event: the first that does not verify, or the first deleted one.
    pub first_bad_event: u64,
    /// Events it has now.
    pub events: u64,
    /// Its last sequence at the log's checkpoint, when the checkpoint knows it.
    pub checkpoint_events: Option<i64>,
}

/// The log's checkpoint as the report saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointSummary {
    /// Its epoch (one more at each accepted restore).
    pub epoch: i64,
    /// How many times it was advanced in its epoch.
    pub seq: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The log's length then.
    pub events: i64,
    /// Cases then.
    pub cases: i64,
}

impl From<Checkpoint> for CheckpointSummary {
    fn from(c: Checkpoint) -> Self {
        Self {
            epoch: c.epoch,
            seq: c.seq,
            at: c.at,
            events: c.events,
            cases: c.cases,
        }
    }
}

/// What is wrong with the log as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogProblem {
    /// `checkpoint_missing`, `checkpoint_forged`, `checkpoint_rolled_back` or `log_shorter`.
    pub kind: String,
    /// A sentence (English, for the record).
    pub detail: String,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The office whose cases were verified (`UA`: all).
    pub scope: String,
    /// When verification started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Cases verified.
    pub cases: u64,
    /// Their events.
    pub events: u64,
    /// The invalid cases, by case id.
    pub invalid: Vec<InvalidCase>,
    /// The log's checkpoint, when there is one.
    pub checkpoint: Option<CheckpointSummary>,
    /// The log's own problems (only in a report over every case).
    pub log_problems: Vec<LogProblem>,
}

impl Report {
    /// Whether everything verified.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.invalid.is_empty() && self.log_problems.is_empty()
    }

    /// The invalid cases as CSV (`case_id,register_no,problem,first_bad_event,events,
    /// checkpoint_events`), then one line per problem of the log.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("case_id,register_no,problem,first_bad_event,events,checkpoint_events\n");
        for c in &self.invalid {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                c.case_id,
                c.register_no.as_deref().unwrap_or(""),
                c.problem,
                c.first_bad_event,
                c.events,
                c.checkpoint_events
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ));
        }
        for p in &self.log_problems {
            out.push_str(&format!(",,{},,,\n", p.kind));
        }
        out
    }
}

/// Which cases a report covers: all (a national office), or those of these offices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every case, and the log's own problems.
    All,
    /// The cases whose office (in the work queue) is one of these.
    Offices(BTreeSet<String>),
}

/// A report's counters while it runs: given to the caller's progress function after each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Cases to verify.
    pub total: u64,
    /// Cases verified so far.
    pub done: u64,
    /// Their events.
    pub events: u64,
    /// Invalid cases found so far.
    pub invalid: u64,
}

/// What a run does with its counters (the server hands them to a task that writes them).
pub type Progress<'a> = &'a (dyn Fn(Counters) + Send + Sync);

/// Verifies every case in `scope` and compares the log with its checkpoint. With `pacing`, in
/// batches with a pause after each; with `progress`, the counters after each batch.
///
/// # Errors
/// The store cannot be read (or the progress written).
pub async fn build(
    engine: &Engine,
    scope_name: &str,
    scope: &Scope,
    pacing: Option<Pacing>,
    progress: Option<Progress<'_>>,
) -> Result<Report, EngineError> {
    Ok(
        build_with_cases(engine, scope_name, scope, pacing, progress)
            .await?
            .0,
    )
}

/// [`build`], with every case verified and its number of events (for `ptl verify`'s lines).
///
/// # Errors
/// As [`build`].
pub async fn build_with_cases(
    engine: &Engine,
    scope_name: &str,
    scope: &Scope,
    pacing: Option<Pacing>,
    progress: Option<Progress<'_>>,
) -> Result<(Report, Vec<(Uuid, u64)>), EngineError> {
    let started_at = engine.clock().now();
    let log = engine.check_log().await?;
    let queue: BTreeMap<String, (String, String)> = {
        let mut tx = engine.db().read().await?;
        let rows: Vec<(String, String, String)> = fetch_all!(
            tx.conn(),
            (String, String, String),
            "SELECT case_id, office, register_no FROM work_queue"
        )?;
        rows.into_iter()
            .map(|(id, office, no)| (id, (office, no)))
            .collect()
    };
    let in_scope = |case: &str| match scope {
        Scope::All => true,
        Scope::Offices(offices) => queue.get(case).is_some_and(|(o, _)| offices.contains(o)),
    };
    let ids: Vec<Uuid> = engine
        .case_ids()
        .await?
        .into_iter()
        .filter(|id| in_scope(&id.to_string()))
        .collect();
    let total = ids.len() as u64;
    if let Some(p) = progress {
        p(Counters {
            total,
            ..Counters::default()
        });
    }
    let mut by_case: BTreeMap<String, InvalidCase> = BTreeMap::new();
    let mut events = 0u64;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut cases = 0u64;
    let batch = pacing.map_or(usize::MAX, |p| p.batch.max(1));
    let mut done = 0u64;
    for chunk in ids.chunks(batch.min(ids.len().max(1))) {
        let began = Instant::now();
        done += chunk.len() as u64;
        for id in chunk {
            let v = engine.verify(*id).await?;
            let key = id.to_string();
            counts.insert(key.clone(), v.events);
            if v.events > 0 {
                cases += 1;
            }
            events += v.events;
            if let Some(first) = v.first_invalid_sequence {
                by_case.insert(
                    key.clone(),
                    InvalidCase {
                        register_no: queue.get(&key).map(|(_, no)| no.clone()),
                        case_id: key,
                        problem: "broken_chain".into(),
                        first_bad_event: first,
                        events: v.events,
                        checkpoint_events: None,
                    },
                );
            }
        }
        if let Some(p) = progress {
            p(Counters {
                total,
                done,
                events,
                invalid: by_case.len() as u64,
            });
        }
        if let Some(p) = pacing {
            tokio::time::sleep(began.elapsed().max(p.pause)).await;
        }
    }
    let mut log_problems = Vec::new();
    for f in &log.findings {
        match f.case_id() {
            Some(case) if in_scope(case) => {
                let now = counts.get(case).copied().unwrap_or(0);
                let (problem, first, cp) = match f {
                    Finding::CaseMissing {
                        checkpoint_sequence,
                        ..
                    } => ("missing", 1, *checkpoint_sequence),
                    Finding::CaseTruncated {
                        checkpoint_sequence,
                        sequence,
                        ..
                    } => (
                        "truncated",
                        u64::try_from(sequence + 1).unwrap_or(0),
                        *checkpoint_sequence,
                    ),
                    Finding::HeadRewritten { sequence, .. } => (
                        "head_rewritten",
                        u64::try_from(*sequence).unwrap_or(0),
                        *sequence,
                    ),
                    _ => continue,
                };
                let entry = by_case
                    .entry(case.to_string())
                    .or_insert_with(|| InvalidCase {
                        case_id: case.to_string(),
                        register_no: queue.get(case).map(|(_, no)| no.clone()),
                        problem: problem.into(),
                        first_bad_event: first,
                        events: now,
                        checkpoint_events: Some(cp),
                    });
                entry.checkpoint_events = Some(cp);
                if first < entry.first_bad_event {
                    entry.first_bad_event = first;
                    entry.problem = problem.into();
                }
            }
            Some(_) => {}
            None if matches!(scope, Scope::All) => log_problems.push(LogProblem {
                kind: match f {
                    Finding::CheckpointMissing { .. } => "checkpoint_missing",
                    Finding::CheckpointForged => "checkpoint_forged",
                    Finding::CheckpointRolledBack { .. } => "checkpoint_rolled_back",
                    _ => "log_shorter",
                }
                .into(),
                detail: f.describe(),
            }),
            None => {}
        }
    }
    let verified = ids
        .iter()
        .map(|id| (*id, counts.get(&id.to_string()).copied().unwrap_or(0)))
        .collect();
    let report = Report {
        scope: scope_name.to_string(),
        started_at,
        finished_at: engine.clock().now(),
        cases,
        events,
        invalid: by_case.into_values().collect(),
        checkpoint: log.checkpoint.map(CheckpointSummary::from),
        log_problems,
    };
    Ok((report, verified))
}
