//! The OpenAPI 3.1 document of the REST API, served at `GET /openapi.json` (`api.md`).
//!
//! The paths come from the code that serves them: each handler of [`super`]'s resource modules
//! carries a `#[utoipa::path(...)]` attribute (path, parameters, body, responses), each module's
//! `router()` registers its handlers with `utoipa_axum::routes!`, and [`super::api`] merges them,
//! so the router and the document are one value ([`document`] and [`super::router`] both split
//! it). Schemas come with the types the handlers send and read: request bodies in
//! [`crate::models`], the case view in [`crate::view`], problems in [`super::error`], the other
//! response bodies beside their handlers, shared scalars and the domain's value sets in
//! [`crate::schema`].
//!
//! This module holds what several attributes share (parameters, problem responses, the request
//! bodies' schemas) and what a path attribute cannot say, added by [`document`]: the reusable
//! problem responses as components, the bearer security scheme, tags and info.
//!
//! Actions: there is one documented path, `POST /api/v1/cases/{id}/actions/{action}`, whose
//! `action` parameter is the enum of client action names and whose request body is `anyOf` the
//! action body schemas ([`ActionRequest`]; not `oneOf`: several bodies accept the same instance,
//! e.g. a bare `{"occurred_on": ...}`). Which body goes with which action is stated by the
//! operation's `x-action-bodies` extension ([`action_bodies`]: action name -> `$ref`) and in each
//! body schema's description. Every body schema has `additionalProperties: false` (a field the
//! action does not define is a 422 `unknown_field`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Header, InfoBuilder, OpenApi, Ref, RefOr, Required, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::error::{ApiError, Problem, PROBLEM_JSON};
use crate::schema::client_actions;

/// Name of the bearer security scheme.
pub const BEARER: &str = "bearer";

fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn header(schema: RefOr<Schema>, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

fn param(
    name: &str,
    place: ParameterIn,
    required: bool,
    schema: RefOr<Schema>,
    description: &str,
) -> Parameter {
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

// ---------------------------------------------------------------------------------------------
// Parameters several routes share (`params(...)` of the path attributes).

/// The path's `{id}`: a case id.
#[derive(Debug, Clone, Copy)]
pub struct CaseId;

impl IntoParams for CaseId {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(
            "id",
            ParameterIn::Path,
            true,
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .into(),
            "Case id. An id that is not a case in the caller's scope is 404 `case_not_found`.",
        )]
    }
}

/// The `Accept-Language` header of every authenticated route (the language of problem titles).
#[derive(Debug, Clone, Copy)]
pub struct AcceptLanguage;

impl IntoParams for AcceptLanguage {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(
            "Accept-Language",
            ParameterIn::Header,
            false,
            string(),
            "Language of problem titles: `uk` or `en` (the default).",
        )]
    }
}

/// The `Idempotency-Key` header of the writing routes.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(
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
        )]
    }
}

/// The `If-Match` header of an action: the version the client saw.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch;

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(
            "If-Match",
            ParameterIn::Header,
            true,
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r#"^(W/)?"?[0-9]+"?$"#))
                .into(),
            "The case's current ETag (`\"3\"`). Missing: 428; stale: 412.",
        )]
    }
}

/// The `limit` and `cursor` of a paged list.
#[derive(Debug, Clone, Copy)]
pub struct Page;

impl IntoParams for Page {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            param(
                "limit",
                ParameterIn::Query,
                false,
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(ptl_projections::queries::MAX_LIMIT))
                    .default(Some(50.into()))
                    .into(),
                "Page size.",
            ),
            param(
                "cursor",
                ParameterIn::Query,
                false,
                string(),
                "The `next_cursor` of the previous page (opaque).",
            ),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Schemas of parameters and headers that no Rust type describes (`inline(...)` in attributes).

