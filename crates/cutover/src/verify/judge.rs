//! One key judged: its two aggregates (or its absence on a side) into a [`RequestResult`]
//! with the same diff, rules and classes as a replay's stored states.

use crate::cassette::{Kind, Outcome};
use crate::diff::{self, Class, Divergence};
use crate::normalize::{Part, RuleRun};
use crate::replay::{RequestResult, Side, StateCheck, Status};
use crate::targets::Dumped;

/// The operation name every verify result carries: rules with `op = "verify"` (or no
/// `op`) and `on = "state"` apply to a verify's aggregates.
pub const OP: &str = "verify";

/// What a key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// On both sides, equal.
    Equal,
    /// On both sides, different.
    Divergent,
    /// On the legacy only.
    Missing,
    /// On the candidate only.
    Extra,
    /// On both sides, unreadable on at least one.
    Inconclusive,
}

/// Judges `key` at position `seq` from what each side's batch dump read of it (`None`: the
/// side does not hold the key).
pub fn judge(
    rules: Option<&RuleRun>,
    seq: u64,
    key: &str,
    legacy: Option<Dumped>,
    candidate: Option<Dumped>,
) -> (RequestResult, Found) {
    let mut result = blank(seq, key);
    let found = match (legacy, candidate) {
        (Some(Dumped::State(mut l)), Some(Dumped::State(mut c))) => {
            let found = match rules {
                Some(rules) => rules.compare(OP, Part::State, false, &mut l, &mut c),
                None => diff::states(&l, &c),
            };
            if found.divergences.is_empty() {
                return (result, Found::Equal);
            }
            result.divergences = found.divergences;
            result.omitted = found.omitted;
            result.legacy.outcome = Some(Outcome::Ok(l));
            result.candidate.outcome = Some(Outcome::Ok(c));
            Found::Divergent
        }
        (Some(l), Some(c)) => {
            result.legacy = unreadable_side(l);
            result.candidate = unreadable_side(c);
            Found::Inconclusive
        }
        (Some(l), None) => {
            result.divergences = vec![one_sided(Class::Missing, "legacy", &l)];
            result.legacy = shown(l);
            Found::Missing
        }
        (None, Some(c)) => {
            result.divergences = vec![one_sided(Class::Extra, "candidate", &c)];
            result.candidate = shown(c);
            Found::Extra
        }
        (None, None) => unreachable!("a joined key is on at least one side"),
    };
    result.status = match found {
        Found::Inconclusive => Status::Inconclusive,
        _ => Status::Divergent,
    };
    result.state = Some(match found {
        Found::Inconclusive => StateCheck::Inconclusive,
        _ => StateCheck::Divergent,
    });
    (result, found)
}

/// An equal result for `key`, to be filled in when it is not.
fn blank(seq: u64, key: &str) -> RequestResult {
    RequestResult {
        events: None,
        index: seq.saturating_sub(1),
        seq,
        key: Some(key.to_string()),
        op: OP.to_string(),
        kind: Kind::Read,
        status: Status::Equal,
        args: None,
        legacy: Side::default(),
        candidate: Side::default(),
        divergences: Vec::new(),
        omitted: 0,
        state: Some(StateCheck::Equal),
        tainted_by: None,
        noise: 0,
        probe: false,
        settled_us: None,
        settle_retries: 0,
        follows: None,
    }
}

/// The divergence of a key held by one side only: the whole aggregate, where readable.
fn one_sided(class: Class, side: &str, dumped: &Dumped) -> Divergence {
    let (value, note) = match dumped {
        Dumped::State(state) => (Some(state.clone()), None),
        Dumped::Unreadable(why) => (
            None,
            Some(format!("the {side}'s aggregate could not be read: {why}")),
        ),
    };
    let (left, right) = match class {
        Class::Missing => (value, None),
        _ => (None, value),
    };
    Divergence {
        path: "$".into(),
        class,
        left,
        right,
        detail: None,
        note,
    }
}

