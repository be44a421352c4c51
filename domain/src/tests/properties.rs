//! Property tests: any command sequence never panics, the emitted events replay to the returned
//! state, no path reaches `granted` without the required steps, and no deadline falls before its
//! start.

use proptest::prelude::*;

use super::{caseworker, d, noon, registration, rules};
use crate::command::{Action, Command};
use crate::event::{EventBody, PlannedService};
use crate::procedure::DeadlineKind;
use crate::state::{evolve, CaseState};
use crate::types::*;
use crate::{decide, CaseEvent};

fn role() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::user("cw", Role::Caseworker, "UA7102")),
        Just(Actor::user("sv", Role::Supervisor, "UA7102")),
        Just(Actor::user("sw", Role::SocialWorker, "UA7102")),
        Just(Actor::user("nss", Role::DecisionOfficer, "UA-NSS")),
        Just(Actor::user("msp", Role::DecisionOfficer, "UA-MSP")),
        Just(Actor::user("au", Role::Auditor, "UA")),
        Just(Actor::system()),
    ]
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn action() -> impl Strategy<Value = Action> {
    let r = || Some(RecordRef("r".into()));
    prop_oneof![
        (pick(ConsentScope::ALL), pick(GivenBy::ALL))
            .prop_map(|(scope, given_by)| Action::RecordConsent { scope, given_by }),
        (pick(ConsentScope::ALL), pick(GivenBy::ALL))
            .prop_map(|(scope, given_by)| Action::WithdrawConsent { scope, given_by }),
        (pick(GivenBy::ALL), any::<bool>()).prop_map(|(c, n)| Action::RecordInterview {
            consent_signed_by: c,
            non_disclosure_receipt_signed: n
        }),
        (pick(SkipGround::ALL), any::<bool>()).prop_map(move |(ground, has)| {
            Action::SkipInterview {
                ground,
                reference: if has { r() } else { None },
            }
        }),
        pick(VerificationTarget::ALL).prop_map(|to| Action::RequestVerification { to }),
        (1..4usize, pick(ReplyOutcome::ALL)).prop_map(|(n, outcome)| {
            Action::RecordVerificationReply {
                request_id: format!("vr-{n}"),
                outcome,
            }
        }),
        pick(DocumentKind::ALL).prop_map(|kind| Action::AttachDocument { kind, note: None }),
        pick(Conclusion::ALL).prop_map(|conclusion| Action::SubmitFile { conclusion }),
        (0..3u32).prop_map(move |n| Action::ReturnFile {
            missing: r(),
            missing_count: n
        }),
        Just(Action::RecordDecisionGranted {
            certificate_no: "C-1".into(),
            valid_until: None
        }),
        (0..2u32).prop_map(move |n| Action::RecordDecisionRefused {
            grounds: r(),
            grounds_count: n
        }),
        Just(Action::HandOverDecision),
        Just(Action::RecordAppeal { reference: None }),
        pick(RulingOutcome::ALL).prop_map(|outcome| Action::RecordCourtRuling { outcome }),
        Just(Action::Withdraw { reason: None }),
        Just(Action::Transfer {
            to_office: "UA7108".parse().unwrap()
        }),
        Just(Action::ReferToSocialServices {
            centre: RecordRef("CSS".into())
        }),
        proptest::collection::vec(pick(Need::ALL), 0..3)
            .prop_map(|needs| Action::RecordNeedsAssessment { needs }),
        any::<bool>().prop_map(|c| Action::ApproveRehabilitationPlan {
            written_consent: c,
            services: vec![PlannedService {
                service: Need::Medical,
                provider: Some(RecordRef("H".into())),
                from: None,
                to: None
            }]
        }),
        Just(Action::RecordService {
            service: Need::LegalAid,
            provider: RecordRef("P".into()),
            to: None
        }),
        Just(Action::EndShelterStay),
        Just(Action::PlaceInShelter {
            shelter: RecordRef("S".into())
        }),
        any::<bool>().prop_map(move |has| Action::ExtendShelter {
            reason: if has { r() } else { None }
        }),
        Just(Action::RequestPayment),
        (0..2u64).prop_map(|a| Action::RecordPayment {
            amount_kopiyky: a * 900_000
        }),
        Just(Action::Assign {
            assignee: "cw-2".into()
        }),
        Just(Action::AddNote {
            note: RecordRef("n".into())
        }),
        pick(DeadlineKind::ALL).prop_map(|k| Action::RecordMissedDeadline { name: k.into() }),
        Just(Action::RecordStatusExpiry),
        pick(ErasureCategory::ALL).prop_map(|category| Action::ErasePersonalData { category }),
        Just(Action::ExplainMissingIdentityDocument {
            reason: RecordRef("why".into())
        }),
        (1..6u64, 0..4i64).prop_map(|(supersedes, back)| Action::CorrectEntry {
            supersedes,
            field: "occurred_on".into(),
            corrected_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 8)
                .and_then(|d| d.checked_sub_signed(chrono::Duration::days(back))),
            correction: RecordRef("c".into()),
        }),
    ]
}

