//! The HTTP client every subcommand uses: one request, its answer read whole (status, `ETag`,
//! `Retry-After`, content type, body as JSON or as text).

use std::time::Duration;

use serde_json::Value;

use crate::Res;

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub etag: String,
    pub body: Value,
    /// A `Retry-After` header was present.
    pub retry_after: bool,
    pub content_type: String,
}

#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Res<Resp> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let r = req.send().await.map_err(|e| format!("{e}"))?;
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let retry_after = r.headers().contains_key("retry-after");
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r.bytes().await.map_err(|e| format!("{e}"))?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Resp {
            status,
            etag,
            body,
            retry_after,
            content_type,
        })
    }

    pub async fn get(&self, path: &str, token: &str) -> Res<Resp> {
        self.send(reqwest::Method::GET, path, Some(token), &[], None)
            .await
    }

    pub async fn post(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Res<Resp> {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send(
            reqwest::Method::POST,
            path,
            Some(token),
            &h,
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }
}
