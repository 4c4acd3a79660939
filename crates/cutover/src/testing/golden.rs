//! Golden masters: the outcomes (and stored states) of a cassette on one target, with the
//! rules applied as redactions, kept as an insta snapshot, one JSON line per request.
//!
//! Recorded once against the legacy (with its store available), the snapshot is what any
//! later target is checked against: CI runs the candidate alone. A mismatch fails with the
//! harness's grouped report, and insta's usual workflow applies: the snapshot's `.snap.new`
//! is reviewed and accepted with `cargo insta review` (in CI, insta writes nothing). The
//! snapshot's `info` records the cassette and the rules that made it, and its `source` the
//! test file that made the golden master (where [`GoldenMaster::new`] was called).

use crate::cassette::{Kind, Outcome, Reader, Request};
use crate::diff::{self, Class, Divergence};
use crate::normalize::{Part, RuleRun, Rules};
use crate::replay::{self, ReplayRun, RequestResult, Status};
use crate::report::{Report, Summary};
use crate::targets::Target;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// One request's line in a golden master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    seq: u64,
    op: String,
    kind: Kind,
    key: Option<String>,
    outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<Value>,
}

/// A golden master: a named snapshot under a directory, made from a cassette and rules.
pub struct GoldenMaster {
    name: String,
    dir: PathBuf,
    cassette: Option<PathBuf>,
    /// The rules file, and this golden master's use of it (its counts).
    rules: Option<(PathBuf, RuleRun)>,
    /// Where the test made the golden master: the snapshot's `source`.
    caller: &'static Location<'static>,
}

impl GoldenMaster {
    /// The snapshot `dir/name.snap`; `dir` should be absolute (e.g. from
    /// `env!("CARGO_MANIFEST_DIR")`), as insta resolves relative paths from the test file.
    /// The file and line of this call are the snapshot's `source` (a helper function that
    /// calls it for several tests names the helper's line).
    #[track_caller]
    pub fn new(name: &str, dir: impl AsRef<Path>) -> GoldenMaster {
        GoldenMaster {
            name: name.to_string(),
            dir: dir.as_ref().to_path_buf(),
            cassette: None,
            rules: None,
            caller: Location::caller(),
        }
    }

    /// The cassette whose requests make the golden master.
    pub fn cassette(mut self, path: impl AsRef<Path>) -> GoldenMaster {
        self.cassette = Some(path.as_ref().to_path_buf());
        self
    }

    /// Rules applied as redactions to every outcome and state before it is stored or
    /// compared; panics with the file's error when it does not load.
    pub fn rules(mut self, path: impl AsRef<Path>) -> GoldenMaster {
        let rules = Rules::load(&path).unwrap_or_else(|e| panic!("{e}"));
        self.rules = Some((path.as_ref().to_path_buf(), RuleRun::new(Arc::new(rules))));
        self
    }

