//! The CI pipelines to copy (`examples/ci/`): both parse as YAML, and every `cutover`
//! command they run is a valid invocation of this binary (`--help` after its arguments
//! accepts every flag, or the command exits 2 naming the one it does not know).

use crate::util::cutover;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every string under `value` (scripts, steps' `run`), depth first.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Mapping(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The variables the file declares (`env:` or `variables:` at the top), and the CI's own.
fn variables(file: &Value) -> Vec<(String, String)> {
    let mut known = vec![
        ("${{ matrix.shard }}".to_string(), "1".to_string()),
        ("$CI_NODE_INDEX".to_string(), "1".to_string()),
        ("$CI_NODE_TOTAL".to_string(), "4".to_string()),
    ];
    for section in ["env", "variables"] {
        if let Some(Value::Mapping(map)) = file.get(section) {
            for (k, v) in map {
                known.push((
                    format!("${}", k.as_str().unwrap()),
                    v.as_str().unwrap().to_string(),
                ));
            }
        }
    }
    known
}

/// Runs every `cutover ...` command of the file with `--help` appended; returns the
/// subcommands seen.
fn check(name: &str) -> BTreeSet<String> {
    let file = load(name);
    let mut lines = Vec::new();
    strings(&file, &mut lines);
    let known = variables(&file);
    let mut seen = BTreeSet::new();
    for line in lines.iter().flat_map(|l| l.lines()) {
        let Some(command) = line.trim().strip_prefix("cutover ") else {
            continue;
        };
        let command = command.split(" || ").next().unwrap();
        let mut text = command.to_string();
        for (variable, value) in &known {
            text = text.replace(variable, value);
        }
        let words = shell_words::split(&text).unwrap_or_else(|e| panic!("{name}: `{line}`: {e}"));
        let done = cutover().args(&words).arg("--help").output().unwrap();
        assert!(
            done.status.success(),
            "{name}: `cutover {text}` is not a valid invocation: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        seen.insert(words[0].clone());
    }
    seen
}

#[test]
fn the_ci_pipelines_run_valid_cutover_commands() {
    let all: BTreeSet<String> = ["gate", "merge", "replay", "report"]
        .map(String::from)
        .into();
    assert_eq!(check("github-actions.yml"), all);
    assert_eq!(check("gitlab-ci.yml"), all);
    // The check bites: a flag the command does not know fails it.
    let done = cutover()
        .args([
            "replay", "c.jsonl", "--out", "o", "--shards", "1/4", "--help",
        ])
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(2));
}

#[test]
fn completions_and_the_man_page_are_generated_from_the_command() {
    for (shell, marker) in [
        ("bash", "complete -F _cutover"),
        ("zsh", "#compdef cutover"),
    ] {
        let done = cutover().args(["completions", shell]).output().unwrap();
        assert!(done.status.success(), "{shell}");
        let script = String::from_utf8(done.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script:.200}");
        for subcommand in ["replay", "gate", "check-target", "demo"] {
            assert!(
                script.contains(subcommand),
                "{shell} completes {subcommand}"
            );
        }
        assert!(script.contains("--candidate"), "{shell} completes flags");
    }
    let done = cutover().arg("man").output().unwrap();
    let page = String::from_utf8(done.stdout).unwrap();
    assert!(
        page.starts_with(".ie") && page.contains(".TH cutover 1"),
        "{page:.200}"
    );
    assert!(
        page.contains("check\\-target"),
        "the man page lists the subcommands"
    );
}
