//! Normalize-and-diff throughput on conversation-like documents of about 10 KB: equal pairs,
//! and pairs with a few divergences (a changed field, a missing element, a moved element),
//! beside the baseline a snapshot assertion pays: both sides as pretty JSON, text-diffed
//! with `similar`. Then large arrays: 20,000 distinct elements in a seeded shuffle with one
//! element replaced, alone and five to a document (aligned by anchors), and the costliest
//! arrays the exact alignment still takes.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use cutover::normalize::{Part, Rules};
use serde_json::{json, Value};

mod documents;
use documents::{conversation, with_divergences, Store, RULES};

/// The allocator the `cutover` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    // The plain diff: one store's documents against themselves.
    let left = conversation(56, Store::Legacy);
    let size = serde_json::to_vec(&left).unwrap().len();
    let equal = left.clone();
    let divergent = with_divergences(&left);
    assert!(cutover::diff::values(&left, &equal).is_equal());
    assert_eq!(
        cutover::diff::values(&left, &divergent).divergences.len(),
        3
    );

    let mut group = c.benchmark_group(format!("diff_{}kb", size / 1000));
    group.throughput(Throughput::Elements(1));
    group.bench_function("equal_pair", |b| {
        b.iter(|| cutover::diff::values(&left, &equal))
    });
    group.bench_function("divergent_pair", |b| {
        b.iter(|| cutover::diff::values(&left, &divergent))
    });
    let texts = (
        serde_json::to_string(&left).unwrap(),
        serde_json::to_string(&equal).unwrap(),
    );
    // As `cutover diff` compares two files: parsed for comparison, borrowing their text.
    group.bench_function("parse_and_diff_equal_pair", |b| {
        b.iter(|| {
            let (la, ra) = (bumpalo::Bump::new(), bumpalo::Bump::new());
            let l = cutover::diff::parse(&texts.0, &la).unwrap();
            let r = cutover::diff::parse(&texts.1, &ra).unwrap();
            cutover::diff::values(&l, &r).is_equal()
        })
    });
    // The same through serde_json's values, as a replay's outcomes are read.
    group.bench_function("parse_values_and_diff_equal_pair", |b| {
        let (l, r) = (
            serde_json::to_vec(&left).unwrap(),
            serde_json::to_vec(&equal).unwrap(),
        );
        b.iter_batched(
            || (l.clone(), r.clone()),
            |(l, r)| {
                let (l, r): (Value, Value) = (
                    serde_json::from_slice(&l).unwrap(),
                    serde_json::from_slice(&r).unwrap(),
                );
                cutover::diff::values(&l, &r)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // Across stores, with rules, as a replay applies them: the candidate's documents need
    // every rule (timestamps at milliseconds, read receipts as a multiset, null and missing
    // alike) before they equal the legacy's.
    let rules = cutover::normalize::RuleRun::of(Rules::parse(RULES, "bench.toml").unwrap());
    let candidate = conversation(56, Store::Candidate);
    let candidate_divergent = with_divergences(&candidate);
    assert!(!cutover::diff::values(&left, &candidate).is_equal());
    let normalized = |right: &Value| {
        let (mut l, mut r) = (left.clone(), right.clone());
        let extra = rules.apply("find_by_id", Part::Outcome, false, &mut l, &mut r);
        assert!(extra.is_empty());
        cutover::diff::values(&l, &r).divergences.len()
    };
    assert_eq!(normalized(&candidate), 0);
    assert_eq!(normalized(&candidate_divergent), 3);

    let mut group = c.benchmark_group("normalize_and_diff_10kb");
    group.throughput(Throughput::Elements(1));
    for (name, right) in [
        ("equal_pair", &candidate),
        ("divergent_pair", &candidate_divergent),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || (left.clone(), right.clone()),
                |(mut l, mut r)| {
                    let extra = rules.apply("find_by_id", Part::Outcome, false, &mut l, &mut r);
                    // The documents are returned, so that freeing them stays out of the timing.
                    (cutover::diff::values(&l, &r), extra, l, r)
                },
                // One fresh copy just before each run, as a replay compares outcomes it has
                // just parsed and copied (large batches would measure cache misses instead).
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("text_diff_baseline_{name}"), |b| {
            b.iter(|| {
                let (l, r) = (
                    serde_json::to_string_pretty(&left).unwrap(),
                    serde_json::to_string_pretty(right).unwrap(),
                );
                let diff = similar::TextDiff::from_lines(&l, &r);
                diff.ops().len()
            })
        });
    }
    group.finish();
}

/// splitmix64: a small seeded generator, the same sequence on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `n` distinct message-like elements, and a seeded shuffle of them with one replaced.
fn shuffled_pair(n: usize, seed: u64) -> (Value, Value) {
    let left: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("m{seed}-{i}"), "author": format!("u{}", i % 8), "size": i}))
        .collect();
    let mut right = left.clone();
    let mut rng = SplitMix(seed);
    for i in (1..n).rev() {
        right.swap(i, rng.below(i + 1));
    }
    let replaced = rng.below(n);
    right[replaced] = json!({"id": format!("new{seed}"), "author": "u9", "size": 0});
    (Value::Array(left), Value::Array(right))
}

fn large_arrays(c: &mut Criterion) {
    let mut group = c.benchmark_group("diff_shuffled_20k");
    // Each run may take seconds: ten runs, not criterion's growing batches.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    let (left, right) = shuffled_pair(20_000, 1);
    group.bench_function("one_array_one_replaced", |b| {
        b.iter(|| cutover::diff::values(&left, &right))
    });
    let (mut left, mut right) = (json!({}), json!({}));
    for seed in 1..=5 {
        let (l, r) = shuffled_pair(20_000, seed);
        left[format!("a{seed}")] = l;
        right[format!("a{seed}")] = r;
    }
    group.bench_function("five_arrays_one_replaced_each", |b| {
        b.iter(|| cutover::diff::values(&left, &right))
    });
    group.finish();

    // The exact alignment at its bound ((n + m) · D up to 2^24): the costliest arrays that
    // still get it, shuffled (D near n + m) or long with a few elements moved far.
    let mut group = c.benchmark_group("diff_exact_at_bound");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    let (left, right) = shuffled_pair(2048, 2);
    group.bench_function("shuffled_2048_one_replaced", |b| {
        b.iter(|| cutover::diff::values(&left, &right))
    });
    let left: Vec<Value> = (0..100_000).map(|i| json!(i)).collect();
    let mut right = left.clone();
    for k in 0..40 {
        let moved = right.remove(100 + k * 2_000);
        right.insert(99_000 - k * 2_000, moved);
    }
    right[99_999] = json!("last");
    let (left, right) = (Value::Array(left), Value::Array(right));
    group.bench_function("moved_40_of_100k", |b| {
        b.iter(|| cutover::diff::values(&left, &right))
    });
    group.finish();
}

criterion_group!(benches, bench, large_arrays);
criterion_main!(benches);
