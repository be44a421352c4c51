//! The translation catalogue (Project Fluent): one set of `.ftl` files per language under
//! `api/i18n/<lang>/`, compiled into the binary, shared by the web pages, the dashboard and the
//! API's problem titles. Ukrainian first; English second.
//!
//! # Keys
//!
//! Every code a person can see has a label; pages never print a raw code. Codes keep their own
//! spelling (underscores and the actions' hyphens), so a key is the family, `-`, and the code:
//!
//! | what | key | helper |
//! | --- | --- | --- |
//! | stage (`ptl_domain::Stage`) | `stage-interview_done` | `label(lang, "stage", code)` |
//! | status (`ptl_domain::Status`) | `status-granted` | `label(lang, "status", code)` |
//! | role (`ptl_domain::Role`) | `role-social_worker` | `label(lang, "role", code)` |
//! | action (`ptl_domain::ActionName`, kebab-case) | `action-record-decision` | `label(lang, "action", name)` |
//! | deadline kind (`DeadlineKind`) | `deadline-file_submission` | [`deadline`] (also takes a deadline *name* such as `verification_reply:vr-1`) |
//! | history event (`EventBody::type_name`) | `event-status_granted` (a sentence: "The status was granted") | `label(lang, "event", type)` |
//! | problem code (`code` of a problem) | `problem-date_in_future` | [`problem_title`] |
//! | value of a closed set | `enum-<type>-<value>`, `<type>` the OpenAPI schema name in snake_case: `enum-referral_source-police`, `enum-decision_outcome-granted`, `enum-need-legal_aid` | [`enum_key`], [`enum_label`]; [`schema_key`] for any OpenAPI enum schema (it maps `Stage`, `Status`, `Role`, `DeadlineKind`, `ClientAction` to their own families above) |
//! | field of a body (the API's dotted path) | `field-<path>` with `.` → `-` and list indices dropped: `applicant.sex` → `field-applicant-sex`, `services[0].provider` → `field-services-provider` | [`field_key`]; [`field`] looks up the full path, then ever shorter tails, ending with the leaf: `assistance.plan.services.to` → `field-assistance-plan-services-to`, `field-plan-services-to`, `field-services-to`, `field-to` |
//! | statistics figure (`Figures`) | `figure-open_cases` | `label(lang, "figure", name)` |
//! | purpose of reading personal data | `purpose-case_work` | `label(lang, "purpose", code)` |
//! | counted phrase | `count-days`, `count-working-days`, `count-calendar-days`, `count-months`, `count-days-left`, `count-days-overdue`, `count-cases` (Fluent plural forms) | [`count`] |
//! | dashboard texts | `dashboard-...` | served with the labels at `/i18n/{lang}.json` |
//! | pages' own texts | `web-<area>-...` in `web-<area>.ftl` | [`t`], [`t_args`] |
//!
//! Offices are named from the office tree (`name_uk`, `name_en`), not from the catalogue.
//!
//! A key missing from a language falls back to the other language and then to the key itself;
//! tests check that every code the domain and the OpenAPI document know has a key in both
//! languages, and that the files load without an error ([`load_errors`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::header::{HeaderMap, ACCEPT_LANGUAGE};
use chrono::NaiveDate;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language of the catalogue: Ukrainian or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the API's default for problem titles).
    #[default]
    En,
    /// Ukrainian.
    Uk,
}

impl Lang {
    /// Both languages, Ukrainian first.
    pub const ALL: [Self; 2] = [Self::Uk, Self::En];

    /// Picks the preferred supported language of an `Accept-Language` value (`uk-UA,uk;q=0.9`
    /// gives Ukrainian); English when none is supported or the header is absent or unreadable.
    #[must_use]
    pub fn from_accept_language(value: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0_f32;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "uk" => Self::Uk,
                "en" => Self::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::En, |(_, l)| l)
    }

    /// The language asked for by a request's headers.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Self::En, Self::from_accept_language)
    }

    /// The language tag (`Content-Language`, `<html lang>`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Uk => "uk",
        }
    }

    /// The language named by a tag (`uk`, `en`), if it is one of ours.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "uk" => Some(Self::Uk),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

