//! Request bodies, parsed into domain commands ("parse, don't validate").
//!
//! Each action has one body struct with exactly the fields `api.md` names (and
//! `deny_unknown_fields`, so a typo is a 422 `unknown_field`, not a silently ignored value). Parsing
//! yields a [`ptl_domain::Action`] in which every piece of free text (notes, reasons, references,
//! document descriptions, the person's data) has been replaced by a fresh [`RecordRef`]; the text
//! itself travels beside it as a [`PersonalText`] for the engine's vault. The action therefore
//! cannot leak personal data into an event, a log line or a `Debug` dump.
//!
//! What is checked here is the shape: required fields, closed value sets, strict `YYYY-MM-DD`
//! dates, office and country code syntax (the domain's [`ptl_domain::OfficeCode`]), NUL
//! characters, the JSON-safe integer range, and JSON limits (depth 32, strings of 10,000
//! characters). The rules of the procedure (a date in the future, a child filing alone, what a
//! court ruling carries, a payment of more than nothing, a service ending after it starts) are the
//! domain's, stated there only; its refusal reaches the client as the same 422 on the same field.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use ptl_domain::event::PlannedService;
use ptl_domain::types::{
    is_valid_country_code, Citizenship, Conclusion, ConsentScope, DecisionOutcome, DocumentKind,
    ErasureCategory, ExploitationForm, FiledBy, GivenBy, Need, OfficeCode as DomainOfficeCode,
    ReferralSource, ReplyOutcome, RulingOutcome, Sex, SkipGround, VerificationTarget,
};
use ptl_domain::{Action, ActionName, ApplicantInput, RecordRef, ReferralInput, Register};
use ptl_engine::vault::ErasureReason;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

/// Deepest JSON nesting accepted in a body (the top-level object is depth 1).
pub const MAX_DEPTH: usize = 32;

/// Longest string (or object key) accepted in a body, in characters.
pub const MAX_STRING_CHARS: usize = 10_000;

/// Most entries in a list inside a body (documents, services, grounds, missing items, ...).
pub const MAX_LIST_ITEMS: usize = 50;

/// Longest `reason` (or `..._reason`) in a body, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Largest integer an event may carry: 2^53 - 1, the largest that every JSON reader keeps exact
/// (the hash chain's canonical JSON refuses larger ones).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Why a body was refused. Converted to [`crate::http::error::ApiError`] (422, or 404 for
/// [`BodyError::NotAClientAction`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A field the body does not define (`unknown_field`), with its path.
    #[error("unknown field `{path}`")]
    UnknownField {
        /// Path of the field (`applicant.colour`).
        path: String,
    },
    /// Missing or invalid fields (`validation_failed`): path -> message.
    #[error("invalid fields: {}", .errors.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// Field path -> message.
        errors: BTreeMap<String, String>,
    },
    /// The JSON nests deeper than [`MAX_DEPTH`].
    #[error("`{path}` is nested deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Path of the first container too deep.
        path: String,
    },
    /// A string or key longer than [`MAX_STRING_CHARS`].
    #[error("`{path}` is longer than {MAX_STRING_CHARS} characters")]
    StringTooLong {
        /// Path of the string.
        path: String,
    },
    /// The action is not one a client may post (`register`, the engine's own records).
    #[error("`{0}` is not a client action")]
    NotAClientAction(ActionName),
}

impl BodyError {
    /// A problem with one field.
    #[must_use]
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            errors: BTreeMap::from([(path.into(), message.into())]),
        }
    }

    /// The stable code the API reports.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownField { .. } => "unknown_field",
            Self::NotAClientAction(_) => "unknown_action",
            Self::Invalid { .. } | Self::TooDeep { .. } | Self::StringTooLong { .. } => {
                "validation_failed"
            }
        }
    }
}

/// A piece of personal data bound for the vault, under the record id the action carries.
/// `Debug` shows the id only.
#[derive(Clone, PartialEq, Serialize)]
pub struct PersonalText {
    /// The record id (`r-<32 hex>`), as carried by the action or registration.
    pub record: RecordRef,
    /// The text, list or object to store.
    pub value: Value,
}

impl fmt::Debug for PersonalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalText")
            .field("record", &self.record)
            .field("value", &"<personal data>")
            .finish()
    }
}

/// An action body, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedAction {
    /// The business date of the fact.
    pub occurred_on: NaiveDate,
    /// The domain action; free text replaced by record ids.
    pub action: Action,
    /// The free text, for the vault; each record is referenced by `action`.
    pub texts: Vec<PersonalText>,
    /// `erase-personal-data`'s optional free-text reason: not for the vault (the erasure destroys
    /// the case's key) but for the erasure ledger, sealed under the master key.
    pub erasure_reason: Option<ErasureReason>,
}

