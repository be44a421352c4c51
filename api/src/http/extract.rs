//! The extractors: each turns one part of a request into a typed value or an [`ApiError`].
//!
//! Handlers list them in the order of `api.md`'s error precedence, so the first failing check
//! answers: the caller ([`Caller`], 401), the case in the caller's scope ([`CaseAccess`], 404),
//! the action segment ([`ActionSegment`], 404), typed query strings (400), and last the body with
//! what must be read after it ([`Create`], [`Act`]: 413, 400, 415, then 428 and the
//! `Idempotency-Key`'s 400). Checks that need the application (idempotent replay, role, version,
//! stage, fields) follow in [`crate::app`], in the same order.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use chrono::NaiveDate;
use ptl_domain::ActionName;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::app::{Caller, CaseRead, RequestKey};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        if let Some(c) = parts.extensions.get::<Self>() {
            return Ok(c.clone());
        }
        let claims = s.auth.verify(
            parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )?;
        let caller = Self {
            sub: claims.sub,
            role: claims.role,
            office: claims.office,
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The caller and the case named by the path's `{id}`, which the caller may see (anything else,
/// an id that is not a UUID included, is 404 `case_not_found`).
#[derive(Debug, Clone)]
pub struct CaseAccess {
    /// Who asks.
    pub caller: Caller,
    /// The case as it stands.
    pub case: CaseRead,
}

async fn path_params(parts: &mut Parts, s: &AppState) -> Result<RawPathParams, ApiError> {
    RawPathParams::from_request_parts(parts, s)
        .await
        .map_err(|e| ApiError::bad("path", e.body_text()))
}

impl FromRequestParts<AppState> for CaseAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, s).await?;
        let params = path_params(parts, s).await?;
        let id = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v.to_string())
            .ok_or(ApiError::CaseNotFound)?;
        let case = s.app.find_case(&caller, &id).await?;
        Ok(Self { caller, case })
    }
}

/// The path's `{action}`: a procedure action a client may post (anything else, `register` and the
/// engine's own records included, is 404 `unknown_action`).
#[derive(Debug, Clone, Copy)]
pub struct ActionSegment(pub ActionName);

impl FromRequestParts<AppState> for ActionSegment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let params = path_params(parts, s).await?;
        let segment = params
            .iter()
            .find(|(k, _)| *k == "action")
            .map_or("", |(_, v)| v);
        parse_action_name(segment).map(Self)
    }
}

/// A client action's name, or 404 `unknown_action` (shared with the fuzzing entry point).
pub(crate) fn parse_action_name(segment: &str) -> Result<ActionName, ApiError> {
    segment
        .parse()
        .ok()
        .filter(|a: &ActionName| a.is_client_action())
        .ok_or_else(|| ApiError::UnknownAction {
            action: segment.chars().take(64).collect(),
        })
}

/// The name of a deadline in the path (`{name}`).
#[derive(Debug, Clone)]
pub struct DeadlineSegment(pub String);

impl FromRequestParts<AppState> for DeadlineSegment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let params = path_params(parts, s).await?;
        Ok(Self(
            params
                .iter()
                .find(|(k, _)| *k == "name")
                .map_or_else(String::new, |(_, v)| v.to_string()),
        ))
    }
}

/// A JSON request body: its bytes (for the idempotency fingerprint) and its value.
#[derive(Debug, Clone)]
pub struct JsonBody {
    /// The body as sent.
    pub raw: Bytes,
    /// The body, parsed.
    pub value: serde_json::Value,
}

/// Checks the body's size (413), JSON syntax (400) and content type (415), in `api.md`'s order:
/// a body over the limit cannot be read at all, so its 413 comes first, and malformed JSON is
/// reported before a wrong content type.
pub(crate) fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, ApiError>,
) -> Result<JsonBody, ApiError> {
    let raw = body?;
    let value = decode_json(&raw)?;
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    if !json_type {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(JsonBody { raw, value })
}

/// JSON text into a value, or 400 `malformed_json` (shared with the fuzzing entry point).
pub(crate) fn decode_json(raw: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ApiError::MalformedJson {
        detail: format!("malformed JSON: {e}"),
    })
}

async fn read_body(req: Request, s: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, s).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge
        } else {
            ApiError::MalformedJson {
                detail: "the request body could not be read".into(),
            }
        }
    })
}

/// The `Idempotency-Key` header, with the fingerprint of the request it came with (method, path
/// and body; the caller's `sub` scopes it in the application).
fn request_key(
    headers: &HeaderMap,
    target: &str,
    body: &[u8],
) -> Result<Option<RequestKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| ApiError::bad("Idempotency-Key", "must be visible ASCII"))?;
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::bad("Idempotency-Key", "1 to 200 characters"));
    }
    let mut h = Sha256::new();
    // `<method> <path>\n<body>`, as the fingerprint has always been computed.
    h.update(target.as_bytes());
    h.update(b"\n");
    h.update(body);
    Ok(Some(RequestKey {
        key: key.to_string(),
        fingerprint: hex::encode(h.finalize()),
    }))
}