/// The catalogue's files, by area: `(area, Ukrainian text, English text)`.
const FILES: &[(&str, &str, &str)] = &[
    (
        "web-integrity",
        include_str!("../i18n/uk/web-integrity.ftl"),
        include_str!("../i18n/en/web-integrity.ftl"),
    ),
    (
        "web",
        include_str!("../i18n/uk/web.ftl"),
        include_str!("../i18n/en/web.ftl"),
    ),
    (
        "web-lists",
        include_str!("../i18n/uk/web-lists.ftl"),
        include_str!("../i18n/en/web-lists.ftl"),
    ),
    (
        "domain",
        include_str!("../i18n/uk/domain.ftl"),
        include_str!("../i18n/en/domain.ftl"),
    ),
    (
        "problems",
        include_str!("../i18n/uk/problems.ftl"),
        include_str!("../i18n/en/problems.ftl"),
    ),
    (
        "dashboard",
        include_str!("../i18n/uk/dashboard.ftl"),
        include_str!("../i18n/en/dashboard.ftl"),
    ),
    (
        "web-admin",
        include_str!("../i18n/uk/web-admin.ftl"),
        include_str!("../i18n/en/web-admin.ftl"),
    ),
    (
        "web-seclog",
        include_str!("../i18n/uk/web-seclog.ftl"),
        include_str!("../i18n/en/web-seclog.ftl"),
    ),
    (
        "web-status",
        include_str!("../i18n/uk/web-status.ftl"),
        include_str!("../i18n/en/web-status.ftl"),
    ),
    (
        "web-report",
        include_str!("../i18n/uk/web-report.ftl"),
        include_str!("../i18n/en/web-report.ftl"),
    ),
    (
        "sso",
        include_str!("../i18n/uk/sso.ftl"),
        include_str!("../i18n/en/sso.ftl"),
    ),
    (
        "web-case",
        include_str!("../i18n/uk/web-case.ftl"),
        include_str!("../i18n/en/web-case.ftl"),
    ),
    (
        "web-audit",
        include_str!("../i18n/uk/web-audit.ftl"),
        include_str!("../i18n/en/web-audit.ftl"),
    ),
];

struct Bundle {
    bundle: FluentBundle<FluentResource>,
    /// Every message id, in file order (for [`families`]).
    ids: Vec<String>,
}

struct Catalogue {
    uk: Bundle,
    en: Bundle,
    /// What went wrong while loading: syntax errors and duplicate keys, one line each.
    errors: Vec<String>,
}

fn bundle(
    lang: &str,
    texts: impl Iterator<Item = (&'static str, &'static str)>,
    errors: &mut Vec<String>,
) -> Bundle {
    let id: unic_langid::LanguageIdentifier = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    let mut ids = Vec::new();
    for (area, text) in texts {
        let res = match FluentResource::try_new(text.to_string()) {
            Ok(res) => res,
            Err((res, parse_errors)) => {
                for e in parse_errors {
                    errors.push(format!("{lang}/{area}.ftl: syntax error: {e:?}"));
                }
                res
            }
        };
        ids.extend(message_ids(text));
        if let Err(add_errors) = bundle.add_resource(res) {
            for e in add_errors {
                errors.push(format!("{lang}/{area}.ftl: {e}"));
            }
        }
    }
    Bundle { bundle, ids }
}

/// The ids of the messages of a file: lines that start with an identifier and `=` (a term starts
/// with `-`, a comment with `#`, and a continuation line is indented).
fn message_ids(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().filter_map(|line| {
        let (id, _) = line.split_once('=')?;
        let id = id.trim_end();
        let mut chars = id.chars();
        let first = chars.next()?;
        (first.is_ascii_alphabetic()
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .then(|| id.to_string())
    })
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let mut errors = Vec::new();
    let uk = bundle("uk", FILES.iter().map(|(a, uk, _)| (*a, *uk)), &mut errors);
    let en = bundle("en", FILES.iter().map(|(a, _, en)| (*a, *en)), &mut errors);
    for e in &errors {
        tracing::error!(error = %e, "translation catalogue");
    }
    Catalogue { uk, en, errors }
});

