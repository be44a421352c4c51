//! The projection of one event into the read models, shared by live writes ([`ReadModels`]) and
//! rebuilds, so a rebuilt table is the live table by construction.
//!
//! Each event rewrites the rows of its case from the state AFTER the event (which the engine
//! passes in): the projection never reads its own tables to compute a row, so the order in which
//! a rebuild and the live engine reach a row does not matter; the `last_sequence` guard in every
//! upsert keeps the newest. Milestones are keyed by `(case_id, sequence, kind)` and inserted with
//! `ON CONFLICT DO NOTHING`, which is the same guard for append-only rows.

use async_trait::async_trait;
use ptl_domain::state::DeadlineRecord;
use ptl_domain::types::{Citizenship, RulingOutcome};
use ptl_domain::{CaseEvent, CaseState, EventBody};
use ptl_engine::db::Conn;
use ptl_engine::pipeline::Projector;
use ptl_engine::run;
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
}

impl Models {
    /// Every read model.
    pub const ALL: Models = Models {
        work_queue: true,
        deadlines: true,
        statistics: true,
    };

    /// Parses a rebuild selection: `None` (all), `work_queue`, `deadlines` or `statistics`.
    ///
    /// # Errors
    /// [`crate::ProjectionError::UnknownModel`] for any other name.
    pub fn parse(only: Option<&str>) -> Result<Models, crate::ProjectionError> {
        let none = Models {
            work_queue: false,
            deadlines: false,
            statistics: false,
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
            Some(other) => Err(crate::ProjectionError::UnknownModel(
                other.chars().take(64).collect(),
            )),
        }
    }
}

/// The engine's transactional projector: writes every read model with each event.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadModels;

