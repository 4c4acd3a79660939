//! Judging a group: a concurrent trial is explained when some serial order of the group, on
//! the same store, gave the same answers (errors by kind) and the same final state. What
//! no serial order explains is an anomaly; on the candidate alone it is an `atomicity`
//! divergence, on both stores alike it is `shared`, on the legacy alone `legacy_only`.

use super::group::Group;
use super::trial::{Schedule, Trial};
use crate::cassette::Outcome;
use crate::normalize::{Part, RuleRun};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A group's verdict, and a finding's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaceClass {
    /// Every concurrent run was explained by a serial order, on both stores.
    Serializable,
    /// The candidate gave a result no serial order explains and the legacy never gave.
    Atomicity,
    /// Both stores gave the same unexplained result: the legacy behaves so too.
    Shared,
    /// Only the legacy gave an unexplained result.
    LegacyOnly,
    /// Infrastructure failures left the group (or a side of it) unjudged.
    Inconclusive,
}

impl RaceClass {
    /// Every class, in report order.
    pub const ALL: [RaceClass; 5] = [
        RaceClass::Serializable,
        RaceClass::Atomicity,
        RaceClass::Shared,
        RaceClass::LegacyOnly,
        RaceClass::Inconclusive,
    ];

    /// The lowercase name used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            RaceClass::Serializable => "serializable",
            RaceClass::Atomicity => "atomicity",
            RaceClass::Shared => "shared",
            RaceClass::LegacyOnly => "legacy_only",
            RaceClass::Inconclusive => "inconclusive",
        }
    }
}

/// One side's trials of one group.
pub(super) struct SideRun {
    /// Each order (indices into the group) and what it gave; `Err` if it could not run.
    pub serial: Vec<(Vec<usize>, Result<Trial, String>)>,
    pub concurrent: Vec<(Schedule, Result<Trial, String>)>,
}

/// One side's figures for one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideSummary {
    /// Distinct results of the serial orders.
    pub serial_outcomes: usize,
    /// Concurrent runs made.
    pub schedules: usize,
    /// Concurrent runs a serial order explains.
    pub explained: usize,
    /// Concurrent runs no serial order explains.
    pub unexplained: usize,
    /// Runs (serial or concurrent) that failed for an infrastructure reason.
    pub inconclusive: usize,
    /// The first schedule (1-based) that gave an unexplained result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_unexplained: Option<usize>,
    /// The first infrastructure failure, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One group's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    /// The group's key.
    pub key: String,
    /// The group's requests' seqs, in cassette order.
    pub seqs: Vec<u64>,
    /// The group's requests' operations, in cassette order.
    pub ops: Vec<String>,
    /// What the group showed (see [`RaceClass`]).
    pub verdict: RaceClass,
    /// The legacy's trials.
    pub legacy: SideSummary,
    /// The candidate's trials.
    pub candidate: SideSummary,
}

/// A serial order and what it gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerialOutcome {
    /// The group's seqs in the order they ran.
    pub order: Vec<u64>,
    /// Each request's answer, in cassette order.
    pub answers: Vec<Outcome>,
    /// The key's state after the last request.
    pub state: Option<Value>,
}

/// An unexplained result: the group, the schedule that first showed it, what it was, and
/// the serial outcomes of the same store it was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `atomicity`, `shared` or `legacy_only`.
    pub class: RaceClass,
    /// `legacy` or `candidate`: the store that gave the result.
    pub side: String,
    /// The group's key.
    pub key: String,
    /// The group's requests' seqs, in cassette order.
    pub seqs: Vec<u64>,
    /// The group's requests' operations, in cassette order.
    pub ops: Vec<String>,
    /// The first schedule that gave this result.
    pub schedule: Schedule,
    /// How many of the side's schedules gave this same result.
    pub seen: usize,
    /// The result no serial order of the same store gives.
    pub observed: Trial,
    /// The distinct results of the same store's serial orders, it was compared with.
    pub serial: Vec<SerialOutcome>,
}

