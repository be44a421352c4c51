//! The stylesheet and the script, compiled into the binary and served under their content hash
//! (`/static/app.<hash>.css`), so they are cached for a year and a new binary's are fetched anew.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::http::AppState;

/// `(name, extension, content type, bytes)`.
const FILES: &[(&str, &str, &str, &[u8])] = &[
    (
        "app",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
];

struct Asset {
    path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, ext, content_type, bytes)| {
            let hash = hex::encode(&Sha256::digest(bytes)[..6]);
            Asset {
                path: format!("/static/{name}.{hash}.{ext}"),
                content_type,
                bytes,
            }
        })
        .collect()
});

fn path_of(ext: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.path.ends_with(ext))
        .map_or("/static/missing", |a| a.path.as_str())
}

/// The stylesheet's address.
#[must_use]
pub fn css_path() -> &'static str {
    path_of(".css")
}

/// The script's address.
#[must_use]
pub fn js_path() -> &'static str {
    path_of(".js")
}

async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/static/{file}");
    match ASSETS.iter().find(|a| a.path == wanted) {
        Some(a) => {
            let mut r = a.bytes.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `GET /static/{file}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/static/{file}", get(serve))
}
