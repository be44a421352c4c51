//! `ptl-bench web`: signed-in sessions browsing the web application (`web.md`) on the `cherkasy`
//! demo plus generated cases: the work queue, case pages and histories, and action forms
//! submitted as a browser submits them. Per page: requests, latency percentiles measured at the
//! client on the loopback (an upper bound of the server's time), and page weight (HTML plus the
//! stylesheet and script it links, before compression), printed as a Markdown table for
//! `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ptl_engine::testkit::PgTestDb;

use crate::client::Api;
use crate::life::{application, today, OFFICE};
use crate::server::{mint, Server};
use crate::Res;

/// The flags of `ptl-bench web`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds of browsing.
    #[arg(long, default_value_t = 30)]
    secs: u64,
    /// Signed-in sessions browsing at once.
    #[arg(long, default_value_t = 64)]
    sessions: usize,
    /// Cases generated beside the `cherkasy` demo.
    #[arg(long, default_value_t = 10_000)]
    cases: usize,
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// A person's reading time between two pages, in milliseconds (each pause drawn between half
    /// and one and a half of it); 0 sends the next request at once (a saturation test, where the
    /// latency is mostly queueing behind the other sessions).
    #[arg(long, default_value_t = 1000)]
    think_ms: u64,
    /// The ptl binary.
    #[arg(long, default_value = "target/release/ptl")]
    ptl: PathBuf,
    /// PostgreSQL admin URL (a fresh database is created and dropped).
    #[arg(
        long,
        env = "PTL_TEST_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
    )]
    pg_url: String,
}

const PASSWORD: &str = "bench-password-not-common-7";
const ACCOUNTS: usize = 8;

