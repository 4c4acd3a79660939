//! The hot paths counted in instructions (callgrind, through gungraun), so a regression
//! shows as a number that does not move with the machine's load: parsing a 10 KB document
//! (from bytes, and checked as UTF-8 once then parsed as text, as `cutover diff` does),
//! diffing an equal and a divergent pair, normalizing and diffing across stores with rules,
//! reading a cassette, and the target protocol's codec for one `execute` exchange.
//!
//! `scripts/instructions.sh` installs the runner of the same version and runs this bench;
//! each benchmark's setup (building and serializing its inputs) is not counted.

use cutover::cassette::{Header, Reader, Request};
use cutover::kv::memory::Workload;
use cutover::normalize::{Part, RuleRun, Rules};
use gungraun::{library_benchmark, library_benchmark_group, main};
use serde_json::Value;
use std::hint::black_box;

mod documents;
use documents::{conversation, with_divergences, Store, RULES};

/// The allocator the `cutover` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The legacy's 10 KB conversation, as text.
fn document_text() -> Vec<u8> {
    serde_json::to_vec(&conversation(56, Store::Legacy)).unwrap()
}

/// The legacy's conversation and `right` of it, as text.
fn pair_text(divergent: bool) -> (Vec<u8>, Vec<u8>) {
    let left = conversation(56, Store::Legacy);
    let right = if divergent {
        with_divergences(&left)
    } else {
        left.clone()
    };
    (
        serde_json::to_vec(&left).unwrap(),
        serde_json::to_vec(&right).unwrap(),
    )
}

/// The legacy's conversation and the same as parsed values (or with divergences).
fn pair(divergent: bool) -> (Value, Value) {
    let left = conversation(56, Store::Legacy);
    let right = if divergent {
        with_divergences(&left)
    } else {
        left.clone()
    };
    (left, right)
}

/// The legacy's and the candidate's forms of a conversation, and the rules between them.
fn across_stores(divergent: bool) -> (RuleRun, Value, Value) {
    let rules = RuleRun::of(Rules::parse(RULES, "bench.toml").unwrap());
    let candidate = conversation(56, Store::Candidate);
    let right = if divergent {
        with_divergences(&candidate)
    } else {
        candidate
    };
    (rules, conversation(56, Store::Legacy), right)
}

/// A `kv` cassette of 1,000 requests over 100 keys, as the file holds it.
fn cassette_text() -> Vec<u8> {
    let mut text = serde_json::to_string(&Header::new("kv")).unwrap() + "\n";
    for request in Workload::new(1000, 100, 1).scan_every(100) {
        text += &serde_json::to_string(&request).unwrap();
        text.push('\n');
    }
    text.into_bytes()
}

/// A `put` of a small document and the answer an adapter writes for it.
fn exchange() -> (Request, String) {
    let request = Workload::new(1, 1, 1).next().unwrap();
    let answer =
        r#"{"id":1,"outcome":{"ok":{"key":"k1","value":{"n":1,"tags":["a","b"]},"version":3}}}"#;
    (request, answer.to_string())
}

#[library_benchmark]
#[bench::document_10kb(setup = document_text)]
fn parse(text: Vec<u8>) -> Value {
    black_box(serde_json::from_slice(&text).unwrap())
}

// The same bytes checked as UTF-8 once, then parsed as text (as `cutover diff` reads a
// file): the parser no longer checks each string.
#[library_benchmark]
#[bench::document_10kb(setup = document_text)]
fn parse_checked_once(text: Vec<u8>) -> Value {
    let text = std::str::from_utf8(&text).unwrap();
    black_box(serde_json::from_str(text).unwrap())
}

// The same text parsed for comparison (`cutover::diff::parse`), as `cutover diff` does.
#[library_benchmark]
#[bench::document_10kb(setup = document_text)]
fn parse_for_comparison(text: Vec<u8>) -> bool {
    let text = std::str::from_utf8(&text).unwrap();
    let arena = bumpalo::Bump::new();
    black_box(cutover::diff::parse(text, &arena).is_ok())
}

#[library_benchmark]
#[bench::equal_pair(args = (false), setup = pair_text)]
fn parse_and_diff(texts: (Vec<u8>, Vec<u8>)) -> usize {
    // As `cutover diff` reads its two files.
    let (left, right) = (
        std::str::from_utf8(&texts.0).unwrap(),
        std::str::from_utf8(&texts.1).unwrap(),
    );
    let (la, ra) = (bumpalo::Bump::new(), bumpalo::Bump::new());
    let left = cutover::diff::parse(left, &la).unwrap();
    let right = cutover::diff::parse(right, &ra).unwrap();
    black_box(cutover::diff::values(&left, &right).divergences.len())
}

// The same through serde_json's values, as the replay reads outcomes.
#[library_benchmark]
#[bench::equal_pair(args = (false), setup = pair_text)]
fn parse_values_and_diff(texts: (Vec<u8>, Vec<u8>)) -> usize {
    let left: Value = serde_json::from_str(std::str::from_utf8(&texts.0).unwrap()).unwrap();
    let right: Value = serde_json::from_str(std::str::from_utf8(&texts.1).unwrap()).unwrap();
    black_box(cutover::diff::values(&left, &right).divergences.len())
}

#[library_benchmark]
#[bench::equal_pair(args = (false), setup = pair)]
#[bench::divergent_pair(args = (true), setup = pair)]
fn diff(values: (Value, Value)) -> usize {
    black_box(
        cutover::diff::values(&values.0, &values.1)
            .divergences
            .len(),
    )
}

#[library_benchmark]
#[bench::equal_pair(args = (false), setup = across_stores)]
#[bench::divergent_pair(args = (true), setup = across_stores)]
fn normalize_and_diff(input: (RuleRun, Value, Value)) -> usize {
    let (rules, mut left, mut right) = input;
    let extra = rules.apply("find_by_id", Part::Outcome, false, &mut left, &mut right);
    black_box(extra.len() + cutover::diff::values(&left, &right).divergences.len())
}

#[library_benchmark]
#[bench::kv_1000_requests(setup = cassette_text)]
fn read_cassette(text: Vec<u8>) -> u64 {
    let mut reader = Reader::from_read("bench.jsonl", std::io::Cursor::new(text)).unwrap();
    let mut read = 0;
    while let Some(request) = reader.next_request().unwrap() {
        read += black_box(request).seq;
    }
    read
}

#[library_benchmark]
#[bench::execute_put(setup = exchange)]
fn protocol_codec(input: (Request, String)) -> usize {
    let (line, executed) =
        cutover::targets::protocol::execute_exchange(&input.0, &input.1).unwrap();
    black_box(line.len() + usize::from(executed.events.is_none()))
}

library_benchmark_group!(
    name = values;
    benchmarks = parse, parse_checked_once, parse_for_comparison, parse_and_diff,
        parse_values_and_diff, diff, normalize_and_diff
);

library_benchmark_group!(
    name = inputs;
    benchmarks = read_cassette, protocol_codec
);

main!(library_benchmark_groups = values, inputs);
