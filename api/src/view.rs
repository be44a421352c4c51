//! The case view (`api.md`, "Case view"): what clients see of a case's state. Every part is a
//! serde type built from the domain's state, so the OpenAPI document describes what is sent.

use std::collections::HashMap;

use chrono::NaiveDate;
use ptl_domain::deadlines::{deadlines, DeadlineState};
use ptl_domain::types::Need;
use ptl_domain::{allowed_actions_for, CaseState, RecordRef, Role};
use serde::Serialize;
use uuid::Uuid;

/// One deadline in the case view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadlineItem {
    /// Name (`interview`, `verification_reply:vr-1`, ...).
    pub name: String,
    /// Start date.
    pub start: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// `open`, `met`, `missed`, `suspended`, `cancelled`.
    #[schema(value_type = crate::schema::domain::DeadlineState)]
    pub state: DeadlineState,
    /// Days from today to the due date.
    pub days_left: i64,
    /// Open and due within the configured number of days.
    pub upcoming: bool,
    /// Open and past its due date.
    pub overdue: bool,
    /// The confidence mark of the rule that set it (`law` or `default`, `procedure.md`), from
    /// the case's own definition.
    #[schema(value_type = Option<crate::schema::domain::Mark>)]
    pub mark: Option<ptl_domain::procedure::Mark>,
}

/// One verification request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerificationItem {
    /// Request id.
    pub request_id: String,
    /// Addressee.
    #[schema(value_type = crate::schema::domain::VerificationTarget)]
    pub to: ptl_domain::types::VerificationTarget,
    /// Date sent.
    pub sent_on: NaiveDate,
    /// The reply, if any.
    #[schema(value_type = Option<crate::schema::domain::ReplyOutcome>)]
    pub reply: Option<ptl_domain::types::ReplyOutcome>,
    /// Reply deadline.
    pub due_on: NaiveDate,
}

/// A correction of an earlier entry (`procedure.md`, "Counting days": corrected, never erased).
/// A corrected business date is not personal data and is always shown with the date it
/// replaced; the new value and the reason are free text, stored with the personal data, and
/// appear only with `?include=person` (that read is logged).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrectionItem {
    /// Sequence of the correction.
    pub sequence: u64,
    /// Sequence of the entry it supersedes.
    pub supersedes: u64,
    /// The field corrected.
    pub field: String,
    /// Business date of the correction.
    pub on: Option<NaiveDate>,
    /// The business date before the correction (when a business date was corrected).
    pub original_on: Option<NaiveDate>,
    /// The corrected business date.
    pub corrected_on: Option<NaiveDate>,
    /// The new value, only with `?include=person`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
    /// The reason, only with `?include=person`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Names typed by caseworkers (centres, providers, shelters) read from the vault, by record: the
/// view shows them only with the personal data (`?include=person`).
pub type Names = HashMap<RecordRef, serde_json::Value>;

fn name_of(record: Option<&RecordRef>, names: &Names) -> Option<String> {
    record
        .and_then(|r| names.get(r))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A referral to a centre of social services.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Referral {
    /// The centre: personal data, only with `?include=person`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub centre: Option<String>,
    #[serde(skip)]
    centre_record: Option<RecordRef>,
    /// Referral date.
    pub on: NaiveDate,
}

/// The needs assessment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NeedsAssessment {
    /// Needs found.
    #[schema(value_type = Vec<crate::schema::domain::Need>)]
    pub needs: Vec<Need>,
    /// Assessment date.
    pub on: NaiveDate,
}

/// One service of a rehabilitation plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlannedService {
    /// The need it meets.
    #[schema(value_type = crate::schema::domain::Need)]
    pub service: Need,
    /// Responsible institution: personal data, only with `?include=person`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip)]
    provider_record: Option<RecordRef>,
    /// Planned start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Planned end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

impl From<&ptl_domain::event::PlannedService> for PlannedService {
    fn from(s: &ptl_domain::event::PlannedService) -> Self {
        Self {
            service: s.service,
            provider: None,
            provider_record: s.provider.clone(),
            from: s.from,
            to: s.to,
        }
    }
}

