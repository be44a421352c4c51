//! `ptl-bench hostile`: hostile input (oversized and deep bodies, SQL in every field, forged,
//! expired and `alg: none` tokens, another office's case, person searches without a reason, ...)
//! that must be refused with a 4xx and write nothing.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::client::Api;
use crate::life::{application, today, OFFICE};
use crate::Res;

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

fn claims(exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "cw-evil", "name": "cw-evil", "role": "caseworker", "office": "UA", "exp": now + exp_offset, "iat": now, "jti": uuid::Uuid::new_v4().simple().to_string()})
}

fn sign(secret: &[u8], c: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        c,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// The flags of `ptl-bench hostile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    base: String,
    /// A caseworker of UA7102.
    #[arg(long)]
    token_cw: String,
    /// A caseworker of another office (UA7104).
    #[arg(long)]
    token_other: String,
    /// A supervisor of `UA` (to read the statistics before and after).
    #[arg(long)]
    token_ua: String,
    /// The server's data directory (for the real JWT secret: expired tokens).
    #[arg(long)]
    data_dir: PathBuf,
}

/// Registers a target case, sends every hostile request, and checks that each was refused with
/// a 4xx and that the case, the statistics and the work queue did not change.
pub async fn run(args: Args) -> Res<()> {
    let Args {
        base,
        token_cw: cw,
        token_other: other,
        token_ua: ua,
        data_dir,
    } = args;
    let api = Api::new(&base);
    let day = today();
    let r = api
        .post("/api/v1/cases", &cw, &[], &application(OFFICE, &day))
        .await?;
    if r.status != 201 {
        return Err(format!("register: {} {}", r.status, r.body));
    }
    let id = r.body["id"].as_str().unwrap_or_default().to_string();
    let etag = r.etag.clone();
    let stats_path = "/api/v1/stats?office=UA";
    let stats_before = api.get(stats_path, &ua).await?.body;
    let queue_before = api.get("/api/v1/cases?limit=200", &ua).await?.body;

    let (keys, _) = ptl_engine::keys::load_or_create(&data_dir).map_err(|e| e.to_string())?;
    let real_secret = keys.jwt_secret().to_vec();
    let forged = sign(
        b"not-the-server-secret-not-the-server-secret",
        &claims(3600),
    );
    let expired = sign(&real_secret, &claims(-3600));
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(3600).to_string().as_bytes())
    );
    let valid_claims_bad_sig = {
        let t = sign(&real_secret, &claims(3600));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = b64(
            json!({"sub":"cw-evil","name":"x","role":"admin","office":"UA","exp": chrono::Utc::now().timestamp()+3600})
                .to_string()
                .as_bytes(),
        );
        parts.join(".")
    };

    let register = "/api/v1/cases".to_string();
    let action = format!("/api/v1/cases/{id}/actions/record-consent");
    let consent = serde_json::to_vec(
        &json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person"}),
    )
    .unwrap();
    let app_body = serde_json::to_vec(&application(OFFICE, &day)).unwrap();
    let mut big = application(OFFICE, &day);
    big["documents"][0]["note"] = Value::String("x".repeat(2 * 1024 * 1024));
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let mut invalid_utf8 = br#"{"occurred_on": ""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(br#"", "scope": "status_procedure", "given_by": "person"}"#);
    let sql_office = {
        let mut a = application("UA7102'; DROP TABLE events; --", &day);
        a["referral"]["source"] = json!("hotline' OR '1'='1");
        serde_json::to_vec(&a).unwrap()
    };
    let sql_scope = serde_json::to_vec(
        &json!({"occurred_on": day, "scope": "status_procedure' OR 1=1 --", "given_by": "person"}),
    )
    .unwrap();
    let sql_date = serde_json::to_vec(&json!({"occurred_on": "2026-01-01'); DELETE FROM events; --", "scope": "status_procedure", "given_by": "person"})).unwrap();
    let search = "/api/v1/person-search".to_string();
    let search_body = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let no_reason = search_body(json!({"full_name": "Марʼяна Коваль", "birth_date": "1990-04-02"}));
    let long_reason = search_body(
        json!({"full_name": "Марʼяна Коваль", "birth_date": "1990-04-02", "reason": "x".repeat(501)}),
    );
    let search_extra = search_body(
        json!({"full_name": "Марʼяна Коваль", "birth_date": "1990-04-02", "reason": "check", "office": "UA"}),
    );
    let search_big = search_body(
        json!({"full_name": "x".repeat(2 * 1024 * 1024), "birth_date": "1990-04-02", "reason": "check"}),
    );
    let m = etag.as_str();
    let ct = ("content-type", "application/json");
    type Case<'a> = (
        &'a str,
        reqwest::Method,
        String,
        Option<String>,
        Vec<(&'a str, &'a str)>,
        Option<Vec<u8>>,
    );
    use reqwest::Method as M;
    let cases: Vec<Case> = vec![
        ("oversized body (2 MiB)", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(serde_json::to_vec(&big).unwrap())),
        ("oversized action body", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(vec![b' '; 3 * 1024 * 1024])),
        ("deep JSON (200k levels)", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(deep.clone().into_bytes())),
        ("deep JSON on register", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(deep.into_bytes())),
        ("invalid UTF-8", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(invalid_utf8)),
        ("truncated JSON", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent[..consent.len() / 2].to_vec())),
        ("SQL in office and enum", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(sql_office)),
        ("SQL in consent scope", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(sql_scope)),
        ("SQL in a date", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(sql_date)),
        ("SQL in the case id", M::POST, "/api/v1/cases/1'%20OR%20'1'='1/actions/record-consent".into(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("SQL in a query parameter", M::GET, "/api/v1/cases?stage=registered'%20OR%201=1--".into(), Some(cw.clone()), vec![], None),
        ("SQL in If-Match", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", "\"1' OR '1'='1\"")], Some(consent.clone())),
        ("no token", M::POST, action.clone(), None, vec![ct, ("if-match", m)], Some(consent.clone())),
        ("forged token (wrong key)", M::POST, action.clone(), Some(forged.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("forged token on register", M::POST, register.clone(), Some(forged), vec![ct], Some(app_body.clone())),
        ("expired token (real key)", M::POST, action.clone(), Some(expired.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("expired token on register", M::POST, register.clone(), Some(expired), vec![ct], Some(app_body.clone())),
        ("alg none token", M::POST, action.clone(), Some(alg_none.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("alg none token read", M::GET, format!("/api/v1/cases/{id}"), Some(alg_none), vec![], None),
        ("tampered claims", M::POST, action.clone(), Some(valid_claims_bad_sig), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("garbage token", M::POST, action.clone(), Some("abc.def.ghi".into()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("another office's case: action", M::POST, action.clone(), Some(other.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("another office's case: read", M::GET, format!("/api/v1/cases/{id}"), Some(other.clone()), vec![], None),
        ("another office's case: events", M::GET, format!("/api/v1/cases/{id}/events"), Some(other.clone()), vec![], None),
        ("register for another office", M::POST, register.clone(), Some(other.clone()), vec![ct], Some(app_body.clone())),
        ("wrong content type", M::POST, action.clone(), Some(cw.clone()), vec![("content-type", "text/plain"), ("if-match", m)], Some(consent.clone())),
        ("missing If-Match", M::POST, action.clone(), Some(cw.clone()), vec![ct], Some(consent.clone())),
        ("unknown field", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person", "admin": true})).unwrap())),
        ("future date", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": "2999-01-01", "scope": "status_procedure", "given_by": "person"})).unwrap())),
        ("person search without reason", M::POST, search.clone(), Some(cw.clone()), vec![ct], no_reason),
        ("person search, reason over 500", M::POST, search.clone(), Some(cw.clone()), vec![ct], long_reason),
        ("person search, unknown field", M::POST, search.clone(), Some(cw.clone()), vec![ct], search_extra),
        ("oversized person search (2 MiB)", M::POST, search.clone(), Some(cw.clone()), vec![ct], search_big),
        ("person search as text/plain", M::POST, search.clone(), Some(cw.clone()), vec![("content-type", "text/plain")], search_body(json!({"full_name": "x", "birth_date": "1990-04-02", "reason": "check"}))),
        ("person search (GET) without reason", M::GET, "/api/v1/cases?full_name=%D0%9C%D0%B0%D1%80&birth_date=1990-04-02".into(), Some(cw.clone()), vec![], None),
        ("path traversal action", M::POST, format!("/api/v1/cases/{id}/actions/..%2F..%2Fadmin"), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
    ];
    let mut refused = 0;
    let mut failures = Vec::new();
    let total = cases.len();
    for (name, method, path, token, headers, body) in cases {
        // An oversized body may be refused before the client finished sending it: the server
        // answers 413 and closes, and the client can see a broken pipe instead of the answer.
        // Retry a few times to read the 413; a connection the server closed on an oversized body
        // still counts as refused (the writes are checked below in any case).
        // Each case has a client of its own: after refusing an oversized body the server closes
        // the connection, and a pooled client could send the next case on it before it saw the
        // close (a transport error that says nothing about the case).
        let api = Api::new(&base);
        let mut r = api
            .send(
                method.clone(),
                &path,
                token.as_deref(),
                &headers,
                body.clone(),
            )
            .await;
        let oversized = name.starts_with("oversized");
        for _ in 0..5 {
            if !(oversized && r.is_err()) {
                break;
            }
            r = api
                .send(
                    method.clone(),
                    &path,
                    token.as_deref(),
                    &headers,
                    body.clone(),
                )
                .await;
        }
        if oversized {
            if let Err(e) = &r {
                refused += 1;
                println!(
                    "  {name:<34} connection closed by the server before the body was read ({e})"
                );
                continue;
            }
        }
        match r {
            Ok(r) if (400..500).contains(&r.status) => {
                refused += 1;
                println!(
                    "  {name:<34} {} {}",
                    r.status,
                    r.body["code"].as_str().unwrap_or("")
                );
            }
            Ok(r) => failures.push(format!("{name}: {} {}", r.status, r.body)),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    // Nothing written.
    let after = api.get(&format!("/api/v1/cases/{id}"), &cw).await?;
    if after.body["version"].as_u64() != Some(1) {
        failures.push(format!(
            "the target case changed: version {}",
            after.body["version"]
        ));
    }
    let stats_after = api.get(stats_path, &ua).await?.body;
    if stats_after != stats_before {
        failures.push(format!(
            "statistics changed: {stats_before} -> {stats_after}"
        ));
    }
    let queue_after = api.get("/api/v1/cases?limit=200", &ua).await?.body;
    let n = |v: &Value| v["items"].as_array().map(|a| a.len()).unwrap_or(0);
    if n(&queue_after) != n(&queue_before) {
        failures.push(format!(
            "work queue changed: {} -> {} cases",
            n(&queue_before),
            n(&queue_after)
        ));
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "hostile: {total} hostile requests, {refused} refused with 4xx, failures {}",
        failures.len()
    );
    if !failures.is_empty() {
        return Err("hostile input accepted or something written".into());
    }
    Ok(())
}
