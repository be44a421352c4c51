//! Case data for the national and international picture (issue 17), produced from the event log
//! with no personal data:
//!
//! - [`htcds`]: one row per case in the Human Trafficking Case Data Standard 2.0 (IOM and
//!   Liberty Shared), for partners entitled to case-level data. The mapping of every field of the
//!   `vic_`, `cas_`, `hte_`, `spl_` and `con_` sections is `docs/htcds.md`; [`HtcdsRow`] holds
//!   the fields the engine's facts fill. Cases are named by a pseudonym keyed per export (an
//!   HMAC of the case id under a random key that is thrown away), so that two exports cannot be
//!   joined on it; no name, birth date, register or certificate number, official's id or free
//!   text leaves the store.
//! - [`ctdc`]: one row per identified person with the variables of the CTDC codebook that the
//!   facts fill, made k-anonymous (k = [`CTDC_K`]) over all of them by generalisation (wider age
//!   bands, region instead of country, ...) and then suppression of rows (`docs/ctdc.md`).
//!
//! Both read the cases registered in a period within an office's scope (the statistics read
//! model names them, the engine folds each case's events) and record the export in the security
//! log ([`record_export`]). [`App::export_htcds`] and [`App::export_ctdc`] add the caller's
//! checks for the REST routes; `ptl export` calls [`htcds`] and [`ctdc`] directly, as the
//! operator of the store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use ptl_domain::countries;
use ptl_domain::event::EventBody;
use ptl_domain::state::InterviewOutcome;
use ptl_domain::types::{
    Citizenship, ConsentScope, ExploitationForm, Need, ReferralSource, RulingOutcome, Sex,
};
use ptl_domain::{CaseEvent, CaseState, Role, Stage, Status};
use ptl_engine::pipeline::Engine;
use ptl_engine::security::SecurityEntry;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::{App, Caller, Error};
use crate::offices::{OfficeKind, OfficeTree};

/// The smallest group of identical rows the CTDC dataset publishes (the CTDC's own k).
pub const CTDC_K: usize = 11;

/// The range of an export: an office (with the offices below it, or, for a deciding authority,
/// the files it held) and the receipt dates of the cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRange {
    /// Office code.
    pub office: String,
    /// First receipt date.
    pub from: NaiveDate,
    /// Last receipt date.
    pub to: NaiveDate,
}

// ---------------------------------------------------------------------------------------------
// HTCDS.

/// One case in HTCDS 2.0 field names (`docs/htcds.md`). Multi-select picklists are lists (in
/// CSV, values joined with `;`); an absent value is `null` (an empty CSV cell). Fields whose
/// name starts with `ext_` are not in the standard: they say what the standard has no field for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HtcdsRow {
    /// The case's pseudonym in this export (32 hex digits; another export gives another).
    #[serde(rename = "ext_CasePseudonym")]
    pub case_pseudonym: String,
    /// The office responsible for the case now.
    #[serde(rename = "ext_Office")]
    pub office: String,
    /// The receipt date of the application.
    #[serde(rename = "ext_RegisteredOn")]
    pub registered_on: NaiveDate,
    /// The status procedure's outcome (`pending`, `granted`, `refused`, `withdrawn`, `expired`).
    #[serde(rename = "ext_ProcedureStatus")]
    pub procedure_status: String,
    /// `PossibleVictimOfTrafficking` or `ActualVictimOfTrafficking` (a refusal stays possible:
    /// `docs/htcds.md`).
    #[serde(rename = "vic_TraffickingStatus")]
    pub trafficking_status: String,
    /// Who established the status, for an actual victim.
    #[serde(rename = "vic_TraffickingStatusDecisionMakingOrg")]
    pub decision_making_org: Option<String>,
    /// Forms of exploitation.
    #[serde(rename = "vic_TypeOfExploitation")]
    pub type_of_exploitation: Vec<String>,
    /// `Active`, `FollowUp`, `Closed` or `ClosedReferred`.
    #[serde(rename = "cas_Status")]
    pub case_status: String,
    /// Why a closed case closed: `ApplicationWithdrawn` or `StatusExpired` (a code, never text).
    #[serde(rename = "cas_ReasonForCaseClosure")]
    pub reason_for_closure: Option<String>,
    /// The kind of the referring organisation (an `org_Type` value; its name stays in the vault).
    #[serde(rename = "cas_ReferringOrganisation")]
    pub referring_organisation: Option<String>,
    /// The referral date.
    #[serde(rename = "cas_IncomingReferralDate")]
    pub incoming_referral_date: Option<NaiveDate>,
    /// The kind of the organisation the case was referred to (the centre of social services).
    #[serde(rename = "cas_ReferredOrganisation")]
    pub referred_organisation: Option<String>,
    /// Why: `AdditionalServicesRequired`.
    #[serde(rename = "cas_ReasonForOutgoingReferral")]
    pub reason_for_outgoing_referral: Option<String>,
    /// The date of the referral to social services.
    #[serde(rename = "cas_OutgoingReferralDate")]
    pub outgoing_referral_date: Option<NaiveDate>,
    /// `Exploitation`: the historic event the registration records.
    #[serde(rename = "hte_Type")]
    pub event_type: String,
    /// The country of exploitation (ISO 3166-1 alpha-3).
    #[serde(rename = "hte_Country")]
    pub event_country: Option<String>,
    /// The kinds of support planned or given.
    #[serde(rename = "spl_Type")]
    pub support_types: Vec<String>,
    /// The last planned end date of the rehabilitation plan's services.
    #[serde(rename = "spl_PlannedEndDate")]
    pub support_planned_end: Option<NaiveDate>,
    /// The last end date of the services given, once every planned service has been given and
    /// has ended.
    #[serde(rename = "spl_ActualEndDate")]
    pub support_actual_end: Option<NaiveDate>,
    /// Consent to the status procedure (and its interview) in force.
    #[serde(rename = "con_Consent")]
    pub consent: Option<bool>,
    /// The consent scopes in force (`status_procedure`, `share_with_police`, ...).
    #[serde(rename = "ext_ConsentScopes")]
    pub consent_scopes: Vec<String>,
}

