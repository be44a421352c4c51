//! Issue 17's exports over HTTP on both stores, from the `cherkasy` demo: the HTCDS export read
//! back (JSON and CSV) and every field checked against the mapping of `docs/htcds.md`, worked
//! out here again from the case's events; no string a caseworker typed (nor a register or
//! certificate number, a case id or an official's id) in any export; pseudonyms keyed per export;
//! who may export; the CTDC dataset k-anonymous; the regional report as CSV. The k-anonymity on a
//! generated population of thousands of cases is `ctdc_population.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use ptl_api::app::exports::{CtdcRow, HtcdsRow, HTCDS_COLUMNS};
use ptl_domain::event::EventBody;
use ptl_domain::types::{
    Citizenship, ConsentScope, ExploitationForm, Need, ReferralSource, RulingOutcome,
};
use ptl_domain::{CaseEvent, Role};
use ptl_engine::vault::Reader;
use ptl_tests::{Store, TestApp};
use serde_json::{json, Value};

const HTCDS: &str = "/api/v1/exports/htcds?office=UA71&from=2020-01-01&to=2020-12-31";

async fn cherkasy(store: Store) -> TestApp {
    let app = TestApp::spawn(store).await;
    let today = ptl_domain::kyiv_date(app.state.app.engine.clock().now());
    ptl_api::demo::demo(
        &app.state.app.engine,
        ptl_api::demo::Scenario::Cherkasy,
        today,
    )
    .await
    .unwrap();
    app
}

