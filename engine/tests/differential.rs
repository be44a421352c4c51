//! Differential test: the same random command streams applied through the SQLite store, the
//! PostgreSQL store and a plain in-memory fold give identical outcomes, event streams and states.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::types::*;
use ptl_domain::{decide, evolve, Action, CaseEvent, CaseState, Command, Register, RuleBook};
use ptl_engine::clock::SettableClock;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal};
use ptl_engine::testkit::{close, Backend, TestStore};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn engine(db: Db, rules: Arc<RuleBook>) -> Engine {
    ptl_engine::open::migrate(&db).await.unwrap();
    let clock = Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap(),
    ));
    Engine::new(
        db,
        clock,
        rules,
        Arc::new(KeyRing::generate()),
        None,
        EngineOptions::default(),
    )
    .await
    .unwrap()
}

fn random_action(rng: &mut StdRng) -> (Actor, Action) {
    let cw = Actor::user("cw", Role::Caseworker, "UA7102");
    let sv = Actor::user("sv", Role::Supervisor, "UA7102");
    let sw = Actor::user("sw", Role::SocialWorker, "UA7102");
    let nss = Actor::user("nss", Role::DecisionOfficer, "UA-NSS");
    let r = || Some(RecordRef("r".into()));
    match rng.gen_range(0..22) {
        0 => (
            cw,
            Action::RecordConsent {
                scope: ConsentScope::ALL[rng.gen_range(0..4)],
                given_by: GivenBy::Person,
            },
        ),
        1 => (
            cw,
            Action::WithdrawConsent {
                scope: ConsentScope::ALL[rng.gen_range(0..4)],
                given_by: GivenBy::Person,
            },
        ),
        2 => (
            cw,
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: rng.gen_bool(0.9),
            },
        ),
        3 => (
            cw,
            Action::SkipInterview {
                ground: SkipGround::ImpossibleMentalState,
                reference: None,
            },
        ),
        4 => (
            cw,
            Action::RequestVerification {
                to: VerificationTarget::ALL[rng.gen_range(0..6)],
            },
        ),
        5 => (
            cw,
            Action::RecordVerificationReply {
                request_id: format!("vr-{}", rng.gen_range(1..3)),
                outcome: ReplyOutcome::Confirms,
            },
        ),
        6 => (
            cw,
            Action::SubmitFile {
                conclusion: Conclusion::RecommendGrant,
            },
        ),
        7 => (
            nss,
            Action::ReturnFile {
                missing: r(),
                missing_count: 1,
            },
        ),
        8 => (
            nss,
            Action::RecordDecisionGranted {
                certificate_no: "C-1".into(),
                valid_until: None,
            },
        ),
        9 => (
            nss,
            Action::RecordDecisionRefused {
                grounds: r(),
                grounds_count: 1,
            },
        ),
        10 => (cw, Action::HandOverDecision),
        11 => (cw, Action::RecordAppeal { reference: None }),
        12 => (
            cw,
            Action::RecordCourtRuling {
                outcome: RulingOutcome::AnnulledNewDecision,
            },
        ),
        13 => (
            cw,
            Action::ReferToSocialServices {
                centre: RecordRef("CSS".into()),
            },
        ),
        14 => (
            sw,
            Action::RecordNeedsAssessment {
                needs: vec![Need::Medical],
            },
        ),
        15 => (
            sw,
            Action::PlaceInShelter {
                shelter: RecordRef("S".into()),
            },
        ),
        16 => (sw, Action::ExtendShelter { reason: r() }),
        17 => (cw, Action::RequestPayment),
        18 => (
            cw,
            Action::RecordPayment {
                amount_kopiyky: 908_400,
            },
        ),
        19 => (
            sv,
            Action::Assign {
                assignee: format!("cw-{}", rng.gen_range(1..3)),
            },
        ),
        20 => (
            cw,
            Action::AddNote {
                note: RecordRef("n".into()),
            },
        ),
        _ => (cw, Action::Withdraw { reason: None }),
    }
}