/// The columns of the HTCDS CSV, in order (the names of [`HtcdsRow`]'s fields).
pub const HTCDS_COLUMNS: &[&str] = &[
    "ext_CasePseudonym",
    "ext_Office",
    "ext_RegisteredOn",
    "ext_ProcedureStatus",
    "vic_TraffickingStatus",
    "vic_TraffickingStatusDecisionMakingOrg",
    "vic_TypeOfExploitation",
    "cas_Status",
    "cas_ReasonForCaseClosure",
    "cas_ReferringOrganisation",
    "cas_IncomingReferralDate",
    "cas_ReferredOrganisation",
    "cas_ReasonForOutgoingReferral",
    "cas_OutgoingReferralDate",
    "hte_Type",
    "hte_Country",
    "spl_Type",
    "spl_PlannedEndDate",
    "spl_ActualEndDate",
    "con_Consent",
    "ext_ConsentScopes",
];

/// An HTCDS export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HtcdsExport {
    /// `HTCDS 2.0`.
    pub standard: &'static str,
    /// The office exported (with the offices below it).
    pub office: String,
    /// First receipt date.
    pub from: NaiveDate,
    /// Last receipt date.
    pub to: NaiveDate,
    /// Number of cases (rows).
    pub cases: usize,
    /// The rows, by receipt date.
    pub rows: Vec<HtcdsRow>,
}

/// The key of one export's pseudonyms: random, used for one export and dropped with it.
struct PseudonymKey([u8; 32]);

impl PseudonymKey {
    fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// HMAC-SHA-256 of the case id, first 128 bits in hex.
    fn pseudonym(&self, case_id: Uuid) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            // HMAC takes a key of any length: unreachable, and never the case id itself.
            return String::new();
        };
        mac.update(case_id.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

impl Drop for PseudonymKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
    }
}

/// HTCDS `vic_TypeOfExploitation` of a form (`docs/htcds.md`). Labour of a child is `ChildLabour`.
#[must_use]
pub fn htcds_exploitation(form: ExploitationForm, child: bool) -> &'static str {
    match form {
        ExploitationForm::Sexual => "SexualExploitation",
        ExploitationForm::Labour if child => "ChildLabour",
        ExploitationForm::Labour => "ForcedLabour",
        ExploitationForm::Begging => "ForcedBegging",
        ExploitationForm::ArmedConflict => "ForcedMilitaryByNonStateActors",
        ExploitationForm::OrganRemoval => "OrganRemoval",
        ExploitationForm::Adoption => "ForcedAdoption",
        ExploitationForm::Servitude => "Servitude",
        ExploitationForm::CriminalActivity | ExploitationForm::Other => "Other",
    }
}

/// The `org_Type` of a referring entity, where the standard has one (`docs/htcds.md`).
#[must_use]
pub fn htcds_referring_org(source: ReferralSource) -> Option<&'static str> {
    match source {
        ReferralSource::Police | ReferralSource::BorderGuard => Some("LawEnforcement"),
        ReferralSource::Ngo | ReferralSource::Hotline => Some("NGO"),
        ReferralSource::Mdg => Some("LocalGovernmentOrganisation"),
        ReferralSource::Consulate => Some("CentralGovernmentOrganisation"),
        ReferralSource::School => Some("SchoolOrCollege"),
        ReferralSource::SelfReferral | ReferralSource::Other => None,
    }
}

