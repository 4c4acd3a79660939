//! Array alignment: the common prefix and suffix are matched first, the rest is aligned
//! by a Myers diff over element fingerprints (a longest common subsequence). Then:
//!
//! * the same elements in another order are one `ordering` divergence over the slice;
//! * an element that left one place and reappears in another is `ordering`, once per array;
//! * a deleted element facing an inserted one is the same element changed in place, and
//!   the diff descends into it (`$.m[1].t`);
//! * what is left over is `missing` (left index) or `extra` (right index).

use super::path::Step;
use super::value::{deep_eq, fingerprint};
use super::{Class, Differ};
use serde_json::Value;
use similar::{Algorithm, DiffOp, DiffTag};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The longest one alignment may take before an approximate alignment is accepted.
const ALIGN_BUDGET: Duration = Duration::from_secs(2);

/// How many moved positions a note names before it summarizes.
const NOTE_POSITIONS: usize = 5;

pub(super) fn diff<'a>(d: &mut Differ<'a>, left: &'a [Value], right: &'a [Value]) {
    let prefix = left
        .iter()
        .zip(right)
        .take_while(|(l, r)| deep_eq(l, r))
        .count();
    let (l_rest, r_rest) = (&left[prefix..], &right[prefix..]);
    let suffix = l_rest
        .iter()
        .rev()
        .zip(r_rest.iter().rev())
        .take_while(|(l, r)| deep_eq(l, r))
        .count();
    let l_mid = &l_rest[..l_rest.len() - suffix];
    let r_mid = &r_rest[..r_rest.len() - suffix];
    if l_mid.is_empty() && r_mid.is_empty() {
        return;
    }
    // Each element is hashed once, for both the permutation test and the alignment.
    let lf: Vec<u64> = l_mid.iter().map(fingerprint).collect();
    let rf: Vec<u64> = r_mid.iter().map(fingerprint).collect();
    if l_mid.len() == r_mid.len() && is_permutation(l_mid, r_mid, &lf, &rf) {
        let slice = Step::Slice(prefix, prefix + l_mid.len());
        let (l, r) = (Value::Array(l_mid.to_vec()), Value::Array(r_mid.to_vec()));
        d.report(Class::Ordering, Some(slice), Some(&l), Some(&r), None);
        return;
    }
    align(d, prefix, (l_mid, &lf), (r_mid, &rf));
}

/// True when `right` holds the same elements as `left`, in any order; `lf` and `rf` are
/// their fingerprints.
fn is_permutation(left: &[Value], right: &[Value], lf: &[u64], rf: &[u64]) -> bool {
    let sorted = |prints: &[u64]| {
        let mut keyed: Vec<(u64, usize)> = prints.iter().copied().zip(0..).collect();
        keyed.sort_unstable();
        keyed
    };
    let (l, r) = (sorted(lf), sorted(rf));
    l.iter()
        .zip(&r)
        .all(|(a, b)| a.0 == b.0 && deep_eq(&left[a.1], &right[b.1]))
}

/// Aligns two slices (with their fingerprints) that differ at both ends; `offset` is their
/// index in the arrays.
fn align<'a>(
    d: &mut Differ<'a>,
    offset: usize,
    (left, lf): (&'a [Value], &[u64]),
    (right, rf): (&'a [Value], &[u64]),
) {
    let shared: HashSet<u64> = lf.iter().copied().collect();
    let ops = if rf.iter().any(|f| shared.contains(f)) {
        let deadline = Instant::now() + ALIGN_BUDGET;
        similar::capture_diff_slices_deadline(Algorithm::Myers, lf, rf, Some(deadline))
    } else {
        // Nothing in common: one replacement, without the alignment's quadratic worst case.
        vec![DiffOp::Replace {
            old_index: 0,
            old_len: left.len(),
            new_index: 0,
            new_len: right.len(),
        }]
    };

    let mut hunks = Vec::new();
    for op in &ops {
        let (tag, l_range, r_range) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            // Equal fingerprints; descend anyway so that a hash collision cannot hide a change.
            for (i, j) in l_range.zip(r_range) {
                if !deep_eq(&left[i], &right[j]) {
                    descend(d, offset + i, &left[i], &right[j]);
                }
            }
        } else {
            hunks.push((l_range, r_range));
        }
    }

    let moved = pair_moved(left, right, lf, rf, &hunks);
    for (l_range, r_range) in hunks {
        let deleted: Vec<usize> = l_range.filter(|i| !moved.left[*i]).collect();
        let inserted: Vec<usize> = r_range.filter(|j| !moved.right[*j]).collect();
        for (i, j) in deleted.iter().zip(&inserted) {
            descend(d, offset + i, &left[*i], &right[*j]);
        }
        for &i in deleted.iter().skip(inserted.len()) {
            d.report(
                Class::Missing,
                Some(Step::Index(offset + i)),
                Some(&left[i]),
                None,
                None,
            );
        }
        for &j in inserted.iter().skip(deleted.len()) {
            d.report(
                Class::Extra,
                Some(Step::Index(offset + j)),
                None,
                Some(&right[j]),
                None,
            );
        }
    }
    if !moved.pairs.is_empty() {
        let named: Vec<String> = moved
            .pairs
            .iter()
            .take(NOTE_POSITIONS)
            .map(|(i, j)| format!("left [{}] is right [{}]", offset + i, offset + j))
            .collect();
        let more = moved.pairs.len().saturating_sub(NOTE_POSITIONS);
        let note = format!(
            "{} element(s) in another position: {}{}",
            moved.pairs.len(),
            named.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        );
        d.report(Class::Ordering, None, None, None, Some(note));
    }
}

/// Elements that were deleted in one place and inserted, unchanged, in another.
struct Moved {
    left: Vec<bool>,
    right: Vec<bool>,
    pairs: Vec<(usize, usize)>,
}

fn pair_moved(
    left: &[Value],
    right: &[Value],
    lf: &[u64],
    rf: &[u64],
    hunks: &[(std::ops::Range<usize>, std::ops::Range<usize>)],
) -> Moved {
    let mut moved = Moved {
        left: vec![false; left.len()],
        right: vec![false; right.len()],
        pairs: Vec::new(),
    };
    let mut deleted: HashMap<u64, Vec<usize>> = HashMap::new();
    for (l_range, _) in hunks {
        for i in l_range.clone().rev() {
            deleted.entry(lf[i]).or_default().push(i);
        }
    }
    for (l_range, r_range) in hunks {
        for j in r_range.clone() {
            let Some(candidates) = deleted.get_mut(&rf[j]) else {
                continue;
            };
            // A deleted twin in the same hunk is a change in place, not a move.
            let found = candidates
                .iter()
                .rposition(|&i| !l_range.contains(&i) && deep_eq(&left[i], &right[j]));
            if let Some(k) = found {
                let i = candidates.remove(k);
                moved.left[i] = true;
                moved.right[j] = true;
                moved.pairs.push((i, j));
            }
        }
    }
    moved.pairs.sort_unstable();
    moved
}

fn descend<'a>(d: &mut Differ<'a>, index: usize, left: &'a Value, right: &'a Value) {
    d.enter(Step::Index(index));
    d.value(left, right);
    d.leave();
}
