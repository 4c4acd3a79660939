use super::*;
use serde_json::json;

#[test]
fn a_batch_is_paired_by_content_never_by_position() {
    let was = [
        json!({"id": 1, "t": "a"}),
        json!({"id": 2, "t": "b"}),
        json!({"id": 3, "t": "a"}),
    ];
    // The side created the same three, numbered the other way round and listed in another order.
    let got = [
        json!({"t": "b", "id": 12}),
        json!({"id": 13, "t": "a"}),
        json!({"id": 11, "t": "a"}),
    ];
    let pairs = by_content(&was, &got, "id");
    assert_eq!(
        pairs,
        [("2", "12"), ("1", "13"), ("3", "11")].map(|(r, s)| (r.to_string(), s.to_string()))
    );
    // An element whose content the recording never had stays unpaired.
    let odd = [json!({"id": 20, "t": "z"})];
    assert!(by_content(&was, &odd, "id").is_empty());
}

#[test]
fn a_pair_that_is_not_one_to_one_is_not_learned() {
    let mut pairs = Pairs::default();
    pairs.learn("1".into(), "101".into());
    pairs.learn("2".into(), "101".into());
    pairs.learn("1".into(), "102".into());
    assert_eq!(pairs.to_side.len(), 1);
    assert_eq!(pairs.to_recorded.get("101").map(String::as_str), Some("1"));
}

#[test]
fn ids_come_back_in_their_json_type_and_only_at_id_members() {
    let map: BTreeMap<String, String> = [("101".to_string(), "1".to_string())].into();
    let members: BTreeSet<String> = ["id".to_string()].into();
    let mut value =
        json!({"id": 101, "count": 101, "items": [{"id": "101"}, {"id": 7}], "ids": [101]});
    back(&mut value, &members, &map);
    assert_eq!(
        value,
        json!({"id": 1, "count": 101, "items": [{"id": "1"}, {"id": 7}], "ids": [101]})
    );
}

#[test]
fn content_is_compared_whatever_the_order_of_members() {
    assert_eq!(
        canonical(&json!({"b": 1, "a": {"d": 2, "c": [3, {"f": 4, "e": 5}]}})),
        canonical(&json!({"a": {"c": [3, {"e": 5, "f": 4}], "d": 2}, "b": 1}))
    );
    assert_ne!(canonical(&json!({"a": 1})), canonical(&json!({"a": "1"})));
}