/// The `spl_Type` of a need met by a service (`None` for `other`: the standard has no value).
#[must_use]
pub fn htcds_support(need: Need) -> Option<&'static str> {
    match need {
        Need::Shelter | Need::Social => Some("SocialCare"),
        Need::Medical | Need::Psychological => Some("Health"),
        Need::LegalAid | Need::Documents => Some("Legal"),
        Need::Employment => Some("Livelihood"),
        Need::Education => Some("Education"),
        Need::Payment => Some("Financial"),
        Need::Other => None,
    }
}

/// The order `spl_Type` values are listed in (the standard's).
const SUPPORT_ORDER: &[&str] = &[
    "Education",
    "Financial",
    "Health",
    "Legal",
    "Livelihood",
    "SocialCare",
];

/// One case as an HTCDS row, from its state and its events (`docs/htcds.md` is this function in
/// a table). `None` for a stream without a registration.
#[must_use]
pub fn htcds_row(pseudonym: String, state: &CaseState, events: &[CaseEvent]) -> Option<HtcdsRow> {
    let reg = state.registration.as_ref()?;
    let status = state.status.unwrap_or(Status::Pending);
    let actual = matches!(status, Status::Granted | Status::Expired);
    // Who established the status: a court that annulled a refusal and established the status
    // (the grant after it only records it), or the deciding authority.
    let decision_making_org = actual.then(|| {
        let by_court = state
            .decision
            .as_ref()
            .is_some_and(|d| d.authority == "court")
            || established_by_court(events);
        if by_court {
            "CourtOrProsecution".to_string()
        } else {
            "NonPoliceGovernmentalOrganization".to_string()
        }
    });
    let mut forms: Vec<String> = Vec::new();
    for f in &reg.exploitation_forms {
        let v = htcds_exploitation(*f, reg.applicant.child).to_string();
        if !forms.contains(&v) {
            forms.push(v);
        }
    }
    let referred_out = state.assistance.referred_to.as_ref().map(|(_, on)| *on);
    let closed = state.stage == Some(Stage::Closed);
    let case_status = match state.stage {
        Some(Stage::Closed) if referred_out.is_some() => "ClosedReferred",
        Some(Stage::Closed) => "Closed",
        Some(Stage::Decided) => "FollowUp",
        _ => "Active",
    };
    let reason_for_closure = closed.then(|| {
        match status {
            Status::Expired => "StatusExpired",
            _ => "ApplicationWithdrawn",
        }
        .to_string()
    });

    let a = &state.assistance;
    let mut support: BTreeSet<&str> = BTreeSet::new();
    let planned: Vec<Need> = a
        .plan
        .as_ref()
        .map(|(services, _)| services.iter().map(|s| s.service).collect())
        .unwrap_or_default();
    support.extend(planned.iter().filter_map(|n| htcds_support(*n)));
    support.extend(a.services.iter().filter_map(|s| htcds_support(s.service)));
    if a.shelter.is_some() {
        support.insert("SocialCare");
    }
    if a.payment.is_some() {
        support.insert("Financial");
    }
    let support_types = SUPPORT_ORDER
        .iter()
        .filter(|t| support.contains(*t))
        .map(|t| (*t).to_string())
        .collect();
    let support_planned_end = a
        .plan
        .as_ref()
        .and_then(|(services, _)| services.iter().filter_map(|s| s.to).max());
    let every_planned_given = !planned.is_empty()
        && planned
            .iter()
            .all(|n| a.services.iter().any(|s| s.service == *n));
    let support_actual_end = if every_planned_given && a.services.iter().all(|s| s.to.is_some()) {
        a.services.iter().filter_map(|s| s.to).max()
    } else {
        None
    };

    let procedure_consent = state.consents.get(&ConsentScope::StatusProcedure);
    let consent = if status == Status::Withdrawn {
        Some(false)
    } else if let Some(c) = procedure_consent {
        Some(c.in_force)
    } else if matches!(state.interview, Some(InterviewOutcome::Done { .. })) {
        // The interview is held with the person's (or representative's) signed consent.
        Some(true)
    } else {
        None
    };
    let consent_scopes = state
        .consents
        .iter()
        .filter(|(_, c)| c.in_force)
        .map(|(scope, _)| scope.as_str().to_string())
        .collect();

    Some(HtcdsRow {
        case_pseudonym: pseudonym,
        office: state.office().to_string(),
        registered_on: reg.received_on,
        procedure_status: status.as_str().to_string(),
        trafficking_status: if actual {
            "ActualVictimOfTrafficking"
        } else {
            "PossibleVictimOfTrafficking"
        }
        .to_string(),
        decision_making_org,
        type_of_exploitation: forms,
        case_status: case_status.to_string(),
        reason_for_closure,
        referring_organisation: reg
            .referral
            .as_ref()
            .and_then(|r| htcds_referring_org(r.source))
            .map(str::to_string),
        incoming_referral_date: reg.referral.as_ref().map(|r| r.referred_on),
        referred_organisation: referred_out.map(|_| "LocalGovernmentOrganisation".to_string()),
        reason_for_outgoing_referral: referred_out
            .map(|_| "AdditionalServicesRequired".to_string()),
        outgoing_referral_date: referred_out,
        event_type: "Exploitation".to_string(),
        event_country: countries::alpha3(&reg.exploitation_country).map(str::to_string),
        support_types,
        support_planned_end,
        support_actual_end,
        consent,
        consent_scopes,
    })
}

