//! The case as an `esrs::Aggregate`: a thin adapter over the domain's `decide` and `evolve`.

use ptl_domain::{CaseEvent, CaseState, Command, DomainError};

/// The status case aggregate. `NAME` is persistent (the `case_events` table): never change it.
#[derive(Debug, Clone, Copy)]
pub struct CaseAggregate;

impl esrs::Aggregate for CaseAggregate {
    const NAME: &'static str = ptl_domain::AGGREGATE_NAME;
    type State = CaseState;
    type Command = Command;
    type Event = CaseEvent;
    type Error = DomainError;

    fn handle_command(
        state: &Self::State,
        command: Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        ptl_domain::decide(state, command)
    }

    fn apply_event(state: Self::State, payload: Self::Event) -> Self::State {
        ptl_domain::evolve(state, payload)
    }
}