/// The approved rehabilitation plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RehabilitationPlan {
    /// Planned services.
    pub services: Vec<PlannedService>,
    /// Approval date.
    pub on: NaiveDate,
}

/// A service delivered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveredService {
    /// The need it met.
    #[schema(value_type = crate::schema::domain::Need)]
    pub service: Need,
    /// Provider: personal data, only with `?include=person`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip)]
    provider_record: Option<RecordRef>,
    /// First day.
    pub from: NaiveDate,
    /// Last day, once known.
    pub to: Option<NaiveDate>,
}

impl From<&ptl_domain::state::DeliveredService> for DeliveredService {
    fn from(s: &ptl_domain::state::DeliveredService) -> Self {
        Self {
            service: s.service,
            provider: None,
            provider_record: s.provider.clone(),
            from: s.from,
            to: s.to,
        }
    }
}

/// A shelter stay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShelterStay {
    /// The shelter (institution): personal data (it locates the person), only with
    /// `?include=person`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shelter: Option<String>,
    #[serde(skip)]
    shelter_record: Option<RecordRef>,
    /// Placement date.
    pub since: NaiveDate,
    /// End of the current period.
    pub until: NaiveDate,
    /// Number of extensions.
    pub extensions: u32,
    /// The date the stay ended (absent while the person is in the shelter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<NaiveDate>,
}

impl From<&ptl_domain::state::ShelterStay> for ShelterStay {
    fn from(s: &ptl_domain::state::ShelterStay) -> Self {
        Self {
            shelter: None,
            shelter_record: s.shelter.clone(),
            since: s.since,
            until: s.until,
            extensions: s.extensions,
            ended_on: s.ended_on,
        }
    }
}

/// The payment of assistance.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    /// Application date.
    pub requested_on: Option<NaiveDate>,
    /// Payment date.
    pub paid_on: Option<NaiveDate>,
    /// Amount paid, in kopiyky.
    pub amount_kopiyky: Option<u64>,
}

/// The assistance track of a case.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assistance {
    /// The needs assessment, once recorded.
    pub needs_assessment: Option<NeedsAssessment>,
    /// The rehabilitation plan, once approved.
    pub plan: Option<RehabilitationPlan>,
    /// Services delivered.
    pub services: Vec<DeliveredService>,
    /// Current or last shelter stay.
    pub shelter: Option<ShelterStay>,
    /// Payment.
    pub payment: Payment,
    /// Referral to social services.
    pub referred_to: Option<Referral>,
}

impl From<&ptl_domain::state::Assistance> for Assistance {
    fn from(a: &ptl_domain::state::Assistance) -> Self {
        Self {
            needs_assessment: a
                .needs_assessment
                .as_ref()
                .map(|(needs, on)| NeedsAssessment {
                    needs: needs.clone(),
                    on: *on,
                }),
            plan: a.plan.as_ref().map(|(services, on)| RehabilitationPlan {
                services: services.iter().map(PlannedService::from).collect(),
                on: *on,
            }),
            services: a.services.iter().map(DeliveredService::from).collect(),
            shelter: a.shelter.as_ref().map(ShelterStay::from),
            payment: Payment {
                requested_on: a.payment_requested_on,
                paid_on: a.payment.as_ref().map(|p| p.1),
                amount_kopiyky: a.payment.as_ref().map(|p| p.0),
            },
            referred_to: a.referred_to.as_ref().map(|(centre, on)| Referral {
                centre: None,
                centre_record: centre.clone(),
                on: *on,
            }),
        }
    }
}

impl Assistance {
    /// The vault records of the names this view leaves out without `?include=person`.
    #[must_use]
    pub fn name_records(&self) -> Vec<RecordRef> {
        let plan = self.plan.iter().flat_map(|p| &p.services);
        self.referred_to
            .iter()
            .filter_map(|r| r.centre_record.clone())
            .chain(plan.filter_map(|s| s.provider_record.clone()))
            .chain(
                self.services
                    .iter()
                    .filter_map(|s| s.provider_record.clone()),
            )
            .chain(self.shelter.iter().filter_map(|s| s.shelter_record.clone()))
            .collect()
    }