/// A JSON body with the request's headers and what the idempotency fingerprint covers besides
/// the body (method and path).
async fn read_json(req: Request, s: &AppState) -> Result<(HeaderMap, String, JsonBody), ApiError> {
    let headers = req.headers().clone();
    let target = format!("{} {}", req.method().as_str(), req.uri().path());
    let body = json_body(&headers, read_body(req, s).await)?;
    Ok((headers, target, body))
}

/// The body of a request that creates something: the JSON body, then its `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct Create {
    /// The body.
    pub body: JsonBody,
    /// The idempotency key, when sent.
    pub key: Option<RequestKey>,
}

impl FromRequest<AppState> for Create {
    type Rejection = ApiError;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, ApiError> {
        let (headers, target, body) = read_json(req, s).await?;
        let key = request_key(&headers, &target, &body.raw)?;
        Ok(Self { body, key })
    }
}

/// The JSON body of a request that asks rather than creates (a person search): size, syntax and
/// content type checked as for [`Create`]. It has no `Idempotency-Key`: a repeated search is a
/// new search (and a new entry in the access log of every case it finds).
#[derive(Debug, Clone)]
pub struct SearchBody(pub JsonBody);

impl FromRequest<AppState> for SearchBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, ApiError> {
        let (_, _, body) = read_json(req, s).await?;
        Ok(Self(body))
    }
}

/// The body of an action on a case: the JSON body, then `If-Match` (428 when missing, 400 when
/// unreadable), then its `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct Act {
    /// The body.
    pub body: JsonBody,
    /// The version the caller acts on.
    pub expected: u64,
    /// The idempotency key, when sent.
    pub key: Option<RequestKey>,
}

impl FromRequest<AppState> for Act {
    type Rejection = ApiError;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, ApiError> {
        let (headers, target, body) = read_json(req, s).await?;
        let expected = match headers.get(header::IF_MATCH) {
            None => return Err(ApiError::IfMatchRequired),
            Some(v) => v
                .to_str()
                .ok()
                .map(|v| {
                    v.trim()
                        .trim_start_matches("W/")
                        .trim_matches('"')
                        .to_string()
                })
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad("If-Match", "the quoted version from the ETag, e.g. \"3\"")
                })?,
        };
        let key = request_key(&headers, &target, &body.raw)?;
        Ok(Self {
            body,
            expected,
            key,
        })
    }
}

/// The query string as a map of parameters: unreadable is 400, and so is a NUL character
/// (U+0000) in any name or value (PostgreSQL cannot compare or store it) and a parameter the route
/// does not define. [`Params::date`] and friends read typed values with 400s naming the parameter.
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        let Query(p) = Query::<HashMap<String, String>>::from_request_parts(parts, s)
            .await
            .map_err(|e| ApiError::bad("query", e.body_text()))?;
        match p.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            Some((k, _)) => Err(ApiError::bad(
                k,
                "must not contain the NUL character (U+0000)",
            )),
            None => Ok(Self(p)),
        }
    }
}

impl Params {
    /// Refuses a parameter not in `allowed`.
    ///
    /// # Errors
    /// 400 naming the first unknown parameter.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::bad(
                k,
                format!("unknown parameter; expected one of {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// A parameter as sent.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.get(key)
    }

    /// A strict `YYYY-MM-DD` date.
    ///
    /// # Errors
    /// 400 when present and not a date.
    pub fn date(&self, key: &str) -> Result<Option<NaiveDate>, ApiError> {
        self.0
            .get(key)
            .map(|v| {
                crate::models::parse_strict_date(v)
                    .ok_or_else(|| ApiError::bad(key, "a date YYYY-MM-DD"))
            })
            .transpose()
    }

    /// A value of a closed set that parses with `FromStr`.
    ///
    /// # Errors
    /// 400 with the parser's message.
    pub fn parsed<T>(&self, key: &str) -> Result<Option<T>, ApiError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        self.0
            .get(key)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::bad(key, e.to_string()))
            })
            .transpose()
    }

    /// `true` or `false` (absent is `false`).
    ///
    /// # Errors
    /// 400 for anything else.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.0.get(key).map(String::as_str) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::bad(key, "true or false")),
        }
    }

    /// The page size: 1 to the projections' maximum, 50 by default.
    ///
    /// # Errors
    /// 400 outside that range.
    pub fn limit(&self) -> Result<u32, ApiError> {
        let max = ptl_projections::queries::MAX_LIMIT;
        match self.0.get("limit") {
            None => Ok(50),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::bad("limit", format!("1 to {max}"))),
        }
    }
}
