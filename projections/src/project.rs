//! The projection of events into the read models, shared by live writes ([`ReadModels`]) and
//! rebuilds, so a rebuilt table is the live table by construction.
//!
//! The rows of a case are rewritten from its state AFTER the last event applied (which the engine
//! passes in; a command's events or a rebuild's batch of them): the projection never reads its own tables to compute a row, so the order in which
//! a rebuild and the live engine reach a row does not matter; the `last_sequence` guard in every
//! upsert keeps the newest. Milestones are keyed by `(case_id, sequence, kind)` and inserted with
//! `ON CONFLICT DO NOTHING`, which is the same guard for append-only rows.

use ptl_domain::state::DeadlineRecord;
use ptl_domain::types::{Citizenship, RulingOutcome};
use ptl_domain::{CaseEvent, CaseState, EventBody};
use ptl_engine::db::{Batch, Value};
use ptl_engine::pipeline::{Projected, Projector};
use uuid::Uuid;

use crate::sql::{date_text, to_i64};

/// Which read models to write (all for live writes; a subset for a partial rebuild).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Models {
    /// `work_queue`.
    pub work_queue: bool,
    /// `deadlines`.
    pub deadlines: bool,
    /// `case_facts` and `case_milestones`.
    pub statistics: bool,
    /// `application_register` and `certificate_register` (Order 366's registers).
    pub registers: bool,
}

impl Models {
    /// Every read model.
    pub const ALL: Models = Models {
        work_queue: true,
        deadlines: true,
        statistics: true,
        registers: true,
    };

    /// Parses a rebuild selection: `None` (all), `work_queue`, `deadlines`, `statistics` or
    /// `registers`.
    ///
    /// # Errors
    /// [`crate::ProjectionError::UnknownModel`] for any other name.
    pub fn parse(only: Option<&str>) -> Result<Models, crate::ProjectionError> {
        let none = Models {
            work_queue: false,
            deadlines: false,
            statistics: false,
            registers: false,
        };
        match only {
            None => Ok(Models::ALL),
            Some("work_queue") => Ok(Models {
                work_queue: true,
                ..none
            }),
            Some("deadlines") => Ok(Models {
                deadlines: true,
                ..none
            }),
            Some("statistics") => Ok(Models {
                statistics: true,
                ..none
            }),
            Some("registers") => Ok(Models {
                registers: true,
                ..none
            }),
            Some(other) => Err(crate::ProjectionError::UnknownModel(
                other.chars().take(64).collect(),
            )),
        }
    }
}

/// The engine's transactional projector: writes every read model with each command.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadModels;

