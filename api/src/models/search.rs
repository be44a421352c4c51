//! The body of `POST /api/v1/person-search`: `{full_name, birth_date, reason}`, all required.
//!
//! A search names a person, so its terms travel in the body, never in a URL a proxy logs; the
//! reason goes to the access log of every case found.

use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::{deserialize_body, BodyError, Day, Text};
use crate::app::lists::PersonQuery;

/// The longest `reason` a search may give (`api.md`: 500 characters, 422 beyond).
pub const MAX_SEARCH_REASON_CHARS: usize = 500;

/// A reason: text of 1 to [`MAX_SEARCH_REASON_CHARS`] characters (the length is checked by
/// [`parse_person_search`], so the error names the field).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Reason(Text);

impl PartialSchema for Reason {
    fn schema() -> RefOr<Schema> {
        crate::schema::text_schema(MAX_SEARCH_REASON_CHARS)
    }
}

impl ToSchema for Reason {}

/// The body of `POST /api/v1/person-search`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonSearchBody {
    /// Full name as written (matched exactly after normalisation).
    full_name: Text,
    /// Date of birth.
    birth_date: Day,
    /// Why the caller searches (written to the access log of every case found).
    reason: Reason,
}

/// A person-search body into a query: a missing field, an empty one or a reason over
/// [`MAX_SEARCH_REASON_CHARS`] characters is a [`BodyError`] naming it (422).
///
/// # Errors
/// Unknown, missing or invalid fields.
pub fn parse_person_search(body: &Value) -> Result<PersonQuery, BodyError> {
    let b: PersonSearchBody = deserialize_body(body)?;
    let reason = b.reason.0 .0;
    if reason.chars().count() > MAX_SEARCH_REASON_CHARS {
        return Err(BodyError::field(
            "reason",
            format!("at most {MAX_SEARCH_REASON_CHARS} characters"),
        ));
    }
    Ok(PersonQuery {
        full_name: b.full_name.0,
        birth_date: b.birth_date.0,
        reason,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn errors(body: &Value) -> Vec<String> {
        match parse_person_search(body) {
            Err(BodyError::Invalid { errors }) => errors.into_keys().collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn a_search_needs_a_name_a_birth_date_and_a_reason() {
        let ok = json!({"full_name": "Олена Шевченко", "birth_date": "1990-04-02", "reason": "new application"});
        let q = parse_person_search(&ok).unwrap();
        assert_eq!(q.reason, "new application");
        for field in ["full_name", "birth_date", "reason"] {
            let mut b = ok.clone();
            b.as_object_mut().unwrap().remove(field);
            assert_eq!(errors(&b), vec![field.to_string()]);
        }
        let mut blank = ok.clone();
        blank["reason"] = json!("   ");
        assert_eq!(errors(&blank), vec!["reason".to_string()]);
        let mut long = ok.clone();
        long["reason"] = json!("x".repeat(MAX_SEARCH_REASON_CHARS + 1));
        assert_eq!(errors(&long), vec!["reason".to_string()]);
        let mut extra = ok;
        extra["office"] = json!("UA7102");
        assert!(matches!(
            parse_person_search(&extra),
            Err(BodyError::UnknownField { .. })
        ));
    }
}
