//! "Temporary accommodation" (`procedure.md`, "Assistance track"): a stay ends on its end date, a
//! new placement only after the previous stay ended, and the accommodation deadline is met by an
//! end or an extension on or before its due date, missed otherwise. The shelter's name is personal
//! data: events keep a vault reference, and events stored before that change still replay.

use super::{caseworker, d, noon, registered, social, supervisor, Case};
use crate::command::Action;
use crate::deadline_name::DeadlineName;
use crate::deadlines::{deadline_state, DeadlineState};
use crate::event::{upcast, CaseEvent, DeadlineStarted, EventBody, Responsible, UpcastError};
use crate::procedure::DeadlineKind;
use crate::types::{Actor, RecordRef};
use crate::{ActionName, DomainError, FieldProblem, Unavailable};

fn placed() -> Case {
    registered().given(
        social(),
        "2026-03-02",
        Action::PlaceInShelter {
            shelter: RecordRef("r-shelter".into()),
        },
    )
}

fn bodies(r: Result<Vec<CaseEvent>, DomainError>) -> Vec<EventBody> {
    r.unwrap_or_else(|e| panic!("refused: {e}"))
        .into_iter()
        .map(|e| e.body)
        .collect()
}

fn refusal(r: Result<Vec<CaseEvent>, DomainError>) -> (ActionName, Unavailable) {
    match r {
        Err(DomainError::ActionNotAllowed { action, reason, .. }) => (action, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn shelter_deadline(start: &str, due_on: &str) -> DeadlineStarted {
    DeadlineStarted {
        name: DeadlineName::of(DeadlineKind::Shelter),
        kind: DeadlineKind::Shelter,
        start: d(start),
        due_on: d(due_on),
    }
}

#[test]
fn a_placement_keeps_the_shelter_as_a_vault_reference_and_runs_three_months() {
    let events = bodies(registered().when(
        social(),
        "2026-03-02",
        Action::PlaceInShelter {
            shelter: RecordRef("r-shelter".into()),
        },
    ));
    assert_eq!(
        events,
        [EventBody::PlacedInShelter {
            shelter: Some(RecordRef("r-shelter".into())),
            deadline: shelter_deadline("2026-03-02", "2026-06-02"),
        }]
    );
}

#[test]
fn a_stay_ended_before_its_due_date_meets_the_accommodation_deadline() {
    let c = placed().at("2026-04-01");
    let events = bodies(c.when(social(), "2026-04-01", Action::EndShelterStay));
    assert_eq!(events, [EventBody::ShelterStayEnded {}]);
    let c = c.given(social(), "2026-04-01", Action::EndShelterStay);
    assert!(!c.state.in_shelter());
    let stay = c.state.assistance.shelter.as_ref().expect("the last stay");
    assert_eq!(stay.ended_on, Some(d("2026-04-01")));
    let deadline = &c.state.deadlines["shelter"];
    assert_eq!(deadline.fulfilled_on, Some(d("2026-04-01")));
    assert_eq!(
        deadline_state(deadline, d("2026-12-01")),
        DeadlineState::Met
    );
}

#[test]
fn a_stay_ended_on_its_due_date_is_on_time() {
    let c = placed()
        .at("2026-06-02")
        .given(supervisor(), "2026-06-02", Action::EndShelterStay);
    assert_eq!(
        deadline_state(&c.state.deadlines["shelter"], d("2026-06-03")),
        DeadlineState::Met
    );
}

#[test]
fn a_stay_ended_after_its_due_date_leaves_the_accommodation_deadline_missed() {
    let c = placed()
        .at("2026-06-10")
        .given(social(), "2026-06-05", Action::EndShelterStay);
    assert_eq!(
        deadline_state(&c.state.deadlines["shelter"], d("2026-06-10")),
        DeadlineState::Missed
    );
}

#[test]
fn a_stay_neither_ended_nor_extended_is_recorded_as_missed_after_its_due_date() {
    let c = placed().at("2026-06-03");
    let events = bodies(c.when(
        Actor::system(),
        "2026-06-03",
        Action::RecordMissedDeadline {
            name: DeadlineName::of(DeadlineKind::Shelter),
        },
    ));
    assert_eq!(
        events,
        [EventBody::DeadlineMissed {
            name: DeadlineName::of(DeadlineKind::Shelter),
            due_on: d("2026-06-02"),
            responsible: Responsible {
                assignee: None,
                office: "UA7102".into(),
            },
            detected_at: noon("2026-06-03"),
        }]
    );
}

#[test]
fn an_extension_before_the_due_date_meets_the_period_and_starts_the_next() {
    let c = placed().at("2026-05-20");
    let reason = Some(RecordRef("r-reason".into()));
    let events = bodies(c.when(
        social(),
        "2026-05-20",
        Action::ExtendShelter {
            reason: reason.clone(),
        },
    ));
    assert_eq!(
        events,
        [EventBody::ShelterExtended {
            reason,
            deadline: shelter_deadline("2026-06-02", "2026-09-02"),
        }]
    );
}

#[test]
fn an_extension_after_the_due_date_records_the_missed_period_first() {
    let c = placed().at("2026-06-10");
    let reason = Some(RecordRef("r-reason".into()));
    let events = bodies(c.when(
        social(),
        "2026-06-05",
        Action::ExtendShelter {
            reason: reason.clone(),
        },
    ));
    assert_eq!(
        events,
        [
            EventBody::DeadlineMissed {
                name: DeadlineName::of(DeadlineKind::Shelter),
                due_on: d("2026-06-02"),
                responsible: Responsible {
                    assignee: None,
                    office: "UA7102".into(),
                },
                detected_at: noon("2026-06-10"),
            },
            EventBody::ShelterExtended {
                reason,
                deadline: shelter_deadline("2026-06-02", "2026-09-02"),
            },
        ]
    );
}

#[test]
fn a_new_placement_is_refused_until_the_previous_stay_ended() {
    let c = placed().at("2026-03-20");
    let again = Action::PlaceInShelter {
        shelter: RecordRef("r-other".into()),
    };
    assert_eq!(
        refusal(c.when(social(), "2026-03-20", again.clone())),
        (ActionName::PlaceInShelter, Unavailable::InShelter)
    );
    let c = c.given(social(), "2026-03-15", Action::EndShelterStay);
    let events = bodies(c.when(social(), "2026-03-20", again));
    assert_eq!(
        events,
        [EventBody::PlacedInShelter {
            shelter: Some(RecordRef("r-other".into())),
            // Three months end on Saturday 2026-06-20: the next working day.
            deadline: shelter_deadline("2026-03-20", "2026-06-22"),
        }]
    );
}

#[test]
fn ending_or_extending_a_stay_that_is_not_running_is_refused() {
    let c = registered();
    assert_eq!(
        refusal(c.when(social(), "2026-03-02", Action::EndShelterStay)),
        (ActionName::EndShelterStay, Unavailable::NotInShelter)
    );
    let c = placed()
        .at("2026-03-20")
        .given(social(), "2026-03-15", Action::EndShelterStay);
    assert_eq!(
        refusal(c.when(social(), "2026-03-20", Action::EndShelterStay)),
        (ActionName::EndShelterStay, Unavailable::NotInShelter)
    );
    assert_eq!(
        refusal(c.when(
            social(),
            "2026-03-20",
            Action::ExtendShelter {
                reason: Some(RecordRef("r".into()))
            }
        )),
        (ActionName::ExtendShelter, Unavailable::NotInShelter)
    );
}

#[test]
fn a_stay_cannot_end_before_its_placement() {
    let c = registered().at("2026-03-20").given(
        social(),
        "2026-03-10",
        Action::PlaceInShelter {
            shelter: RecordRef("r-shelter".into()),
        },
    );
    match c.when(social(), "2026-03-05", Action::EndShelterStay) {
        Err(DomainError::Validation(fields)) => {
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].field, "occurred_on");
            assert_eq!(fields[0].problem, FieldProblem::Invalid);
            assert_eq!(
                fields[0].message,
                "2026-03-05 is before the placement on 2026-03-10"
            );
        }
        other => panic!("expected a validation refusal, got {other:?}"),
    }
}

#[test]
fn only_a_social_worker_or_a_supervisor_ends_a_stay() {
    let c = placed();
    match c.when(caseworker(), "2026-03-02", Action::EndShelterStay) {
        Err(DomainError::RoleNotAllowed { action, .. }) => {
            assert_eq!(action, ActionName::EndShelterStay);
        }
        other => panic!("expected a role refusal, got {other:?}"),
    }
    assert!(c
        .when(supervisor(), "2026-03-02", Action::EndShelterStay)
        .is_ok());
    assert!(c
        .when(social(), "2026-03-02", Action::EndShelterStay)
        .is_ok());
}

// --- versions ----------------------------------------------------------------------------------

fn stored(body: serde_json::Value, version: Option<u32>) -> serde_json::Value {
    let mut e = serde_json::json!({
        "actor": {"sub": "sw-1", "role": "social_worker", "office": "UA7102"},
        "occurred_on": "2026-03-02",
        "recorded_at": "2026-03-02T10:00:00Z",
        "body": body,
    });
    if let Some(v) = version {
        e["version"] = v.into();
    }
    e
}

#[test]
fn a_version_one_placement_with_the_shelter_in_clear_still_replays_without_it() {
    let old = stored(
        serde_json::json!({"type": "placed_in_shelter", "data": {
            "shelter": "Shelter Sonechko, 5 Shevchenko St",
            "deadline": {"name": "shelter", "kind": "shelter", "start": "2026-03-02", "due_on": "2026-06-02"}
        }}),
        None,
    );
    let event: CaseEvent = serde_json::from_value(old).expect("a version-1 event decodes");
    assert_eq!(
        event.body,
        EventBody::PlacedInShelter {
            shelter: None,
            deadline: shelter_deadline("2026-03-02", "2026-06-02"),
        }
    );
    let state = crate::evolve(registered().state, event);
    assert!(state.in_shelter());
    assert_eq!(state.deadlines["shelter"].due_on, d("2026-06-02"));
}

#[test]
fn version_one_assistance_events_lose_their_clear_text_when_upcast() {
    let plan = serde_json::json!({"type": "rehabilitation_plan_approved", "data": {
        "written_consent": true,
        "services": [{"service": "medical", "provider": "Hospital 3"}]
    }});
    let upcast_plan = upcast(plan, 1).expect("upcast");
    assert_eq!(
        upcast_plan["data"]["services"],
        serde_json::json!([{"service": "medical"}])
    );
    let service = serde_json::json!({"type": "service_recorded", "data": {
        "service": "legal_aid", "provider": "Lawyer Petrenko", "from": "2026-03-02"
    }});
    assert_eq!(
        upcast(service, 1).expect("upcast")["data"],
        serde_json::json!({"service": "legal_aid", "from": "2026-03-02"})
    );
    let referral = serde_json::json!({"type": "referred_to_social_services", "data": {
        "centre": "Zvenyhorodka CSS",
        "deadline": {"name": "needs_assessment", "kind": "needs_assessment", "start": "2026-03-02", "due_on": "2026-03-09"}
    }});
    let decoded: CaseEvent =
        serde_json::from_value(stored(referral, None)).expect("a version-1 referral decodes");
    assert!(matches!(
        decoded.body,
        EventBody::ReferredToSocialServices { centre: None, .. }
    ));
}

#[test]
fn the_changed_event_types_are_written_as_version_two_and_others_carry_no_version() {
    let c = placed();
    let placement = serde_json::to_value(c.events.last().expect("placed")).expect("json");
    assert_eq!(placement["version"], 2);
    assert_eq!(placement["body"]["data"]["shelter"], "r-shelter");
    let registration = serde_json::to_value(&c.events[0]).expect("json");
    assert!(registration.get("version").is_none());
    let back: CaseEvent = serde_json::from_value(placement).expect("round trip");
    assert_eq!(&back, c.events.last().expect("placed"));
}

#[test]
fn a_version_newer_than_this_build_is_refused_not_guessed() {
    let body = serde_json::json!({"type": "placed_in_shelter", "data": {}});
    assert_eq!(
        upcast(body.clone(), 3),
        Err(UpcastError::TooNew {
            type_name: "placed_in_shelter".into(),
            version: 3,
            current: 2,
        })
    );
    assert!(serde_json::from_value::<CaseEvent>(stored(body, Some(3))).is_err());
}