impl Projector for ReadModels {
    /// The rows that follow from the case's state once, from the state after the command's last
    /// event (as a rebuild does per batch); the milestones and webhooks of every event.
    fn project(&self, batch: &mut Batch, case_id: Uuid, events: &[Projected<'_>]) {
        let Some(last) = events.last() else {
            return;
        };
        let touched = events
            .iter()
            .filter(|e| touches_deadlines(&e.event.body))
            .map(|e| e.sequence)
            .max();
        apply_case_rows(
            batch,
            Models::ALL,
            case_id,
            last.sequence,
            last.event.recorded_at,
            touched,
            last.state,
        );
        for e in events {
            apply_milestone(batch, Models::ALL, case_id, e.sequence, e.event, e.state);
            crate::registers::apply_certificate_event(
                batch,
                Models::ALL,
                case_id,
                e.sequence,
                e.event,
                e.state,
                true,
            );
            // Live writes only: a rebuild must not notify anybody again.
            enqueue_webhook(batch, case_id, e.sequence, e.event, e.state);
        }
    }
}

/// Milestone kinds (the statistics' flow figures count these rows). Persistent: stored in
/// `case_milestones.kind`.
pub mod milestone {
    /// Application registered (on the receipt date).
    pub const APPLICATION: &str = "application";
    /// Interview held (a lawful skip is not an interview).
    pub const INTERVIEW: &str = "interview";
    /// File submitted to the deciding authority.
    pub const FILE_SUBMITTED: &str = "file_submitted";
    /// File returned as incomplete.
    pub const FILE_RETURNED: &str = "file_returned";
    /// Status granted (by the authority, or by a court establishing it in a ruling recorded before
    /// rulings sent the file to an authority).
    pub const GRANTED: &str = "granted";
    /// Status refused.
    pub const REFUSED: &str = "refused";
    /// A granted decision (certificate) handed over to the person.
    pub const CERTIFICATE_HANDED_OVER: &str = "certificate_handed_over";
    /// Needs assessed.
    pub const NEEDS_ASSESSMENT: &str = "needs_assessment";
    /// Rehabilitation plan approved.
    pub const REHABILITATION_PLAN: &str = "rehabilitation_plan";
    /// Placed in a shelter (extensions are not new placements).
    pub const SHELTER_PLACEMENT: &str = "shelter_placement";
    /// One-time payment recorded.
    pub const PAYMENT: &str = "payment";
    /// A missed deadline recorded by the engine.
    pub const DEADLINE_MISSED: &str = "deadline_missed";
    /// The case closed (withdrawal or expiry): dates the end of a case for past stock figures.
    /// Not a report figure. Kept as a milestone, not a fact column, because the closing date is
    /// not in the state: an append-only row survives any order of live writes and rebuilds.
    pub const CLOSED: &str = "closed";
}

/// The milestone an event is, if any.
fn milestone_of(event: &CaseEvent, state: &CaseState) -> Option<&'static str> {
    use milestone as m;
    Some(match &event.body {
        EventBody::ApplicationRegistered { .. } => m::APPLICATION,
        EventBody::InterviewRecorded { .. } => m::INTERVIEW,
        EventBody::FileSubmitted { .. } => m::FILE_SUBMITTED,
        EventBody::FileReturned { .. } => m::FILE_RETURNED,
        EventBody::StatusGranted { .. } => m::GRANTED,
        EventBody::StatusRefused { .. } => m::REFUSED,
        // A ruling recorded before rulings sent the file to an authority established the status
        // itself; a later one sends the file on, and the authority's grant is the milestone.
        EventBody::CourtRulingRecorded {
            outcome: RulingOutcome::AnnulledStatusEstablished,
            authority: None,
            ..
        } => m::GRANTED,
        EventBody::DecisionHandedOver {} if state.decision.as_ref().is_some_and(|d| d.granted) => {
            m::CERTIFICATE_HANDED_OVER
        }
        EventBody::NeedsAssessed { .. } => m::NEEDS_ASSESSMENT,
        EventBody::RehabilitationPlanApproved { .. } => m::REHABILITATION_PLAN,
        EventBody::PlacedInShelter { .. } => m::SHELTER_PLACEMENT,
        EventBody::PaymentRecorded { .. } => m::PAYMENT,
        EventBody::DeadlineMissed { .. } => m::DEADLINE_MISSED,
        EventBody::ApplicationWithdrawn { .. } | EventBody::StatusExpired { .. } => m::CLOSED,
        _ => return None,
    })
}

/// Whether an event can change a deadline record or the office deadlines carry. Events that
/// cannot are skipped for the `deadlines` table (a case has up to a dozen deadline rows).
pub(crate) fn touches_deadlines(body: &EventBody) -> bool {
    !matches!(
        body,
        EventBody::ConsentGiven { .. }
            | EventBody::ConsentWithdrawn { .. }
            | EventBody::DocumentAttached { .. }
            | EventBody::DecisionHandedOver {}
            | EventBody::AppealFiled { .. }
            | EventBody::StatusExtended { .. }
            | EventBody::ServiceRecorded { .. }
            | EventBody::Assigned { .. }
            | EventBody::NoteAdded { .. }
            // A corrected business date recomputes deadlines; other corrections do not.
            | EventBody::EntryCorrected {
                corrected_on: None,
                ..
            }
            | EventBody::IdentityDocumentAbsenceExplained { .. }
            | EventBody::PersonalDataErased { .. }
    )
}

/// Still running: neither fulfilled nor cancelled (a recorded miss keeps it running until the
/// obligation is fulfilled late).
pub(crate) fn is_open(d: &DeadlineRecord) -> bool {
    d.fulfilled_on.is_none() && d.cancelled_on.is_none()
}

/// The business date of the earliest recorded miss among the deadlines still running (the
/// escalation clock of the work queue); `None` when no running deadline has a recorded miss.
pub(crate) fn first_missed_on(state: &CaseState) -> Option<chrono::NaiveDate> {
    state
        .deadlines
        .values()
        .filter(|d| is_open(d) && d.missed_recorded)
        .filter_map(|d| d.missed_on)
        .min()
}

/// Escalation level of a webhook row written when a miss is recorded (the supervisor of the
/// office; the regional level is derived later, at query time).
pub const WEBHOOK_LEVEL_SUPERVISOR: i64 = 1;

