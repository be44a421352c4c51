//! The PostgreSQL database the `http` benchmark runs against: created fresh on the given server
//! before the run, dropped after it (also when the run failed).

use sqlx::{Connection, Executor, PgConnection};

use crate::Res;

/// Creates a database with a fresh `ptl_bench_*` name on the server of `pg_url` (an admin URL)
/// and returns its URL (the same server and parameters, such as `?sslmode=...`) and its name.
pub async fn create_database(pg_url: &str) -> Res<(String, String)> {
    let name = format!("ptl_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(pg_url)
        .await
        .map_err(|e| format!("PostgreSQL at {pg_url}: {e}"))?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .map_err(|e| e.to_string())?;
    // The same server and parameters (`?sslmode=...`), the fresh database.
    let (address, params) = match pg_url.split_once('?') {
        Some((a, p)) => (a, format!("?{p}")),
        None => (pg_url, String::new()),
    };
    let base = address.rsplit_once('/').map(|x| x.0).unwrap_or(address);
    Ok((format!("{base}/{name}{params}"), name))
}

/// Drops the database `name` on the server of `pg_url`, with the connections still open to it;
/// best effort (a failure to connect leaves it behind, named `ptl_bench_*`).
pub async fn drop_database(pg_url: &str, name: &str) {
    if let Ok(mut admin) = PgConnection::connect(pg_url).await {
        let _ = admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}
