//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/install-chromium.sh` when missing) renders the page of a rejected replay; the
//! rendered DOM must hold the verdict, the per-operation table and a side-by-side divergence
//! with highlighted changes, and the screenshot (kept in `target/e2e/report.png`) must show
//! the verdict's banner.

use crate::util::{cutover, fixture, write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    let find = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("chromium"))
                .find(|p| p.is_file())
        })
    };
    if let Some(path) = find() {
        return path;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-chromium.sh");
    let status = Command::new("bash").arg(&script).status().unwrap();
    assert!(
        status.success(),
        "installing Chromium with {} failed: the browser test needs Debian's `chromium`",
        script.display()
    );
    find().expect("chromium is on PATH after scripts/install-chromium.sh")
}

/// Runs headless Chromium on `page` with `args`; returns its stdout.
fn headless(page: &Path, profile: &Path, args: &[&str]) -> String {
    let done = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8(done.stdout).unwrap()
}

#[test]
fn the_html_report_renders_the_verdict_the_table_and_a_side_by_side_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(
        crate::util::replay(&fixture("kv-divergent.jsonl"), &out, &[]).code,
        Some(1)
    );
    let policy = write(dir.path(), "policy.toml", "[gate]\nmin_requests = 5\n");
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&e2e).unwrap();
    let page = e2e.join("report.html");
    let made = cutover()
        .arg("report")
        .arg(&out)
        .args(["--format", "html", "--today", "2026-11-21", "--policy"])
        .arg(&policy)
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        made.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    // The DOM as the browser built it.
    let dom = headless(&page, &dir.path().join("profile-dom"), &["--dump-dom"]);
    assert!(
        dom.contains("<header id=\"verdict\" class=\"fail\"><h1>REJECTED</h1>"),
        "{dom}"
    );
    let table = &dom[dom.find("<table id=\"operations\">").expect("the table")..];
    let table = &table[..table.find("</table>").unwrap()];
    for op in ["delete", "get", "insert", "put", "scan"] {
        assert!(table.contains(&format!("<code>{op}</code>")), "{op} row");
    }
    assert_eq!(table.matches("<tr class=\"bad\">").count(), 4, "{table}");
    let side = &dom[dom
        .find("<table class=\"side-by-side\">")
        .expect("a side-by-side")..];
    let side = &side[..side.find("</table>").unwrap()];
    assert!(
        side.contains("<td class=\"del\"><pre><mark>\"Zoe\"</mark></pre></td>"),
        "{side}"
    );
    assert!(
        side.contains("<td class=\"ins\"><pre><mark>\"Zoë\"</mark></pre></td>"),
        "{side}"
    );

    // The screenshot: the page at its size, with the rejected verdict's banner drawn.
    let shot = e2e.join("report.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &page,
        &dir.path().join("profile-shot"),
        &[&format!("--screenshot={}", shot.display())],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (1280, 1600));
    let channels = frame.line_size / frame.width as usize;
    // The banner's background (#fde8e8) fills much of the top 150 rows.
    let banner = pixels[..frame.line_size * 150]
        .chunks(channels)
        .filter(|p| p[..3] == [0xfd, 0xe8, 0xe8])
        .count();
    assert!(banner > 50_000, "{banner} banner pixels");
}
