//! Action forms built from the REST API's action body schemas (`x-action-bodies` in the OpenAPI
//! document), and the converter from a posted form (`application/x-www-form-urlencoded`) to the
//! JSON body the REST endpoint takes (`web.md`, "For the browser tests"):
//!
//! - a scalar field is one input named as the API's field (`occurred_on`);
//! - a list of values repeats the name (`needs=shelter&needs=medical`);
//! - a nested field is dotted (`applicant.sex`);
//! - a list of objects is indexed (`services[0].service`, `services[0].provider`);
//! - integers and booleans become JSON numbers and booleans as the schema says; a value that does
//!   not parse is sent as text, so the API reports it on its field.
//!
//! Nothing here decides what is valid: the body goes to the same parser and application-layer
//! operation as the REST endpoint's, and their field errors come back to the form.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::page::Tr;

/// The OpenAPI document's component schemas and the action -> body schema table.
struct Schemas {
    components: Map<String, Value>,
    bodies: Map<String, Value>,
}

static SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| {
    let doc: Value = crate::http::openapi::document_json()
        .ok()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let components = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let bodies = match crate::http::openapi::action_bodies() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Schemas { components, bodies }
});

/// A value an input holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// `YYYY-MM-DD`.
    Date,
    /// Free text.
    Text,
    /// A whole number.
    Integer,
    /// Yes or no.
    Bool,
    /// One of a closed set: the schema's name (for the labels) and its values.
    Enum(String, Vec<String>),
    /// Anything (sent as text).
    Any,
}

/// The shape of a field of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One value.
    One(Scalar),
    /// A list of values (the name repeated).
    List(Scalar),
    /// A nested object (dotted names).
    Object(Vec<Prop>),
    /// A list of objects (indexed names).
    Objects(Vec<Prop>),
}

/// A field of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// The API's field name.
    pub name: String,
    /// Required by the schema.
    pub required: bool,
    /// Its shape.
    pub shape: Shape,
}

fn resolve<'a>(v: &'a Value, components: &'a Map<String, Value>) -> (&'a Value, Option<String>) {
    let mut v = v;
    let mut name = None;
    for _ in 0..8 {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let n = r.rsplit('/').next().unwrap_or(r);
            name = Some(n.to_string());
            match components.get(n) {
                Some(next) => v = next,
                None => break,
            }
        } else if let Some(alts) = v
            .get("oneOf")
            .or_else(|| v.get("anyOf"))
            .and_then(Value::as_array)
        {
            // `oneOf [null, X]`: an optional X.
            match alts
                .iter()
                .find(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            {
                Some(next) => v = next,
                None => break,
            }
        } else {
            break;
        }
    }
    (v, name)
}

fn type_of(v: &Value) -> Option<&str> {
    match v.get("type") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn scalar(v: &Value, name: Option<String>) -> Scalar {
    if let Some(values) = v.get("enum").and_then(Value::as_array) {
        return Scalar::Enum(
            name.unwrap_or_default(),
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        );
    }
    match type_of(v) {
        Some("string") if v.get("format").and_then(Value::as_str) == Some("date") => Scalar::Date,
        Some("string") => Scalar::Text,
        Some("integer" | "number") => Scalar::Integer,
        Some("boolean") => Scalar::Bool,
        _ => Scalar::Any,
    }
}

fn props(v: &Value, components: &Map<String, Value>) -> Vec<Prop> {
    let required: Vec<&str> = v
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = v.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, schema)| Prop {
            name: name.clone(),
            required: required.contains(&name.as_str()),
            shape: shape(schema, components),
        })
        .collect()
}

fn shape(v: &Value, components: &Map<String, Value>) -> Shape {
    let (v, name) = resolve(v, components);
    match type_of(v) {
        Some("array") => {
            let items = v.get("items").unwrap_or(&Value::Null);
            let (item, item_name) = resolve(items, components);
            if type_of(item) == Some("object") {
                Shape::Objects(props(item, components))
            } else {
                Shape::List(scalar(item, item_name))
            }
        }
        Some("object") => Shape::Object(props(v, components)),
        _ => Shape::One(scalar(v, name)),
    }
}

