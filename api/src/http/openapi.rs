//! The OpenAPI 3.1 document of the REST API, served at `GET /openapi.json` (`api.md`).
//!
//! Schemas come from the code: request bodies derive [`ToSchema`] in [`crate::models`] (each
//! action's body through [`crate::models::action_body_schema`], beside the parser), the case view
//! in [`crate::view`], problem documents in [`super::error`]; the closed value sets of the domain
//! and the documentation types of other crates' response bodies are in [`crate::schema`]. Paths
//! are built here, one per entry of [`super::routes::ROUTES`] (`tests/openapi.rs` checks that the
//! two agree, and that the router serves every documented route).
//!
//! Actions: there is one documented path, `POST /api/v1/cases/{id}/actions/{action}`, whose
//! `action` parameter is the enum of client action names and whose request body is `anyOf` the
//! action body schemas (not `oneOf`: several bodies accept the same instance, e.g. a bare
//! `{"occurred_on": ...}`). Which body goes with which action is stated by the operation's
//! `x-action-bodies` extension (action name -> `$ref`) and in each body schema's description.
//! Every body schema has `additionalProperties: false` (a field the action does not define is a
//! 422 `unknown_field`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ptl_domain::ActionName;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, Header, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, Schema,
};
use utoipa::ToSchema;

use super::error::{ApiError, Problem, PROBLEM_JSON};
use crate::schema::{
    client_actions, domain, office_code_schema, string_enum, AccessLog, CaseList,
    DeadlineExplanation, DeadlineList, EventList, Readiness, StatsReport, Verification,
};
use crate::view::CaseView;

/// Name of the bearer security scheme.
pub const BEARER: &str = "bearer";

/// Media type of JSON bodies.
const JSON: &str = "application/json";

// ---------------------------------------------------------------------------------------------
// The document.

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn response_ref(name: &str) -> RefOr<ApiResponse> {
    RefOr::Ref(Ref::from_response_name(name))
}

fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn header(schema: RefOr<Schema>, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

fn etag_header() -> Header {
    header(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r#"^"[0-9]+"$"#))
            .into(),
        "The case's version, quoted (`\"3\"`): send it back as `If-Match` with the next action.",
    )
}

fn json_response(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
}

fn param(
    name: &str,
    place: ParameterIn,
    required: bool,
    schema: RefOr<Schema>,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn query(name: &str, schema: RefOr<Schema>, description: &str) -> utoipa::openapi::path::Parameter {
    param(name, ParameterIn::Query, false, schema, description)
}

fn date_param() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .into()
}

fn case_id_param() -> utoipa::openapi::path::Parameter {
    param(
        "id",
        ParameterIn::Path,
        true,
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into(),
        "Case id. An id that is not a case in the caller's scope is 404 `case_not_found`.",
    )
}

fn accept_language() -> utoipa::openapi::path::Parameter {
    param(
        "Accept-Language",
        ParameterIn::Header,
        false,
        string(),
        "Language of problem titles: `uk` or `en` (the default).",
    )
}

fn idempotency_key() -> utoipa::openapi::path::Parameter {
    param(
        "Idempotency-Key",
        ParameterIn::Header,
        false,
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .into(),
        "Scoped to the caller's `sub`, kept at least 24 hours: a repeat of a request that \
         succeeded returns that first response (same status, body and ETag) and writes nothing. \
         The same key with a different body: 422 `idempotency_key_reused`; while the first is \
         still running: 409 `request_in_progress`.",
    )
}

fn limit_param() -> utoipa::openapi::path::Parameter {
    query(
        "limit",
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(ptl_projections::queries::MAX_LIMIT))
            .default(Some(50.into()))
            .into(),
        "Page size.",
    )
}

fn cursor_param() -> utoipa::openapi::path::Parameter {
    query(
        "cursor",
        string(),
        "The `next_cursor` of the previous page (opaque).",
    )
}

