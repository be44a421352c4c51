//! A generated population of registrations for the exports' test and benchmark (issue 17): a
//! skewed, realistic mix of many persons (mostly Ukrainian women and men exploited for labour in
//! a few countries; a tail of rare citizenships, countries of exploitation and referral
//! sources), registered through the engine without personal data. Deterministic for a seed.

use std::sync::Arc;

use chrono::{Days, Months, NaiveDate};
use ptl_domain::types::{Citizenship, ExploitationForm, FiledBy, ReferralSource, Sex};
use ptl_domain::{Action, Actor, ApplicantInput, OfficeCode, ReferralInput, Register, Role};
use ptl_engine::pipeline::{Engine, Personal};

/// `n` registrations received in 2023 to 2025 at the four districts of Cherkasy region, each
/// with its receipt date (the command's business date).
#[must_use]
pub fn population(n: usize, seed: u64) -> Vec<(NaiveDate, Register)> {
    let mut rng = Rng(seed);
    (0..n)
        .filter_map(|_| {
            let p = person(&mut rng);
            register(&p, &mut rng).map(|r| (p.received_on, r))
        })
        .collect()
}

/// Registers the population through the engine, `in_flight` commands at a time (the engine's
/// committer groups them), by a caseworker of each case's office.
///
/// # Errors
/// A sentence: the engine failed or refused a registration.
pub async fn register_all(
    engine: &Arc<Engine>,
    items: Vec<(NaiveDate, Register)>,
    in_flight: usize,
) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = items.into_iter();
    loop {
        while tasks.len() < in_flight.max(1) {
            let Some((on, reg)) = pending.next() else {
                break;
            };
            let engine = Arc::clone(engine);
            tasks.spawn(async move {
                let actor = Actor::user("cw-gen", Role::Caseworker, reg.office.as_str());
                let cmd = engine.command(actor, on, Action::Register(Box::new(reg)));
                match engine.register(cmd, Personal::default(), None).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(refused)) => {
                        Err(format!("a generated registration was refused: {refused}"))
                    }
                    Err(e) => Err(format!("a generated registration failed: {e}")),
                }
            });
        }
        match tasks.join_next().await {
            Some(done) => done.map_err(|e| e.to_string())??,
            None => return Ok(()),
        }
    }
}

/// A small deterministic generator (the same population on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    /// An item by weight.
    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.next() % total;
        for (item, w) in items {
            if r < *w {
                return *item;
            }
            r -= w;
        }
        items[0].0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// What the generator decided for one person (the truth the export is checked against).
#[derive(Debug, Clone)]
struct Person {
    received_on: NaiveDate,
    office: &'static str,
    sex: Sex,
    age: u32,
    citizenship: Citizenship,
    citizenship_country: Option<&'static str>,
    forms: Vec<ExploitationForm>,
    country: &'static str,
    referral: ReferralSource,
}

fn person(rng: &mut Rng) -> Person {
    let year = rng.weighted(&[(2023, 30), (2024, 35), (2025, 35)]);
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let received_on = first
        .checked_add_days(Days::new(rng.range(0, 364)))
        .unwrap_or(first);
    let sex = rng.weighted(&[(Sex::Female, 55), (Sex::Male, 43), (Sex::Unknown, 2)]);
    let age = rng.weighted(&[
        (rng_age(9, 17), 8),
        (rng_age(18, 29), 35),
        (rng_age(30, 47), 45),
        (rng_age(48, 70), 12),
    ]);
    let age = age.pick(rng);
    let (citizenship, citizenship_country) = rng.weighted(&[
        ((Citizenship::Ukrainian, None), 860),
        ((Citizenship::Foreign, Some("MD")), 40),
        ((Citizenship::Foreign, Some("UZ")), 30),
        ((Citizenship::Foreign, Some("VN")), 20),
        ((Citizenship::Foreign, Some("AZ")), 10),
        ((Citizenship::Foreign, Some("NG")), 5),
        ((Citizenship::Foreign, Some("LK")), 3),
        ((Citizenship::Foreign, None), 12),
        ((Citizenship::Stateless, None), 20),
    ]);
    let form = rng.weighted(&[
        (ExploitationForm::Labour, 60),
        (ExploitationForm::Sexual, 28),
        (ExploitationForm::Begging, 5),
        (ExploitationForm::CriminalActivity, 3),
        (ExploitationForm::Servitude, 2),
        (ExploitationForm::OrganRemoval, 1),
        (ExploitationForm::Other, 1),
    ]);
    let mut forms = vec![form];
    if rng.next() % 20 == 0 && form != ExploitationForm::Sexual {
        forms.push(ExploitationForm::Sexual);
    }
    let country = if citizenship == Citizenship::Ukrainian {
        rng.weighted(&[
            ("PL", 30),
            ("RU", 15),
            ("UA", 20),
            ("DE", 10),
            ("CZ", 10),
            ("TR", 4),
            ("IL", 3),
            ("AE", 3),
            ("IT", 2),
            ("PT", 1),
            ("FI", 1),
            ("XX", 1),
        ])
    } else {
        rng.weighted(&[("UA", 85), ("PL", 10), ("RU", 5)])
    };
    let referral = rng.weighted(&[
        (ReferralSource::Hotline, 30),
        (ReferralSource::Police, 25),
        (ReferralSource::Ngo, 20),
        (ReferralSource::SelfReferral, 10),
        (ReferralSource::Mdg, 5),
        (ReferralSource::BorderGuard, 4),
        (ReferralSource::Consulate, 2),
        (ReferralSource::School, 2),
        (ReferralSource::Other, 2),
    ]);
    let office = rng.weighted(&[("UA7102", 1), ("UA7104", 1), ("UA7106", 1), ("UA7108", 1)]);
    Person {
        received_on,
        office,
        sex,
        age,
        citizenship,
        citizenship_country,
        forms,
        country,
        referral,
    }
}

/// An age range to draw from.
#[derive(Debug, Clone, Copy)]
struct AgeRange(u32, u32);

fn rng_age(lo: u32, hi: u32) -> AgeRange {
    AgeRange(lo, hi)
}

impl AgeRange {
    fn pick(self, rng: &mut Rng) -> u32 {
        u32::try_from(rng.range(u64::from(self.0), u64::from(self.1))).unwrap_or(self.0)
    }
}

/// The registration of a person (`None` only for an office code that does not parse, which the
/// generator's constants never are).
fn register(p: &Person, rng: &mut Rng) -> Option<Register> {
    let birth_date = p
        .received_on
        .checked_sub_months(Months::new(12 * p.age))
        .and_then(|d| d.checked_sub_days(Days::new(rng.range(1, 360))))
        .unwrap_or(p.received_on);
    Some(Register {
        register_no: String::new(),
        office: OfficeCode::parse(p.office).ok()?,
        filed_by: if p.age < 18 {
            FiledBy::LegalRepresentative
        } else {
            FiledBy::SelfFiled
        },
        applicant: ApplicantInput {
            sex: p.sex,
            birth_date,
            citizenship: p.citizenship,
            citizenship_country: p.citizenship_country.map(str::to_string),
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: p.referral,
            organisation: None,
            referred_on: p.received_on,
        }),
        exploitation_forms: p.forms.clone(),
        exploitation_country: p.country.into(),
        documents: vec![(ptl_domain::types::DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    })
}
