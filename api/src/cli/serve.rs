//! `ptl serve`: the REST API server and its background workers (deadline scheduler, revocation
//! refresher, webhook sender, outbox relay, the log's checkpoint), until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use ptl_api::config::Settings;

use super::common;

/// The flags of `ptl serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listen address (default 127.0.0.1:8080) [env: PTL_LISTEN]
    #[arg(long)]
    listen: Option<String>,
    /// Start even if the store's commits are not durable (acknowledged commands could be lost).
    #[arg(long)]
    allow_non_durable: bool,
    /// Log format [env: PTL_LOG_FORMAT]
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// `--log-format`: it overrides the settings' `log_format` for this run (`main` sets up the
/// logger before any subcommand runs).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Starts the application as the end-to-end tests do, listens, and runs the server beside the
/// workers until a shutdown signal or until one of them stops; then tells the others to stop and
/// waits for them (in-flight requests finish).
///
/// # Errors
/// A sentence: the application does not start, the address cannot be bound, or the server or
/// the scheduler stopped on its own.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let mut opts = ptl_api::startup::StartOptions::from_settings(settings);
    opts.allow_non_durable |= args.allow_non_durable;
    let listen = args
        .listen
        .clone()
        .unwrap_or_else(|| settings.listen.to_string());
    let listen = &listen;
    let app = ptl_api::startup::start(&opts, ptl_api::startup::system_clock()).await?;
    if !app.created_keys.is_empty() {
        eprintln!(
            "first start: created the JWT secret, the master key and the hash keys in {} (mode 0600; back them up: losing master.key loses the personal data)",
            common::dir(settings).display()
        );
        eprintln!("mint a token with: ptl token --sub cw-1 --role caseworker --office UA7102");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, store = %redact(&common::url(settings)), "ptl listening");
    // The API and the background workers run as sibling tasks; whichever stops first is
    // reported, and the others are told to stop.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut scheduler_stop = stop_rx.clone();
    let mut scheduler = tokio::spawn(app.scheduler.run(async move {
        let _ = scheduler_stop.changed().await;
    }));
    let refresher = tokio::spawn(ptl_api::startup::refresh_revocations(app.state.clone()));
    let checkpoint = tokio::spawn(ptl_api::startup::keep_checkpoint(
        app.state.app.engine.clone(),
        opts.checkpoint_interval,
    ));
    let tallies = tokio::spawn(ptl_api::startup::keep_tallies_folded(
        app.state.app.engine.clone(),
        Duration::from_secs(1),
    ));
    let webhook = app.webhook.map(|sender| {
        let mut hook_stop = stop_rx.clone();
        tokio::spawn(async move {
            sender
                .run(async move {
                    let _ = hook_stop.changed().await;
                })
                .await;
        })
    });
    let relay = app.relay.map(|relay| {
        let mut relay_stop = stop_rx.clone();
        tokio::spawn(relay.run(async move {
            let _ = relay_stop.changed().await;
        }))
    });
    let mut server_stop = stop_rx.clone();
    let limits = app.state.limits.settings.clone();
    let mut server = tokio::spawn(ptl_api::http::serve(
        listener,
        app.router,
        limits,
        async move {
            tokio::select! {
                () = shutdown_signal() => {},
                _ = server_stop.changed() => {},
            }
        },
    ));
    let outcome = tokio::select! {
        r = &mut server => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("the HTTP server stopped: {e}")),
            Err(e) => Err(format!("the HTTP server task failed: {e}")),
        },
        r = &mut scheduler => Err(format!("the deadline scheduler stopped unexpectedly ({r:?})")),
    };
    let _ = stop_tx.send(true);
    refresher.abort();
    checkpoint.abort();
    tallies.abort();
    if !server.is_finished() {
        let _ = server.await;
    }
    if !scheduler.is_finished() {
        let _ = scheduler.await;
    }
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    if let Some(hook) = webhook {
        let _ = hook.await;
    }
    outcome?;
    tracing::info!("ptl stopped");
    Ok(ExitCode::SUCCESS)
}

/// The store's URL for the log: the credentials between `://` and `@` are replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Resolves on Ctrl-C or SIGTERM (what a service manager sends), so that the server stops
/// accepting and finishes the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn the_logged_store_url_hides_the_credentials() {
        assert_eq!(
            redact("postgres://ptl:secret@db.example:5432/ptl"),
            "postgres://***@db.example:5432/ptl"
        );
        assert_eq!(
            redact("sqlite://./ptl-data/ptl.db"),
            "sqlite://./ptl-data/ptl.db"
        );
    }
}
