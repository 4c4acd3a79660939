//! Tests of declarations: parsing with located errors, and attacks on the features,
//! probes and expectations derived from them.

use super::features::{table, DeclaredFeatures};
use super::probes::DeclaredProber;
use super::*;
use crate::cassette::{Outcome, Request};
use crate::coverage::{Features, Group};
use crate::probe::derive;
use serde_json::json;
use std::sync::Arc;

const TASKS: &str = r#"
domain = "tasks"

[[op]]
name = "create_task"
kind = "write"
key = "generated"
generated_key = "id"
example = { title = "Write", priority = "low" }
[op.args]
title = { type = "string", class = "free_text" }
priority = { type = "string", class = "enum", values = ["low", "high"] }
due = { type = "timestamp", optional = true }
[op.errors]
invalid = "invalid priority"

[[op]]
name = "complete_task"
kind = "write"
key = "keyed"
[op.errors]
not_found = "absent key"
conflict = "repeat"

[[op]]
name = "get_task"
kind = "read"
key = "keyed"
[op.errors]
not_found = "absent key"

[[op]]
name = "list_tasks"
kind = "read"
key = "keyless"
[op.args]
search = { type = "string", class = "search_text", optional = true }
due_from = { type = "timestamp", class = "lower_bound", field = "due", optional = true }
due_to = { type = "timestamp", class = "upper_bound", field = "due", optional = true }
limit = { type = "integer", class = "limit" }
offset = { type = "integer", class = "offset", optional = true }
[op.list]
key = "id"
order = [{ by = "due", nulls = "first" }, { by = "id" }]
"#;

fn tasks() -> Arc<Declaration> {
    Arc::new(Declaration::parse(TASKS, "tasks.toml").expect("valid"))
}

fn req(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: serde_json::Value) -> Request {
    Request::new(seq, key, op, kind, args, "2026-01-01T00:00:00.000Z")
}

fn ok(mut r: Request, value: serde_json::Value) -> Request {
    r.outcome = Some(Outcome::Ok(value));
    r
}

#[test]
fn the_builtin_kv_declaration_is_valid() {
    let kv = Declaration::parse(crate::kv::DECLARATION, "kv").expect("valid");
    assert_eq!(kv.domain, "kv");
    assert_eq!(kv.ops.len(), 6);
}

#[test]
fn errors_name_the_file_the_line_and_what_was_expected() {
    let unknown = Declaration::parse(
        "domain = \"x\"\n[[op]]\nname = \"a\"\nkind = \"read\"\nkey = \"keyed\"\nsort = 1\n",
        "d.toml",
    )
    .unwrap_err();
    assert_eq!(unknown.line, Some(6), "{unknown}");
    assert!(unknown.to_string().starts_with("d.toml:6: "), "{unknown}");
    assert!(unknown.what.contains("sort"), "{unknown}");
    let dangling = TASKS.replace(
        "invalid = \"invalid priority\"",
        "invalid = \"invalid prio\"",
    );
    let e = Declaration::parse(&dangling, "t.toml").unwrap_err();
    assert!(e.what.contains("no argument `prio`"), "{e}");
    assert_eq!(e.line, Some(5), "{e}");
    let bad_kind = TASKS.replace(
        "kind = \"read\"\nkey = \"keyless\"",
        "kind = \"reed\"\nkey = \"keyless\"",
    );
    assert!(Declaration::parse(&bad_kind, "t.toml")
        .unwrap_err()
        .what
        .contains("reed"));
    let no_field = TASKS.replace(
        ", field = \"due\", optional = true }\ndue_to",
        ", optional = true }\ndue_to",
    );
    assert!(Declaration::parse(&no_field, "t")
        .unwrap_err()
        .what
        .contains("needs `field`"));
    let repeat_read = TASKS.replace(
        "[op.errors]\nnot_found = \"absent key\"\n\n[[op]]\nname = \"list_tasks\"",
        "[op.errors]\nconflict = \"repeat\"\n\n[[op]]\nname = \"list_tasks\"",
    );
    assert!(Declaration::parse(&repeat_read, "t")
        .unwrap_err()
        .what
        .contains("only a keyed write"));
    let twice = format!("{TASKS}\n[[op]]\nname = \"get_task\"\nkind = \"read\"\nkey = \"keyed\"\n");
    assert!(Declaration::parse(&twice, "t")
        .unwrap_err()
        .what
        .contains("declared twice"));
    assert!(Provoke::parse("sometimes").is_err());
    assert_eq!(Provoke::parse("").unwrap(), None);
}