/// A step: who, how many days after registration (the clock moves forward only), what.
fn steps() -> impl Strategy<Value = Vec<(Actor, u8, Action)>> {
    proptest::collection::vec((role(), 0..3u8, action()), 0..60)
}

fn run(child: bool, steps: Vec<(Actor, u8, Action)>) -> (CaseState, Vec<CaseEvent>) {
    let mut reg = registration("2026-01-05");
    if child {
        reg.applicant.birth_date = d("2012-06-01");
        reg.filed_by = FiledBy::LegalRepresentative;
    }
    let start = d("2026-01-05");
    let mut state = CaseState::default();
    let mut history: Vec<CaseEvent> = Vec::new();
    let first = Command {
        actor: caseworker(),
        recorded_at: noon("2026-01-05"),
        occurred_on: start,
        rules: rules(),
        child: None,
        action: Action::Register(Box::new(reg)),
        lookups: Default::default(),
    };
    let mut all = vec![(first, 0i64)];
    let mut day = 0i64;
    for (actor, advance, action) in steps {
        day += i64::from(advance);
        let on = start + chrono::Days::new(u64::try_from(day).unwrap_or(0));
        let cmd = Command {
            actor,
            recorded_at: noon(&on.to_string()),
            occurred_on: on,
            rules: rules(),
            child: None,
            action,
            lookups: Default::default(),
        };
        all.push((cmd, day));
    }
    for (cmd, _) in all {
        if let Ok(events) = decide(&state, cmd) {
            for e in events {
                history.push(e.clone());
                state = evolve(state, e);
            }
        }
    }
    (state, history)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn replaying_the_emitted_events_gives_the_returned_state(child in any::<bool>(), steps in steps()) {
        let (state, history) = run(child, steps);
        let replayed = history.iter().cloned().fold(CaseState::default(), evolve);
        prop_assert_eq!(&replayed, &state);
        // And through JSON, as the store does.
        let decoded: Vec<CaseEvent> = history
            .iter()
            .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap_or_default()))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.into_iter().fold(CaseState::default(), evolve), state);
    }

    #[test]
    fn a_state_survives_its_json_snapshot_exactly(child in any::<bool>(), steps in steps()) {
        // The engine keeps snapshots of states as JSON and resumes folding from them: the round
        // trip must give back the very same state, the definition included.
        let (state, _) = run(child, steps);
        let json = serde_json::to_string(&state).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: CaseState = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, state);
    }

    #[test]
    fn no_path_reaches_granted_without_the_required_steps(child in any::<bool>(), steps in steps()) {
        let (_, history) = run(child, steps);
        let mut registered = false;
        let mut interview = false;
        let mut submitted_to: Option<String> = None;
        for e in &history {
            match &e.body {
                EventBody::ApplicationRegistered { .. } => registered = true,
                EventBody::InterviewRecorded { .. } | EventBody::InterviewSkipped { .. } => interview = true,
                EventBody::FileSubmitted { authority, .. } => {
                    prop_assert!(registered && interview, "submitted without registration and interview");
                    submitted_to = Some(authority.clone());
                }
                EventBody::StatusGranted { authority, .. } => {
                    prop_assert!(registered && interview);
                    prop_assert_eq!(Some(authority), submitted_to.as_ref());
                    prop_assert_eq!(e.actor.role, Role::DecisionOfficer);
                    prop_assert_eq!(e.actor.office.as_ref(), submitted_to.as_ref(), "decided by the wrong authority");
                }
                EventBody::CourtRulingRecorded { outcome, authority, .. } => {
                    prop_assert!(submitted_to.is_some());
                    // An annulled refusal sends the file to the authority competent that day.
                    if *outcome != RulingOutcome::Upheld {
                        prop_assert!(authority.is_some(), "an annulling ruling names its authority");
                        submitted_to.clone_from(authority);
                    }
                }
                EventBody::FileHandedToSuccessor { to, .. } => submitted_to = Some(to.clone()),
                _ => {}
            }
        }
    }

    #[test]
    fn no_deadline_falls_before_its_start_and_withdrawal_freezes_the_case(steps in steps()) {
        let (state, history) = run(false, steps);
        for dl in state.deadlines.values() {
            prop_assert!(dl.due_on >= dl.start, "{} due {} before start {}", dl.name, dl.due_on, dl.start);
        }
        if let Some(pos) = history.iter().position(|e| matches!(e.body, EventBody::ApplicationWithdrawn { .. })) {
            for e in &history[pos + 1..] {
                prop_assert!(matches!(e.body, EventBody::PersonalDataErased { .. }), "after withdrawal: {}", e.body.type_name());
            }
        }
    }

    #[test]
    fn working_days_are_counted_after_the_start_on_working_days_only(start in 0u32..5800, n in 1u32..25) {
        let cal = rules();
        let cal = cal.calendar();
        let s = d("2012-01-01") + chrono::Days::new(u64::from(start));
        let r = cal.add_working_days(s, n);
        prop_assert!(r.due > s);
        prop_assert!(cal.is_working_day(r.due));
        let mut count = 0;
        let mut x = s;
        while x < r.due {
            x = x.succ_opt().unwrap_or(x);
            if cal.is_working_day(x) { count += 1; }
        }
        prop_assert_eq!(count, n);
    }
}
