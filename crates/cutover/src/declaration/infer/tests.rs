//! Attacks on the inference: it must not claim what the traffic does not show, and its
//! draft must always be a declaration that parses back to itself.

use super::*;
use crate::cassette::{ErrorOutcome, Kind, Reader};
use crate::declaration::expect::disorder;
use crate::declaration::{Class, Direction, KeyMode, List, Nulls, SortKey, Type};
use serde_json::{json, Map, Value};

fn req(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    Request::new(seq, key, op, kind, args, "2026-01-01T00:00:00.000Z")
}

fn ok(mut r: Request, answer: Value) -> Request {
    r.outcome = Some(Outcome::Ok(answer));
    r
}

fn error(mut r: Request, kind: ErrorKind) -> Request {
    r.outcome = Some(Outcome::Error(ErrorOutcome {
        kind,
        message: String::new(),
    }));
    r
}

/// The draft of `requests`, checked to parse back to the declaration it holds.
fn draft(requests: Vec<Request>) -> Draft {
    draft_of(requests, "tasks")
}

fn draft_of(requests: Vec<Request>, domain: &str) -> Draft {
    let draft = infer(requests.into_iter(), domain);
    let parsed = Declaration::parse(draft.to_toml(), "draft.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", draft.to_toml()));
    assert_eq!(parsed, draft.declaration, "{}", draft.to_toml());
    draft
}

/// `n` list answers of `list_tasks`, each of `ids` as elements `{id, title}`.
fn lists(answers: &[&[i64]]) -> Vec<Request> {
    answers
        .iter()
        .enumerate()
        .map(|(i, ids)| {
            let items: Vec<Value> = ids
                .iter()
                .map(|id| json!({"id": id, "title": format!("t{}", 100 - id)}))
                .collect();
            ok(
                req(i as u64 + 1, None, "list_tasks", Kind::Read, json!({})),
                Value::Array(items),
            )
        })
        .collect()
}

fn list_of<'d>(draft: &'d Draft, op: &str) -> &'d List {
    draft
        .declaration
        .op(op)
        .unwrap()
        .list
        .as_ref()
        .expect("a list")
}

#[test]
fn an_order_seen_in_two_answers_only_is_suggested_in_a_comment_not_declared() {
    let d = draft(lists(&[&[1, 2, 3], &[4, 7]]));
    let list = list_of(&d, "list_tasks");
    assert!(list.order.is_empty(), "{}", d.to_toml());
    assert!(
        d.to_toml().contains(
            "# not declared: order = [{ by = \"id\" }] holds in 2 answers only (of 2 or more elements"
        ),
        "{}",
        d.to_toml()
    );
    // A third answer of one element does not count.
    let d = draft(lists(&[&[1, 2, 3], &[4, 7], &[9]]));
    assert!(list_of(&d, "list_tasks").order.is_empty());
}

#[test]
fn an_order_that_holds_in_every_one_of_enough_answers_is_declared_with_what_it_rests_on() {
    let d = draft(lists(&[&[1, 2, 3], &[4, 7], &[2, 9], &[5]]));
    let list = list_of(&d, "list_tasks");
    assert_eq!(list.key.as_deref(), Some("id"));
    assert_eq!(
        list.order,
        vec![SortKey {
            by: "id".into(),
            direction: Direction::Asc,
            nulls: None
        }]
    );
    let text = d.to_toml();
    assert!(
        text.contains("# guess: order holds in 3 of 3 answers of 2 or more elements (4 adjacent pairs strictly in order, 0 ties; no null seen)"),
        "{text}"
    );
    // `title` descends in every answer too: said, not declared.
    assert!(
        text.contains("# seen: also sorted in every answer: `title` desc"),
        "{text}"
    );
    // One answer out of order, and nothing is declared.
    let d = draft(lists(&[&[1, 2, 3], &[4, 7], &[2, 9], &[8, 5]]));
    assert!(list_of(&d, "list_tasks").order.iter().all(|k| k.by != "id"));
}