/// The fields of an action's body, in the schema's order; `None` for an action without a body
/// schema (not a client action).
#[must_use]
pub fn action_props(action: &str) -> Option<Vec<Prop>> {
    let s = &*SCHEMAS;
    let body = s.bodies.get(action)?;
    let (v, _) = resolve(body, &s.components);
    let mut p = props(v, &s.components);
    // The business date first, as people fill a form.
    p.sort_by_key(|p| p.name != "occurred_on");
    Some(p)
}

/// What was posted, by input name, in order.
pub type Filled = BTreeMap<String, Vec<String>>;

/// Collects posted pairs by name.
#[must_use]
pub fn filled(pairs: &[(String, String)]) -> Filled {
    let mut m = Filled::new();
    for (k, v) in pairs {
        m.entry(k.clone()).or_default().push(v.clone());
    }
    m
}

fn convert(s: &Scalar, raw: &str) -> Value {
    match s {
        Scalar::Integer => raw
            .trim()
            .parse::<i64>()
            .map_or_else(|_| Value::String(raw.to_string()), Value::from),
        Scalar::Bool => Value::Bool(matches!(raw, "true" | "on" | "1")),
        _ => Value::String(raw.to_string()),
    }
}

/// The indices used under `prefix[` (`services[0].service` -> 0), sorted.
fn indices(form: &Filled, prefix: &str) -> Vec<usize> {
    let head = format!("{prefix}[");
    let mut found: Vec<usize> = form
        .keys()
        .filter_map(|k| k.strip_prefix(&head))
        .filter_map(|rest| rest.split_once(']'))
        .filter_map(|(n, _)| n.parse().ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

fn object(props: &[Prop], form: &Filled, prefix: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for p in props {
        let name = if prefix.is_empty() {
            p.name.clone()
        } else {
            format!("{prefix}.{}", p.name)
        };
        let values: Vec<&str> = form
            .get(&name)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        match &p.shape {
            Shape::One(Scalar::Bool) => {
                // An unticked checkbox sends nothing: no.
                out.insert(
                    p.name.clone(),
                    Value::Bool(values.iter().any(|v| matches!(*v, "true" | "on" | "1"))),
                );
            }
            Shape::One(s) => {
                if let Some(v) = values.iter().find(|v| !v.trim().is_empty()) {
                    out.insert(p.name.clone(), convert(s, v));
                }
            }
            Shape::List(s) => {
                let items: Vec<Value> = values
                    .iter()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| convert(s, v))
                    .collect();
                if !items.is_empty() || p.required {
                    out.insert(p.name.clone(), Value::Array(items));
                }
            }
            Shape::Object(inner) => {
                let o = object(inner, form, &name);
                if !o.is_empty() || p.required {
                    out.insert(p.name.clone(), Value::Object(o));
                }
            }
            Shape::Objects(inner) => {
                let items: Vec<Value> = indices(form, &name)
                    .into_iter()
                    .filter_map(|i| {
                        let entry = format!("{name}[{i}]");
                        let filled_any = form.iter().any(|(k, v)| {
                            k.starts_with(&format!("{entry}."))
                                && v.iter().any(|x| !x.trim().is_empty())
                        });
                        filled_any.then(|| Value::Object(object(inner, form, &entry)))
                    })
                    .collect();
                if !items.is_empty() || p.required {
                    out.insert(p.name.clone(), Value::Array(items));
                }
            }
        }
    }
    out
}

/// The JSON body a posted form stands for, per the body's fields (other inputs, such as
/// `csrf_token`, are not part of it).
#[must_use]
pub fn to_body(props: &[Prop], form: &Filled) -> Value {
    Value::Object(object(props, form, ""))
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/// How an input is drawn.
#[derive(Debug, Clone)]
pub enum Widget {
    /// `<input type="date">`.
    Date,
    /// `<input type="text">`.
    Text,
    /// `<textarea>`.
    Note,
    /// `<input type="number">`.
    Number,
    /// A checkbox with the value `true`.
    Check,
    /// A select of labelled options `(value, label)`.
    Select(Vec<(String, String)>),
    /// Checkboxes, one per option, all with the same name.
    Checks(Vec<(String, String)>),
}

/// One input (or one set of checkboxes) of a form.
#[derive(Debug, Clone)]
pub struct Input {
    /// The input's name (the API's field path).
    pub name: String,
    /// Its element id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Marked required (and `required` for the browser).
    pub required: bool,
    /// How it is drawn.
    pub widget: Widget,
    /// The value(s) it holds.
    pub values: Vec<String>,
    /// The error about it, if any.
    pub error: Option<String>,
}

impl Input {
    /// The first value (text inputs).
    #[must_use]
    pub fn value(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }

    /// Whether `v` is among the values (selects, checkboxes).
    #[must_use]
    pub fn has(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }

    /// The id of the error's paragraph.
    #[must_use]
    pub fn error_id(&self) -> String {
        format!("{}-error", self.id)
    }
}

/// A group of inputs (`legend` for an entry of a list of objects).
#[derive(Debug, Clone)]
pub struct Group {
    /// The fieldset's legend, if it is one.
    pub legend: Option<String>,
    /// Its inputs.
    pub inputs: Vec<Input>,
}

/// Text inputs offered for a list of texts, and entries for a list of objects, beyond those
/// filled.
const LIST_ROWS: usize = 2;

fn element_id(action: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("f-{action}-{clean}")
}

fn options(tr: Tr, type_name: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| (v.clone(), crate::i18n::enum_label(tr.0, type_name, v)))
        .collect()
}

/// What a form is drawn with: the language, today's date, what was typed, and the errors.
#[derive(Debug)]
pub struct Fill<'a> {
    /// Translation.
    pub tr: Tr,
    /// Today in Kyiv (`YYYY-MM-DD`), the default of the required dates.
    pub today: String,
    /// What the user typed (a re-rendered form), if anything.
    pub form: Option<&'a Filled>,
    /// Field errors by path.
    pub errors: &'a BTreeMap<String, String>,
}