macro_rules! inline_schema {
    ($($(#[$doc:meta])* $name:ident => $schema:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {}
    )+};
}

inline_schema! {
    /// The `ETag` of a case: its version, quoted.
    Etag => ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r#"^"[0-9]+"$"#))
        .into();
    /// Any JSON object (the document itself).
    JsonObject => ObjectBuilder::new().schema_type(Type::Object).into();
    /// An integer with no format (`Retry-After`).
    Integer => ObjectBuilder::new().schema_type(Type::Integer).into();
    /// A case version, from 1.
    Version => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .into();
    /// The liveness answer.
    Liveness => ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["ok"]))
        .into();
    /// The `include` values of the case view.
    Include => crate::schema::string_enum(["person"], "Extra parts.");
    /// The statistics breakdowns.
    GroupBy => crate::schema::string_enum(["office", "successor", "month"], "Breakdown: by the offices of the period, by today's offices (closed offices with their successors), or by month.");
    /// The statistics disclosure controls.
    Disclosure => crate::schema::string_enum(["public", "internal"], "Disclosure control.");
    /// The formats of an export.
    ExportFormat => crate::schema::string_enum(["json", "csv"], "Output format (default json).");
    /// The escalation levels of the work queue.
    Escalated => crate::schema::string_enum(["1", "2"], "Escalation level.");
}

// ---------------------------------------------------------------------------------------------
// Request bodies.

/// The body of `POST /api/v1/cases`, as [`crate::models::parse_register`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct RegisterRequest;

impl PartialSchema for RegisterRequest {
    fn schema() -> RefOr<Schema> {
        crate::models::register_body_schema().1
    }
}

impl ToSchema for RegisterRequest {
    fn name() -> Cow<'static, str> {
        crate::models::register_body_schema().0
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(crate::models::register_body_schema().2);
    }
}

