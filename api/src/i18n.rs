//! The translation catalogue (Project Fluent): one set of `.ftl` files per language under
//! `api/i18n/<lang>/`, compiled into the binary, shared by the web pages, the dashboard and the
//! API's problem titles. Ukrainian first; English second.
//!
//! Keys name what a person reads: `stage-<code>`, `status-<code>`, `action-<name>`,
//! `field-<name>`, `enum-<type>-<value>`, `office-<code>`, `role-<code>`, `problem-<code>`,
//! `event-<type>`, and `web-...` for the pages' own texts. A key missing from a language falls
//! back to the other language and then to the key itself (a test checks none is missing).

use std::sync::LazyLock;

use chrono::NaiveDate;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub use crate::http::error::Lang;

/// The catalogue's files, by area: `(area, Ukrainian text, English text)`.
const FILES: &[(&str, &str, &str)] = &[(
    "web",
    include_str!("../i18n/uk/web.ftl"),
    include_str!("../i18n/en/web.ftl"),
)];

struct Catalogue {
    uk: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(
    lang: &str,
    texts: impl Iterator<Item = (&'static str, &'static str)>,
) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    for (area, text) in texts {
        match FluentResource::try_new(text.to_string()) {
            Ok(res) => {
                if let Err(errors) = bundle.add_resource(res) {
                    tracing::error!(
                        area,
                        lang,
                        ?errors,
                        "duplicate keys in the translation catalogue"
                    );
                }
            }
            Err((_, errors)) => {
                tracing::error!(area, lang, ?errors, "unreadable translation file");
            }
        }
    }
    bundle
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    uk: bundle("uk", FILES.iter().map(|(area, uk, _)| (*area, *uk))),
    en: bundle("en", FILES.iter().map(|(area, _, en)| (*area, *en))),
});

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
    let c = &*CATALOGUE;
    let (first, second) = match lang {
        Lang::Uk => (&c.uk, &c.en),
        Lang::En => (&c.en, &c.uk),
    };
    lookup(first, key, args)
        .or_else(|| lookup(second, key, args))
        .unwrap_or_else(|| key.to_string())
}

/// The text of `key` in `lang`.
#[must_use]
pub fn t(lang: Lang, key: &str) -> String {
    translate(lang, key, None)
}

/// The text of `key` in `lang` with named arguments (`{ $name }` in the catalogue).
#[must_use]
pub fn t_args(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut fa = FluentArgs::new();
    for (name, value) in args {
        fa.set(*name, FluentValue::from(value.to_string()));
    }
    translate(lang, key, Some(&fa))
}

/// Whether `key` exists in `lang` itself (no fallback).
#[must_use]
pub fn has(lang: Lang, key: &str) -> bool {
    let c = &*CATALOGUE;
    let bundle = match lang {
        Lang::Uk => &c.uk,
        Lang::En => &c.en,
    };
    bundle.get_message(key).and_then(|m| m.value()).is_some()
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
/// "interview_done")`.
#[must_use]
pub fn label(lang: Lang, family: &str, code: &str) -> String {
    t(lang, &format!("{family}-{code}"))
}