/// Whether the status in force was established by a court: the last grant follows a ruling that
/// annulled the refusal and established the status.
fn established_by_court(events: &[CaseEvent]) -> bool {
    let mut by_court = false;
    let mut ordered = false;
    for e in events {
        match &e.body {
            EventBody::CourtRulingRecorded { outcome, .. } => {
                ordered = *outcome == RulingOutcome::AnnulledStatusEstablished;
            }
            EventBody::StatusGranted { .. } => {
                by_court = ordered;
                ordered = false;
            }
            _ => {}
        }
    }
    by_court
}

/// The cases of a range, as the engine loads them (its cache, a snapshot or the stream), in
/// receipt order; a case without a registration is left out.
async fn cases_of(
    engine: &Engine,
    tree: &OfficeTree,
    range: &ExportRange,
) -> Result<Vec<(Uuid, Arc<CaseState>)>, Error> {
    let (offices, submitted_to) = scope(tree, &range.office);
    let ids = ptl_projections::queries::cases_registered(
        engine.db(),
        &offices,
        submitted_to.as_deref(),
        range.from,
        range.to,
    )
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some((state, _)) = engine.load(id).await? {
            if state.registration.is_some() {
                out.push((id, state));
            }
        }
    }
    Ok(out)
}

/// The events of a case whose row needs them: only a granted (or expired) status, to tell
/// whether a court established it.
async fn events_for_row(
    engine: &Engine,
    id: Uuid,
    state: &CaseState,
) -> Result<Vec<CaseEvent>, Error> {
    if matches!(state.status, Some(Status::Granted | Status::Expired)) {
        Ok(engine
            .history(id)
            .await?
            .into_iter()
            .map(|r| r.event)
            .collect())
    } else {
        Ok(Vec::new())
    }
}

/// The read models' scope of an office (as [`App`]'s): its offices, or the files a deciding
/// authority held.
fn scope(tree: &OfficeTree, office: &str) -> (Vec<String>, Option<String>) {
    if tree.is_authority(office) {
        (Vec::new(), Some(office.to_string()))
    } else {
        (
            tree.descendants(office)
                .into_iter()
                .map(str::to_string)
                .collect(),
            None,
        )
    }
}

fn check_range(tree: &OfficeTree, range: &ExportRange) -> Result<(), Error> {
    if tree.get(&range.office).is_none() {
        return Err(Error::parameter(
            "office",
            format!("{} is not an office of the tree", range.office),
        ));
    }
    if range.from > range.to {
        return Err(Error::parameter("from", "must not be after `to`"));
    }
    Ok(())
}

/// The HTCDS export of a range, recorded in the security log as made by `actor`.
///
/// # Errors
/// An office the tree does not know, a period that ends before it starts, the store.
pub async fn htcds(
    engine: &Engine,
    tree: &OfficeTree,
    actor: &str,
    range: &ExportRange,
) -> Result<HtcdsExport, Error> {
    check_range(tree, range)?;
    let key = PseudonymKey::random();
    let mut rows: Vec<HtcdsRow> = Vec::new();
    for (id, state) in cases_of(engine, tree, range).await? {
        let events = events_for_row(engine, id, &state).await?;
        rows.extend(htcds_row(key.pseudonym(id), &state, &events));
    }
    drop(key);
    record_export(
        engine,
        &ExportRecord {
            actor,
            export: "htcds",
            office: &range.office,
            from: range.from,
            to: range.to,
            cases: rows.len(),
            published: rows.len(),
        },
    )
    .await?;
    Ok(HtcdsExport {
        standard: "HTCDS 2.0",
        office: range.office.clone(),
        from: range.from,
        to: range.to,
        cases: rows.len(),
        rows,
    })
}

