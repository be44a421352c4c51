//! What every page shares: the layout's data ([`Chrome`]: the user, the navigation, the language,
//! the CSRF token of the sign-out form), rendering, and the headers of a page response
//! (`Content-Security-Policy: default-src 'self'`, `Cache-Control: no-store`, the language).

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use ptl_domain::Role;

use super::assets;
use super::session::SignedIn;
use crate::http::AppState;
use crate::i18n::{self, Lang};
use crate::offices::OfficeTree;

/// An office's name in the page's language, from the office tree (the code only for an office
/// the tree does not know).
#[must_use]
pub fn office_name(tree: &OfficeTree, lang: Lang, code: &str) -> String {
    tree.get(code).map_or_else(
        || code.to_string(),
        |o| match lang {
            Lang::Uk => o.name_uk.clone(),
            Lang::En => o.name_en.clone(),
        },
    )
}

/// The Content-Security-Policy of every page: nothing from another origin, no inline script or
/// style, no framing.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Translation in templates: `{{ tr.t("web-sign-in") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    /// The text of a key.
    #[must_use]
    pub fn t(&self, key: &str) -> String {
        i18n::t(self.0, key)
    }

    /// The text of a key with one argument.
    #[must_use]
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        i18n::t_args(self.0, key, &[(name, value)])
    }

    /// The label of a code in a family (`stage`, `status`, `role`, `office`, ...).
    #[must_use]
    pub fn label(&self, family: &str, code: &str) -> String {
        i18n::label(self.0, family, code)
    }

    /// The label of a field (`applicant.sex`, `services[0].provider`).
    #[must_use]
    pub fn field(&self, path: &str) -> String {
        i18n::field(self.0, path)
    }

    /// The label of an enumeration's value (`enum_label("referral_source", "police")`).
    #[must_use]
    pub fn enum_label(&self, type_name: &str, value: &str) -> String {
        i18n::enum_label(self.0, type_name, value)
    }

    /// The label of a deadline name (also `verification_reply:<id>`).
    #[must_use]
    pub fn deadline(&self, name: &str) -> String {
        i18n::deadline(self.0, name)
    }

    /// A count with its plural form (`count("count-days", 3)`).
    #[must_use]
    pub fn count(&self, key: &str, n: i64) -> String {
        i18n::count(self.0, key, n)
    }

    /// A date as people write it in this language.
    #[must_use]
    pub fn date(&self, d: &chrono::NaiveDate) -> String {
        i18n::date(self.0, *d)
    }

    /// The `lang` attribute.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.0.as_str()
    }
}

/// One link of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its text (translated).
    pub text: String,
    /// Whether it is the current page.
    pub current: bool,
}

/// The layout's data.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Translation.
    pub tr: Tr,
    /// The page's title (translated).
    pub title: String,
    /// The signed-in user's name, role and office (translated), when signed in.
    pub user: Option<(String, String, String)>,
    /// The navigation (empty when not signed in).
    pub nav: Vec<NavItem>,
    /// The CSRF token for the sign-out form.
    pub csrf: String,
    /// The stylesheet's and script's addresses (content-hashed).
    pub css: &'static str,
    /// See [`Self::css`].
    pub js: &'static str,
    /// Idle timeout in seconds (the script warns before it).
    pub idle_secs: u64,
}

/// The pages each role has in its navigation: `(path, catalogue key, roles)`.
const NAV: &[(&str, &str, &[Role])] = &[
    (
        "/",
        "web-nav-queue",
        &[Role::Caseworker, Role::Supervisor, Role::Admin],
    ),
    ("/cases/new", "web-nav-register", &[Role::Caseworker]),
    (
        "/person-search",
        "web-nav-person-search",
        &[Role::Caseworker, Role::Supervisor, Role::Auditor],
    ),
    ("/inbox", "web-nav-inbox", &[Role::DecisionOfficer]),
    ("/social", "web-nav-social", &[Role::SocialWorker]),
    (
        "/statistics",
        "web-nav-dashboard",
        &[Role::Supervisor, Role::Auditor],
    ),
    (
        "/access-log",
        "web-nav-access-log",
        &[Role::Supervisor, Role::Auditor],
    ),
    (
        "/security-log",
        "web-nav-security-log",
        &[Role::Auditor, Role::Admin],
    ),
    (
        "/audit/integrity",
        "web-nav-integrity",
        &[Role::Auditor, Role::Supervisor],
    ),
    ("/admin", "web-nav-admin", &[Role::Admin]),
    ("/admin/status", "web-nav-status", &[Role::Admin]),
];

impl Chrome {
    /// The layout for a signed-in user on the page at `path`.
    #[must_use]
    pub fn for_user(s: &AppState, user: &SignedIn, title_key: &str, path: &str) -> Self {
        let tr = Tr(user.lang);
        let role = user.caller.role;
        Self {
            tr,
            title: tr.t(title_key),
            user: Some((
                user.user.display_name.clone(),
                tr.label("role", role.as_str()),
                office_name(&s.app.offices, user.lang, &user.user.office),
            )),
            nav: NAV
                .iter()
                .filter(|(_, _, roles)| roles.contains(&role))
                .map(|(href, key, _)| NavItem {
                    href,
                    text: tr.t(key),
                    current: *href == path,
                })
                .collect(),
            csrf: user.csrf().to_string(),
            css: assets::css_path(),
            js: assets::js_path(),
            idle_secs: s.web.idle_timeout.as_secs(),
        }
    }

    /// The layout for a page without a signed-in user (sign-in).
    #[must_use]
    pub fn anonymous(lang: Lang, title_key: &str) -> Self {
        let tr = Tr(lang);
        Self {
            tr,
            title: tr.t(title_key),
            user: None,
            nav: Vec::new(),
            csrf: String::new(),
            css: assets::css_path(),
            js: assets::js_path(),
            idle_secs: 0,
        }
    }

    /// The same layout with the idle-timeout warning (seconds).
    #[must_use]
    pub fn with_idle(mut self, secs: u64) -> Self {
        self.idle_secs = secs;
        self
    }
}

/// Renders a page with the page headers and `status`.
pub fn render(status: StatusCode, lang: Lang, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            page_headers(&mut response, lang);
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// The headers every page carries.
pub fn page_headers(response: &mut Response, lang: Lang) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.as_str()),
    );
}