#[test]
fn an_order_with_nulls_says_where_they_sat_and_breaks_ties_by_the_key() {
    let answer = |items: Value| ok(req(1, None, "list_tasks", Kind::Read, json!({})), items);
    let mut requests = vec![
        answer(
            json!([{"id": "a", "due": null}, {"id": "b", "due": 1}, {"id": "c", "due": 1}, {"id": "d", "due": 5}]),
        ),
        answer(json!([{"id": "b", "due": null}, {"id": "c", "due": null}, {"id": "a", "due": 2}])),
        answer(json!([{"id": "e", "due": 3}, {"id": "f", "due": 4}])),
    ];
    for (i, r) in requests.iter_mut().enumerate() {
        r.seq = i as u64 + 1;
    }
    let d = draft(requests.clone());
    let list = list_of(&d, "list_tasks");
    assert_eq!(
        list.order,
        vec![
            SortKey {
                by: "due".into(),
                direction: Direction::Asc,
                nulls: Some(Nulls::First)
            },
            SortKey {
                by: "id".into(),
                direction: Direction::Asc,
                nulls: None
            },
        ],
        "{}",
        d.to_toml()
    );
    for r in &requests {
        let Some(Outcome::Ok(Value::Array(items))) = &r.outcome else {
            unreachable!()
        };
        assert_eq!(disorder(list, items), None);
    }
    // A null after a value in one answer, before one in another: no order on `due`.
    requests.push(answer(
        json!([{"id": "g", "due": 1}, {"id": "h", "due": null}]),
    ));
    requests[3].seq = 4;
    let d = draft(requests);
    assert!(
        list_of(&d, "list_tasks")
            .order
            .iter()
            .all(|k| k.by != "due"),
        "{}",
        d.to_toml()
    );
}

#[test]
fn a_list_whose_elements_repeat_an_id_gets_no_id_key() {
    let answer = |seq, items: Value| ok(req(seq, None, "list_tasks", Kind::Read, json!({})), items);
    let d = draft(vec![
        answer(1, json!([{"id": 1, "slot": "x"}, {"id": 2, "slot": "y"}])),
        answer(2, json!([{"id": 3, "slot": "x"}, {"id": 3, "slot": "z"}])),
    ]);
    let list = list_of(&d, "list_tasks");
    assert_eq!(list.key.as_deref(), Some("slot"), "{}", d.to_toml());
    assert!(
        d.to_toml()
            .contains("# not declared: key = \"id\": two elements of one answer share a value"),
        "{}",
        d.to_toml()
    );
    // Unique in each answer but missing from one element: no key at all.
    let d = draft(vec![
        answer(1, json!([{"id": 1, "slot": "x"}, {"id": 2}])),
        answer(2, json!([{"id": 1, "slot": "x"}, {"id": 1, "slot": "y"}])),
    ]);
    assert_eq!(list_of(&d, "list_tasks").key, None, "{}", d.to_toml());
}

#[test]
fn an_argument_sometimes_absent_or_null_is_optional_and_one_always_there_is_not() {
    let d = draft(vec![
        ok(
            req(
                1,
                Some("t1"),
                "set_due",
                Kind::Write,
                json!({"title": "a", "due": "2026-01-01T00:00:00Z"}),
            ),
            json!(null),
        ),
        ok(
            req(2, Some("t2"), "set_due", Kind::Write, json!({"title": "b"})),
            json!(null),
        ),
        ok(
            req(
                3,
                Some("t3"),
                "set_due",
                Kind::Write,
                json!({"title": "c", "due": null}),
            ),
            json!(null),
        ),
    ]);
    let op = d.declaration.op("set_due").unwrap();
    assert!(op.args["due"].optional);
    assert_eq!(op.args["due"].ty, Type::Timestamp);
    assert!(!op.args["title"].optional);
    assert!(
        d.to_toml()
            .contains("# seen: absent or null in 2 of 3 requests"),
        "{}",
        d.to_toml()
    );
    // The example drops the null: TOML has none.
    assert_eq!(
        op.example,
        Some(json!({"title": "a", "due": "2026-01-01T00:00:00Z"}))
    );
}