/// Adds the webhook outbox row of a `deadline_missed` event (same transaction as the event).
/// Keyed by (case, sequence), so applying the event twice writes one row.
pub fn enqueue_webhook(
    batch: &mut Batch,
    case_id: Uuid,
    sequence: u64,
    event: &CaseEvent,
    state: &CaseState,
) {
    let EventBody::DeadlineMissed { name, due_on, .. } = &event.body else {
        return;
    };
    let at = event.recorded_at.timestamp_micros();
    batch.push(
        "INSERT INTO webhook_outbox (case_id, sequence, deadline, due_on, missed_on, office, level, \
         created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) \
         ON CONFLICT (case_id, sequence) DO NOTHING",
        vec![
            case_id.to_string().into(),
            to_i64(sequence).into(),
            name.as_str().into(),
            date_text(*due_on).into(),
            date_text(event.occurred_on).into(),
            state.office().into(),
            WEBHOOK_LEVEL_SUPERVISOR.into(),
            at.into(),
            at.into(),
        ],
    );
}

/// `,A,B,` for LIKE matching of one authority.
fn authority_list(state: &CaseState) -> String {
    if state.ever_submitted_to.is_empty() {
        ",".to_string()
    } else {
        format!(",{},", state.ever_submitted_to.join(","))
    }
}

/// The dated milestone an event adds to the statistics, if any (append-only rows).
pub(crate) fn apply_milestone(
    batch: &mut Batch,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    event: &CaseEvent,
    state: &CaseState,
) {
    if !models.statistics || state.registration.is_none() {
        return;
    }
    // A corrected business date moves the milestone of the entry it corrects (the statistics
    // count facts on their business date).
    if let EventBody::EntryCorrected {
        supersedes,
        corrected_on: Some(to),
        ..
    } = &event.body
    {
        batch.push(
            "UPDATE case_milestones SET on_date = $1 WHERE case_id = $2 AND sequence = $3",
            vec![
                date_text(*to).into(),
                case_id.to_string().into(),
                to_i64(*supersedes).into(),
            ],
        );
    }
    if let Some(kind) = milestone_of(event, state) {
        batch.push(
            "INSERT INTO case_milestones (case_id, sequence, kind, on_date, office) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, sequence, kind) DO NOTHING",
            vec![
                case_id.to_string().into(),
                to_i64(sequence).into(),
                kind.into(),
                date_text(event.occurred_on).into(),
                state.office().into(),
            ],
        );
    }
}