/// The bodies of the actions, from [`crate::models::action_body_schema`].
struct ActionBodies {
    /// Each body schema once, described with the actions it serves.
    described: BTreeMap<String, RefOr<Schema>>,
    /// The schemas the bodies refer to.
    referred: Vec<(String, RefOr<Schema>)>,
    /// Which body goes with which action, in the order of the actions.
    by_action: Vec<(&'static str, String)>,
}

fn action_bodies_table() -> ActionBodies {
    let mut referred: Vec<(String, RefOr<Schema>)> = Vec::new();
    let mut bodies: BTreeMap<String, (RefOr<Schema>, Vec<&'static str>)> = BTreeMap::new();
    let mut by_action = Vec::new();
    for action in client_actions() {
        if let Some((name, schema, refs)) = crate::models::action_body_schema(action) {
            referred.extend(refs);
            bodies
                .entry(name.to_string())
                .or_insert_with(|| (schema, Vec::new()))
                .1
                .push(action.as_str());
            by_action.push((action.as_str(), name.into_owned()));
        }
    }
    let described = bodies
        .into_iter()
        .map(|(name, (schema, actions))| (name, body_description(schema, &actions)))
        .collect();
    ActionBodies {
        described,
        referred,
        by_action,
    }
}

/// The body of `POST /api/v1/cases/{id}/actions/{action}`: `anyOf` the action bodies, in the
/// order of the actions.
#[derive(Debug, Clone, Copy)]
pub struct ActionRequest;

impl PartialSchema for ActionRequest {
    fn schema() -> RefOr<Schema> {
        let by_action = action_bodies_table().by_action;
        let mut names: Vec<&str> = Vec::new();
        for (_, name) in &by_action {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        Schema::AnyOf(
            names
                .into_iter()
                .map(|n| RefOr::Ref(Ref::from_schema_name(n)))
                .fold(AnyOfBuilder::new(), AnyOfBuilder::item)
                .build(),
        )
        .into()
    }
}

impl ToSchema for ActionRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        let bodies = action_bodies_table();
        schemas.extend(bodies.referred);
        schemas.extend(bodies.described);
    }
}

/// The `x-action-bodies` extension of the action route: action name -> `$ref` of its body.
#[must_use]
pub fn action_bodies() -> serde_json::Value {
    serde_json::Value::Object(
        action_bodies_table()
            .by_action
            .into_iter()
            .map(|(action, name)| {
                (
                    action.to_string(),
                    serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }),
                )
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Problem responses: components, referred to by `(status = ..., response = problems::X)`.

/// The reusable problem responses, one type per status (`response = problems::NotFound` in a
/// path attribute refers to the component, which [`document`] adds).
pub mod problems {
    use std::borrow::Cow;

    use utoipa::openapi::response::Response;
    use utoipa::openapi::RefOr;
    use utoipa::ToResponse;

    macro_rules! problems {
        ($($name:ident = $status:literal, $description:literal;)+) => {
            $(
                #[doc = $description]
                #[derive(Debug, Clone, Copy)]
                pub struct $name;

                impl<'r> ToResponse<'r> for $name {
                    fn response() -> (&'r str, RefOr<Response>) {
                        (stringify!($name), super::problem_response($status, $description).into())
                    }
                }
            )+

            /// Every problem response: (component name, the response).
            pub(super) fn all() -> Vec<(Cow<'static, str>, RefOr<Response>)> {
                vec![$(
                    {
                        let (name, r) = <$name as ToResponse>::response();
                        (Cow::Borrowed(name), r)
                    },
                )+]
            }
        };
    }

    problems! {
        BadRequest = 400, "`malformed_json` (the body is not JSON) or `bad_parameter` (a query, path or header parameter is unreadable).";
        Unauthorized = 401, "`unauthorized`: missing, invalid, expired, unsigned or revoked token.";
        Forbidden = 403, "`forbidden`: in scope, but the role may not do this; `consent_not_in_force`: a social worker asked for the person's data without the consent `share_with_social_services` in force.";
        NotFound = 404, "`case_not_found` (no such case, or outside the caller's scope), `not_found` (another resource) or `unknown_action`.";
        Conflict = 409, "`action_not_allowed` in the case's current stage (with `allowed_actions`), `consent_required`, or `request_in_progress` (same `Idempotency-Key` still running).";
        PreconditionFailed = 412, "`version_mismatch`: the `If-Match` version is stale; read the case again.";
        PayloadTooLarge = 413, "`body_too_large`: the body exceeds 1 MiB.";
        UnsupportedMediaType = 415, "`unsupported_media_type`: the body is not `application/json`.";
        UnprocessableEntity = 422, "`validation_failed` or a field problem's own code such as `date_in_future` (with `errors`: field -> message), `unknown_field`, or `idempotency_key_reused`.";
        PreconditionRequired = 428, "`if_match_required`: an action without `If-Match`.";
        TooManyRequests = 429, "`too_many_requests`: past the per-address or per-user rate limit; retry after `Retry-After` seconds.";
        TooManySearches = 429, "`too_many_searches`: the caller made as many person searches as a minute allows; retry after `Retry-After` seconds.";
        InternalError = 500, "`internal`: an unexpected failure (logged).";
        ServiceUnavailable = 503, "`store_unavailable` (or the request timed out); retry after `Retry-After` seconds.";
    }
}

fn problem_response(status: u16, description: &str) -> ApiResponse {
    let mut r = ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name(Problem::name()))))
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
        429 | 503 => {
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

// ---------------------------------------------------------------------------------------------
// The document.

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

/// The document: the paths, parameters, bodies, responses and schemas of [`super::api`]'s
/// attributes, with the problem responses, the security scheme, tags and info added.
#[must_use]
pub fn document() -> OpenApi {
    let mut doc = super::api().into_openapi();
    doc.info = InfoBuilder::new()
        .title("PTL Status Engine API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Case management of the status of a person affected by trafficking in human beings \
             (REST contract v1). Errors are RFC 9457 problem+json.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    // Problems are referred to by name from the operations, and refer to `Problem`.
    let mut problem_schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    Problem::schemas(&mut problem_schemas);
    for (name, schema) in problem_schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    for (name, response) in problems::all() {
        components.responses.insert(name.into_owned(), response);
    }
    components.security_schemes.insert(
        BEARER.to_string(),
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
    doc.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    // Every route is behind the per-address rate limit (`api.md`: 429 before everything else).
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .entry("429".to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("TooManyRequests")));
        }
    }
    doc.tags = Some(
        [
            "cases",
            "lists",
            "stats",
            "registers",
            "rules",
            "audit",
            "operations",
        ]
        .into_iter()
        .map(|t| TagBuilder::new().name(t).build())
        .collect(),
    );
    doc
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

/// What the resource modules' tests share: the query parameters a path attribute documents and
/// the parameters a handler reads, both sorted, so a test can assert they are the same list.
#[cfg(test)]
pub(crate) mod params {
    use utoipa::Path;

    /// The query parameters the path attribute `P` documents, sorted.
    pub(crate) fn documented<P: Path>() -> Vec<String> {
        let mut names: Vec<String> = P::operation()
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
            .map(|p| p.name)
            .collect();
        names.sort();
        names
    }

    /// `names`, sorted.
    pub(crate) fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(ToString::to_string).collect();
        v.sort();
        v
    }
}
