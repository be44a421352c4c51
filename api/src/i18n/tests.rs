//! The catalogue against the code: every code a person can see has a label in both languages,
//! taken from the code itself (the domain's `ALL` lists, the event enum, the OpenAPI document),
//! never from a copied list.

use std::collections::BTreeSet;

use ptl_domain::procedure::DeadlineKind;
use ptl_domain::{ActionName, Role, Stage, Status};
use serde_json::Value;

use super::*;

/// Whether a text has a Cyrillic letter: a Ukrainian label that is only a copy of the English one
/// has none.
fn cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// Checks that `key` has its own text in both languages and that the Ukrainian one is Ukrainian;
/// collects what is wrong instead of stopping at the first.
fn check(key: &str, wrong: &mut Vec<String>) {
    for lang in Lang::ALL {
        if !has(lang, key) {
            wrong.push(format!("{key}: missing in {}", lang.as_str()));
        }
    }
    if has(Lang::Uk, key) && has(Lang::En, key) {
        let (uk, en) = (t(Lang::Uk, key), t(Lang::En, key));
        if uk == en || !cyrillic(&uk) {
            wrong.push(format!(
                "{key}: the Ukrainian text is not Ukrainian: {uk:?}"
            ));
        }
        if cyrillic(&en) {
            wrong.push(format!("{key}: the English text is Cyrillic: {en:?}"));
        }
    }
}

/// Every event type, as `EventBody` spells it: serde names every variant when it refuses an
/// unknown one, so a new event type is in this list without an edit here.
fn event_types() -> Vec<String> {
    let err = serde_json::from_value::<ptl_domain::event::EventBody>(serde_json::json!({
        "type": "no such event", "data": {}
    }))
    .expect_err("an unknown event type is refused")
    .to_string();
    let expected = err
        .split_once("expected one of ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("serde's message changed: {err}"));
    let types: Vec<String> = expected
        .split(", ")
        .map(|s| s.trim().trim_matches('`').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        types.iter().any(|t| t == "application_registered") && types.len() > 30,
        "{types:?}"
    );
    types
}

fn openapi() -> Value {
    serde_json::to_value(crate::http::openapi::document()).expect("the OpenAPI document is JSON")
}

/// Every value of every enum schema of the OpenAPI document, as `(schema name, value)`.
fn openapi_enums(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        if let Some(values) = schema["enum"].as_array() {
            for v in values {
                out.push((name.clone(), v.as_str().expect("string enum").to_string()));
            }
        }
    }
    out
}

/// The dotted paths of every property reachable from `schema` (through `$ref`s, `items`,
/// `allOf`/`anyOf`/`oneOf`), as the API names fields in errors and forms.
fn property_paths(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    seen: &mut Vec<String>,
    out: &mut BTreeSet<String>,
) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default().to_string();
        if seen.contains(&name) {
            return;
        }
        seen.push(name.clone());
        property_paths(doc, &doc["components"]["schemas"][&name], prefix, seen, out);
        seen.pop();
        return;
    }
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            property_paths(doc, v, &path, seen, out);
        }
    }
    property_paths_of(doc, &schema["items"], prefix, seen, out);
    property_paths_of(doc, &schema["additionalProperties"], prefix, seen, out);
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = schema[combinator].as_array() {
            for s in list {
                property_paths(doc, s, prefix, seen, out);
            }
        }
    }
}

fn property_paths_of(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    seen: &mut Vec<String>,
    out: &mut BTreeSet<String>,
) {
    if schema.is_object() {
        property_paths(doc, schema, prefix, seen, out);
    }
}

#[test]
fn the_catalogue_loads_without_errors() {
    assert_eq!(load_errors(), &[] as &[String]);
    // Both languages have the same keys (a key only one language has shows the other's text).
    let uk: BTreeSet<&String> = of(Lang::Uk).ids.iter().collect();
    let en: BTreeSet<&String> = of(Lang::En).ids.iter().collect();
    assert_eq!(
        uk.symmetric_difference(&en).collect::<Vec<_>>(),
        Vec::<&&String>::new()
    );
}