impl Fill<'_> {
    fn error(&self, name: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(path, _)| {
                *path == name
                    || path
                        .strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with('[') && !rest.contains('.'))
            })
            .map(|(_, m)| m.clone())
    }

    fn values(&self, name: &str) -> Option<Vec<String>> {
        self.form.map(|f| f.get(name).cloned().unwrap_or_default())
    }
}

fn input(
    action: &str,
    p: &Prop,
    name: String,
    scalar: &Scalar,
    list: bool,
    fill: &Fill<'_>,
    required: bool,
) -> Input {
    let tr = fill.tr;
    let label = crate::i18n::field(tr.0, &name);
    let (widget, default) = match (scalar, list) {
        (Scalar::Enum(t, values), false) => (Widget::Select(options(tr, t, values)), Vec::new()),
        (Scalar::Enum(t, values), true) => (Widget::Checks(options(tr, t, values)), Vec::new()),
        (Scalar::Date, _) => (
            Widget::Date,
            if required && !list {
                vec![fill.today.clone()]
            } else {
                Vec::new()
            },
        ),
        (Scalar::Integer, _) => (Widget::Number, Vec::new()),
        (Scalar::Bool, _) => (Widget::Check, Vec::new()),
        (Scalar::Text | Scalar::Any, _)
            if matches!(p.name.as_str(), "text" | "reason" | "note") =>
        {
            (Widget::Note, Vec::new())
        }
        _ => (Widget::Text, Vec::new()),
    };
    Input {
        id: element_id(action, &name),
        error: fill.error(&name),
        values: fill.values(&name).unwrap_or(default),
        name,
        label,
        required,
        widget,
    }
}