#[async_trait]
impl Projector for ReadModels {
    async fn project(
        &self,
        conn: Conn<'_>,
        case_id: Uuid,
        sequence: u64,
        event: &CaseEvent,
        state: &CaseState,
    ) -> Result<(), sqlx::Error> {
        let mut conn = conn;
        apply(
            conn.reborrow(),
            Models::ALL,
            case_id,
            sequence,
            event,
            state,
        )
        .await?;
        // Live writes only: a rebuild must not notify anybody again.
        enqueue_webhook(conn, case_id, sequence, event, state).await
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
    /// Status granted (by the authority, or by a court establishing it).
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
        EventBody::CourtRulingRecorded {
            outcome: RulingOutcome::AnnulledStatusEstablished,
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
            | EventBody::EntryCorrected { .. }
            | EventBody::PersonalDataErased {}
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

/// Writes the webhook outbox row of a `deadline_missed` event (same transaction as the event).
/// Keyed by (case, sequence), so applying the event twice writes one row.
///
/// # Errors
/// The statement failed; the caller's transaction must be rolled back.
pub async fn enqueue_webhook(
    conn: Conn<'_>,
    case_id: Uuid,
    sequence: u64,
    event: &CaseEvent,
    state: &CaseState,
) -> Result<(), sqlx::Error> {
    let EventBody::DeadlineMissed { name, due_on, .. } = &event.body else {
        return Ok(());
    };
    let at = event.recorded_at.timestamp_micros();
    run!(
        conn,
        "INSERT INTO webhook_outbox (case_id, sequence, deadline, due_on, missed_on, office, level, \
         created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) \
         ON CONFLICT (case_id, sequence) DO NOTHING",
        case_id.to_string(),
        to_i64(sequence),
        name.clone(),
        date_text(*due_on),
        date_text(event.occurred_on),
        state.office.clone(),
        WEBHOOK_LEVEL_SUPERVISOR,
        at,
        at
    )?;
    Ok(())
}

/// `,A,B,` for LIKE matching of one authority.
fn authority_list(state: &CaseState) -> String {
    if state.ever_submitted_to.is_empty() {
        ",".to_string()
    } else {
        format!(",{},", state.ever_submitted_to.join(","))
    }
}

/// Applies one event to the selected read models. `state` is the case after the event.
///
/// # Errors
/// A statement failed; the caller's transaction must be rolled back.
pub async fn apply(
    mut conn: Conn<'_>,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    event: &CaseEvent,
    state: &CaseState,
) -> Result<(), sqlx::Error> {
    let touched = touches_deadlines(&event.body).then_some(sequence);
    apply_case_rows(
        conn.reborrow(),
        models,
        case_id,
        sequence,
        event.recorded_at,
        touched,
        state,
    )
    .await?;
    apply_milestone(conn, models, case_id, sequence, event, state).await
}

/// The dated milestone an event adds to the statistics, if any (append-only rows).
pub(crate) async fn apply_milestone(
    mut conn: Conn<'_>,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    event: &CaseEvent,
    state: &CaseState,
) -> Result<(), sqlx::Error> {
    if !models.statistics || state.registration.is_none() {
        return Ok(());
    }
    if let Some(kind) = milestone_of(event, state) {
        run!(
            conn.reborrow(),
            "INSERT INTO case_milestones (case_id, sequence, kind, on_date, office) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, sequence, kind) DO NOTHING",
            case_id.to_string(),
            to_i64(sequence),
            kind,
            date_text(event.occurred_on),
            state.office.clone()
        )?;
    }
    Ok(())
}

/// Writes the rows that follow from a case's state (work queue, deadlines when
/// `deadlines_touched_at` names the last event that changed them, case facts). Live projection
/// calls it for every event; a rebuild once per case per batch, with the state after the batch.
pub(crate) async fn apply_case_rows(
    mut conn: Conn<'_>,
    models: Models,
    case_id: Uuid,
    sequence: u64,
    recorded_at: chrono::DateTime<chrono::Utc>,
    deadlines_touched_at: Option<u64>,
    state: &CaseState,
) -> Result<(), sqlx::Error> {
    // Nothing to show before the registration (the engine never emits anything before it).
    let Some(reg) = state.registration.as_ref() else {
        return Ok(());
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
        run!(
            conn.reborrow(),
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
            id.clone(),
            reg.register_no.clone(),
            state.office.clone(),
            state.stage().as_str(),
            state.status().as_str(),
            state.assignee.clone(),
            reg.procedure.id.clone(),
            date_text(reg.received_on),
            reg.applicant.child,
            foreigner,
            state.submitted_to.clone(),
            ever.clone(),
            next_due,
            to_i64(open.len() as u64),
            to_i64(missed as u64),
            seq,
            recorded_at.timestamp_micros(),
            first_missed_on,
            state.valid_until.map(date_text)
        )?;
    }

    if let (true, Some(touched)) = (models.deadlines, deadlines_touched_at) {
        upsert_deadlines(conn.reborrow(), &id, state, to_i64(touched)).await?;
    }

    if models.statistics {
        let decided_days = state
            .first_decided_on
            .map(|d| (d - reg.received_on).num_days());
        let forms: Vec<&str> = reg.exploitation_forms.iter().map(|f| f.as_str()).collect();
        run!(
            conn.reborrow(),
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
            id.clone(),
            state.office.clone(),
            date_text(reg.received_on),
            reg.applicant.child,
            foreigner,
            reg.applicant.citizenship.as_str(),
            reg.applicant.sex.as_str(),
            i64::from(reg.applicant.birth_year),
            reg.filed_by.as_str(),
            reg.referral.as_ref().map(|r| r.source.as_str()),
            forms.join(","),
            reg.exploitation_country.clone(),
            reg.procedure.id.clone(),
            ever,
            state.first_decided_on.map(date_text),
            decided_days,
            seq
        )?;
    }
    Ok(())
}

/// Writes every deadline of the case in ONE statement (a multi-row upsert: one round trip to the
/// store instead of one per deadline).
async fn upsert_deadlines(
    conn: Conn<'_>,
    id: &str,
    state: &CaseState,
    seq: i64,
) -> Result<(), sqlx::Error> {
    const COLUMNS: usize = 10;
    if state.deadlines.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..state.deadlines.len())
        .map(|r| {
            let cells: Vec<String> = (1..=COLUMNS)
                .map(|c| format!("${}", r * COLUMNS + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO deadlines (case_id, name, kind, start_on, due_on, fulfilled_on, cancelled_on, \
         missed_recorded, office, last_sequence) VALUES {} \
         ON CONFLICT (case_id, name) DO UPDATE SET kind = excluded.kind, start_on = excluded.start_on, \
         due_on = excluded.due_on, fulfilled_on = excluded.fulfilled_on, \
         cancelled_on = excluded.cancelled_on, missed_recorded = excluded.missed_recorded, \
         office = excluded.office, last_sequence = excluded.last_sequence \
         WHERE deadlines.last_sequence < excluded.last_sequence",
        rows.join(", ")
    );
    macro_rules! bind_all {
        ($q:expr) => {{
            let mut q = $q;
            for d in state.deadlines.values() {
                q = q
                    .bind(id.to_string())
                    .bind(d.name.clone())
                    .bind(d.kind.as_str())
                    .bind(date_text(d.start))
                    .bind(date_text(d.due_on))
                    .bind(d.fulfilled_on.map(date_text))
                    .bind(d.cancelled_on.map(date_text))
                    .bind(d.missed_recorded)
                    .bind(state.office.clone())
                    .bind(seq);
            }
            q
        }};
    }
    match conn {
        Conn::Sqlite(c) => {
            bind_all!(sqlx::query(&sql)).execute(&mut *c).await?;
        }
        Conn::Postgres(c) => {
            bind_all!(sqlx::query(&sql)).execute(&mut *c).await?;
        }
    }
    Ok(())
}
