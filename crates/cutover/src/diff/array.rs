//! Array alignment. No clock is read: the same two arrays give the same divergences on
//! every machine, and the cost is bounded by the arrays' sizes.
//!
//! 0. An array with a declared identity (a rules file's `identity`, at the array's path)
//!    is aligned by it first ([`by_identity`]): elements with equal keys are paired
//!    wherever they stand, the pairs out of order are one `ordering`, paired elements that
//!    differ are diffed inside, and keys on one side only are `missing` or `extra`. Only
//!    when the key identifies every element of both sides (each an object with a string,
//!    number or boolean there, no key twice on one side) is it used; otherwise the array
//!    goes through the steps below, as without the key.
//! 1. The common prefix and suffix are matched first.
//! 2. If what is left of one array is what is left of the other in another order, that is
//!    one `ordering` divergence at the array's own path, the slice in the note
//!    (`[4:6] in another order`), `left` and `right` the slice's elements.
//! 3. Otherwise the rest (n elements on the left, m on the right) is aligned, exactly where
//!    that is affordable: a Myers diff over element fingerprints (a longest common
//!    subsequence) takes at most (n + m) · D steps for an edit distance D ≤ n + m.
//!    * While (n + m)² ≤ [`EXACT_COST`], Myers runs.
//!    * Beyond, equal fingerprints are paired as multisets (the k-th occurrence on the left
//!      with the k-th on the right), and the longest increasing subsequence of the right
//!      positions taken in left order (patience sorting) gives the pairs that stay in
//!      order: the anchors. They are a common subsequence, so D ≤ D_upper =
//!      n + m − 2 · anchors, and while (n + m) · D_upper ≤ [`EXACT_COST`], Myers still runs.
//!    * Beyond that, the anchors are the alignment, recomputed over pairs confirmed with
//!      [`deep_eq`] (the k-th occurrence of a value with its k-th occurrence): the paired
//!      elements outside the anchors moved, and the unpaired ones face each other in the
//!      gaps between consecutive anchors.
//!
//! Then, whichever alignment was used:
//!
//! * an element that left one place and reappears in another is `ordering`, once per array,
//!   at the array's path, the note naming the first positions;
//! * a deleted element facing an inserted one between the same two aligned elements is the
//!   same element changed in place, and the diff descends into it (`$.m[1].t`);
//! * what is left over is `missing` (left index) or `extra` (right index).
//!
//! Cost: O((n + m) log(n + m)) for the trimming, the permutation test, the pairing and the
//! anchors, at most [`EXACT_COST`] steps of Myers, and [`deep_eq`] confirmations that read
//! each element a bounded number of times (at most [`MAX_TWINS`] comparisons when values
//! share a fingerprint). The choice of alignment depends only on sizes and content; no
//! hash map's iteration order reaches the output.

use super::path::Step;
use super::tree::{Members, Tree, View};
use super::value::{deep_eq, fingerprint};
use super::{Class, Differ};
use serde_json::Value;
use similar::{Algorithm, DiffOp, DiffTag};
use std::collections::BTreeMap;
use std::ops::Range;

/// The most steps the exact alignment may take, as (n + m) · D: some tens of milliseconds.
pub(super) const EXACT_COST: u64 = 1 << 24;

/// How many distinct values sharing one fingerprint the pairing tells apart; more happen
/// only with deliberate hash collisions, and their elements stay unpaired.
const MAX_TWINS: usize = 8;

/// How many moved positions a note names before it summarizes.
const NOTE_POSITIONS: usize = 5;

pub(super) fn diff<'a, T: Tree>(d: &mut Differ<'a>, left: &'a [T], right: &'a [T]) {
    diff_within(d, left, right, EXACT_COST);
}

