//! `ptl procedures`: the procedure definitions the engine uses (the built-in ones with the
//! configured procedures directory's additions and corrections) and their deadline tables.

use std::process::ExitCode;

use ptl_api::config::Settings;

/// Prints each definition with its file and SHA-256, effective dates, deciding authority,
/// calendar, rolling rule, deadline rules with their marks and status validity, exactly as the
/// server loads them from the configured directories. Needs no store and no keys.
///
/// # Errors
/// A sentence: a definition or calendar file does not load.
pub fn run(settings: &Settings) -> Result<ExitCode, String> {
    let rules = ptl_api::startup::rule_book_from(
        settings.procedures_dir.as_deref(),
        settings.calendars_dir.as_deref(),
    )?;
    let defs = rules.definitions();
    for (i, d) in defs.iter().enumerate() {
        let until = defs
            .get(i + 1)
            .and_then(|next| next.effective_from.pred_opt())
            .map_or_else(|| "on".to_string(), |to| format!("to {to}"));
        println!(
            "{}  effective {} {until}  deciding authority {}  calendar {}  ({})",
            d.id, d.effective_from, d.deciding_authority, d.calendar, d.title
        );
        println!(
            "    file {}  sha256 {}",
            rules.source_file(&d.id).unwrap_or("-"),
            d.content_hash
        );
        if let Some(r) = &d.rolling {
            println!(
                "    rolling: a due date on a non-working day moves to the next working day where a deadline says so [{}] ({})",
                r.mark, r.source
            );
        }
        for (kind, rule) in &d.deadlines {
            println!("    {:<22} {}", kind.as_str(), rule.describe());
        }
        println!(
            "    status validity: {}",
            d.status_validity
                .map_or("unlimited".to_string(), |p| format!(
                    "{} {}",
                    p.length, p.unit
                ))
        );
    }
    Ok(ExitCode::SUCCESS)
}
