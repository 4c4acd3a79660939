//! The events a request published, compared as a third part of its behaviour beside its
//! answer and stored state (`docs/src/events.md`): each defect a repository can make with
//! its events (one forgotten, one extra, two swapped, a payload field renamed, one published
//! before its commit) has its class, the gate counts them, and every allowance that reaches
//! events accepts only what it declares: a rule not written `on = "events"` never reaches
//! them, an events rule only its path, noise only a value, suggestions only their group.

use crate::allowances::{group_of, groups, replay_scripted, Group};
use crate::util::doubles::Double;
use crate::util::request;
use async_trait::async_trait;
use cutover::cassette::{Event, Header, Kind, Outcome, Request, Writer};
use cutover::diff::Class;
use cutover::gate::{self, GateVerdict, Policy};
use cutover::normalize::suggest::{self, Suggestion};
use cutover::normalize::{Noise, Part, RuleRun, Rules};
use cutover::replay::{Pair, RequestResult, StateCheck, Status};
use cutover::report::Report;
use cutover::targets::recorded::Recorded;
use cutover::targets::{Executed, InfraError, Target};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A target that tells, for each request, the events scripted for its seq.
struct Telling {
    inner: Double,
    events: HashMap<u64, Option<Vec<Event>>>,
}

#[async_trait]
impl Target for Telling {
    fn name(&self) -> &str {
        "telling"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.inner.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        self.inner.execute(request).await
    }

    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        Ok(Executed {
            outcome: self.inner.execute(request).await?,
            events: self.events.get(&request.seq).cloned().flatten(),
        })
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.inner.dump(key).await
    }
}

/// One write whose answer and state agree on both sides: only its events may differ.
struct Case {
    op: &'static str,
    legacy: Option<Vec<Event>>,
    candidate: Option<Vec<Event>>,
}

fn case(op: &'static str, legacy: Option<Vec<Event>>, candidate: Option<Vec<Event>>) -> Case {
    Case {
        op,
        legacy,
        candidate,
    }
}

fn ev(name: &str, payload: Value) -> Event {
    Event::new(name, payload)
}

fn early(mut event: Event) -> Event {
    event.before_commit = true;
    event
}

/// Replays `cases` (one key each): a recorded legacy whose cassette carries its events,
/// and a candidate telling its own.
fn replay_events(
    cases: &[Case],
    rules: Option<&str>,
    noise: Option<Noise>,
) -> (Report, Vec<RequestResult>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut writer = Writer::create(&path, &Header::new("events")).unwrap();
    let mut told = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        let seq = i as u64 + 1;
        let key = format!("k{seq}");
        writer
            .write(&Request {
                outcome: Some(Outcome::Ok(json!({"ok": true}))),
                state: Some(json!({"v": 1})),
                events: case.legacy.clone(),
                ..request(seq, Some(&key), case.op, Kind::Write, json!({}))
            })
            .unwrap();
        told.insert(seq, case.candidate.clone());
    }
    writer.finish().unwrap();
    let candidate = Double::memory()
        .named("scripted")
        .answering(|_, _| Some((Outcome::Ok(json!({"ok": true})), Some(json!({"v": 1})))));
    let pair = Pair {
        legacy: Arc::new(Recorded::new()),
        candidate: Arc::new(Telling {
            inner: candidate,
            events: told,
        }),
    };
    let rules = rules.map(|r| Rules::parse(r, "events.toml").unwrap());
    replay_scripted(&path, &pair, rules, noise)
}

fn found(result: &RequestResult) -> Vec<(String, Class, Option<Class>)> {
    let mut found: Vec<_> = result
        .divergences
        .iter()
        .map(|d| (d.path.clone(), d.class, d.detail))
        .collect();
    found.sort();
    found
}

fn posted() -> Event {
    ev("message_posted", json!({"id": "c1", "text": "hi", "n": 1}))
}

fn renamed() -> Event {
    ev("conversation_renamed", json!({"id": "c1", "title": "t"}))
}

/// Every defect of events, each on its own operation, and the agreeing cases.
fn every_defect() -> Vec<Case> {
    let both = || Some(vec![posted(), renamed()]);
    vec![
        case("same", both(), both()),
        case("none", Some(vec![]), Some(vec![])),
        case("untold", None, None),
        case("forgot", both(), Some(vec![posted()])),
        case("extra", Some(vec![posted()]), both()),
        case("swapped", both(), Some(vec![renamed(), posted()])),
        case(
            "field_renamed",
            both(),
            Some(vec![
                posted(),
                ev("conversation_renamed", json!({"id": "c1", "name": "t"})),
            ]),
        ),
        case(
            "value",
            both(),
            Some(vec![
                ev("message_posted", json!({"id": "c1", "text": "hi", "n": 2})),
                renamed(),
            ]),
        ),
        case("early", both(), Some(vec![early(posted()), renamed()])),
        case("candidate_untold", both(), None),
        case("legacy_untold", None, both()),
    ]
}

