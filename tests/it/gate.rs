//! The gate: each policy clause, accepted differences and their expiry, the statistical
//! bound, policy errors, and `cutover gate`'s exit codes.

use crate::util::{cutover, fixture, request, write};
use chrono::NaiveDate;
use cutover::cassette::{Header, Kind};
use cutover::diff::{Class, Divergence};
use cutover::gate::{self, Clause, GateVerdict, Policy};
use cutover::replay::{ReplayRun, RequestResult, Side, StateCheck, Status};
use cutover::report::{Report, Summary};
use serde_json::Value;
use std::time::Duration;

/// `n` results of `op`, the first `divergent` of them diverging at `path` with `class`,
/// then `inconclusive` inconclusive ones; every side takes the given microseconds.
struct Batch {
    op: &'static str,
    kind: Kind,
    n: u64,
    divergent: u64,
    inconclusive: u64,
    path: &'static str,
    class: Class,
    legacy_us: u64,
    candidate_us: u64,
}

fn batch(op: &'static str, kind: Kind, n: u64) -> Batch {
    Batch {
        op,
        kind,
        n,
        divergent: 0,
        inconclusive: 0,
        path: "$.name",
        class: Class::Value,
        legacy_us: 1000,
        candidate_us: 1000,
    }
}

fn results(batches: &[Batch]) -> (Report, Vec<RequestResult>) {
    let mut all = Vec::new();
    for b in batches {
        for i in 0..b.n {
            let seq = all.len() as u64 + 1;
            let key = format!("k{seq}");
            let request = request(seq, Some(&key), b.op, b.kind, Value::Null);
            let status = if i < b.divergent {
                Status::Divergent
            } else if i < b.divergent + b.inconclusive {
                Status::Inconclusive
            } else {
                Status::Equal
            };
            let mut r = RequestResult::of(seq - 1, &request, status);
            if b.kind == Kind::Write && status != Status::Inconclusive {
                r.state = Some(if status == Status::Divergent {
                    StateCheck::Divergent
                } else {
                    StateCheck::Equal
                });
            }
            r.legacy = Side {
                latency_us: Some(b.legacy_us),
                ..Side::default()
            };
            r.candidate = Side {
                latency_us: Some(b.candidate_us),
                ..Side::default()
            };
            if status == Status::Divergent {
                r.divergences.push(Divergence {
                    path: b.path.into(),
                    class: b.class,
                    left: None,
                    right: None,
                    detail: None,
                    note: None,
                });
            }
            all.push(r);
        }
    }
    let mut summary = Summary::new();
    all.iter().for_each(|r| summary.add(r));
    let run = ReplayRun {
        requests: all.len() as u64,
        elapsed: Duration::from_secs(1),
        truncation: None,
        rules: Vec::new(),
        stopped: None,
    };
    let report = summary.finish(&Header::new("kv"), "t.jsonl", "legacy", "candidate", &run);
    (report, all)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn judge(policy: &str, batches: &[Batch]) -> gate::Decision {
    let policy = Policy::parse(policy, "policy.toml").unwrap();
    let (report, all) = results(batches);
    gate::evaluate(&report, &all, &policy, today())
}

fn clauses(d: &gate::Decision) -> Vec<(Option<&str>, Clause)> {
    d.reasons
        .iter()
        .map(|r| (r.op.as_deref(), r.clause))
        .collect()
}

#[test]
fn writes_must_be_equivalent_and_reads_follow_the_policy() {
    let one_bad_write = [Batch {
        divergent: 1,
        ..batch("put", Kind::Write, 500)
    }];
    let d = judge("[gate]\nread_max_divergence_rate = 0.5\n", &one_bad_write);
    assert_eq!(d.verdict, GateVerdict::Rejected);
    assert_eq!(clauses(&d), vec![(Some("put"), Clause::Divergence)]);
    // A write may be given a rate explicitly.
    let d = judge("[op.put]\nmax_divergence_rate = 0.05\n", &one_bad_write);
    assert_eq!(d.verdict, GateVerdict::Approved, "{:?}", d.reasons);
    // Reads default to equivalence too.
    let one_bad_read = [Batch {
        divergent: 1,
        ..batch("get", Kind::Read, 500)
    }];
    assert_eq!(judge("", &one_bad_read).verdict, GateVerdict::Rejected);
}

#[test]
fn read_rates_are_judged_on_the_wilson_upper_bound_not_the_point_estimate() {
    let policy = "[gate]\nread_max_divergence_rate = 0.01\n";
    // 2 of 1,000: point 0.002, upper bound 0.0073 at 95%: approved.
    let d = judge(
        policy,
        &[Batch {
            divergent: 2,
            ..batch("get", Kind::Read, 1000)
        }],
    );
    assert_eq!(d.verdict, GateVerdict::Approved, "{:?}", d.reasons);
    let c = &d.operations[0];
    assert!((c.divergence_rate - 0.002).abs() < 1e-9);
    assert!(
        (c.divergence_upper - 0.007261).abs() < 1e-4,
        "{}",
        c.divergence_upper
    );
    // 1 of 200: the same point estimate as 5 of 1,000 (0.005, within 0.01), but too few
    // requests to show it: the upper bound is 0.0277.
    let d = judge(
        policy,
        &[Batch {
            divergent: 1,
            ..batch("get", Kind::Read, 200)
        }],
    );
    assert_eq!(d.verdict, GateVerdict::Rejected);
    assert!((d.operations[0].divergence_upper - 0.027688).abs() < 1e-4);
    assert!(
        d.reasons[0].message.contains("upper bound"),
        "{}",
        d.reasons[0].message
    );
    // A higher confidence widens the bound: 2 of 1,000 at 99.9% is 0.0107, rejected.
    let d = judge(
        "[gate]\nread_max_divergence_rate = 0.01\nconfidence = 0.999\n",
        &[Batch {
            divergent: 2,
            ..batch("get", Kind::Read, 1000)
        }],
    );
    assert_eq!(d.verdict, GateVerdict::Rejected);
}

#[test]
fn every_listed_operation_must_be_exercised_often_enough() {
    let d = judge(
        "[gate]\noperations = [\"get\", \"put\", \"scan\"]\nmin_requests = 10\n\n[op.put]\nmin_requests = 50\n",
        &[batch("get", Kind::Read, 10), batch("put", Kind::Write, 49)],
    );
    assert_eq!(d.verdict, GateVerdict::Rejected);
    assert_eq!(
        clauses(&d),
        vec![
            (Some("scan"), Clause::Coverage),
            (Some("put"), Clause::MinRequests)
        ]
    );
}

#[test]
fn the_inconclusive_rate_is_bounded() {
    let flaky = [Batch {
        inconclusive: 3,
        ..batch("get", Kind::Read, 100)
    }];
    let d = judge("[gate]\nmax_inconclusive_rate = 0.02\n", &flaky);
    assert_eq!(clauses(&d), vec![(Some("get"), Clause::Inconclusive)]);
    let d = judge("[gate]\nmax_inconclusive_rate = 0.05\n", &flaky);
    assert_eq!(d.verdict, GateVerdict::Approved);
}

#[test]
fn the_latency_budget_is_relative_to_the_legacy_per_operation() {
    let slow = [
        Batch {
            legacy_us: 1000,
            candidate_us: 2500,
            ..batch("get", Kind::Read, 100)
        },
        Batch {
            legacy_us: 1000,
            candidate_us: 1400,
            ..batch("put", Kind::Write, 100)
        },
    ];
    let d = judge("[gate]\nlatency_p99_ratio = 1.5\n", &slow);
    assert_eq!(clauses(&d), vec![(Some("get"), Clause::Latency)]);
    let ratio = d.operations[0].latency_p99_ratio.unwrap();
    assert!((ratio - 2.5).abs() < 0.01, "{ratio}");
    let d = judge(
        "[gate]\nlatency_p99_ratio = 1.5\n\n[op.get]\nlatency_p99_ratio = 3.0\n",
        &slow,
    );
    assert_eq!(d.verdict, GateVerdict::Approved);
}

const ACCEPT: &str = "[[accept]]\nop = \"get\"\npath = \"$.items[*].name\"\nclass = \"value\"\nreason = \"the legacy trims names\"\nowner = \"ana@example.com\"\nexpires = EXPIRES\n";

fn renamed() -> [Batch; 1] {
    [Batch {
        divergent: 4,
        path: "$.items[3].name",
        ..batch("get", Kind::Read, 100)
    }]
}

#[test]
fn accepted_differences_cover_matching_divergences_until_they_expire() {
    let active = ACCEPT.replace("EXPIRES", "2026-12-31");
    let d = judge(&active, &renamed());
    assert_eq!(d.verdict, GateVerdict::Approved, "{:?}", d.reasons);
    assert_eq!(
        (d.operations[0].divergent, d.operations[0].accepted),
        (0, 4)
    );
    assert_eq!(d.accepted[0].matched, 4);
    assert!(!d.accepted[0].stale);

    // The day after its expiry it covers nothing and rejects on its own.
    let expired = ACCEPT.replace("EXPIRES", "2026-11-20");
    let d = judge(&expired, &renamed());
    assert_eq!(
        clauses(&d),
        vec![
            (Some("get"), Clause::Divergence),
            (Some("get"), Clause::Expired)
        ]
    );
    assert!(d.reasons[1].message.contains("expired on 2026-11-20"));
    assert!(d.reasons[1].message.contains("ana@example.com"));

    // Another class at the same path is not covered.
    let other = ACCEPT
        .replace("EXPIRES", "2026-12-31")
        .replace("\"value\"", "\"ordering\"");
    assert_eq!(judge(&other, &renamed()).verdict, GateVerdict::Rejected);
}

#[test]
fn an_accepted_difference_that_matched_nothing_is_reported_stale() {
    let active = ACCEPT.replace("EXPIRES", "2026-12-31");
    let d = judge(&active, &[batch("get", Kind::Read, 100)]);
    assert_eq!(d.verdict, GateVerdict::Approved);
    assert!(d.accepted[0].stale);
    assert!(gate::render(&d).contains("stale (matched nothing)"));
}

#[test]
fn bad_policies_are_located() {
    for (text, line, expected) in [
        ("[gate]\nmin_requests = \"ten\"\n", 2, "invalid type"),
        ("[gate]\nread_max_divergence_rate = 1.5\n", 2, "a rate is between 0 and 1"),
        ("[gate]\nconfidence = 0.3\n", 2, "confidence"),
        ("[op.get]\nlatency_p99_ratio = -1.0\n", 2, "latency_p99_ratio"),
        ("[gate]\nspeed = 1\n", 2, "unknown field"),
        (
            "[[accept]]\nop = \"get\"\npath = \"$.a\"\nclass = \"value\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"soon\"\n",
            7,
            "expected a TOML datetime",
        ),
        (
            "\n[[accept]]\nop = \"get\"\npath = \"$.a\"\nclass = \"color\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\n",
            5,
            "unknown variant",
        ),
    ] {
        let error = Policy::parse(text, "p.toml").unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("policy p.toml line {line} ")),
            "{text}: {error}"
        );
        assert!(error.contains(expected), "`{expected}` in: {error}");
    }
}