/// The reusable problem responses: (component name, status, description).
const PROBLEMS: &[(&str, u16, &str)] = &[
    (
        "BadRequest",
        400,
        "`malformed_json` (the body is not JSON) or `bad_parameter` (a query, path or header \
         parameter is unreadable).",
    ),
    (
        "Unauthorized",
        401,
        "`unauthorized`: missing, invalid, expired, unsigned or revoked token.",
    ),
    (
        "Forbidden",
        403,
        "`forbidden`: in scope, but the role may not do this.",
    ),
    (
        "NotFound",
        404,
        "`case_not_found` (no such case, or outside the caller's scope), `not_found` (another \
         resource) or `unknown_action`.",
    ),
    (
        "Conflict",
        409,
        "`action_not_allowed` in the case's current stage (with `allowed_actions`), \
         `consent_required`, or `request_in_progress` (same `Idempotency-Key` still running).",
    ),
    (
        "PreconditionFailed",
        412,
        "`version_mismatch`: the `If-Match` version is stale; read the case again.",
    ),
    (
        "PayloadTooLarge",
        413,
        "`body_too_large`: the body exceeds 1 MiB.",
    ),
    (
        "UnsupportedMediaType",
        415,
        "`unsupported_media_type`: the body is not `application/json`.",
    ),
    (
        "UnprocessableEntity",
        422,
        "`validation_failed` or a field problem's own code such as `date_in_future` (with \
         `errors`: field -> message), `unknown_field`, or `idempotency_key_reused`.",
    ),
    (
        "PreconditionRequired",
        428,
        "`if_match_required`: an action without `If-Match`.",
    ),
    (
        "InternalError",
        500,
        "`internal`: an unexpected failure (logged).",
    ),
    (
        "ServiceUnavailable",
        503,
        "`store_unavailable` (or the request timed out); retry after `Retry-After` seconds.",
    ),
];

fn problem_response(status: u16, description: &str) -> ApiResponse {
    let mut r = ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(schema_ref(&Problem::name())))
                .build(),
        )
        .header(
            "Content-Language",
            header(string(), "The language of `title`: `en` or `uk`."),
        );
    match status {
        401 => {
            r = r.header(
                "WWW-Authenticate",
                header(string(), "`Bearer`: the API takes a bearer JWT."),
            );
        }
        503 => {
            r = r.header(
                "Retry-After",
                header(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0))
                        .into(),
                    "Seconds to wait before retrying.",
                ),
            );
        }
        _ => {}
    }
    r.build()
}

fn problem_name(status: u16) -> &'static str {
    PROBLEMS
        .iter()
        .find(|(_, s, _)| *s == status)
        .map_or("InternalError", |(name, _, _)| name)
}

/// An operation of the API: summary, tag, parameters, responses.
struct Op {
    builder: OperationBuilder,
    public: bool,
}

impl Op {
    fn new(id: &str, tag: &str, summary: &str) -> Self {
        Self {
            builder: OperationBuilder::new()
                .operation_id(Some(id))
                .tag(tag)
                .summary(Some(summary)),
            public: false,
        }
    }

    /// No token needed.
    fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn description(mut self, d: &str) -> Self {
        self.builder = self.builder.description(Some(d));
        self
    }

    fn param(mut self, p: utoipa::openapi::path::Parameter) -> Self {
        self.builder = self.builder.parameter(p);
        self
    }

    fn ok(mut self, status: &str, r: impl Into<RefOr<ApiResponse>>) -> Self {
        self.builder = self.builder.response(status, r);
        self
    }

    /// Problem responses by status, plus 401, 500 and 503 for every authenticated route.
    fn problems(mut self, statuses: &[u16]) -> Self {
        let mut all: Vec<u16> = statuses.to_vec();
        if !self.public {
            all.extend([401, 500, 503]);
        }
        all.sort_unstable();
        all.dedup();
        for s in all {
            self.builder = self
                .builder
                .response(s.to_string(), response_ref(problem_name(s)));
        }
        self
    }

