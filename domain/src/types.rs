//! The vocabulary of a case: roles, actors and the closed sets of values the procedure knows.
//!
//! Every enum here is serialised in `snake_case` and stored inside events: the JSON spellings are a
//! contract with every event already written. Add variants; never rename or remove one (an old
//! event must still decode).

use serde::{Deserialize, Serialize};

/// Declares a closed, string-coded enum with `as_str`, `ALL`, `Display` and `FromStr`, so the API,
/// the CLI and the stored JSON agree on one spelling.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable spelling used in JSON, URLs and the command line.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::types::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::types::UnknownValue {
                        kind: stringify!($name),
                        value: s.chars().take(64).collect(),
                        expected: &[$($code),+],
                    }),
                }
            }
        }
    };
}
pub(crate) use coded_enum;

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}; expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    /// The enum's Rust name.
    pub kind: &'static str,
    /// The rejected input (truncated).
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static [&'static str],
}

coded_enum! {
    /// Who acts. `system` is the engine itself (missed deadlines, expiry).
    Role {
        Caseworker => "caseworker",
        Supervisor => "supervisor",
        SocialWorker => "social_worker",
        DecisionOfficer => "decision_officer",
        Auditor => "auditor",
        Admin => "admin",
        System => "system",
    }
}

/// The person (or the engine) behind a command, as the token named them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id (`sub` claim), or `system`.
    pub sub: String,
    /// The role the user acted in.
    pub role: Role,
    /// Office code the user acts for; absent for the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
}

impl Actor {
    /// The engine acting on its own (missed deadlines, expiry).
    #[must_use]
    pub fn system() -> Self {
        Self {
            sub: "system".into(),
            role: Role::System,
            office: None,
        }
    }

    /// A user of the system.
    #[must_use]
    pub fn user(sub: impl Into<String>, role: Role, office: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            role,
            office: Some(office.into()),
        }
    }
}

/// A reference to an encrypted personal record kept by the engine's vault. Free text (notes,
/// reasons, references, document descriptions) never enters an event; the event keeps this id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordRef(pub String);

coded_enum! {
    /// Where the case stands on the status track (`api.md`).
    Stage {
        Registered => "registered",
        InterviewDone => "interview_done",
        Verification => "verification",
        Submitted => "submitted",
        Returned => "returned",
        Decided => "decided",
        Appeal => "appeal",
        Closed => "closed",
    }
}

coded_enum! {
    /// The person's status (`api.md`).
    Status {
        Pending => "pending",
        Granted => "granted",
        Refused => "refused",
        Withdrawn => "withdrawn",
        Expired => "expired",
    }
}

coded_enum! {
    /// Who filed the application.
    FiledBy {
        SelfFiled => "self",
        LegalRepresentative => "legal_representative",
        PersonAwareOfChild => "person_aware_of_child",
    }
}

coded_enum! {
    /// Recorded sex of the applicant (statistics only).
    Sex {
        Female => "female",
        Male => "male",
        Unknown => "unknown",
    }
}

coded_enum! {
    /// Citizenship kind (statistics: "foreigners").
    Citizenship {
        Ukrainian => "ukrainian",
        Foreign => "foreign",
        Stateless => "stateless",
    }
}

coded_enum! {
    /// The entity that referred the person (statistics: `by_referral_source`).
    ReferralSource {
        Hotline => "hotline",
        Police => "police",
        Ngo => "ngo",
        Mdg => "mdg",
        SelfReferral => "self",
        Consulate => "consulate",
        BorderGuard => "border_guard",
        School => "school",
        Other => "other",
    }
}

coded_enum! {
    /// Form of exploitation (statistics).
    ExploitationForm {
        Sexual => "sexual",
        Labour => "labour",
        Begging => "begging",
        CriminalActivity => "criminal_activity",
        ArmedConflict => "armed_conflict",
        OrganRemoval => "organ_removal",
        Adoption => "adoption",
        Servitude => "servitude",
        Other => "other",
    }
}

coded_enum! {
    /// What a consent covers. Consent is a ledger: each scope is given and withdrawn by events.
    ConsentScope {
        StatusProcedure => "status_procedure",
        ShareWithPolice => "share_with_police",
        ShareWithSocialServices => "share_with_social_services",
        ShareWithNgos => "share_with_ngos",
    }
}

coded_enum! {
    /// Who signed a consent.
    GivenBy {
        Person => "person",
        LegalRepresentative => "legal_representative",
    }
}

coded_enum! {
    /// The two lawful exceptions to the compulsory interview (grounds of the first split in two).
    SkipGround {
        AlreadyRecognised => "already_recognised",
        ImpossibleMentalState => "impossible_mental_state",
        ImpossibleYoungAge => "impossible_young_age",
    }
}

coded_enum! {
    /// Why a person's data was erased (`erase-personal-data`), kept in the event for the audit
    /// and statistics; the free-text reason goes to the erasure ledger, encrypted under the
    /// master key. `procedure.md` names the two grounds ("at the end of retention or on a lawful
    /// request"); the lawful requests are split by who makes them.
    ErasureCategory {
        /// The retention period of the case ended.
        RetentionEnded => "retention_ended",
        /// The person (or their legal representative) asked for it.
        PersonRequest => "person_request",
        /// The person withdrew the consent the data was processed under.
        ConsentWithdrawn => "consent_withdrawn",
        /// A court, or the Ombudsman as the data-protection authority, ordered it.
        Order => "order",
        /// Another lawful ground, stated in the reason.
        Other => "other",
    }
}

