//! What the integrity report's tests share (issue 16): a store with a case whose last events were
//! deleted and a case deleted whole after the log's checkpoint.

use ptl_domain::Role;
use ptl_engine::db::Db;
use serde_json::json;

use crate::{application, TestApp};

const DAY: &str = "2026-03-02";

/// Deletes the case's events from `from_sequence` on, with their integrity rows, as someone with
/// write access to the database would.
pub async fn delete_events(db: &Db, case: &str, from_sequence: i64) {
    let statements = match db {
        Db::Sqlite(_) => [
            format!("DELETE FROM case_events WHERE aggregate_id = '{case}' AND sequence_number >= {from_sequence}"),
            format!("DELETE FROM event_integrity WHERE case_id = '{case}' AND sequence >= {from_sequence}"),
        ],
        Db::Postgres(_) => [
            format!("DELETE FROM case_events WHERE aggregate_id = '{case}'::uuid AND sequence_number >= {from_sequence}"),
            format!("DELETE FROM event_integrity WHERE case_id = '{case}' AND sequence >= {from_sequence}"),
        ],
    };
    for s in statements {
        match db {
            Db::Sqlite(p) => {
                sqlx::query(&s).execute(p).await.unwrap();
            }
            Db::Postgres(p) => {
                sqlx::query(&s).execute(p).await.unwrap();
            }
        }
    }
}

/// Three cases at UA7102 (the first with three events) and one at UA7104; the checkpoint
/// advanced over them; then the first case's last event and the whole second case deleted.
/// Returns (truncated, deleted, intact, other district's).
pub async fn tampered(app: &TestApp) -> (String, String, String, String) {
    let cw = app.token("cw-1", Role::Caseworker, "UA7102");
    let (truncated, etag) = app.register(&cw, &application("UA7102", DAY)).await;
    let r = app
        .act(
            &cw,
            &truncated,
            "record-consent",
            &etag,
            &json!({"occurred_on": DAY, "scope": "status_procedure", "given_by": "person"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .act(
            &cw,
            &truncated,
            "record-consent",
            &r.etag(),
            &json!({"occurred_on": DAY, "scope": "share_with_police", "given_by": "person"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (deleted, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let (intact, _) = app.register(&cw, &application("UA7102", DAY)).await;
    let other = app.token("cw-2", Role::Caseworker, "UA7104");
    let (elsewhere, _) = app.register(&other, &application("UA7104", DAY)).await;
    let engine = &app.state.app.engine;
    assert!(matches!(
        engine.advance_checkpoint().await.unwrap(),
        ptl_engine::checkpoint::Advance::Started(_)
    ));
    let last = r.etag().trim_matches('"').parse::<i64>().unwrap();
    delete_events(engine.db(), &truncated, last).await;
    delete_events(engine.db(), &deleted, 1).await;
    engine.clear_cache();
    (truncated, deleted, intact, elsewhere)
}
