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

/// `cutover report OUT --format html` into `page`, judged by `policy` on a fixed date when
/// given; the replay in `out` is divergent, so the report exits 1.
fn html_page(out: &Path, page: &Path, policy: Option<&Path>) {
    let mut command = cutover();
    command
        .arg("report")
        .arg(out)
        .args(["--format", "html", "--out"])
        .arg(page);
    if let Some(policy) = policy {
        command
            .args(["--today", "2026-11-21", "--policy"])
            .arg(policy);
    }
    let made = command.output().unwrap();
    assert_eq!(
        made.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
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
    html_page(&out, &page, Some(&policy));

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
    let get = &dom[dom
        .find("<article class=\"divergence\" data-op=\"get\"")
        .expect("the get divergence in the list")..];
    let side = &get[get
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

/// A `kv` cassette of `requests` requests with divergences planted in what the legacy
/// recorded: a changed `n` (value) in every second `get` that found something, `n` as a
/// string (type) in others, every `scan` of two or more entries reversed (ordering), a
/// `not_found` recorded as `conflict` (error) in every third miss; every request with a
/// recorded latency, so that both sides' charts are drawn. Only `percent` of the requests
/// (picked by their seq) are planted on.
fn planted(path: &Path, requests: u64, keys: u64, percent: u64) {
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
fn divergences(out: &Path) -> Vec<(String, String, u64, String)> {
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
fn listed(dom: &str) -> (Vec<(String, String, u64, String)>, usize) {
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

/// Pixels of `shot` with exactly the colour `rgb`.
fn pixels(shot: &Path, rgb: [u8; 3]) -> (usize, (u32, u32)) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let channels = frame.line_size / frame.width as usize;
    let n = buffer[..frame.buffer_size()]
        .chunks(channels)
        .filter(|p| p[..3] == rgb)
        .count();
    (n, (frame.width, frame.height))
}

#[test]
fn the_report_filters_every_divergence_by_operation_and_class_and_charts_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("planted.jsonl");
    planted(&cassette, 1500, 60, 100);
    let out = dir.path().join("out");
    assert_eq!(crate::util::replay(&cassette, &out, &[]).code, Some(1));
    let expected = divergences(&out);
    let wanted: Vec<_> = expected
        .iter()
        .filter(|(op, class, ..)| op == "get" && class == "value")
        .cloned()
        .collect();
    let page_size = cutover::publish::html::PAGE;
    assert!(
        wanted.len() > page_size,
        "the filter spans pages: {} get/value divergences",
        wanted.len()
    );
    for class in ["type", "error"] {
        assert!(
            expected.iter().any(|(op, c, ..)| op == "get" && c == class),
            "{class}"
        );
    }
    assert!(expected
        .iter()
        .any(|(op, c, ..)| op == "scan" && c == "ordering"));

    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&e2e).unwrap();
    let page = e2e.join("workspace.html");
    let policy = write(
        dir.path(),
        "policy.toml",
        "[gate]\nmin_requests = 5\n\n[[accept]]\nop = \"scan\"\npath = \"$\"\nclass = \"ordering\"\nreason = \"never ordered\"\nowner = \"a@example.com\"\nexpires = 2027-03-31\n",
    );
    html_page(&out, &page, Some(&policy));
    let url = |fragment: &str| PathBuf::from(format!("{}#{fragment}", page.display()));

    // Unfiltered: every divergence of results.jsonl is counted.
    let dom = headless(&url(""), &dir.path().join("p0"), &["--dump-dom"]);
    let (items, count) = listed(&dom);
    assert_eq!(count, expected.len());
    assert_eq!(items.len(), page_size);
    // Every operation has its chart, both sides drawn.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let ops = report["operations"].as_object().unwrap();
    assert_eq!(ops.len(), 5);
    for op in ops.keys() {
        let at = dom
            .find(&format!("<svg class=\"latency\" data-op=\"{op}\""))
            .unwrap_or_else(|| panic!("no latency chart for {op}"));
        let svg = &dom[at..at + dom[at..].find("</svg>").unwrap()];
        for side in ["legacy", "candidate"] {
            assert!(
                svg.contains(&format!("<path class=\"{side}\" d=\"M")),
                "{op} {side}: {svg}"
            );
        }
    }
    // The gate's clauses, the field view.
    assert!(dom.contains("<table id=\"clauses\">"));
    // The field view: rates among compared requests, the accepted pattern marked as such.
    let get_n = &dom[dom
        .find("<tr class=\"field\" data-op=\"get\" data-path=\"$.n\">")
        .expect("the get $.n row")..];
    let get_n = &get_n[..get_n.find("</tr>").unwrap()];
    let at_n = expected
        .iter()
        .filter(|(op, _, _, path)| op == "get" && path == "$.n")
        .map(|(_, _, seq, _)| seq)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let compared = ops["get"]["requests"]["total"].as_u64().unwrap()
        - ops["get"]["requests"]["inconclusive"].as_u64().unwrap();
    assert!(
        get_n.contains(&format!("<td class=\"num\">{at_n}</td>"))
            && get_n.contains(&format!(" {:.4}</td>", at_n as f64 / compared as f64)),
        "{get_n}"
    );
    let scan = &dom[dom
        .find("<tr class=\"field accepted\" data-op=\"scan\" data-path=\"$\">")
        .expect("the accepted scan row")..];
    assert!(scan[..scan.find("</tr>").unwrap()].contains("accepted: ordering (policy line"));

    // Filtered to get/value: exactly those divergences, page by page.
    let pages = wanted.len().div_ceil(page_size);
    let mut seen = Vec::new();
    for n in 1..=pages {
        let dom = headless(
            &url(&format!("op=get&class=value&page={n}")),
            &dir.path().join(format!("p{n}")),
            &["--dump-dom"],
        );
        let (items, count) = listed(&dom);
        assert_eq!(count, wanted.len(), "page {n}");
        let on_page = if n < pages {
            page_size
        } else {
            wanted.len() - page_size * (pages - 1)
        };
        assert_eq!(items.len(), on_page, "page {n}");
        seen.extend(items);
    }
    assert_eq!(
        seen, wanted,
        "the pages list exactly results.jsonl's get/value divergences, in order"
    );

    // A path pattern takes what is under it, not what merely starts with the same letters
    // ($.n, not $.name); a key is exact, or a prefix with `*`.
    let at_n = expected.iter().filter(|(.., path)| path == "$.n").count();
    assert!(expected.iter().any(|(.., path)| path == "$.name"));
    let dom = headless(
        &url("path=%24.n"),
        &dir.path().join("path"),
        &["--dump-dom"],
    );
    assert_eq!(listed(&dom).1, at_n);
    let keys: Vec<String> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["status"] == "divergent")
        .flat_map(|r| {
            let key = r["key"].as_str().unwrap_or("(none)").to_string();
            vec![key; r["divergences"].as_array().unwrap().len()]
        })
        .collect();
    let exact = keys.iter().filter(|k| *k == "k1").count();
    let prefix = keys.iter().filter(|k| k.starts_with("k1")).count();
    assert!(exact > 0 && prefix > exact, "{exact} {prefix}");
    for (fragment, want) in [("key=k1", exact), ("key=k1*", prefix)] {
        let dom = headless(&url(fragment), &dir.path().join(fragment), &["--dump-dom"]);
        assert_eq!(listed(&dom).1, want, "{fragment}");
    }

    // The screenshot of the filtered view: the banner, the charts of both sides, and
    // divergences with their changes highlighted.
    let shot = e2e.join("workspace.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &url("op=get&class=value"),
        &dir.path().join("shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,9000",
        ],
    );
    let (banner, size) = pixels(&shot, [0xfd, 0xe8, 0xe8]);
    assert_eq!(size, (1280, 9000));
    assert!(banner > 50_000, "{banner} banner pixels");
    let (candidate, _) = pixels(&shot, [0xe8, 0x59, 0x0c]);
    let (legacy, _) = pixels(&shot, [0x1f, 0x6f, 0xb4]);
    assert!(
        candidate > 500 && legacy > 500,
        "chart lines: {candidate} {legacy}"
    );
    let (marked, _) = pixels(&shot, [0xf5, 0xa3, 0xa3]);
    assert!(
        marked > 200,
        "{marked} highlighted pixels of changed values"
    );
}

/// The figures of the report at scale (not a check: run it to measure, with `cargo test
/// --release --test it -- --ignored --nocapture the_report_at_scale`): 50,000 requests with
/// about 10,000 divergences replayed, the page made, its size, and how long headless
/// Chromium takes to load it and list the first page (the page is kept in
/// `target/e2e/scale.html`).
#[test]
#[ignore = "a measurement"]
fn the_report_at_scale() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("scale.jsonl");
    planted(&cassette, 50_000, 2_000, 62);
    let out = dir.path().join("out");
    assert_eq!(crate::util::replay(&cassette, &out, &[]).code, Some(1));
    let found = divergences(&out);
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&e2e).unwrap();
    let page = e2e.join("scale.html");
    let start = Instant::now();
    html_page(&out, &page, None);
    let made_in = start.elapsed();
    let size = std::fs::metadata(&page).unwrap().len();
    let results = std::fs::metadata(out.join("results.jsonl")).unwrap().len();
    println!(
        "50,000 requests, {} divergences: results.jsonl {:.1} MB, report.html {:.1} MB, made in {:.2} s",
        found.len(),
        results as f64 / 1e6,
        size as f64 / 1e6,
        made_in.as_secs_f64()
    );
    for (n, fragment) in ["", "op=get&class=type&page=3"].iter().enumerate() {
        let url = PathBuf::from(format!("{}#{fragment}", page.display()));
        let start = Instant::now();
        // The budget lets the page's timers run, so that it can note its first paint.
        let dom = headless(
            &url,
            &dir.path().join(format!("p{n}")),
            &["--dump-dom", "--virtual-time-budget=3000"],
        );
        let wall = start.elapsed();
        let ms = &dom[dom.find("data-listed-ms=\"").expect("the page listed") + 16..];
        let ms = &ms[..ms.find('"').unwrap()];
        let paint = &dom[dom.find("data-first-paint-ms=\"").expect("a first paint") + 21..];
        let paint = &paint[..paint.find('"').unwrap()];
        let (items, count) = listed(&dom);
        println!(
            "#{fragment}: first contentful paint {paint} ms, first page listed {ms} ms after navigation; chromium started, loaded and dumped it in {:.2} s; {count} match, {} listed",
            wall.as_secs_f64(),
            items.len()
        );
    }
}