/// The groups of inputs of an action's form.
#[must_use]
pub fn groups(action: &str, props: &[Prop], fill: &Fill<'_>) -> Vec<Group> {
    let mut top = Group {
        legend: None,
        inputs: Vec::new(),
    };
    let mut more = Vec::new();
    walk(action, props, "", fill, &mut top, &mut more);
    let mut all = vec![top];
    all.extend(more);
    all.retain(|g| !g.inputs.is_empty());
    all
}

fn walk(
    action: &str,
    props: &[Prop],
    prefix: &str,
    fill: &Fill<'_>,
    into: &mut Group,
    more: &mut Vec<Group>,
) {
    let tr = fill.tr;
    for p in props {
        let name = if prefix.is_empty() {
            p.name.clone()
        } else {
            format!("{prefix}.{}", p.name)
        };
        match &p.shape {
            Shape::One(s) => {
                let required = p.required && *s != Scalar::Bool;
                into.inputs
                    .push(input(action, p, name, s, false, fill, required));
            }
            Shape::List(s @ Scalar::Enum(..)) => {
                into.inputs
                    .push(input(action, p, name, s, true, fill, false));
            }
            Shape::List(s) => {
                // One text input per value, the name repeated, with room for more.
                let typed = fill.values(&name).unwrap_or_default();
                let rows = typed.len().max(1) + LIST_ROWS - 1;
                for i in 0..rows {
                    let mut one =
                        input(action, p, name.clone(), s, true, fill, p.required && i == 0);
                    one.id = format!("{}-{i}", one.id);
                    one.values = typed.get(i).cloned().into_iter().collect();
                    if i > 0 {
                        one.error = None;
                    }
                    into.inputs.push(one);
                }
            }
            Shape::Object(inner) => walk(action, inner, &name, fill, into, more),
            Shape::Objects(inner) => {
                let typed = fill.form.map(|f| indices(f, &name)).unwrap_or_default();
                let count = typed.last().map_or(0, |i| i + 1).max(LIST_ROWS);
                for i in 0..count {
                    let mut g = Group {
                        legend: Some(format!("{} {}", crate::i18n::field(tr.0, &name), i + 1)),
                        inputs: Vec::new(),
                    };
                    let entry = format!("{name}[{i}]");
                    let mut nested = Vec::new();
                    let inner: Vec<Prop> = inner
                        .iter()
                        .map(|q| Prop {
                            required: q.required && p.required && i == 0,
                            ..q.clone()
                        })
                        .collect();
                    walk(action, &inner, &entry, fill, &mut g, &mut nested);
                    more.push(g);
                    more.extend(nested);
                }
            }
        }
    }
}

/// The kind of value the field `name` of `props` holds (dotted names reach into objects, list
/// indices are ignored), for showing a typed value in words.
#[must_use]
pub fn scalar_of(props: &[Prop], name: &str) -> Option<Scalar> {
    let clean: String = {
        let mut out = String::new();
        let mut skipping = false;
        for c in name.chars() {
            match c {
                '[' => skipping = true,
                ']' => skipping = false,
                c if !skipping => out.push(c),
                _ => {}
            }
        }
        out
    };
    let mut parts = clean.split('.');
    let first = parts.next()?;
    let prop = props.iter().find(|p| p.name == first)?;
    let rest: Vec<&str> = parts.collect();
    match (&prop.shape, rest.is_empty()) {
        (Shape::One(s) | Shape::List(s), true) => Some(s.clone()),
        (Shape::Object(inner) | Shape::Objects(inner), false) => scalar_of(inner, &rest.join(".")),
        _ => None,
    }
}

