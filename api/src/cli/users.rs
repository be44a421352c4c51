//! `ptl users`: the web application's local accounts (`web.md`, "Signing in").
//!
//! `ptl users add <login> --role <role> --office <code> --name "<display name>"` prints a
//! one-time password that must be changed at the first sign-in, or with `--password-stdin` takes
//! the password from standard input (for scripts; no change required). `list`, `disable`,
//! `enable`, `reset-password` and `set-role` do what they say; every change is written to the
//! security log with the operating-system user who ran the command.

use std::io::Read;
use std::process::ExitCode;

use clap::Subcommand;
use ptl_api::accounts::{self, AddAccount, ChangedBy};
use ptl_api::config::Settings;

use super::common;

/// The subcommands of `ptl users`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: UsersCmd,
}

#[derive(Debug, Subcommand)]
enum UsersCmd {
    /// Add an account; prints its one-time password unless --password-stdin is given.
    Add {
        /// Sign-in name.
        login: String,
        /// caseworker, supervisor, social_worker, decision_officer, auditor or admin.
        #[arg(long)]
        role: String,
        /// Office code (e.g. UA7102).
        #[arg(long)]
        office: String,
        /// The name others see.
        #[arg(long)]
        name: String,
        /// Read the password from standard input (no change at the first sign-in).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
    /// Disable an account (its sessions end).
    Disable {
        /// Sign-in name.
        login: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Sign-in name.
        login: String,
    },
    /// Give an account a new one-time password (its sessions end).
    ResetPassword {
        /// Sign-in name.
        login: String,
    },
    /// Change an account's role (and office).
    SetRole {
        /// Sign-in name.
        login: String,
        /// The new role.
        #[arg(long)]
        role: String,
        /// The new office (the current one when not given).
        #[arg(long)]
        office: Option<String>,
    },
}

fn by() -> ChangedBy {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    ChangedBy {
        actor: format!("cli:{who}"),
        address: None,
    }
}

/// Runs the subcommand.
///
/// # Errors
/// A sentence: a bad login, role, office or password, no such account, the store.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let dir = common::dir(settings);
    let engine = common::engine(settings).await?;
    let tree = ptl_api::reorganise::load_tree(settings.offices_file.as_deref(), &dir)
        .map_err(|e| e.to_string())?;
    let by = by();
    match &args.cmd {
        UsersCmd::Add {
            login,
            role,
            office,
            name,
            password_stdin,
        } => {
            let password = if *password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
                Some(text.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            // Check the form before anything is written (a bad role or office writes nothing).
            accounts::check_login(login).map_err(|e| e.to_string())?;
            accounts::check_role(&tree, role, office).map_err(|e| e.to_string())?;
            let (user, one_time) = accounts::add(
                &engine,
                &tree,
                &by,
                AddAccount {
                    login: login.clone(),
                    role: role.clone(),
                    office: office.clone(),
                    name: name.clone(),
                    password,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            match one_time {
                Some(p) => println!(
                    "added {} ({}, {}); one-time password: {p} (to be changed at the first sign-in)",
                    user.login, user.role, user.office
                ),
                None => println!("added {} ({}, {})", user.login, user.role, user.office),
            }
        }
        UsersCmd::List => {
            let users = engine.users().await.map_err(|e| e.to_string())?;
            println!(
                "{:<24} {:<17} {:<8} {:<9} NAME",
                "LOGIN", "ROLE", "OFFICE", "STATE"
            );
            for u in users {
                let state = if u.disabled {
                    "disabled"
                } else if u.must_change_password {
                    "one-time"
                } else {
                    "active"
                };
                println!(
                    "{:<24} {:<17} {:<8} {:<9} {}",
                    u.login, u.role, u.office, state, u.display_name
                );
            }
        }
        UsersCmd::Disable { login } => {
            let u = accounts::set_disabled(&engine, &by, login, true)
                .await
                .map_err(|e| e.to_string())?;
            println!("disabled {}; its sessions have ended", u.login);
        }
        UsersCmd::Enable { login } => {
            let u = accounts::set_disabled(&engine, &by, login, false)
                .await
                .map_err(|e| e.to_string())?;
            println!("enabled {}", u.login);
        }
        UsersCmd::ResetPassword { login } => {
            let (u, p) = accounts::reset_password(&engine, &by, login)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "new one-time password for {}: {p} (to be changed at the next sign-in; its sessions have ended)",
                u.login
            );
        }
        UsersCmd::SetRole {
            login,
            role,
            office,
        } => {
            let u = accounts::set_role(&engine, &tree, &by, login, role, office.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!("{} is now {} of {}", u.login, u.role, u.office);
        }
    }
    Ok(ExitCode::SUCCESS)
}
