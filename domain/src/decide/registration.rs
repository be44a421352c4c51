//! Steps 1 and 2 of the status track (`procedure.md`, "Status track"): the referral recorded with
//! the registration, and the application entered in the register.

use chrono::{Datelike, NaiveDate};

use super::check::{named, Problems};
use crate::command::{Command, Register};
use crate::error::{DomainError, FieldProblem};
use crate::event::{ApplicantFacts, DocumentFacts, EventBody, ReferralFacts};
use crate::procedure::DeadlineKind;
use crate::types::{is_valid_country_code, Citizenship, FiledBy};

/// Age in whole years on `on` of a person born on `birth`.
#[must_use]
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// The country of citizenship (`api.md`, register-application body): an officially assigned ISO
/// 3166-1 alpha-2 code, for a foreign citizen (not `UA`); a Ukrainian citizen may name only `UA`,
/// and a stateless person has none.
fn citizenship_country(citizenship: Citizenship, country: &str, p: &mut Problems) {
    const FIELD: &str = "applicant.citizenship_country";
    if !crate::countries::is_assigned(country) {
        p.add(
            FIELD,
            FieldProblem::Invalid,
            "an officially assigned ISO 3166-1 alpha-2 code in capitals, such as MD",
        );
        return;
    }
    match citizenship {
        Citizenship::Foreign if country == "UA" => p.add(
            FIELD,
            FieldProblem::Invalid,
            "a foreign citizen's country is not UA (citizenship `ukrainian` is)",
        ),
        Citizenship::Ukrainian if country != "UA" => p.add(
            FIELD,
            FieldProblem::Invalid,
            "a Ukrainian citizen's country is UA (or leave it out); another country needs citizenship `foreign`",
        ),
        Citizenship::Stateless => p.add(
            FIELD,
            FieldProblem::Invalid,
            "a stateless person has no country of citizenship",
        ),
        _ => {}
    }
}

/// Step 2, "Application registered": anyone may apply; a child's application is filed by the
/// legal representative or by a person who learned of the child, never by the child alone; a
/// foreigner or stateless person who speaks neither Ukrainian nor Russian files with an
/// interpreter; the person is informed of the help available. Step 1: a referral precedes the
/// registration (the only business date allowed to). The case is governed for life by the
/// definition in force on the receipt date ("Procedure versions"), whose interview, submission
/// and overall deadlines start now ("Deadlines").
pub(super) fn register(
    reg: &Register,
    cmd: &Command,
    p: &mut Problems,
) -> Result<EventBody, DomainError> {
    let on = cmd.occurred_on;
    p.text("register_no", &reg.register_no, 64);
    let a = &reg.applicant;
    p.check(
        a.birth_date <= on,
        "person.birth_date",
        FieldProblem::InFuture,
        "the birth date is after the receipt date",
    );
    let age = age_on(a.birth_date, on);
    p.check(
        age <= 130,
        "person.birth_date",
        FieldProblem::Invalid,
        "the birth date is implausible",
    );
    let child = age < 18;
    if child && reg.filed_by == FiledBy::SelfFiled {
        p.add(
            "filed_by",
            FieldProblem::ChildFilingAlone,
            "a child's application is filed by the legal representative or by a person who learned of the child",
        );
    }
    if !child && reg.filed_by == FiledBy::PersonAwareOfChild {
        p.add(
            "filed_by",
            FieldProblem::Invalid,
            "`person_aware_of_child` applies only to a child applicant",
        );
    }
    let foreigner = a.citizenship != Citizenship::Ukrainian;
    if foreigner && !a.speaks_ukrainian_or_russian && !a.interpreter_used {
        p.add(
            "applicant.interpreter_used",
            FieldProblem::InterpreterRequired,
            "a foreigner or stateless person who speaks neither Ukrainian nor Russian files with an interpreter",
        );
    }
    if let Some(country) = &a.citizenship_country {
        citizenship_country(a.citizenship, country, p);
    }
    p.check(
        reg.rights_explained,
        "rights_explained",
        FieldProblem::MustBeTrue,
        "the person must be informed of the help available",
    );
    if let Some(r) = &reg.referral {
        p.check(
            r.referred_on <= on,
            "referral.referred_on",
            FieldProblem::Invalid,
            "the referral cannot follow the registration",
        );
    }
    p.check(
        !reg.exploitation_forms.is_empty(),
        "exploitation.forms",
        FieldProblem::Required,
        "name at least one form",
    );
    p.check(
        is_valid_country_code(&reg.exploitation_country),
        "exploitation.country",
        FieldProblem::Invalid,
        "an ISO 3166-1 alpha-2 code such as UA or PL (XX if unknown)",
    );
    let def = cmd.rules.in_force_on(on).cloned();
    if def.is_none() {
        p.add(
            "received_on",
            FieldProblem::Invalid,
            format!("no procedure definition is in force on {on}"),
        );
    }
    let Some(def) = def else {
        return Err(DomainError::Validation(Vec::new()));
    };
    let deadlines = [
        DeadlineKind::Interview,
        DeadlineKind::FileSubmission,
        DeadlineKind::Overall,
    ]
    .into_iter()
    .map(|k| named(&def, cmd, k, on))
    .collect();
    Ok(EventBody::ApplicationRegistered {
        register_no: reg.register_no.clone(),
        office: reg.office.clone(),
        filed_by: reg.filed_by,
        applicant: ApplicantFacts {
            sex: a.sex,
            birth_year: a.birth_date.year(),
            child,
            citizenship: a.citizenship,
            citizenship_country: a.citizenship_country.clone(),
            speaks_ukrainian_or_russian: a.speaks_ukrainian_or_russian,
            interpreter_used: a.interpreter_used,
        },
        referral: reg.referral.as_ref().map(|r| ReferralFacts {
            source: r.source,
            organisation: r.organisation.clone(),
            referred_on: r.referred_on,
        }),
        exploitation_forms: reg.exploitation_forms.clone(),
        exploitation_country: reg.exploitation_country.clone(),
        documents: reg
            .documents
            .iter()
            .map(|(kind, note)| DocumentFacts {
                kind: *kind,
                note: note.clone(),
            })
            .collect(),
        id_document_missing_reason: reg.id_document_missing_reason.clone(),
        rights_explained: reg.rights_explained,
        person: reg.person.clone(),
        procedure: Box::new((*def).clone()),
        deadlines,
    })
}