#[test]
fn a_handshake_declaration_may_be_text_or_an_object() {
    let object = serde_json::to_value(&*tasks()).unwrap();
    assert_eq!(Declaration::from_handshake(&object, "h").unwrap(), *tasks());
    assert_eq!(
        Declaration::from_handshake(&json!(TASKS), "h").unwrap(),
        *tasks()
    );
    assert!(Declaration::from_handshake(&json!({"domain": ""}), "h").is_err());
    let round = Declaration::parse(&tasks().to_toml(), "round").unwrap();
    assert_eq!(round, *tasks());
}

fn observe(f: &mut DeclaredFeatures, r: &Request, state: Option<serde_json::Value>) -> Vec<String> {
    let outcome = r.outcome.clone().unwrap_or(Outcome::Ok(json!(null)));
    f.observe(r, &outcome, state.as_ref())
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}

#[test]
fn bound_features_count_exact_values_only() {
    let mut f = DeclaredFeatures::new(tasks());
    let stored = json!({"id": 1, "due": "2026-03-01T10:00:00.000Z"});
    let create = ok(
        req(
            1,
            None,
            "create_task",
            Kind::Write,
            json!({"title": "a", "priority": "low", "due": "2026-03-01T10:00:00.000Z"}),
        ),
        stored.clone(),
    );
    observe(&mut f, &create, None);
    let list = |seq, to: &str| {
        ok(
            req(
                seq,
                None,
                "list_tasks",
                Kind::Read,
                json!({"due_to": to, "limit": 10}),
            ),
            json!([stored]),
        )
    };
    // The same instant written another way is equal; a millisecond off is one step; two are neither.
    let equal = observe(&mut f, &list(2, "2026-03-01T10:00:00Z"), None);
    assert!(
        equal.contains(&"due_to equals a stored due".to_string()),
        "{equal:?}"
    );
    let step = observe(&mut f, &list(3, "2026-03-01T10:00:00.001Z"), None);
    assert!(
        step.contains(&"due_to one step from a stored due".to_string()),
        "{step:?}"
    );
    assert!(!step.contains(&"due_to equals a stored due".to_string()));
    let far = observe(&mut f, &list(4, "2026-03-01T10:00:00.002Z"), None);
    assert!(
        !far.iter()
            .any(|n| n.starts_with("due_to equals") || n.starts_with("due_to one step")),
        "{far:?}"
    );
    assert!(far.contains(&"limit past the end".to_string()), "{far:?}");
    // A microsecond off is not a millisecond's step.
    let micro = observe(&mut f, &list(5, "2026-03-01T10:00:00.000001Z"), None);
    assert!(!micro.iter().any(|n| n.starts_with("due_to")), "{micro:?}");
}

#[test]
fn text_enum_and_key_features_are_not_counted_for_what_they_do_not_declare() {
    let mut f = DeclaredFeatures::new(tasks());
    let create = |seq, title: &str, priority: &str| {
        ok(
            req(
                seq,
                None,
                "create_task",
                Kind::Write,
                json!({"title": title, "priority": priority}),
            ),
            json!({"id": seq}),
        )
    };
    let hits = observe(&mut f, &create(1, " padded ", "urgent"), None);
    assert!(
        hits.contains(&"title with surrounding whitespace".to_string()),
        "{hits:?}"
    );
    // A value outside the enum counts no enum feature (it is not a declared value).
    assert!(
        !hits.iter().any(|h| h.starts_with("priority =")),
        "{hits:?}"
    );
    let hits = observe(&mut f, &create(2, "", "low"), None);
    assert!(
        hits.contains(&"title empty".to_string()) && hits.contains(&"priority = low".to_string())
    );
    assert!(!hits.contains(&"title with surrounding whitespace".to_string()));
    // Created through a generated key: the key is stored, so a read of it is not of an absent key.
    let read = ok(
        req(3, Some("2"), "get_task", Kind::Read, json!({})),
        json!({"id": 2}),
    );
    assert!(!observe(&mut f, &read, None).contains(&"absent key".to_string()));
    let mut absent = req(4, Some("99"), "get_task", Kind::Read, json!({}));
    absent.outcome = Some(Outcome::error(
        crate::cassette::ErrorKind::NotFound,
        "no task 99",
    ));
    assert!(observe(&mut f, &absent, None).contains(&"absent key".to_string()));
    let search = |seq, s: &str| {
        ok(
            req(
                seq,
                None,
                "list_tasks",
                Kind::Read,
                json!({"search": s, "limit": 1}),
            ),
            json!([]),
        )
    };
    assert!(observe(&mut f, &search(5, "ÉTÉ"), None).contains(&"search upper case".to_string()));
    assert!(observe(&mut f, &search(6, "a_b"), None).contains(&"search with % or _".to_string()));
    assert!(observe(&mut f, &search(7, "plain"), None)
        .iter()
        .all(|h| !h.starts_with("search ")));
}