/// The mapping of `docs/htcds.md`, worked out from the case's events (not from the folded state
/// the export reads), as the JSON row without its pseudonym.
fn expected_row(events: &[CaseEvent]) -> Value {
    let mut office = String::new();
    let mut registered_on = None;
    let mut child = false;
    let mut forms: Vec<ExploitationForm> = Vec::new();
    let mut country = String::new();
    let mut referral: Option<(ReferralSource, chrono::NaiveDate)> = None;
    let mut status = "pending";
    let mut court_ordered = false;
    let mut by_court = false;
    let mut referred_out = None;
    let mut planned: Vec<(Need, Option<chrono::NaiveDate>)> = Vec::new();
    let mut given: Vec<(Need, Option<chrono::NaiveDate>)> = Vec::new();
    let mut shelter = false;
    let mut paid = false;
    let mut consents: BTreeMap<ConsentScope, bool> = BTreeMap::new();
    let mut interviewed = false;
    for e in events {
        match &e.body {
            EventBody::ApplicationRegistered {
                office: o,
                applicant,
                referral: r,
                exploitation_forms,
                exploitation_country,
                ..
            } => {
                office = o.to_string();
                registered_on = Some(e.occurred_on);
                child = applicant.child;
                forms.clone_from(exploitation_forms);
                country.clone_from(exploitation_country);
                referral = r.as_ref().map(|r| (r.source, r.referred_on));
            }
            EventBody::Transferred { to_office, .. } => office = to_office.to_string(),
            EventBody::StatusGranted { .. } => {
                status = "granted";
                by_court = court_ordered;
            }
            EventBody::StatusRefused { .. } => status = "refused",
            EventBody::CourtRulingRecorded { outcome, .. } => {
                court_ordered = *outcome == RulingOutcome::AnnulledStatusEstablished;
                if *outcome != RulingOutcome::Upheld {
                    status = "pending";
                }
            }
            EventBody::StatusExpired { .. } => status = "expired",
            EventBody::ApplicationWithdrawn { .. } => status = "withdrawn",
            EventBody::ReferredToSocialServices { .. } => referred_out = Some(e.occurred_on),
            EventBody::RehabilitationPlanApproved { services, .. } => {
                planned = services.iter().map(|s| (s.service, s.to)).collect();
            }
            EventBody::ServiceRecorded { service, to, .. } => given.push((*service, *to)),
            EventBody::PlacedInShelter { .. } => shelter = true,
            EventBody::PaymentRecorded { .. } => paid = true,
            EventBody::ConsentGiven { scope, .. } => {
                consents.insert(*scope, true);
            }
            EventBody::ConsentWithdrawn { scope, .. } => {
                consents.insert(*scope, false);
            }
            EventBody::InterviewRecorded { .. } => interviewed = true,
            _ => {}
        }
    }
    let actual = matches!(status, "granted" | "expired");
    let closed = matches!(status, "withdrawn" | "expired");
    let mut exploitation: Vec<&str> = Vec::new();
    for f in &forms {
        let v = match f {
            ExploitationForm::Sexual => "SexualExploitation",
            ExploitationForm::Labour if child => "ChildLabour",
            ExploitationForm::Labour => "ForcedLabour",
            ExploitationForm::Begging => "ForcedBegging",
            ExploitationForm::ArmedConflict => "ForcedMilitaryByNonStateActors",
            ExploitationForm::OrganRemoval => "OrganRemoval",
            ExploitationForm::Adoption => "ForcedAdoption",
            ExploitationForm::Servitude => "Servitude",
            ExploitationForm::CriminalActivity | ExploitationForm::Other => "Other",
        };
        if !exploitation.contains(&v) {
            exploitation.push(v);
        }
    }
    let support_of = |n: Need| match n {
        Need::Shelter | Need::Social => Some("SocialCare"),
        Need::Medical | Need::Psychological => Some("Health"),
        Need::LegalAid | Need::Documents => Some("Legal"),
        Need::Employment => Some("Livelihood"),
        Need::Education => Some("Education"),
        Need::Payment => Some("Financial"),
        Need::Other => None,
    };
    let mut support: BTreeSet<&str> = planned
        .iter()
        .chain(&given)
        .filter_map(|(n, _)| support_of(*n))
        .collect();
    if shelter {
        support.insert("SocialCare");
    }
    if paid {
        support.insert("Financial");
    }
    let every_planned_given = !planned.is_empty()
        && planned
            .iter()
            .all(|(n, _)| given.iter().any(|(g, _)| g == n));
    let actual_end = if every_planned_given && given.iter().all(|(_, to)| to.is_some()) {
        given.iter().filter_map(|(_, to)| *to).max()
    } else {
        None
    };
    let consent = if status == "withdrawn" {
        Some(false)
    } else if let Some(c) = consents.get(&ConsentScope::StatusProcedure) {
        Some(*c)
    } else if interviewed {
        Some(true)
    } else {
        None
    };
    let country3 = ptl_domain::countries::alpha3(&country);
    let support_types: Vec<&str> = [
        "Education",
        "Financial",
        "Health",
        "Legal",
        "Livelihood",
        "SocialCare",
    ]
    .into_iter()
    .filter(|t| support.contains(t))
    .collect();
    json!({
        "ext_Office": office,
        "ext_RegisteredOn": registered_on,
        "ext_ProcedureStatus": status,
        "vic_TraffickingStatus": if actual { "ActualVictimOfTrafficking" } else { "PossibleVictimOfTrafficking" },
        "vic_TraffickingStatusDecisionMakingOrg": actual.then_some(if by_court { "CourtOrProsecution" } else { "NonPoliceGovernmentalOrganization" }),
        "vic_TypeOfExploitation": exploitation,
        "cas_Status": match (closed, referred_out.is_some(), status) {
            (true, true, _) => "ClosedReferred",
            (true, false, _) => "Closed",
            (false, _, "granted" | "refused") => "FollowUp",
            _ => "Active",
        },
        "cas_ReasonForCaseClosure": match status {
            "withdrawn" => Some("ApplicationWithdrawn"),
            "expired" => Some("StatusExpired"),
            _ => None,
        },
        "cas_ReferringOrganisation": referral.and_then(|(s, _)| match s {
            ReferralSource::Police | ReferralSource::BorderGuard => Some("LawEnforcement"),
            ReferralSource::Ngo | ReferralSource::Hotline => Some("NGO"),
            ReferralSource::Mdg => Some("LocalGovernmentOrganisation"),
            ReferralSource::Consulate => Some("CentralGovernmentOrganisation"),
            ReferralSource::School => Some("SchoolOrCollege"),
            ReferralSource::SelfReferral | ReferralSource::Other => None,
        }),
        "cas_IncomingReferralDate": referral.map(|(_, on)| on),
        "cas_ReferredOrganisation": referred_out.map(|_| "LocalGovernmentOrganisation"),
        "cas_ReasonForOutgoingReferral": referred_out.map(|_| "AdditionalServicesRequired"),
        "cas_OutgoingReferralDate": referred_out,
        "hte_Type": "Exploitation",
        "hte_Country": country3,
        "spl_Type": support_types,
        "spl_PlannedEndDate": planned.iter().filter_map(|(_, to)| *to).max(),
        "spl_ActualEndDate": actual_end,
        "con_Consent": consent,
        "ext_ConsentScopes": consents
            .iter()
            .filter(|(_, in_force)| **in_force)
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>(),
    })
}