/// Judges one group's two sides.
pub(super) fn judge(
    group: &Group,
    legacy: &SideRun,
    candidate: &SideRun,
    rules: Option<&RuleRun>,
) -> (GroupReport, Vec<Finding>) {
    let (l_sum, l_odd) = summarize(legacy);
    let (c_sum, c_odd) = summarize(candidate);
    let mut findings = Vec::new();
    let mut classes = Vec::new();
    let mut legacy_matched = vec![false; l_odd.len()];
    for (schedule, trial, seen) in &c_odd {
        let twin = l_odd
            .iter()
            .position(|(_, l, _)| same_across(group, l, trial, rules));
        let class = match twin {
            Some(i) => {
                legacy_matched[i] = true;
                RaceClass::Shared
            }
            None => RaceClass::Atomicity,
        };
        classes.push(class);
        findings.push(finding(
            group,
            class,
            "candidate",
            candidate,
            schedule,
            trial,
            *seen,
        ));
    }
    for ((schedule, trial, seen), matched) in l_odd.iter().zip(legacy_matched) {
        if !matched {
            classes.push(RaceClass::LegacyOnly);
            findings.push(finding(
                group,
                RaceClass::LegacyOnly,
                "legacy",
                legacy,
                schedule,
                trial,
                *seen,
            ));
        }
    }
    // A side with a serial order that did not run, or with no concurrent run at all, leaves
    // the group unjudged: a result only that order explains would look unexplained, and a
    // legacy that never ran concurrently cannot say what it never gives.
    let unjudged = |s: &SideSummary, run: &SideRun| {
        s.inconclusive > 0
            && (run.serial.iter().any(|(_, t)| t.is_err()) || s.explained + s.unexplained == 0)
    };
    let verdict = if unjudged(&l_sum, legacy) || unjudged(&c_sum, candidate) {
        RaceClass::Inconclusive
    } else if classes.contains(&RaceClass::Atomicity) {
        RaceClass::Atomicity
    } else {
        classes.into_iter().min().unwrap_or(RaceClass::Serializable)
    };
    let report = GroupReport {
        key: group.key.clone(),
        seqs: group.seqs(),
        ops: group.ops(),
        verdict,
        legacy: l_sum,
        candidate: c_sum,
    };
    (report, findings)
}

/// A side's figures and its distinct unexplained results (first schedule, result, count).
fn summarize(run: &SideRun) -> (SideSummary, Vec<(Schedule, Trial, usize)>) {
    let mut summary = SideSummary {
        schedules: run.concurrent.len(),
        ..SideSummary::default()
    };
    let mut serial: Vec<&Trial> = Vec::new();
    for (_, trial) in &run.serial {
        match trial {
            Ok(t) => {
                if !serial.iter().any(|s| same(s, t)) {
                    serial.push(t);
                }
            }
            Err(e) => fail(&mut summary, e),
        }
    }
    summary.serial_outcomes = serial.len();
    let mut odd: Vec<(Schedule, Trial, usize)> = Vec::new();
    for (schedule, trial) in &run.concurrent {
        let trial = match trial {
            Ok(t) => t,
            Err(e) => {
                fail(&mut summary, e);
                continue;
            }
        };
        if serial.iter().any(|s| same(s, trial)) {
            summary.explained += 1;
            continue;
        }
        summary.unexplained += 1;
        summary.first_unexplained.get_or_insert(schedule.index);
        match odd.iter_mut().find(|(_, t, _)| same(t, trial)) {
            Some((_, _, seen)) => *seen += 1,
            None => odd.push((schedule.clone(), trial.clone(), 1)),
        }
    }
    (summary, odd)
}

fn fail(summary: &mut SideSummary, why: &str) {
    summary.inconclusive += 1;
    summary.failure.get_or_insert_with(|| why.to_string());
}