    fn build(self) -> Operation {
        let mut op = self.builder.build();
        if self.public {
            op.security = Some(Vec::new());
        } else {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(accept_language());
        }
        op
    }
}

/// The operation documenting `method path`, or `None` for a route this module does not know.
#[allow(clippy::too_many_lines)]
fn operation(
    method: &str,
    path: &str,
    action_bodies: &[(ActionName, String)],
) -> Option<Operation> {
    let case_view = || schema_ref(&CaseView::name());
    let op = match (method, path) {
        ("GET", "/healthz") => Op::new("healthz", "operations", "Liveness").public().ok(
            "200",
            ResponseBuilder::new()
                .description("The process is up.")
                .content(
                    "text/plain",
                    ContentBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["ok"]))
                                .build(),
                        ))
                        .build(),
                )
                .build(),
        ),
        ("GET", "/readyz") => Op::new("readyz", "operations", "Readiness")
            .public()
            .ok(
                "200",
                json_response("The store is reachable.", schema_ref(&Readiness::name())).build(),
            )
            .ok(
                "503",
                json_response(
                    "The store is unreachable (or the request timed out).",
                    schema_ref(&Readiness::name()),
                )
                .header(
                    "Retry-After",
                    header(
                        ObjectBuilder::new().schema_type(Type::Integer).into(),
                        "Seconds to wait before retrying.",
                    ),
                )
                .build(),
            ),
        ("GET", "/dashboard") => Op::new("dashboard", "operations", "Dashboard page").public()
            .description("A static page (no personal data in it): it takes the token from the URL fragment (`#token=...`, never sent to the server) or a form, keeps it in session storage and calls the API with the bearer header.")
            .ok(
                "200",
                ResponseBuilder::new()
                    .description("The dashboard HTML page.")
                    .content("text/html", ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String).build())).build())
                    .build(),
            ),
        ("GET", "/metrics") => Op::new("metrics", "operations", "Prometheus metrics")
            .public()
            .description("Request counters by route; no personal data, no case ids.")
            .ok(
                "200",
                ResponseBuilder::new()
                    .description("Prometheus text exposition format 0.0.4.")
                    .content(
                        "text/plain",
                        ContentBuilder::new().schema(Some(string())).build(),
                    )
                    .build(),
            ),
        ("GET", "/openapi.json") => Op::new("openapi", "operations", "This document")
            .public()
            .ok(
                "200",
                json_response(
                    "The OpenAPI 3.1 document.",
                    ObjectBuilder::new().schema_type(Type::Object).into(),
                )
                .build(),
            ),
        ("POST", "/api/v1/cases") => {
            let (name, _, _) = crate::models::register_body_schema();
            let mut op = Op::new("registerCase", "cases", "Register an application")
                .description(
                    "Caseworker or supervisor of an office covering `office`. Whether the \
                     applicant is a child is derived from `person.birth_date` on `received_on`.",
                )
                .param(idempotency_key())
                .ok(
                    "201",
                    json_response("Registered: the case view.", case_view())
                        .header(
                            "Location",
                            header(string(), "`/api/v1/cases/{id}` of the new case."),
                        )
                        .header("ETag", etag_header())
                        .header(
                            "X-Possible-Duplicates",
                            header(
                                string(),
                                &format!(
                                    "Comma-separated ids of other cases of the same person, if \
                                     any: the first {} in id order (a person search, \
                                     `GET /api/v1/cases?full_name=...&birth_date=...`, lists \
                                     them all).",
                                    ptl_engine::pipeline::SAME_PERSON_LISTED
                                ),
                            ),
                        )
                        .build(),
                )
                .problems(&[400, 403, 409, 413, 415, 422]);
            op.builder = op.builder.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        JSON,
                        ContentBuilder::new()
                            .schema(Some(schema_ref(&name)))
                            .build(),
                    )
                    .build(),
            ));
            op
        }
        ("GET", "/api/v1/cases") => Op::new("listCases", "lists", "Work queue and person search")
            .description(
                "Cases in the caller's scope. A person search needs `full_name` and `birth_date` \
                 together (exact match after normalisation; logged; not for auditors and admins).",
            )
            .param(query(
                "office",
                office_code_schema(),
                "Only this office (within scope).",
            ))
            .param(query(
                "stage",
                schema_ref(&domain::Stage::name()),
                "Only this stage.",
            ))
            .param(query(
                "status",
                schema_ref(&domain::Status::name()),
                "Only this status.",
            ))
            .param(query(
                "assignee",
                string(),
                "Only cases assigned to this user id.",
            ))
            .param(query(
                "overdue",
                ObjectBuilder::new().schema_type(Type::Boolean).into(),
                "Only cases with an overdue deadline.",
            ))
            .param(query(
                "due_before",
                date_param(),
                "Only cases with a deadline due before this date.",
            ))
            .param(query("full_name", string(), "Person search: full name."))
            .param(query(
                "birth_date",
                date_param(),
                "Person search: date of birth.",
            ))
            .param(query(
                "reason",
                string(),
                "Why the person search is made (logged).",
            ))
            .param(limit_param())
            .param(cursor_param())
            .ok(
                "200",
                json_response("A page of cases.", schema_ref(&CaseList::name())).build(),
            )
            .problems(&[400, 403]),
        ("GET", "/api/v1/deadlines") => Op::new("listDeadlines", "lists", "Deadlines")
            .param(query(
                "office",
                office_code_schema(),
                "Only this office (within scope).",
            ))
            .param(query(
                "state",
                schema_ref(&domain::DeadlineState::name()),
                "Only deadlines in this state today.",
            ))
            .param(query(
                "due_before",
                date_param(),
                "Only deadlines due before this date.",
            ))
            .param(limit_param())
            .param(cursor_param())
            .ok(
                "200",
                json_response("A page of deadlines.", schema_ref(&DeadlineList::name())).build(),
            )
            .problems(&[400]),
        ("GET", "/api/v1/stats") | ("GET", "/api/v1/stats.csv") => {
            let csv = path.ends_with(".csv");
            let mut op = if csv {
                Op::new("statsCsv", "stats", "Report figures as CSV").ok(
                    "200",
                    ResponseBuilder::new()
                        .description("The report as CSV.")
                        .content(
                            "text/csv",
                            ContentBuilder::new().schema(Some(string())).build(),
                        )
                        .build(),
                )
            } else {
                Op::new("stats", "stats", "Report figures").ok(
                    "200",
                    json_response("The report.", schema_ref(&StatsReport::name())).build(),
                )
            };
            op = op
                .description(
                    "Flow figures count events whose business date is in [from, to]; stock \
                     figures are as of `to`. Not for admins.",
                )
                .param(query(
                    "office",
                    office_code_schema(),
                    "Default: the caller's office.",
                ))
                .param(query(
                    "from",
                    date_param(),
                    "Default: 1 January of the current year.",
                ))
                .param(query("to", date_param(), "Default: today."))
                .param(query(
                    "group_by",
                    string_enum(["office", "month"], "Breakdown."),
                    "Breakdown (default none).",
                ))
                .param(query(
                    "disclosure",
                    string_enum(["public", "internal"], "Disclosure control."),
                    "`public` suppresses small counts (and complementary cells).",
                ))
                .problems(&[400, 403]);
            op
        }
        ("GET", "/api/v1/cases/{id}") => Op::new("getCase", "cases", "The case view")
            .description(
                "History with one of `as_of`, `on` and `version` (no ETag, no allowed actions). \
                 `include=person` adds personal data for the roles that may see it (logged).",
            )
            .param(case_id_param())
            .param(query(
                "as_of",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .into(),
                "What had been recorded by this instant (RFC 3339).",
            ))
            .param(query(
                "on",
                date_param(),
                "Facts that occurred by this business date, as known now.",
            ))
            .param(query(
                "version",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .into(),
                "The case after this many events.",
            ))
            .param(query(
                "include",
                string_enum(["person"], "Extra parts."),
                "`person`: the personal data.",
            ))
            .param(query(
                "reason",
                string(),
                "Why personal data is read (access log).",
            ))
            .ok(
                "200",
                json_response("The case view.", case_view())
                    .header("ETag", etag_header())
                    .build(),
            )
            .problems(&[400, 403, 404]),
        ("POST", "/api/v1/cases/{id}/actions/{action}") => {
            let mut refs: Vec<RefOr<Schema>> = Vec::new();
            let mut names: Vec<&str> = Vec::new();
            let mut mapping = serde_json::Map::new();
            for (action, name) in action_bodies {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                    refs.push(schema_ref(name));
                }
                mapping.insert(
                    action.as_str().to_string(),
                    serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }),
                );
            }
            let mut op = Op::new("postAction", "cases", "Perform a procedure action")
                .description(
                    "One action of the procedure; the body is the action's fields (the schema \
                     named for it in `x-action-bodies`; every body has `occurred_on`). Answers \
                     200 with the case view and its new ETag.",
                )
                .param(case_id_param())
                .param(param(
                    "action",
                    ParameterIn::Path,
                    true,
                    schema_ref(&domain::ClientAction::name()),
                    "The action; any other name is 404 `unknown_action`.",
                ))
                .param(param(
                    "If-Match",
                    ParameterIn::Header,
                    true,
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(r#"^(W/)?"?[0-9]+"?$"#))
                        .into(),
                    "The case's current ETag (`\"3\"`). Missing: 428; stale: 412.",
                ))
                .param(idempotency_key())
                .ok(
                    "200",
                    json_response("Done: the case view.", case_view())
                        .header("ETag", etag_header())
                        .build(),
                )
                .problems(&[400, 403, 404, 409, 412, 413, 415, 422, 428]);
            op.builder = op
                .builder
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .required(Some(Required::True))
                        .description(Some(
                            "The action's body: see `x-action-bodies` for which schema.",
                        ))
                        .content(
                            JSON,
                            ContentBuilder::new()
                                .schema(Some(Schema::AnyOf(
                                    refs.into_iter()
                                        .fold(AnyOfBuilder::new(), AnyOfBuilder::item)
                                        .build(),
                                )))
                                .build(),
                        )
                        .build(),
                ))
                .extensions(Some(Extensions::from_iter([(
                    "x-action-bodies",
                    serde_json::Value::Object(mapping),
                )])));
            op
        }
        ("GET", "/api/v1/cases/{id}/events") => Op::new("getEvents", "cases", "The case's events")
            .description("Not for admins. The engine's own events have actor `system`.")
            .param(case_id_param())
            .ok(
                "200",
                json_response("The history.", schema_ref(&EventList::name())).build(),
            )
            .problems(&[403, 404]),
        ("GET", "/api/v1/cases/{id}/verify") => {
            Op::new("verifyCase", "cases", "Verify the hash chain")
                .description("Auditors and supervisors.")
                .param(case_id_param())
                .ok(
                    "200",
                    json_response("The result.", schema_ref(&Verification::name())).build(),
                )
                .problems(&[403, 404])
        }
        ("GET", "/api/v1/cases/{id}/access-log") => {
            Op::new("getAccessLog", "cases", "Who read the case's personal data")
                .description("Auditors and supervisors.")
                .param(case_id_param())
                .ok(
                    "200",
                    json_response("The access log.", schema_ref(&AccessLog::name())).build(),
                )
                .problems(&[403, 404])
        }
        ("GET", "/api/v1/cases/{id}/deadlines/{name}") => {
            Op::new("getDeadline", "cases", "One deadline with its explanation")
                .param(case_id_param())
                .param(param(
                    "name",
                    ParameterIn::Path,
                    true,
                    string(),
                    "Deadline name (`interview`, `verification_reply:<request_id>`, ...); a name \
                     the case has not is 404 `not_found`.",
                ))
                .ok(
                    "200",
                    json_response("The deadline.", schema_ref(&DeadlineExplanation::name()))
                        .build(),
                )
                .problems(&[404])
        }
        _ => return None,
    };
    Some(op.build())
}

