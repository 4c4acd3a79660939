//! Suggested rules never hide a defect: every rule of `report.json`'s `suggested_rules`
//! pasted, round after round, until no new one comes, leaves each planted defect
//! divergent, while the representation changes of a store move (numbers for booleans,
//! a renamed member, timestamps cut to milliseconds) are accepted.

use crate::util::doubles::Double;
use cutover::cassette::{ErrorKind, Header, Outcome, Reader, Request, Writer};
use cutover::kv::memory::Workload;
use cutover::normalize::Rules;
use cutover::replay::{Pair, ReplayOptions};
use cutover::replay_collect;
use cutover::report::{Report, Verdict};
use serde_json::{json, Value};
use std::sync::Arc;

/// A defect planted in the candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Defect {
    /// The representation changes only.
    None,
    /// `scan` answers its first two items swapped; the legacy keeps them sorted by key.
    SwapScan,
    /// `done` is the other boolean for some values ("complete twice succeeds").
    FlipDone,
    /// `get` answers without `name`.
    DropName,
    /// `name` loses its accent: another text.
    ChangeName,
    /// `n` is one more.
    OffByOne,
    /// `insert` of an existing key answers `invalid`, not `conflict`.
    WrongErrorKind,
    /// `put` stores the value without its tags (a state divergence).
    LoseTagsOnPut,
}

const DEFECTS: [Defect; 7] = [
    Defect::SwapScan,
    Defect::FlipDone,
    Defect::DropName,
    Defect::ChangeName,
    Defect::OffByOne,
    Defect::WrongErrorKind,
    Defect::LoseTagsOnPut,
];

/// A stored value's `n`, from which both sides derive `done`.
fn n(value: &Value) -> u64 {
    value["n"].as_u64().unwrap_or(0)
}

/// The legacy: `done` as 0/1, `is_active`, timestamps in microseconds.
fn legacy() -> Double {
    Double::memory()
        .named("legacy")
        .editing(|request, outcome| {
            if let ("get", Outcome::Ok(Value::Object(map))) = (request.op.as_str(), outcome) {
                let done = n(&Value::Object(map.clone())) % 2;
                map.insert("done".into(), json!(done));
                map.insert("is_active".into(), json!(true));
                map.insert("at".into(), json!("2024-01-01T00:00:00.123456Z"));
            }
        })
}

/// The candidate: `done` as a boolean, `active`, timestamps in milliseconds; and `defect`.
fn candidate(defect: Defect) -> Double {
    let double = Double::memory().named("candidate");
    let double = match defect {
        Defect::LoseTagsOnPut => double.storing(|request| {
            if request.op == "put" {
                if let Some(value) = request.args["value"].as_object_mut() {
                    value.remove("tags");
                }
            }
        }),
        _ => double,
    };
    double.editing(
        move |request, outcome| match (request.op.as_str(), outcome) {
            ("get", Outcome::Ok(Value::Object(map))) => {
                let value = n(&Value::Object(map.clone()));
                let mut done = value % 2 == 1;
                if defect == Defect::FlipDone && value.is_multiple_of(5) {
                    done = !done;
                }
                map.insert("done".into(), json!(done));
                map.insert("active".into(), json!(true));
                map.insert("at".into(), json!("2024-01-01T00:00:00.123Z"));
                match defect {
                    Defect::DropName => {
                        map.remove("name");
                    }
                    Defect::ChangeName => {
                        map.insert("name".into(), json!("Zoe"));
                    }
                    Defect::OffByOne => {
                        map.insert("n".into(), json!(value + 1));
                    }
                    _ => {}
                }
            }
            ("scan", Outcome::Ok(Value::Array(items)))
                if defect == Defect::SwapScan && items.len() > 1 =>
            {
                items.swap(0, 1);
            }
            ("insert", Outcome::Error(e))
                if defect == Defect::WrongErrorKind && e.kind == ErrorKind::Conflict =>
            {
                e.kind = ErrorKind::Invalid;
            }
            _ => {}
        },
    )
}

fn cassette(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("c.jsonl");
    let mut writer = Writer::create(&path, &Header::new("kv")).unwrap();
    let requests: Vec<Request> = Workload::new(400, 8, 5).scan_every(20).collect();
    for r in &requests {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
    path
}

async fn replay(cassette: &std::path::Path, defect: Defect, rules: &str) -> Report {
    let rules = Rules::parse(rules, "suggested.toml").expect("the pasted rules parse");
    let options = ReplayOptions {
        rules: Some(Arc::new(rules)),
        ..ReplayOptions::default()
    };
    let pair = Pair {
        legacy: Arc::new(legacy()),
        candidate: Arc::new(candidate(defect)),
    };
    replay_collect(Reader::open(cassette).unwrap(), &pair, &options)
        .await
        .unwrap()
        .report
}

/// Replays, pastes every new suggested rule, replays again, until no new rule comes.
/// The last report and the rules pasted.
async fn paste_until_done(cassette: &std::path::Path, defect: Defect) -> (Report, Vec<String>) {
    let mut pasted: Vec<String> = Vec::new();
    for _ in 0..10 {
        let report = replay(cassette, defect, &pasted.join("\n")).await;
        let json = serde_json::to_value(&report).unwrap();
        let new: Vec<String> = json["suggested_rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["rule"].as_str().map(str::to_string))
            .collect();
        let before = pasted.len();
        for rule in new {
            if !pasted.contains(&rule) {
                pasted.push(rule);
            }
        }
        if pasted.len() == before {
            return (report, pasted);
        }
    }
    panic!("suggestions did not settle in 10 rounds: {pasted:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasting_every_suggested_rule_accepts_representation_and_no_defect() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = cassette(&dir);

    let (report, pasted) = paste_until_done(&cassette, Defect::None).await;
    assert_eq!(
        report.verdict,
        Verdict::Equivalent,
        "{pasted:#?}\n{:#?}",
        report.suggested_rules
    );
    let all = pasted.join("\n");
    assert!(
        all.contains("value_map = { \"0\" = false, \"1\" = true }"),
        "{all}"
    );
    assert!(
        all.contains("rename = { from = \"is_active\", to = \"active\" }"),
        "{all}"
    );
    assert!(all.contains("precision = \"ms\""), "{all}");
    assert!(
        !all.contains("ignore") && !all.contains("unordered") && !all.contains("tolerance"),
        "{all}"
    );

    for defect in DEFECTS {
        let (report, pasted) = paste_until_done(&cassette, defect).await;
        assert_eq!(
            report.verdict,
            Verdict::Divergent,
            "{defect:?} hidden by the pasted suggestions:\n{}",
            pasted.join("\n")
        );
        let left: Vec<String> = report
            .suggested_rules
            .iter()
            .map(|s| {
                format!(
                    "{} {} {} rule={:?} hides={:?}",
                    s.op,
                    s.path,
                    s.class,
                    s.rule.is_some(),
                    s.hides
                )
            })
            .collect();
        eprintln!(
            "{defect:?}: {} divergent after pasting {} rule(s); left: {left:#?}",
            report.totals.divergent,
            pasted.len()
        );
    }
}
