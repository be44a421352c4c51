//! Step 4 of the status track, verification and document collection (`procedure.md`, "Status
//! track" step 4): requests with their own reply deadlines, their replies, and the documents of
//! the personal file.

use super::check::{Context, Problems};
use crate::deadline_name::DeadlineName;
use crate::error::{DomainError, FieldProblem};
use crate::event::{DocumentFacts, EventBody};
use crate::procedure::DeadlineKind;
use crate::types::{DocumentKind, RecordRef, ReplyOutcome, VerificationTarget};

/// A request to an authority; each request has its own reply deadline from the day it is sent
/// ("Deadlines": reply to a verification request).
pub(super) fn request_verification(
    c: &Context,
    to: VerificationTarget,
) -> Result<EventBody, DomainError> {
    let request_id = format!("vr-{}", c.state.verification_requests.len() + 1);
    let deadline = c.deadline(
        DeadlineKind::VerificationReply,
        DeadlineName::verification_reply(&request_id),
        c.on,
    );
    Ok(EventBody::VerificationRequested {
        request_id,
        to,
        deadline,
    })
}

/// A reply to a request of this case, answered once, not before the request ("Order of business
/// dates").
pub(super) fn record_verification_reply(
    c: &Context,
    p: &mut Problems,
    request_id: &str,
    outcome: ReplyOutcome,
) -> Result<EventBody, DomainError> {
    match c
        .state
        .verification_requests
        .iter()
        .find(|r| r.request_id == request_id)
    {
        None => p.add(
            "request_id",
            FieldProblem::NotFound,
            "no such verification request in this case",
        ),
        Some(r) if r.reply.is_some() => p.add(
            "request_id",
            FieldProblem::AlreadyDone,
            "this request is already answered",
        ),
        Some(_) => {}
    }
    Ok(EventBody::VerificationReplyRecorded {
        request_id: request_id.to_string(),
        outcome,
    })
}

/// A document for the personal file (a copy of an identity document may come later: "Identity
/// document").
pub(super) fn attach_document(
    kind: DocumentKind,
    note: Option<&RecordRef>,
) -> Result<EventBody, DomainError> {
    Ok(EventBody::DocumentAttached {
        document: DocumentFacts {
            kind,
            note: note.cloned(),
        },
    })
}

/// "Identity document": its absence may be explained after the registration (the reason stays
/// in the vault); with the explanation, or a copy attached later, the file may be submitted.
/// Availability ([`super::availability`]) allows it only while neither is in the file.
pub(super) fn explain_missing_identity_document(
    reason: &RecordRef,
) -> Result<EventBody, DomainError> {
    Ok(EventBody::IdentityDocumentAbsenceExplained {
        reason: reason.clone(),
    })
}