coded_enum! {
    /// Addressee of a verification request.
    VerificationTarget {
        NationalPolice => "national_police",
        MigrationService => "migration_service",
        BorderGuard => "border_guard",
        Consulate => "consulate",
        Medical => "medical",
        Other => "other",
    }
}

coded_enum! {
    /// What a verification reply said.
    ReplyOutcome {
        Confirms => "confirms",
        DoesNotConfirm => "does_not_confirm",
        Inconclusive => "inconclusive",
    }
}

coded_enum! {
    /// Kinds of document in the personal file.
    DocumentKind {
        Application => "application",
        IdentityDocument => "identity_document",
        TravelDocument => "travel_document",
        MedicalConclusion => "medical_conclusion",
        Questionnaire => "questionnaire",
        RegistrationCard => "registration_card",
        Other => "other",
    }
}

coded_enum! {
    /// The official's conclusion in the personal file.
    Conclusion {
        RecommendGrant => "recommend_grant",
        RecommendRefuse => "recommend_refuse",
    }
}

coded_enum! {
    /// Outcome of a decision.
    DecisionOutcome {
        Granted => "granted",
        Refused => "refused",
    }
}

coded_enum! {
    /// Outcome of a court ruling on an appeal against a refusal.
    RulingOutcome {
        /// The refusal stands.
        Upheld => "upheld",
        /// The refusal is annulled and the court establishes the status.
        AnnulledStatusEstablished => "annulled_status_established",
        /// The refusal is annulled and the authority must decide again.
        AnnulledNewDecision => "annulled_new_decision",
    }
}

coded_enum! {
    /// Needs found by the assessment (Order 578).
    Need {
        Shelter => "shelter",
        Medical => "medical",
        Psychological => "psychological",
        Social => "social",
        LegalAid => "legal_aid",
        Employment => "employment",
        Education => "education",
        Documents => "documents",
        Payment => "payment",
        Other => "other",
    }
}

/// A validated office code such as `UA7102` or `UA-NSS` (letters, digits and `-`, 2 to 32).
#[must_use]
pub fn is_valid_office_code(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// An office code such as `UA7102` or `UA-NSS`: 2 to 32 capital letters, digits or `-`
/// (`procedure.md`, "Actors": offices form a tree, the deciding authorities are offices of their
/// own).
///
/// Checked once, where a code enters the domain ([`OfficeCode::parse`], `FromStr`, `TryFrom`), so
/// that a command or an event holding one needs no check again. Persistent: stored in events and
/// snapshots as the plain string; `serde(transparent)` keeps that shape and reads every stored code
/// back as written (each was checked when it was first parsed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OfficeCode(String);

/// A string that is not an office code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an office code (2 to 32 capital letters, digits or `-`, such as UA7102)")]
pub struct InvalidOfficeCode;

impl OfficeCode {
    /// Checks an office code.
    ///
    /// # Errors
    /// [`InvalidOfficeCode`] unless `s` has 2 to 32 capital letters, digits or `-`.
    pub fn parse(s: impl Into<String>) -> Result<Self, InvalidOfficeCode> {
        let s = s.into();
        if is_valid_office_code(&s) {
            Ok(Self(s))
        } else {
            Err(InvalidOfficeCode)
        }
    }

    /// The code as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for OfficeCode {
    type Err = InvalidOfficeCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for OfficeCode {
    type Error = InvalidOfficeCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for OfficeCode {
    type Error = InvalidOfficeCode;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl std::ops::Deref for OfficeCode {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for OfficeCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for OfficeCode {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OfficeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<OfficeCode> for String {
    fn from(code: OfficeCode) -> Self {
        code.0
    }
}

impl PartialEq<str> for OfficeCode {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for OfficeCode {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for OfficeCode {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// An ISO 3166-1 alpha-2 country code (`UA`, `PL`), or `XX` when unknown.
#[must_use]
pub fn is_valid_country_code(s: &str) -> bool {
    s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_back_to_its_value() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for s in Stage::ALL {
            assert_eq!(s.as_str().parse::<Stage>(), Ok(*s));
        }
        assert_eq!(
            serde_json::to_string(&FiledBy::SelfFiled).ok(),
            Some("\"self\"".to_string())
        );
    }

    #[test]
    fn an_office_code_is_checked_when_parsed_and_stored_as_the_plain_string() {
        let code = OfficeCode::parse("UA-NSS");
        assert_eq!(code.as_ref().map(OfficeCode::as_str), Ok("UA-NSS"));
        for bad in ["", "U", "ua7102", "UA 71", "UA_71"] {
            assert_eq!(OfficeCode::parse(bad), Err(InvalidOfficeCode), "{bad:?}");
        }
        let json = code.ok().and_then(|c| serde_json::to_string(&c).ok());
        assert_eq!(json.as_deref(), Some("\"UA-NSS\""));
    }

    #[test]
    fn an_unknown_spelling_names_the_accepted_ones() {
        let err = "judge".parse::<Role>().err();
        assert!(err.is_some_and(|e| e.to_string().contains("caseworker")));
    }
}