/// A JSON row without its pseudonym.
fn without_pseudonym(mut row: Value) -> Value {
    row.as_object_mut().unwrap().remove("ext_CasePseudonym");
    row
}

/// A JSON value as the CSV writes it.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// RFC 4180 CSV (quoted cells with doubled quotes, CRLF lines) into rows of cells.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

/// Every string of a JSON value (the leaves), recursively.
fn strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// What no export may contain: every string typed into the vault (names, birth dates, contacts,
/// document numbers, organisations, reasons, notes), and the register and certificate numbers,
/// the case ids and the officials' ids of the events.
async fn secrets(app: &TestApp) -> BTreeSet<String> {
    let engine = &app.state.app.engine;
    let mut out = BTreeSet::new();
    for id in engine.case_ids().await.unwrap() {
        out.insert(id.to_string());
        out.insert(id.simple().to_string());
        let records: Vec<(String,)> = {
            let mut tx = engine.db().read().await.unwrap();
            ptl_engine::fetch_all!(
                tx.conn(),
                (String,),
                "SELECT record_id FROM personal_records WHERE case_id = $1",
                id.to_string()
            )
            .unwrap()
        };
        let refs: Vec<ptl_domain::RecordRef> = records
            .into_iter()
            .map(|(r,)| ptl_domain::RecordRef(r))
            .collect();
        let mut tx = engine.begin_write().await.unwrap();
        let reader = Reader {
            sub: "test".into(),
            role: "auditor".into(),
            office: Some("UA".into()),
            reason: Some("export test".into()),
        };
        let opened = engine
            .vault()
            .read_records(tx.conn(), id, &refs, &reader)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!opened.is_empty(), "case {id} has personal records");
        for (_, v) in opened {
            strings(&v.expect("readable"), &mut out);
        }
        for r in engine.history(id).await.unwrap() {
            out.insert(r.event.actor.sub.clone());
            match &r.event.body {
                EventBody::ApplicationRegistered { register_no, .. } => {
                    out.insert(register_no.clone());
                }
                EventBody::StatusGranted { certificate_no, .. } => {
                    out.insert(certificate_no.clone());
                }
                EventBody::Assigned { assignee } => {
                    out.insert(assignee.clone());
                }
                _ => {}
            }
        }
    }
    out.remove("system");
    // A one-character value (a flag, a digit) proves nothing either way.
    out.retain(|s| s.chars().count() > 2);
    out
}

fn assert_none_of(secrets: &BTreeSet<String>, text: &str, what: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} contains `{s}`");
    }
}

