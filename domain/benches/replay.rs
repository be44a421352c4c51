//! Replay throughput of the pure state machine: applying a 1,000-event case in memory, and
//! decoding its JSON events then applying them (what a cold load from a store costs in the domain).
//!
//! `cargo bench -p ptl-domain --bench replay`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly on broken setup

use std::sync::Arc;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::types::*;
use ptl_domain::{decide, evolve, Action, CaseEvent, CaseState, Command, Register, RuleBook};

fn thousand_events() -> Vec<CaseEvent> {
    let rules = Arc::new(RuleBook::builtin().expect("rules"));
    let start = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
    let now = Utc.from_utc_datetime(&(start + Days::new(2)).and_hms_opt(10, 0, 0).expect("time"));
    let cw = Actor::user("cw", Role::Caseworker, "UA7102");
    let sw = Actor::user("sw", Role::SocialWorker, "UA7102");
    let cmd = |actor: &Actor, action| Command {
        actor: actor.clone(),
        recorded_at: now,
        occurred_on: start,
        rules: rules.clone(),
        child: None,
        action,
        lookups: Default::default(),
    };
    let reg = Register {
        register_no: "UA7102-2026-000001".into(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 1).expect("date"),
            citizenship: Citizenship::Ukrainian,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Ngo,
            organisation: None,
            referred_on: start,
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: Some(RecordRef("p".into())),
    };
    let mut state = CaseState::default();
    let mut events = Vec::new();
    let apply = |state: &mut CaseState, events: &mut Vec<CaseEvent>, c: Command| {
        for e in decide(state, c).expect("lawful") {
            events.push(e.clone());
            *state = evolve(std::mem::take(state), e);
        }
    };
    apply(
        &mut state,
        &mut events,
        cmd(&cw, Action::Register(Box::new(reg))),
    );
    apply(
        &mut state,
        &mut events,
        cmd(
            &cw,
            Action::RecordConsent {
                scope: ConsentScope::ShareWithSocialServices,
                given_by: GivenBy::Person,
            },
        ),
    );
    apply(
        &mut state,
        &mut events,
        cmd(
            &cw,
            Action::ReferToSocialServices {
                centre: RecordRef("r-css".into()),
            },
        ),
    );
    let mut i = 0u64;
    while events.len() < 1000 {
        i += 1;
        let a = if i % 2 == 0 {
            Action::AddNote {
                note: RecordRef(format!("n-{i}")),
            }
        } else {
            Action::RecordService {
                service: Need::Psychological,
                provider: RecordRef("r-css".into()),
                to: None,
            }
        };
        apply(&mut state, &mut events, cmd(&sw, a));
    }
    events
}

fn bench(c: &mut Criterion) {
    let events = thousand_events();
    let json: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    let mut g = c.benchmark_group("replay_1000_events");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("in_memory", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| ev.into_iter().fold(CaseState::default(), evolve),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("from_json", |b| {
        b.iter(|| {
            json.iter()
                .map(|s| serde_json::from_str::<CaseEvent>(s).expect("decode"))
                .fold(CaseState::default(), evolve)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
