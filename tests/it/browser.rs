//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/install-chromium.sh` when missing) renders the page of a rejected replay; the
//! rendered DOM must hold the verdict, the per-operation table and a side-by-side divergence
//! with highlighted changes, and the screenshot (kept in `target/e2e/report.png`) must show
//! the verdict's banner. On a cassette with planted divergences, the page's filters list
//! exactly the divergences of `results.jsonl` and every operation is charted; values, keys
//! and arguments from a store stay text. The cassette and the Chromium helpers are
//! `util::page`'s; the page at scale is measured by `examples/report_at_scale.rs`.

use crate::util::page::{divergences, headless, listed, planted};
use crate::util::{cutover, fixture, write};
use std::path::{Path, PathBuf};

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
