//! Coverage: the table `cutover coverage` prints is the one a replay counts, and the
//! gate's coverage clause rejects exactly the cassettes that miss what the policy asks for.

use crate::util::{cutover, fixture, stdout_of, write};
use cutover::cassette::{Outcome, Reader, Request};
use cutover::coverage::Coverage;
use cutover::gate::{self, GateVerdict, Policy};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;

fn requests(name: &str) -> Vec<Request> {
    let mut reader = Reader::open(fixture(name)).unwrap();
    std::iter::from_fn(|| reader.next_request().unwrap()).collect()
}

fn coverage_of<'r>(domain: &str, requests: impl IntoIterator<Item = &'r Request>) -> Coverage {
    let mut tally = cutover_cli::registry().tally(domain).unwrap();
    for r in requests {
        tally.observe(r, r.outcome.as_ref(), r.state.as_ref());
    }
    tally.coverage()
}

#[test]
fn the_command_prints_the_table_and_its_gaps_and_a_replay_counts_the_same() {
    let kv = fixture("kv-demo.jsonl");
    let text = stdout_of(&["coverage".as_ref(), kv.as_os_str()]);
    assert!(
        text.contains("Coverage (kv): 21 of 34 declared features exercised"),
        "{text}"
    );
    assert!(
        text.contains("stamp                 0        0/2  outcome ok, argument absent key"),
        "{text}"
    );

    let json = cutover()
        .args([
            "coverage",
            fixture("kv-demo.jsonl").to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let printed: Coverage = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(printed, coverage_of("kv", &requests("kv-demo.jsonl")));

    // The replay counts on the legacy's answers as they pass: the same table.
    let dir = tempfile::tempdir().unwrap();
    let replayed = crate::util::replay(&fixture("kv-demo.jsonl"), dir.path(), &[]);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    let counted: Coverage = serde_json::from_value(replayed.report["coverage"].clone()).unwrap();
    assert_eq!(counted, printed);

    // The documents carry it: the share, and each gap by operation.
    let document = |format: &str| {
        let args = [
            "report".as_ref(),
            dir.path().as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
        ];
        stdout_of(&args)
    };
    let markdown = document("markdown");
    assert!(
        markdown.contains(
            "### Coverage\n\n21 of 34 declared features of the kv domain exercised (61.8%), 13 gaps"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("| stamp | outcome ok, argument absent key |"),
        "{markdown}"
    );
    let html = document("html");
    assert!(html.contains("<table id=\"coverage-gaps\">"), "{html}");
    assert!(html.contains(
        "<td>scan</td><td>argument limit absent, argument limit 0, argument limit 1, argument prefix absent,"
    ));
}

#[test]
fn an_undeclared_domain_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = write(
        dir.path(),
        "c.jsonl",
        "{\"cutover\":1,\"domain\":\"billing\"}\n",
    );
    let done = cutover()
        .args(["coverage", cassette.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("domain `billing` is not declared (declared: conversations, kv)")
            && stderr.contains("--domain FILE"),
        "{stderr}"
    );
}

fn decide(coverage: Option<Coverage>, policy: &str) -> (GateVerdict, Vec<String>) {
    let replayed = crate::util::replay(
        &fixture("kv-demo.jsonl"),
        tempfile::tempdir().unwrap().path(),
        &[],
    );
    let mut report: cutover::report::Report = serde_json::from_value(replayed.report).unwrap();
    report.coverage = coverage;
    let policy = Policy::parse(&format!("[gate]\n{policy}"), "policy.toml").unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let decision = gate::evaluate(&report, [], &policy, today);
    let messages = decision
        .reasons
        .iter()
        .filter(|r| r.clause == gate::Clause::Features)
        .map(|r| r.message.clone())
        .collect();
    (decision.verdict, messages)
}

#[test]
fn the_gate_rejects_thin_traffic_with_its_gaps_and_a_run_without_coverage() {
    let all = coverage_of("kv", &requests("kv-demo.jsonl"));
    let (_, reasons) = decide(
        Some(all.clone()),
        "min_coverage = 0.6\nrequire_error_kinds = false",
    );
    assert!(reasons.is_empty(), "{reasons:?}");
    let (verdict, reasons) = decide(Some(all.clone()), "min_coverage = 0.65");
    assert_eq!(verdict, GateVerdict::Rejected);
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].contains("21 of 34 declared features (61.8%)"),
        "{reasons:?}"
    );
    assert!(reasons[0].contains("stamp: outcome ok"), "{reasons:?}");
    let (_, reasons) = decide(Some(all), "require_error_kinds = true");
    assert_eq!(
        reasons,
        ["stamp: the declared outcome `ok` was never exercised"]
    );
    let (verdict, reasons) = decide(None, "min_coverage = 0.1");
    assert_eq!(verdict, GateVerdict::Rejected);
    assert!(reasons[0].contains("counted none"), "{reasons:?}");
}

/// The outcomes a set of requests shows, and those the kv domain declares, worked out
/// here without the coverage stage: the gate's clause must agree with them.
fn outcome_names(o: &Outcome) -> String {
    match o {
        Outcome::Ok(_) => "ok".into(),
        Outcome::Error(e) => e.kind.to_string(),
    }
}

const KV_DECLARED: [(&str, &str); 9] = [
    ("get", "ok"),
    ("get", "not_found"),
    ("put", "ok"),
    ("insert", "ok"),
    ("insert", "conflict"),
    ("delete", "ok"),
    ("delete", "not_found"),
    ("stamp", "ok"),
    ("scan", "ok"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any subset of the traffic: the coverage clause rejects it exactly when some declared
    /// outcome is missing from it, and names each missing one; the share never exceeds 1
    /// and never falls when requests are added.
    #[test]
    fn the_error_kinds_clause_rejects_exactly_the_subsets_missing_an_outcome(
        keep in proptest::collection::vec(any::<bool>(), 300),
        extra in 0usize..300,
    ) {
        let all = requests("kv-demo.jsonl");
        let subset: Vec<&Request> = all.iter().zip(keep.iter().cycle()).filter(|(_, k)| **k).map(|(r, _)| r).collect();
        let seen: BTreeSet<(String, String)> = subset
            .iter()
            .map(|r| (r.op.clone(), outcome_names(r.outcome.as_ref().unwrap())))
            .collect();
        let missing: BTreeSet<(String, String)> = KV_DECLARED
            .iter()
            .map(|(op, o)| (op.to_string(), o.to_string()))
            .filter(|d| !seen.contains(d))
            .collect();
        let coverage = coverage_of("kv", subset.iter().copied());
        let gaps: BTreeSet<(String, String)> = coverage
            .outcome_gaps()
            .into_iter()
            .map(|g| (g.op, g.name))
            .collect();
        prop_assert_eq!(&gaps, &missing);
        let (share, more) = (coverage.share(), coverage_of("kv", subset.iter().copied().chain(all.iter().take(extra))).share());
        prop_assert!(share <= 1.0 && more >= share, "{} then {}", share, more);
    }
}

#[test]
fn coverage_is_the_same_for_the_same_traffic() {
    let all = requests("kv-demo.jsonl");
    let a = serde_json::to_value(coverage_of("kv", &all)).unwrap();
    let b = serde_json::to_value(coverage_of("kv", &all)).unwrap();
    assert_eq!(a, b);
    assert!(a["rows"].as_array().is_some_and(|r| !r.is_empty()));
    assert_ne!(a["rows"][0]["features"], Value::Null);
}

/// `sample --strategy coverage` keeps whole keys and every keyless request, covers at
/// least what random samples of the same size cover (measured on the written cassettes),
/// and writes the same file for the same seed.
#[test]
fn a_coverage_sample_covers_at_least_what_random_samples_of_its_size_cover() {
    let dir = tempfile::tempdir().unwrap();
    let sample = |strategy: &str, seed: u64, name: &str| -> Coverage {
        let out = dir.path().join(name);
        let done = cutover()
            .args([
                "sample",
                "--from",
                fixture("kv-demo.jsonl").to_str().unwrap(),
            ])
            .args([
                "--count",
                "3",
                "--strategy",
                strategy,
                "--seed",
                &seed.to_string(),
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let kept = {
            let mut reader = Reader::open(&out).unwrap();
            std::iter::from_fn(|| reader.next_request().unwrap()).collect::<Vec<_>>()
        };
        let keys: BTreeSet<&str> = kept.iter().filter_map(|r| r.key.as_deref()).collect();
        assert_eq!(keys.len(), 3, "{strategy} {seed}");
        let all = requests("kv-demo.jsonl");
        let expected: Vec<&Request> = all
            .iter()
            .filter(|r| r.key.as_deref().is_none_or(|k| keys.contains(k)))
            .collect();
        assert_eq!(
            kept.iter().collect::<Vec<_>>(),
            expected,
            "whole keys, keyless kept"
        );
        coverage_of("kv", &kept)
    };
    let covering = sample("coverage", 1, "cover.jsonl");
    let again = std::fs::read(dir.path().join("cover.jsonl")).unwrap();
    sample("coverage", 1, "cover.jsonl");
    assert_eq!(
        std::fs::read(dir.path().join("cover.jsonl")).unwrap(),
        again
    );
    let mut beaten = 0;
    for seed in 1..=8 {
        let random = sample("random", seed, &format!("random{seed}.jsonl"));
        assert!(covering.counts().1 >= random.counts().1, "seed {seed}");
        beaten += usize::from(covering.counts().1 > random.counts().1);
    }
    assert!(
        beaten > 0,
        "some random sample of 3 covers less than the greedy one"
    );
}
