//! Offices that close (`procedure.md`, "Procedure versions": offices change too): the office tree
//! records the closing date and the successor, and every open case of the closed office is
//! transferred to the successor, each with its own `transfer` event, recorded in the name of the
//! successor's supervisor who asked for it (`ptl offices close --by`).
//!
//! The tree is a file (`offices_file`, or `offices.toml` in the data directory, which the server
//! reads when no other file is configured): the closing is written there first, atomically, then
//! the cases move. Running the same command again after an interruption moves the cases that are
//! still left; nothing moves twice.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ptl_domain::{Action, Actor, OfficeCode, Role, Stage};
use ptl_engine::pipeline::{Engine, Personal};
use ptl_projections::queries::{list_cases, CaseFilter};

use crate::offices::{OfficeError, OfficeTree};

/// The name of the tree file in the data directory.
pub const OFFICES_FILE_NAME: &str = "offices.toml";

/// Where the office tree is kept: the configured file, else `offices.toml` in the data directory.
#[must_use]
pub fn tree_path(configured: Option<&Path>, data_dir: &Path) -> PathBuf {
    configured.map_or_else(|| data_dir.join(OFFICES_FILE_NAME), Path::to_path_buf)
}

/// The office tree in force: the file at [`tree_path`] when it exists, else the built-in tree.
///
/// # Errors
/// A configured file that cannot be read, or a file that is not a valid tree.
pub fn load_tree(configured: Option<&Path>, data_dir: &Path) -> Result<OfficeTree, OfficeError> {
    let path = tree_path(configured, data_dir);
    if configured.is_some() || path.exists() {
        OfficeTree::load(&path)
    } else {
        Ok(OfficeTree::default())
    }
}

/// What `ptl offices close` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The file the tree was written to.
    pub tree_file: PathBuf,
    /// The register numbers of the cases transferred, in order.
    pub transferred: Vec<String>,
}

/// Closes `code` on `on` with `successor`, writes the tree, and transfers the closed office's open
/// cases (every stage but `closed`) to the successor, each in its own command by `by`, the
/// successor's supervisor. An office already closed with the same date and successor is not
/// closed again: only the cases still left move.
///
/// # Errors
/// A sentence: the closing is not valid for the tree, the date is after `today`, the tree file
/// cannot be written, or the engine refuses or cannot record a transfer (the cases moved before it
/// stay moved; run the command again).
pub async fn close_office(
    engine: &Engine,
    tree: &OfficeTree,
    tree_file: &Path,
    code: &str,
    on: NaiveDate,
    successor: &str,
    by: &str,
) -> Result<Closed, String> {
    let today = ptl_domain::kyiv_date(engine.clock().now());
    if on > today {
        return Err(format!(
            "the closing date {on} is in the future: close the office on the day it closes"
        ));
    }
    if by.trim().is_empty() {
        return Err("--by names the successor's supervisor in whose name the cases move".into());
    }
    let to_office =
        OfficeCode::parse(successor).map_err(|_| format!("`{successor}` is not an office code"))?;
    let already = tree
        .get(code)
        .is_some_and(|o| o.closed_on == Some(on) && o.successor.as_deref() == Some(successor));
    if !already {
        let closed = tree.close(code, on, successor).map_err(|e| match e {
            OfficeError::BadSuccessor { .. } => format!(
                "cannot close {code} with successor {successor}: both must be open district or region offices of the tree, and different"
            ),
            other => other.to_string(),
        })?;
        write_atomically(tree_file, &closed.to_toml())?;
    }

    let mut transferred = Vec::new();
    let mut cursor = None;
    loop {
        let filter = CaseFilter {
            offices: vec![code.to_string()],
            submitted_to: None,
            office: Some(code.to_string()),
            stage: None,
            status: None,
            assignee: None,
            open: None,
            unassigned: false,
            overdue: false,
            due_before: None,
            case_ids: None,
            escalation: None,
            escalate_after_working_days:
                ptl_projections::queries::DEFAULT_ESCALATE_AFTER_WORKING_DAYS,
            upcoming: false,
            upcoming_working_days: 0,
            rules: engine.rules().clone(),
            today,
            limit: 200,
            cursor: cursor.take(),
        };
        let (rows, next) = list_cases(engine.db(), &filter)
            .await
            .map_err(|e| format!("cannot list the cases of {code}: {e}"))?;
        for row in rows.into_iter().filter(|r| r.stage != Stage::Closed) {
            let actor = Actor::user(by, Role::Supervisor, successor);
            let command = engine.command(
                actor,
                on.max(row.received_on),
                Action::Transfer {
                    to_office: to_office.clone(),
                },
            );
            engine
                .execute(row.case_id, None, command, Personal::default(), None)
                .await
                .map_err(|e| {
                    format!(
                        "case {}: the transfer could not be recorded: {e}",
                        row.register_no
                    )
                })?
                .map_err(|e| format!("case {}: the transfer was refused: {e}", row.register_no))?;
            transferred.push(row.register_no);
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(Closed {
        tree_file: tree_file.to_path_buf(),
        transferred,
    })
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename, so a
/// reader sees the old tree or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
