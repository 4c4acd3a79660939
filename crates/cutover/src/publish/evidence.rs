//! The evidence bundle: everything a cutover decision rests on, in one directory, with the
//! hashes that tie it together, so the decision can be checked and reproduced later:
//!
//! * `report.json`, `results.jsonl`: the replay's output, as judged;
//! * `policy.toml` and, when the replay had one, `rules.toml`: copies of the files used;
//! * `decision.json`, `report.md`, `report.html`, `junit.xml`: the decision and its documents;
//! * `manifest.json`: the tool version, the judging date, the verdict, the cassette's hash
//!   (the cassette itself stays where it is: it may be large or private), the rules' and
//!   the policy's hashes, every file's hash, and the command that reproduces the decision.
//!
//! The bundle is written beside its final place and renamed into it: it is whole or absent,
//! and an existing bundle is never overwritten.

use crate::digest::{self, FileRef};
use crate::gate::{Decision, GateVerdict};
use crate::report::Report;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The bundle format version, 1.
    pub cutover_evidence: u32,
    /// The version of cutover that wrote the bundle.
    pub tool: String,
    /// When the bundle was written: UTC, RFC 3339, to the second.
    pub created_at: String,
    /// The date the decision was judged on.
    pub today: chrono::NaiveDate,
    /// The gate's verdict.
    pub verdict: GateVerdict,
    /// The cassette replayed, by hash, if the report names it; it is not copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cassette: Option<FileRef>,
    /// The normalization rules file replayed with, if any; copied as `rules.toml` when it
    /// still has the recorded hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<FileRef>,
    /// The policy file judged by, as given, with the hash of its bytes.
    pub policy: FileRef,
    /// SHA-256 of every other file of the bundle, by name.
    pub files: BTreeMap<String, String>,
    /// The `cutover gate` command that judges the bundle again on the same date.
    pub reproduce: String,
}

/// Writes the bundle for `decision` on the replay output in `replay_dir` (judged as
/// `report`, its results folded into `workspace` for the page) by the policy at `policy`
/// into `out`, which must not exist yet.
pub fn write(
    out: &Path,
    replay_dir: &Path,
    report: &Report,
    decision: &Decision,
    policy: &Path,
    workspace: &super::html::Workspace,
) -> std::io::Result<Manifest> {
    if out.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} exists: an evidence bundle is never overwritten",
                out.display()
            ),
        ));
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "evidence".into());
    let partial = out.with_file_name(format!(".{name}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(&partial)?;

    let mut files = BTreeMap::new();
    let mut put = |file: &str, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::write(partial.join(file), bytes)?;
        files.insert(file.to_string(), digest::bytes(bytes));
        Ok(())
    };
    put(
        "report.json",
        &std::fs::read(replay_dir.join("report.json"))?,
    )?;
    put(
        "results.jsonl",
        &std::fs::read(replay_dir.join("results.jsonl"))?,
    )?;
    let policy_text = std::fs::read(policy)?;
    put("policy.toml", &policy_text)?;
    let rules = report.inputs.as_ref().and_then(|i| i.rules.clone());
    if let Some(rules) = &rules {
        // The rules file as it was when replayed, if it is still the same.
        if let Ok(text) = std::fs::read(&rules.path) {
            if digest::bytes(&text) == rules.sha256 {
                put("rules.toml", &text)?;
            }
        }
    }
    let json = serde_json::to_vec_pretty(decision).map_err(std::io::Error::other)?;
    put("decision.json", &json)?;
    put(
        "report.md",
        super::markdown::render(report, Some(decision)).as_bytes(),
    )?;
    put(
        "report.html",
        super::html::render(report, Some(decision), Some(workspace)).as_bytes(),
    )?;
    put(
        "junit.xml",
        super::junit::render(report, Some(decision)).as_bytes(),
    )?;

    let manifest = Manifest {
        cutover_evidence: 1,
        tool: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        today: decision.today,
        verdict: decision.verdict,
        cassette: report.inputs.as_ref().map(|i| i.cassette.clone()),
        rules,
        policy: FileRef {
            path: policy.display().to_string(),
            sha256: digest::bytes(&policy_text),
        },
        files,
        reproduce: format!(
            "cutover gate {dir} --policy {dir}/policy.toml --today {}",
            decision.today,
            dir = out.display()
        ),
    };
    std::fs::write(
        partial.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&partial, out)?;
    Ok(manifest)
}