/// [`diff`], with `exact_cost` in place of [`EXACT_COST`].
pub(super) fn diff_within<'a, T: Tree>(
    d: &mut Differ<'a>,
    left: &'a [T],
    right: &'a [T],
    exact_cost: u64,
) {
    let prefix = left
        .iter()
        .zip(right)
        .take_while(|(l, r)| deep_eq(*l, *r))
        .count();
    let (l_rest, r_rest) = (&left[prefix..], &right[prefix..]);
    let suffix = l_rest
        .iter()
        .rev()
        .zip(r_rest.iter().rev())
        .take_while(|(l, r)| deep_eq(*l, *r))
        .count();
    let l_mid = &l_rest[..l_rest.len() - suffix];
    let r_mid = &r_rest[..r_rest.len() - suffix];
    if l_mid.is_empty() && r_mid.is_empty() {
        return;
    }
    // Each element is hashed once, for the permutation test and the alignments.
    let lf: Vec<u64> = l_mid.iter().map(fingerprint).collect();
    let rf: Vec<u64> = r_mid.iter().map(fingerprint).collect();
    let total = (l_mid.len() + r_mid.len()) as u64;
    // Myers takes at most (n + m) · D steps, and D ≤ n + m.
    let small = total.saturating_mul(total) <= exact_cost;
    if l_mid.len() == r_mid.len() || !small {
        let (lo, ro) = (by_fingerprint(&lf), by_fingerprint(&rf));
        if l_mid.len() == r_mid.len() && is_permutation(l_mid, r_mid, &lo, &ro) {
            let note = format!("[{}:{}] in another order", prefix, prefix + l_mid.len());
            let (l, r) = (array_of(l_mid), array_of(r_mid));
            d.report(Class::Ordering, None, Some(&l), Some(&r), Some(note));
            return;
        }
        if !small {
            // Myers compares fingerprints: anchors over fingerprints bound its D.
            let kept = anchors(&pair_groups(&lo, &ro, l_mid.len(), |lg, rg, pairs| {
                for ((_, i), (_, j)) in lg.iter().zip(rg) {
                    pairs[*i] = Some(*j);
                }
            }));
            let upper = total - 2 * kept.len() as u64;
            if total.saturating_mul(upper) > exact_cost {
                let pairs = pair_groups(&lo, &ro, l_mid.len(), |lg, rg, pairs| {
                    pair_equal(l_mid, r_mid, lg, rg, pairs)
                });
                return anchored(d, prefix, l_mid, r_mid, &pairs, &anchors(&pairs));
            }
        }
    }
    exact(d, prefix, (l_mid, &lf), (r_mid, &rf));
}

/// True when `right` holds the same elements as `left`, in any order; `lo` and `ro` are
/// their positions sorted by fingerprint.
fn is_permutation<T: Tree>(
    left: &[T],
    right: &[T],
    lo: &[(u64, usize)],
    ro: &[(u64, usize)],
) -> bool {
    lo.iter()
        .zip(ro)
        .all(|(a, b)| a.0 == b.0 && deep_eq(&left[a.1], &right[b.1]))
}

/// The positions sorted by (fingerprint, position).
fn by_fingerprint(prints: &[u64]) -> Vec<(u64, usize)> {
    let mut keyed: Vec<(u64, usize)> = prints.iter().copied().zip(0..).collect();
    keyed.sort_unstable();
    keyed
}