fn registration() -> Register {
    Register {
        register_no: "UA7102-2026-000001".into(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Male,
            birth_date: d("1985-07-01"),
            citizenship: Citizenship::Foreign,
            citizenship_country: None,
            speaks_ukrainian_or_russian: false,
            interpreter_used: true,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Police,
            organisation: None,
            referred_on: d("2026-01-04"),
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "RU".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_streams_give_identical_results_on_sqlite_postgresql_and_in_memory() {
    let rules = Arc::new(RuleBook::builtin().unwrap());
    let sqlite_store = TestStore::create(Backend::Sqlite).await;
    let sqlite = engine(
        ptl_engine::open::connect(sqlite_store.url()).await.unwrap(),
        rules.clone(),
    )
    .await;
    let pg_store = TestStore::create(Backend::Postgres).await;
    let pg_db = ptl_engine::open::connect(pg_store.url()).await.unwrap();
    let postgres = engine(pg_db.clone(), rules.clone()).await;

    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let start = d("2026-01-05");
        let at = |day: u64| {
            Utc.from_utc_datetime(&(start + Days::new(day)).and_hms_opt(10, 0, 0).unwrap())
        };
        let reg = Command {
            actor: Actor::user("cw", Role::Caseworker, "UA7102"),
            recorded_at: at(0),
            occurred_on: start,
            rules: rules.clone(),
            child: None,
            action: Action::Register(Box::new(registration())),
            lookups: Default::default(),
        };
        let mut memory = CaseState::default();
        let mut memory_events: Vec<CaseEvent> = Vec::new();
        // The engines number registrations per office and year; the fold gets the same number.
        let mut numbered = reg.clone();
        if let Action::Register(r) = &mut numbered.action {
            r.register_no = format!("UA7102-2026-{:06}", seed + 1);
        }
        for e in decide(&memory, numbered).unwrap() {
            memory_events.push(e.clone());
            memory = evolve(memory, e);
        }
        let a = sqlite
            .register(reg.clone(), Personal::default(), None)
            .await
            .unwrap()
            .unwrap()
            .case_id;
        let b = postgres
            .register(reg, Personal::default(), None)
            .await
            .unwrap()
            .unwrap()
            .case_id;
        let mut day = 0;
        for _ in 0..40 {
            day += rng.gen_range(0..3);
            let (actor, action) = random_action(&mut rng);
            let cmd = Command {
                actor,
                recorded_at: at(day),
                occurred_on: start + Days::new(day),
                rules: rules.clone(),
                child: None,
                action,
                lookups: Default::default(),
            };
            let m = decide(&memory, cmd.clone());
            let s = sqlite
                .execute(a, None, cmd.clone(), Personal::default(), None)
                .await
                .unwrap();
            let p = postgres
                .execute(b, None, cmd, Personal::default(), None)
                .await
                .unwrap();
            assert_eq!(
                m.as_ref().err(),
                s.as_ref().err(),
                "seed {seed}: sqlite outcome differs"
            );
            assert_eq!(
                m.as_ref().err(),
                p.as_ref().err(),
                "seed {seed}: postgres outcome differs"
            );
            if let Ok(events) = m {
                for e in events {
                    memory_events.push(e.clone());
                    memory = evolve(memory, e);
                }
            }
        }
        for (engine, id) in [(&sqlite, a), (&postgres, b)] {
            engine.clear_cache();
            let stored: Vec<CaseEvent> = engine
                .history(id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.event)
                .collect();
            assert_eq!(stored, memory_events, "seed {seed}: stored stream differs");
            assert_eq!(
                *engine.load(id).await.unwrap().unwrap().0,
                memory,
                "seed {seed}: state differs"
            );
            assert!(engine.verify(id).await.unwrap().valid);
        }
    }
    drop(postgres);
    close(&pg_db).await;
}