fn of(lang: Lang) -> &'static Bundle {
    let c = &*CATALOGUE;
    match lang {
        Lang::Uk => &c.uk,
        Lang::En => &c.en,
    }
}

/// The catalogue's load errors (unreadable entries, duplicate keys), each naming its file; empty
/// when every file loaded cleanly. A test keeps it empty.
#[must_use]
pub fn load_errors() -> &'static [String] {
    &CATALOGUE.errors
}

fn lookup(
    bundle: &FluentBundle<FluentResource>,
    key: &str,
    args: Option<&FluentArgs<'_>>,
) -> Option<String> {
    let message = bundle.get_message(key)?;
    let pattern = message.value()?;
    let mut errors = Vec::new();
    Some(
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned(),
    )
}

fn translate(lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> String {
    let other = match lang {
        Lang::Uk => Lang::En,
        Lang::En => Lang::Uk,
    };
    lookup(&of(lang).bundle, key, args)
        .or_else(|| lookup(&of(other).bundle, key, args))
        .unwrap_or_else(|| key.to_string())
}

/// The text of `key` in `lang`.
#[must_use]
pub fn t(lang: Lang, key: &str) -> String {
    translate(lang, key, None)
}

/// The text of `key` in `lang` with named arguments (`{ $name }` in the catalogue), as strings.
#[must_use]
pub fn t_args(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut fa = FluentArgs::new();
    for (name, value) in args {
        fa.set(*name, FluentValue::from(value.to_string()));
    }
    translate(lang, key, Some(&fa))
}

/// A counted phrase: `key` with the number `$count`, in the plural form the language needs
/// (`count(Lang::Uk, "count-days", 3)` is "3 дні", 5 gives "5 днів", 21 "21 день").
#[must_use]
pub fn count(lang: Lang, key: &str, count: i64) -> String {
    let mut fa = FluentArgs::new();
    fa.set("count", FluentValue::from(count));
    translate(lang, key, Some(&fa))
}

/// A procedure definition's title in `lang`: the catalogue's `procedure-title-<id>` for the
/// definitions shipped with the engine, else the title written in the definition's file (one an
/// administrator added, in the words they wrote).
#[must_use]
pub fn procedure_title(lang: Lang, d: &ptl_domain::procedure::ProcedureDefinition) -> String {
    let key = format!("procedure-title-{}", d.id);
    if has(lang, &key) {
        t(lang, &key)
    } else {
        d.title.clone()
    }
}

/// Whether `key` exists in `lang` itself (no fallback).
#[must_use]
pub fn has(lang: Lang, key: &str) -> bool {
    of(lang)
        .bundle
        .get_message(key)
        .and_then(|m| m.value())
        .is_some()
}

/// A date as people write it: `дд.мм.рррр` in Ukrainian, `dd/mm/yyyy` in English.
#[must_use]
pub fn date(lang: Lang, d: NaiveDate) -> String {
    match lang {
        Lang::Uk => d.format("%d.%m.%Y").to_string(),
        Lang::En => d.format("%d/%m/%Y").to_string(),
    }
}

/// The label of a code in a family (`t(lang, "<family>-<code>")`), e.g. `label(lang, "stage",
/// "interview_done")`, `label(lang, "action", "record-decision")`.
#[must_use]
pub fn label(lang: Lang, family: &str, code: &str) -> String {
    t(lang, &format!("{family}-{code}"))
}

/// The key of a value of a closed set: `enum-<type>-<value>`, `type` in snake_case as the
/// OpenAPI schema's name (`ReferralSource` or `referral_source` both give
/// `enum-referral_source-police`).
#[must_use]
pub fn enum_key(type_name: &str, value: &str) -> String {
    format!("enum-{}-{value}", snake_case(type_name))
}

/// The label of a value of a closed set (see [`enum_key`]).
#[must_use]
pub fn enum_label(lang: Lang, type_name: &str, value: &str) -> String {
    t(lang, &enum_key(type_name, value))
}

/// The key of a value of any OpenAPI enum schema, by the schema's name: `Stage`, `Status`,
/// `Role`, `DeadlineKind` and `ClientAction` have their own families (`stage-...`, `status-...`,
/// `role-...`, `deadline-...`, `action-...`), every other schema is an [`enum_key`].
#[must_use]
pub fn schema_key(schema: &str, value: &str) -> String {
    match schema {
        "Stage" => format!("stage-{value}"),
        "Status" => format!("status-{value}"),
        "Role" => format!("role-{value}"),
        "DeadlineKind" => format!("deadline-{value}"),
        "ClientAction" | "ActionName" => format!("action-{value}"),
        other => enum_key(other, value),
    }
}

/// `ReferralSource` → `referral_source`; a name already in snake_case stays as it is.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The key of a field by the API's path: `field-` and the path with list indices dropped and
/// dots turned into hyphens (a dot may not appear in a Fluent id): `occurred_on` →
/// `field-occurred_on`, `applicant.sex` → `field-applicant-sex`, `services[0].provider` →
/// `field-services-provider`.
#[must_use]
pub fn field_key(path: &str) -> String {
    let mut key = String::from("field-");
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            _ if in_index => {}
            '.' => key.push('-'),
            c => key.push(c),
        }
    }
    key
}

