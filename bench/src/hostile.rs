//! `ptl-bench hostile`: hostile input (oversized and deep bodies, SQL in every field, forged,
//! expired and `alg: none` tokens, another office's case, person searches without a reason, ...)
//! that must be refused with a 4xx and write nothing; then the hardening of issue 13 (a role at
//! the wrong kind of office, tokens living too long or from the future, lists and reasons over
//! their caps, a client that never finishes its headers, a made-up HTTP method in the metrics,
//! the security headers, the file modes of the data directory, and, when the limits are given,
//! the per-user and per-address rate limits).

use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Claims of a well-formed token for `role` at `office`, with `iat` and `exp` from now.
fn claims_for(sub: &str, role: &str, office: &str, iat_offset: i64, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "name": sub, "role": role, "office": office, "iat": now + iat_offset,
           "exp": now + exp_offset, "jti": uuid::Uuid::new_v4().simple().to_string()})
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
    /// A supervisor of the region `UA71` (to read the statistics before and after).
    #[arg(long)]
    token_ua: String,
    /// The server's data directory (for the real JWT secret: expired tokens; its file modes).
    #[arg(long)]
    data_dir: PathBuf,
    /// The server's per-user limit (requests a minute): when given, one user floods past it and
    /// must get 429.
    #[arg(long)]
    rate_per_user: Option<u32>,
    /// The server's per-address limit (requests a minute): when given, this client floods past
    /// it last and must get 429.
    #[arg(long)]
    rate_per_address: Option<u32>,
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
        rate_per_user,
        rate_per_address,
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
    let stats_path = "/api/v1/stats?office=UA71";
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

    // Signed with the real key, refused all the same (issue 13, item 5).
    let wrong_kind = sign(
        &real_secret,
        &claims_for("do-evil", "decision_officer", OFFICE, 0, 3600),
    );
    let admin_of_region = sign(
        &real_secret,
        &claims_for("ad-evil", "admin", "UA71", 0, 3600),
    );
    let too_long = sign(
        &real_secret,
        &claims_for("cw-long", "caseworker", OFFICE, 0, 30 * 86_400),
    );
    let from_the_future = sign(
        &real_secret,
        &claims_for("cw-future", "caseworker", OFFICE, 3600, 7200),
    );
    let not_yet = {
        let mut c = claims_for("cw-nbf", "caseworker", OFFICE, 0, 3600);
        c["nbf"] = json!(chrono::Utc::now().timestamp() + 1800);
        sign(&real_secret, &c)
    };
    let mut many_documents = application(OFFICE, &day);
    many_documents["documents"] = Value::Array(
        (0..51)
            .map(|_| json!({"kind": "identity_document"}))
            .collect(),
    );
    let long_withdraw_reason =
        serde_json::to_vec(&json!({"occurred_on": day, "reason": "x".repeat(501)})).unwrap();
    let withdraw = format!("/api/v1/cases/{id}/actions/withdraw");

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
    // Erasure: only a supervisor may erase, with a category; a refused erasure must not destroy
    // the key (checked below: the person still reads).
    let erase = format!("/api/v1/cases/{id}/actions/erase-personal-data");
    let erase_body = |category: &str| {
        serde_json::to_vec(&json!({"occurred_on": day, "category": category, "reason": "hostile"}))
            .unwrap()
    };
    let erase_no_category =
        serde_json::to_vec(&json!({"occurred_on": day, "reason": "hostile"})).unwrap();
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
        ("erasure by a caseworker", M::POST, erase.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(erase_body("person_request"))),
        ("erasure of another office's case", M::POST, erase.clone(), Some(other.clone()), vec![ct, ("if-match", m)], Some(erase_body("person_request"))),
        ("erasure without a category", M::POST, erase.clone(), Some(ua.clone()), vec![ct, ("if-match", m)], Some(erase_no_category)),
        ("SQL in the erasure category", M::POST, erase.clone(), Some(ua.clone()), vec![ct, ("if-match", m)], Some(erase_body("order'; UPDATE case_keys SET wrapped = NULL; --"))),
        ("register for another office", M::POST, register.clone(), Some(other.clone()), vec![ct], Some(app_body.clone())),
        ("wrong content type", M::POST, action.clone(), Some(cw.clone()), vec![("content-type", "text/plain"), ("if-match", m)], Some(consent.clone())),
        ("missing If-Match", M::POST, action.clone(), Some(cw.clone()), vec![ct], Some(consent.clone())),
        ("unknown field", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person", "admin": true})).unwrap())),
        ("future date", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": "2999-01-01", "scope": "status_procedure", "given_by": "person"})).unwrap())),
        ("shelter name of 201 characters", M::POST, format!("/api/v1/cases/{id}/actions/place-in-shelter"), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": day, "shelter": "x".repeat(201)})).unwrap())),
        ("end a stay as a caseworker", M::POST, format!("/api/v1/cases/{id}/actions/end-shelter-stay"), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": day})).unwrap())),
        ("person search without reason", M::POST, search.clone(), Some(cw.clone()), vec![ct], no_reason),
        ("person search, reason over 500", M::POST, search.clone(), Some(cw.clone()), vec![ct], long_reason),
        ("person search, unknown field", M::POST, search.clone(), Some(cw.clone()), vec![ct], search_extra),
        ("oversized person search (2 MiB)", M::POST, search.clone(), Some(cw.clone()), vec![ct], search_big),
        ("person search as text/plain", M::POST, search.clone(), Some(cw.clone()), vec![("content-type", "text/plain")], search_body(json!({"full_name": "x", "birth_date": "1990-04-02", "reason": "check"}))),
        ("person search (GET) without reason", M::GET, "/api/v1/cases?full_name=%D0%9C%D0%B0%D1%80&birth_date=1990-04-02".into(), Some(cw.clone()), vec![], None),
        ("public statistics, part of a month", M::GET, "/api/v1/stats?disclosure=public&from=2026-01-01&to=2026-01-15".into(), Some(cw.clone()), vec![], None),
        ("public statistics, one bound only", M::GET, "/api/v1/stats?disclosure=public&from=2026-01-01".into(), Some(cw.clone()), vec![], None),
        ("path traversal action", M::POST, format!("/api/v1/cases/{id}/actions/..%2F..%2Fadmin"), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("decision officer of a district", M::GET, format!("/api/v1/cases/{id}"), Some(wrong_kind), vec![], None),
        ("admin of a region", M::GET, "/api/v1/cases".into(), Some(admin_of_region), vec![], None),
        ("token living 30 days (real key)", M::POST, action.clone(), Some(too_long), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("token issued in the future", M::POST, action.clone(), Some(from_the_future), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("token not valid yet (nbf)", M::GET, format!("/api/v1/cases/{id}"), Some(not_yet), vec![], None),
        ("51 documents", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(serde_json::to_vec(&many_documents).unwrap())),
        ("reason of 501 characters", M::POST, withdraw.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(long_withdraw_reason)),
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
    let person = api
        .get(
            &format!("/api/v1/cases/{id}?include=person&reason=hostile-check"),
            &cw,
        )
        .await?;
    if person.body["person"].is_null() {
        failures.push(format!(
            "the target case's person no longer reads: {} {}",
            person.status, person.body
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
    let (checked, more) = hardening(
        &base,
        &id,
        &cw,
        &real_secret,
        &data_dir,
        rate_per_user,
        rate_per_address,
    )
    .await;
    failures.extend(more);
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "hostile: {total} hostile requests, {refused} refused with 4xx, {checked} hardening checks, failures {}",
        failures.len()
    );
    if !failures.is_empty() {
        return Err("hostile input accepted or something written".into());
    }
    Ok(())
}

/// The connection, header, metric and file checks of issue 13 (items 6 and 7); returns how many
/// ran and what failed. The per-address flood, when asked for, runs last (it blocks this address
/// for a while).
async fn hardening(
    base: &str,
    id: &str,
    cw: &str,
    secret: &[u8],
    data_dir: &Path,
    rate_per_user: Option<u32>,
    rate_per_address: Option<u32>,
) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut check = |name: &str, ok: bool, detail: String| {
        checked += 1;
        if ok {
            println!("  {name:<34} ok");
        } else {
            failures.push(format!("{name}: {detail}"));
        }
    };
    let http = reqwest::Client::new();

    // Slow-loris: headers begun and never finished; the server must close the connection.
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let closed = match tokio::net::TcpStream::connect(host).await {
        Ok(mut s) => {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = s
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await;
            let mut buf = [0u8; 512];
            let read = async {
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return true,
                        Ok(_) => {}
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(90), read)
                .await
                .unwrap_or(false)
        }
        Err(_) => false,
    };
    check(
        "unfinished headers (slow-loris)",
        closed,
        "the server kept the connection open".into(),
    );

    // A made-up method counts as `other` in the metrics.
    if let Ok(method) = reqwest::Method::from_bytes(b"FROBNICATE") {
        let _ = http
            .request(method, format!("{base}/api/v1/cases"))
            .send()
            .await;
    }
    let metrics = match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    check(
        "made-up HTTP method in metrics",
        !metrics.contains("FROBNICATE") && metrics.contains("method=\"other\""),
        "the method became a label".into(),
    );

    // Headers: nosniff everywhere, no-store on case data, the dashboard's CSP.
    match http
        .get(format!("{base}/api/v1/cases/{id}"))
        .bearer_auth(cw)
        .send()
        .await
    {
        Ok(r) => {
            let h = r.headers();
            let nosniff = h
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok());
            let cache = h.get("cache-control").and_then(|v| v.to_str().ok());
            check(
                "case read headers",
                nosniff == Some("nosniff") && cache == Some("no-store"),
                format!("nosniff {nosniff:?}, cache-control {cache:?}"),
            );
        }
        Err(e) => check("case read headers", false, e.to_string()),
    }
    match http.get(format!("{base}/dashboard")).send().await {
        Ok(r) => {
            let csp = r
                .headers()
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let script_src = csp
                .split(';')
                .map(str::trim)
                .find(|d| d.starts_with("script-src"))
                .unwrap_or("")
                .to_string();
            check(
                "dashboard CSP",
                !script_src.contains("unsafe-inline")
                    && !script_src.is_empty()
                    && csp.contains("frame-ancestors 'none'"),
                csp,
            );
        }
        Err(e) => check("dashboard CSP", false, e.to_string()),
    }

    // File modes: the data directory 0700, the store's files in it 0600.
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
    };
    check(
        "data directory mode",
        mode(data_dir) == Some(0o700),
        format!("{:o}", mode(data_dir).unwrap_or(0)),
    );
    let mut loose = Vec::new();
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let p = e.path();
            let sensitive = name.ends_with(".db")
                || name.ends_with(".db-wal")
                || name.ends_with(".db-shm")
                || name.ends_with(".key")
                || name == "jwt.secret";
            if sensitive && p.is_file() && mode(&p).is_some_and(|m| m & 0o077 != 0) {
                loose.push(format!("{name} {:o}", mode(&p).unwrap_or(0)));
            }
        }
    }
    check(
        "store and key file modes",
        loose.is_empty(),
        loose.join(", "),
    );

    // One user past the per-user limit.
    if let Some(limit) = rate_per_user {
        let flood = sign(
            secret,
            &claims_for("flood-user", "caseworker", OFFICE, 0, 3600),
        );
        let mut limited = None;
        // The bucket refills while we send: up to twice the limit.
        for _ in 0..=(2 * limit + 10) {
            match http
                .get(format!("{base}/api/v1/deadlines?limit=1"))
                .bearer_auth(&flood)
                .send()
                .await
            {
                Ok(r) if r.status().as_u16() == 429 => {
                    limited = Some(r.headers().contains_key("retry-after"));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    limited = Some(false);
                    println!("  per-user flood: {e}");
                    break;
                }
            }
        }
        check(
            "per-user rate limit",
            limited == Some(true),
            format!("no 429 with Retry-After within {} requests", 2 * limit + 11),
        );
    }
    // This address past the per-address limit (last: it blocks the address for a while).
    if let Some(limit) = rate_per_address {
        let mut limited = None;
        // The bucket refills while we send: up to twice the limit.
        for _ in 0..=(2 * limit + 10) {
            match http.get(format!("{base}/healthz")).send().await {
                Ok(r) if r.status().as_u16() == 429 => {
                    limited = Some(r.headers().contains_key("retry-after"));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    limited = Some(false);
                    println!("  per-address flood: {e}");
                    break;
                }
            }
        }
        check(
            "per-address rate limit",
            limited == Some(true),
            format!("no 429 with Retry-After within {} requests", 2 * limit + 11),
        );
    }
    (checked, failures)
}