#[test]
fn ties_and_null_sort_keys_are_seen_in_answers() {
    let mut f = DeclaredFeatures::new(tasks());
    let answer = json!([{"id": 1, "due": null}, {"id": 2, "due": "2026-01-01T00:00:00Z"}, {"id": 3, "due": "2026-01-01T00:00:00Z"}]);
    let hits = observe(
        &mut f,
        &ok(
            req(1, None, "list_tasks", Kind::Read, json!({"limit": 3})),
            answer,
        ),
        None,
    );
    assert!(
        hits.contains(&"tie on due".to_string()) && hits.contains(&"null due".to_string()),
        "{hits:?}"
    );
    assert!(hits.contains(&"limit reached".to_string()));
    // Two nulls in a row are not a tie on a value.
    let nulls = json!([{"id": 1, "due": null}, {"id": 2, "due": null}]);
    let hits = observe(
        &mut f,
        &ok(
            req(2, None, "list_tasks", Kind::Read, json!({"limit": 5})),
            nulls,
        ),
        None,
    );
    assert!(!hits.contains(&"tie on due".to_string()), "{hits:?}");
}

#[test]
fn every_table_feature_is_named_once() {
    for op in &tasks().ops {
        let features = table(op);
        let mut names: Vec<(Group, String)> = features.clone();
        names.sort_by(|a, b| a.1.cmp(&b.1));
        names.dedup_by(|a, b| a.1 == b.1);
        assert_eq!(names.len(), features.len(), "{}: {features:?}", op.name);
    }
}

fn cassette() -> Vec<Request> {
    let mut out = Vec::new();
    for i in 1..=6u64 {
        let due = if i % 3 == 0 {
            json!(null)
        } else {
            json!(format!("2026-03-0{i}T10:00:00.000Z"))
        };
        let task = json!({"id": i, "title": format!("Task {i}"), "priority": "low", "due": due});
        out.push(ok(
            req(
                i,
                None,
                "create_task",
                Kind::Write,
                json!({"title": format!("Task {i}"), "priority": "low", "due": due}),
            ),
            task,
        ));
    }
    let mut done = ok(
        req(7, Some("2"), "complete_task", Kind::Write, json!({})),
        json!(null),
    );
    done.state = Some(json!({"id": 2, "done": true}));
    out.push(done);
    out.push(ok(req(8, None, "list_tasks", Kind::Read, json!({"search": "task", "due_from": "2026-03-01T10:00:30.000Z", "due_to": "2026-03-05T10:00:30.000Z", "limit": 10, "offset": 1})), json!([{"id": 2}, {"id": 4}])));
    out
}

fn probes_of(requests: &[Request]) -> Vec<Request> {
    derive(Box::new(DeclaredProber::new(tasks())), requests)
}

#[test]
fn probes_reach_each_declared_edge() {
    let probes = probes_of(&cassette());
    let has = |op: &str, why: &str, args: serde_json::Value| {
        probes.iter().any(|p| {
            p.op == op
                && p.probe.as_deref().is_some_and(|w| w.contains(why))
                && json_contains(&p.args, &args)
        })
    };
    assert!(
        has(
            "list_tasks",
            "due_to equal to a stored due",
            json!({"due_to": "2026-03-01T10:00:00.000Z"})
        ),
        "{probes:#?}"
    );
    assert!(has(
        "list_tasks",
        "due_to one step above",
        json!({"due_to": "2026-03-01T10:00:00.001Z"})
    ));
    assert!(has(
        "list_tasks",
        "search in upper case",
        json!({"search": "TASK"})
    ));
    assert!(has(
        "list_tasks",
        "search with % inside",
        json!({"search": "ta%sk"})
    ));
    assert!(has("list_tasks", "limit 0", json!({"limit": 0})));
    assert!(has("list_tasks", "offset at the end", json!({"offset": 3})));
    assert!(has(
        "list_tasks",
        "bounds crossed",
        json!({"due_from": "2026-03-05T10:00:30.001Z"})
    ));
    assert!(has(
        "create_task",
        "invalid priority (invalid)",
        json!({"priority": "probe-not-a-value"})
    ));
    assert!(has(
        "create_task",
        "title with surrounding whitespace",
        json!({})
    ));
    assert!(has(
        "create_task",
        "priority = high",
        json!({"priority": "high"})
    ));
    // A generated key is stored: the absent key is past every generated one.
    let absent = probes
        .iter()
        .find(|p| p.probe.as_deref() == Some("get_task: absent key"))
        .expect("absent key probe");
    assert_eq!(absent.key.as_deref(), Some("1000006"));
    assert!(probes.iter().any(|p| p.op == "complete_task"
        && p.key.as_deref() == Some("2")
        && p.probe.as_deref() == Some("error path: complete_task repeated (conflict)")));
    assert!(probes
        .iter()
        .any(|p| p.probe.as_deref() == Some("sequence: each write twice")));
    // No probe of an operation the declaration does not have, and every probe marked.
    assert!(probes
        .iter()
        .all(|p| tasks().op(&p.op).is_some() && p.probe.is_some()));
}

