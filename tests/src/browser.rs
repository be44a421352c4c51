//! The browser harness: headless Chromium driven over WebDriver (the `thirtyfour` crate) through
//! Debian's `chromedriver`, for the tests of the web application.
//!
//! - One `chromedriver` per test binary, started on a free loopback port at the first
//!   [`Browser::start`] and ended when the test binary exits (it runs under a small shell that
//!   kills it as soon as the pipe from this process closes, so it never outlives the tests, also
//!   when one panics). Each [`Browser`] is its own WebDriver session, a fresh headless Chromium
//!   with an empty profile, ended when the `Browser` is dropped.
//! - Helpers to fill a form by input name, submit it and wait for the next page, read the
//!   `role="alert"` and `role="status"` messages (`web.md`'s stable hooks), save a screenshot
//!   under `target/screenshots/<name>.png`, and run axe-core in the page, failing with a readable
//!   list of the WCAG 2.1 A/AA violations.
//! - The npm packages (axe-core, oidc-provider) come from `tests/browser/package-lock.json`; when
//!   `tests/browser/node_modules` is missing, the first test that needs it runs `npm ci` there
//!   once (`.ci/run` does it beforehand).
//!
//! Debian's `chromium` and `chromium-driver` packages are required (`.ci/run` installs them).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use thirtyfour::prelude::*;
use thirtyfour::ChromiumLikeCapabilities;

