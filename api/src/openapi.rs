//! The OpenAPI 3.1 document of the REST API, served at `GET /openapi.json` (`api.md`).
//!
//! Schemas come from the code: request bodies derive [`ToSchema`] in [`crate::models`] (each
//! action's body through [`crate::models::action_body_schema`], beside the parser), the case view
//! in [`crate::view`], problem documents in [`crate::problem`]; the closed value sets of the domain
//! are listed from their `ALL` constants ([`domain`]). Responses built from other crates' types
//! (list rows, statistics, events, the access log, deadline explanations) are described by the
//! mirror types of this module. Paths are built here, one per entry of [`crate::server::ROUTES`]
//! (`tests/openapi.rs` checks that the two agree, and that the router serves every documented
//! route).
//!
//! Actions: there is one documented path, `POST /api/v1/cases/{id}/actions/{action}`, whose
//! `action` parameter is the enum of client action names and whose request body is `anyOf` the
//! action body schemas (not `oneOf`: several bodies accept the same instance, e.g. a bare
//! `{"occurred_on": ...}`). Which body goes with which action is stated by the operation's
//! `x-action-bodies` extension (action name -> `$ref`) and in each body schema's description.
//! Every body schema has `additionalProperties: false` (a field the action does not define is a
//! 422 `unknown_field`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::ActionName;
use serde::Serialize;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, Header, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, Schema,
};
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem, PROBLEM_JSON};
use crate::view::CaseView;

/// Name of the bearer security scheme.
pub const BEARER: &str = "bearer";

/// Media type of JSON bodies.
const JSON: &str = "application/json";

// ---------------------------------------------------------------------------------------------
// Scalars shared by the request bodies.

/// A business date: `YYYY-MM-DD` exactly.
#[must_use]
pub fn date_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
        .description(Some("A business date, `YYYY-MM-DD` (Europe/Kyiv)."))
        .into()
}

/// Free text: not blank (it is stored trimmed), no NUL character, at most `max_chars`
/// characters.
#[must_use]
pub fn text_schema(max_chars: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(r"^[^\u0000]*[^\s\u0000][^\u0000]*$"))
        .description(Some(
            "Text with at least one non-blank character and no NUL (U+0000), stored trimmed \
             with the personal data.",
        ))
        .into()
}

/// An office code such as `UA7102` or `UA-NSS`.
#[must_use]
pub fn office_code_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[A-Z0-9-]{2,32}$"))
        .description(Some(
            "An office code: 2 to 32 capital letters, digits or `-` (`UA7102`, `UA-NSS`).",
        ))
        .into()
}

/// An ISO 3166-1 alpha-2 country code, or `XX`.
#[must_use]
pub fn country_code_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[A-Z]{2}$"))
        .description(Some(
            "An ISO 3166-1 alpha-2 country code in capitals (`PL`), or `XX` when unknown.",
        ))
        .into()
}

fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

/// Schemas of the domain's closed value sets, listed from their `ALL` constants. Each marker type
/// stands for the domain type of the same name in `#[schema(value_type = ...)]`.
pub mod domain {
    use std::borrow::Cow;

    use utoipa::openapi::{RefOr, Schema};

    macro_rules! coded {
        ($($name:ident = $ty:ty, $description:literal;)+) => {$(
            #[doc = $description]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    super::string_enum(<$ty>::ALL.iter().map(|v| v.as_str()), $description)
                }
            }

            impl utoipa::ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )+};
    }

    coded! {
        Role = ptl_domain::Role, "A role (`system` is the engine itself).";
        Stage = ptl_domain::Stage, "Where the case stands on the status track.";
        Status = ptl_domain::Status, "The person's status.";
        DeadlineState = ptl_domain::DeadlineState, "A deadline's state.";
        DeadlineKind = ptl_domain::procedure::DeadlineKind, "The rule a deadline runs under.";
        DayKind = ptl_domain::procedure::DayKind, "How a deadline's days are counted.";
        Unit = ptl_domain::procedure::Unit, "The unit of a deadline's length.";
        Mark = ptl_domain::procedure::Mark, "Where a rule's value comes from.";
        SuspendCondition = ptl_domain::procedure::SuspendCondition, "A condition that suspends a deadline.";
        FiledBy = ptl_domain::types::FiledBy, "Who filed the application.";
        Sex = ptl_domain::types::Sex, "Recorded sex of the applicant.";
        Citizenship = ptl_domain::types::Citizenship, "Citizenship kind.";
        ReferralSource = ptl_domain::types::ReferralSource, "Who referred the person.";
        ExploitationForm = ptl_domain::types::ExploitationForm, "A form of exploitation.";
        ConsentScope = ptl_domain::types::ConsentScope, "What a consent covers.";
        GivenBy = ptl_domain::types::GivenBy, "Who signed a consent.";
        SkipGround = ptl_domain::types::SkipGround, "A lawful ground to skip the interview.";
        VerificationTarget = ptl_domain::types::VerificationTarget, "Addressee of a verification request.";
        ReplyOutcome = ptl_domain::types::ReplyOutcome, "What a verification reply said.";
        DocumentKind = ptl_domain::types::DocumentKind, "A kind of document in the personal file.";
        Conclusion = ptl_domain::types::Conclusion, "The official's conclusion in the personal file.";
        DecisionOutcome = ptl_domain::types::DecisionOutcome, "Outcome of a decision.";
        RulingOutcome = ptl_domain::types::RulingOutcome, "Outcome of a court ruling on an appeal.";
        Need = ptl_domain::types::Need, "A need found by the assessment (also a service).";
    }

    /// A client action name (the `{action}` segment; not `register` nor the engine's own).
    #[derive(Debug, Clone, Copy)]
    pub struct ClientAction;

    impl utoipa::PartialSchema for ClientAction {
        fn schema() -> RefOr<Schema> {
            super::string_enum(
                super::client_actions().map(ptl_domain::ActionName::as_str),
                "A procedure action a client may post (kebab-case).",
            )
        }
    }

    impl utoipa::ToSchema for ClientAction {}
}