fn finding(
    group: &Group,
    class: RaceClass,
    side: &str,
    run: &SideRun,
    schedule: &Schedule,
    observed: &Trial,
    seen: usize,
) -> Finding {
    let mut serial: Vec<SerialOutcome> = Vec::new();
    for (order, trial) in &run.serial {
        if let Ok(t) = trial {
            if !serial
                .iter()
                .any(|s| s.answers == t.answers && s.state == t.state)
            {
                serial.push(SerialOutcome {
                    order: order.iter().map(|&i| group.requests[i].seq).collect(),
                    answers: t.answers.clone(),
                    state: t.state.clone(),
                });
            }
        }
    }
    Finding {
        class,
        side: side.to_string(),
        key: group.key.clone(),
        seqs: group.seqs(),
        ops: group.ops(),
        schedule: schedule.clone(),
        seen,
        observed: observed.clone(),
        serial,
    }
}

/// Two results of one store: the same answers (errors by kind) and the same state.
pub(super) fn same(a: &Trial, b: &Trial) -> bool {
    a.answers.len() == b.answers.len()
        && a.answers
            .iter()
            .zip(&b.answers)
            .all(|(x, y)| crate::diff::outcomes(x, y).is_equal())
        && match (&a.state, &b.state) {
            (Some(x), Some(y)) => crate::diff::values(x, y).is_equal(),
            (None, None) => true,
            _ => false,
        }
}

