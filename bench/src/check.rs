//! `ptl-bench check`: an acknowledgement log against the events read back over HTTP (every
//! acknowledged write there, once, at its version), and optionally against the store itself
//! (nothing there that was not acknowledged).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use sqlx::{Connection, PgConnection};

use crate::client::Api;
use crate::life::Step;
use crate::Res;

/// Cases and event counts in the store itself, by case id.
async fn store_counts(url: &str) -> Res<BTreeMap<String, u64>> {
    let rows: Vec<(String, i64)> = if url.starts_with("sqlite://") {
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro"))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        sqlx::query_as("SELECT aggregate_id, COUNT(*) FROM case_events GROUP BY aggregate_id")
            .fetch_all(&mut c)
            .await
            .map_err(|e| e.to_string())?
    } else {
        let mut c = PgConnection::connect(url)
            .await
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        sqlx::query_as(
            "SELECT aggregate_id::text, COUNT(*)::bigint FROM case_events GROUP BY aggregate_id",
        )
        .fetch_all(&mut c)
        .await
        .map_err(|e| e.to_string())?
    };
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The flags of `ptl-bench check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    base: String,
    /// A token that may read every logged case's events (e.g. an auditor of `UA`).
    #[arg(long)]
    token: String,
    #[arg(long)]
    ack_log: PathBuf,
    /// The store's URL (`sqlite://...` or `postgres://...`): also check that it holds no
    /// case and no event that was not acknowledged (only for a store the logged load alone
    /// wrote to).
    #[arg(long)]
    database_url: Option<String>,
}

/// Reads each logged case's events and compares them with the log (and the store's counts with
/// it, given `--database-url`); fails on a lost write or a damaged stream.
pub async fn run(args: Args) -> Res<()> {
    let Args {
        base,
        token,
        ack_log,
        database_url,
    } = args;
    let api = Api::new(&base);
    let text = std::fs::read_to_string(&ack_log).map_err(|e| e.to_string())?;
    let mut by_case: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut acks = 0u64;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 {
            return Err(format!("bad ack line: {line}"));
        }
        let v: u64 = f[2].parse().map_err(|_| format!("bad version: {line}"))?;
        by_case
            .entry(f[0].to_string())
            .or_default()
            .push((f[1].to_string(), v));
        acks += 1;
    }
    let mut losses = 0u64;
    let mut problems = Vec::new();
    let mut events_total = 0u64;
    for (id, list) in &by_case {
        let r = api
            .get(&format!("/api/v1/cases/{id}/events"), &token)
            .await?;
        if r.status != 200 {
            losses += list.len() as u64;
            problems.push(format!("case {id}: events read {}", r.status));
            continue;
        }
        let events = r.body["events"].as_array().cloned().unwrap_or_default();
        events_total += events.len() as u64;
        let mut by_seq: HashMap<u64, String> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            let seq = e["sequence"].as_u64().unwrap_or(0);
            if seq != i as u64 + 1 {
                problems.push(format!("case {id}: gap, event #{i} has sequence {seq}"));
            }
            if by_seq
                .insert(seq, e["type"].as_str().unwrap_or("").to_string())
                .is_some()
            {
                problems.push(format!("case {id}: sequence {seq} twice"));
            }
        }
        let mut seen_versions = HashMap::new();
        for (action, v) in list {
            if let Some(prev) = seen_versions.insert(*v, action.clone()) {
                problems.push(format!(
                    "case {id}: version {v} acknowledged twice ({prev}, {action})"
                ));
            }
            let want = Step::from_name(action)
                .map(|s| s.event_type())
                .unwrap_or("");
            match by_seq.get(v) {
                Some(t) if t == want => {}
                Some(t) => {
                    losses += 1;
                    problems.push(format!(
                        "case {id}: {action} acknowledged at version {v} but the event there is {t}"
                    ));
                }
                None => {
                    losses += 1;
                    problems.push(format!(
                        "case {id}: {action} acknowledged at version {v} is missing"
                    ));
                }
            }
        }
        // Exactly once: an action type appears no more often than the procedure lets it
        // (consent twice: status procedure and police; everything else once).
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in by_seq.values() {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        for (t, n) in counts {
            let max = if t == "consent_given" { 2 } else { 1 };
            if n > max && t != "deadline_missed" {
                problems.push(format!("case {id}: {t} recorded {n} times"));
            }
        }
    }
    // Nothing else: the store holds no case and no event that was not acknowledged.
    let mut store_line = None;
    if let Some(url) = &database_url {
        let counts = store_counts(url).await?;
        let events: u64 = counts.values().sum();
        let mut unacked_events = 0u64;
        let mut unacked_cases = 0u64;
        for (id, n) in &counts {
            match by_case.get(id) {
                None => {
                    unacked_cases += 1;
                    unacked_events += n;
                    problems.push(format!(
                        "case {id}: {n} events in the store, none acknowledged"
                    ));
                }
                Some(list) => {
                    let acked: std::collections::HashSet<u64> =
                        list.iter().map(|(_, v)| *v).collect();
                    let extra = n.saturating_sub(acked.len() as u64);
                    if extra > 0 {
                        unacked_events += extra;
                        problems.push(format!(
                            "case {id}: {n} events in the store, {} acknowledged",
                            acked.len()
                        ));
                    }
                }
            }
        }
        for id in by_case.keys() {
            if !counts.contains_key(id) {
                problems.push(format!("case {id}: acknowledged but not in the store"));
            }
        }
        store_line = Some(format!(
            "check: the store holds {} cases and {events} events; not acknowledged: {unacked_events} events, {unacked_cases} cases",
            counts.len()
        ));
    }
    for p in problems.iter().take(20) {
        println!("PROBLEM {p}");
    }
    if let Some(l) = store_line {
        println!("{l}");
    }
    println!(
        "check: {acks} acknowledged writes on {} cases checked against {events_total} events; losses {losses}; problems {}",
        by_case.len(),
        problems.len()
    );
    if losses > 0 || !problems.is_empty() {
        return Err("acknowledged writes lost or streams damaged".into());
    }
    Ok(())
}