#[test]
fn values_keys_and_arguments_from_a_store_stay_text_in_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "</script><script>document.title='owned'</script><img src=x onerror=\"document.title='owned'\"><!--";
    let key = "<b>k1</b>";
    let value = serde_json::json!({"name": evil, "n": 1});
    let mut changed = value.clone();
    changed["name"] = format!("{evil}!").into();
    let lines = [
        serde_json::json!({"cutover": 1, "domain": "kv"}),
        serde_json::json!({"seq": 1, "key": key, "op": "put", "kind": "write", "args": {"value": value},
            "at": "2026-01-01T00:00:00Z", "outcome": {"ok": {"created": true}}, "state": value}),
        serde_json::json!({"seq": 2, "key": key, "op": "get", "kind": "read", "args": {"note": evil},
            "at": "2026-01-01T00:00:01Z", "outcome": {"ok": changed}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let cassette = write(dir.path(), "evil.jsonl", text);
    let out = dir.path().join("out");
    assert_eq!(crate::util::replay(&cassette, &out, &[]).code, Some(1));
    let page = dir.path().join("evil.html");
    html_page(&out, &page, None);
    let dom = headless(&page, &dir.path().join("profile"), &["--dump-dom"]);
    assert!(dom.contains("<title>cutover: DIVERGENT</title>"), "{dom}");
    assert!(!dom.contains("<img"), "an element from the data: {dom}");
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "only the page's own scripts"
    );
    let (items, count) = listed(&dom);
    assert_eq!(count, 1);
    assert_eq!(items[0].0, "get");
    let article = &dom[dom.find("<article class=\"divergence\"").unwrap()..];
    assert!(article.contains("key &lt;b&gt;k1&lt;/b&gt;"), "{article}");
    assert!(
        article.contains("&lt;/script&gt;&lt;script&gt;document.title="),
        "{article}"
    );
}
