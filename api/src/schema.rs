//! The schemas shared by the request bodies, the response bodies and the parameters: scalars
//! (dates, texts, office and country codes) and the domain's closed value sets (listed from their
//! `ALL` constants, so a new stage or action is documented without an edit here). A leaf module:
//! request bodies ([`crate::models`]), the case view ([`crate::view`]), problems
//! ([`crate::http::error`]) and the response bodies of [`crate::http`] refer to it.

use ptl_domain::ActionName;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

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

/// [`office_code_schema`] as a type, for the office parameters (`inline(OfficeCode)` in a path
/// attribute).
#[derive(Debug, Clone, Copy)]
pub struct OfficeCode;

impl utoipa::PartialSchema for OfficeCode {
    fn schema() -> RefOr<Schema> {
        office_code_schema()
    }
}

impl utoipa::ToSchema for OfficeCode {}

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
        ErasureCategory = ptl_domain::types::ErasureCategory, "Why a person's data is erased: `retention_ended` (end of the retention period), `person_request` (the person or their legal representative asked), `consent_withdrawn` (the consent the data was processed under was withdrawn), `order` (a court or the Ombudsman ordered it), `other` (say which in `reason`).";
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
