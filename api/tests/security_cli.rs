//! The operator's commands that change security write to the hash-chained security log: `ptl
//! token revoke` (the token id, who) and `ptl keys rotate` (the key ids, how many case keys),
//! each in the transaction of its change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ptl, text};

#[tokio::test]
async fn a_token_revocation_and_a_key_rotation_are_in_the_security_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let out = ptl(dir.path(), &db, &data, &["token", "revoke", "jti-123"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ptl(dir.path(), &db, &data, &["keys", "rotate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let opts = ptl_api::startup::StartOptions::new(&db, &data);
    let started =
        ptl_api::startup::start(&opts, std::sync::Arc::new(ptl_engine::clock::SystemClock))
            .await
            .unwrap();
    let engine = started.state.app.engine.clone();
    let log = engine.security_log(0, 100).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["token_revoked", "master_key_rotated"]);
    assert_eq!(log[0].detail["token"], "jti-123");
    assert_ne!(log[1].detail["old_key"], log[1].detail["new_key"]);
    assert_eq!(log[1].detail["case_keys"], 0);
    assert!(log
        .iter()
        .all(|e| e.actor.as_deref().is_some_and(|a| a.starts_with("cli:"))));
    assert_eq!(engine.verify_security_log().await.unwrap(), None);
}