/// Every action a client may post, in declaration order.
pub fn client_actions() -> impl Iterator<Item = ActionName> {
    ActionName::ALL
        .iter()
        .copied()
        .filter(|a| a.is_client_action())
}

// ---------------------------------------------------------------------------------------------
// Response bodies built from other crates' types: documentation mirrors of what the handlers
// serialise (never constructed).

/// A referral to a centre of social services.
#[derive(Debug, Serialize, ToSchema)]
pub struct Referral {
    /// The centre.
    pub centre: String,
    /// Referral date.
    pub on: NaiveDate,
}

/// The needs assessment.
#[derive(Debug, Serialize, ToSchema)]
pub struct NeedsAssessment {
    /// Needs found.
    #[schema(value_type = Vec<domain::Need>)]
    pub needs: Vec<String>,
    /// Assessment date.
    pub on: NaiveDate,
}

/// One service of a rehabilitation plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedService {
    /// The need it meets.
    #[schema(value_type = domain::Need)]
    pub service: String,
    /// Responsible institution.
    pub provider: String,
    /// Planned start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Planned end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

/// The approved rehabilitation plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct RehabilitationPlan {
    /// Planned services.
    pub services: Vec<PlannedService>,
    /// Approval date.
    pub on: NaiveDate,
}

/// The payment of assistance.
#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    /// Application date.
    pub requested_on: Option<NaiveDate>,
    /// Payment date.
    pub paid_on: Option<NaiveDate>,
    /// Amount paid, in kopiyky.
    pub amount_kopiyky: Option<u64>,
}

/// The assistance track of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assistance {
    /// The needs assessment, once recorded.
    pub needs_assessment: Option<NeedsAssessment>,
    /// The rehabilitation plan, once approved.
    pub plan: Option<RehabilitationPlan>,
    /// Services delivered.
    #[schema(value_type = Vec<Object>)]
    pub services: Vec<serde_json::Value>,
    /// Current or last shelter stay.
    #[schema(value_type = Option<Object>)]
    pub shelter: Option<serde_json::Value>,
    /// Payment.
    pub payment: Payment,
    /// Referral to social services.
    pub referred_to: Option<Referral>,
}

/// One case of the work queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkQueueItem {
    /// Case id.
    pub case_id: uuid::Uuid,
    /// Register number.
    pub register_no: String,
    /// Responsible office now.
    pub office: String,
    /// Stage.
    #[schema(value_type = domain::Stage)]
    pub stage: String,
    /// Status.
    #[schema(value_type = domain::Status)]
    pub status: String,
    /// Assigned official.
    pub assignee: Option<String>,
    /// Governing procedure definition id.
    pub procedure: String,
    /// Receipt date.
    pub received_on: NaiveDate,
    /// The applicant was a child on the receipt date.
    pub child: bool,
    /// Foreign or stateless applicant.
    pub foreigner: bool,
    /// The authority the file is with now.
    pub submitted_to: Option<String>,
    /// Every authority the file was ever submitted to.
    pub ever_submitted_to: Vec<String>,
    /// Earliest due date of a running deadline.
    pub next_due_on: Option<NaiveDate>,
    /// Running deadlines.
    pub open_deadlines: u64,
    /// Deadlines whose miss the engine recorded.
    pub missed_recorded: u64,
    /// A running deadline is past due today.
    pub overdue: bool,
    /// Version of the case the row reflects.
    pub last_sequence: u64,
    /// Recorded time of that event.
    pub updated_at: DateTime<Utc>,
}