/// The HTCDS export as CSV: a header of [`HTCDS_COLUMNS`], one line per case (RFC 4180, CRLF);
/// lists joined with `;`, absent values empty.
#[must_use]
pub fn htcds_csv(export: &HtcdsExport) -> String {
    let mut out = HTCDS_COLUMNS.join(",");
    out.push_str("\r\n");
    for row in &export.rows {
        let value = serde_json::to_value(row).unwrap_or_default();
        let cells: Vec<String> = HTCDS_COLUMNS
            .iter()
            .map(|c| ptl_projections::registers::csv_cell(&cell(&value[*c])))
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A JSON value as a CSV cell: `null` empty, a list joined with `;`.
fn cell(v: &serde_json::Value) -> String {
    use serde_json::Value as V;
    match v {
        V::Null => String::new(),
        V::String(s) => s.clone(),
        V::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// CTDC.

/// The CTDC quasi-identifiers of one person, as published (`docs/ctdc.md`): each value is the
/// codebook's, a generalised one (a wider age band, a UN M49 region) or `*` (withheld).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct CtdcRow {
    /// Year of registration (never generalised).
    #[serde(rename = "yearOfRegistration")]
    pub year: i32,
    /// `Woman`, `Man` or empty (not recorded); never generalised.
    pub gender: String,
    /// Age band at registration.
    #[serde(rename = "ageBroad")]
    pub age: String,
    /// Citizenship, ISO 3166-1 alpha-3 (`XXA` stateless), or its region.
    pub citizenship: String,
    /// Country of exploitation, ISO 3166-1 alpha-3, or its region.
    #[serde(rename = "CountryOfExploitation")]
    pub country_of_exploitation: String,
    /// `1` or empty.
    #[serde(rename = "isForcedLabour")]
    pub forced_labour: String,
    /// `1` or empty.
    #[serde(rename = "isSexualExploit")]
    pub sexual_exploit: String,
    /// `1` or empty.
    #[serde(rename = "isOtherExploit")]
    pub other_exploit: String,
    /// The referral source (the engine's codes), or its group.
    #[serde(rename = "referralSource")]
    pub referral_source: String,
}

/// The columns of the CTDC CSV, in order.
pub const CTDC_COLUMNS: &[&str] = &[
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "referralSource",
];

/// What a person's facts are before any generalisation (ages and countries kept exact, so that
/// each level can generalise from them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtdcPerson {
    /// Year of registration.
    pub year: i32,
    /// Recorded sex.
    pub sex: Sex,
    /// Age in whole years at registration.
    pub age: i32,
    /// Citizenship, ISO 3166-1 alpha-2 (`None` when unknown; `Some("")` stateless).
    pub citizenship: Option<String>,
    /// Country of exploitation, ISO 3166-1 alpha-2 (`None` when unknown).
    pub country: Option<String>,
    /// Forms of exploitation.
    pub forms: Vec<ExploitationForm>,
    /// Referral source.
    pub referral: Option<ReferralSource>,
}

impl CtdcPerson {
    /// The facts of a registered case (`None` without a registration). The age is the year
    /// difference, kept on the right side of 18 by the registration's child flag.
    #[must_use]
    pub fn of(state: &CaseState) -> Option<Self> {
        let reg = state.registration.as_ref()?;
        let a = &reg.applicant;
        let year = reg.received_on.year();
        let mut age = year - a.birth_year;
        if a.child {
            age = age.min(17);
        } else {
            age = age.max(18);
        }
        let citizenship = match a.citizenship {
            Citizenship::Ukrainian => Some("UA".to_string()),
            Citizenship::Stateless => Some(String::new()),
            Citizenship::Foreign => a.citizenship_country.clone(),
        };
        Some(Self {
            year,
            sex: a.sex,
            age,
            citizenship,
            country: Some(reg.exploitation_country.clone()).filter(|c| countries::is_assigned(c)),
            forms: reg.exploitation_forms.clone(),
            referral: reg.referral.as_ref().map(|r| r.source),
        })
    }

    /// The row at a generalisation level (0: the codebook's detail; `CTDC_LEVELS - 1`: only
    /// the year and gender left): [`CTDC_HIERARCHY`] says how far each variable is generalised.
    #[must_use]
    pub fn at_level(&self, level: usize) -> CtdcRow {
        let h = CTDC_HIERARCHY[level.min(CTDC_LEVELS - 1)];
        let star = || "*".to_string();
        let labour = self.forms.contains(&ExploitationForm::Labour);
        let sexual = self.forms.contains(&ExploitationForm::Sexual);
        let other = self
            .forms
            .iter()
            .any(|f| !matches!(f, ExploitationForm::Labour | ExploitationForm::Sexual));
        let flag = |b: bool| {
            if h.flags > 0 {
                star()
            } else if b {
                "1".to_string()
            } else {
                String::new()
            }
        };
        let country = |code: Option<&str>, stateless: &str| -> String {
            match (h.countries, code) {
                (2.., _) => star(),
                (_, None) => String::new(),
                (_, Some("")) => stateless.to_string(),
                (0, Some(c)) => countries::alpha3(c).unwrap_or_default().to_string(),
                (_, Some(c)) => countries::region(c).unwrap_or_default().to_string(),
            }
        };
        CtdcRow {
            year: self.year,
            gender: match self.sex {
                Sex::Female => "Woman",
                Sex::Male => "Man",
                Sex::Unknown => "",
            }
            .to_string(),
            age: match h.age {
                0 => age_band(self.age),
                1 => wide_age_band(self.age),
                2 => if self.age < 18 { "0-17" } else { "18+" }.to_string(),
                _ => star(),
            },
            citizenship: country(
                self.citizenship.as_deref(),
                if h.countries == 0 { "XXA" } else { "Stateless" },
            ),
            country_of_exploitation: country(self.country.as_deref(), ""),
            forced_labour: flag(labour),
            sexual_exploit: flag(sexual),
            other_exploit: flag(other),
            referral_source: match h.referral {
                0 => self.referral.map_or("", |r| r.as_str()).to_string(),
                1 => referral_group(self.referral).to_string(),
                _ => star(),
            },
        }
    }
}

/// How far each variable is generalised at one level (0: the codebook's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generalisation {
    /// 0 the codebook's bands, 1 wide bands (0-17, 18-29, 30-47, 48+), 2 child or adult, 3 `*`.
    pub age: u8,
    /// 0 alpha-3, 1 UN M49 sub-region, 2 `*` (citizenship and country of exploitation).
    pub countries: u8,
    /// 0 the source, 1 its group (`public_body`, `civil_society`, `self`), 2 `*`.
    pub referral: u8,
    /// 0 the three flags, 1 `*`.
    pub flags: u8,
}

const fn g(age: u8, countries: u8, referral: u8, flags: u8) -> Generalisation {
    Generalisation {
        age,
        countries,
        referral,
        flags,
    }
}

/// The levels, least generalised first: the referral source (not a codebook variable) goes
/// first, countries (the codebook's core) late; the year and gender are never generalised.
pub const CTDC_HIERARCHY: [Generalisation; CTDC_LEVELS] = [
    g(0, 0, 0, 0),
    g(0, 0, 1, 0),
    g(1, 0, 1, 0),
    g(1, 0, 2, 0),
    g(1, 1, 2, 0),
    g(2, 1, 2, 0),
    g(2, 2, 2, 0),
    g(3, 2, 2, 1),
];

/// The number of generalisation levels (`docs/ctdc.md`).
pub const CTDC_LEVELS: usize = 8;

/// The codebook's age bands.
fn age_band(age: i32) -> String {
    match age {
        i32::MIN..=8 => "0-8",
        9..=17 => "9-17",
        18..=20 => "18-20",
        21..=23 => "21-23",
        24..=26 => "24-26",
        27..=29 => "27-29",
        30..=38 => "30-38",
        39..=47 => "39-47",
        _ => "48+",
    }
    .to_string()
}

/// Unions of the codebook's bands.
fn wide_age_band(age: i32) -> String {
    match age {
        i32::MIN..=17 => "0-17",
        18..=29 => "18-29",
        30..=47 => "30-47",
        _ => "48+",
    }
    .to_string()
}

/// Referral sources grouped: public bodies, civil society, the person, other or none.
fn referral_group(source: Option<ReferralSource>) -> &'static str {
    match source {
        Some(
            ReferralSource::Police
            | ReferralSource::BorderGuard
            | ReferralSource::Consulate
            | ReferralSource::Mdg,
        ) => "public_body",
        Some(ReferralSource::Ngo | ReferralSource::Hotline | ReferralSource::School) => {
            "civil_society"
        }
        Some(ReferralSource::SelfReferral) => "self",
        Some(ReferralSource::Other) | None => "",
    }
}