fn priorities(values: &[&str]) -> Vec<Request> {
    values
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let key = format!("t{i}");
            ok(
                req(
                    i as u64 + 1,
                    Some(&key),
                    "create",
                    Kind::Write,
                    json!({"priority": p}),
                ),
                json!(null),
            )
        })
        .collect()
}

#[test]
fn an_enum_seen_with_one_value_is_not_declared_an_enum_and_its_value_is_said() {
    let d = draft(priorities(&["normal"; 12]));
    let arg = &d.declaration.op("create").unwrap().args["priority"];
    assert_eq!(arg.class, None);
    assert!(arg.values.is_empty());
    assert!(
        d.to_toml()
            .contains("# guess: no class: one value only was seen, \"normal\" (in 12 requests)"),
        "{}",
        d.to_toml()
    );
}

#[test]
fn an_enum_needs_two_to_eight_short_values_over_ten_requests() {
    let seen = [
        "low", "normal", "high", "normal", "low", "normal", "normal", "high", "low", "normal",
    ];
    let d = draft(priorities(&seen));
    let arg = &d.declaration.op("create").unwrap().args["priority"];
    assert_eq!(arg.class, Some(Class::Enum));
    assert_eq!(
        arg.values,
        vec![json!("low"), json!("normal"), json!("high")]
    );
    // Too few requests: free text, and why.
    let d = draft(priorities(&seen[..5]));
    let arg = &d.declaration.op("create").unwrap().args["priority"];
    assert_eq!(arg.class, Some(Class::FreeText));
    assert!(
        d.to_toml().contains("3 distinct values in only 5 requests"),
        "{}",
        d.to_toml()
    );
    // Nine values, or one with a space: free text.
    let nine = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "a"];
    assert_eq!(
        draft(priorities(&nine)).declaration.ops[0].args["priority"].class,
        Some(Class::FreeText)
    );
    let spaced = [
        "very low", "high", "high", "high", "high", "high", "high", "high", "high", "high",
    ];
    assert_eq!(
        draft(priorities(&spaced)).declaration.ops[0].args["priority"].class,
        Some(Class::FreeText)
    );
}

#[test]
fn classes_from_names_need_the_right_type_and_bounds_a_member_of_the_elements() {
    let args = |i: i64| {
        json!({
            "limit": 10, "offset": i, "search": "wr", "due_from": "2026-01-01T00:00:00Z",
            "due_to": "2026-02-01T00:00:00Z", "price_min": 3, "from": "2026-01-01T00:00:00Z",
            "limit_text": format!("text {i}"), "max_weight": 5
        })
    };
    let items = json!([{"id": 1, "due": "2026-01-02T00:00:00Z", "price": 4}, {"id": 2, "due": "2026-01-03T00:00:00Z", "price": 5}]);
    let d = draft(
        (0..3)
            .map(|i| {
                ok(
                    req(i as u64 + 1, None, "list_tasks", Kind::Read, args(i)),
                    items.clone(),
                )
            })
            .collect(),
    );
    let op = d.declaration.op("list_tasks").unwrap();
    let class = |name: &str| op.args[name].class;
    assert_eq!(class("limit"), Some(Class::Limit));
    assert_eq!(class("offset"), Some(Class::Offset));
    assert_eq!(class("search"), Some(Class::SearchText));
    assert_eq!(class("due_from"), Some(Class::LowerBound));
    assert_eq!(op.args["due_from"].field.as_deref(), Some("due"));
    assert_eq!(class("due_to"), Some(Class::UpperBound));
    assert_eq!(class("price_min"), Some(Class::LowerBound));
    assert_eq!(op.args["price_min"].field.as_deref(), Some("price"));
    // A bare `from` bounds the elements' one timestamp member.
    assert_eq!(op.args["from"].field.as_deref(), Some("due"));
    // The elements have no `weight`: named like a bound, not declared one.
    assert_eq!(class("max_weight"), None);
    assert!(d.to_toml().contains("# not declared: upper_bound: named like one, but no list answer's elements have a `weight` member"), "{}", d.to_toml());
    assert_eq!(class("limit_text"), Some(Class::FreeText));
}