/// A typed value in words: a date as people write it, an enumeration's label, yes or no.
#[must_use]
pub fn value_in_words(tr: Tr, scalar: Option<&Scalar>, value: &str) -> String {
    match scalar {
        Some(Scalar::Date) => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_or_else(|_| value.to_string(), |d| tr.date(&d)),
        Some(Scalar::Enum(type_name, _)) => crate::i18n::enum_label(tr.0, type_name, value),
        Some(Scalar::Bool) => match value {
            "true" => tr.t("web-case-yes"),
            "false" => tr.t("web-case-no"),
            other => other.to_string(),
        },
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Filled {
        filled(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect::<Vec<_>>(),
        )
    }

    fn body(action: &str, pairs: &[(&str, &str)]) -> Value {
        to_body(&action_props(action).unwrap(), &form(pairs))
    }

    #[test]
    fn every_client_action_has_a_form() {
        for a in crate::schema::client_actions() {
            let p = action_props(a.as_str()).unwrap_or_default();
            assert!(
                p.iter().any(|p| p.name == "occurred_on" && p.required),
                "{a}"
            );
            assert_eq!(p[0].name, "occurred_on");
        }
        assert!(action_props("register").is_none());
    }

    #[test]
    fn the_shapes_come_from_the_schemas() {
        let p = action_props("record-consent").unwrap();
        let scope = p.iter().find(|p| p.name == "scope").unwrap();
        assert!(scope.required);
        assert!(
            matches!(&scope.shape, Shape::One(Scalar::Enum(t, v)) if t == "ConsentScope" && !v.is_empty())
        );
        let p = action_props("approve-rehabilitation-plan").unwrap();
        let services = p.iter().find(|p| p.name == "services").unwrap();
        assert!(matches!(&services.shape, Shape::Objects(inner) if inner.len() == 4));
        let p = action_props("record-decision").unwrap();
        let grounds = p.iter().find(|p| p.name == "grounds").unwrap();
        assert_eq!(grounds.shape, Shape::List(Scalar::Text));
        assert!(!grounds.required);
    }

    #[test]
    fn scalars_numbers_and_booleans_follow_the_schema() {
        assert_eq!(
            body(
                "record-payment",
                &[
                    ("occurred_on", "2026-03-02"),
                    ("amount_kopiyky", "150000"),
                    ("csrf_token", "x")
                ]
            ),
            serde_json::json!({"occurred_on": "2026-03-02", "amount_kopiyky": 150_000})
        );
        // A number that does not parse goes as text: the API names the field.
        assert_eq!(
            body(
                "record-payment",
                &[("occurred_on", "2026-03-02"), ("amount_kopiyky", "12 грн")]
            ),
            serde_json::json!({"occurred_on": "2026-03-02", "amount_kopiyky": "12 грн"})
        );
        assert_eq!(
            body(
                "record-interview",
                &[
                    ("occurred_on", "2026-03-02"),
                    ("consent_signed_by", "person"),
                    ("non_disclosure_receipt_signed", "true")
                ]
            ),
            serde_json::json!({"occurred_on": "2026-03-02", "consent_signed_by": "person", "non_disclosure_receipt_signed": true})
        );
        // An unticked box is no; an empty optional field is left out; a missing required one
        // is left out for the API to report.
        assert_eq!(
            body(
                "record-interview",
                &[("occurred_on", ""), ("consent_signed_by", "person")]
            ),
            serde_json::json!({"consent_signed_by": "person", "non_disclosure_receipt_signed": false})
        );
        assert_eq!(
            body(
                "record-decision",
                &[
                    ("occurred_on", "2026-03-02"),
                    ("outcome", "granted"),
                    ("certificate_no", " "),
                    ("grounds", "")
                ]
            ),
            serde_json::json!({"occurred_on": "2026-03-02", "outcome": "granted"})
        );
    }

    #[test]
    fn repeated_names_are_lists_and_indexed_names_lists_of_objects() {
        assert_eq!(
            body(
                "record-needs-assessment",
                &[
                    ("occurred_on", "2026-03-02"),
                    ("needs", "shelter"),
                    ("needs", "medical")
                ]
            ),
            serde_json::json!({"occurred_on": "2026-03-02", "needs": ["shelter", "medical"]})
        );
        assert_eq!(
            body(
                "return-file",
                &[
                    ("occurred_on", "2026-03-02"),
                    ("missing", "a"),
                    ("missing", ""),
                    ("missing", "b")
                ]
            ),
            serde_json::json!({"occurred_on": "2026-03-02", "missing": ["a", "b"]})
        );
        // A required list with nothing in it is sent empty (the API says what it needs).
        assert_eq!(
            body("record-needs-assessment", &[("occurred_on", "2026-03-02")]),
            serde_json::json!({"occurred_on": "2026-03-02", "needs": []})
        );
        assert_eq!(
            body(
                "approve-rehabilitation-plan",
                &[
                    ("occurred_on", "2026-03-02"),
                    ("written_consent", "true"),
                    ("services[1].service", "medical"),
                    ("services[1].provider", "Clinic"),
                    ("services[0].service", "shelter"),
                    ("services[0].provider", "Shelter 1"),
                    ("services[0].from", "2026-03-03"),
                    ("services[0].to", ""),
                    ("services[2].service", ""),
                    ("services[2].provider", ""),
                ]
            ),
            serde_json::json!({
                "occurred_on": "2026-03-02",
                "written_consent": true,
                "services": [
                    {"service": "shelter", "provider": "Shelter 1", "from": "2026-03-03"},
                    {"service": "medical", "provider": "Clinic"},
                ],
            })
        );
    }

    #[test]
    fn dotted_names_are_nested_objects() {
        let props = vec![
            Prop {
                name: "applicant".into(),
                required: true,
                shape: Shape::Object(vec![
                    Prop {
                        name: "sex".into(),
                        required: true,
                        shape: Shape::One(Scalar::Text),
                    },
                    Prop {
                        name: "birth_year".into(),
                        required: true,
                        shape: Shape::One(Scalar::Integer),
                    },
                ]),
            },
            Prop {
                name: "referral".into(),
                required: false,
                shape: Shape::Object(vec![Prop {
                    name: "source".into(),
                    required: false,
                    shape: Shape::One(Scalar::Text),
                }]),
            },
        ];
        assert_eq!(
            to_body(
                &props,
                &form(&[
                    ("applicant.sex", "female"),
                    ("applicant.birth_year", "1990"),
                    ("referral.source", "")
                ])
            ),
            serde_json::json!({"applicant": {"sex": "female", "birth_year": 1990}})
        );
    }

    #[test]
    fn forms_name_their_inputs_as_the_api_and_keep_what_was_typed() {
        let tr = Tr(crate::i18n::Lang::Uk);
        let typed = form(&[
            ("occurred_on", "2026-03-01"),
            ("services[0].service", "shelter"),
            ("services[2].provider", "X"),
        ]);
        let errors = BTreeMap::from([("services[2].provider".to_string(), "bad".to_string())]);
        let fill = Fill {
            tr,
            today: "2026-03-05".into(),
            form: Some(&typed),
            errors: &errors,
        };
        let props = action_props("approve-rehabilitation-plan").unwrap();
        let g = groups("approve-rehabilitation-plan", &props, &fill);
        let names: Vec<&str> = g
            .iter()
            .flat_map(|g| g.inputs.iter().map(|i| i.name.as_str()))
            .collect();
        assert!(names.contains(&"occurred_on"));
        assert!(names.contains(&"services[0].service"));
        assert!(names.contains(&"services[2].provider"));
        let first = &g[0].inputs[0];
        assert_eq!(first.value(), "2026-03-01");
        let bad = g
            .iter()
            .flat_map(|g| &g.inputs)
            .find(|i| i.name == "services[2].provider")
            .unwrap();
        assert_eq!(bad.error.as_deref(), Some("bad"));
        assert_eq!(bad.value(), "X");
        // A fresh form: today in the required date.
        let fresh = Fill {
            tr,
            today: "2026-03-05".into(),
            form: None,
            errors: &BTreeMap::new(),
        };
        let g = groups(
            "record-consent",
            &action_props("record-consent").unwrap(),
            &fresh,
        );
        assert_eq!(g[0].inputs[0].value(), "2026-03-05");
        assert!(matches!(&g[0].inputs[1].widget, Widget::Select(o) if !o.is_empty()));
    }
}
