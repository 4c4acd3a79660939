use super::double::Store;
use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// An output keeping everything, and checking the checkpoints go forward.
#[derive(Default)]
struct Kept {
    results: Vec<RequestResult>,
    equal: u64,
    checkpoints: Vec<Checkpoint>,
}

impl Output for Kept {
    fn result(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.results.push(result.clone());
        Ok(())
    }

    fn equal(&mut self, n: u64) -> std::io::Result<()> {
        self.equal += n;
        Ok(())
    }

    fn reached(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()> {
        if let Some(last) = self.checkpoints.last() {
            assert!(checkpoint.seq >= last.seq, "checkpoints go forward");
        }
        self.checkpoints.push(checkpoint.clone());
        Ok(())
    }
}

impl Kept {
    fn found(&self) -> BTreeMap<String, String> {
        self.results
            .iter()
            .map(|r| {
                let class = r
                    .divergences
                    .first()
                    .map_or("inconclusive".into(), |d| d.class.to_string());
                (r.key.clone().unwrap(), class)
            })
            .collect()
    }
}

fn data(n: usize) -> Vec<(String, Value)> {
    (0..n)
        .map(|i| (format!("k{i:06}"), json!({"n": i, "tags": ["a", "b"]})))
        .collect()
}

fn pair(legacy: Store, candidate: Store) -> (Pair, Arc<Store>, Arc<Store>) {
    let (l, c) = (Arc::new(legacy), Arc::new(candidate));
    let pair = Pair {
        legacy: l.clone(),
        candidate: c.clone(),
    };
    (pair, l, c)
}

/// The candidate of `n` keys with a key lost, a value changed, a list reordered and a key
/// added.
fn planted(n: usize) -> Store {
    let mut data: BTreeMap<String, Value> = data(n).into_iter().collect();
    data.remove("k000100");
    data.insert("k000200".into(), json!({"n": 20, "tags": ["a", "b"]}));
    data.insert("k000300".into(), json!({"n": 300, "tags": ["b", "a"]}));
    data.insert("k000300x".into(), json!({"n": 0, "tags": []}));
    Store::of(data)
}

fn expected_planted() -> BTreeMap<String, String> {
    [
        ("k000100", "missing"),
        ("k000200", "state"),
        ("k000300", "state"),
        ("k000300x", "extra"),
    ]
    .into_iter()
    .map(|(k, c)| (k.to_string(), c.to_string()))
    .collect()
}

async fn run(pair: &Pair, options: &VerifyOptions) -> (VerifyRun, Kept) {
    let mut kept = Kept::default();
    let run = verify(pair, options, &mut kept).await.unwrap();
    (run, kept)
}

fn small(options: VerifyOptions) -> VerifyOptions {
    VerifyOptions {
        batch: 7,
        segment: 100,
        small: 5,
        ..options
    }
}

#[tokio::test]
async fn the_dump_path_finds_every_planted_key_and_counts_the_rest_equal() {
    let (pair, l, c) = pair(Store::of(data(1000)), planted(1000));
    let options = small(VerifyOptions {
        hashing: false,
        ..VerifyOptions::default()
    });
    let (run, kept) = run(&pair, &options).await;
    assert_eq!(kept.found(), expected_planted());
    let keys = run.info.keys;
    assert_eq!((keys.legacy, keys.candidate), (1000, 1000));
    assert_eq!(
        (keys.equal, keys.divergent, keys.missing, keys.extra),
        (997, 2, 1, 1)
    );
    assert_eq!(kept.equal, 997);
    assert_eq!(run.info.dumped_keys, 1001);
    assert_eq!(l.dumped.load(Ordering::Relaxed), 1000);
    assert_eq!(c.checksummed.load(Ordering::Relaxed), 0);
    assert!(run.info.hashing_off.unwrap().contains("--no-hashing"));
    let last = kept.checkpoints.last().unwrap();
    assert!(last.done);
    assert_eq!(last.seq, 1001);
}

#[tokio::test]
async fn the_hashing_path_finds_the_same_keys_and_dumps_only_around_them() {
    let (pair, l, _) = pair(Store::of(data(1000)), planted(1000));
    let (run, kept) = run(&pair, &small(VerifyOptions::default())).await;
    assert_eq!(kept.found(), expected_planted());
    assert_eq!(run.info.keys.equal, 997);
    assert_eq!(run.info.hashed_keys + run.info.dumped_keys, 1001);
    let dumped = l.dumped.load(Ordering::Relaxed);
    assert!(dumped < 100, "{dumped} keys dumped");
    assert_eq!(run.info.checksum_form.as_deref(), Some("double-v1"));
    assert!(run.info.ranges.iter().any(|r| r.path == Path::Hash));
    let last = kept.checkpoints.last().unwrap();
    assert_eq!(last.seq, 1001);
}

#[tokio::test]
async fn a_checksum_blind_to_a_member_is_caught_by_its_spot_check_and_the_rest_dumped() {
    let changed = data(1000)
        .into_iter()
        .map(|(k, mut v)| {
            v["tags"] = json!(["b", "a"]);
            (k, v)
        })
        .collect::<Vec<_>>();
    let blind = |store: Store| Store {
        blind: Some("tags"),
        ..store
    };
    let (pair, _, _) = pair(blind(Store::of(data(1000))), blind(Store::of(changed)));
    let (run, kept) = run(&pair, &small(VerifyOptions::default())).await;
    assert_eq!(
        run.info.keys.divergent, 1000,
        "every key's list order differs"
    );
    assert_eq!(kept.results.len(), 1000);
    assert!(run.info.hashing_off.unwrap().contains("does not cover"));
}

#[tokio::test]
async fn an_unreadable_aggregate_is_inconclusive_with_its_reason() {
    let mut candidate = Store::of(data(50));
    candidate.unreadable = vec!["k000007".into()];
    let (pair, _, _) = pair(Store::of(data(50)), candidate);
    let options = small(VerifyOptions {
        hashing: false,
        ..VerifyOptions::default()
    });
    let (run, kept) = run(&pair, &options).await;
    assert_eq!(run.info.keys.inconclusive, 1);
    assert_eq!(run.info.keys.equal, 49);
    let r = &kept.results[0];
    assert_eq!(r.status, crate::replay::Status::Inconclusive);
    assert!(r
        .candidate
        .failure
        .as_deref()
        .unwrap()
        .contains("malformed"));
}

#[tokio::test]
async fn a_store_that_dies_stops_the_run_and_the_resumed_run_judges_each_key_once() {
    let mut candidate = planted(1000);
    candidate.dead_after_dumps = Some(500);
    let (pair, _, _) = pair(Store::of(data(1000)), candidate);
    let options = small(VerifyOptions {
        hashing: false,
        ..VerifyOptions::default()
    });
    let (first, kept) = run(&pair, &options).await;
    let stop = first.stopped.expect("the candidate stopped answering");
    assert_eq!(stop.side, SideName::Candidate);
    assert!(stop.first_error.contains("the store is gone"));
    let at = kept.checkpoints.last().unwrap().clone();
    assert!(!at.done && at.seq > 0);
    let (pair, _, _) = self::pair(Store::of(data(1000)), planted(1000));
    let resumed = VerifyOptions {
        resume: Some(at.clone()),
        ..options
    };
    let (second, rest) = run(&pair, &resumed).await;
    assert!(second.stopped.is_none());
    let mut found = kept.found();
    for (key, class) in rest.found() {
        assert!(
            found.insert(key.clone(), class).is_none(),
            "{key} judged twice"
        );
    }
    assert_eq!(found, expected_planted());
    assert_eq!(second.info.keys.total(), 1001);
    assert_eq!(kept.equal + rest.equal, 997);
    assert_eq!(second.info.resumed_after, at.after);
}

#[tokio::test]
async fn shards_together_judge_every_key_once() {
    let mut union = BTreeMap::new();
    let mut equal = 0;
    for index in 1..=3 {
        let (pair, _, _) = pair(Store::of(data(1000)), planted(1000));
        let options = small(VerifyOptions {
            shard: Some(Shard::new(index, 3).unwrap()),
            ..VerifyOptions::default()
        });
        let (run, kept) = run(&pair, &options).await;
        assert!(run.info.hashing_off.unwrap().contains("--shard"));
        for (key, class) in kept.found() {
            assert!(union.insert(key, class).is_none());
        }
        equal += run.info.keys.equal;
        for r in &kept.results {
            assert_eq!(Shard::of_key(r.key.as_deref().unwrap(), 3), index);
        }
    }
    assert_eq!(union, expected_planted());
    assert_eq!(equal, 997);
}

#[tokio::test]
async fn keys_out_of_order_or_of_another_order_are_refused() {
    struct Backwards(Store);
    #[async_trait::async_trait]
    impl Target for Backwards {
        fn name(&self) -> &str {
            "backwards"
        }
        async fn reset(&self) -> Result<(), crate::targets::InfraError> {
            Ok(())
        }
        async fn execute(
            &self,
            r: &crate::cassette::Request,
        ) -> Result<crate::cassette::Outcome, crate::targets::InfraError> {
            self.0.execute(r).await
        }
        async fn dump(&self, key: &str) -> Result<Option<Value>, crate::targets::InfraError> {
            self.0.dump(key).await
        }
        async fn keys(
            &self,
            _: Option<&str>,
            _: usize,
        ) -> Result<Option<Vec<String>>, crate::targets::InfraError> {
            Ok(Some(vec!["b".into(), "a".into()]))
        }
    }
    let pair = Pair {
        legacy: Arc::new(Store::of(data(3))),
        candidate: Arc::new(Backwards(Store::default())),
    };
    let options = VerifyOptions {
        hashing: false,
        ..VerifyOptions::default()
    };
    let err = verify(&pair, &options, &mut Kept::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`a` came after `b`"), "{err}");
}

fn store_strategy() -> impl Strategy<Value = BTreeMap<String, Value>> {
    proptest::collection::btree_map("[a-c]{1,3}", (0u8..3, proptest::bool::ANY), 0..40).prop_map(
        |m| {
            m.into_iter()
                .map(|(k, (n, flip))| {
                    let tags = if flip { json!([2, 1]) } else { json!([1, 2]) };
                    (k, json!({"n": n, "tags": tags}))
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The hashing path accepts nothing the dump path does not: same keys found, same
    /// classes, whatever the two stores hold.
    #[test]
    fn the_hashing_path_judges_exactly_as_the_dump_path(
        legacy in store_strategy(),
        candidate in store_strategy(),
        segment in 1u64..8,
        small_ in 1u64..4,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let judged = |hashing: bool| {
            let (pair, _, _) = pair(Store::of(legacy.clone()), Store::of(candidate.clone()));
            let options = VerifyOptions { hashing, batch: 3, segment, small: small_, ..VerifyOptions::default() };
            rt.block_on(run(&pair, &options))
        };
        let (dumped, by_dump) = judged(false);
        let (hashed, by_hash) = judged(true);
        prop_assert_eq!(by_dump.found(), by_hash.found());
        prop_assert_eq!(dumped.info.keys, hashed.info.keys);
    }
}
