//! `ptl procedures`: the built-in procedure definitions and their deadline tables.

use std::process::ExitCode;

/// Prints each definition with its effective date, deciding authority, deadline rules and
/// status validity. Needs no store and no keys.
///
/// # Errors
/// A sentence: the built-in rules do not load.
pub fn run() -> Result<ExitCode, String> {
    let rules = ptl_domain::RuleBook::builtin().map_err(|e| e.to_string())?;
    for d in rules.definitions() {
        println!(
            "{}  effective {}  deciding authority {}  ({})",
            d.id, d.effective_from, d.deciding_authority, d.title
        );
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
