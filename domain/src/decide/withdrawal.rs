//! Step 9 of the status track, the withdrawal of the application (`procedure.md`, "Status track"
//! step 9).

use crate::error::DomainError;
use crate::event::EventBody;
use crate::types::RecordRef;

/// Step 9: the person withdraws the application (the consent to the status procedure) at any
/// time before the decision; the case closes and may then only be read (the stage rule is in
/// [`super::availability`]).
pub(super) fn withdraw(reason: Option<&RecordRef>) -> Result<EventBody, DomainError> {
    Ok(EventBody::ApplicationWithdrawn {
        reason: reason.cloned(),
    })
}