/// The exact alignment of two slices (with their fingerprints) that differ at both ends;
/// `offset` is their index in the arrays.
fn exact<'a, T: Tree>(
    d: &mut Differ<'a>,
    offset: usize,
    (left, lf): (&'a [T], &[u64]),
    (right, rf): (&'a [T], &[u64]),
) {
    let ops = if shares_a_fingerprint(lf, rf) {
        similar::capture_diff_slices(Algorithm::Myers, lf, rf)
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
    report(d, offset, left, right, hunks, &moved);
}

fn shares_a_fingerprint(lf: &[u64], rf: &[u64]) -> bool {
    let mut sorted = lf.to_vec();
    sorted.sort_unstable();
    rf.iter().any(|f| sorted.binary_search(f).is_ok())
}

/// The alignment by anchors: `pairs[i]` is the right element equal to left element `i`,
/// `anchors` the pairs that stay in order.
fn anchored<'a, T: Tree>(
    d: &mut Differ<'a>,
    offset: usize,
    left: &'a [T],
    right: &'a [T],
    pairs: &[Option<usize>],
    anchors: &[(usize, usize)],
) {
    let mut anchor = vec![false; left.len()];
    for &(i, _) in anchors {
        anchor[i] = true;
    }
    let mut moved = Moved {
        left: vec![false; left.len()],
        right: vec![false; right.len()],
        pairs: Vec::new(),
    };
    for (i, j) in pairs.iter().enumerate() {
        if let (Some(j), false) = (*j, anchor[i]) {
            moved.left[i] = true;
            moved.right[j] = true;
            moved.pairs.push((i, j));
        }
    }
    // The gaps between consecutive anchors, and before the first and after the last.
    let mut hunks = Vec::new();
    let (mut i0, mut j0) = (0, 0);
    for &(i, j) in anchors.iter().chain([&(left.len(), right.len())]) {
        if i0 < i || j0 < j {
            hunks.push((i0..i, j0..j));
        }
        (i0, j0) = (i + 1, j + 1);
    }
    report(d, offset, left, right, hunks, &moved);
}

/// Pairs the elements of each fingerprint found on both sides (`lo` and `ro`: positions
/// sorted by fingerprint, `n` left elements) with `pair`, given the fingerprint's left and
/// right positions in order. `pairs[i]` is left element `i`'s partner.
fn pair_groups(
    lo: &[(u64, usize)],
    ro: &[(u64, usize)],
    n: usize,
    mut pair: impl FnMut(&[(u64, usize)], &[(u64, usize)], &mut [Option<usize>]),
) -> Vec<Option<usize>> {
    let mut pairs = vec![None; n];
    let (mut a, mut b) = (0, 0);
    while a < lo.len() && b < ro.len() {
        let print = lo[a].0;
        if print < ro[b].0 {
            a += 1;
            continue;
        }
        if print > ro[b].0 {
            b += 1;
            continue;
        }
        let (mut a_end, mut b_end) = (a + 1, b + 1);
        while lo.get(a_end).is_some_and(|x| x.0 == print) {
            a_end += 1;
        }
        while ro.get(b_end).is_some_and(|x| x.0 == print) {
            b_end += 1;
        }
        pair(&lo[a..a_end], &ro[b..b_end], &mut pairs);
        (a, b) = (a_end, b_end);
    }
    pairs
}

/// Pairs equal elements of one fingerprint (`lg` and `rg`, in position order) as multisets:
/// the k-th occurrence of a value on the left with its k-th occurrence on the right, values
/// told apart by [`deep_eq`] in case of a collision.
fn pair_equal<T: Tree>(
    left: &[T],
    right: &[T],
    lg: &[(u64, usize)],
    rg: &[(u64, usize)],
    pairs: &mut [Option<usize>],
) {
    if let ([(_, i)], [(_, j)]) = (lg, rg) {
        if deep_eq(&left[*i], &right[*j]) {
            pairs[*i] = Some(*j);
        }
        return;
    }
    // One entry per distinct value: its left positions, then its right positions.
    let mut values: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    for &(_, i) in lg {
        match values.iter().position(|v| deep_eq(&left[v.0[0]], &left[i])) {
            Some(k) => values[k].0.push(i),
            None if values.len() < MAX_TWINS => values.push((vec![i], Vec::new())),
            None => {}
        }
    }
    for &(_, j) in rg {
        if let Some(v) = values
            .iter_mut()
            .find(|v| deep_eq(&left[v.0[0]], &right[j]))
        {
            v.1.push(j);
        }
    }
    for (ls, rs) in values {
        for (i, j) in ls.into_iter().zip(rs) {
            pairs[i] = Some(j);
        }
    }
}

/// The most pairs in order on both sides: the longest increasing subsequence of the right
/// positions taken in left order, by patience sorting (O(n log n)).
fn anchors(pairs: &[Option<usize>]) -> Vec<(usize, usize)> {
    let seq: Vec<(usize, usize)> = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| (i, j)))
        .collect();
    // tails[k]: the pair ending the increasing run of length k + 1 with the smallest end,
    // and that end (right position) in `ends`, contiguous for the search.
    let mut tails: Vec<usize> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut before: Vec<Option<usize>> = vec![None; seq.len()];
    for (k, &(_, j)) in seq.iter().enumerate() {
        // Runs in order (the usual case) extend the longest run without a search.
        let p = match ends.last() {
            Some(&last) if last < j => ends.len(),
            _ => ends.partition_point(|&e| e < j),
        };
        if p > 0 {
            before[k] = Some(tails[p - 1]);
        }
        if p == tails.len() {
            tails.push(k);
            ends.push(j);
        } else {
            tails[p] = k;
            ends[p] = j;
        }
    }
    let mut run = Vec::with_capacity(tails.len());
    let mut k = tails.last().copied();
    while let Some(x) = k {
        run.push(seq[x]);
        k = before[x];
    }
    run.reverse();
    run
}