#[test]
fn cutover_gate_exits_0_when_approved_1_when_rejected_2_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(
        crate::util::replay(&fixture("kv-divergent.jsonl"), &out, &[]).code,
        Some(1)
    );
    let strict = write(
        dir.path(),
        "strict.toml",
        "[gate]\noperations = [\"get\", \"put\", \"insert\", \"delete\", \"scan\"]\n",
    );
    let rejected = cutover()
        .arg("gate")
        .arg(&out)
        .arg("--policy")
        .arg(&strict)
        .args(["--format", "json", "--today", "2026-11-21"])
        .output()
        .unwrap();
    assert_eq!(rejected.status.code(), Some(1));
    let decision: Value = serde_json::from_slice(&rejected.stdout).unwrap();
    assert_eq!(decision["verdict"], "REJECTED");
    let ops: Vec<&str> = decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, vec!["get", "insert", "put", "scan"]);

    // Every planted divergence accepted, with reasons: approved.
    let mut lenient = String::new();
    for (op, path, class) in [
        ("get", "$.name", "value"),
        ("insert", "$", "error"),
        ("put", "$.tags[*]", "state"),
        ("scan", "$", "ordering"),
    ] {
        lenient += &format!("[[accept]]\nop = \"{op}\"\npath = \"{path}\"\nclass = \"{class}\"\nreason = \"known\"\nowner = \"ana\"\nexpires = 2027-01-01\n\n");
    }
    let lenient = write(dir.path(), "lenient.toml", lenient);
    let approved = cutover()
        .arg("gate")
        .arg(out.join("report.json"))
        .arg("--policy")
        .arg(&lenient)
        .args(["--today", "2026-11-21"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&approved.stdout);
    assert_eq!(approved.status.code(), Some(0), "{text}");
    assert!(text.contains("APPROVED"), "{text}");

    // No results beside the report: an error, not a verdict.
    std::fs::remove_file(out.join("results.jsonl")).unwrap();
    let broken = cutover()
        .arg("gate")
        .arg(&out)
        .arg("--policy")
        .arg(&strict)
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("results.jsonl"));
}