/// A side of a one-sided key: its aggregate as the outcome shown, or why it is unreadable.
fn shown(dumped: Dumped) -> Side {
    match dumped {
        Dumped::State(state) => Side {
            outcome: Some(Outcome::Ok(state)),
            ..Side::default()
        },
        unreadable => unreadable_side(unreadable),
    }
}

/// A side of an inconclusive key: its failure when it could not be read.
fn unreadable_side(dumped: Dumped) -> Side {
    match dumped {
        Dumped::Unreadable(why) => Side {
            failure: Some(format!("aggregate unreadable: {why}")),
            ..Side::default()
        },
        Dumped::State(state) => Side {
            outcome: Some(Outcome::Ok(state)),
            ..Side::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn state(v: Value) -> Option<Dumped> {
        Some(Dumped::State(v))
    }

    #[test]
    fn equal_aggregates_are_equal_and_others_divergent_with_their_paths() {
        let (r, f) = judge(None, 1, "a", state(json!({"n": 1})), state(json!({"n": 1})));
        assert_eq!((f, r.status), (Found::Equal, Status::Equal));
        let (r, f) = judge(None, 2, "b", state(json!({"n": 1})), state(json!({"n": 2})));
        assert_eq!((f, r.status), (Found::Divergent, Status::Divergent));
        assert_eq!(r.divergences[0].path, "$.n");
        assert_eq!(r.divergences[0].class, Class::State);
        let (r, _) = judge(None, 3, "c", state(json!([1, 2])), state(json!([2, 1])));
        assert_eq!(r.divergences[0].detail, Some(Class::Ordering));
    }

    #[test]
    fn a_key_on_one_side_is_missing_or_extra_with_its_aggregate() {
        let (r, f) = judge(None, 1, "a", state(json!({"n": 1})), None);
        assert_eq!(f, Found::Missing);
        assert_eq!(r.divergences[0].class, Class::Missing);
        assert_eq!(r.divergences[0].left, Some(json!({"n": 1})));
        let (r, f) = judge(None, 2, "b", None, state(json!(null)));
        assert_eq!(f, Found::Extra);
        assert_eq!(r.divergences[0].right, Some(json!(null)));
    }

    #[test]
    fn only_rules_for_every_operation_or_for_verify_accept_a_verify_difference() {
        let judged = |rules: &str| {
            let rules = std::sync::Arc::new(crate::normalize::Rules::parse(rules, "t").unwrap());
            let run = rules.run();
            let (l, c) = (json!({"n": 1, "at": "x"}), json!({"n": 1, "at": "y"}));
            judge(Some(&run), 1, "a", state(l), state(c)).1
        };
        let rule = |op: &str, on: &str| {
            format!("[[rule]]\n{op}path = \"$.at\"\nignore = true\non = \"{on}\"\nreason = \"r\"\n")
        };
        assert_eq!(judged(&rule("", "state")), Found::Equal);
        assert_eq!(judged(&rule("op = \"verify\"\n", "state")), Found::Equal);
        // A rule declared for another operation's writes, or for answers only, accepts
        // nothing here.
        assert_eq!(judged(&rule("op = \"put\"\n", "state")), Found::Divergent);
        assert_eq!(judged(&rule("", "outcome")), Found::Divergent);
    }

    #[test]
    fn an_unreadable_aggregate_is_inconclusive_never_equal() {
        let bad = || Some(Dumped::Unreadable("field `n`: expected an int".into()));
        for (l, c) in [
            (bad(), state(json!(1))),
            (state(json!(1)), bad()),
            (bad(), bad()),
        ] {
            let (r, f) = judge(None, 1, "a", l, c);
            assert_eq!((f, r.status), (Found::Inconclusive, Status::Inconclusive));
            assert!(r.legacy.failure.is_some() || r.candidate.failure.is_some());
        }
        let (r, f) = judge(None, 1, "a", bad(), None);
        assert_eq!(f, Found::Missing);
        assert!(r.divergences[0]
            .note
            .as_deref()
            .unwrap()
            .contains("expected an int"));
    }
}
