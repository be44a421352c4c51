//! The route table: every (method, path) the router serves, in the OpenAPI path template syntax.
//! The resource modules register exactly these and [`super::openapi`] documents exactly these
//! (`tests/openapi.rs` checks both directions): add a route here when you add one to a module's
//! router.

/// Every (method, path) the router serves.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/dashboard"),
    ("POST", "/api/v1/cases"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/deadlines"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/stats.csv"),
    ("GET", "/api/v1/cases/{id}"),
    ("POST", "/api/v1/cases/{id}/actions/{action}"),
    ("GET", "/api/v1/cases/{id}/events"),
    ("GET", "/api/v1/cases/{id}/verify"),
    ("GET", "/api/v1/cases/{id}/access-log"),
    ("GET", "/api/v1/cases/{id}/deadlines/{name}"),
];