/// Elements that were deleted in one place and inserted, unchanged, in another.
struct Moved {
    left: Vec<bool>,
    right: Vec<bool>,
    pairs: Vec<(usize, usize)>,
}

/// The moved elements of an exact alignment: deleted in one hunk, inserted in another.
fn pair_moved<T: Tree>(
    left: &[T],
    right: &[T],
    lf: &[u64],
    rf: &[u64],
    hunks: &[(Range<usize>, Range<usize>)],
) -> Moved {
    let mut moved = Moved {
        left: vec![false; left.len()],
        right: vec![false; right.len()],
        pairs: Vec::new(),
    };
    let mut deleted: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
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

/// Reports the hunks of an alignment (what is neither aligned nor moved is changed in place,
/// missing or extra), then the moved elements as one `ordering` divergence.
fn report<'a, T: Tree>(
    d: &mut Differ<'a>,
    offset: usize,
    left: &'a [T],
    right: &'a [T],
    hunks: Vec<(Range<usize>, Range<usize>)>,
    moved: &Moved,
) {
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
        let note = moved_note(&moved.pairs, offset);
        d.report::<Value>(Class::Ordering, None, None, None, Some(note));
    }
}

/// The note of an `ordering` divergence: how many elements moved, the first few named by
/// their positions (`offset` added).
fn moved_note(pairs: &[(usize, usize)], offset: usize) -> String {
    let named: Vec<String> = pairs
        .iter()
        .take(NOTE_POSITIONS)
        .map(|(i, j)| format!("left [{}] is right [{}]", offset + i, offset + j))
        .collect();
    let more = pairs.len().saturating_sub(NOTE_POSITIONS);
    format!(
        "{} element(s) in another position: {}{}",
        pairs.len(),
        named.join(", "),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    )
}

/// The member `key` of `item`, following dots into nested objects (`user.id`).
fn member<'v, T: Tree>(item: &'v T, key: &str) -> Option<&'v T> {
    key.split('.').try_fold(item, |v, name| match v.view() {
        View::Object(members) => members.get(name),
        _ => None,
    })
}

/// The identity of each element: its member `key` (dotted for a nested member), sorted as (fingerprint, position), or
/// `None` when an element is not an object, lacks the member, has a key that is not a
/// string, number or boolean, or shares its key's fingerprint with another element (a
/// duplicate key, or a collision).
fn identities<T: Tree>(items: &[T], key: &str) -> Option<Vec<(u64, usize)>> {
    let mut keyed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let k = member(item, key)?;
        match k.view() {
            View::String(_) | View::Number(_) | View::Bool(_) => keyed.push((fingerprint(k), i)),
            _ => return None,
        }
    }
    keyed.sort_unstable();
    if keyed.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    Some(keyed)
}

