//! Malformed input: every case is a located error and exit 2 (or, for a truncated last
//! line, a warning and a skip), never a panic and never a partial report.

use crate::util::{cutover, get_line, replay, write, Replayed, HEADER};

/// Replays `bytes` as a cassette; expects exit 2, every `expected` fragment in stderr, and
/// nothing written to the output directory.
fn check_rejected(name: &str, bytes: &[u8], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    let out = dir.path().join("out");
    let output = cutover()
        .args([
            "replay",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{name}: stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    assert!(
        stderr.contains(path.to_str().unwrap()),
        "{name}: the file is named: {stderr}"
    );
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "{name}: expected `{fragment}` in: {stderr}"
        );
    }
    assert!(
        !out.join("report.json").exists(),
        "{name}: no report for a rejected cassette"
    );
}

#[test]
fn bad_json_names_line_and_column() {
    let text = format!("{HEADER}{}{{\"seq\": 2 oops}}\n", get_line(1));
    check_rejected(
        "bad-json.jsonl",
        text.as_bytes(),
        &["line 3 column 11", "expected `,` or `}`"],
    );
}

#[test]
fn missing_field_is_named() {
    let text = format!(
        "{HEADER}{{\"seq\":1,\"key\":\"a\",\"kind\":\"read\",\"args\":{{}},\"at\":\"t\"}}\n"
    );
    check_rejected(
        "missing.jsonl",
        text.as_bytes(),
        &["line 2", "missing field `op`"],
    );
}

#[test]
fn mistyped_field_is_named() {
    let text = format!(
        "{HEADER}{}",
        get_line(1).replace("\"seq\":1", "\"seq\":\"one\"")
    );
    check_rejected(
        "mistyped.jsonl",
        text.as_bytes(),
        &["line 2", "invalid type: string \"one\""],
    );
    let text = format!("{HEADER}{}", get_line(1).replace("\"read\"", "\"update\""));
    check_rejected(
        "kind.jsonl",
        text.as_bytes(),
        &["line 2", "unknown variant `update`"],
    );
}

#[test]
fn unknown_version_is_refused() {
    let text = format!("{{\"cutover\":2,\"domain\":\"kv\"}}\n{}", get_line(1));
    check_rejected(
        "v2.jsonl",
        text.as_bytes(),
        &["line 1", "unknown cassette version 2"],
    );
    let text = format!("{{\"domain\":\"kv\"}}\n{}", get_line(1));
    check_rejected(
        "noversion.jsonl",
        text.as_bytes(),
        &["line 1", "`cutover` version"],
    );
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let mut bytes = format!("{HEADER}{}", get_line(1)).into_bytes();
    bytes.extend_from_slice(b"{\"seq\":2,\"key\":\"k\xff\"}\n");
    check_rejected("utf8.jsonl", &bytes, &["line 3 column 18", "invalid UTF-8"]);
}

#[test]
fn empty_and_header_only_files_are_refused() {
    check_rejected("empty.jsonl", b"", &["line 1", "empty cassette"]);
    check_rejected(
        "header.jsonl",
        HEADER.as_bytes(),
        &["line 1", "no requests after the header"],
    );
}

#[test]
fn out_of_order_seq_and_blank_lines_are_refused() {
    let text = format!("{HEADER}{}{}", get_line(2), get_line(2));
    check_rejected(
        "seq.jsonl",
        text.as_bytes(),
        &["line 3", "seq 2 does not follow seq 2"],
    );
    let text = format!("{HEADER}{}\n{}", get_line(1), get_line(2));
    check_rejected("blank.jsonl", text.as_bytes(), &["line 3", "blank line"]);
}

#[test]
fn truncated_last_line_is_a_warning_and_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let cut = get_line(3);
    let text = format!(
        "{HEADER}{}{}{}",
        get_line(1),
        get_line(2),
        &cut[..cut.len() / 2]
    );
    let path = write(dir.path(), "cut.jsonl", text);
    let out = dir.path().join("out");
    let Replayed {
        code,
        report,
        stderr,
    } = replay(&path, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("line 4: truncated last line"), "{stderr}");
    assert_eq!(report["totals"]["total"], 2);
    assert_eq!(report["cassette"]["truncated_line"], 4);
}

#[test]
fn a_last_line_cut_inside_a_character_is_truncated_not_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let cut = get_line(2).replace("k1", "Zoë");
    let at = cut.find('ë').unwrap() + 1;
    let mut bytes = format!("{HEADER}{}", get_line(1)).into_bytes();
    bytes.extend_from_slice(&cut.as_bytes()[..at]);
    let path = write(dir.path(), "cut-utf8.jsonl", bytes);
    let out = dir.path().join("out");
    let output = cutover()
        .args([
            "replay",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("line 3: truncated last line"), "{stderr}");
}

#[test]
fn a_cut_gzip_cassette_is_read_up_to_the_cut_with_a_warning() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(HEADER.as_bytes()).unwrap();
    for seq in 1..=2000 {
        encoder.write_all(get_line(seq).as_bytes()).unwrap();
    }
    let whole = encoder.finish().unwrap();
    let path = write(dir.path(), "cut.jsonl.gz", &whole[..whole.len() * 2 / 3]);
    let out = dir.path().join("out");
    let Replayed {
        code,
        report,
        stderr,
    } = replay(&path, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("truncated last line"), "{stderr}");
    let total = report["totals"]["total"].as_u64().unwrap();
    assert!(total > 100 && total < 2000, "{total}");
    assert_eq!(report["cassette"]["truncated_line"], total + 2);
}

#[test]
fn a_missing_key_field_is_an_error_not_a_null_key() {
    let text = format!("{HEADER}{}", get_line(1).replace("\"key\":\"k1\",", ""));
    check_rejected(
        "nokey.jsonl",
        text.as_bytes(),
        &["line 2", "missing field `key`"],
    );
}

#[test]
fn a_complete_last_line_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let last = get_line(2);
    let path = write(
        dir.path(),
        "nonl.jsonl",
        format!("{HEADER}{}{}", get_line(1), last.trim_end()),
    );
    let out = dir.path().join("out");
    let output = cutover()
        .args([
            "replay",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["totals"]["total"], 2);
}

#[test]
fn a_bad_document_for_diff_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let left = write(dir.path(), "left.json", "{\n  \"a\": [1, 2,,]\n}\n");
    let right = write(dir.path(), "right.json", "{}");
    let output = cutover()
        .args(["diff", left.to_str().unwrap(), right.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("left.json line 2 column 14"), "{stderr}");
    // Bytes that are not UTF-8, located in characters: line 2, column 7 (after `"é": "`).
    let mut bytes = "{\n\"é\": \"".as_bytes().to_vec();
    bytes.extend_from_slice(b"\xff\"}");
    let bad = write(dir.path(), "bad.json", bytes);
    let output = cutover()
        .args(["diff", bad.to_str().unwrap(), right.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.json line 2 column 7: not UTF-8 text"),
        "{stderr}"
    );
}

#[test]
fn a_bad_target_spec_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ok.jsonl", format!("{HEADER}{}", get_line(1)));
    let output = cutover()
        .args([
            "replay",
            path.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .args(["--candidate", "memory:latency=fast"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("--candidate: target spec `memory:latency=fast`"));
}
