//! The dashboard in a real headless browser (Debian's `chromium`; `.ci/run` installs it): the page
//! loads with a token from the URL fragment, shows the same numbers as `/api/v1/stats`, and a
//! screenshot is saved under `target/` as a CI artifact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use ptl_domain::Role;
use ptl_tests::{Store, TestApp};

fn chromium() -> String {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new("which")
            .arg(c)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("no chromium found: install Debian's `chromium` (the CI script does)");
}

fn browser(args: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=15000",
        "--window-size=1280,1400",
        profile_arg.as_str(),
    ]);
    cmd.args(args).arg(url);
    cmd.output().unwrap()
}

/// The text of the element carrying `data-figure="<name>"` inside the totals (the first match).
fn figure(dom: &str, name: &str) -> Option<String> {
    let marker = format!("data-figure=\"{name}\">");
    let start = dom.find(&marker)? + marker.len();
    let end = dom[start..].find('<')? + start;
    Some(dom[start..end].trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_same_figures_as_the_stats_endpoint() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let today = ptl_domain::kyiv_date(app.state.app.engine.clock().now());
    ptl_api::demo::demo(
        &app.state.app.engine,
        ptl_api::demo::Scenario::CherkasyToday,
        today,
    )
    .await
    .unwrap();
    let token = app.token("rc-1", Role::Supervisor, "UA71");
    let stats = app.get("/api/v1/stats", &token).await;
    assert_eq!(stats.status, 200);
    let url = format!("{}/dashboard#token={token}", app.base);

    let out = browser(&["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        dom.contains("data-loaded=\"true\""),
        "the page did not load its data: {}",
        &dom[..dom.len().min(2000)]
    );
    for f in [
        "applications",
        "children",
        "foreigners",
        "granted",
        "refused",
        "pending_decision",
        "open_cases",
        "overdue",
        "files_submitted",
    ] {
        let expected = stats.body["totals"][f]
            .as_u64()
            .map_or("—".to_string(), |n| n.to_string());
        assert_eq!(
            figure(&dom, f).as_deref(),
            Some(expected.as_str()),
            "figure {f}"
        );
    }
    for district in ["UA7102", "UA7104", "UA7106", "UA7108"] {
        assert!(
            dom.contains(&format!("data-office=\"{district}\"")),
            "district {district} row"
        );
    }
    assert!(!dom.contains(&token), "the token is not left in the page");
    // Labels from the catalogue, not codes: office names from the tree, stage and deadline labels
    // (the page's language follows the browser's; `<html lang>` says which it took).
    let lang = if dom.contains("<html lang=\"en\"") {
        ptl_api::i18n::Lang::En
    } else {
        ptl_api::i18n::Lang::Uk
    };
    for district in ["UA7102", "UA7104", "UA7106", "UA7108"] {
        let office = app.state.app.offices.get(district).unwrap();
        let name = match lang {
            ptl_api::i18n::Lang::Uk => &office.name_uk,
            ptl_api::i18n::Lang::En => &office.name_en,
        };
        assert!(
            dom.contains(&format!("<td>{name}</td>")),
            "district {district} named {name}"
        );
        assert!(
            !dom.contains(&format!("<td>{district}</td>")),
            "raw code {district}"
        );
    }
    for stage in ptl_domain::Stage::ALL {
        assert!(
            !dom.contains(&format!("<td>{stage}</td>")),
            "raw stage {stage}"
        );
    }
    assert!(
        ptl_domain::Stage::ALL.iter().any(|s| dom.contains(&format!(
            "<td>{}</td>",
            ptl_api::i18n::label(lang, "stage", s.as_str())
        ))),
        "a stage label in the upcoming deadlines"
    );
    assert!(dom.contains(&ptl_api::i18n::t(lang, "dashboard-by_district")));
    assert!(
        dom.contains("id=\"upcoming\""),
        "the upcoming deadlines section"
    );

    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    std::fs::create_dir_all(&target).unwrap();
    let shot = target.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    let out = browser(&[arg.as_str()], &url);
    assert!(
        shot.exists(),
        "screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}
