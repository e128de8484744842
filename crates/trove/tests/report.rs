//! `trove stats report`: the page is opened in headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`), which must run its script and draw every histogram; the DOM after the script ran is
//! checked, and a screenshot is left in `target/tmp/stats-report.png` for people to look at.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn trove(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trove")).current_dir(root()).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "trove {args:?}: {text}");
    text
}

/// Headless Chromium with the flags this network needs (no background connections), on a fresh profile.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("headless Chromium is needed: `apt-get install chromium` (.ci/run installs it)");
    Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn stats_report_draws_every_histogram_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats");
    let pipeline = dir.path().join("stats.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[executor]\ntasks = 2\nlogging_dir = {logs:?}\n\n\
             [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/python-docs\"\nlimit = 300\n\n\
             [[pipeline]]\ntype = \"doc_stats\"\noutput_folder = {out:?}\nhistogram_round_digits = 2\n\n\
             [[pipeline]]\ntype = \"paragraph_stats\"\noutput_folder = {out:?}\n",
            logs = dir.path().join("logs").display().to_string(),
            out = stats.display().to_string(),
        ),
    )
    .unwrap();
    trove(&["run", "--no-progress", pipeline.to_str().unwrap()]);
    // No merge step: the report merges the two tasks' files itself.
    let html_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stats-report.html");
    let said = trove(&["stats", "report", stats.to_str().unwrap(), "-o", html_path.to_str().unwrap()]);
    assert!(said.contains("wrote"), "{said}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(!html.contains("<link") && !html.contains(" src="), "the page is self-contained");

    // Metrics drawn: doc_stats' 7 and paragraph_stats' 6.
    let metrics = 13;
    let profile = dir.path().join("profile");
    let url = format!("file://{}", html_path.display());
    let dom = chromium(&profile, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains(&format!("data-charts=\"{metrics}\"")),
        "the script did not finish: {}",
        &dom[..dom.len().min(2000)]
    );
    assert_eq!(count(&dom, "<svg class=\"hist\""), metrics, "one chart per metric");
    for metric in ["length", "digit_ratio", "n_paragraphs", "avg_paragraph_length"] {
        let at =
            dom.find(&format!("data-metric=\"{metric}\"")).unwrap_or_else(|| panic!("no chart for {metric}"));
        let chart = &dom[at..at + dom[at..].find("</svg>").unwrap()];
        assert!(count(chart, "<rect class=\"bar\"") >= 2, "{metric}: no bars drawn");
    }
    // The summary table: every metric with its document count (a limit of 300 per task, 2 tasks).
    let table = &dom[dom.find("<table id=\"summary\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(count(table, "<tr>") - 1, metrics);
    assert!(table.contains("<td>length</td><td>600</td>"), "{table}");
    // Top domains: every document comes from docs.python.org.
    let fqdn = &dom[dom.find("<table id=\"fqdn\"").expect("a top-domains table")..];
    assert!(fqdn.contains("<td>docs.python.org</td>") && fqdn.contains("600 (100.0%)"), "{}", &fqdn[..600]);

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stats-report.png");
    let _ = std::fs::remove_file(&shot);
    let out =
        chromium(&profile, &["--window-size=1280,2000", &format!("--screenshot={}", shot.display()), &url]);
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "screenshot of {} bytes", png.len());
    eprintln!("stats report: {} and {}", html_path.display(), shot.display());
}
