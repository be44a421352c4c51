//! The case view (`api.md`, "Case view"): what clients see of a case's state. Every part is a
//! serde type built from the domain's state, so the OpenAPI document describes what is sent.

use chrono::NaiveDate;
use ptl_domain::deadlines::{deadlines, DeadlineState};
use ptl_domain::types::Need;
use ptl_domain::{allowed_actions_for, CaseState, Role};
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

/// A referral to a centre of social services.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Referral {
    /// The centre.
    pub centre: String,
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
    /// Responsible institution.
    pub provider: String,
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
            provider: s.provider.clone(),
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
    /// Provider.
    pub provider: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day, once known.
    pub to: Option<NaiveDate>,
}

impl From<&ptl_domain::state::DeliveredService> for DeliveredService {
    fn from(s: &ptl_domain::state::DeliveredService) -> Self {
        Self {
            service: s.service,
            provider: s.provider.clone(),
            from: s.from,
            to: s.to,
        }
    }
}

/// A shelter stay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShelterStay {
    /// The shelter (institution).
    pub shelter: String,
    /// Placement date.
    pub since: NaiveDate,
    /// End of the current period.
    pub until: NaiveDate,
    /// Number of extensions.
    pub extensions: u32,
}

impl From<&ptl_domain::state::ShelterStay> for ShelterStay {
    fn from(s: &ptl_domain::state::ShelterStay) -> Self {
        Self {
            shelter: s.shelter.clone(),
            since: s.since,
            until: s.until,
            extensions: s.extensions,
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
                centre: centre.clone(),
                on: *on,
            }),
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

    use super::Assistance;

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
            referred_to: Some(("CSS Cherkasy".into(), day(1))),
            needs_assessment: Some((vec![Need::Shelter, Need::Medical], day(2))),
            plan: Some((
                vec![DomainPlanned {
                    service: Need::Shelter,
                    provider: "Shelter 1".into(),
                    from: Some(day(3)),
                    to: None,
                }],
                day(3),
            )),
            services: vec![DomainDelivered {
                service: Need::Medical,
                provider: "Clinic".into(),
                from: day(4),
                to: None,
            }],
            shelter: Some(DomainShelter {
                shelter: "Shelter 1".into(),
                since: day(5),
                until: day(20),
                extensions: 1,
            }),
            payment_requested_on: Some(day(6)),
            payment: Some((150_000, day(7))),
        };
        assert_eq!(
            serde_json::to_value(Assistance::from(&full)).unwrap_or_default(),
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
