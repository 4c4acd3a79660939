//! The HTML report's page: the cassette with planted divergences it is tested (and
//! measured) on, what a replay of it found, headless Chromium and what a rendered page
//! lists. Shared by `browser` and `examples/report_at_scale.rs` (which includes this file
//! with `#[path]`): it uses nothing of the test binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's `chromium` on PATH, installed by `scripts/install-chromium.sh` when missing.
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
pub fn headless(page: &Path, profile: &Path, args: &[&str]) -> String {
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

/// A `kv` cassette of `requests` requests with divergences planted in what the legacy
/// recorded: a changed `n` (value) in every second `get` that found something, `n` as a
/// string (type) in others, every `scan` of two or more entries reversed (ordering), a
/// `not_found` recorded as `conflict` (error) in every third miss; every request with a
/// recorded latency, so that both sides' charts are drawn. Only `percent` of the requests
/// (picked by their seq) are planted on.
pub fn planted(path: &Path, requests: u64, keys: u64, percent: u64) {
    use cutover::cassette::{ErrorKind, Header, Outcome, Writer};
    use cutover::kv::memory::Workload;
    use serde_json::Value;
    let mut writer = Writer::create(path, &Header::new("kv")).unwrap();
    for mut r in Workload::new(requests, keys, 11).scan_every(15) {
        r.latency_us = Some(40 + (r.seq * 37) % 400 + if r.seq % 97 == 0 { 20_000 } else { 0 });
        let planted = (r.seq * 7919) % 100 < percent;
        match (r.op.as_str(), &mut r.outcome) {
            _ if !planted => {}
            ("get", Some(Outcome::Ok(v))) if r.seq % 2 == 0 => {
                v["n"] = Value::from(v["n"].as_i64().unwrap() + 1);
            }
            ("get", Some(Outcome::Ok(v))) if r.seq % 5 == 1 => {
                v["n"] = Value::from(v["n"].to_string());
            }
            ("get", Some(Outcome::Ok(v))) if r.seq % 7 == 3 => v["name"] = "Zoe".into(),
            ("scan", Some(Outcome::Ok(Value::Array(entries)))) if entries.len() > 1 => {
                entries.reverse();
            }
            ("get", Some(Outcome::Error(e))) if r.seq % 3 == 0 => e.kind = ErrorKind::Conflict,
            _ => {}
        }
        writer.write(&r).unwrap();
    }
    writer.finish().unwrap();
}

/// Every divergence of `results.jsonl` in `out` as (op, class, seq, path).
pub fn divergences(out: &Path) -> Vec<(String, String, u64, String)> {
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let mut found = Vec::new();
    for line in text.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        if r["status"] != "divergent" {
            continue;
        }
        for d in r["divergences"].as_array().unwrap() {
            found.push((
                r["op"].as_str().unwrap().to_string(),
                d["class"].as_str().unwrap().to_string(),
                r["seq"].as_u64().unwrap(),
                d["path"].as_str().unwrap().to_string(),
            ));
        }
    }
    found
}

/// The value of attribute `name` in `tag` (`name="..."`), unescaped for `&quot;` and `&amp;`.
fn attribute(tag: &str, name: &str) -> String {
    let start = tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{name} in {tag}"))
        + name.len()
        + 3;
    let value = &tag[start..];
    value[..value.find('"').unwrap()]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The divergences a rendered page lists, as (op, class, seq, path), and its match count.
pub fn listed(dom: &str) -> (Vec<(String, String, u64, String)>, usize) {
    let count = &dom[dom.find("<b id=\"match-count\">").expect("the match count") + 20..];
    let count: usize = count[..count.find('<').unwrap()].parse().unwrap();
    let mut items = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find("<article class=\"divergence\"") {
        let tag = &rest[at..at + rest[at..].find('>').unwrap()];
        items.push((
            attribute(tag, "data-op"),
            attribute(tag, "data-class"),
            attribute(tag, "data-seq").parse().unwrap(),
            attribute(tag, "data-path"),
        ));
        rest = &rest[at + tag.len()..];
    }
    (items, count)
}
