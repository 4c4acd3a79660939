//! The renderer's tests, and [`report`]: a small report the Markdown and HTML documents'
//! tests render too.

use crate::cassette::{Header, Kind};
use crate::replay::{ReplayRun, RequestResult, StateCheck, Status};
use crate::report::{Report, Summary};
use serde_json::Value;
use std::time::Duration;

/// A report of `puts` writes of `put` and one read, each write's state checked as
/// `state` says, and one keyless write `wipe` whose state is never checked.
pub(crate) fn report(puts: u64, state: Option<StateCheck>, keyless: bool) -> Report {
    let mut summary = Summary::new();
    let mut add = |seq: u64, op: &str, kind: Kind, key: Option<&str>, state| {
        let mut request = crate::capture::adapter::request(op, key, kind, Value::Null);
        request.seq = seq;
        let result = RequestResult {
            state,
            ..RequestResult::of(seq - 1, &request, Status::Equal)
        };
        summary.add(&result);
    };
    for seq in 1..=puts {
        add(seq, "put", Kind::Write, Some("k1"), state);
    }
    add(puts + 1, "get", Kind::Read, Some("k1"), None);
    if keyless {
        add(puts + 2, "wipe", Kind::Write, None, None);
    }
    let run = ReplayRun {
        requests: puts + 1 + u64::from(keyless),
        elapsed: Duration::ZERO,
        truncation: None,
        rules: Vec::new(),
        stopped: None,
    };
    summary.finish(&Header::new("kv"), "c.jsonl", "legacy", "candidate", &run)
}

#[test]
fn a_report_whose_writes_were_all_checked_says_nothing_about_unchecked_writes() {
    let checked = report(3, Some(StateCheck::Equal), false);
    assert_eq!(super::unchecked(&checked), None);
    assert!(!super::report(&checked).contains("not compared"));
}

#[test]
fn an_equivalent_report_says_how_many_writes_went_unchecked_and_why() {
    // A side without a state dump: every `put` is unchecked, for that reason.
    let blind = report(3, Some(StateCheck::Unchecked), false);
    let text = super::report(&blind);
    assert!(
        text.ends_with(
            "\nwarning: the stored state of 3 of 3 writes was not compared (put 3): 3 because \
         a side could not tell its stored state (a target without a state dump, or a \
         recording without states). Those writes were judged on their answers alone.\n\n\
         EQUIVALENT\n"
        ),
        "{text}"
    );
    // The state check off (no state read at all) and a keyless write: the other reason.
    let off = report(2, None, true);
    assert_eq!(
        super::unchecked(&off).unwrap(),
        "the stored state of 3 of 3 writes was not compared (put 2, wipe 1): 3 because \
         the state check was off (--no-state-check) or the write had no key. Those writes \
         were judged on their answers alone."
    );
    // Both reasons at once, each counted.
    let both = report(2, Some(StateCheck::Unchecked), true);
    let said = super::unchecked(&both).unwrap();
    assert!(
        said.contains(
            "(put 2, wipe 1): 2 because a side could not tell its stored state (a target \
         without a state dump, or a recording without states); 1 because the state check \
         was off"
        ),
        "{said}"
    );
}

/// A divergent report: for each `(op, field, n)`, `n` reads of `op` whose answers differ
/// (value) at `$.field`, in that order.
fn divergent(groups: &[(&str, &str, u64)]) -> Report {
    use crate::diff::{Class, Divergence};
    let mut summary = Summary::new();
    let mut seq = 0;
    for (op, field, n) in groups {
        for _ in 0..*n {
            seq += 1;
            let mut request =
                crate::capture::adapter::request(op, Some("k1"), Kind::Read, Value::Null);
            request.seq = seq;
            let result = RequestResult {
                divergences: vec![Divergence {
                    path: format!("$.{field}"),
                    class: Class::Value,
                    left: Some(Value::from(1)),
                    right: Some(Value::from(2)),
                    detail: None,
                    note: None,
                }],
                ..RequestResult::of(seq - 1, &request, Status::Divergent)
            };
            summary.add(&result);
        }
    }
    let run = ReplayRun {
        requests: seq,
        elapsed: Duration::ZERO,
        truncation: None,
        rules: Vec::new(),
        stopped: None,
    };
    summary.finish(&Header::new("kv"), "c.jsonl", "legacy", "candidate", &run)
}

/// Seven groups: three tied at 2 and three at 1, recorded in no particular order.
const SEVEN: [(&str, &str, u64); 7] = [
    ("get", "b", 2),
    ("put", "z", 2),
    ("get", "e", 1),
    ("get", "a", 2),
    ("scan", "a", 3),
    ("get", "d", 1),
    ("get", "c", 1),
];

/// `text` without its ANSI escapes.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('m').expect("an escape ends in m");
        rest = &rest[at + end + 1..];
    }
    out + rest
}