/// The person's identifying data from a registration. `Debug` redacts every field.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonData {
    /// Full name as written.
    pub full_name: String,
    /// Date of birth.
    #[serde(serialize_with = "ser_date", deserialize_with = "de_strict_date")]
    pub birth_date: NaiveDate,
    /// Contacts (phone, address), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<String>,
    /// Identity document (kind and number), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_document: Option<String>,
}

impl fmt::Debug for PersonData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonData(<personal data>)")
    }
}

/// A registration body, parsed. `Debug` shows no personal data (the domain's `Register` holds
/// the birth date, so it is left out).
#[derive(Clone, PartialEq)]
pub struct ParsedRegister {
    /// The receipt date (the registration's business date).
    pub received_on: NaiveDate,
    /// The domain command; `register.person` is the record id of [`Self::person`].
    pub register: Box<Register>,
    /// Every record for the vault, the person's included (under `register.person`).
    pub texts: Vec<PersonalText>,
    /// The person's data (also in `texts`), for the search index.
    pub person: PersonData,
}

impl fmt::Debug for ParsedRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedRegister")
            .field("received_on", &self.received_on)
            .field("register_no", &self.register.register_no)
            .field("office", &self.register.office)
            .field("texts", &self.texts)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Strict dates and checked strings.

fn ser_date<S: serde::Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.format("%Y-%m-%d").to_string())
}

/// Parses exactly `YYYY-MM-DD` (chrono alone would take `2024-1-5` or `+2024-01-05`). Also used
/// for the date query parameters.
pub(crate) fn parse_strict_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn de_strict_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    parse_strict_date(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{}` is not a date as YYYY-MM-DD",
            s.chars().take(40).collect::<String>()
        ))
    })
}

/// A business date, `YYYY-MM-DD` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Day(NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_strict_date(d).map(Day)
    }
}

/// A string that is not blank once trimmed (stored trimmed) and has no NUL character (U+0000,
/// which PostgreSQL cannot store in text or `jsonb`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.trim();
        if t.is_empty() {
            Err(serde::de::Error::custom("must not be empty"))
        } else if t.contains('\0') {
            Err(serde::de::Error::custom(
                "must not contain the NUL character (U+0000)",
            ))
        } else {
            Ok(Text(t.to_string()))
        }
    }
}

/// An office code (`UA7102`, `UA-NSS`), checked by the domain's [`DomainOfficeCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct OfficeCode(DomainOfficeCode);

impl<'de> Deserialize<'de> for OfficeCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DomainOfficeCode::parse(s)
            .map(OfficeCode)
            .map_err(serde::de::Error::custom)
    }
}

/// An ISO 3166-1 alpha-2 country code, or `XX`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CountryCode(String);

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if is_valid_country_code(&s) {
            Ok(CountryCode(s))
        } else {
            Err(serde::de::Error::custom(
                "not a country code (ISO 3166-1 alpha-2 in capitals, such as PL, or XX)",
            ))
        }
    }
}

// OpenAPI schemas of the checked scalars (`GET /openapi.json`).

impl PartialSchema for Day {
    fn schema() -> RefOr<Schema> {
        crate::schema::date_schema()
    }
}

impl ToSchema for Day {
    fn name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }
}

impl PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        crate::schema::text_schema(MAX_STRING_CHARS)
    }
}

impl ToSchema for Text {}

impl PartialSchema for OfficeCode {
    fn schema() -> RefOr<Schema> {
        crate::schema::office_code_schema()
    }
}

impl ToSchema for OfficeCode {}

impl PartialSchema for CountryCode {
    fn schema() -> RefOr<Schema> {
        crate::schema::country_code_schema()
    }
}

impl ToSchema for CountryCode {}