async fn htcds_reads_back_as_the_mapping_says(store: Store) {
    let app = cherkasy(store).await;
    let engine = &app.state.app.engine;
    let supervisor = app.token("rs-1", Role::Supervisor, "UA71");

    // JSON.
    let json_export = app.get(HTCDS, &supervisor).await;
    assert_eq!(json_export.status, 200, "{:?}", json_export.body);
    let b = &json_export.body;
    assert_eq!(b["standard"], "HTCDS 2.0");
    assert_eq!(b["cases"], 24);
    let rows: Vec<HtcdsRow> = serde_json::from_value(b["rows"].clone()).unwrap();
    assert_eq!(rows.len(), 24);

    // The mapping, from each case's events.
    let mut expected = Vec::new();
    for id in engine.case_ids().await.unwrap() {
        let events: Vec<CaseEvent> = engine
            .history(id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect();
        expected.push(expected_row(&events));
    }
    // Sorted by the row's fields in name order (the map's own order may be insertion order).
    let key = |v: &Value| {
        let sorted: BTreeMap<&String, &Value> = v.as_object().unwrap().iter().collect();
        serde_json::to_string(&sorted).unwrap()
    };
    expected.sort_by_key(key);
    let mut got: Vec<Value> = b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(without_pseudonym)
        .collect();
    got.sort_by_key(key);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e, "a row differs from the mapping");
    }
    // The demo reaches the mapping's branches.
    let values =
        |field: &str| -> BTreeSet<String> { got.iter().map(|r| cell(&r[field])).collect() };
    assert!(values("vic_TraffickingStatus").contains("ActualVictimOfTrafficking"));
    assert!(values("ext_ProcedureStatus").contains("refused"));
    assert!(
        values("cas_Status").len() >= 3,
        "{:?}",
        values("cas_Status")
    );
    assert!(values("spl_Type").iter().any(|v| !v.is_empty()));
    assert!(values("cas_OutgoingReferralDate")
        .iter()
        .any(|v| !v.is_empty()));
    // A refusal is not a finding that the person was not trafficked.
    for r in &rows {
        if r.procedure_status == "refused" {
            assert_eq!(r.trafficking_status, "PossibleVictimOfTrafficking");
        }
    }

    // Pseudonyms: 32 hex digits, one per case, and another export names the cases otherwise.
    let pseudonyms: BTreeSet<&str> = rows.iter().map(|r| r.case_pseudonym.as_str()).collect();
    assert_eq!(pseudonyms.len(), 24);
    assert!(pseudonyms
        .iter()
        .all(|p| p.len() == 32 && p.chars().all(|c| c.is_ascii_hexdigit())));

    // CSV: the same rows, cell by cell.
    let csv = app.get(&format!("{HTCDS}&format=csv"), &supervisor).await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.body.as_str().unwrap().to_string();
    let table = parse_csv(&text);
    assert_eq!(table[0], HTCDS_COLUMNS);
    assert_eq!(table.len(), 25);
    let csv_pseudonyms: BTreeSet<&str> = table[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(csv_pseudonyms.len(), 24);
    assert!(
        csv_pseudonyms.is_disjoint(&pseudonyms),
        "pseudonyms are keyed per export"
    );
    let mut csv_rows: Vec<Vec<String>> = table[1..].iter().map(|r| r[1..].to_vec()).collect();
    csv_rows.sort();
    let mut expected_cells: Vec<Vec<String>> = expected
        .iter()
        .map(|e| HTCDS_COLUMNS[1..].iter().map(|c| cell(&e[*c])).collect())
        .collect();
    expected_cells.sort();
    assert_eq!(csv_rows, expected_cells);

    // Nothing anyone typed, no register or certificate number, case id or official's id.
    let secrets = secrets(&app).await;
    assert!(secrets.len() > 100, "{} secrets", secrets.len());
    assert_none_of(&secrets, &json_export.body.to_string(), "the HTCDS JSON");
    assert_none_of(&secrets, &text, "the HTCDS CSV");

    // Each export is in the security log: who, which, what range, how many cases.
    let log = engine.security_log(0, 100).await.unwrap();
    let exports: Vec<_> = log.iter().filter(|e| e.kind == "export").collect();
    assert_eq!(exports.len(), 2, "the JSON and the CSV export: {log:?}");
    for e in &exports {
        assert_eq!(e.actor.as_deref(), Some("rs-1"));
        assert_eq!(e.outcome, "ok");
        assert_eq!(
            e.detail,
            json!({"export": "htcds", "office": "UA71", "from": "2020-01-01", "to": "2020-12-31", "cases": 24, "rows": 24})
        );
    }
    assert_eq!(engine.verify_security_log().await.unwrap(), None);

    // Who may export.
    let auditor = app.token("au-1", Role::Auditor, "UA");
    assert_eq!(
        app.get(&HTCDS.replace("UA71", "UA"), &auditor).await.body["cases"],
        24
    );
    for (role, office) in [
        (Role::Caseworker, "UA71"),
        (Role::Supervisor, "UA7102"),
        (Role::SocialWorker, "UA71"),
    ] {
        let t = app.token("x-1", role, office);
        let r = app.get(&HTCDS.replace("UA71", office), &t).await;
        assert_eq!(r.status, 403, "{role} at {office}: {:?}", r.body);
    }
    let r = app.get(&HTCDS.replace("UA71", "UA"), &supervisor).await;
    assert_eq!(r.status, 400, "an office outside the scope: {:?}", r.body);
    let r = app
        .get(
            "/api/v1/exports/htcds?office=UA71&to=2020-12-31",
            &supervisor,
        )
        .await;
    assert_eq!(r.status, 400, "`from` is required: {:?}", r.body);

    // CTDC from the same cases: too few to publish much, but k-anonymous and counted.
    let ctdc = app
        .get("/api/v1/exports/ctdc?from=2020&to=2020", &auditor)
        .await;
    assert_eq!(ctdc.status, 200, "{:?}", ctdc.body);
    let report = &ctdc.body["report"];
    assert_eq!(report["persons"], 24);
    assert_eq!(report["k"], 11);
    let published = report["published"].as_u64().unwrap();
    assert_eq!(published + report["suppressed"].as_u64().unwrap(), 24);
    let crow: Vec<CtdcRow> = serde_json::from_value(ctdc.body["rows"].clone()).unwrap();
    assert_eq!(crow.len() as u64, published);
    let mut groups: BTreeMap<&CtdcRow, usize> = BTreeMap::new();
    for r in &crow {
        *groups.entry(r).or_default() += 1;
    }
    assert!(groups.values().all(|n| *n >= 11), "{groups:?}");
    assert_none_of(&secrets, &ctdc.body.to_string(), "the CTDC JSON");
    let ctdc_csv = app
        .get(
            "/api/v1/exports/ctdc?from=2020&to=2020&format=csv",
            &auditor,
        )
        .await;
    assert_eq!(ctdc_csv.status, 200);
    assert_none_of(&secrets, ctdc_csv.body.as_str().unwrap(), "the CTDC CSV");
    let log = engine.security_log(0, 100).await.unwrap();
    let last = log.iter().rev().find(|e| e.kind == "export").unwrap();
    assert_eq!(last.actor.as_deref(), Some("au-1"));
    assert_eq!(last.detail["export"], "ctdc");
    assert_eq!(last.detail["office"], "UA");
    assert_eq!(last.detail["cases"], 24);
    // A refused export is not an export.
    assert_eq!(
        log.iter().filter(|e| e.kind == "export").count(),
        5,
        "htcds twice by the supervisor, once by the auditor, ctdc twice by the auditor"
    );

    // The regional report as CSV: the total and one line per district of the time.
    let report = app
        .get(
            "/api/v1/reports/regional?office=UA71&from=2020-04-01&to=2020-06-30",
            &supervisor,
        )
        .await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    let table = parse_csv(report.body.as_str().unwrap());
    let col = table[0].iter().position(|c| c == "applications").unwrap();
    assert_eq!(table[1][0], "total");
    assert_eq!(table[1][col], "24");
    let by_district: u64 = table[2..]
        .iter()
        .map(|r| r[col].parse::<u64>().unwrap())
        .sum();
    assert_eq!(by_district, 24);
    assert!(table.len() > 3, "a line per district");
    let public = app
        .get(
            "/api/v1/reports/regional?office=UA71&from=2020-04-01&to=2020-06-30&disclosure=public",
            &supervisor,
        )
        .await;
    assert_eq!(public.status, 200, "a whole quarter: {:?}", public.body);
    assert_ne!(
        public.body, report.body,
        "small district counts are suppressed"
    );

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htcds_reads_back_as_the_mapping_says_on_sqlite() {
    htcds_reads_back_as_the_mapping_says(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htcds_reads_back_as_the_mapping_says_on_postgres() {
    htcds_reads_back_as_the_mapping_says(Store::Postgres).await;
}

async fn citizenship_country_is_an_assigned_iso_code_for_a_foreign_citizen(store: Store) {
    let app = TestApp::spawn(store).await;
    let token = app.token("cw-1", Role::Caseworker, "UA7102");
    let with = |citizenship: &str, country: Option<&str>| {
        let mut body = ptl_tests::application("UA7102", "2026-03-01");
        body["applicant"]["citizenship"] = json!(citizenship);
        body["applicant"]["speaks_ukrainian_or_russian"] = json!(true);
        if let Some(c) = country {
            body["applicant"]["citizenship_country"] = json!(c);
        }
        body
    };
    for (citizenship, country) in [
        ("foreign", "ZZ"),
        ("foreign", "XX"),
        ("foreign", "UA"),
        ("ukrainian", "PL"),
        ("stateless", "MD"),
    ] {
        let r = app
            .post_json(
                "/api/v1/cases",
                &token,
                &[],
                &with(citizenship, Some(country)),
            )
            .await;
        assert_eq!(r.status, 422, "{citizenship} {country}: {:?}", r.body);
        assert!(
            r.body["errors"]["applicant.citizenship_country"].is_string(),
            "{:?}",
            r.body
        );
    }
    let r = app
        .post_json("/api/v1/cases", &token, &[], &with("foreign", Some("md")))
        .await;
    assert_eq!(r.status, 422, "lower case is not a code: {:?}", r.body);
    for (citizenship, country) in [
        ("foreign", Some("MD")),
        ("foreign", None),
        ("ukrainian", Some("UA")),
        ("ukrainian", None),
        ("stateless", None),
    ] {
        let r = app
            .post_json("/api/v1/cases", &token, &[], &with(citizenship, country))
            .await;
        assert_eq!(r.status, 201, "{citizenship} {country:?}: {:?}", r.body);
    }
    // The country is in the registration's event (alpha-2), and the CTDC export writes alpha-3.
    let auditor = app.token("au-1", Role::Auditor, "UA");
    let ctdc = app
        .get("/api/v1/exports/ctdc?from=2026&to=2026", &auditor)
        .await;
    assert_eq!(ctdc.status, 200, "{:?}", ctdc.body);
    assert_eq!(ctdc.body["report"]["persons"], 5);
    assert_eq!(
        ctdc.body["report"]["suppressed"], 5,
        "5 persons are fewer than k"
    );
    let engine = &app.state.app.engine;
    let mut countries = BTreeSet::new();
    for id in engine.case_ids().await.unwrap() {
        let (state, _) = engine.load(id).await.unwrap().unwrap();
        let reg = state.registration.as_ref().unwrap();
        countries.insert(reg.applicant.citizenship_country.clone());
        let person = ptl_api::app::exports::CtdcPerson::of(&state).unwrap();
        let row = person.at_level(0);
        let expected = match (
            reg.applicant.citizenship,
            reg.applicant.citizenship_country.as_deref(),
        ) {
            (Citizenship::Ukrainian, _) => "UKR",
            (Citizenship::Stateless, _) => "XXA",
            (Citizenship::Foreign, Some("MD")) => "MDA",
            (Citizenship::Foreign, _) => "",
        };
        assert_eq!(row.citizenship, expected);
    }
    assert!(countries.contains(&Some("MD".to_string())));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizenship_country_is_checked_on_sqlite() {
    citizenship_country_is_an_assigned_iso_code_for_a_foreign_citizen(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizenship_country_is_checked_on_postgres() {
    citizenship_country_is_an_assigned_iso_code_for_a_foreign_citizen(Store::Postgres).await;
}