#[test]
fn each_event_defect_is_divergent_with_its_class_and_agreeing_events_are_equal() {
    let (report, results) = replay_events(&every_defect(), None, None);
    let by_op: HashMap<&str, &RequestResult> = results.iter().map(|r| (r.op.as_str(), r)).collect();
    for op in ["same", "none"] {
        assert_eq!(by_op[op].status, Status::Equal, "{op}");
        assert_eq!(by_op[op].events, Some(StateCheck::Equal), "{op}");
    }
    // A legacy that does not tell its events holds the candidate's to nothing.
    for op in ["untold", "legacy_untold"] {
        assert_eq!(
            (by_op[op].status, by_op[op].events),
            (Status::Equal, None),
            "{op}"
        );
        assert_eq!(report.operations[op].writes_unchecked, 0);
    }
    type Expected<'a> = Vec<(&'a str, Class, Option<Class>)>;
    let expect: Vec<(&str, Expected)> = vec![
        (
            "forgot",
            vec![("$[1]", Class::Events, Some(Class::Missing))],
        ),
        ("extra", vec![("$[1]", Class::Events, Some(Class::Extra))]),
        ("swapped", vec![("$", Class::Events, Some(Class::Ordering))]),
        (
            "field_renamed",
            vec![
                ("$[1].payload.name", Class::Events, Some(Class::Extra)),
                ("$[1].payload.title", Class::Events, Some(Class::Missing)),
            ],
        ),
        (
            "value",
            vec![("$[0].payload.n", Class::Events, Some(Class::Value))],
        ),
        ("early", vec![("$[0]", Class::BeforeCommit, None)]),
    ];
    for (op, divergences) in expect {
        let result = by_op[op];
        assert_eq!(result.status, Status::Divergent, "{op}");
        assert_eq!(result.events, Some(StateCheck::Divergent), "{op}");
        let want: Vec<_> = divergences
            .into_iter()
            .map(|(p, c, d)| (p.to_string(), c, d))
            .collect();
        assert_eq!(found(result), want, "{op}");
        // A divergent request keeps both lists to read it by.
        assert!(result.legacy.events.is_some() && result.candidate.events.is_some());
    }
    let early = &by_op["early"].divergences[0];
    assert!(
        early.note.as_deref().unwrap().contains("candidate"),
        "{early:?}"
    );
    // Only one side told its events: equal on what was compared, its events unchecked.
    let untold = by_op["candidate_untold"];
    assert_eq!(
        (untold.status, untold.events),
        (Status::Equal, Some(StateCheck::Unchecked))
    );
    assert_eq!(report.operations["candidate_untold"].events_unchecked, 1);
    assert_eq!(report.operations["candidate_untold"].writes_unchecked, 1);
    assert_eq!(report.operations["same"].writes_unchecked, 0);
}

#[test]
fn the_gate_rejects_divergent_events_and_events_only_one_side_told() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    let policy = Policy::parse("[gate]\n", "policy.toml").unwrap();
    let judge = |cases: &[Case]| {
        let (report, results) = replay_events(cases, None, None);
        gate::evaluate(&report, &results, &policy, today)
    };
    let both = || Some(vec![posted(), renamed()]);
    let agreed = judge(&[case("same", both(), both())]);
    assert_eq!(
        agreed.verdict,
        GateVerdict::Approved,
        "{:?}",
        agreed.reasons
    );
    for cases in [
        vec![case("forgot", both(), Some(vec![posted()]))],
        vec![case(
            "early",
            both(),
            Some(vec![early(posted()), renamed()]),
        )],
        vec![case("candidate_untold", both(), None)],
    ] {
        let decision = judge(&cases);
        assert_eq!(decision.verdict, GateVerdict::Rejected, "{}", cases[0].op);
    }
}

/// Divergences left after `rules` compare `left` and `right` as `part` of `get`.
fn compare(rules: &str, part: Part, left: &Value, right: &Value) -> Vec<(String, Class)> {
    let run = RuleRun::of(Rules::parse(rules, "attack.toml").unwrap());
    let (mut l, mut r) = (left.clone(), right.clone());
    let mut found: Vec<_> = run
        .compare("get", part, false, &mut l, &mut r)
        .divergences
        .into_iter()
        .map(|d| (d.path, d.class))
        .collect();
    found.sort();
    found
}

fn events_value(events: &[Event]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| json!({"name": e.name, "payload": e.payload}))
            .collect(),
    )
}