#[test]
fn a_keyless_create_answering_the_new_key_is_generated_and_arguments_naming_keys_are_ids() {
    let mut requests = Vec::new();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    for i in 0..4 {
        let project = format!("p{}", i % 2);
        requests.push(ok(
            req(
                next(),
                Some(&project),
                "touch_project",
                Kind::Write,
                json!({}),
            ),
            json!(null),
        ));
        requests.push(ok(
            req(
                next(),
                None,
                "create_task",
                Kind::Write,
                json!({"project": project, "title": format!("task {i}")}),
            ),
            json!({"task_id": format!("t{i}"), "n": i}),
        ));
        requests.push(ok(
            req(
                next(),
                Some(&format!("t{i}")),
                "get_task",
                Kind::Read,
                json!({}),
            ),
            json!({}),
        ));
    }
    let d = draft(requests);
    let create = d.declaration.op("create_task").unwrap();
    assert_eq!(create.key, KeyMode::Generated);
    assert_eq!(create.generated_key.as_deref(), Some("task_id"));
    assert_eq!(create.args["project"].class, Some(Class::Id));
    assert_eq!(create.args["title"].class, Some(Class::FreeText));
    assert_eq!(
        create.example,
        Some(json!({"project": "p0", "title": "task 0"}))
    );
    assert!(d.to_toml().contains("# guess: generated: every ok answer (4) carries `task_id`, and 4 of the 4 distinct values sampled were later keys of requests"), "{}", d.to_toml());
    assert_eq!(d.declaration.op("get_task").unwrap().key, KeyMode::Keyed);
}

#[test]
fn errors_seen_are_declared_unprovoked_with_their_counts() {
    let d = draft(vec![
        error(
            req(1, Some("a"), "get", Kind::Read, json!({})),
            ErrorKind::NotFound,
        ),
        ok(
            req(2, Some("a"), "put", Kind::Write, json!({"v": 1})),
            json!({"created": true}),
        ),
        ok(
            req(3, Some("a"), "get", Kind::Read, json!({})),
            json!({"v": 1}),
        ),
        ok(
            req(4, Some("a"), "put", Kind::Write, json!({"v": 2})),
            json!({"created": false}),
        ),
        ok(
            req(5, Some("b"), "delete", Kind::Write, json!({})),
            json!(null),
        ),
    ]);
    let get = d.declaration.op("get").unwrap();
    assert_eq!(
        get.errors.get(&ErrorKind::NotFound).map(String::as_str),
        Some("")
    );
    assert!(
        d.to_toml()
            .contains("# guess: not_found answered 1 of 2 requests; how = \"\" provokes nothing"),
        "{}",
        d.to_toml()
    );
    let put = d.declaration.op("put").unwrap();
    assert_eq!(put.example, Some(json!({"v": 1})));
    assert_eq!(put.answer["created"].ty, Type::Boolean);
    // `delete` succeeded on `b`, untouched before: its arguments are the example.
    assert_eq!(d.declaration.op("delete").unwrap().example, Some(json!({})));
}

fn kv_demo() -> Draft {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kv-demo.jsonl");
    let mut reader = Reader::open(path).unwrap();
    let domain = reader.header().domain.clone();
    let mut requests = Vec::new();
    while let Some(r) = reader.next_request().unwrap() {
        requests.push(r);
    }
    draft_of(requests, &domain)
}