/// The key that labels a field in `lang`: the full path's [`field_key`] if the catalogue has it,
/// else the key of ever shorter tails of the path (`assistance.plan.services.to` tries
/// `field-assistance-plan-services-to`, `field-plan-services-to`, `field-services-to`,
/// `field-to`); `None` if none exists.
#[must_use]
pub fn field_key_in(lang: Lang, path: &str) -> Option<String> {
    let full = field_key(path);
    let tail = &full["field-".len()..];
    let mut rest = tail;
    loop {
        let key = format!("field-{rest}");
        if has(lang, &key) {
            return Some(key);
        }
        rest = rest.split_once('-').map(|(_, r)| r)?;
    }
}

/// The label of a field by the API's path (see [`field_key_in`]); the other language's label,
/// then the full key, when `lang` has none.
#[must_use]
pub fn field(lang: Lang, path: &str) -> String {
    let other = match lang {
        Lang::Uk => Lang::En,
        Lang::En => Lang::Uk,
    };
    field_key_in(lang, path)
        .or_else(|| field_key_in(other, path))
        .map_or_else(|| field_key(path), |k| t(lang, &k))
}

/// The label of a deadline by its kind or its name: `file_submission`, or
/// `verification_reply:<request id>` (labelled as its kind, `verification_reply`).
#[must_use]
pub fn deadline(lang: Lang, name: &str) -> String {
    let kind = name.split_once(':').map_or(name, |(k, _)| k);
    label(lang, "deadline", kind)
}

/// The title of a problem by its code (`problem-<code>`); the generic family title for a code the
/// catalogue does not name (`problem-validation_failed` for a 422, `problem-internal` otherwise).
#[must_use]
pub fn problem_title(lang: Lang, code: &str, fallback_code: &str) -> String {
    let key = format!("problem-{code}");
    if has(lang, &key) || has(Lang::En, &key) {
        t(lang, &key)
    } else {
        t(lang, &format!("problem-{fallback_code}"))
    }
}

/// Every message of the families `families` in `lang` (with the other language's text for a key
/// only it has), keyed by the whole key: what the dashboard's `/i18n/{lang}.json` serves.
#[must_use]
pub fn families(lang: Lang, families: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in [lang, if lang == Lang::Uk { Lang::En } else { Lang::Uk }] {
        for id in &of(l).ids {
            let in_family = families
                .iter()
                .any(|f| id.strip_prefix(f).is_some_and(|rest| rest.starts_with('-')));
            if in_family && !out.contains_key(id) {
                out.insert(id.clone(), t(lang, id));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