/// A legacy and a candidate result: the same after the rules, as a replay compares them.
fn same_across(group: &Group, legacy: &Trial, candidate: &Trial, rules: Option<&RuleRun>) -> bool {
    let answers = group
        .requests
        .iter()
        .zip(legacy.answers.iter().zip(&candidate.answers))
        .all(|(request, (l, c))| crate::replay::diff_outcomes(request, rules, l, c).is_equal());
    // The state is what the group's writes left: compared by the rules of its last write.
    let op = group
        .requests
        .iter()
        .rev()
        .find(|r| r.kind == crate::cassette::Kind::Write)
        .map_or("", |r| r.op.as_str());
    let state = match (&legacy.state, &candidate.state) {
        (Some(l), Some(c)) => {
            let (mut l, mut c) = (l.clone(), c.clone());
            match rules {
                Some(rules) => rules.compare(op, Part::State, false, &mut l, &mut c),
                None => crate::diff::states(&l, &c),
            }
            .is_equal()
        }
        (None, None) => true,
        _ => false,
    };
    answers && state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{ErrorKind, Kind, Request};
    use proptest::prelude::*;
    use serde_json::json;

    fn group() -> Group {
        let request = |seq| Request {
            events: None,
            seq,
            key: Some("k".into()),
            op: "put".into(),
            kind: Kind::Write,
            args: json!({}),
            at: "2026-01-01T00:00:00Z".into(),
            outcome: None,
            state: None,
            latency_us: None,
            started_us: None,
            probe: None,
        };
        Group {
            key: "k".into(),
            requests: vec![request(1), request(2)],
            history: Vec::new(),
        }
    }

    fn trial(a: Value, b: Value, state: Value) -> Trial {
        Trial {
            answers: vec![Outcome::Ok(a), Outcome::Ok(b)],
            state: Some(state),
        }
    }

    /// A side whose serial orders gave `serial` and whose schedules gave `concurrent`.
    fn side(serial: &[Trial], concurrent: &[Trial]) -> SideRun {
        SideRun {
            serial: serial
                .iter()
                .enumerate()
                .map(|(i, t)| (vec![i % 2, 1 - i % 2], Ok(t.clone())))
                .collect(),
            concurrent: concurrent
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let schedule = Schedule {
                        index: i + 1,
                        jitter_us: vec![0, 0],
                        pause_us: 0,
                    };
                    (schedule, Ok(t.clone()))
                })
                .collect(),
        }
    }

    fn serial() -> Vec<Trial> {
        vec![
            trial(json!(1), json!(2), json!({ "n": 2 })),
            trial(json!(2), json!(1), json!({ "n": 2 })),
        ]
    }

    #[test]
    fn only_the_legacy_s_own_result_excuses_the_candidate() {
        let lost = trial(json!(1), json!(1), json!({ "n": 1 }));
        let other = trial(json!(1), json!(1), json!({ "n": 0 }));
        let verdict = |legacy: &[Trial], candidate: &[Trial]| {
            let (report, findings) = judge(
                &group(),
                &side(&serial(), legacy),
                &side(&serial(), candidate),
                None,
            );
            let classes: Vec<RaceClass> = findings.iter().map(|f| f.class).collect();
            (report.verdict, classes)
        };
        let ok = serial()[1].clone();
        // The candidate alone: atomicity.
        assert_eq!(
            verdict(std::slice::from_ref(&ok), &[ok.clone(), lost.clone()]),
            (RaceClass::Atomicity, vec![RaceClass::Atomicity])
        );
        // The legacy gave the same result: shared.
        assert_eq!(
            verdict(std::slice::from_ref(&lost), std::slice::from_ref(&lost)),
            (RaceClass::Shared, vec![RaceClass::Shared])
        );
        // The legacy's anomaly is another: it excuses nothing, and is reported too.
        assert_eq!(
            verdict(std::slice::from_ref(&other), std::slice::from_ref(&lost)),
            (
                RaceClass::Atomicity,
                vec![RaceClass::Atomicity, RaceClass::LegacyOnly]
            )
        );
        // The legacy alone.
        assert_eq!(
            verdict(&[other], std::slice::from_ref(&ok)),
            (RaceClass::LegacyOnly, vec![RaceClass::LegacyOnly])
        );
        // An error no serial order raises (a deadlock) is a result like any other; errors
        // compare by kind, so the same kind with another message is the same result.
        let aborted = |m: &str| Trial {
            answers: vec![Outcome::Ok(json!(1)), Outcome::error(ErrorKind::Aborted, m)],
            state: Some(json!({ "n": 1 })),
        };
        assert_eq!(
            verdict(std::slice::from_ref(&ok), &[aborted("deadlock detected")]).0,
            RaceClass::Atomicity
        );
        assert_eq!(
            verdict(
                &[aborted("E112 WriteConflict")],
                &[aborted("deadlock detected")]
            )
            .0,
            RaceClass::Shared
        );
        // A serial order that could not run leaves the group unjudged, even beside a result
        // no other order explains: that order might have.
        let mut broken = side(&serial()[..1], std::slice::from_ref(&lost));
        broken.serial.push((vec![1, 0], Err("timed out".into())));
        let (report, _) = judge(
            &group(),
            &side(&serial(), std::slice::from_ref(&ok)),
            &broken,
            None,
        );
        assert_eq!(report.verdict, RaceClass::Inconclusive);
        // A state the store could not tell is not a state it told.
        let untold = Trial {
            state: None,
            ..ok.clone()
        };
        assert_eq!(verdict(&[ok], &[untold]).0, RaceClass::Atomicity);
    }

    proptest! {
        /// A concurrent result equal to a serial outcome is never a finding; one that
        /// differs from every serial outcome anywhere (an answer, the state, a nested
        /// value, a null in an array) always is.
        #[test]
        fn explained_exactly_when_a_serial_order_gives_the_same(
            a in -3i64..3, b in -3i64..3, n in -3i64..3, arr in proptest::collection::vec(proptest::option::of(0i64..3), 0..4)
        ) {
            let state = json!({ "n": n, "arr": arr });
            let observed = trial(json!(a), json!({ "b": b }), state);
            let serial = vec![
                trial(json!(0), json!({ "b": 0 }), json!({ "n": 0, "arr": [] })),
                trial(json!(1), json!({ "b": 1 }), json!({ "n": 1, "arr": [null] })),
            ];
            let explained = serial.iter().any(|s| s == &observed);
            let (report, findings) = judge(
                &group(),
                &side(&serial, &[]),
                &side(&serial, &[observed]),
                None,
            );
            prop_assert_eq!(report.candidate.explained == 1, explained);
            prop_assert_eq!(findings.is_empty(), explained);
            prop_assert_eq!(report.verdict == RaceClass::Atomicity, !explained);
        }
    }
}