/// Where Debian puts the driver and the browser.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a page, an element or a script may take before a step fails (a ceiling for a slow CI
/// machine, never a figure a test asserts).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The directory of this crate's npm packages (`tests/browser`).
#[must_use]
pub fn npm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// The workspace's `target` directory.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// Installs `tests/browser/node_modules` from the committed lock file if it is not there, and
/// returns the directory. Threads of one test binary wait for a single install; separate test
/// binaries each install into a directory of their own and move it into place with one rename,
/// so two of them never write into the same tree.
///
/// # Panics
///
/// When `npm ci` fails (its output is in the message).
pub fn node_modules() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let dir = npm_dir();
    let modules = dir.join("node_modules");
    let installed = |m: &Path| {
        m.join("axe-core/axe.min.js").is_file() && m.join("oidc-provider/package.json").is_file()
    };
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if installed(&modules) {
        return modules;
    }
    let staging = dir.join(format!(".install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the npm staging directory");
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(dir.join(f), staging.join(f)).expect("copy the npm manifest");
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(&staging)
        .output()
        .expect("run npm (Node.js and npm are needed for the browser tests)");
    assert!(
        out.status.success(),
        "npm ci in {} failed:\n{}{}",
        staging.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Another test binary may have won the race: then its tree is kept and ours dropped.
    if std::fs::rename(staging.join("node_modules"), &modules).is_err() {
        assert!(
            installed(&modules),
            "could not move node_modules into {}",
            dir.display()
        );
    }
    let _ = std::fs::remove_dir_all(&staging);
    modules
}

/// The shared `chromedriver` of this test binary.
#[derive(Debug)]
struct Driver {
    url: String,
    log: PathBuf,
    /// The shell that watches the pipe; chromedriver ends when the pipe closes.
    _watch: Child,
    /// Held open for the life of the process; its end closing is the signal to stop.
    _pipe: Mutex<ChildStdin>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start_driver() -> Result<Driver, String> {
    for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
        if !Path::new(path).exists() {
            return Err(format!(
                "{path} is missing: install Debian's `{package}` (apt-get install -y chromium chromium-driver; .ci/run does)"
            ));
        }
    }
    let port = free_port();
    let log = std::env::temp_dir().join(format!("ptl-chromedriver-{}.log", std::process::id()));
    // chromedriver in the background of a shell that waits for this process's pipe to close
    // (when the test binary exits, however it exits), then ends chromedriver.
    let script = r#"
        "$1" --port="$2" --allowed-ips=127.0.0.1 --log-path="$3" </dev/null >/dev/null 2>&1 &
        pid=$!
        cat >/dev/null
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    "#;
    let mut watch = Command::new("sh")
        .args(["-c", script, "sh", CHROMEDRIVER])
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {CHROMEDRIVER}: {e}"))?;
    let pipe = watch
        .stdin
        .take()
        .ok_or("no pipe to the chromedriver shell")?;
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > STEP_TIMEOUT {
            return Err(format!(
                "chromedriver did not listen on port {port}: {}",
                log_tail(&log)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Driver {
        url: format!("http://127.0.0.1:{port}"),
        log,
        _watch: watch,
        _pipe: Mutex::new(pipe),
    })
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();
    match DRIVER.get_or_init(start_driver) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

/// One axe-core violation, as printed when a page fails the check.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The rule (`color-contrast`, `label`, ...).
    pub id: String,
    /// `minor` to `critical`.
    pub impact: String,
    /// What the rule asks for.
    pub help: String,
    /// Where to read more.
    pub help_url: String,
    /// The offending elements: a CSS selector and axe's summary for each.
    pub nodes: Vec<(String, String)>,
}

/// Renders violations one rule a paragraph, with the elements under it.
#[must_use]
pub fn describe(violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "- {} ({}): {}\n  {}\n",
            v.id, v.impact, v.help, v.help_url
        ));
        for (target, summary) in &v.nodes {
            out.push_str(&format!("    at {target}\n"));
            for line in summary.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    out
}

/// A headless Chromium session.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver session, for whatever the helpers do not cover.
    pub driver: WebDriver,
}

impl Browser {
    /// A fresh headless Chromium (empty profile, 1280×1400, Ukrainian then English preferred).
    ///
    /// # Panics
    ///
    /// When chromedriver or Chromium cannot be started (the message says which and why).
    pub async fn start() -> Self {
        let d = driver();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1400",
            "--lang=uk",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_experimental_option("prefs", json!({"intl.accept_languages": "uk,en"}))
            .unwrap();
        let driver = match WebDriver::new(d.url.as_str(), caps).await {
            Ok(w) => w,
            Err(e) => panic!(
                "no browser session from chromedriver: {e}\nchromedriver log:\n{}",
                log_tail(&d.log)
            ),
        };
        driver.set_page_load_timeout(STEP_TIMEOUT).await.unwrap();
        driver.set_script_timeout(STEP_TIMEOUT).await.unwrap();
        Self { driver }
    }

    /// Ends the session (dropping the `Browser` does the same, blocking).
    pub async fn quit(self) {
        let _ = self.driver.quit().await;
    }

    /// Opens `url` and waits for it to load; fails when the browser shows its own error page
    /// instead (no server, or an error answered with an empty body).
    pub async fn goto(&self, url: &str) {
        self.driver
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.assert_not_browser_error(url).await;
    }

    /// Fails when the page is Chromium's own error page.
    pub async fn assert_not_browser_error(&self, what: &str) {
        assert!(
            !self.exists("#main-frame-error").await,
            "the browser shows its own error page for {what}: {}",
            self.text()
                .await
                .lines()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }

    /// The address shown in the address bar.
    pub async fn url(&self) -> String {
        self.driver.current_url().await.unwrap().to_string()
    }

    /// The page's HTML as the browser holds it now.
    pub async fn source(&self) -> String {
        self.driver.source().await.unwrap()
    }

    /// The first element matching a CSS selector, waiting for it to appear.
    pub async fn find(&self, css: &str) -> WebElement {
        match self
            .driver
            .query(By::Css(css))
            .wait(STEP_TIMEOUT, Duration::from_millis(100))
            .first()
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no element `{css}` on {}: {e}", self.url().await),
        }
    }

    /// Every element matching a CSS selector now (no waiting).
    pub async fn find_all(&self, css: &str) -> Vec<WebElement> {
        self.driver.find_all(By::Css(css)).await.unwrap()
    }

    /// Whether an element matching the selector is on the page now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The form `form[data-form="<name>"]` or, failing that, `form[data-action="<name>"]`.
    pub async fn form(&self, name: &str) -> WebElement {
        let css = format!("form[data-form=\"{name}\"], form[data-action=\"{name}\"]");
        self.find(&css).await
    }

    /// Fills the inputs of the form `name` (see [`Browser::form`]) by input name: text-like inputs
    /// and text areas are typed into (after clearing), dates and times are set, a select picks the
    /// option with that value, a checkbox or radio button with that value is checked (a checkbox
    /// given `"false"` is unchecked).
    pub async fn fill(&self, name: &str, fields: &[(&str, &str)]) {
        let form = self.form(name).await;
        for (field, value) in fields {
            fill_field(&self.driver, &form, name, field, value).await;
        }
    }

    /// Submits the form `name` with its submit button and waits for the next page to load.
    pub async fn submit(&self, name: &str) {
        let form = self.form(name).await;
        let button = form
            .find(By::Css(
                "button[type=submit], input[type=submit], button:not([type])",
            ))
            .await
            .unwrap_or_else(|e| panic!("form `{name}` has no submit button: {e}"));
        self.click_and_wait(&button).await;
    }

    /// Fills and submits the form `name`.
    pub async fn fill_and_submit(&self, name: &str, fields: &[(&str, &str)]) {
        self.fill(name, fields).await;
        self.submit(name).await;
    }

    /// Clicks an element that leads to another page (a link, a submit button) and waits until the
    /// new page has replaced the old one and loaded.
    pub async fn click_and_wait(&self, element: &WebElement) {
        let old = self.driver.find(By::Css("html")).await.unwrap();
        element.click().await.unwrap();
        old.wait_until()
            .wait(STEP_TIMEOUT, Duration::from_millis(50))
            .stale()
            .await
            .unwrap_or_else(|e| panic!("the page did not change after the click: {e}"));
        self.wait_loaded().await;
        self.assert_not_browser_error(&self.url().await).await;
    }

    /// Waits for `document.readyState` to be `complete`.
    pub async fn wait_loaded(&self) {
        let started = Instant::now();
        loop {
            let state = self
                .driver
                .execute("return document.readyState", Vec::<Value>::new())
                .await
                .map(|r| r.json().as_str().unwrap_or("").to_owned())
                .unwrap_or_default();
            if state == "complete" {
                return;
            }
            assert!(
                started.elapsed() < STEP_TIMEOUT,
                "the page at {} did not finish loading",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The texts of the elements with `role="alert"` (errors, the stale-version notice).
    pub async fn alerts(&self) -> Vec<String> {
        self.texts("[role=\"alert\"]").await
    }

    /// The texts of the elements with `role="status"` (confirmations).
    pub async fn statuses(&self) -> Vec<String> {
        self.texts("[role=\"status\"]").await
    }

    /// The visible texts of the elements matching a selector, trimmed, empty ones left out.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            let t = e.text().await.unwrap_or_default();
            let t = t.trim();
            if !t.is_empty() {
                out.push(t.to_owned());
            }
        }
        out
    }

    /// The visible text of the whole page.
    pub async fn text(&self) -> String {
        self.driver
            .find(By::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Saves a screenshot of the viewport as `target/screenshots/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let png = self.driver.screenshot_as_png().await.unwrap();
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&png).unwrap();
        path
    }

    /// Runs axe-core (`tests/browser/node_modules/axe-core/axe.min.js`, injected through
    /// WebDriver, which the page's CSP does not govern) on the current page with the WCAG 2.1 A
    /// and AA rules, and returns the violations.
    pub async fn axe(&self) -> Vec<Violation> {
        let source = axe_source();
        // The script is a function body: axe's bundle assigns `window.axe` itself.
        self.driver
            .execute(
                format!("{source}\n;return typeof window.axe;"),
                Vec::<Value>::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("inject axe-core: {e}"));
        let ret = self
            .driver
            .execute_async(
                r"
                const done = arguments[arguments.length - 1];
                window.axe
                  .run(document, {
                    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
                    resultTypes: ['violations'],
                  })
                  .then((r) => done({ violations: r.violations.map((v) => ({
                      id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
                      nodes: v.nodes.map((n) => [n.target.join(' '), n.failureSummary || '']),
                  })) }))
                  .catch((e) => done({ error: String(e && e.stack || e) }));
                ",
                Vec::<Value>::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("run axe-core: {e}"));
        let v = ret.json();
        if let Some(e) = v.get("error") {
            panic!("axe-core failed in the page: {e}");
        }
        v["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe-core returned no result: {v}"))
            .iter()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or("").to_owned(),
                impact: v["impact"].as_str().unwrap_or("").to_owned(),
                help: v["help"].as_str().unwrap_or("").to_owned(),
                help_url: v["helpUrl"].as_str().unwrap_or("").to_owned(),
                nodes: v["nodes"]
                    .as_array()
                    .map(|ns| {
                        ns.iter()
                            .map(|n| {
                                (
                                    n[0].as_str().unwrap_or("").to_owned(),
                                    n[1].as_str().unwrap_or("").to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Fails the test with a readable list when axe-core finds WCAG 2.1 A/AA violations on the
    /// current page; `page` names it in the message.
    pub async fn assert_accessible(&self, page: &str) {
        let violations = self.axe().await;
        assert!(
            violations.is_empty(),
            "axe-core: {} WCAG 2.1 A/AA violation(s) on {page} ({}):\n{}",
            violations.len(),
            self.url().await,
            describe(&violations)
        );
    }
}

/// axe-core's bundle, read once.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = node_modules().join("axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    })
}

async fn fill_field(
    driver: &WebDriver,
    form: &WebElement,
    form_name: &str,
    field: &str,
    value: &str,
) {
    let css = format!("[name=\"{field}\"]");
    let elements = form.find_all(By::Css(css.as_str())).await.unwrap();
    let Some(first) = elements.first() else {
        panic!("form `{form_name}` has no input named `{field}`");
    };
    let tag = first.tag_name().await.unwrap().to_ascii_lowercase();
    let kind = first
        .attr("type")
        .await
        .unwrap()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match (tag.as_str(), kind.as_str()) {
        ("select", _) => {
            let option = first
                .find(By::Css(format!("option[value=\"{value}\"]")))
                .await
                .unwrap_or_else(|_| {
                    panic!("select `{field}` of form `{form_name}` has no option `{value}`")
                });
            option.click().await.unwrap();
        }
        ("input", "checkbox" | "radio") => {
            let target = if kind == "checkbox" && (value == "false" || value == "true") {
                if elements.len() != 1 {
                    panic!("checkbox `{field}` of `{form_name}` has several values: name one");
                }
                first.clone()
            } else {
                form.find(By::Css(format!("[name=\"{field}\"][value=\"{value}\"]")))
                    .await
                    .unwrap_or_else(|_| {
                        panic!("form `{form_name}` has no `{field}` with the value `{value}`")
                    })
            };
            // A radio button is chosen by its value, "false" included (a yes/no pair).
            let want = kind == "radio" || value != "false";
            if target.is_selected().await.unwrap() != want {
                target.click().await.unwrap();
            }
        }
        ("input", "date" | "time" | "datetime-local" | "month" | "hidden" | "range" | "color") => {
            // Typing into a date input depends on the browser's locale: set the value as a script
            // would, with the events a user's change fires.
            driver
                .execute(
                    r"const e = arguments[0]; e.value = arguments[1];
                      e.dispatchEvent(new Event('input', { bubbles: true }));
                      e.dispatchEvent(new Event('change', { bubbles: true }));",
                    vec![first.to_json().unwrap(), json!(value)],
                )
                .await
                .unwrap();
        }
        _ => {
            first.clear().await.unwrap();
            first.send_keys(value).await.unwrap();
        }
    }
}

/// The OpenID provider of the single sign-on tests: `tests/browser/oidc-provider.mjs` (the
/// certified `oidc-provider` package) run with Node on a free loopback port, at
/// `http://localhost:<port>`, another site than the application's `http://127.0.0.1:<port>`. It
/// ends when this value is dropped (and by itself when the test binary exits: it watches its
/// standard input).
#[derive(Debug)]
pub struct OidcProvider {
    /// `http://localhost:<port>`.
    pub issuer: String,
    child: Child,
}

impl OidcProvider {
    /// Starts the provider with one client and the accounts (login -> claims, for example
    /// `{"olena": {"name": "Олена", "role": "caseworker", "office": "UA7102"}}`; an account with
    /// `"id_token_audience": "<aud>"` gets id_tokens for that audience instead of the client's).
    ///
    /// # Panics
    ///
    /// When Node or the provider does not start (its output is in the message).
    #[must_use]
    pub fn start(
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        accounts: &Value,
    ) -> Self {
        node_modules();
        let script = npm_dir().join("oidc-provider.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .args([
                "--port",
                "0",
                "--client-id",
                client_id,
                "--redirect-uri",
                redirect_uri,
            ])
            .args(["--accounts", &accounts.to_string()])
            .env("OIDC_CLIENT_SECRET", client_secret)
            .current_dir(npm_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node (Node.js is needed for the single sign-on tests)");
        let stdout = child.stdout.take().expect("the provider's output");
        let stderr = child.stderr.take().expect("the provider's errors");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep reading: a closed pipe would fail the provider's next write.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        // The provider's warnings and errors go to this test's output.
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if !line.contains("WARNING") {
                    eprintln!("oidc-provider: {line}");
                }
            }
        });
        let line = rx.recv_timeout(STEP_TIMEOUT).unwrap_or_default();
        let Some(issuer) = line.trim().strip_prefix("listening ") else {
            let _ = child.kill();
            let status = child.wait();
            panic!("the OpenID provider did not start ({status:?}); see its errors above");
        };
        Self {
            issuer: issuer.to_owned(),
            child,
        }
    }

    /// Signs in at the provider's own pages, where the browser is now (its development
    /// interactions: the login form, then the consent page), and waits for the browser to be sent
    /// back to the application.
    pub async fn sign_in(&self, browser: &Browser, login: &str) {
        let form = browser.find("form input[name=\"login\"]").await;
        assert!(
            browser.url().await.starts_with(&self.issuer),
            "expected the provider's sign-in page, at {}",
            browser.url().await
        );
        form.send_keys(login).await.unwrap();
        browser
            .find("form input[name=\"password\"]")
            .await
            .send_keys("any password: the provider's test pages take any")
            .await
            .unwrap();
        let button = browser.find("form button[type=\"submit\"]").await;
        browser.click_and_wait(&button).await;
        // The consent page (the first sign-in of this account for this client).
        if browser
            .exists("form input[name=\"prompt\"][value=\"consent\"]")
            .await
        {
            let button = browser.find("form button[type=\"submit\"]").await;
            browser.click_and_wait(&button).await;
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
