//! `ptl token`: mint a token signed with the configured key, or `ptl token revoke` one.

use std::process::ExitCode;

use clap::Subcommand;
use ptl_api::config::Settings;
use uuid::Uuid;

use super::common;

/// The flags of `ptl token` (minting), or its `revoke` subcommand.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    revoke: Option<TokenCmd>,
    /// User id (`sub`).
    #[arg(long)]
    sub: Option<String>,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Role: caseworker, supervisor, social_worker, decision_officer, auditor, admin.
    #[arg(long)]
    role: Option<String>,
    /// Office code (e.g. UA7102).
    #[arg(long)]
    office: Option<String>,
    /// Lifetime, e.g. 8h, 30m, 2d.
    #[arg(long, default_value = "8h")]
    ttl: String,
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Add a token id (`jti`) to the deny list the server checks.
    Revoke {
        /// The token id.
        jti: String,
    },
}

/// Revokes the given token id, or mints a token (with a fresh `jti`, so that it can be revoked)
/// and prints it alone on stdout, for scripts.
///
/// # Errors
/// A sentence: a flag is missing or malformed, the key files or the store cannot be used.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    if let Some(TokenCmd::Revoke { jti }) = &args.revoke {
        let engine = common::engine(settings).await?;
        engine
            .revoke_token(jti, Some(&super::common::operator()))
            .await
            .map_err(|e| e.to_string())?;
        println!("revoked {jti}; running servers refuse it within 5 seconds");
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(sub), Some(role), Some(office)) = (&args.sub, &args.role, &args.office) else {
        return Err("a token needs --sub, --role and --office".into());
    };
    let role: ptl_domain::Role = role
        .parse()
        .map_err(|e: ptl_domain::types::UnknownValue| e.to_string())?;
    let ttl = parse_ttl(&args.ttl)?;
    let dir = common::dir(settings);
    ptl_engine::open::create_private_dir(&dir).map_err(|e| e.to_string())?;
    let (keys, _) = ptl_engine::keys::load_or_create(&dir).map_err(|e| e.to_string())?;
    // The server's own verifier (audience, issuer, lifetime, local tokens), so the token passes.
    let opts = ptl_api::startup::StartOptions::from_settings(settings);
    let auth = ptl_api::startup::authenticator(&opts, keys.jwt_secret())?;
    // The server's own office tree (the configured file, or the reorganised one in the data
    // directory).
    let offices = ptl_api::reorganise::load_tree(settings.offices_file.as_deref(), &dir)
        .map_err(|e| e.to_string())?;
    if !offices.role_fits(role, office) {
        return Err(format!(
            "the role {role} does not belong to the office {office} (caseworkers, supervisors and social workers: district and region offices; decision officers: a deciding authority; admins: UA; auditors: any office)"
        ));
    }
    let jti = Uuid::new_v4().simple().to_string();
    let token = auth
        .mint(
            sub,
            args.name.as_deref().unwrap_or(sub),
            role,
            office,
            ttl,
            Some(jti),
        )
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// `--ttl`: a number and a unit (`s`, `m`, `h` or `d`; hours without one).
fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--ttl `{s}` is not like 8h, 30m or 2d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("--ttl `{s}` is not like 8h, 30m or 2d")),
    };
    Ok(std::time::Duration::from_secs(secs))
}