/// A page of the work queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// The cases.
    pub items: Vec<WorkQueueItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One deadline of the deadline list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineListItem {
    /// Case id.
    pub case_id: uuid::Uuid,
    /// Deadline name.
    pub name: String,
    /// Rule kind.
    #[schema(value_type = domain::DeadlineKind)]
    pub kind: String,
    /// Start date.
    pub start: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// Date fulfilled.
    pub fulfilled_on: Option<NaiveDate>,
    /// Date cancelled (the case closed).
    pub cancelled_on: Option<NaiveDate>,
    /// The engine recorded the miss.
    pub missed_recorded: bool,
    /// The case's office.
    pub office: String,
    /// State today.
    #[schema(value_type = domain::DeadlineState)]
    pub state: String,
    /// Days from today to the due date (negative when past).
    pub days_left: i64,
    /// Version of the case the row reflects.
    pub last_sequence: u64,
}

/// A page of deadlines.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineList {
    /// The deadlines.
    pub items: Vec<DeadlineListItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Report figures. `null` is a suppressed figure (`disclosure=public`) or, for the median, no
/// decision in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Figures {
    /// Applications registered.
    pub applications: Option<u64>,
    /// Of them, children.
    pub children: Option<u64>,
    /// Of them, foreigners and stateless persons.
    pub foreigners: Option<u64>,
    /// Applications by referral source.
    pub by_referral_source: BTreeMap<String, Option<u64>>,
    /// Interviews.
    pub interviews: Option<u64>,
    /// Files submitted to a deciding authority.
    pub files_submitted: Option<u64>,
    /// Files returned.
    pub files_returned: Option<u64>,
    /// Statuses granted.
    pub granted: Option<u64>,
    /// Refusals.
    pub refused: Option<u64>,
    /// Certificates handed over.
    pub certificates_handed_over: Option<u64>,
    /// Needs assessments.
    pub needs_assessments: Option<u64>,
    /// Rehabilitation plans approved.
    pub rehabilitation_plans: Option<u64>,
    /// Shelter placements.
    pub shelter_placements: Option<u64>,
    /// Payments.
    pub payments: Option<u64>,
    /// Deadlines missed.
    pub deadlines_missed: Option<u64>,
    /// Median days from registration to decision.
    pub median_days_to_decision: Option<f64>,
    /// Files at a deciding authority (stock).
    pub pending_decision: Option<u64>,
    /// Open cases (stock).
    pub open_cases: Option<u64>,
    /// Cases with an overdue deadline (stock).
    pub overdue: Option<u64>,
    /// Names of the suppressed figures (`disclosure=public` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub suppressed: Vec<String>,
}

/// One group of a breakdown: its key and its figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsGroup {
    /// Office code or `YYYY-MM`.
    pub key: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// A statistics report.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsReport {
    /// The office reported on (with its districts).
    pub office: String,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// The date the stock figures are as of.
    pub stock_as_of: NaiveDate,
    /// Totals.
    pub totals: Figures,
    /// The breakdown (empty without `group_by`).
    pub groups: Vec<StatsGroup>,
}

/// Who recorded an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    /// User id, or `system`.
    pub sub: String,
    /// Role, or `system`.
    #[schema(value_type = domain::Role)]
    pub role: String,
    /// Office (absent for the engine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
}

/// One event of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventItem {
    /// 1-based sequence (the case's version after it).
    pub sequence: u64,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Business date of the fact.
    pub occurred_on: NaiveDate,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub actor: EventActor,
    /// The event's data (free text appears as record ids, never as text).
    #[schema(value_type = Value)]
    pub data: serde_json::Value,
    /// Its keyed hash.
    pub hash: Option<String>,
    /// The previous event's hash.
    pub prev_hash: Option<String>,
}

/// A case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Case id.
    pub case_id: uuid::Uuid,
    /// Events in order.
    pub events: Vec<EventItem>,
}

/// The result of verifying a case's hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Every event's hash recomputes and links.
    pub valid: bool,
    /// Number of events.
    pub events: u64,
    /// The first event that does not verify.
    pub first_invalid_sequence: Option<u64>,
}

/// One read of the case's personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    /// Position in the case's chain, from 1.
    pub seq: i64,
    /// When the read happened.
    pub at: DateTime<Utc>,
    /// Reader's subject.
    pub sub: String,
    /// Reader's role.
    pub role: String,
    /// Reader's office.
    pub office: Option<String>,
    /// Stated reason.
    pub reason: Option<String>,
    /// What was read: a JSON array of record ids, as a string.
    pub what: String,
    /// Chain hash of this entry.
    pub hash: String,
}

/// The access log of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLog {
    /// Case id.
    pub case_id: uuid::Uuid,
    /// Reads in order.
    pub entries: Vec<AccessEntry>,
    /// The log's hash chain verifies.
    pub valid: bool,
    /// The first entry that does not verify.
    pub first_invalid_seq: Option<i64>,
}

