//! A fast path for the simple JSONPaths most rules use (`$.a`, `['a b']`, `[3]`, `[*]`, `.*`,
//! `..name`, `..*`): the value is edited in place in one walk, with no list of locations.
//! Every path is still parsed and validated by `serde_json_path`; a path outside this
//! grammar (filters, slices, unions) takes the crate's located query instead.

use serde_json::Value;

/// One step of a simple path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Name(String),
    Index(usize),
    Wild,
    /// `..name` (`Some`) or `..*` (`None`): at any depth below.
    Descend(Option<String>),
}

/// The steps of `path` if it is simple, `None` otherwise.
pub(super) fn compile(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.strip_prefix('$')?;
    let mut segs = Vec::new();
    let ident = |s: &str| -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            if let Some(r) = r.strip_prefix('*') {
                segs.push(Step::Descend(None));
                rest = r;
            } else {
                let n = ident(r);
                if n == 0 {
                    return None;
                }
                segs.push(Step::Descend(Some(r[..n].to_string())));
                rest = &r[n..];
            }
        } else if let Some(r) = rest.strip_prefix('.') {
            if let Some(r) = r.strip_prefix('*') {
                segs.push(Step::Wild);
                rest = r;
            } else {
                let n = ident(r);
                if n == 0 {
                    return None;
                }
                segs.push(Step::Name(r[..n].to_string()));
                rest = &r[n..];
            }
        } else if let Some(r) = rest.strip_prefix("[*]") {
            segs.push(Step::Wild);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find('\'')?;
            let name = &r[..end];
            if name.contains('\\') {
                return None;
            }
            segs.push(Step::Name(name.to_string()));
            rest = r[end..].strip_prefix("']")?;
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let index: usize = r[..end].parse().ok()?;
            segs.push(Step::Index(index));
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(segs)
}

/// Calls `f` on every value `segs` selects.
pub(super) fn each_mut(value: &mut Value, segs: &[Step], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = segs.split_first() else {
        f(value);
        return;
    };
    match first {
        Step::Name(k) => {
            if let Some(child) = member(value, k) {
                each_mut(child, rest, f);
            }
        }
        Step::Index(i) => {
            if let Some(child) = value.get_mut(*i) {
                each_mut(child, rest, f);
            }
        }
        Step::Wild => children(value, &mut |c| each_mut(c, rest, f)),
        Step::Descend(name) => {
            let here = match name {
                Some(n) => vec![Step::Name(n.clone())],
                None => vec![Step::Wild],
            };
            let mut steps = here;
            steps.extend_from_slice(rest);
            each_mut(value, &steps, f);
            children(value, &mut |c| each_mut(c, segs, f));
        }
    }
}

/// Where values may be removed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum From {
    /// Object members and array elements (`ignore`).
    Anywhere,
    /// Object members only (`null_equals_missing`: an array's null element is a value).
    Objects,
}

/// Removes every value `segs` selects for which `gone` holds; returns how many.
pub(super) fn remove_where(
    value: &mut Value,
    segs: &[Step],
    gone: &dyn Fn(&Value) -> bool,
    from: From,
) -> u64 {
    match segs {
        [] => {
            // The whole value: it becomes null on both sides alike.
            if gone(value) && !value.is_null() {
                *value = Value::Null;
                1
            } else {
                0
            }
        }
        [last] => remove_child(value, last, gone, segs, from),
        [first, rest @ ..] => match first {
            Step::Name(k) => member(value, k).map_or(0, |c| remove_where(c, rest, gone, from)),
            Step::Index(i) => value
                .get_mut(*i)
                .map_or(0, |c| remove_where(c, rest, gone, from)),
            Step::Wild => {
                let mut n = 0;
                children(value, &mut |c| n += remove_where(c, rest, gone, from));
                n
            }
            Step::Descend(name) => {
                let step = name.as_ref().map_or(Step::Wild, |n| Step::Name(n.clone()));
                let mut steps = vec![step];
                steps.extend_from_slice(rest);
                let mut n = remove_where(value, &steps, gone, from);
                children(value, &mut |c| n += remove_where(c, segs, gone, from));
                n
            }
        },
    }
}

/// Removes the children of `parent` that `last` selects.
fn remove_child(
    parent: &mut Value,
    last: &Step,
    gone: &dyn Fn(&Value) -> bool,
    segs: &[Step],
    from: From,
) -> u64 {
    if from == From::Objects && parent.is_array() {
        // Not the elements themselves; deeper members still, for `..name` and `..*`.
        return match last {
            Step::Descend(_) => {
                let mut n = 0;
                children(parent, &mut |c| n += remove_where(c, segs, gone, from));
                n
            }
            _ => 0,
        };
    }
    match (last, parent) {
        (Step::Name(k), Value::Object(map)) if map.get(k.as_str()).is_some_and(gone) => {
            map.shift_remove(k.as_str());
            1
        }
        (Step::Index(i), Value::Array(items)) if items.get(*i).is_some_and(gone) => {
            items.remove(*i);
            1
        }
        (Step::Wild, Value::Object(map)) => {
            // Removing rebuilds the map's index: one key (the usual case) is taken out
            // alone, and a map with nothing to remove is not touched.
            let mut doomed = map.iter().filter(|(_, v)| gone(v)).map(|(k, _)| k);
            match (doomed.next(), doomed.next()) {
                (None, _) => 0,
                (Some(key), None) => {
                    let key = key.clone();
                    map.shift_remove(key.as_str());
                    1
                }
                _ => {
                    let before = map.len();
                    map.retain(|_, v| !gone(v));
                    (before - map.len()) as u64
                }
            }
        }
        (Step::Wild, Value::Array(items)) => {
            let before = items.len();
            items.retain(|v| !gone(v));
            (before - items.len()) as u64
        }
        (Step::Descend(name), parent) => {
            let step = name.as_ref().map_or(Step::Wild, |n| Step::Name(n.clone()));
            let mut n = remove_child(parent, &step, gone, segs, from);
            children(parent, &mut |c| n += remove_where(c, segs, gone, from));
            n
        }
        _ => 0,
    }
}

/// The member `key` of an object. Documents' objects are mostly small, and comparing a
/// few keys is cheaper than hashing one: small objects are scanned.
fn member<'v>(value: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.len() <= 8 {
        return map.iter_mut().find_map(|(k, v)| (k == key).then_some(v));
    }
    map.get_mut(key)
}

fn children(value: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match value {
        Value::Object(map) => map.values_mut().for_each(f),
        Value::Array(items) => items.iter_mut().for_each(f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_paths_compile_and_others_do_not() {
        assert_eq!(
            compile("$.a['b c'][2][*]"),
            Some(vec![
                Step::Name("a".into()),
                Step::Name("b c".into()),
                Step::Index(2),
                Step::Wild
            ])
        );
        assert_eq!(
            compile("$..id.*"),
            Some(vec![Step::Descend(Some("id".into())), Step::Wild])
        );
        assert_eq!(compile("$"), Some(vec![]));
        for complex in ["$.a[?@.b]", "$.a[1:3]", "$.a[0,1]", "$['a\\'b']", "$[-1]"] {
            assert_eq!(compile(complex), None, "{complex}");
        }
    }
}
