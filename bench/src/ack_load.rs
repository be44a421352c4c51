//! `ptl-bench ack-load`: a write load that logs every acknowledged action (for the crash
//! scenarios of `scripts/reliability.sh`).

use std::path::PathBuf;
use std::sync::Arc;

use crate::load::{run_load, Load};
use crate::recorder::PolicyArgs;
use crate::Res;

/// The flags of `ptl-bench ack-load`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    base: String,
    #[arg(long)]
    token_cw: String,
    #[arg(long)]
    token_nss: String,
    #[arg(long)]
    ack_log: PathBuf,
    #[arg(long, default_value_t = 10)]
    secs: u64,
    #[arg(long, default_value_t = 4)]
    clients: usize,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// Runs `--clients` writers for `--secs` (and the drain), appending each acknowledged action to
/// `--ack-log`; fails on a violation of the policy.
pub async fn run(args: Args) -> Res<()> {
    let Args {
        base,
        token_cw: cw,
        token_nss: nss,
        ack_log,
        secs,
        clients,
        policy,
    } = args;
    let l = Arc::new(Load::new(&base, cw, nss, &ack_log, secs, &policy)?);
    run_load("ack-load", l, clients, 0, None, &policy).await
}