fn small_events() -> impl Strategy<Value = Vec<Event>> {
    let payload = prop_oneof![
        Just(json!(null)),
        (0i64..3).prop_map(|n| json!({"n": n})),
        (0i64..3, "[ab]").prop_map(|(n, t)| json!({"n": n, "at": t, "l": [n, null]})),
    ];
    prop::collection::vec(
        ("[xy]", payload).prop_map(|(name, payload)| ev(&name, payload)),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// No rule written for answers or states, whatever its action and path, reaches events.
    #[test]
    fn a_rule_not_written_on_events_never_reaches_them(
        left in small_events(),
        right in small_events(),
        on in prop_oneof![Just(""), Just("on = \"outcome\"\n"), Just("on = \"state\"\n"), Just("on = \"both\"\n")],
        rule in prop_oneof![
            Just("path = \"$..*\"\nignore = true\n"),
            Just("path = \"$\"\nunordered = true\n"),
            Just("path = \"$[*].payload.n\"\ntolerance = 5\n"),
            Just("path = \"$[*].payload\"\nnull_equals_missing = true\n"),
        ],
    ) {
        let (l, r) = (events_value(&left), events_value(&right));
        let rules = format!("[[rule]]\n{on}{rule}");
        prop_assert_eq!(compare(&rules, Part::Events, &l, &r), compare("", Part::Events, &l, &r));
    }

    /// An events rule ignoring one payload member accepts a difference there and nothing
    /// else: another member, a missing or extra event, another order.
    #[test]
    fn an_events_rule_accepts_only_its_path(left in small_events(), right in small_events()) {
        let rules = "[[rule]]\non = \"events\"\npath = \"$[*].payload.at\"\nignore = true\n";
        let (l, r) = (events_value(&left), events_value(&right));
        let strip = |events: &[Event]| {
            let mut v = events_value(events);
            for e in v.as_array_mut().unwrap() {
                if let Some(p) = e["payload"].as_object_mut() {
                    p.remove("at");
                }
            }
            v
        };
        let expected = compare("", Part::Events, &strip(&left), &strip(&right));
        prop_assert_eq!(compare(rules, Part::Events, &l, &r), expected);
    }
}

#[test]
fn an_events_rule_never_reaches_answers_or_states() {
    let rules = "[[rule]]\non = \"events\"\npath = \"$..*\"\nignore = true\n";
    let (l, r) = (json!({"a": 1, "l": [1, 2]}), json!({"a": 2, "l": [2, 1]}));
    for part in [Part::Outcome, Part::State] {
        assert_eq!(compare(rules, part, &l, &r), compare("", part, &l, &r));
    }
    let bad = Rules::parse(
        "[[rule]]\non = \"event\"\npath = \"$\"\nignore = true\n",
        "r.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("r.toml") && bad.contains("events"), "{bad}");
}

#[test]
fn noise_in_events_forgives_a_changed_value_never_a_lost_extra_swapped_or_early_event() {
    let noise = Noise::from_groups(&[Suggestion::group(
        "value",
        "$[*].payload.n",
        Class::Events,
        Some(Class::Value),
    )]);
    let (_, results) = replay_events(&every_defect(), None, Some(noise));
    for r in &results {
        let expected = match r.op.as_str() {
            "same" | "none" | "untold" | "candidate_untold" | "legacy_untold" | "value" => {
                Status::Equal
            }
            _ => Status::Divergent,
        };
        assert_eq!(r.status, expected, "{}: {:?}", r.op, r.divergences);
    }
    let value = results.iter().find(|r| r.op == "value").unwrap();
    assert_eq!(value.noise, 1);
    // The same noise seen in answers does not reach events.
    let answers = Noise::from_groups(&[Suggestion::group(
        "value",
        "$[*].payload.n",
        Class::Value,
        None,
    )]);
    let (_, results) = replay_events(&every_defect(), None, Some(answers));
    let value = results.iter().find(|r| r.op == "value").unwrap();
    assert_eq!(value.status, Status::Divergent);
}

#[test]
fn a_suggested_events_rule_accepts_exactly_its_group_and_an_early_event_has_none() {
    let cases = every_defect();
    let (report, _) = replay_events(&cases, None, None);
    let before: HashMap<Group, u64> = groups(&report);
    assert!(!before.is_empty());
    let mut tried = 0;
    for s in &report.suggested_rules {
        let Some(rule) = &s.rule else {
            assert!(
                s.class == Class::BeforeCommit || s.hides.is_some(),
                "only an early event, and groups a rule would hide a defect in, have no rule: {s:?}"
            );
            continue;
        };
        assert!(rule.contains("on = \"events\""), "{rule}");
        let (after, _) = replay_events(&cases, Some(rule), None);
        let mut expected = before.clone();
        expected.remove(&group_of(s));
        if rule.contains("rename") {
            // A rename accepts its pair: the member lost and the same value under the new name.
            expected.retain(|(op, path, _, _), _| {
                !(op == &s.op && [".title", ".name"].iter().any(|m| path.ends_with(m)))
            });
        }
        assert_eq!(groups(&after), expected, "after pasting\n{rule}");
        tried += 1;
    }
    assert!(tried > 0, "some events group has a rule");
    let early = report
        .suggested_rules
        .iter()
        .find(|s| s.class == Class::BeforeCommit)
        .expect("the early event is a group");
    assert!(early.rule.is_none());
    // As an accepted difference, a suggestion matches exactly its group.
    let accept = suggest::accept(&early.op, &early.path, early.class, early.detail);
    assert!(accept.contains("before_commit"), "{accept}");
}