    /// The snapshot file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.snap", self.name))
    }

    /// Runs the cassette on `target` and panics unless every outcome and state matches the
    /// golden master, with the grouped report of what differs. Returns the report.
    pub async fn assert_matches(&self, target: &dyn Target) -> Report {
        let cassette = self
            .cassette
            .as_ref()
            .unwrap_or_else(|| panic!("golden master `{}`: no cassette given", self.name));
        let reader = Reader::open(cassette).unwrap_or_else(|e| panic!("{e}"));
        let header = reader.header().clone();
        let start = Instant::now();
        let mut entries = Vec::new();
        replay::record_each(reader, target, |request| {
            entries.push(self.entry(request));
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("golden master `{}` on {}: {e}", self.name, target.name()));
        let run = ReplayRun {
            requests: entries.len() as u64,
            elapsed: start.elapsed(),
            truncation: None,
            rules: self
                .rules
                .as_ref()
                .map_or_else(Vec::new, |(_, r)| r.usage()),
            stopped: None,
        };
        let text: String = entries
            .iter()
            .map(|e| serde_json::to_string(e).expect("a golden master entry serializes") + "\n")
            .collect();

        // The stored golden master, read before insta may rewrite it.
        let mut expected = self.expected();
        let states = entries.iter().any(|e| e.state.is_some());
        let snapshot = self.snapshot(cassette, &text, entries.len(), states);
        if expected.is_none() && snapshot.is_ok() {
            // insta wrote it in place (INSTA_UPDATE=always): recorded now, and checked.
            expected = self.expected();
        }
        let mut summary = Summary::new();
        if let Some(expected) = &expected {
            for (index, actual) in entries.iter().enumerate() {
                summary.add(&compare(index as u64, expected.get(&actual.seq), actual));
            }
        }
        let report = summary.finish(
            &header,
            &cassette.display().to_string(),
            &format!("golden master {}", self.name),
            target.name(),
            &run,
        );
        let stale = expected.as_ref().map_or(0, |e| {
            e.keys()
                .filter(|seq| !entries.iter().any(|a| a.seq == **seq))
                .count()
        });
        match (&expected, snapshot) {
            (None, _) => panic!(
                "golden master `{}`: no snapshot at {} yet. Record it against the legacy \
                 (INSTA_UPDATE=always), or accept the `.snap.new` insta wrote with \
                 `cargo insta review`.",
                self.name,
                self.path().display()
            ),
            (Some(_), Ok(())) if report.totals.divergent == 0 && stale == 0 => report,
            (Some(_), insta) => panic!(
                "golden master `{}` ({}): {} of {} requests differ{}{}\n\n{}\n\
                 If the change is intended, accept the new golden master with \
                 `cargo insta review` (insta wrote a `.snap.new` unless CI is set).",
                self.name,
                self.path().display(),
                report.totals.divergent,
                report.totals.total,
                if stale > 0 {
                    format!("; {stale} requests of the snapshot are no longer in the cassette")
                } else {
                    String::new()
                },
                match insta {
                    Err(_) if report.totals.divergent == 0 => {
                        " (the snapshot text differs; see insta's diff above)"
                    }
                    _ => "",
                },
                super::failure(&report)
            ),
        }
    }

    /// A recorded request as its redacted golden-master entry.
    fn entry(&self, request: Request) -> Entry {
        let mut outcome = request.outcome.expect("recorded requests have an outcome");
        let mut state = request.state;
        if let Some((_, rules)) = &self.rules {
            if let Outcome::Ok(value) = &mut outcome {
                rules.redact(&request.op, Part::Outcome, value);
            }
            if let Some(state) = &mut state {
                rules.redact(&request.op, Part::State, state);
            }
        }
        // Keys in one order, whatever order a store returns them in: the snapshot's text is
        // what insta compares.
        if let Outcome::Ok(value) = &mut outcome {
            sort_keys(value);
        }
        if let Some(state) = &mut state {
            sort_keys(state);
        }
        if let Outcome::Error(e) = &mut outcome {
            // Errors compare by kind: the message is the store's own wording.
            e.message.clear();
        }
        Entry {
            seq: request.seq,
            op: request.op,
            kind: request.kind,
            key: request.key,
            outcome,
            state: state.filter(|_| request.kind == Kind::Write),
        }
    }

    /// The stored golden master by seq, `None` when there is none. A file that is not a
    /// golden master panics with its line.
    fn expected(&self) -> Option<HashMap<u64, Entry>> {
        let path = self.path();
        let text = std::fs::read_to_string(&path).ok()?;
        let body = snapshot_body(&text)
            .unwrap_or_else(|| panic!("{}: not an insta snapshot", path.display()));
        let mut entries = HashMap::new();
        for (n, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{} body line {}: {e}", path.display(), n + 1));
            entries.insert(entry.seq, entry);
        }
        Some(entries)
    }

    /// Asserts `text` as the insta snapshot, recorded as made by the caller's test file;
    /// `Err` when insta failed the assertion. `states`: whether any entry has a state.
    fn snapshot(
        &self,
        cassette: &Path,
        text: &str,
        requests: usize,
        states: bool,
    ) -> Result<(), ()> {
        use insta::_macro_support::{assert_snapshot, SnapshotValue};
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(&self.dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(description(requests, states));
        settings.set_info(&serde_json::json!({
            "cassette": relative(cassette),
            "rules": self.rules.as_ref().map(|(p, _)| relative(p)),
        }));
        // What `insta::assert_snapshot!` does, with the caller's file and line in place of
        // this one's, and the caller's workspace: the snapshot's `source` is the test.
        let workspace = workspace();
        let file = workspace.join(self.caller.file());
        let file = file.to_string_lossy();
        settings.bind(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                assert_snapshot(
                    SnapshotValue::FileText {
                        name: Some(self.name.as_str().into()),
                        content: text,
                    },
                    &workspace,
                    "cutover::testing::golden::GoldenMaster::assert_matches",
                    module_path!(),
                    &file,
                    self.caller.line(),
                    "golden master",
                )
                .unwrap_or_else(|e| panic!("golden master `{}`: {e}", self.name));
            }))
            .map_err(|_| ())
        })
    }
}

