//! The schemas the OpenAPI document is made of: the scalars shared by request bodies, the domain's
//! closed value sets (listed from their `ALL` constants) and the documentation types of response
//! bodies built from other crates' types. A leaf module: request bodies ([`crate::models`]), the
//! case view ([`crate::view`]) and problems ([`crate::http::error`]) refer to it, and the
//! document ([`crate::http::openapi`]) assembles it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::ActionName;
use serde::Serialize;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

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

pub(crate) fn string_enum<'a>(
    values: impl IntoIterator<Item = &'a str>,
    description: &str,
) -> RefOr<Schema> {
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