#[test]
fn the_kv_demo_draft_declares_its_operations_as_the_builtin_declaration_does() {
    let d = kv_demo();
    let kv = Declaration::parse(crate::kv::DECLARATION, "kv").unwrap();
    for name in ["get", "put", "insert", "delete", "scan"] {
        let (drafted, declared) = (d.declaration.op(name).unwrap(), kv.op(name).unwrap());
        assert_eq!(
            (drafted.kind, drafted.key),
            (declared.kind, declared.key),
            "{name}"
        );
        let kinds: Vec<_> = drafted.errors.keys().collect();
        assert_eq!(kinds, declared.errors.keys().collect::<Vec<_>>(), "{name}");
    }
    let scan = d.declaration.op("scan").unwrap();
    assert_eq!(scan.list, kv.op("scan").unwrap().list);
    assert_eq!(scan.args["limit"].class, Some(Class::Limit));
    assert_eq!(scan.args["prefix"].class, Some(Class::SearchText));
    assert_eq!(d.declaration.op("delete").unwrap().example, None);
}

#[test]
fn the_same_cassette_drafts_the_same_text() {
    // Two inferences over the same cassette, each from its own pass: the same text.
    let (first, second) = (kv_demo(), kv_demo());
    assert_eq!(first.to_toml(), second.to_toml());
    let requests = lists(&[&[1, 2, 3], &[4, 7], &[2, 9]]);
    assert_eq!(draft(requests.clone()), draft(requests));
}

