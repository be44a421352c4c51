//! `GET /openapi.json`: the served document is OpenAPI 3.1, documents every action's body, and the
//! router really serves every path it documents. (Router and document are the two halves of one
//! `utoipa_axum` router, `ptl_api::http::api`, so no route can be served undocumented.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ptl_api::startup::{start, StartOptions};
use ptl_domain::ActionName;
use serde_json::Value;
use tower::ServiceExt;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn document() -> Value {
    let text = ptl_api::http::openapi::document_json().expect("the document serialises");
    serde_json::from_str(text).expect("the document is JSON")
}

/// Follows a local `$ref` (`#/components/schemas/X`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(*m).is_some() {
                out.insert((m.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The rules of OpenAPI 3.1 a generated document could break: the version, resolvable local
/// references, unique operation ids, every path template parameter declared as a required path
/// parameter (and no path parameter the template lacks), responses on every operation; and this
/// API's own: an operation is public (`security: []`) or answers 401, 500 and 503 and reads
/// `Accept-Language`.
fn assert_valid_openapi_3_1(doc: &Value) {
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());

    // Every reference resolves.
    let mut all = Vec::new();
    refs(doc, &mut all);
    for r in all {
        assert!(
            r.starts_with("#/") && doc.pointer(&r[1..]).is_some(),
            "dangling $ref {r}"
        );
    }

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        let template: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect();
        for m in METHODS {
            let Some(op) = item.get(*m) else { continue };
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().map(|p| resolve(doc, p)).collect())
                .unwrap_or_default();
            let mut seen = BTreeSet::new();
            for p in &params {
                let name = p["name"].as_str().expect("parameter name");
                let place = p["in"].as_str().expect("parameter in");
                assert!(
                    ["query", "header", "path", "cookie"].contains(&place),
                    "{id}: {name} in {place}"
                );
                assert!(seen.insert((name, place)), "{id}: {name} twice");
                assert!(p["schema"].is_object(), "{id}: {name} has a schema");
                if place == "path" {
                    assert_eq!(p["required"], true, "{id}: path parameter {name}");
                    assert!(template.contains(name), "{id}: {name} not in {path}");
                }
            }
            for name in &template {
                assert!(
                    seen.contains(&(*name, "path")),
                    "{id}: {{{name}}} undeclared"
                );
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{id} has responses");
            for (status, r) in responses {
                assert!(
                    status.len() == 3 && status.parse::<u16>().is_ok(),
                    "{id}: status {status}"
                );
                assert!(
                    resolve(doc, r)["description"].is_string(),
                    "{id} {status} has a description"
                );
            }
            if op["security"] != serde_json::json!([]) {
                for status in ["401", "500", "503"] {
                    assert!(responses.contains_key(status), "{id} answers {status}");
                }
                assert!(
                    seen.contains(&("Accept-Language", "header")),
                    "{id} reads Accept-Language"
                );
            }
        }
    }
}