/// Aligns two arrays by the identity member `key`: elements whose keys are equal (as the
/// diff compares values: `1` and `1.0` are one key) are paired, wherever they stand. The
/// pairs that stay in order are the longest increasing subsequence of their right
/// positions; the other pairs moved, and are one `ordering` divergence at the array's
/// path. Paired elements that differ are diffed inside (`$.items[3].done`, with the left
/// index); elements whose key is on one side only are `missing` or `extra`.
///
/// Returns `false`, having reported nothing, when the key cannot identify every element
/// on both sides ([`identities`]): the caller then aligns the array as it would without a
/// key, so that no element is paired by a key that does not tell it apart.
///
/// Cost: O((n + m) log(n + m)) for the keys, the pairing and the order, and one
/// [`deep_eq`] per pair before any descent.
pub(super) fn by_identity<'a, T: Tree>(
    d: &mut Differ<'a>,
    left: &'a [T],
    right: &'a [T],
    key: &str,
) -> bool {
    let (Some(lk), Some(rk)) = (identities(left, key), identities(right, key)) else {
        return false;
    };
    let mut pairs: Vec<Option<usize>> = vec![None; left.len()];
    let mut paired_right = vec![false; right.len()];
    let (mut a, mut b) = (0, 0);
    while a < lk.len() && b < rk.len() {
        let ((lp, i), (rp, j)) = (lk[a], rk[b]);
        match lp.cmp(&rp) {
            std::cmp::Ordering::Less => a += 1,
            std::cmp::Ordering::Greater => b += 1,
            std::cmp::Ordering::Equal => {
                // Equal fingerprints, confirmed: a collision leaves both unpaired.
                if member(&left[i], key)
                    .zip(member(&right[j], key))
                    .is_some_and(|(l, r)| deep_eq(l, r))
                {
                    pairs[i] = Some(j);
                    paired_right[j] = true;
                }
                a += 1;
                b += 1;
            }
        }
    }
    for (i, j) in pairs.iter().enumerate() {
        if let Some(j) = *j {
            if !deep_eq(&left[i], &right[j]) {
                descend(d, i, &left[i], &right[j]);
            }
        }
    }
    for (i, j) in pairs.iter().enumerate() {
        if j.is_none() {
            d.report(
                Class::Missing,
                Some(Step::Index(i)),
                Some(&left[i]),
                None,
                None,
            );
        }
    }
    for (j, paired) in paired_right.iter().enumerate() {
        if !paired {
            d.report(
                Class::Extra,
                Some(Step::Index(j)),
                None,
                Some(&right[j]),
                None,
            );
        }
    }
    let kept = anchors(&pairs);
    let mut anchor = vec![false; left.len()];
    for &(i, _) in &kept {
        anchor[i] = true;
    }
    let moved: Vec<(usize, usize)> = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.filter(|_| !anchor[i]).map(|j| (i, j)))
        .collect();
    if !moved.is_empty() {
        d.report::<Value>(
            Class::Ordering,
            None,
            None,
            None,
            Some(moved_note(&moved, 0)),
        );
    }
    true
}

/// A slice of elements as one JSON array, for an `ordering` divergence's sides.
fn array_of<T: Tree>(items: &[T]) -> Value {
    Value::Array(items.iter().map(Tree::to_json).collect())
}

fn descend<'a, T: Tree>(d: &mut Differ<'a>, index: usize, left: &'a T, right: &'a T) {
    d.enter(Step::Index(index));
    d.value(left, right);
    d.leave();
}

#[cfg(test)]
mod identity_tests;
#[cfg(test)]
mod tests;