#[test]
fn what_is_kept_is_capped_whatever_the_number_of_requests() {
    let mut inferrer = Inferrer::new("tasks");
    for i in 0..(2 * KEYS as u64) {
        let key = format!("k{i}");
        let mut args = Map::new();
        args.insert(format!("arg{}", i % 200), json!(format!("value {i}")));
        inferrer.observe(&ok(
            req(i + 1, Some(&key), "put", Kind::Write, Value::Object(args)),
            json!({"id": key}),
        ));
    }
    assert_eq!(inferrer.keys.len(), KEYS);
    let op = &inferrer.ops[0];
    assert_eq!(op.args.len(), MEMBERS);
    assert!(op.args.values().all(|a| a.values.values.len() <= VALUES));
    assert!(op
        .answers
        .members
        .values()
        .all(|m| m.values.values.len() <= VALUES));
    let d = inferrer.finish();
    assert!(d.to_toml().contains("more than 64 argument names"));
    Declaration::parse(d.to_toml(), "draft").unwrap();
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("id".to_string()),
            Just("key".to_string()),
            Just("due".to_string()),
            Just("due_from".to_string()),
            Just("limit".to_string()),
            Just("q".to_string()),
            Just("a.b".to_string()),
            Just(String::new()),
            Just(" ".to_string()),
            Just("$.x".to_string()),
            "[a-zA-Z\"\\\\é\n\u{7f} ]{1,6}",
        ]
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(|n| json!(n)),
            any::<i64>().prop_map(|n| json!(n)),
            Just(json!(u64::MAX)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            Just(serde_json::from_str::<Value>("1e5").unwrap()),
            Just(serde_json::from_str::<Value>("123456789012345678901234567890").unwrap()),
            Just(json!("2026-01-01T00:00:00Z")),
            Just(json!("2026-03-01T10:00:00.5+02:00")),
            "[a-c]{0,2}".prop_map(Value::String),
            ".{0,12}".prop_map(Value::String),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(name(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An answer: anything, or a list of objects (sorted on `id` half the time).
    fn answer() -> impl Strategy<Value = Value> {
        let element = proptest::collection::btree_map(name(), scalar(), 0..4);
        prop_oneof![
            value(),
            (proptest::collection::vec(element, 0..5), any::<bool>()).prop_map(|(items, sort)| {
                let mut items: Vec<Value> = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let mut m: Map<String, Value> = m.into_iter().collect();
                        m.entry("id".to_string()).or_insert(json!(i as i64 * 3 % 5));
                        Value::Object(m)
                    })
                    .collect();
                if sort {
                    items.sort_by(|a, b| a["id"].to_string().cmp(&b["id"].to_string()));
                }
                Value::Array(items)
            }),
        ]
    }

    fn outcome() -> impl Strategy<Value = Option<Outcome>> {
        prop_oneof![
            Just(None),
            answer().prop_map(|a| Some(Outcome::Ok(a))),
            answer().prop_map(|a| Some(Outcome::Ok(a))),
            Just(Some(Outcome::error(ErrorKind::NotFound, ""))),
            Just(Some(Outcome::error(ErrorKind::Conflict, "x"))),
        ]
    }

    fn request() -> impl Strategy<Value = (String, bool, Option<String>, Value, Option<Outcome>)> {
        (
            prop_oneof![
                Just("get".to_string()),
                Just("list".to_string()),
                Just("create".to_string()),
                Just(String::new()),
                Just("we\"ird\nop".to_string())
            ],
            any::<bool>(),
            proptest::option::of(prop_oneof![
                Just("0".to_string()),
                Just("1".to_string()),
                Just("k".to_string()),
                Just("2026-01-01T00:00:00Z".to_string())
            ]),
            prop_oneof![
                4 => proptest::collection::btree_map(name(), value(), 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
                1 => value(),
            ],
            outcome(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any cassette's draft parses back to itself, and every order it declares holds in
        /// every list answer recorded.
        #[test]
        fn any_cassettes_draft_parses_back_and_its_orders_hold(
            requests in proptest::collection::vec(request(), 0..40),
            domain in prop_oneof![Just("tasks".to_string()), Just(String::new()), Just("a\"b".to_string())],
        ) {
            let requests: Vec<Request> = requests
                .into_iter()
                .enumerate()
                .map(|(i, (op, write, key, args, outcome))| {
                    let kind = if write { Kind::Write } else { Kind::Read };
                    let mut r = req(i as u64 + 1, key.as_deref(), &op, kind, args);
                    r.outcome = outcome;
                    r
                })
                .collect();
            let d = infer(requests.clone().into_iter(), &domain);
            let parsed = Declaration::parse(d.to_toml(), "draft.toml");
            prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed, d.to_toml());
            prop_assert_eq!(parsed.unwrap(), d.declaration.clone());
            let again = infer(requests.clone().into_iter(), &domain);
            prop_assert_eq!(d.to_toml(), again.to_toml());
            for r in &requests {
                let (Some(op), Some(Outcome::Ok(Value::Array(items)))) = (d.declaration.op(&r.op), &r.outcome) else {
                    continue;
                };
                if let Some(list) = &op.list {
                    prop_assert_eq!(disorder(list, items), None, "{}", d.to_toml());
                }
            }
        }
    }
}

#[test]
fn a_create_keyed_by_the_id_its_answer_carries_is_generated_and_an_update_is_not() {
    let mut requests = Vec::new();
    for id in 1..=5u64 {
        let key = id.to_string();
        requests.push(ok(
            req(
                id * 2 - 1,
                Some(&key),
                "create",
                Kind::Write,
                json!({"t": "x"}),
            ),
            json!({"id": id, "t": "x"}),
        ));
        // An update answers the same id, on a key that already exists: keyed.
        requests.push(ok(
            req(id * 2, Some(&key), "rename", Kind::Write, json!({"t": "y"})),
            json!({"id": id, "t": "y"}),
        ));
    }
    // A failed create has no key.
    requests.push(error(
        req(11, None, "create", Kind::Write, json!({})),
        ErrorKind::Invalid,
    ));
    let draft = draft(requests);
    let create = draft.declaration.op("create").unwrap();
    assert_eq!(
        (create.key, create.generated_key.as_deref()),
        (KeyMode::Generated, Some("id"))
    );
    assert_eq!(draft.declaration.op("rename").unwrap().key, KeyMode::Keyed);
    assert!(
        draft.to_toml().contains("generated: every ok answer (5)"),
        "{}",
        draft.to_toml()
    );
}