/// What k-anonymisation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CtdcReport {
    /// The k.
    pub k: usize,
    /// Persons in the range.
    pub persons: usize,
    /// Rows published.
    pub published: usize,
    /// Rows published at a level above 0 (at least one value generalised).
    pub generalised: usize,
    /// Rows left out: no group of at least k at any level.
    pub suppressed: usize,
    /// Rows published at each level (index = level).
    pub by_level: Vec<usize>,
}

/// k-anonymises persons: level by level, the rows whose generalised values occur at least `k`
/// times among the rows not yet published are published at that level; what remains after the
/// last level is suppressed. Every distinct published row then occurs at least `k` times (a row
/// string is published only as part of a group of at least `k` identical ones). The rows come
/// back sorted.
#[must_use]
pub fn k_anonymise(persons: &[CtdcPerson], k: usize) -> (Vec<CtdcRow>, CtdcReport) {
    let mut remaining: Vec<&CtdcPerson> = persons.iter().collect();
    let mut published: Vec<CtdcRow> = Vec::with_capacity(persons.len());
    let mut report = CtdcReport {
        k,
        persons: persons.len(),
        by_level: vec![0; CTDC_LEVELS],
        ..CtdcReport::default()
    };
    for level in 0..CTDC_LEVELS {
        let mut groups: BTreeMap<CtdcRow, Vec<&CtdcPerson>> = BTreeMap::new();
        for p in remaining {
            groups.entry(p.at_level(level)).or_default().push(p);
        }
        remaining = Vec::new();
        for (row, members) in groups {
            if members.len() >= k {
                report.by_level[level] += members.len();
                published.extend(std::iter::repeat_n(row, members.len()));
            } else {
                remaining.extend(members);
            }
        }
    }
    report.published = published.len();
    report.suppressed = remaining.len();
    report.generalised = report.published - report.by_level[0];
    published.sort();
    (published, report)
}

