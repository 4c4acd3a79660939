use super::*;

fn range(after: Option<&str>, upto: Option<&str>) -> KeyRange {
    KeyRange {
        after: after.map(str::to_string),
        upto: upto.map(str::to_string),
    }
}

#[test]
fn parts_cover_the_range_once_and_drop_bounds_at_its_ends() {
    let whole = range(Some("a"), Some("z"));
    let bounds = ["a", "c", "c", "m", "z"].map(str::to_string).to_vec();
    let cut = parts(&whole, bounds);
    assert_eq!(
        cut,
        vec![
            range(Some("a"), Some("c")),
            range(Some("c"), Some("m")),
            range(Some("m"), Some("z")),
        ]
    );
    assert_eq!(parts(&KeyRange::all(), Vec::new()), vec![KeyRange::all()]);
}