/// A non-working day passed over while counting.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedDay {
    /// The day.
    pub date: NaiveDate,
    /// Why it is not a working day.
    pub reason: String,
}

/// A deadline rule as data.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineRule {
    /// How many units.
    pub length: u32,
    /// Days or months.
    #[schema(value_type = domain::Unit)]
    pub unit: String,
    /// Calendar or working days.
    #[schema(value_type = domain::DayKind)]
    pub days: String,
    /// A due date on a non-working day moves to the next working day.
    pub roll_to_working_day: bool,
    /// What starts it, in words.
    pub starts_at: String,
    /// The legal source or default mark.
    #[schema(value_type = domain::Mark)]
    pub mark: String,
    /// Conditions that suspend it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<domain::SuspendCondition>, required = false)]
    pub suspended_while: Vec<String>,
}

/// How a deadline's due date was computed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    /// Deadline name.
    pub name: String,
    /// The rule in words.
    pub rule: String,
    /// The rule as data.
    pub rule_data: DeadlineRule,
    /// Definition id.
    pub definition: String,
    /// Content hash of the definition.
    pub definition_hash: String,
    /// Start date.
    pub start: NaiveDate,
    /// Kind of days.
    #[schema(value_type = domain::DayKind)]
    pub kind_of_days: String,
    /// Due date as recorded in the case.
    pub due_on: NaiveDate,
    /// Non-working days skipped.
    pub days_skipped: Vec<SkippedDay>,
    /// Some counted day lay beyond the calendar: only weekends were skipped for it.
    pub beyond_calendar: bool,
    /// Suspensions applied.
    pub suspensions: Vec<String>,
    /// Notes.
    pub notes: Vec<String>,
}

/// One deadline of a case with its explanation.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineExplanation {
    /// Case id.
    pub case_id: uuid::Uuid,
    /// The explanation.
    pub deadline: Explanation,
    /// State today.
    #[schema(value_type = Option<domain::DeadlineState>)]
    pub state: Option<String>,
    /// Days from today to the due date.
    pub days_left: Option<i64>,
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// The store is reachable.
    pub ready: bool,
    /// Warnings, such as a working-day calendar about to end.
    pub warnings: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The document.

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn response_ref(name: &str) -> RefOr<ApiResponse> {
    RefOr::Ref(Ref::from_response_name(name))
}

fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn header(schema: RefOr<Schema>, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

fn etag_header() -> Header {
    header(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r#"^"[0-9]+"$"#))
            .into(),
        "The case's version, quoted (`\"3\"`): send it back as `If-Match` with the next action.",
    )
}

fn json_response(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
}

fn param(
    name: &str,
    place: ParameterIn,
    required: bool,
    schema: RefOr<Schema>,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn query(name: &str, schema: RefOr<Schema>, description: &str) -> utoipa::openapi::path::Parameter {
    param(name, ParameterIn::Query, false, schema, description)
}

fn date_param() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .into()
}

fn case_id_param() -> utoipa::openapi::path::Parameter {
    param(
        "id",
        ParameterIn::Path,
        true,
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into(),
        "Case id. An id that is not a case in the caller's scope is 404 `case_not_found`.",
    )
}

fn accept_language() -> utoipa::openapi::path::Parameter {
    param(
        "Accept-Language",
        ParameterIn::Header,
        false,
        string(),
        "Language of problem titles: `uk` or `en` (the default).",
    )
}

fn idempotency_key() -> utoipa::openapi::path::Parameter {
    param(
        "Idempotency-Key",
        ParameterIn::Header,
        false,
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .into(),
        "Scoped to the caller's `sub`, kept at least 24 hours: a repeat of a request that \
         succeeded returns that first response (same status, body and ETag) and writes nothing. \
         The same key with a different body: 422 `idempotency_key_reused`; while the first is \
         still running: 409 `request_in_progress`.",
    )
}

fn limit_param() -> utoipa::openapi::path::Parameter {
    query(
        "limit",
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(ptl_projections::queries::MAX_LIMIT))
            .default(Some(50.into()))
            .into(),
        "Page size.",
    )
}

fn cursor_param() -> utoipa::openapi::path::Parameter {
    query(
        "cursor",
        string(),
        "The `next_cursor` of the previous page (opaque).",
    )
}

