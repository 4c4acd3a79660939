//! The parsed document against serde_json's `Value`: the same documents accepted and
//! refused, the same values (number text, member order, duplicate keys), the same verdicts.

use super::*;
use crate::diff::{deep_eq, fingerprint, values};
use crate::diff::{Tree, View};
use proptest::prelude::*;
use serde_json::Value;

type Both = (Result<Value, serde_json::Error>, Result<Value, ParseError>);

fn both(text: &str) -> Both {
    let arena = Bump::new();
    let ours = parse(text, &arena).map(|n| n.to_json());
    (serde_json::from_str(text), ours)
}

/// serde_json's value and ours, serialized: equal text means equal numbers, strings and
/// member order (`Value`'s own `==` ignores the order of members).
fn same(text: &str) {
    match both(text) {
        (Ok(theirs), Ok(ours)) => assert_eq!(ours.to_string(), theirs.to_string(), "{text}"),
        (Err(_), Err(_)) => {}
        (theirs, ours) => panic!("{text:?}: serde_json {theirs:?}, parsed {ours:?}"),
    }
}

#[test]
fn numbers_keep_their_text() {
    for text in [
        "9007199254740993",
        "9007199254740992",
        "-0",
        "1.50",
        "1e400",
        "-1.5E-7",
        "123456789012345678901234567890.12345678901234567890",
        "0.1",
    ] {
        let arena = Bump::new();
        let node = parse(text, &arena).unwrap();
        match node.view() {
            View::Number(n) => assert_eq!(n, text),
            _ => panic!("{text}: not a number"),
        }
        same(text);
    }
    let arena = Bump::new();
    let l = parse("[9007199254740993]", &arena).unwrap();
    let r = parse("[9007199254740992]", &arena).unwrap();
    assert!(!values(&l, &r).is_equal());
    let l = parse("[1.0, 100]", &arena).unwrap();
    let r = parse("[1, 1e2]", &arena).unwrap();
    assert!(values(&l, &r).is_equal());
}

#[test]
fn strings_escaped_or_not() {
    for text in [
        r#""plain""#,
        r#""tab\tquote\"slash\/back\\""#,
        r#""\u00e9\ud83d\ude00""#,
        r#""é😀""#,
        r#""""#,
        r#"{"k\"ey":"v","k\u0041":1}"#,
    ] {
        same(text);
    }
}

#[test]
fn duplicate_keys_keep_the_first_place_and_the_last_value() {
    same(r#"{"a":1,"b":2,"a":3}"#);
    let arena = Bump::new();
    let o = parse(r#"{"a":1,"b":2,"a":3}"#, &arena)
        .unwrap()
        .members()
        .unwrap();
    let keys: Vec<&str> = o.members().iter().map(|m| m.key()).collect();
    assert_eq!(keys, ["a", "b"]);
    assert!(matches!(
        o.get("a").map(|v| v.view()),
        Some(View::Number("3"))
    ));
    // Beyond the size searched in order, the index does the same.
    let many: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 25)).collect();
    let text = format!("{{{}}}", many.join(","));
    same(&text);
    let o = parse(&text, &arena).unwrap().members().unwrap();
    assert_eq!(o.members().len(), 25);
    assert!(matches!(
        o.get("k3").map(|v| v.view()),
        Some(View::Number("28"))
    ));
    assert!(o.get("k25").is_none());
}

#[test]
fn the_same_documents_are_refused() {
    for text in [
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "NaN",
        "Infinity",
        "-Infinity",
        "[1] 2",
        "{'a':1}",
        "\"\\x\"",
        "\"\u{1}\"",
        "tru",
        "nul",
        "{\"a\"}",
        "{1:2}",
        "[1 2]",
        "\"\\ud800\"",
        "1e",
        "1e+",
        "00",
        "-01",
        "[",
        "]",
        "\u{feff}1",
    ] {
        let (theirs, ours) = both(text);
        assert!(theirs.is_err(), "serde_json accepts {text:?}");
        assert!(ours.is_err(), "{text:?} parsed as {ours:?}");
    }
}

#[test]
fn errors_name_the_line_and_column() {
    let arena = Bump::new();
    let e = parse("{\n  \"a\": [1,\n  2,,]\n}", &arena).unwrap_err();
    assert_eq!((e.line, e.column), (3, 5), "{e}");
}

#[test]
fn nesting_is_limited_as_serde_json_limits_it() {
    for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 10_000] {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let (theirs, ours) = both(&text);
        assert_eq!(theirs.is_ok(), ours.is_ok(), "depth {depth}: {ours:?}");
        let text = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let (theirs, ours) = both(&text);
        assert_eq!(theirs.is_ok(), ours.is_ok(), "depth {depth}: {ours:?}");
    }
}

/// Any JSON value, with the numbers and keys where parsers part: exact big numbers,
/// exponents, escapes, duplicate keys, nulls in arrays, objects past the indexed size.
fn any_json() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?",
    ];
    let string = prop_oneof![
        "[a-z ]{0,8}",
        "[^\"\\\\\\x00-\\x1f]{0,6}",
        Just("\\\"\\\\\\/\\b\\f\\n\\r\\t".to_owned()),
        Just("\\u00e9\\ud83d\\ude00".to_owned()),
    ]
    .prop_map(|s| format!("\"{s}\""));
    let key = prop_oneof![
        Just("\"a\"".to_owned()),
        Just("\"b\"".to_owned()),
        Just("\"\\u0061\"".to_owned()),
        "\"[a-z]{1,3}\"",
    ];
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        number,
        string,
    ];
    leaf.prop_recursive(4, 64, 24, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..24).prop_map(|m| {
                let members: Vec<String> =
                    m.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
                format!("{{ {} }}", members.join(",\n"))
            }),
        ]
    })
}

proptest! {
    #[test]
    fn parsed_as_serde_json_parses(text in any_json()) {
        same(&text);
    }

    #[test]
    fn verdicts_equal_serde_json_values(left in any_json(), right in any_json()) {
        let arena = Bump::new();
        let (l, r) = (parse(&left, &arena).unwrap(), parse(&right, &arena).unwrap());
        let (lv, rv): (Value, Value) =
            (serde_json::from_str(&left).unwrap(), serde_json::from_str(&right).unwrap());
        prop_assert_eq!(values(&l, &r), values(&lv, &rv));
        prop_assert_eq!(deep_eq(&l, &r), deep_eq(&lv, &rv));
        prop_assert_eq!(fingerprint(&l), fingerprint(&lv));
        prop_assert!(values(&l, &l).is_equal());
    }
}
