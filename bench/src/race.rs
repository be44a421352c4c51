//! `ptl-bench race`: many clients acting on one case with the same `If-Match`; exactly one of
//! them must succeed per version.

use std::sync::Arc;

use serde_json::json;

use crate::client::Api;
use crate::life::{application, today, OFFICE};
use crate::Res;

/// The flags of `ptl-bench race`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    base: String,
    #[arg(long)]
    token_cw: String,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, default_value_t = 20)]
    rounds: usize,
}

/// Registers a case, then for `--rounds` rounds lets `--clients` clients add a note with the
/// same `If-Match` at once; fails unless each round had exactly one success.
pub async fn run(args: Args) -> Res<()> {
    let Args {
        base,
        token_cw: cw,
        clients,
        rounds,
    } = args;
    let api = Api::new(&base);
    let day = today();
    let r = api
        .post("/api/v1/cases", &cw, &[], &application(OFFICE, &day))
        .await?;
    if r.status != 201 {
        return Err(format!("register: {} {}", r.status, r.body));
    }
    let id = r.body["id"].as_str().unwrap_or_default().to_string();
    let mut etag = r.etag;
    let mut sent = 0u64;
    let mut bad = 0u64;
    for round in 0..rounds {
        let go = Arc::new(tokio::sync::Barrier::new(clients));
        let hs: Vec<_> = (0..clients)
            .map(|i| {
                let (api, cw, id, etag, day, go) = (
                    api.clone(),
                    cw.clone(),
                    id.clone(),
                    etag.clone(),
                    day.clone(),
                    go.clone(),
                );
                tokio::spawn(async move {
                    go.wait().await;
                    api.post(
                        &format!("/api/v1/cases/{id}/actions/add-note"),
                        &cw,
                        &[("if-match", etag.as_str())],
                        &json!({"occurred_on": day, "text": format!("round {round} client {i}")}),
                    )
                    .await
                })
            })
            .collect();
        let mut ok = Vec::new();
        let mut other = 0;
        for h in hs {
            sent += 1;
            match h.await.map_err(|e| e.to_string())? {
                Ok(r) if r.status == 200 => ok.push(r.etag),
                Ok(r) if r.status == 412 => {}
                Ok(r) => {
                    other += 1;
                    eprintln!("race: unexpected {} {}", r.status, r.body);
                }
                Err(e) => {
                    other += 1;
                    eprintln!("race: {e}");
                }
            }
        }
        if ok.len() != 1 || other > 0 {
            bad += 1;
            eprintln!(
                "race round {round}: {} successes, {other} other answers",
                ok.len()
            );
        }
        if let Some(e) = ok.pop() {
            etag = e;
        } else {
            etag = api.get(&format!("/api/v1/cases/{id}"), &cw).await?.etag;
        }
    }
    let v = api.get(&format!("/api/v1/cases/{id}"), &cw).await?;
    let version = v.body["version"].as_u64().unwrap_or(0);
    let expected = 1 + rounds as u64;
    println!(
        "race: {rounds} rounds x {clients} clients on one case, {sent} requests; bad rounds {bad}; final version {version} (expected {expected})"
    );
    if bad > 0 || version != expected {
        return Err("not exactly one success per version".into());
    }
    Ok(())
}