/// The reusable problem responses: (component name, status, description).
const PROBLEMS: &[(&str, u16, &str)] = &[
    (
        "BadRequest",
        400,
        "`malformed_json` (the body is not JSON) or `bad_parameter` (a query, path or header \
         parameter is unreadable).",
    ),
    (
        "Unauthorized",
        401,
        "`unauthorized`: missing, invalid, expired, unsigned or revoked token.",
    ),
    (
        "Forbidden",
        403,
        "`forbidden`: in scope, but the role may not do this.",
    ),
    (
        "NotFound",
        404,
        "`case_not_found` (no such case, or outside the caller's scope), `not_found` (another \
         resource) or `unknown_action`.",
    ),
    (
        "Conflict",
        409,
        "`action_not_allowed` in the case's current stage (with `allowed_actions`), \
         `consent_required`, or `request_in_progress` (same `Idempotency-Key` still running).",
    ),
    (
        "PreconditionFailed",
        412,
        "`version_mismatch`: the `If-Match` version is stale; read the case again.",
    ),
    (
        "PayloadTooLarge",
        413,
        "`body_too_large`: the body exceeds 1 MiB.",
    ),
    (
        "UnsupportedMediaType",
        415,
        "`unsupported_media_type`: the body is not `application/json`.",
    ),
    (
        "UnprocessableEntity",
        422,
        "`validation_failed` or a field problem's own code such as `date_in_future` (with \
         `errors`: field -> message), `unknown_field`, or `idempotency_key_reused`.",
    ),
    (
        "PreconditionRequired",
        428,
        "`if_match_required`: an action without `If-Match`.",
    ),
    (
        "InternalError",
        500,
        "`internal`: an unexpected failure (logged).",
    ),
    (
        "ServiceUnavailable",
        503,
        "`store_unavailable` (or the request timed out); retry after `Retry-After` seconds.",
    ),
];

fn problem_response(status: u16, description: &str) -> ApiResponse {
    let mut r = ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(schema_ref(&Problem::name())))
                .build(),
        )
        .header(
            "Content-Language",
            header(string(), "The language of `title`: `en` or `uk`."),
        );
    match status {
        401 => {
            r = r.header(
                "WWW-Authenticate",
                header(string(), "`Bearer`: the API takes a bearer JWT."),
            );
        }
        503 => {
            r = r.header(
                "Retry-After",
                header(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0))
                        .into(),
                    "Seconds to wait before retrying.",
                ),
            );
        }
        _ => {}
    }
    r.build()
}

fn problem_name(status: u16) -> &'static str {
    PROBLEMS
        .iter()
        .find(|(_, s, _)| *s == status)
        .map_or("InternalError", |(name, _, _)| name)
}

/// An operation of the API: summary, tag, parameters, responses.
struct Op {
    builder: OperationBuilder,
    public: bool,
}

impl Op {
    fn new(id: &str, tag: &str, summary: &str) -> Self {
        Self {
            builder: OperationBuilder::new()
                .operation_id(Some(id))
                .tag(tag)
                .summary(Some(summary)),
            public: false,
        }
    }

    /// No token needed.
    fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn description(mut self, d: &str) -> Self {
        self.builder = self.builder.description(Some(d));
        self
    }

    fn param(mut self, p: utoipa::openapi::path::Parameter) -> Self {
        self.builder = self.builder.parameter(p);
        self
    }

    fn ok(mut self, status: &str, r: impl Into<RefOr<ApiResponse>>) -> Self {
        self.builder = self.builder.response(status, r);
        self
    }

    /// Problem responses by status, plus 401, 500 and 503 for every authenticated route.
    fn problems(mut self, statuses: &[u16]) -> Self {
        let mut all: Vec<u16> = statuses.to_vec();
        if !self.public {
            all.extend([401, 500, 503]);
        }
        all.sort_unstable();
        all.dedup();
        for s in all {
            self.builder = self
                .builder
                .response(s.to_string(), response_ref(problem_name(s)));
        }
        self
    }

    fn build(self) -> Operation {
        let mut op = self.builder.build();
        if self.public {
            op.security = Some(Vec::new());
        } else {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(accept_language());
        }
        op
    }
}