#[test]
fn document_is_openapi_3_1_with_every_action_body() {
    let doc = document();
    assert_valid_openapi_3_1(&doc);

    let op = &doc["paths"]["/api/v1/cases/{id}/actions/{action}"]["post"];
    let bodies = op["x-action-bodies"].as_object().expect("x-action-bodies");
    let any_of: Vec<&Value> = op["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
        .as_array()
        .expect("anyOf of the action bodies")
        .iter()
        .collect();
    let client: Vec<ActionName> = ActionName::ALL
        .iter()
        .copied()
        .filter(|a| a.is_client_action())
        .collect();
    assert_eq!(bodies.len(), client.len(), "exactly the client actions");
    for action in &client {
        let body = bodies
            .get(action.as_str())
            .unwrap_or_else(|| panic!("{action} has no body schema"));
        assert!(any_of.contains(&body), "{action}'s body is in the anyOf");
        let schema = resolve(&doc, body);
        assert_eq!(schema["type"], "object", "{action}");
        assert_eq!(schema["additionalProperties"], false, "{action}");
        assert!(
            schema["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == "occurred_on")),
            "{action} requires occurred_on"
        );
        let day = resolve(&doc, &schema["properties"]["occurred_on"]);
        assert_eq!(day["format"], "date", "{action}");
    }
    // The `{action}` parameter lists exactly the client actions.
    let action_param = op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "action"))
        .expect("action parameter");
    let names: BTreeSet<&str> = resolve(&doc, &action_param["schema"])["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(names, client.iter().map(|a| a.as_str()).collect());

    // Registration, case view, lists, stats, problems, security, headers.
    let schemas = &doc["components"]["schemas"];
    let register = resolve(
        &doc,
        &doc["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
    );
    assert_eq!(register["additionalProperties"], false);
    for f in [
        "received_on",
        "office",
        "filed_by",
        "applicant",
        "exploitation",
        "person",
    ] {
        assert!(
            register["properties"].get(f).is_some(),
            "register body has {f}"
        );
    }
    let view = &schemas["CaseView"];
    for f in [
        "id",
        "register_no",
        "stage",
        "status",
        "deadlines",
        "allowed_actions",
        "version",
    ] {
        assert!(view["properties"].get(f).is_some(), "case view has {f}");
    }
    let stage = resolve(&doc, &view["properties"]["stage"]);
    assert_eq!(
        stage["enum"].as_array().map(Vec::len),
        Some(ptl_domain::Stage::ALL.len())
    );
    for list in ["CaseList", "DeadlineList"] {
        assert!(schemas[list]["properties"]["items"].is_object(), "{list}");
        assert!(
            schemas[list]["properties"]["next_cursor"].is_object(),
            "{list}"
        );
    }
    assert!(schemas["StatsReport"]["properties"]["totals"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        serde_json::json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": doc["components"]["securitySchemes"]["bearer"]["description"]})
    );
    let problem = &doc["components"]["responses"]["ServiceUnavailable"];
    assert!(problem["content"]["application/problem+json"]["schema"]["$ref"].is_string());
    assert!(problem["headers"]["Retry-After"].is_object());
    let register_ok = &doc["paths"]["/api/v1/cases"]["post"]["responses"]["201"]["headers"];
    assert!(register_ok["Location"].is_object() && register_ok["ETag"].is_object());
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(params.contains(&"If-Match") && params.contains(&"Idempotency-Key"));
    for status in ["401", "404", "409", "412", "422", "428", "503"] {
        assert!(
            op["responses"][status].is_object(),
            "actions answer {status}"
        );
    }
    // Unauthenticated operational routes need no token.
    assert_eq!(
        doc["paths"]["/healthz"]["get"]["security"],
        serde_json::json!([])
    );
    // The header's description (a literal in the path attribute) states the engine's number.
    let duplicates = register_ok["Possible-Duplicates"]["description"]
        .as_str()
        .expect("Possible-Duplicates description");
    assert!(
        duplicates.contains(&format!(
            "the first {} in id order",
            ptl_engine::pipeline::SAME_PERSON_LISTED
        )),
        "{duplicates}"
    );
}

#[tokio::test]
async fn router_serves_every_documented_route() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let opts = StartOptions::new(url, dir.path().join("data"));
    let app = start(&opts, Arc::new(ptl_engine::clock::SystemClock))
        .await
        .expect("app starts");
    let doc = document();

    // The fallback, for comparison.
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/no/such/route")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    for (method, path) in documented(&doc) {
        let uri = path
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{action}", "add-note")
            .replace("{name}", "interview");
        let req = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let resp = app.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert!(
                !(body["code"] == "not_found" && body["detail"] == "no such route"),
                "{method} {path} hits the fallback"
            );
        }
        let public =
            doc["paths"][&path][method.to_ascii_lowercase()]["security"] == serde_json::json!([]);
        if !public {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token"
            );
        }
    }

    // The served document is the generated one.
    let resp = app
        .router
        .clone()
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    let served: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(served, doc);
    assert_valid_openapi_3_1(&served);
}

