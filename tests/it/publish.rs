//! The documents: Markdown for a pull request, JUnit XML for CI, and the evidence bundle
//! that reproduces a decision.

use crate::util::{cutover, fixture, write};
use std::path::Path;

/// Replays the divergent fixture into `dir/out` and returns that directory.
fn divergent_replay(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("out");
    assert_eq!(
        crate::util::replay(&fixture("kv-divergent.jsonl"), &out, &[]).code,
        Some(1)
    );
    out
}

fn document(out: &Path, format: &str, policy: Option<&Path>) -> (i32, String) {
    let mut cmd = cutover();
    cmd.arg("report")
        .arg(out)
        .args(["--format", format, "--today", "2026-11-21"]);
    if let Some(p) = policy {
        cmd.arg("--policy").arg(p);
    }
    let done = cmd.output().unwrap();
    (
        done.status.code().unwrap(),
        String::from_utf8(done.stdout).unwrap(),
    )
}

#[test]
fn markdown_shows_the_verdict_the_reasons_the_table_and_collapsed_diffs() {
    let dir = tempfile::tempdir().unwrap();
    let out = divergent_replay(dir.path());
    let policy = write(dir.path(), "p.toml", "[gate]\nmin_requests = 5\n");
    let (code, md) = document(&out, "markdown", Some(&policy));
    assert_eq!(code, 1);
    assert!(md.starts_with("## ❌ cutover: REJECTED\n"), "{md}");
    assert!(md.contains("- insert: 1 of 23 requests diverge; the policy requires equivalence"));
    assert!(
        md.contains("| `get` | read | 150 | 1 | 0 | value:1 | 0.0067 (0.0368) |"),
        "{md}"
    );
    assert!(md.contains(
        "<details><summary><code>get</code> seq 11: value at <code>$.name</code></summary>"
    ));
    assert!(md.contains("```diff\n- \"Zoe\"\n+ \"Zoë\"\n```"), "{md}");
    // Without a policy: the replay's own verdict.
    let (_, md) = document(&out, "markdown", None);
    assert!(md.starts_with("## ❌ cutover: DIVERGENT\n"));
}

#[test]
fn junit_has_one_test_case_per_operation_and_failures_for_divergences() {
    let dir = tempfile::tempdir().unwrap();
    let out = divergent_replay(dir.path());
    let (code, xml) = document(&out, "junit", None);
    assert_eq!(code, 1);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("well-formed JUnit");
    let suite = &parsed.test_suites[0];
    assert_eq!(suite.name.as_str(), "cutover kv");
    assert_eq!((suite.tests, suite.failures, suite.errors), (5, 4, 0));
    let failed: Vec<&str> = suite
        .test_cases
        .iter()
        .filter(|c| !matches!(c.status, quick_junit::TestCaseStatus::Success { .. }))
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, vec!["get", "insert", "put", "scan"]);
    assert!(
        xml.contains("message=\"1 of 150 requests divergent, 0 inconclusive (value:1)\""),
        "{xml}"
    );
    assert!(xml.contains("get seq 11 key k1: value at $.name"), "{xml}");
}

#[test]
fn the_evidence_bundle_holds_hashed_inputs_and_reproduces_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let out = divergent_replay(dir.path());
    let policy = write(
        dir.path(),
        "p.toml",
        "[gate]\nmin_requests = 5\n\n[[accept]]\nop = \"get\"\npath = \"$.name\"\nclass = \"value\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-12-01\n",
    );
    let bundle = dir.path().join("evidence");
    let gate = |source: &Path, policy: &Path, evidence: Option<&Path>| {
        let mut cmd = cutover();
        cmd.arg("gate")
            .arg(source)
            .arg("--policy")
            .arg(policy)
            .args(["--format", "json", "--today", "2026-11-21"]);
        if let Some(e) = evidence {
            cmd.arg("--evidence").arg(e);
        }
        cmd.output().unwrap()
    };
    let first = gate(&out, &policy, Some(&bundle));
    assert_eq!(first.status.code(), Some(1));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["verdict"], "REJECTED");
    assert_eq!(manifest["tool"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        manifest["cassette"]["sha256"].as_str().unwrap(),
        cutover::digest::file(&fixture("kv-divergent.jsonl")).unwrap()
    );
    assert_eq!(
        manifest["policy"]["sha256"].as_str().unwrap(),
        cutover::digest::file(&policy).unwrap()
    );
    for (name, hash) in manifest["files"].as_object().unwrap() {
        assert_eq!(
            cutover::digest::file(&bundle.join(name)).unwrap(),
            hash.as_str().unwrap(),
            "{name}"
        );
    }
    for file in [
        "report.md",
        "report.html",
        "junit.xml",
        "decision.json",
        "results.jsonl",
    ] {
        assert!(manifest["files"].get(file).is_some(), "{file}");
    }
    // The bundle alone reproduces the decision, byte for byte.
    let again = gate(&bundle, &bundle.join("policy.toml"), None);
    assert_eq!(again.stdout, first.stdout);
    assert_eq!(
        std::fs::read(bundle.join("decision.json")).unwrap(),
        first.stdout[..first.stdout.len() - 1]
    );
    // It is never overwritten.
    let twice = gate(&out, &policy, Some(&bundle));
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("never overwritten"));
}