/// The workspace of the package under test, which insta makes the snapshot's `source`
/// relative to: `INSTA_WORKSPACE_ROOT` when set, else the workspace of the package whose
/// tests run (`cargo test` sets `CARGO_MANIFEST_DIR`), else this crate's.
fn workspace() -> Arc<PathBuf> {
    use insta::_macro_support::{get_cargo_workspace, Workspace};
    static PACKAGE: OnceLock<Option<&'static str>> = OnceLock::new();
    let package = PACKAGE.get_or_init(|| {
        std::env::var("CARGO_MANIFEST_DIR")
            .ok()
            .map(|dir| &*Box::leak(dir.into_boxed_str()))
    });
    match package {
        Some(dir) => get_cargo_workspace(Workspace::DetectWithCargo(dir)),
        None => insta::_get_workspace_root!(),
    }
}

/// The snapshot's description: what its lines hold; states only when some entry has one.
fn description(requests: usize, states: bool) -> String {
    let what = if states {
        "outcomes and post-write states"
    } else {
        "outcomes"
    };
    format!("golden master: {what} of {requests} requests, one JSON line each")
}

/// Orders every object's keys, at every depth.
fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut item) in entries {
                sort_keys(&mut item);
                map.insert(key, item);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// A path as the snapshot records it: relative to the working directory when below it.
fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The content of an insta `.snap` file: what follows its `---` metadata block.
fn snapshot_body(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(&rest[end + 5..])
}

/// One request against its golden-master entry.
fn compare(index: u64, expected: Option<&Entry>, actual: &Entry) -> RequestResult {
    let mut found = Vec::new();
    match expected {
        None => found.push(Divergence {
            path: "$".into(),
            class: Class::Extra,
            left: None,
            right: None,
            detail: None,
            note: Some(format!(
                "seq {} is not in the golden master: record it again",
                actual.seq
            )),
        }),
        Some(e) if e.op != actual.op => found.push(Divergence {
            path: "$".into(),
            class: Class::Value,
            left: None,
            right: None,
            detail: None,
            note: Some(format!(
                "seq {} is `{}` in the golden master and `{}` in the cassette: record it again",
                actual.seq, e.op, actual.op
            )),
        }),
        Some(e) => {
            found.extend(diff::outcomes(&e.outcome, &actual.outcome).divergences);
            match (&e.state, &actual.state) {
                (Some(l), Some(r)) => found.extend(diff::states(l, r).divergences),
                (None, None) => {}
                (l, r) => found.extend(
                    diff::states(
                        l.as_ref().unwrap_or(&Value::Null),
                        r.as_ref().unwrap_or(&Value::Null),
                    )
                    .divergences,
                ),
            }
        }
    }
    let request = Request {
        events: None,
        latency_us: None,
        started_us: None,
        probe: None,
        seq: actual.seq,
        key: actual.key.clone(),
        op: actual.op.clone(),
        kind: actual.kind,
        args: Value::Null,
        at: String::new(),
        outcome: None,
        state: None,
    };
    let status = if found.is_empty() {
        Status::Equal
    } else {
        Status::Divergent
    };
    RequestResult {
        divergences: found,
        ..RequestResult::of(index, &request, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_of_a_snapshot_follows_its_metadata() {
        let text = "---\nsource: x.rs\ninfo:\n  cassette: a.jsonl\n---\n{\"seq\":1}\n{\"seq\":2}\n";
        assert_eq!(snapshot_body(text), Some("{\"seq\":1}\n{\"seq\":2}\n"));
        assert_eq!(snapshot_body("no header"), None);
    }

    #[test]
    fn the_description_names_states_only_when_there_are_some() {
        assert_eq!(
            description(212, true),
            "golden master: outcomes and post-write states of 212 requests, one JSON line each"
        );
        assert_eq!(
            description(7, false),
            "golden master: outcomes of 7 requests, one JSON line each"
        );
    }
}