fn ptl_cli(ptl: &Path, url: &str, data: &Path, args: &[&str], stdin: Option<&str>) -> Res<String> {
    let mut child = Command::new(ptl)
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", ptl.display()))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "ptl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A browser's session: its cookies and the client.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Got {
    status: u16,
    location: Option<String>,
    body: String,
    /// The server's own time for the response (its `Server-Timing: app;dur=<ms>`), in µs.
    server_us: Option<u64>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Res<Got> {
        let r = req
            .header("cookie", self.cookie_header())
            .header("accept-language", "uk")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or("");
            if let Some((k, val)) = v.split(';').next().and_then(|f| f.split_once('=')) {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
        }
        let server_us = r
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|ms| ms.split([',', ';']).next()?.trim().parse::<f64>().ok())
            .map(|ms| (ms * 1000.0).round() as u64);
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.text().await.map_err(|e| e.to_string())?;
        Ok(Got {
            status,
            location,
            body,
            server_us,
        })
    }

    async fn get(&mut self, path: &str) -> Res<Got> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, String)]) -> Res<Got> {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = body.find(&needle)? + needle.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// The hidden inputs of the form `<form data-action="{action}" ...>` on a page.
fn action_form(body: &str, action: &str) -> Option<Vec<(String, String)>> {
    let start = body.find(&format!("data-action=\"{action}\""))?;
    let end = body[start..].find("</form>")? + start;
    let form = &body[start..end];
    let mut fields = Vec::new();
    for name in ["csrf_token", "idempotency_key", "version"] {
        fields.push((name.to_string(), hidden(form, name)?));
    }
    Some(fields)
}

fn case_ids(body: &str) -> Vec<String> {
    body.match_indices("data-case-id=\"")
        .filter_map(|(i, m)| {
            let rest = &body[i + m.len()..];
            rest.find('"').map(|e| rest[..e].to_string())
        })
        .collect()
}

async fn sign_in(b: &mut Browser, login: &str) -> Res<()> {
    let page = b.get("/sign-in").await?;
    let csrf = hidden(&page.body, "csrf_token").ok_or("no sign-in form")?;
    let r = b
        .post(
            "/sign-in",
            &[
                ("login", login.to_string()),
                ("password", PASSWORD.to_string()),
                ("csrf_token", csrf),
            ],
        )
        .await?;
    if r.status != 303 {
        return Err(format!("sign-in of {login}: status {}", r.status));
    }
    if r.location.as_deref() == Some("/undertaking") {
        let page = b.get("/undertaking").await?;
        let csrf = hidden(&page.body, "csrf_token").ok_or("no undertaking form")?;
        b.post("/undertaking", &[("csrf_token", csrf)]).await?;
    }
    Ok(())
}

/// One page's figures: the time seen by the client, the server's own time (`Server-Timing`),
/// requests, the largest page.
struct PageTally {
    client: Histogram<u64>,
    server: Histogram<u64>,
    n: u64,
    bytes: usize,
}

impl Default for PageTally {
    fn default() -> Self {
        Self {
            client: Histogram::new(3).unwrap(),
            server: Histogram::new(3).unwrap(),
            n: 0,
            bytes: 0,
        }
    }
}

#[derive(Default)]
struct Tally {
    by_page: BTreeMap<&'static str, PageTally>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, page: &'static str, took: Duration, got: &Got) {
        let e = self.by_page.entry(page).or_default();
        let _ = e
            .client
            .record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        if let Some(us) = got.server_us {
            let _ = e.server.record(us.max(1));
        }
        e.n += 1;
        e.bytes = e.bytes.max(got.body.len());
    }
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

/// Reading time: a pause drawn between half and one and a half of `think` (a small linear
/// congruential generator per session: no two sessions keep in step).
struct Reader {
    think: Duration,
    state: u64,
}

impl Reader {
    async fn read(&mut self) {
        if self.think.is_zero() {
            return;
        }
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let frac = (self.state >> 33) as f64 / f64::from(1u32 << 31);
        tokio::time::sleep(self.think.mul_f64(0.5 + frac)).await;
    }
}

async fn browse(mut b: Browser, mine: Vec<String>, until: Instant, mut reader: Reader) -> Tally {
    let mut t = Tally::default();
    let day = today();
    // People do not all open the queue in the same millisecond: each session starts after a
    // reading pause of its own.
    reader.read().await;
    let scopes = [
        "status_procedure",
        "share_with_police",
        "share_with_social_services",
    ];
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let start = Instant::now();
        let queue = match b.get("/").await {
            Ok(g) if g.status == 200 => g,
            Ok(g) => {
                t.error(format!("work queue: {}", g.status));
                continue;
            }
            Err(e) => {
                t.error(e);
                continue;
            }
        };
        t.record("work queue", start.elapsed(), &queue);
        reader.read().await;
        let listed = case_ids(&queue.body);
        let id = if n % 2 == 0 && !mine.is_empty() {
            mine[n / 2 % mine.len()].clone()
        } else if let Some(id) = listed.get(n % listed.len().max(1)) {
            id.clone()
        } else {
            continue;
        };
        let start = Instant::now();
        let case = match b.get(&format!("/cases/{id}")).await {
            Ok(g) if g.status == 200 => g,
            Ok(g) => {
                t.error(format!("case page: {}", g.status));
                continue;
            }
            Err(e) => {
                t.error(e);
                continue;
            }
        };
        t.record("case page", start.elapsed(), &case);
        reader.read().await;
        let start = Instant::now();
        match b.get(&format!("/cases/{id}/history")).await {
            Ok(g) if g.status == 200 => t.record("history", start.elapsed(), &g),
            Ok(g) => t.error(format!("history: {}", g.status)),
            Err(e) => t.error(e),
        }
        reader.read().await;
        // Every other round, an action on one of this session's own cases: the next consent.
        if n % 2 == 0 {
            let Some(hidden) = action_form(&case.body, "record-consent") else {
                continue;
            };
            let mut form: Vec<(&str, String)> = hidden
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            form.push(("occurred_on", day.clone()));
            form.push((
                "scope",
                scopes[(n / 2 / mine.len().max(1)) % scopes.len()].to_string(),
            ));
            form.push(("given_by", "person".to_string()));
            let start = Instant::now();
            match b
                .post(&format!("/cases/{id}/actions/record-consent"), &form)
                .await
            {
                Ok(g) if g.status == 303 || g.status < 500 => {
                    t.record("action submitted", start.elapsed(), &g);
                }
                Ok(g) => t.error(format!("action: {}", g.status)),
                Err(e) => t.error(e),
            }
            reader.read().await;
        }
    }
    t
}

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Runs the benchmark.
///
/// # Errors
/// A sentence: the server or a command failed, or a page could not be read.
pub async fn run(args: Args) -> Res<()> {
    let mut dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // PTL_BENCH_KEEP=1 keeps the store (the SQLite file or the PostgreSQL database), the data
    // directory and the server's log for a diagnosis (the query plans on the benchmark's own
    // store).
    let keep = std::env::var_os("PTL_BENCH_KEEP").is_some();
    if keep {
        dir.disable_cleanup(true);
        eprintln!("keeping {}", dir.path().display());
    }
    let data = dir.path().join("data");
    let (url, _pg) = match args.store.as_str() {
        "sqlite" => (
            format!("sqlite://{}", dir.path().join("ptl.db").display()),
            None,
        ),
        "postgres" => {
            let db = PgTestDb::create_on(&args.pg_url, "benchweb")
                .await
                .map_err(|e| e.to_string())?;
            let url = db.url().to_owned();
            if keep {
                eprintln!("keeping the database {url}");
                std::mem::forget(db);
                (url, None)
            } else {
                (url, Some(db))
            }
        }
        other => return Err(format!("unknown store `{other}`: sqlite or postgres")),
    };
    eprintln!("demo `cherkasy` and {ACCOUNTS} caseworker accounts ...");
    ptl_cli(
        &args.ptl,
        &url,
        &data,
        &["demo", "--scenario", "cherkasy"],
        None,
    )?;
    for i in 0..ACCOUNTS {
        let login = format!("bench{i}");
        ptl_cli(
            &args.ptl,
            &url,
            &data,
            &[
                "users",
                "add",
                &login,
                "--role",
                "caseworker",
                "--office",
                OFFICE,
                "--name",
                &format!("Bench {i}"),
                "--password-stdin",
            ],
            Some(PASSWORD),
        )?;
    }
    let server = Server::start(&args.ptl, &url, &data, &dir.path().join("server.log")).await?;
    let token = mint(&args.ptl, &url, &data, "bench-gen", "caseworker", OFFICE)?;
    eprintln!("generating {} cases over the API ...", args.cases);
    let api = Api::new(&server.base);
    let day = today();
    let started = Instant::now();
    let mut ids: Vec<String> = Vec::with_capacity(args.cases);
    let mut pending = Vec::new();
    for _ in 0..args.cases {
        let api = api.clone();
        let token = token.clone();
        let body = serde_json::to_vec(&application(OFFICE, &day)).map_err(|e| e.to_string())?;
        pending.push(tokio::spawn(async move {
            api.send(
                reqwest::Method::POST,
                "/api/v1/cases",
                Some(&token),
                &[
                    ("content-type", "application/json"),
                    ("idempotency-key", &uuid::Uuid::new_v4().to_string()),
                ],
                Some(body),
            )
            .await
        }));
        if pending.len() == 32 {
            for p in pending.drain(..) {
                let r = p.await.map_err(|e| e.to_string())??;
                if r.status != 201 {
                    return Err(format!("registration: {} {}", r.status, r.body));
                }
                ids.push(r.body["id"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    for p in pending {
        let r = p.await.map_err(|e| e.to_string())??;
        ids.push(r.body["id"].as_str().unwrap_or_default().to_string());
    }
    eprintln!(
        "{} cases in {:.1} s; signing in {} sessions ...",
        ids.len(),
        started.elapsed().as_secs_f64(),
        args.sessions
    );
    if args.store == "postgres" {
        // The tables went from empty to 10,000 rows a moment ago: refresh the planner's
        // statistics, as autovacuum does within its next minute on a server that has been running
        // (with statistics of empty tables PostgreSQL may plan a count over every deadline).
        analyze(&url).await?;
    }

    let mut browsers = Vec::new();
    for s in 0..args.sessions {
        let mut b = Browser::new(&server.base);
        sign_in(&mut b, &format!("bench{}", s % ACCOUNTS)).await?;
        browsers.push(b);
    }
    // Page weight: the stylesheet and script every page links.
    let mut probe = Browser::new(&server.base);
    sign_in(&mut probe, "bench0").await?;
    let home = probe.get("/").await?;
    let mut assets = 0usize;
    for ext in [".css\"", ".js\""] {
        if let Some(end) = home.body.find(ext) {
            let start = home.body[..end].rfind('"').map_or(0, |i| i + 1);
            let path = &home.body[start..end + ext.len() - 1];
            assets += probe.get(path).await?.body.len();
        }
    }

    let ids = Arc::new(ids);
    let until = Instant::now() + Duration::from_secs(args.secs);
    let per = (ids.len() / args.sessions.max(1)).max(1);
    let mut tasks = Vec::new();
    for (i, b) in browsers.into_iter().enumerate() {
        let mine: Vec<String> = ids
            .iter()
            .skip(i * per)
            .take(per.min(50))
            .cloned()
            .collect();
        let reader = Reader {
            think: Duration::from_millis(args.think_ms),
            state: 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1),
        };
        tasks.push(tokio::spawn(browse(b, mine, until, reader)));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.map_err(|e| e.to_string())?;
        for (page, p) in t.by_page {
            let e = all.by_page.entry(page).or_default();
            e.client.add(&p.client).map_err(|e| e.to_string())?;
            e.server.add(&p.server).map_err(|e| e.to_string())?;
            e.n += p.n;
            e.bytes = e.bytes.max(p.bytes);
        }
        all.errors += t.errors;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    let rss = server.rss_kib();
    server.stop();
    println!(
        "\n`ptl-bench web --store {} --sessions {} --cases {} --secs {} --think-ms {}` ({} generated cases beside the `cherkasy` demo; stylesheet and script {} bytes)\n",
        args.store, args.sessions, args.cases, args.secs, args.think_ms, ids.len(), assets
    );
    println!("Server time: the server's own time per response (its `Server-Timing` header); client time: from the request sent to the body read, on the same machine as the server.\n");
    println!("| page | requests | per s | server p50 ms | server p95 ms | server p99 ms | server max ms | client p50 ms | client p99 ms | largest page + css + js, bytes |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (page, p) in &all.by_page {
        println!(
            "| {page} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            p.n,
            p.n as f64 / args.secs as f64,
            pct(&p.server, 0.5),
            pct(&p.server, 0.95),
            pct(&p.server, 0.99),
            p.server.max() as f64 / 1000.0,
            pct(&p.client, 0.5),
            pct(&p.client, 0.99),
            p.bytes + assets
        );
    }
    println!(
        "\nerrors: {}{}; server RSS at the end: {} MiB",
        all.errors,
        all.first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        rss / 1024
    );
    Ok(())
}

/// `ANALYZE` on the PostgreSQL database at `url`.
async fn analyze(url: &str) -> Res<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    sqlx::query("ANALYZE")
        .execute(&mut conn)
        .await
        .map_err(|e| format!("ANALYZE failed: {e}"))?;
    Ok(())
}
