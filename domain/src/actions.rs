//! Action names and who may perform them (the role table of `procedure.md`).
//!
//! The kebab-case names are the URL segments of `POST /api/v1/cases/{id}/actions/{action}`.

use crate::types::{coded_enum, Role};

coded_enum! {
    /// Every procedure action, as clients name it (`api.md`), plus the engine's own records.
    ActionName {
        Register => "register",
        RecordConsent => "record-consent",
        WithdrawConsent => "withdraw-consent",
        RecordInterview => "record-interview",
        SkipInterview => "skip-interview",
        RequestVerification => "request-verification",
        RecordVerificationReply => "record-verification-reply",
        AttachDocument => "attach-document",
        ExplainMissingIdentityDocument => "explain-missing-identity-document",
        SubmitFile => "submit-file",
        ReturnFile => "return-file",
        RecordDecision => "record-decision",
        HandOverDecision => "hand-over-decision",
        RecordAppeal => "record-appeal",
        RecordCourtRuling => "record-court-ruling",
        ExtendStatus => "extend-status",
        Withdraw => "withdraw",
        Transfer => "transfer",
        ReferToSocialServices => "refer-to-social-services",
        RecordNeedsAssessment => "record-needs-assessment",
        ApproveRehabilitationPlan => "approve-rehabilitation-plan",
        RecordService => "record-service",
        PlaceInShelter => "place-in-shelter",
        ExtendShelter => "extend-shelter",
        EndShelterStay => "end-shelter-stay",
        RequestPayment => "request-payment",
        RecordPayment => "record-payment",
        Assign => "assign",
        AddNote => "add-note",
        CorrectEntry => "correct-entry",
        ErasePersonalData => "erase-personal-data",
        RecordMissedDeadline => "record-missed-deadline",
        RecordStatusExpiry => "record-status-expiry",
        HandOverToSuccessor => "hand-over-to-successor",
    }
}

impl ActionName {
    /// Actions a client may name in `POST .../actions/{action}` (not `register`, which is
    /// `POST /cases`, nor the engine's own records).
    #[must_use]
    pub fn is_client_action(self) -> bool {
        !matches!(
            self,
            Self::Register
                | Self::RecordMissedDeadline
                | Self::RecordStatusExpiry
                | Self::HandOverToSuccessor
        )
    }

    /// The roles that `procedure.md` allows to perform this action. The deciding authority's
    /// officer must also act for the authority the file was submitted to; that is checked against
    /// the case, not here.
    #[must_use]
    pub fn roles(self) -> &'static [Role] {
        use ActionName as A;
        use Role as R;
        match self {
            A::Register
            | A::RecordConsent
            | A::WithdrawConsent
            | A::RecordInterview
            | A::SkipInterview
            | A::RequestVerification
            | A::RecordVerificationReply
            | A::AttachDocument
            | A::ExplainMissingIdentityDocument
            | A::SubmitFile
            | A::HandOverDecision
            | A::RecordAppeal
            | A::RecordCourtRuling
            | A::Withdraw
            | A::ReferToSocialServices
            | A::RequestPayment
            | A::RecordPayment
            | A::CorrectEntry => &[R::Caseworker, R::Supervisor],
            A::Assign | A::Transfer | A::ExtendStatus | A::ErasePersonalData => &[R::Supervisor],
            A::RecordNeedsAssessment
            | A::ApproveRehabilitationPlan
            | A::RecordService
            | A::PlaceInShelter
            | A::ExtendShelter
            | A::EndShelterStay => &[R::SocialWorker, R::Supervisor],
            A::AddNote => &[R::Caseworker, R::Supervisor, R::SocialWorker],
            A::RecordDecision | A::ReturnFile => &[R::DecisionOfficer],
            A::RecordMissedDeadline | A::RecordStatusExpiry | A::HandOverToSuccessor => {
                &[R::System]
            }
        }
    }

    /// Whether `role` may perform this action at all.
    #[must_use]
    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_and_admins_may_do_nothing() {
        for a in ActionName::ALL {
            assert!(!a.allows(Role::Auditor), "{a}");
            assert!(!a.allows(Role::Admin), "{a}");
        }
    }

    #[test]
    fn only_the_decision_officer_decides_and_returns_files() {
        for a in [ActionName::RecordDecision, ActionName::ReturnFile] {
            assert_eq!(a.roles(), &[Role::DecisionOfficer]);
        }
    }

    #[test]
    fn a_social_worker_may_add_notes_but_not_register() {
        assert!(ActionName::AddNote.allows(Role::SocialWorker));
        assert!(!ActionName::Register.allows(Role::SocialWorker));
    }
}