#[test]
fn the_summary_lists_the_largest_groups_first_ties_by_name_and_counts_the_rest() {
    let text = super::text(&divergent(&SEVEN), super::Options::default());
    assert!(
        text.contains(
            "\ndivergence groups (7), causes first:\n\
             \x20 operation  class  path  divergences  role\n\
             \x20 scan       value  $.a   3            cause\n\
             \x20 get        value  $.a   2            cause\n\
             \x20 get        value  $.b   2            cause\n\
             \x20 put        value  $.z   2            cause\n\
             \x20 get        value  $.c   1            cause\n\
             \x20 … 2 more groups (--verbose shows every group)\n"
        ),
        "{text}"
    );
    // The first divergence of the first three groups that have an example kept: a report
    // keeps the first three of each (operation, class), for `get` at `$.b`, `$.b` and `$.e`,
    // so `get` at `$.a` has none and `put` at `$.z` takes its place.
    assert!(
        text.contains(
            "\nfirst divergence of the first 3 groups:\n\n\
             scan seq 8 key k1: value at $.a\n  legacy:    1\n  candidate: 2\n\n\
             get seq 1 key k1: value at $.b\n  legacy:    1\n  candidate: 2\n\n\
             put seq 3 key k1: value at $.z\n  legacy:    1\n  candidate: 2\n\n"
        ),
        "{text}"
    );
    assert!(!text.contains("$.d") && !text.contains("$.e"), "{text}");
    assert!(
        text.contains("\n… 5 more examples (--verbose shows every example)\n"),
        "{text}"
    );
    assert!(text.contains("\nsuggested rules: 0 of 7 groups have one, for review; none is applied (--verbose prints them)\n  7 of them get none: accepting them would hide a defect (--verbose says what)\n"), "{text}");
    assert!(text.ends_with("\nDIVERGENT: 12 of 12 requests\n"), "{text}");
}

#[test]
fn the_summary_is_the_same_text_for_the_same_report_whatever_order_its_groups_come_in() {
    let report = divergent(&SEVEN);
    let text = super::text(&report, super::Options::default());
    assert_eq!(
        text,
        super::text(&report.clone(), super::Options::default())
    );
    let mut reordered = report.clone();
    reordered.suggested_rules.reverse();
    assert_eq!(text, super::text(&reordered, super::Options::default()));
    let names: Vec<(&str, Option<&str>)> = super::summary::groups(&reordered)
        .iter()
        .map(|g| (g.op, g.path))
        .collect();
    assert_eq!(
        names,
        [
            ("scan", Some("$.a")),
            ("get", Some("$.a")),
            ("get", Some("$.b")),
            ("put", Some("$.z")),
            ("get", Some("$.c")),
            ("get", Some("$.d")),
            ("get", Some("$.e")),
        ]
    );
}

#[test]
fn verbose_is_the_whole_report_with_every_group_and_example() {
    let report = divergent(&SEVEN);
    let verbose = super::text(
        &report,
        super::Options {
            verbose: true,
            ..super::Options::default()
        },
    );
    assert_eq!(verbose, super::report(&report));
    for (op, field, n) in SEVEN {
        let heading = format!("\n# {n} divergence(s): value at $.{field} on {op}\n");
        assert!(verbose.contains(&heading), "{heading} in {verbose}");
    }
    assert!(verbose.contains("\nfirst divergences of each operation and class:\n"));
    assert!(!verbose.contains("more groups"), "{verbose}");
}

#[test]
fn colour_paints_the_verdict_counts_and_diff_lines_and_is_otherwise_the_plain_text() {
    let report = divergent(&SEVEN);
    for verbose in [false, true] {
        let plain = super::text(
            &report,
            super::Options {
                verbose,
                style: super::Style::Plain,
            },
        );
        let colour = super::text(
            &report,
            super::Options {
                verbose,
                style: super::Style::Colour,
            },
        );
        assert!(!plain.contains('\x1b'), "{plain}");
        assert_eq!(strip(&colour), plain);
        assert!(
            colour.ends_with("\n\x1b[1m\x1b[31mDIVERGENT\x1b[0m: 12 of 12 requests\n"),
            "{colour}"
        );
        assert!(colour.contains("\x1b[31m12 divergent\x1b[0m"), "{colour}");
        assert!(
            colour.contains("\x1b[31m  legacy:    1\x1b[0m\n\x1b[32m  candidate: 2\x1b[0m\n"),
            "{colour}"
        );
    }
    let blind = report_of_blind_writes();
    let colour = super::text(
        &blind,
        super::Options {
            verbose: false,
            style: super::Style::Colour,
        },
    );
    assert!(
        colour.contains("\n\x1b[33mwarning: the stored state of 3 of 3 writes"),
        "{colour}"
    );
    assert!(
        colour.ends_with("\n\x1b[1m\x1b[32mEQUIVALENT\x1b[0m\n"),
        "{colour}"
    );
}

fn report_of_blind_writes() -> Report {
    report(3, Some(StateCheck::Unchecked), false)
}

#[test]
fn the_summary_keeps_the_warnings_and_the_verdict_last() {
    let blind = report_of_blind_writes();
    let summary = super::text(&blind, super::Options::default());
    let whole = super::report(&blind);
    let tail = whole.rsplit_once("\nwarning: ").unwrap().1;
    assert!(summary.ends_with(tail), "{summary}");
    // An equivalent report has nothing for the summary to cut.
    assert_eq!(summary, whole);
}