/// The operation documenting `method path`, or `None` for a route this module does not know.
#[allow(clippy::too_many_lines)]
fn operation(
    method: &str,
    path: &str,
    action_bodies: &[(ActionName, String)],
) -> Option<Operation> {
    let case_view = || schema_ref(&CaseView::name());
    let op = match (method, path) {
        ("GET", "/healthz") => Op::new("healthz", "operations", "Liveness").public().ok(
            "200",
            ResponseBuilder::new()
                .description("The process is up.")
                .content(
                    "text/plain",
                    ContentBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["ok"]))
                                .build(),
                        ))
                        .build(),
                )
                .build(),
        ),
        ("GET", "/readyz") => Op::new("readyz", "operations", "Readiness")
            .public()
            .ok(
                "200",
                json_response("The store is reachable.", schema_ref(&Readiness::name())).build(),
            )
            .ok(
                "503",
                json_response(
                    "The store is unreachable (or the request timed out).",
                    schema_ref(&Readiness::name()),
                )
                .header(
                    "Retry-After",
                    header(
                        ObjectBuilder::new().schema_type(Type::Integer).into(),
                        "Seconds to wait before retrying.",
                    ),
                )
                .build(),
            ),
        ("GET", "/dashboard") => Op::new("dashboard", "operations", "Dashboard page").public()
            .description("A static page (no personal data in it): it takes the token from the URL fragment (`#token=...`, never sent to the server) or a form, keeps it in session storage and calls the API with the bearer header.")
            .ok(
                "200",
                ResponseBuilder::new()
                    .description("The dashboard HTML page.")
                    .content("text/html", ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String).build())).build())
                    .build(),
            ),
        ("GET", "/metrics") => Op::new("metrics", "operations", "Prometheus metrics")
            .public()
            .description("Request counters by route; no personal data, no case ids.")
            .ok(
                "200",
                ResponseBuilder::new()
                    .description("Prometheus text exposition format 0.0.4.")
                    .content(
                        "text/plain",
                        ContentBuilder::new().schema(Some(string())).build(),
                    )
                    .build(),
            ),
        ("GET", "/openapi.json") => Op::new("openapi", "operations", "This document")
            .public()
            .ok(
                "200",
                json_response(
                    "The OpenAPI 3.1 document.",
                    ObjectBuilder::new().schema_type(Type::Object).into(),
                )
                .build(),
            ),
        ("POST", "/api/v1/cases") => {
            let (name, _, _) = crate::models::register_body_schema();
            let mut op = Op::new("registerCase", "cases", "Register an application")
                .description(
                    "Caseworker or supervisor of an office covering `office`. Whether the \
                     applicant is a child is derived from `person.birth_date` on `received_on`.",
                )
                .param(idempotency_key())
                .ok(
                    "201",
                    json_response("Registered: the case view.", case_view())
                        .header(
                            "Location",
                            header(string(), "`/api/v1/cases/{id}` of the new case."),
                        )
                        .header("ETag", etag_header())
                        .header(
                            "X-Possible-Duplicates",
                            header(
                                string(),
                                &format!(
                                    "Comma-separated ids of other cases of the same person, if \
                                     any: the first {} in id order (a person search, \
                                     `GET /api/v1/cases?full_name=...&birth_date=...`, lists \
                                     them all).",
                                    ptl_engine::pipeline::SAME_PERSON_LISTED
                                ),
                            ),
                        )
                        .build(),
                )
                .problems(&[400, 403, 409, 413, 415, 422]);
            op.builder = op.builder.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        JSON,
                        ContentBuilder::new()
                            .schema(Some(schema_ref(&name)))
                            .build(),
                    )
                    .build(),
            ));
            op
        }
        ("GET", "/api/v1/cases") => Op::new("listCases", "lists", "Work queue and person search")
            .description(
                "Cases in the caller's scope. A person search needs `full_name` and `birth_date` \
                 together (exact match after normalisation; logged; not for auditors and admins).",
            )
            .param(query(
                "office",
                office_code_schema(),
                "Only this office (within scope).",
            ))
            .param(query(
                "stage",
                schema_ref(&domain::Stage::name()),
                "Only this stage.",
            ))
            .param(query(
                "status",
                schema_ref(&domain::Status::name()),
                "Only this status.",
            ))
            .param(query(
                "assignee",
                string(),
                "Only cases assigned to this user id.",
            ))
            .param(query(
                "overdue",
                ObjectBuilder::new().schema_type(Type::Boolean).into(),
                "Only cases with an overdue deadline.",
            ))
            .param(query(
                "due_before",
                date_param(),
                "Only cases with a deadline due before this date.",
            ))
            .param(query("full_name", string(), "Person search: full name."))
            .param(query(
                "birth_date",
                date_param(),
                "Person search: date of birth.",
            ))
            .param(query(
                "reason",
                string(),
                "Why the person search is made (logged).",
            ))
            .param(limit_param())
            .param(cursor_param())
            .ok(
                "200",
                json_response("A page of cases.", schema_ref(&CaseList::name())).build(),
            )
            .problems(&[400, 403]),
        ("GET", "/api/v1/deadlines") => Op::new("listDeadlines", "lists", "Deadlines")
            .param(query(
                "office",
                office_code_schema(),
                "Only this office (within scope).",
            ))
            .param(query(
                "state",
                schema_ref(&domain::DeadlineState::name()),
                "Only deadlines in this state today.",
            ))
            .param(query(
                "due_before",
                date_param(),
                "Only deadlines due before this date.",
            ))
            .param(limit_param())
            .param(cursor_param())
            .ok(
                "200",
                json_response("A page of deadlines.", schema_ref(&DeadlineList::name())).build(),
            )
            .problems(&[400]),
        ("GET", "/api/v1/stats") | ("GET", "/api/v1/stats.csv") => {
            let csv = path.ends_with(".csv");
            let mut op = if csv {
                Op::new("statsCsv", "stats", "Report figures as CSV").ok(
                    "200",
                    ResponseBuilder::new()
                        .description("The report as CSV.")
                        .content(
                            "text/csv",
                            ContentBuilder::new().schema(Some(string())).build(),
                        )
                        .build(),
                )
            } else {
                Op::new("stats", "stats", "Report figures").ok(
                    "200",
                    json_response("The report.", schema_ref(&StatsReport::name())).build(),
                )
            };
            op = op
                .description(
                    "Flow figures count events whose business date is in [from, to]; stock \
                     figures are as of `to`. Not for admins.",
                )
                .param(query(
                    "office",
                    office_code_schema(),
                    "Default: the caller's office.",
                ))
                .param(query(
                    "from",
                    date_param(),
                    "Default: 1 January of the current year.",
                ))
                .param(query("to", date_param(), "Default: today."))
                .param(query(
                    "group_by",
                    string_enum(["office", "month"], "Breakdown."),
                    "Breakdown (default none).",
                ))
                .param(query(
                    "disclosure",
                    string_enum(["public", "internal"], "Disclosure control."),
                    "`public` suppresses small counts (and complementary cells).",
                ))
                .problems(&[400, 403]);
            op
        }
        ("GET", "/api/v1/cases/{id}") => Op::new("getCase", "cases", "The case view")
            .description(
                "History with one of `as_of`, `on` and `version` (no ETag, no allowed actions). \
                 `include=person` adds personal data for the roles that may see it (logged).",
            )
            .param(case_id_param())
            .param(query(
                "as_of",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .into(),
                "What had been recorded by this instant (RFC 3339).",
            ))
            .param(query(
                "on",
                date_param(),
                "Facts that occurred by this business date, as known now.",
            ))
            .param(query(
                "version",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .into(),
                "The case after this many events.",
            ))
            .param(query(
                "include",
                string_enum(["person"], "Extra parts."),
                "`person`: the personal data.",
            ))
            .param(query(
                "reason",
                string(),
                "Why personal data is read (access log).",
            ))
            .ok(
                "200",
                json_response("The case view.", case_view())
                    .header("ETag", etag_header())
                    .build(),
            )
            .problems(&[400, 403, 404]),
        ("POST", "/api/v1/cases/{id}/actions/{action}") => {
            let mut refs: Vec<RefOr<Schema>> = Vec::new();
            let mut names: Vec<&str> = Vec::new();
            let mut mapping = serde_json::Map::new();
            for (action, name) in action_bodies {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                    refs.push(schema_ref(name));
                }
                mapping.insert(
                    action.as_str().to_string(),
                    serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }),
                );
            }
            let mut op = Op::new("postAction", "cases", "Perform a procedure action")
                .description(
                    "One action of the procedure; the body is the action's fields (the schema \
                     named for it in `x-action-bodies`; every body has `occurred_on`). Answers \
                     200 with the case view and its new ETag.",
                )
                .param(case_id_param())
                .param(param(
                    "action",
                    ParameterIn::Path,
                    true,
                    schema_ref(&domain::ClientAction::name()),
                    "The action; any other name is 404 `unknown_action`.",
                ))
                .param(param(
                    "If-Match",
                    ParameterIn::Header,
                    true,
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(r#"^(W/)?"?[0-9]+"?$"#))
                        .into(),
                    "The case's current ETag (`\"3\"`). Missing: 428; stale: 412.",
                ))
                .param(idempotency_key())
                .ok(
                    "200",
                    json_response("Done: the case view.", case_view())
                        .header("ETag", etag_header())
                        .build(),
                )
                .problems(&[400, 403, 404, 409, 412, 413, 415, 422, 428]);
            op.builder = op
                .builder
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .required(Some(Required::True))
                        .description(Some(
                            "The action's body: see `x-action-bodies` for which schema.",
                        ))
                        .content(
                            JSON,
                            ContentBuilder::new()
                                .schema(Some(Schema::AnyOf(
                                    refs.into_iter()
                                        .fold(AnyOfBuilder::new(), AnyOfBuilder::item)
                                        .build(),
                                )))
                                .build(),
                        )
                        .build(),
                ))
                .extensions(Some(Extensions::from_iter([(
                    "x-action-bodies",
                    serde_json::Value::Object(mapping),
                )])));
            op
        }
        ("GET", "/api/v1/cases/{id}/events") => Op::new("getEvents", "cases", "The case's events")
            .description("Not for admins. The engine's own events have actor `system`.")
            .param(case_id_param())
            .ok(
                "200",
                json_response("The history.", schema_ref(&EventList::name())).build(),
            )
            .problems(&[403, 404]),
        ("GET", "/api/v1/cases/{id}/verify") => {
            Op::new("verifyCase", "cases", "Verify the hash chain")
                .description("Auditors and supervisors.")
                .param(case_id_param())
                .ok(
                    "200",
                    json_response("The result.", schema_ref(&Verification::name())).build(),
                )
                .problems(&[403, 404])
        }
        ("GET", "/api/v1/cases/{id}/access-log") => {
            Op::new("getAccessLog", "cases", "Who read the case's personal data")
                .description("Auditors and supervisors.")
                .param(case_id_param())
                .ok(
                    "200",
                    json_response("The access log.", schema_ref(&AccessLog::name())).build(),
                )
                .problems(&[403, 404])
        }
        ("GET", "/api/v1/cases/{id}/deadlines/{name}") => {
            Op::new("getDeadline", "cases", "One deadline with its explanation")
                .param(case_id_param())
                .param(param(
                    "name",
                    ParameterIn::Path,
                    true,
                    string(),
                    "Deadline name (`interview`, `verification_reply:<request_id>`, ...); a name \
                     the case has not is 404 `not_found`.",
                ))
                .ok(
                    "200",
                    json_response("The deadline.", schema_ref(&DeadlineExplanation::name()))
                        .build(),
                )
                .problems(&[404])
        }
        _ => return None,
    };
    Some(op.build())
}