/// Adds the rows that follow from a case's state (work queue, deadlines when
/// `deadlines_touched_at` names the last event that changed them, case facts). Live projection
/// calls it once per command, a rebuild once per case per batch, each with the state after the
/// last event.
pub(crate) fn apply_case_rows(
    batch: &mut Batch,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    recorded_at: chrono::DateTime<chrono::Utc>,
    deadlines_touched_at: Option<u64>,
    state: &CaseState,
) {
    // Nothing to show before the registration (the engine never emits anything before it).
    let Some(reg) = state.registration.as_ref() else {
        return;
    };
    let id = case_id.to_string();
    let seq = to_i64(sequence);
    let foreigner = reg.applicant.citizenship != Citizenship::Ukrainian;
    let ever = authority_list(state);

    if models.work_queue {
        let open: Vec<&DeadlineRecord> = state.deadlines.values().filter(|d| is_open(d)).collect();
        let next_due = open.iter().map(|d| d.due_on).min().map(date_text);
        let missed = state
            .deadlines
            .values()
            .filter(|d| d.missed_recorded)
            .count();
        let first_missed_on = first_missed_on(state).map(date_text);
        batch.push(
            "INSERT INTO work_queue (case_id, register_no, office, stage, status, assignee, procedure_id, \
             received_on, child, foreigner, submitted_to, ever_submitted_to, next_due_on, open_deadlines, \
             missed_recorded, last_sequence, updated_at, first_missed_on, valid_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (case_id) DO UPDATE SET register_no = excluded.register_no, office = excluded.office, \
             stage = excluded.stage, status = excluded.status, assignee = excluded.assignee, \
             procedure_id = excluded.procedure_id, received_on = excluded.received_on, child = excluded.child, \
             foreigner = excluded.foreigner, submitted_to = excluded.submitted_to, \
             ever_submitted_to = excluded.ever_submitted_to, next_due_on = excluded.next_due_on, \
             open_deadlines = excluded.open_deadlines, missed_recorded = excluded.missed_recorded, \
             last_sequence = excluded.last_sequence, updated_at = excluded.updated_at, \
             first_missed_on = excluded.first_missed_on, valid_until = excluded.valid_until \
             WHERE work_queue.last_sequence < excluded.last_sequence",
            vec![
                id.clone().into(),
                reg.register_no.clone().into(),
                state.office().into(),
                state.stage().as_str().into(),
                state.status().as_str().into(),
                state.assignee.clone().into(),
                reg.procedure.id.clone().into(),
                date_text(reg.received_on).into(),
                reg.applicant.child.into(),
                foreigner.into(),
                state.submitted_to.clone().into(),
                ever.clone().into(),
                next_due.into(),
                to_i64(open.len() as u64).into(),
                to_i64(missed as u64).into(),
                seq.into(),
                recorded_at.timestamp_micros().into(),
                first_missed_on.into(),
                state.valid_until.map(date_text).into(),
            ],
        );
    }

    crate::registers::apply_application_row(batch, models, case_id, sequence, state);

    if let (true, Some(touched)) = (models.deadlines, deadlines_touched_at) {
        upsert_deadlines(batch, &id, state, to_i64(touched));
    }

    if models.statistics {
        let decided_days = state
            .first_decided_on
            .map(|d| (d - reg.received_on).num_days());
        let forms: Vec<&str> = reg.exploitation_forms.iter().map(|f| f.as_str()).collect();
        batch.push(
            "INSERT INTO case_facts (case_id, office, received_on, child, foreigner, citizenship, sex, \
             birth_year, filed_by, referral_source, exploitation_forms, exploitation_country, procedure_id, \
             ever_submitted_to, first_decided_on, decided_days, last_sequence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (case_id) DO UPDATE SET office = excluded.office, received_on = excluded.received_on, \
             child = excluded.child, foreigner = excluded.foreigner, citizenship = excluded.citizenship, \
             sex = excluded.sex, birth_year = excluded.birth_year, filed_by = excluded.filed_by, \
             referral_source = excluded.referral_source, exploitation_forms = excluded.exploitation_forms, \
             exploitation_country = excluded.exploitation_country, procedure_id = excluded.procedure_id, \
             ever_submitted_to = excluded.ever_submitted_to, first_decided_on = excluded.first_decided_on, \
             decided_days = excluded.decided_days, \
             last_sequence = excluded.last_sequence \
             WHERE case_facts.last_sequence < excluded.last_sequence",
            vec![
                id.into(),
                state.office().into(),
                date_text(reg.received_on).into(),
                reg.applicant.child.into(),
                foreigner.into(),
                reg.applicant.citizenship.as_str().into(),
                reg.applicant.sex.as_str().into(),
                i64::from(reg.applicant.birth_year).into(),
                reg.filed_by.as_str().into(),
                reg.referral
                    .as_ref()
                    .map(|r| r.source.as_str().to_string())
                    .into(),
                forms.join(",").into(),
                reg.exploitation_country.clone().into(),
                reg.procedure.id.clone().into(),
                ever.into(),
                state.first_decided_on.map(date_text).into(),
                decided_days.into(),
                seq.into(),
            ],
        );
    }
}

/// Adds every deadline of the case as ONE statement (a multi-row upsert).
fn upsert_deadlines(batch: &mut Batch, id: &str, state: &CaseState, seq: i64) {
    const COLUMNS: usize = 10;
    if state.deadlines.is_empty() {
        return;
    }
    let sql = format!(
        "INSERT INTO deadlines (case_id, name, kind, start_on, due_on, fulfilled_on, cancelled_on, \
         missed_recorded, office, last_sequence) VALUES {} \
         ON CONFLICT (case_id, name) DO UPDATE SET kind = excluded.kind, start_on = excluded.start_on, \
         due_on = excluded.due_on, fulfilled_on = excluded.fulfilled_on, \
         cancelled_on = excluded.cancelled_on, missed_recorded = excluded.missed_recorded, \
         office = excluded.office, last_sequence = excluded.last_sequence \
         WHERE deadlines.last_sequence < excluded.last_sequence",
        ptl_engine::db::values_placeholders(state.deadlines.len(), COLUMNS)
    );
    let mut args: Vec<Value> = Vec::with_capacity(state.deadlines.len() * COLUMNS);
    for d in state.deadlines.values() {
        args.extend([
            id.into(),
            d.name.as_str().into(),
            d.kind.as_str().into(),
            date_text(d.start).into(),
            date_text(d.due_on).into(),
            d.fulfilled_on.map(date_text).into(),
            d.cancelled_on.map(date_text).into(),
            d.missed_recorded.into(),
            state.office().into(),
            seq.into(),
        ]);
    }
    batch.push(sql, args);
}
