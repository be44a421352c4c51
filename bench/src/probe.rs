//! `ptl-bench probe`: writers (as `ack-load`) and readers while the store goes away and comes
//! back.

use std::path::PathBuf;
use std::sync::Arc;

use crate::load::{run_load, Load};
use crate::recorder::PolicyArgs;
use crate::Res;

/// The flags of `ptl-bench probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    base: String,
    #[arg(long)]
    token_cw: String,
    #[arg(long)]
    token_nss: String,
    /// A token for the reads (e.g. a supervisor of `UA71`).
    #[arg(long)]
    token_read: String,
    #[arg(long)]
    ack_log: PathBuf,
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// Writer clients (case lives with `Idempotency-Key`, retried until answered).
    #[arg(long, default_value_t = 2)]
    writers: usize,
    /// Reader clients (case, events, work queue, deadlines, statistics).
    #[arg(long, default_value_t = 2)]
    readers: usize,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// Runs the writers and the readers for `--secs` (and the drain) while the script takes the
/// store away and brings it back; fails on a violation of the policy.
pub async fn run(args: Args) -> Res<()> {
    let Args {
        base,
        token_cw: cw,
        token_nss: nss,
        token_read,
        ack_log,
        secs,
        writers,
        readers,
        policy,
    } = args;
    let l = Arc::new(Load::new(&base, cw, nss, &ack_log, secs, &policy)?);
    run_load("probe", l, writers, readers, Some(token_read), &policy).await
}