    /// Fills in the names read from the vault (with the personal data).
    pub fn show_names(&mut self, names: &Names) {
        if let Some(r) = self.referred_to.as_mut() {
            r.centre = name_of(r.centre_record.as_ref(), names);
        }
        for s in self.plan.iter_mut().flat_map(|p| p.services.iter_mut()) {
            s.provider = name_of(s.provider_record.as_ref(), names);
        }
        for s in &mut self.services {
            s.provider = name_of(s.provider_record.as_ref(), names);
        }
        if let Some(s) = self.shelter.as_mut() {
            s.shelter = name_of(s.shelter_record.as_ref(), names);
        }
    }
}

/// The case as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    /// Case id.
    pub id: Uuid,
    /// Register number.
    pub register_no: String,
    /// Responsible office.
    pub office: String,
    /// Governing procedure definition.
    pub procedure: String,
    /// Stage.
    #[schema(value_type = crate::schema::domain::Stage)]
    pub stage: ptl_domain::Stage,
    /// Status.
    #[schema(value_type = crate::schema::domain::Status)]
    pub status: ptl_domain::Status,
    /// Child at registration.
    pub child: bool,
    /// Receipt date.
    pub received_on: NaiveDate,
    /// Assistance track.
    pub assistance: Assistance,
    /// Verification requests.
    pub verification_requests: Vec<VerificationItem>,
    /// Deadlines.
    pub deadlines: Vec<DeadlineItem>,
    /// Corrections of earlier entries, in order.
    pub corrections: Vec<CorrectionItem>,
    /// What this caller may do now.
    #[schema(value_type = Vec<crate::schema::domain::ClientAction>)]
    pub allowed_actions: Vec<String>,
    /// Assigned official.
    pub assignee: Option<String>,
    /// Authority holding the file.
    pub submitted_to: Option<String>,
    /// Certificate number on a grant.
    pub certificate_no: Option<String>,
    /// Validity end of a limited status.
    pub valid_until: Option<NaiveDate>,
    /// Personal data was erased.
    pub personal_data_erased: bool,
    /// Number of events.
    pub version: u64,
    /// Personal data, only with `?include=person` for roles that may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::models::PersonData>)]
    pub person: Option<serde_json::Value>,
}