fn add_schema<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
}

fn body_description(schema: RefOr<Schema>, actions: &[&str]) -> RefOr<Schema> {
    let note = format!(
        "Request body of {}.",
        actions
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match schema {
        RefOr::T(Schema::Object(mut o)) => {
            o.description = Some(match o.description.take() {
                Some(d) => format!("{note} {d}"),
                None => note,
            });
            RefOr::T(Schema::Object(o))
        }
        other => other,
    }
}

/// Builds the document.
///
/// # Panics
/// Never; routes this module does not document are left out (and fail `tests/openapi.rs`).
#[must_use]
pub fn document() -> OpenApi {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    // Action bodies, with the actions each serves.
    let mut action_bodies: Vec<(ActionName, String)> = Vec::new();
    let mut bodies: BTreeMap<String, (RefOr<Schema>, Vec<&'static str>)> = BTreeMap::new();
    for action in client_actions() {
        if let Some((name, schema, refs)) = crate::models::action_body_schema(action) {
            schemas.extend(refs);
            bodies
                .entry(name.to_string())
                .or_insert_with(|| (schema, Vec::new()))
                .1
                .push(action.as_str());
            action_bodies.push((action, name.into_owned()));
        }
    }
    for (name, (schema, actions)) in bodies {
        schemas.push((name, body_description(schema, &actions)));
    }
    let (name, schema, refs) = crate::models::register_body_schema();
    schemas.extend(refs);
    schemas.push((name.into_owned(), schema));
    add_schema::<CaseView>(&mut schemas);
    add_schema::<Problem>(&mut schemas);
    add_schema::<CaseList>(&mut schemas);
    add_schema::<DeadlineList>(&mut schemas);
    add_schema::<StatsReport>(&mut schemas);
    add_schema::<EventList>(&mut schemas);
    add_schema::<Verification>(&mut schemas);
    add_schema::<AccessLog>(&mut schemas);
    add_schema::<DeadlineExplanation>(&mut schemas);
    add_schema::<Readiness>(&mut schemas);
    add_schema::<domain::ClientAction>(&mut schemas);
    add_schema::<domain::Stage>(&mut schemas);
    add_schema::<domain::Status>(&mut schemas);
    add_schema::<domain::DeadlineState>(&mut schemas);

    let mut components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with claims `sub`, `name`, `role`, `office`, `exp` and optional \
                         `jti`. Missing, invalid, expired or unsigned: 401.",
                    ))
                    .build(),
            ),
        );
    for (name, status, description) in PROBLEMS {
        components = components.response(*name, problem_response(*status, description));
    }

    let mut paths = PathsBuilder::new();
    for (method, path) in super::routes::ROUTES {
        let Some(op) = operation(method, path, &action_bodies) else {
            continue;
        };
        let method = match *method {
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            _ => HttpMethod::Get,
        };
        paths = paths.path(*path, PathItem::new(method, op));
    }

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("PTL Status Engine API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Case management of the status of a person affected by trafficking in \
                     human beings (REST contract v1). Errors are RFC 9457 problem+json.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .security(Some([SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]))
        .tags(Some([
            TagBuilder::new().name("cases").build(),
            TagBuilder::new().name("lists").build(),
            TagBuilder::new().name("stats").build(),
            TagBuilder::new().name("operations").build(),
        ]))
        .build()
}

/// The document as JSON text, built once.
///
/// # Errors
/// The document does not serialise (a bug).
pub fn document_json() -> Result<&'static str, ApiError> {
    static DOC: OnceLock<Result<String, String>> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_string(&document()).map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| ApiError::Internal(format!("the OpenAPI document: {e}")))
}

/// `GET /openapi.json`.
pub async fn openapi_json() -> Response {
    match document_json() {
        Ok(doc) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
            doc,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
