//! The atomicity clause (`docs/races.md`): at most `max_atomicity` concurrent groups no
//! serial order explains on the candidate, every group judged, and with `require_races` a
//! race check present that checked some group.

use super::{Clause, Policy, Reason};
use crate::races::RaceClass;
use crate::report::Report;

/// The reasons the race check in `report` fails `policy`: at most `max_atomicity` groups no
/// serial order explains on the candidate; every group judged; a check present when the
/// policy requires one.
pub(super) fn check(report: &Report, policy: &Policy) -> Vec<Reason> {
    let reason = |op: Option<String>, message: String| Reason {
        op,
        clause: Clause::Atomicity,
        message,
    };
    let Some(races) = &report.races else {
        return match policy.require_races {
            true => vec![reason(
                None,
                "the policy requires a race check (`replay --races`) and this run has none".into(),
            )],
            false => Vec::new(),
        };
    };
    let mut reasons = Vec::new();
    if policy.require_races && races.groups.is_empty() {
        reasons.push(reason(
            None,
            "the policy requires a race check and this one found no concurrent group to check (a cassette without `started_us`? try `--races writes`)".into(),
        ));
    }
    let found: Vec<_> = races
        .groups
        .iter()
        .filter(|g| g.verdict == RaceClass::Atomicity)
        .collect();
    if found.len() as u64 > policy.max_atomicity {
        for g in &found {
            let mut ops = g.ops.clone();
            ops.dedup();
            reasons.push(reason(
                Some(ops.join(",")),
                format!(
                    "key {} seqs {:?}: {} of {} concurrent runs on the candidate gave a result no serial order gives (atomicity; at most {} groups allowed)",
                    g.key, g.seqs, g.candidate.unexplained, g.candidate.schedules, policy.max_atomicity
                ),
            ));
        }
    }
    let unjudged = races.count(RaceClass::Inconclusive);
    if unjudged > 0 || races.stopped.is_some() {
        reasons.push(reason(
            None,
            format!(
                "{unjudged} of {} concurrent groups could not be judged (infrastructure failures){}",
                races.groups.len(),
                races.stopped.as_ref().map_or(String::new(), |s| format!("; {s}"))
            ),
        ));
    }
    reasons
}
