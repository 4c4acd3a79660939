//! `cutover domain infer`: a draft declaration of the kv fixture that parses and declares
//! its operations; an existing file kept unless `--force`; a bad cassette located, exit 2.

use crate::util::{cutover, fixture, write, HEADER};
use cutover::cassette::{ErrorKind, Kind};
use cutover::declaration::{Declaration, KeyMode};

#[test]
fn infer_drafts_the_kv_fixtures_operations_their_kinds_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kv.domain.toml");
    let done = cutover()
        .args(["domain", "infer"])
        .arg(fixture("kv-demo.jsonl"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let draft =
        Declaration::parse(&text, "kv.domain.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(draft.domain, "kv");
    let ops: Vec<(&str, Kind, KeyMode)> = draft
        .ops
        .iter()
        .map(|o| (o.name.as_str(), o.kind, o.key))
        .collect();
    assert_eq!(
        ops,
        [
            ("put", Kind::Write, KeyMode::Keyed),
            ("get", Kind::Read, KeyMode::Keyed),
            ("insert", Kind::Write, KeyMode::Keyed),
            ("delete", Kind::Write, KeyMode::Keyed),
            ("scan", Kind::Read, KeyMode::Keyless),
        ]
    );
    let errors = |op: &str| {
        draft
            .op(op)
            .unwrap()
            .errors
            .keys()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(errors("get"), [ErrorKind::NotFound]);
    assert_eq!(errors("insert"), [ErrorKind::Conflict]);
    let scan = draft.op("scan").unwrap().list.as_ref().unwrap();
    assert_eq!(scan.key.as_deref(), Some("key"));
    assert_eq!(scan.order[0].by, "key");
    let guesses = text.lines().filter(|l| l.starts_with("# guess:")).count();
    assert_eq!(
        stdout.trim(),
        format!(
            "5 operations, {guesses} guesses to review → {}",
            out.display()
        )
    );

    // The file is there now: kept, unless --force.
    let again = |force: bool| {
        let mut command = cutover();
        command
            .args(["domain", "infer"])
            .arg(fixture("kv-demo.jsonl"))
            .arg("--out")
            .arg(&out);
        if force {
            command.arg("--force");
        }
        command.output().unwrap()
    };
    std::fs::write(&out, "edited").unwrap();
    let refused = again(false);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "edited");
    assert_eq!(again(true).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn infer_names_the_file_and_line_of_a_bad_cassette_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = write(
        dir.path(),
        "bad.jsonl",
        format!("{HEADER}{{\"seq\": 1 oops}}\n"),
    );
    let out = dir.path().join("draft.toml");
    let done = cutover()
        .args(["domain", "infer"])
        .arg(&cassette)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} line 2", cassette.display())),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written for a bad cassette");
}
