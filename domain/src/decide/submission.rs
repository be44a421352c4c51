//! Step 5 of the status track, the file submitted to the deciding authority, and its return for
//! completion from step 6 (`procedure.md`, "Status track" steps 5 and 6, "Procedure versions").

use super::check::{Context, Problems};
use crate::error::{DomainError, FieldProblem, Unavailable};
use crate::event::EventBody;
use crate::procedure::DeadlineKind;
use crate::types::{Conclusion, RecordRef};

/// Step 5's preconditions: an identity document or the reason it is missing; every verification
/// request answered or past its reply deadline (an overdue one is noted in the file, it does not
/// block the person forever). The transitional rule: the authority named by the definition in
/// force on the submission day receives the file. The decision deadline starts.
pub(super) fn submit_file(c: &Context, conclusion: Conclusion) -> Result<EventBody, DomainError> {
    let (state, on) = (c.state, c.on);
    if !state.has_identity_document() && !state.id_document_missing_explained {
        return Err(c.not_allowed(Unavailable::IdentityDocumentMissing));
    }
    let mut overdue = Vec::new();
    for r in state
        .verification_requests
        .iter()
        .filter(|r| r.reply.is_none())
    {
        if on > r.due_on {
            overdue.push(r.request_id.clone());
        } else {
            return Err(c.not_allowed(Unavailable::ReplyAwaited {
                request_id: r.request_id.clone(),
                due_on: r.due_on,
            }));
        }
    }
    let authority = c.authority_in_force_on(on);
    Ok(EventBody::FileSubmitted {
        conclusion,
        authority,
        overdue_requests: overdue,
        deadline: c.named(DeadlineKind::Decision, on),
    })
}

/// Step 6, an incomplete file returned with the list of what is missing: the case goes back to
/// step 4 and the submission deadline runs again.
pub(super) fn return_file(
    c: &Context,
    p: &mut Problems,
    missing: Option<&RecordRef>,
    missing_count: u32,
) -> Result<EventBody, DomainError> {
    p.check(
        missing_count > 0,
        "missing",
        FieldProblem::Required,
        "list what is missing from the file",
    );
    Ok(EventBody::FileReturned {
        authority: c.state.submitted_to.clone().unwrap_or_default(),
        missing: missing.cloned(),
        missing_count,
        deadline: c.named(DeadlineKind::FileSubmission, c.on),
    })
}
