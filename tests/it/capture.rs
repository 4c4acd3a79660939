//! Capturing: `cutover inspect` on recorded and on crash-truncated cassettes.

use crate::util::{cutover, fixture};
use serde_json::Value;

#[test]
fn inspect_summarizes_operations_keys_span_and_a_truncated_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("kv-demo.jsonl")).unwrap();
    bytes.extend_from_slice(b"{\"seq\":999,\"key\":\"k1\",\"op\":\"ge");
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, &bytes).unwrap();
    let done = cutover()
        .args(["inspect", "--format", "json"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(0));
    let summary: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(summary["requests"], 300);
    assert_eq!(summary["domain"], "kv");
    assert_eq!(summary["keys"], 20);
    assert_eq!(summary["keyless"], 7);
    assert_eq!(
        (summary["first_seq"].as_u64(), summary["last_seq"].as_u64()),
        (Some(1), Some(300))
    );
    assert_eq!(summary["operations"]["scan"]["requests"], 7);
    assert_eq!(summary["operations"]["put"]["states"], 91);
    assert_eq!(summary["operations"]["insert"]["errors"]["conflict"], 17);
    assert_eq!(summary["truncated"]["line"], 302);
    assert!(String::from_utf8_lossy(&done.stderr).contains("line 302: truncated last line"));
    assert!(summary["from"].as_str().unwrap() < summary["to"].as_str().unwrap());
}