/// A CTDC export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CtdcExport {
    /// The office exported (with the offices below it).
    pub office: String,
    /// First year.
    pub from_year: i32,
    /// Last year.
    pub to_year: i32,
    /// What the anonymisation did.
    pub report: CtdcReport,
    /// The rows, sorted.
    pub rows: Vec<CtdcRow>,
}

/// The CTDC export of an office's cases registered in the years `[from_year, to_year]`,
/// recorded in the security log as made by `actor`.
///
/// # Errors
/// An office the tree does not know, a period that ends before it starts or a year outside
/// 1900..=9999, the store.
pub async fn ctdc(
    engine: &Engine,
    tree: &OfficeTree,
    actor: &str,
    office: &str,
    from_year: i32,
    to_year: i32,
) -> Result<CtdcExport, Error> {
    let first = |y: i32, field: &str| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .filter(|_| (1900..=9999).contains(&y))
            .ok_or_else(|| Error::parameter(field, "a year from 1900 to 9999"))
    };
    let from = first(from_year, "from")?;
    let to = first(to_year, "to")?
        .with_month(12)
        .and_then(|d| d.with_day(31))
        .ok_or_else(|| Error::parameter("to", "a year from 1900 to 9999"))?;
    let range = ExportRange {
        office: office.to_string(),
        from,
        to,
    };
    check_range(tree, &range)?;
    let persons: Vec<CtdcPerson> = cases_of(engine, tree, &range)
        .await?
        .iter()
        .filter_map(|(_, state)| CtdcPerson::of(state))
        .collect();
    let (rows, report) = k_anonymise(&persons, CTDC_K);
    record_export(
        engine,
        &ExportRecord {
            actor,
            export: "ctdc",
            office,
            from,
            to,
            cases: report.persons,
            published: report.published,
        },
    )
    .await?;
    Ok(CtdcExport {
        office: office.to_string(),
        from_year,
        to_year,
        report,
        rows,
    })
}