// ---------------------------------------------------------------------------------------------
// JSON limits and error translation.

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn check_limits(value: &Value, depth: usize, path: &str) -> Result<(), BodyError> {
    let shown = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.to_string()
        }
    };
    match value {
        Value::String(s) if s.chars().count() > MAX_STRING_CHARS => {
            Err(BodyError::StringTooLong { path: shown() })
        }
        Value::Array(items) => {
            if depth + 1 > MAX_DEPTH {
                return Err(BodyError::TooDeep { path: shown() });
            }
            for (i, item) in items.iter().enumerate() {
                check_limits(item, depth + 1, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            if depth + 1 > MAX_DEPTH {
                return Err(BodyError::TooDeep { path: shown() });
            }
            for (k, v) in map {
                let p = child_path(path, k);
                if k.chars().count() > MAX_STRING_CHARS {
                    return Err(BodyError::StringTooLong {
                        path: p.chars().take(64).collect(),
                    });
                }
                check_limits(v, depth + 1, &p)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Text between the first pair of backticks after `marker`.
fn quoted_after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    let rest = message.split_once(marker)?.1;
    rest.split('`').next()
}

/// Rewords serde's messages for people who write JSON, not Rust.
fn reword(message: &str) -> String {
    if let Some((head, _)) = message.split_once("expected struct ") {
        return format!("{head}expected an object");
    }
    if let Some((head, tail)) = message.split_once("unknown variant ") {
        return format!("{head}unknown value {tail}");
    }
    let mut out = message.to_string();
    for (rust, json) in [
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected i32", "expected a whole number"),
        ("expected a sequence", "expected a list"),
    ] {
        out = out.replace(rust, json);
    }
    out
}

fn translate(error: serde_path_to_error::Error<serde_json::Error>) -> BodyError {
    let path = error.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let message = error.inner().to_string();
    if let Some(field) = quoted_after(&message, "unknown field `") {
        // The path ends at the struct; for unknown keys serde_path_to_error already pushed the key.
        let full = if path.ends_with(field) {
            path
        } else {
            child_path(&path, field)
        };
        return BodyError::UnknownField { path: full };
    }
    if let Some(field) = quoted_after(&message, "missing field `") {
        return BodyError::field(child_path(&path, field), "required");
    }
    let shown = if path.is_empty() {
        "body".to_string()
    } else {
        path
    };
    BodyError::field(shown, reword(&message))
}

/// The contract's caps (`api.md`, Conventions): every list at most [`MAX_LIST_ITEMS`] entries,
/// every `reason` at most [`MAX_REASON_CHARS`] characters; each breach is a field error.
fn check_caps(value: &Value, path: &str, errors: &mut BTreeMap<String, String>) {
    match value {
        Value::Array(items) => {
            if items.len() > MAX_LIST_ITEMS {
                let shown = if path.is_empty() { "body" } else { path };
                errors.insert(
                    shown.to_string(),
                    format!("at most {MAX_LIST_ITEMS} entries"),
                );
            }
            for (i, item) in items.iter().enumerate().take(MAX_LIST_ITEMS) {
                check_caps(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let p = child_path(path, k);
                let is_reason = k == "reason" || k.ends_with("_reason");
                if let (true, Value::String(text)) = (is_reason, v) {
                    if text.chars().count() > MAX_REASON_CHARS {
                        errors.insert(p.clone(), format!("at most {MAX_REASON_CHARS} characters"));
                    }
                }
                check_caps(v, &p, errors);
            }
        }
        _ => {}
    }
}

fn deserialize_body<T: DeserializeOwned>(body: &Value) -> Result<T, BodyError> {
    check_limits(body, 0, "")?;
    let mut errors = BTreeMap::new();
    check_caps(body, "", &mut errors);
    if !errors.is_empty() {
        return Err(BodyError::Invalid { errors });
    }
    if !body.is_object() {
        return Err(BodyError::field("body", "expected a JSON object"));
    }
    serde_path_to_error::deserialize(body).map_err(translate)
}

// ---------------------------------------------------------------------------------------------
// Personal text collection.

/// The longest name of an institution (centre, provider, shelter).
const MAX_INSTITUTION_CHARS: usize = 200;

/// Collects free text into records while an action is built.
#[derive(Debug, Default)]
struct Vault {
    texts: Vec<PersonalText>,
}

impl Vault {
    fn put(&mut self, value: Value) -> RecordRef {
        let record = RecordRef(format!("r-{}", Uuid::new_v4().simple()));
        self.texts.push(PersonalText {
            record: record.clone(),
            value,
        });
        record
    }

    fn text(&mut self, text: Text) -> RecordRef {
        self.put(Value::String(text.0))
    }

    /// The name of an institution (a centre, a provider, a shelter): personal data like any free
    /// text (a shelter's name locates the person), at most 200 characters.
    fn institution(&mut self, field: &str, text: Text) -> Result<RecordRef, BodyError> {
        if text.0.chars().count() > MAX_INSTITUTION_CHARS {
            return Err(BodyError::field(
                field,
                format!("longer than {MAX_INSTITUTION_CHARS} characters"),
            ));
        }
        Ok(self.text(text))
    }

    fn opt(&mut self, text: Option<Text>) -> Option<RecordRef> {
        text.map(|t| self.text(t))
    }

    /// A list of strings, as one record, with its length.
    fn list(&mut self, items: Vec<Text>) -> (Option<RecordRef>, u32) {
        if items.is_empty() {
            return (None, 0);
        }
        let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
        let value = Value::Array(items.into_iter().map(|t| Value::String(t.0)).collect());
        (Some(self.put(value)), count)
    }
}

// ---------------------------------------------------------------------------------------------
// Action bodies. Field names are the API contract (`api.md`): never rename one.

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::ConsentScope)]
    scope: ConsentScope,
    #[schema(value_type = crate::schema::domain::GivenBy)]
    given_by: GivenBy,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordInterviewBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::GivenBy)]
    consent_signed_by: GivenBy,
    non_disclosure_receipt_signed: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SkipInterviewBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::SkipGround)]
    ground: SkipGround,
    reference: Option<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RequestVerificationBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::VerificationTarget)]
    to: VerificationTarget,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordVerificationReplyBody {
    occurred_on: Day,
    request_id: Text,
    #[schema(value_type = crate::schema::domain::ReplyOutcome)]
    outcome: ReplyOutcome,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AttachDocumentBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::DocumentKind)]
    kind: DocumentKind,
    note: Option<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SubmitFileBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::Conclusion)]
    conclusion: Conclusion,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnFileBody {
    occurred_on: Day,
    #[schema(min_items = 1)]
    missing: Vec<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordDecisionBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::DecisionOutcome)]
    outcome: DecisionOutcome,
    certificate_no: Option<Text>,
    valid_until: Option<Day>,
    grounds: Option<Vec<Text>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DateOnlyBody {
    occurred_on: Day,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordAppealBody {
    occurred_on: Day,
    reference: Option<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordCourtRulingBody {
    occurred_on: Day,
    /// Annulled, the file goes to the deciding authority competent on the ruling's day, which
    /// records the decision and issues the certificate (no certificate on the ruling).
    #[schema(value_type = crate::schema::domain::RulingOutcome)]
    outcome: RulingOutcome,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExtendStatusBody {
    occurred_on: Day,
    valid_until: Day,
    reason: Text,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    occurred_on: Day,
    reason: Text,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    occurred_on: Day,
    to_office: OfficeCode,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReferToSocialServicesBody {
    occurred_on: Day,
    centre: Text,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordNeedsAssessmentBody {
    occurred_on: Day,
    #[schema(value_type = Vec<crate::schema::domain::Need>)]
    needs: Vec<Need>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlannedServiceBody {
    #[schema(value_type = crate::schema::domain::Need)]
    service: Need,
    provider: Text,
    from: Option<Day>,
    to: Option<Day>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApproveRehabilitationPlanBody {
    occurred_on: Day,
    written_consent: bool,
    services: Vec<PlannedServiceBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordServiceBody {
    occurred_on: Day,
    #[schema(value_type = crate::schema::domain::Need)]
    service: Need,
    provider: Text,
    to: Option<Day>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaceInShelterBody {
    occurred_on: Day,
    shelter: Text,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordPaymentBody {
    occurred_on: Day,
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    amount_kopiyky: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    occurred_on: Day,
    assignee: Text,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddNoteBody {
    occurred_on: Day,
    text: Text,
}

/// A correction of an earlier entry. With `field` = `occurred_on`, `value` is the corrected
/// business date (`YYYY-MM-DD`): the event carries it, and the deadlines that count from it are
/// computed again. The reason (and any other value) is stored with the personal data.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CorrectEntryBody {
    occurred_on: Day,
    #[schema(minimum = 1)]
    supersedes: u64,
    field: Text,
    #[schema(value_type = Value)]
    value: Value,
    reason: Text,
}

/// The field of `correct-entry` that names an entry's business date.
pub const BUSINESS_DATE_FIELD: &str = "occurred_on";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ErasePersonalDataBody {
    occurred_on: Day,
    /// Why the data is erased (kept in the event).
    #[schema(value_type = crate::schema::domain::ErasureCategory)]
    category: ErasureCategory,
    /// The lawful request or other details in free text: kept in the erasure ledger, encrypted
    /// under the master key, never in the event.
    reason: Option<Text>,
}

/// A request body's schema for the OpenAPI document: its component name, its schema, and the
/// schemas it refers to.
pub(crate) type BodySchema = (
    std::borrow::Cow<'static, str>,
    RefOr<Schema>,
    Vec<(String, RefOr<Schema>)>,
);

fn body_schema<T: ToSchema>() -> BodySchema {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    (T::name(), T::schema(), refs)
}

/// The request body schema of `action` as [`parse_action`] reads it; `None` for the actions no
/// client posts. Kept beside [`parse_action`] (and as exhaustive) so the two cannot drift apart.
pub(crate) fn action_body_schema(action: ActionName) -> Option<BodySchema> {
    use ActionName as N;
    Some(match action {
        N::RecordConsent | N::WithdrawConsent => body_schema::<ConsentBody>(),
        N::RecordInterview => body_schema::<RecordInterviewBody>(),
        N::SkipInterview => body_schema::<SkipInterviewBody>(),
        N::RequestVerification => body_schema::<RequestVerificationBody>(),
        N::RecordVerificationReply => body_schema::<RecordVerificationReplyBody>(),
        N::AttachDocument => body_schema::<AttachDocumentBody>(),
        N::SubmitFile => body_schema::<SubmitFileBody>(),
        N::ReturnFile => body_schema::<ReturnFileBody>(),
        N::RecordDecision => body_schema::<RecordDecisionBody>(),
        N::HandOverDecision | N::RequestPayment | N::EndShelterStay => {
            body_schema::<DateOnlyBody>()
        }
        N::RecordAppeal => body_schema::<RecordAppealBody>(),
        N::RecordCourtRuling => body_schema::<RecordCourtRulingBody>(),
        N::ExtendStatus => body_schema::<ExtendStatusBody>(),
        N::Withdraw | N::ExtendShelter | N::ExplainMissingIdentityDocument => {
            body_schema::<ReasonBody>()
        }
        N::Transfer => body_schema::<TransferBody>(),
        N::ReferToSocialServices => body_schema::<ReferToSocialServicesBody>(),
        N::RecordNeedsAssessment => body_schema::<RecordNeedsAssessmentBody>(),
        N::ApproveRehabilitationPlan => body_schema::<ApproveRehabilitationPlanBody>(),
        N::RecordService => body_schema::<RecordServiceBody>(),
        N::PlaceInShelter => body_schema::<PlaceInShelterBody>(),
        N::RecordPayment => body_schema::<RecordPaymentBody>(),
        N::Assign => body_schema::<AssignBody>(),
        N::AddNote => body_schema::<AddNoteBody>(),
        N::CorrectEntry => body_schema::<CorrectEntryBody>(),
        N::ErasePersonalData => body_schema::<ErasePersonalDataBody>(),
        N::Register | N::RecordMissedDeadline | N::RecordStatusExpiry | N::HandOverToSuccessor => {
            return None
        }
    })
}

/// The request body schema of `POST /api/v1/cases`, as [`parse_register`] reads it.
pub(crate) fn register_body_schema() -> BodySchema {
    body_schema::<RegisterBody>()
}

/// Parses the body of `POST /cases/{id}/actions/{action}` for `action`.
///
/// # Errors
///
/// [`BodyError::UnknownField`] for a field the action does not define, [`BodyError::Invalid`]
/// for missing or wrong fields (with their paths), [`BodyError::TooDeep`] /
/// [`BodyError::StringTooLong`] past the JSON limits, [`BodyError::NotAClientAction`] for
/// `register` and the engine's own actions.
pub fn parse_action(action: ActionName, body: &Value) -> Result<ParsedAction, BodyError> {
    use ActionName as N;
    let mut vault = Vault::default();
    let mut erasure_reason = None;
    let (day, action) = match action {
        N::RecordConsent | N::WithdrawConsent => {
            let b: ConsentBody = deserialize_body(body)?;
            let (scope, given_by) = (b.scope, b.given_by);
            let a = if action == N::RecordConsent {
                Action::RecordConsent { scope, given_by }
            } else {
                Action::WithdrawConsent { scope, given_by }
            };
            (b.occurred_on, a)
        }
        N::RecordInterview => {
            let b: RecordInterviewBody = deserialize_body(body)?;
            let a = Action::RecordInterview {
                consent_signed_by: b.consent_signed_by,
                non_disclosure_receipt_signed: b.non_disclosure_receipt_signed,
            };
            (b.occurred_on, a)
        }
        N::SkipInterview => {
            let b: SkipInterviewBody = deserialize_body(body)?;
            let a = Action::SkipInterview {
                ground: b.ground,
                reference: vault.opt(b.reference),
            };
            (b.occurred_on, a)
        }
        N::RequestVerification => {
            let b: RequestVerificationBody = deserialize_body(body)?;
            (b.occurred_on, Action::RequestVerification { to: b.to })
        }
        N::RecordVerificationReply => {
            let b: RecordVerificationReplyBody = deserialize_body(body)?;
            let a = Action::RecordVerificationReply {
                request_id: b.request_id.0,
                outcome: b.outcome,
            };
            (b.occurred_on, a)
        }
        N::AttachDocument => {
            let b: AttachDocumentBody = deserialize_body(body)?;
            let a = Action::AttachDocument {
                kind: b.kind,
                note: vault.opt(b.note),
            };
            (b.occurred_on, a)
        }
        N::ExplainMissingIdentityDocument => {
            let b: ReasonBody = deserialize_body(body)?;
            let a = Action::ExplainMissingIdentityDocument {
                reason: vault.text(b.reason),
            };
            (b.occurred_on, a)
        }
        N::SubmitFile => {
            let b: SubmitFileBody = deserialize_body(body)?;
            (
                b.occurred_on,
                Action::SubmitFile {
                    conclusion: b.conclusion,
                },
            )
        }
        N::ReturnFile => {
            let b: ReturnFileBody = deserialize_body(body)?;
            if b.missing.is_empty() {
                return Err(BodyError::field(
                    "missing",
                    "list at least one missing item",
                ));
            }
            let (missing, missing_count) = vault.list(b.missing);
            (
                b.occurred_on,
                Action::ReturnFile {
                    missing,
                    missing_count,
                },
            )
        }
        N::RecordDecision => {
            let b: RecordDecisionBody = deserialize_body(body)?;
            (b.occurred_on, decision(b, &mut vault)?)
        }
        N::HandOverDecision => {
            let b: DateOnlyBody = deserialize_body(body)?;
            (b.occurred_on, Action::HandOverDecision)
        }
        N::RecordAppeal => {
            let b: RecordAppealBody = deserialize_body(body)?;
            let a = Action::RecordAppeal {
                reference: vault.opt(b.reference),
            };
            (b.occurred_on, a)
        }
        N::RecordCourtRuling => {
            let b: RecordCourtRulingBody = deserialize_body(body)?;
            let a = Action::RecordCourtRuling { outcome: b.outcome };
            (b.occurred_on, a)
        }
        N::ExtendStatus => {
            let b: ExtendStatusBody = deserialize_body(body)?;
            let a = Action::ExtendStatus {
                valid_until: b.valid_until.0,
                reason: Some(vault.text(b.reason)),
            };
            (b.occurred_on, a)
        }
        N::Withdraw => {
            let b: ReasonBody = deserialize_body(body)?;
            let a = Action::Withdraw {
                reason: Some(vault.text(b.reason)),
            };
            (b.occurred_on, a)
        }
        N::Transfer => {
            let b: TransferBody = deserialize_body(body)?;
            (
                b.occurred_on,
                Action::Transfer {
                    to_office: b.to_office.0,
                },
            )
        }
        N::ReferToSocialServices => {
            let b: ReferToSocialServicesBody = deserialize_body(body)?;
            let centre = vault.institution("centre", b.centre)?;
            (b.occurred_on, Action::ReferToSocialServices { centre })
        }
        N::RecordNeedsAssessment => {
            let b: RecordNeedsAssessmentBody = deserialize_body(body)?;
            (
                b.occurred_on,
                Action::RecordNeedsAssessment { needs: b.needs },
            )
        }
        N::ApproveRehabilitationPlan => {
            let b: ApproveRehabilitationPlanBody = deserialize_body(body)?;
            // That a service ends after it starts is the domain's rule (`decide::assistance`).
            let mut services = Vec::with_capacity(b.services.len());
            for (i, s) in b.services.into_iter().enumerate() {
                services.push(PlannedService {
                    service: s.service,
                    provider: Some(
                        vault.institution(&format!("services[{i}].provider"), s.provider)?,
                    ),
                    from: s.from.map(|d| d.0),
                    to: s.to.map(|d| d.0),
                });
            }
            let a = Action::ApproveRehabilitationPlan {
                written_consent: b.written_consent,
                services,
            };
            (b.occurred_on, a)
        }
        N::RecordService => {
            let b: RecordServiceBody = deserialize_body(body)?;
            // That a service ends after it starts is the domain's rule (`decide::assistance`).
            let a = Action::RecordService {
                service: b.service,
                provider: vault.institution("provider", b.provider)?,
                to: b.to.map(|d| d.0),
            };
            (b.occurred_on, a)
        }
        N::PlaceInShelter => {
            let b: PlaceInShelterBody = deserialize_body(body)?;
            let shelter = vault.institution("shelter", b.shelter)?;
            (b.occurred_on, Action::PlaceInShelter { shelter })
        }
        N::ExtendShelter => {
            let b: ReasonBody = deserialize_body(body)?;
            let a = Action::ExtendShelter {
                reason: Some(vault.text(b.reason)),
            };
            (b.occurred_on, a)
        }
        N::RequestPayment => {
            let b: DateOnlyBody = deserialize_body(body)?;
            (b.occurred_on, Action::RequestPayment)
        }
        N::EndShelterStay => {
            let b: DateOnlyBody = deserialize_body(body)?;
            (b.occurred_on, Action::EndShelterStay)
        }
        N::RecordPayment => {
            let b: RecordPaymentBody = deserialize_body(body)?;
            // The JSON-safe range is the store's limit (the hash chain's canonical JSON); that a
            // payment is more than nothing is the domain's rule (`decide::assistance`).
            if b.amount_kopiyky > MAX_SAFE_INTEGER {
                return Err(BodyError::field(
                    "amount_kopiyky",
                    format!("must be at most {MAX_SAFE_INTEGER}"),
                ));
            }
            let a = Action::RecordPayment {
                amount_kopiyky: b.amount_kopiyky,
            };
            (b.occurred_on, a)
        }
        N::Assign => {
            let b: AssignBody = deserialize_body(body)?;
            (
                b.occurred_on,
                Action::Assign {
                    assignee: b.assignee.0,
                },
            )
        }
        N::AddNote => {
            let b: AddNoteBody = deserialize_body(body)?;
            let a = Action::AddNote {
                note: vault.text(b.text),
            };
            (b.occurred_on, a)
        }
        N::CorrectEntry => {
            let b: CorrectEntryBody = deserialize_body(body)?;
            if b.supersedes == 0 {
                return Err(BodyError::field(
                    "supersedes",
                    "the sequence number of an earlier event (from 1)",
                ));
            }
            let corrected_on = if b.field.0 == BUSINESS_DATE_FIELD {
                let day: Day = serde_json::from_value(b.value.clone())
                    .map_err(|_| BodyError::field("value", "a business date as YYYY-MM-DD"))?;
                Some(day.0)
            } else {
                None
            };
            let correction = vault.put(serde_json::json!({
                "value": b.value,
                "reason": b.reason.0,
            }));
            let a = Action::CorrectEntry {
                supersedes: b.supersedes,
                field: b.field.0,
                corrected_on,
                correction,
            };
            (b.occurred_on, a)
        }
        N::ErasePersonalData => {
            let b: ErasePersonalDataBody = deserialize_body(body)?;
            erasure_reason = b.reason.map(|t| ErasureReason(t.0));
            let a = Action::ErasePersonalData {
                category: b.category,
            };
            (b.occurred_on, a)
        }
        N::Register | N::RecordMissedDeadline | N::RecordStatusExpiry | N::HandOverToSuccessor => {
            return Err(BodyError::NotAClientAction(action));
        }
    };
    Ok(ParsedAction {
        occurred_on: day.0,
        action,
        texts: vault.texts,
        erasure_reason,
    })
}

fn decision(b: RecordDecisionBody, vault: &mut Vault) -> Result<Action, BodyError> {
    let mut errors = BTreeMap::new();
    let mut not_for = |present: bool, field: &str, outcome: &str| {
        if present {
            errors.insert(
                field.to_string(),
                format!("not allowed when outcome is {outcome}"),
            );
        }
    };
    match b.outcome {
        DecisionOutcome::Granted => {
            not_for(b.grounds.is_some(), "grounds", "granted");
            let Some(certificate_no) = b.certificate_no else {
                errors.insert("certificate_no".into(), "required when granted".into());
                return Err(BodyError::Invalid { errors });
            };
            if !errors.is_empty() {
                return Err(BodyError::Invalid { errors });
            }
            Ok(Action::RecordDecisionGranted {
                certificate_no: certificate_no.0,
                valid_until: b.valid_until.map(|d| d.0),
            })
        }
        DecisionOutcome::Refused => {
            not_for(b.certificate_no.is_some(), "certificate_no", "refused");
            not_for(b.valid_until.is_some(), "valid_until", "refused");
            let grounds = b.grounds.unwrap_or_default();
            if grounds.is_empty() {
                errors.insert("grounds".into(), "a refusal states its grounds".into());
            }
            if !errors.is_empty() {
                return Err(BodyError::Invalid { errors });
            }
            let (grounds, grounds_count) = vault.list(grounds);
            Ok(Action::RecordDecisionRefused {
                grounds,
                grounds_count,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registration.

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApplicantBody {
    #[schema(value_type = crate::schema::domain::Sex)]
    sex: Sex,
    birth_year: Option<i32>,
    #[schema(value_type = crate::schema::domain::Citizenship)]
    citizenship: Citizenship,
    /// Country of citizenship of a foreign citizen (ISO 3166-1 alpha-2; optional): an officially
    /// assigned code, not `UA`; `UA` alone for a Ukrainian citizen; none for a stateless person.
    citizenship_country: Option<CountryCode>,
    speaks_ukrainian_or_russian: bool,
    interpreter_used: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReferralBody {
    #[schema(value_type = crate::schema::domain::ReferralSource)]
    source: ReferralSource,
    organisation: Option<Text>,
    referred_on: Day,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExploitationBody {
    #[schema(value_type = Vec<crate::schema::domain::ExploitationForm>, min_items = 1)]
    forms: Vec<ExploitationForm>,
    country: CountryCode,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DocumentBody {
    #[schema(value_type = crate::schema::domain::DocumentKind)]
    kind: DocumentKind,
    note: Option<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    full_name: Text,
    birth_date: Day,
    contacts: Option<Text>,
    id_document: Option<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    received_on: Day,
    office: OfficeCode,
    #[schema(value_type = crate::schema::domain::FiledBy)]
    filed_by: FiledBy,
    applicant: ApplicantBody,
    referral: Option<ReferralBody>,
    exploitation: ExploitationBody,
    #[serde(default)]
    documents: Vec<DocumentBody>,
    rights_explained: bool,
    person: PersonBody,
    id_document_missing_reason: Option<Text>,
}

/// Parses the body of `POST /cases`. `register_no` is the number the engine assigned.
///
/// # Errors
///
/// As [`parse_action`]; besides, `applicant.birth_year` must equal the year of
/// `person.birth_date` when given, and `exploitation.forms` must not be empty.
pub fn parse_register(body: &Value, register_no: String) -> Result<ParsedRegister, BodyError> {
    let b: RegisterBody = deserialize_body(body)?;
    let birth_date = b.person.birth_date.0;
    let mut errors = BTreeMap::new();
    if let Some(year) = b.applicant.birth_year {
        if year != birth_date.year() {
            errors.insert(
                "applicant.birth_year".to_string(),
                "must equal the year of person.birth_date".to_string(),
            );
        }
    }
    if b.exploitation.forms.is_empty() {
        errors.insert(
            "exploitation.forms".to_string(),
            "name at least one form of exploitation".to_string(),
        );
    }
    if b.person.birth_date.0 > b.received_on.0 {
        errors.insert(
            "person.birth_date".to_string(),
            "must not be after received_on".to_string(),
        );
    }
    if !errors.is_empty() {
        return Err(BodyError::Invalid { errors });
    }

    let mut vault = Vault::default();
    let person = PersonData {
        full_name: b.person.full_name.0,
        birth_date,
        contacts: b.person.contacts.map(|t| t.0),
        id_document: b.person.id_document.map(|t| t.0),
    };
    let person_value = serde_json::to_value(&person)
        .map_err(|e| BodyError::field("person", format!("cannot be stored: {e}")))?;
    let person_ref = vault.put(person_value);
    let referral = b.referral.map(|r| ReferralInput {
        source: r.source,
        organisation: vault.opt(r.organisation),
        referred_on: r.referred_on.0,
    });
    let documents = b
        .documents
        .into_iter()
        .map(|d| (d.kind, vault.opt(d.note)))
        .collect();
    let id_document_missing_reason = vault.opt(b.id_document_missing_reason);
    let register = Register {
        register_no,
        office: b.office.0,
        filed_by: b.filed_by,
        applicant: ApplicantInput {
            sex: b.applicant.sex,
            birth_date,
            citizenship: b.applicant.citizenship,
            citizenship_country: b.applicant.citizenship_country.map(|c| c.0),
            speaks_ukrainian_or_russian: b.applicant.speaks_ukrainian_or_russian,
            interpreter_used: b.applicant.interpreter_used,
        },
        referral,
        exploitation_forms: b.exploitation.forms,
        exploitation_country: b.exploitation.country.0,
        documents,
        id_document_missing_reason,
        rights_explained: b.rights_explained,
        person: Some(person_ref),
    };
    Ok(ParsedRegister {
        received_on: b.received_on.0,
        register: Box::new(register),
        texts: vault.texts,
        person,
    })
}

mod search;
pub use search::{parse_person_search, PersonSearchBody, MAX_SEARCH_REASON_CHARS};

#[cfg(test)]
mod tests;
