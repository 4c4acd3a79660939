//! `cutover shrink`: a 1,000-request cassette with one planted divergence shrinks to the
//! divergent request and the writes it depends on, and the result replays the divergence.

use crate::util::cutover;
use cutover::cassette::{Header, Outcome, Reader, Request, Writer};
use cutover::kv::memory::Workload;
use serde_json::Value;

/// A recorded 1,000-request `kv` cassette (200 keys), with one late `get` whose recorded
/// name is wrong; returns its path and the planted request.
fn planted(dir: &std::path::Path) -> (std::path::PathBuf, Request) {
    let mut requests: Vec<Request> = Workload::new(1000, 200, 5).collect();
    let target = requests
        .iter_mut()
        .take(900)
        .rev()
        .find(|r| {
            r.op == "get"
                && matches!(&r.outcome, Some(Outcome::Ok(Value::Object(m))) if m.contains_key("name"))
        })
        .expect("a get that found a document");
    if let Some(Outcome::Ok(Value::Object(doc))) = &mut target.outcome {
        doc.insert("name".into(), Value::String("renamed by the legacy".into()));
    }
    let planted = target.clone();
    let path = dir.join("planted.jsonl");
    let mut w = Writer::create(&path, &Header::new("kv")).unwrap();
    requests.iter().for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
    (path, planted)
}

#[test]
fn a_planted_divergence_in_1000_requests_shrinks_to_at_most_5() {
    let dir = tempfile::tempdir().unwrap();
    let (cassette, planted) = planted(dir.path());
    let min = dir.path().join("min.jsonl");
    let done = cutover()
        .args(["shrink", cassette.to_str().unwrap(), "--out"])
        .arg(&min)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        done.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let summary: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(summary["divergence"]["op"], "get");
    assert_eq!(summary["divergence"]["path"], "$.name");
    assert_eq!(summary["divergence"]["class"], "value");
    assert_eq!(summary["requests_before"], 1000);
    let after = summary["requests_after"].as_u64().unwrap();
    assert!((1..=5).contains(&after), "{summary}");

    // The minimal cassette: the planted read, last, and only writes to its key before it.
    let mut reader = Reader::open(&min).unwrap();
    let mut kept = Vec::new();
    while let Some(r) = reader.next_request().unwrap() {
        kept.push(r);
    }
    assert_eq!(kept.len() as u64, after);
    assert_eq!(kept.last().unwrap().seq, planted.seq);
    assert!(kept.iter().all(|r| r.key == planted.key));

    // It replays the same divergence.
    let out = dir.path().join("out");
    let replayed = cutover()
        .args(["replay", min.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(replayed.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(report["operations"]["get"]["classes"]["value"], 1);
    assert_eq!(report["totals"]["divergent"], 1);
}

#[test]
fn shrinking_an_equivalent_cassette_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let min = dir.path().join("min.jsonl");
    let done = cutover()
        .args(["shrink"])
        .arg(crate::util::fixture("kv-demo.jsonl"))
        .arg("--out")
        .arg(&min)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&done.stderr).contains("no divergence"));
    assert!(!min.exists());
}