/// Builds the view of `state` for a caller, as seen on `today`.
#[must_use]
pub fn case_view(
    id: Uuid,
    state: &CaseState,
    version: u64,
    role: Role,
    office: &str,
    today: NaiveDate,
    upcoming_days: i64,
) -> CaseView {
    let reg = state.registration.as_ref();
    CaseView {
        id,
        register_no: reg.map(|r| r.register_no.clone()).unwrap_or_default(),
        office: state.office().to_string(),
        procedure: reg.map(|r| r.procedure.id.clone()).unwrap_or_default(),
        stage: state.stage(),
        status: state.status(),
        child: state.is_child(),
        received_on: reg.map_or(today, |r| r.received_on),
        assistance: Assistance::from(&state.assistance),
        verification_requests: state
            .verification_requests
            .iter()
            .map(|r| VerificationItem {
                request_id: r.request_id.clone(),
                to: r.to,
                sent_on: r.sent_on,
                reply: r.reply,
                due_on: r.due_on,
            })
            .collect(),
        deadlines: deadlines(state, today)
            .into_iter()
            .map(|d| {
                let open = d.state == DeadlineState::Open;
                DeadlineItem {
                    mark: state
                        .procedure()
                        .and_then(|p| p.rule(d.kind))
                        .map(|r| r.mark),
                    upcoming: open && d.days_left >= 0 && d.days_left <= upcoming_days,
                    overdue: d.state == DeadlineState::Missed && d.fulfilled_on.is_none(),
                    name: d.name.into(),
                    start: d.start,
                    due_on: d.due_on,
                    state: d.state,
                    days_left: d.days_left,
                }
            })
            .collect(),
        corrections: state
            .corrections
            .iter()
            .map(|c| CorrectionItem {
                sequence: c.sequence,
                supersedes: c.supersedes,
                field: c.field.clone(),
                on: c.on,
                original_on: c.original_on,
                corrected_on: c.corrected_on,
                value: None,
                reason: None,
            })
            .collect(),
        allowed_actions: allowed_actions_for(state, role, Some(office))
            .into_iter()
            .map(|a| a.as_str().to_string())
            .collect(),
        assignee: state.assignee.clone(),
        submitted_to: state.submitted_to.clone(),
        certificate_no: state
            .decision
            .as_ref()
            .and_then(|d| d.certificate_no.clone()),
        valid_until: state.valid_until,
        personal_data_erased: state.erased,
        version,
        person: None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use ptl_domain::event::PlannedService as DomainPlanned;
    use ptl_domain::state::ShelterStay as DomainShelter;
    use ptl_domain::state::{Assistance as DomainAssistance, DeliveredService as DomainDelivered};
    use ptl_domain::types::Need;
    use ptl_domain::RecordRef;

    use super::{Assistance, Names};

    fn r(s: &str) -> Option<RecordRef> {
        Some(RecordRef(s.into()))
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default()
    }

    #[test]
    fn the_assistance_track_is_sent_with_the_fields_clients_read() {
        let empty = serde_json::to_value(Assistance::from(&DomainAssistance::default()))
            .unwrap_or_default();
        assert_eq!(
            empty,
            serde_json::json!({
                "needs_assessment": null, "plan": null, "services": [], "shelter": null,
                "payment": {"requested_on": null, "paid_on": null, "amount_kopiyky": null},
                "referred_to": null,
            })
        );

        let full = DomainAssistance {
            referred_to: Some((r("r-css"), day(1))),
            needs_assessment: Some((vec![Need::Shelter, Need::Medical], day(2))),
            plan: Some((
                vec![DomainPlanned {
                    service: Need::Shelter,
                    provider: r("r-plan"),
                    from: Some(day(3)),
                    to: None,
                }],
                day(3),
            )),
            services: vec![DomainDelivered {
                service: Need::Medical,
                provider: r("r-clinic"),
                from: day(4),
                to: None,
            }],
            shelter: Some(DomainShelter {
                shelter: r("r-shelter"),
                since: day(5),
                until: day(20),
                extensions: 1,
                ended_on: None,
            }),
            payment_requested_on: Some(day(6)),
            payment: Some((150_000, day(7))),
        };
        // Without the personal data: no names, not even the references.
        let without = serde_json::to_value(Assistance::from(&full)).unwrap_or_default();
        assert!(!without.to_string().contains("r-"), "{without}");
        assert!(without["shelter"].get("shelter").is_none());
        assert!(without["referred_to"].get("centre").is_none());
        let mut shown = Assistance::from(&full);
        let names: Names = [
            ("r-css", "CSS Cherkasy"),
            ("r-plan", "Shelter 1"),
            ("r-clinic", "Clinic"),
            ("r-shelter", "Shelter 1"),
        ]
        .into_iter()
        .map(|(k, v)| (RecordRef(k.into()), serde_json::json!(v)))
        .collect();
        assert_eq!(shown.name_records().len(), 4);
        shown.show_names(&names);
        assert_eq!(
            serde_json::to_value(shown).unwrap_or_default(),
            serde_json::json!({
                "needs_assessment": {"needs": ["shelter", "medical"], "on": "2026-03-02"},
                "plan": {
                    "services": [{"service": "shelter", "provider": "Shelter 1", "from": "2026-03-03"}],
                    "on": "2026-03-03",
                },
                "services": [
                    {"service": "medical", "provider": "Clinic", "from": "2026-03-04", "to": null},
                ],
                "shelter": {
                    "shelter": "Shelter 1", "since": "2026-03-05", "until": "2026-03-20",
                    "extensions": 1,
                },
                "payment": {
                    "requested_on": "2026-03-06", "paid_on": "2026-03-07",
                    "amount_kopiyky": 150_000,
                },
                "referred_to": {"centre": "CSS Cherkasy", "on": "2026-03-01"},
            })
        );
    }
}