/// The CTDC export as CSV: a header of [`CTDC_COLUMNS`], one line per published row.
#[must_use]
pub fn ctdc_csv(export: &CtdcExport) -> String {
    let mut out = CTDC_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in &export.rows {
        let cells = [
            r.year.to_string(),
            r.gender.clone(),
            r.age.clone(),
            r.citizenship.clone(),
            r.country_of_exploitation.clone(),
            r.forced_labour.clone(),
            r.sexual_exploit.clone(),
            r.other_exploit.clone(),
            r.referral_source.clone(),
        ];
        let cells: Vec<String> = cells
            .iter()
            .map(|c| ptl_projections::registers::csv_cell(c))
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The security log.

/// One export as the security log records it: who, which export, what range, how many cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRecord<'a> {
    /// The user (`sub`) or, for `ptl export`, `cli`.
    pub actor: &'a str,
    /// `htcds` or `ctdc`.
    pub export: &'a str,
    /// The office exported.
    pub office: &'a str,
    /// First receipt date.
    pub from: NaiveDate,
    /// Last receipt date.
    pub to: NaiveDate,
    /// Cases read.
    pub cases: usize,
    /// Rows written.
    pub published: usize,
}

/// Records an export in the security log (kind `export`, outcome `ok`; detail: the export, the
/// office, the range, the cases read and the rows written), in a transaction of its own before
/// the data is handed out: an export that cannot be logged is not made. The one place an export
/// is logged.
///
/// # Errors
/// The store.
pub async fn record_export(engine: &Engine, record: &ExportRecord<'_>) -> Result<(), Error> {
    let entry = SecurityEntry::new("export", Some(record.actor), None).detail(json!({
        "export": record.export,
        "office": record.office,
        "from": record.from,
        "to": record.to,
        "cases": record.cases,
        "rows": record.published,
    }));
    engine.log_security(entry).await?;
    tracing::info!(
        target: "ptl::audit",
        actor = record.actor,
        export = record.export,
        office = record.office,
        from = %record.from,
        to = %record.to,
        cases = record.cases,
        "export recorded in the security log"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The callers' checks.

/// An HTCDS request over the API.
#[derive(Debug, Clone)]
pub struct HtcdsRequest {
    /// The office (default: the caller's).
    pub office: Option<String>,
    /// First receipt date.
    pub from: NaiveDate,
    /// Last receipt date.
    pub to: NaiveDate,
}

impl App {
    /// Who may export case data (issue 17): a supervisor of a region (or of the national
    /// office), and auditors. Then the office must be in the caller's scope.
    fn may_export(&self, caller: &Caller, office: Option<String>) -> Result<String, Error> {
        let kind = self.offices.get(&caller.office).map(|o| o.kind);
        let allowed = match caller.role {
            Role::Auditor => true,
            Role::Supervisor => matches!(kind, Some(OfficeKind::Region | OfficeKind::National)),
            _ => false,
        };
        if !allowed {
            return Err(Error::Forbidden(format!(
                "exports are for a region's supervisor and auditors, not for a {} at {}",
                caller.role, caller.office
            )));
        }
        Ok(self
            .office_filter(caller, office)?
            .unwrap_or_else(|| caller.office.clone()))
    }

    /// The HTCDS export for the caller.
    ///
    /// # Errors
    /// A role that may not export (403), an office outside the caller's scope or a period that
    /// ends before it starts (400), the store.
    pub async fn export_htcds(
        &self,
        caller: &Caller,
        q: HtcdsRequest,
    ) -> Result<HtcdsExport, Error> {
        let office = self.may_export(caller, q.office)?;
        htcds(
            &self.engine,
            &self.offices,
            &caller.sub,
            &ExportRange {
                office,
                from: q.from,
                to: q.to,
            },
        )
        .await
    }

    /// The CTDC export for the caller.
    ///
    /// # Errors
    /// As [`Self::export_htcds`]; a year outside 1900..=9999 (400).
    pub async fn export_ctdc(
        &self,
        caller: &Caller,
        office: Option<String>,
        from_year: i32,
        to_year: i32,
    ) -> Result<CtdcExport, Error> {
        let office = self.may_export(caller, office)?;
        ctdc(
            &self.engine,
            &self.offices,
            &caller.sub,
            &office,
            from_year,
            to_year,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(year: i32, sex: Sex, age: i32, citizenship: &str, country: &str) -> CtdcPerson {
        CtdcPerson {
            year,
            sex,
            age,
            citizenship: Some(citizenship.to_string()),
            country: Some(country.to_string()),
            forms: vec![ExploitationForm::Labour],
            referral: Some(ReferralSource::Police),
        }
    }

    #[test]
    fn a_group_of_k_is_published_as_it_is_and_a_smaller_one_generalised_or_suppressed() {
        let mut people = vec![person(2024, Sex::Female, 25, "UA", "PL"); 11];
        // Ten more in the same wide band and region, but another exact age and country: together
        // with nobody else they reach k only once the country becomes its region and the
        // age its wide band.
        people.extend(vec![person(2024, Sex::Female, 28, "UA", "CZ"); 10]);
        people.push(person(2024, Sex::Female, 22, "UA", "SK"));
        // One man alone in his year: suppressed.
        people.push(person(2024, Sex::Male, 40, "MD", "UA"));
        let (rows, report) = k_anonymise(&people, 11);
        assert_eq!(report.persons, 23);
        assert_eq!(report.by_level[0], 11);
        assert_eq!(report.by_level[4], 11);
        assert_eq!(report.generalised, 11);
        assert_eq!(report.suppressed, 1);
        assert_eq!(rows.len(), 22);
        let mut counts: BTreeMap<&CtdcRow, usize> = BTreeMap::new();
        for r in &rows {
            *counts.entry(r).or_default() += 1;
        }
        assert!(counts.values().all(|n| *n >= 11), "{counts:?}");
        assert!(rows
            .iter()
            .any(|r| r.age == "24-26" && r.country_of_exploitation == "POL"));
        assert!(rows
            .iter()
            .any(|r| r.age == "18-29" && r.country_of_exploitation == "Eastern Europe"));
        assert!(rows.iter().all(|r| r.gender == "Woman"));
    }

    #[test]
    fn the_pseudonym_depends_on_the_export_key() {
        let id = Uuid::new_v4();
        let a = PseudonymKey::random();
        let b = PseudonymKey::random();
        assert_eq!(a.pseudonym(id), a.pseudonym(id));
        assert_ne!(a.pseudonym(id), b.pseudonym(id));
        assert_eq!(a.pseudonym(id).len(), 32);
        assert!(!a.pseudonym(id).contains(&id.simple().to_string()));
    }

    #[test]
    fn every_form_and_need_has_its_documented_value() {
        assert_eq!(
            htcds_exploitation(ExploitationForm::Labour, true),
            "ChildLabour"
        );
        assert_eq!(
            htcds_exploitation(ExploitationForm::Labour, false),
            "ForcedLabour"
        );
        assert_eq!(htcds_support(Need::Other), None);
        assert_eq!(htcds_referring_org(ReferralSource::SelfReferral), None);
        assert_eq!(
            referral_group(Some(ReferralSource::Hotline)),
            "civil_society"
        );
        assert_eq!(age_band(17), "9-17");
        assert_eq!(wide_age_band(48), "48+");
    }
}