#[test]
fn probes_are_the_same_for_the_same_cassette() {
    let a = probes_of(&cassette());
    let b = probes_of(&cassette());
    assert_eq!(a, b);
    assert!(!a.is_empty());
}

fn json_contains(value: &serde_json::Value, part: &serde_json::Value) -> bool {
    part.as_object()
        .is_none_or(|p| p.iter().all(|(k, v)| value.get(k) == Some(v)))
}

mod order {
    use super::super::expect::disorder;
    use super::super::{Direction, List, Nulls, SortKey};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn list(nulls: Option<Nulls>, direction: Direction) -> List {
        List {
            key: Some("id".into()),
            order: vec![
                SortKey {
                    by: "due".into(),
                    direction,
                    nulls,
                },
                SortKey {
                    by: "id".into(),
                    direction: Direction::Asc,
                    nulls: None,
                },
            ],
        }
    }

    #[test]
    fn nulls_sort_where_declared_and_nowhere_else() {
        let items = vec![json!({"id": 1, "due": null}), json!({"id": 2, "due": 5})];
        assert!(disorder(&list(Some(Nulls::First), Direction::Asc), &items).is_none());
        assert!(disorder(&list(Some(Nulls::Last), Direction::Asc), &items).is_some());
        let twice = vec![json!({"id": 1, "due": 1}), json!({"id": 1, "due": 2})];
        assert!(disorder(&list(None, Direction::Asc), &twice)
            .unwrap()
            .contains("twice"));
        let tie_broken_wrong = vec![json!({"id": 2, "due": 1}), json!({"id": 1, "due": 1})];
        assert!(disorder(&list(None, Direction::Asc), &tie_broken_wrong).is_some());
        let big = vec![
            json!({"id": 1, "due": 9007199254740993u64}),
            json!({"id": 2, "due": 9007199254740992u64}),
        ];
        assert!(disorder(&list(None, Direction::Desc), &big).is_none());
    }

    proptest! {
        #[test]
        fn a_sorted_list_is_in_order_and_one_swap_is_not(mut dues in proptest::collection::vec(proptest::option::of(-50i64..50), 2..12), swap in 0usize..11) {
            let l = list(Some(Nulls::Last), Direction::Desc);
            dues.sort_by(|a, b| match (a, b) { (None, None) => std::cmp::Ordering::Equal, (None, _) => std::cmp::Ordering::Greater, (_, None) => std::cmp::Ordering::Less, (Some(a), Some(b)) => b.cmp(a) });
            let items: Vec<Value> = dues.iter().enumerate().map(|(i, d)| json!({"id": i, "due": d})).collect();
            prop_assert!(disorder(&l, &items).is_none());
            let i = swap % (items.len() - 1);
            let mut swapped = items.clone();
            swapped.swap(i, i + 1);
            prop_assert!(disorder(&l, &swapped).is_some(), "{swapped:?}");
        }
    }
}

mod stored {
    use super::super::stored::Stored;
    use super::super::Declaration;
    use crate::cassette::{Kind, Outcome, Request};
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    const DECLARED: &str = r#"
domain = "d"
[[op]]
name = "save"
kind = "write"
key = "keyed"
[[op]]
name = "between"
kind = "read"
key = "keyless"
[op.args]
from = { type = "integer", class = "lower_bound", field = "n" }
[op.list]
key = "id"
"#;

    proptest! {
        /// A value counts as stored while some aggregate holds it, and leaves with the
        /// last aggregate that held it (deleted or rewritten), whatever the order.
        #[test]
        fn a_stored_value_leaves_with_the_aggregate_that_held_it(
            writes in proptest::collection::vec((0usize..4, proptest::option::of(0i64..6)), 1..40)
        ) {
            let declaration = Declaration::parse(DECLARED, "d").unwrap();
            let save = declaration.op("save").unwrap();
            let mut stored = Stored::new(&declaration);
            let mut model: BTreeMap<String, Option<i64>> = BTreeMap::new();
            for (seq, (key, n)) in writes.iter().enumerate() {
                let key = format!("k{key}");
                let state = n.map_or(json!(null), |n| json!({"id": key, "n": n}));
                let request = Request::new(seq as u64, Some(&key), "save", Kind::Write, json!({}), "2026-01-01T00:00:00Z");
                stored.learn(save, &request, Some(&Outcome::Ok(json!(null))), Some(&state));
                model.insert(key.clone(), *n);
                prop_assert_eq!(stored.holds(&key), Some(n.is_some()));
                for p in 0..6i64 {
                    let held = model.values().any(|v| *v == Some(p));
                    prop_assert_eq!(stored.has_point("n", i128::from(p)), held, "point {}", p);
                }
            }
        }
    }
}