/// Requests that the probes run beside `scripts/schemathesis.sh` found answered with a 500 on
/// PostgreSQL, a made-up 200, or a lax parse: each is now a 4xx problem.
#[tokio::test]
async fn schemathesis_findings_are_client_errors() {
    use ptl_domain::Role;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let opts = StartOptions::new(url, dir.path().join("data"));
    let app = start(&opts, Arc::new(ptl_engine::clock::SystemClock))
        .await
        .expect("app starts");
    let token = |role: Role, office: &str| {
        app.state
            .auth
            .mint("st-1", "st-1", role, office, Duration::from_secs(600), None)
            .expect("token")
    };
    let cw = token(Role::Caseworker, "UA7102");
    let sup = token(Role::Supervisor, "UA7102");
    let regional = token(Role::Supervisor, "UA71");
    let send =
        |method: &str, uri: &str, token: &str, if_match: Option<&str>, body: Option<Value>| {
            let mut req = Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {token}"));
            if let Some(v) = if_match {
                req = req.header("if-match", v);
            }
            let req = match body {
                Some(b) => req
                    .header("content-type", "application/json")
                    .body(Body::from(b.to_string())),
                None => req.body(Body::empty()),
            }
            .unwrap();
            let router = app.router.clone();
            async move {
                let resp = router.oneshot(req).await.unwrap();
                let status = resp.status().as_u16();
                let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
                    .await
                    .unwrap();
                (
                    status,
                    serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
                )
            }
        };
    let today = ptl_domain::kyiv_date(chrono::Utc::now()).to_string();
    let application = |office: &str| {
        serde_json::json!({
            "received_on": today, "office": office, "filed_by": "self",
            "applicant": {"sex": "female", "birth_year": 1990, "citizenship": "ukrainian",
                          "speaks_ukrainian_or_russian": true, "interpreter_used": false},
            "exploitation": {"forms": ["labour"], "country": "PL"},
            "rights_explained": true,
            "person": {"full_name": "Mariana Koval", "birth_date": "1990-04-02"}
        })
    };
    let (status, case) = send(
        "POST",
        "/api/v1/cases",
        &cw,
        None,
        Some(application("UA7102")),
    )
    .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().expect("id").to_string();

    // A registration for an office the tree does not know: no role that registers sits at the
    // national office (roles belong to office kinds), so the code is outside the caller's office.
    let (status, p) = send(
        "POST",
        "/api/v1/cases",
        &regional,
        None,
        Some(application("ZZ")),
    )
    .await;
    assert_eq!(
        (status, &p["code"]),
        (403, &Value::from("forbidden")),
        "{p}"
    );

    // `on` before the registration was a 200 with an empty, made-up case view.
    let (status, p) = send(
        "GET",
        &format!("/api/v1/cases/{id}?on=2000-01-01"),
        &cw,
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, &p["code"]),
        (400, &Value::from("bad_parameter")),
        "{p}"
    );
    // Query dates are `YYYY-MM-DD` exactly, as in bodies.
    for uri in [
        format!("/api/v1/cases/{id}?on=2026-1-1"),
        "/api/v1/stats?from=%2B12345-01-01".to_string(),
        "/api/v1/deadlines?due_before=-262143-01-01".to_string(),
        "/api/v1/cases?due_before=2026-01-1".to_string(),
    ] {
        let (status, p) = send("GET", &uri, &cw, None, None).await;
        assert_eq!(
            (status, &p["code"]),
            (400, &Value::from("bad_parameter")),
            "{uri}: {p}"
        );
    }
    let (status, _) = send(
        "GET",
        &format!("/api/v1/cases/{id}?on={today}"),
        &cw,
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);

    // NUL characters: PostgreSQL refuses them in text and jsonb (a 500 there before).
    for uri in [
        "/api/v1/cases?assignee=a%00".to_string(),
        format!("/api/v1/cases/{id}?include=person&reason=a%00"),
    ] {
        let (status, p) = send("GET", &uri, &cw, None, None).await;
        assert_eq!(
            (status, &p["code"]),
            (400, &Value::from("bad_parameter")),
            "{uri}: {p}"
        );
    }
    let note = serde_json::json!({"occurred_on": today, "text": "a\u{0}b"});
    let (status, p) = send(
        "POST",
        &format!("/api/v1/cases/{id}/actions/add-note"),
        &cw,
        Some("\"1\""),
        Some(note),
    )
    .await;
    assert_eq!(
        (status, &p["code"]),
        (422, &Value::from("validation_failed")),
        "{p}"
    );
    assert!(p["errors"]["text"].is_string(), "{p}");

    // A transfer to an unknown office was a 200 that hid the case from its region.
    let transfer = |to: &str| serde_json::json!({"occurred_on": today, "to_office": to});
    let uri = format!("/api/v1/cases/{id}/actions/transfer");
    let (status, p) = send("POST", &uri, &sup, Some("\"1\""), Some(transfer("ZZ"))).await;
    assert_eq!(
        (status, &p["code"]),
        (422, &Value::from("validation_failed")),
        "{p}"
    );
    assert!(p["errors"]["to_office"].is_string(), "{p}");
    // ... still after a stale If-Match (412) in the order of api.md.
    let (status, _) = send("POST", &uri, &sup, Some("\"7\""), Some(transfer("ZZ"))).await;
    assert_eq!(status, 412);
    let (status, p) = send("POST", &uri, &sup, Some("\"1\""), Some(transfer("UA7104"))).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["office"], "UA7104");
}