#[test]
fn load_errors_name_duplicate_keys_and_syntax_errors() {
    let mut errors = Vec::new();
    let b = bundle(
        "uk",
        [
            ("one", "a = перше\nb = друге\n"),
            ("two", "a = знову\nc = { $x\n"),
        ]
        .into_iter(),
        &mut errors,
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("uk/two.ftl:") && e.contains("a")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("syntax error")),
        "{errors:?}"
    );
    // The first text of a key stays; the readable entries of a broken file still load.
    assert_eq!(lookup(&b.bundle, "a", None).as_deref(), Some("перше"));
    assert_eq!(b.ids, ["a", "b", "a", "c"]);
}

#[test]
fn every_stage_status_role_action_deadline_and_event_has_a_label_in_both_languages() {
    let mut wrong = Vec::new();
    for s in Stage::ALL {
        check(&format!("stage-{s}"), &mut wrong);
    }
    for s in Status::ALL {
        check(&format!("status-{s}"), &mut wrong);
    }
    for r in Role::ALL {
        check(&format!("role-{r}"), &mut wrong);
    }
    for a in ActionName::ALL {
        check(&format!("action-{a}"), &mut wrong);
    }
    for k in DeadlineKind::ALL {
        check(&format!("deadline-{k}"), &mut wrong);
    }
    for e in event_types() {
        check(&format!("event-{e}"), &mut wrong);
    }
    for p in ptl_domain::PriorStep::ALL {
        check(&enum_key("PriorStep", p.as_str()), &mut wrong);
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn every_enum_value_of_the_openapi_document_has_a_label_in_both_languages() {
    let doc = openapi();
    let enums = openapi_enums(&doc);
    // The document lists the domain's closed sets: a sample proves the walk finds them.
    for (schema, value) in [
        ("ReferralSource", "mdg"),
        ("Need", "legal_aid"),
        ("ErasureCategory", "order"),
    ] {
        assert!(
            enums.contains(&(schema.to_string(), value.to_string())),
            "{schema} {value}"
        );
    }
    let mut wrong = Vec::new();
    for (schema, value) in &enums {
        check(&schema_key(schema, value), &mut wrong);
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn every_field_of_the_bodies_the_person_data_and_the_case_view_has_a_label() {
    let doc = openapi();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let roots: Vec<&String> = schemas
        .keys()
        .filter(|n| n.ends_with("Body") || ["PersonData", "CaseView"].contains(&n.as_str()))
        .collect();
    assert!(roots.iter().any(|n| *n == "RegisterBody"), "{roots:?}");
    let mut paths = BTreeSet::new();
    for root in roots {
        property_paths(
            &doc,
            &schemas[root.as_str()],
            "",
            &mut vec![root.clone()],
            &mut paths,
        );
    }
    for sample in [
        "applicant.sex",
        "person.full_name",
        "services.provider",
        "occurred_on",
    ] {
        assert!(paths.contains(sample), "{sample} in {paths:?}");
    }
    let mut wrong = Vec::new();
    for path in &paths {
        for lang in Lang::ALL {
            match field_key_in(lang, path) {
                Some(key) => check(&key, &mut wrong),
                None => wrong.push(format!("{path}: no label in {}", lang.as_str())),
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn every_statistics_figure_has_a_label() {
    let doc = openapi();
    let figures = doc["components"]["schemas"]["Figures"]["properties"]
        .as_object()
        .expect("the Figures schema");
    assert!(figures.contains_key("pending_decision"));
    let mut wrong = Vec::new();
    for name in figures.keys() {
        check(&format!("figure-{name}"), &mut wrong);
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn field_keys_keep_the_path_without_dots_and_indices_and_fall_back_to_the_leaf() {
    assert_eq!(field_key("occurred_on"), "field-occurred_on");
    assert_eq!(field_key("applicant.sex"), "field-applicant-sex");
    assert_eq!(field_key("services[0].provider"), "field-services-provider");
    // A nested field with its own label, and one that takes its leaf's.
    assert_eq!(field(Lang::Uk, "applicant.sex"), "Стать заявника");
    assert_eq!(field(Lang::Uk, "services[1].to"), "Дата завершення");
    assert_eq!(
        field_key_in(Lang::Uk, "assistance.plan.services.to").as_deref(),
        Some("field-services-to")
    );
    assert_eq!(field(Lang::En, "applicant.birth_year"), "Year of birth");
    assert_eq!(field_key_in(Lang::Uk, "no_such_field"), None);
    assert_eq!(field(Lang::Uk, "no_such.field_x"), "field-no_such-field_x");
}

#[test]
fn enum_keys_use_the_schema_name_in_snake_case() {
    assert_eq!(
        enum_key("ReferralSource", "police"),
        "enum-referral_source-police"
    );
    assert_eq!(
        enum_key("referral_source", "police"),
        "enum-referral_source-police"
    );
    assert_eq!(
        schema_key("Stage", "interview_done"),
        "stage-interview_done"
    );
    assert_eq!(schema_key("ClientAction", "add-note"), "action-add-note");
    assert_eq!(
        enum_label(Lang::Uk, "DecisionOutcome", "granted"),
        "Встановити статус"
    );
    assert_eq!(
        label(Lang::Uk, "stage", "interview_done"),
        "Співбесіду проведено"
    );
}

#[test]
fn a_deadline_name_is_labelled_by_its_kind() {
    assert_eq!(
        deadline(Lang::Uk, "verification_reply:vr-1"),
        t(Lang::Uk, "deadline-verification_reply")
    );
    assert_eq!(
        deadline(Lang::En, "file_submission"),
        "Submission of the file"
    );
}

#[test]
fn counted_phrases_take_the_plural_form_of_the_number() {
    let uk = |n| count(Lang::Uk, "count-days", n);
    assert_eq!(
        [uk(1), uk(3), uk(5), uk(11), uk(21), uk(22), uk(0)],
        [
            "1 день",
            "3 дні",
            "5 днів",
            "11 днів",
            "21 день",
            "22 дні",
            "0 днів"
        ]
    );
    assert_eq!(count(Lang::Uk, "count-working-days", 2), "2 робочі дні");
    assert_eq!(
        count(Lang::Uk, "count-days-left", 0),
        "Сьогодні останній день"
    );
    assert_eq!(count(Lang::En, "count-days", 1), "1 day");
    assert_eq!(count(Lang::En, "count-days-overdue", 4), "4 days overdue");
}

#[test]
fn the_dashboard_families_hold_whole_keys_of_the_asked_families_only() {
    let m = families(Lang::Uk, &["stage", "dashboard"]);
    assert_eq!(
        m.get("stage-closed").map(String::as_str),
        Some("Справу закрито")
    );
    assert!(m.contains_key("dashboard-title"));
    assert!(
        m.keys()
            .all(|k| k.starts_with("stage-") || k.starts_with("dashboard-")),
        "{m:?}"
    );
    // `status` is not a prefix of `stage`, and `web` keys are not asked for.
    assert!(!m
        .keys()
        .any(|k| k.starts_with("status-") || k.starts_with("web-")));
}

#[test]
fn languages_come_from_tags() {
    assert_eq!(Lang::from_tag("uk"), Some(Lang::Uk));
    assert_eq!(Lang::from_tag("en"), Some(Lang::En));
    assert_eq!(Lang::from_tag("de"), None);
}

#[test]
fn a_procedure_is_titled_from_the_catalogue_and_an_added_one_by_its_file() {
    let book = ptl_domain::RuleBook::builtin().unwrap();
    for d in book.definitions() {
        let uk = procedure_title(Lang::Uk, d);
        assert!(uk.starts_with("Постанова КМУ"), "{}: {uk}", d.id);
        assert_eq!(procedure_title(Lang::En, d), d.title, "{}", d.id);
    }
    let mut added = (*book.definitions()[0]).clone();
    added.id = "ua-added-by-an-administrator".into();
    added.title = "Порядок, доданий адміністратором".into();
    assert_eq!(procedure_title(Lang::Uk, &added), added.title);
    assert_eq!(procedure_title(Lang::En, &added), added.title);
}