fn add_schema<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
}

fn body_description(schema: RefOr<Schema>, actions: &[&str]) -> RefOr<Schema> {
    let note = format!(
        "Request body of {}.",
        actions
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match schema {
        RefOr::T(Schema::Object(mut o)) => {
            o.description = Some(match o.description.take() {
                Some(d) => format!("{note} {d}"),
                None => note,
            });
            RefOr::T(Schema::Object(o))
        }
        other => other,
    }
}

/// Builds the document.
///
/// # Panics
/// Never; routes this module does not document are left out (and fail `tests/openapi.rs`).
#[must_use]
pub fn document() -> OpenApi {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    // Action bodies, with the actions each serves.
    let mut action_bodies: Vec<(ActionName, String)> = Vec::new();
    let mut bodies: BTreeMap<String, (RefOr<Schema>, Vec<&'static str>)> = BTreeMap::new();
    for action in client_actions() {
        if let Some((name, schema, refs)) = crate::models::action_body_schema(action) {
            schemas.extend(refs);
            bodies
                .entry(name.to_string())
                .or_insert_with(|| (schema, Vec::new()))
                .1
                .push(action.as_str());
            action_bodies.push((action, name.into_owned()));
        }
    }
    for (name, (schema, actions)) in bodies {
        schemas.push((name, body_description(schema, &actions)));
    }
    let (name, schema, refs) = crate::models::register_body_schema();
    schemas.extend(refs);
    schemas.push((name.into_owned(), schema));
    add_schema::<CaseView>(&mut schemas);
    add_schema::<Problem>(&mut schemas);
    add_schema::<CaseList>(&mut schemas);
    add_schema::<DeadlineList>(&mut schemas);
    add_schema::<StatsReport>(&mut schemas);
    add_schema::<EventList>(&mut schemas);
    add_schema::<Verification>(&mut schemas);
    add_schema::<AccessLog>(&mut schemas);
    add_schema::<DeadlineExplanation>(&mut schemas);
    add_schema::<Readiness>(&mut schemas);
    add_schema::<domain::ClientAction>(&mut schemas);
    add_schema::<domain::Stage>(&mut schemas);
    add_schema::<domain::Status>(&mut schemas);
    add_schema::<domain::DeadlineState>(&mut schemas);

    let mut components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with claims `sub`, `name`, `role`, `office`, `exp` and optional \
                         `jti`. Missing, invalid, expired or unsigned: 401.",
                    ))
                    .build(),
            ),
        );
    for (name, status, description) in PROBLEMS {
        components = components.response(*name, problem_response(*status, description));
    }

    let mut paths = PathsBuilder::new();
    for (method, path) in crate::server::ROUTES {
        let Some(op) = operation(method, path, &action_bodies) else {
            continue;
        };
        let method = match *method {
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            _ => HttpMethod::Get,
        };
        paths = paths.path(*path, PathItem::new(method, op));
    }

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("PTL Status Engine API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Case management of the status of a person affected by trafficking in \
                     human beings (REST contract v1). Errors are RFC 9457 problem+json.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .security(Some([SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]))
        .tags(Some([
            TagBuilder::new().name("cases").build(),
            TagBuilder::new().name("lists").build(),
            TagBuilder::new().name("stats").build(),
            TagBuilder::new().name("operations").build(),
        ]))
        .build()
}

/// The document as JSON text, built once.
///
/// # Errors
/// The document does not serialise (a bug).
pub fn document_json() -> Result<&'static str, ApiError> {
    static DOC: OnceLock<Result<String, String>> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_string(&document()).map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| ApiError::Internal(format!("the OpenAPI document: {e}")))
}

/// `GET /openapi.json`.
pub async fn openapi_json() -> Response {
    match document_json() {
        Ok(doc) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
            doc,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
