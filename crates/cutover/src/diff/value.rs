//! Value equality and fingerprints that agree with the diff: numbers by value, object keys
//! in any order (never relying on the order a map keeps), over any [`Tree`].

use super::number;
use super::tree::{Members, Tree, View};
use foldhash::fast::FixedState;
use std::hash::{BuildHasher, Hash, Hasher};

/// A fixed seed: fingerprints, and so the order `unordered` sorts into, are the same in
/// every run.
const SEED: FixedState = FixedState::with_seed(0x0063_7574_6f76_6572);

/// True when the diff would find no divergence between `left` and `right`.
pub fn deep_eq<T: Tree>(left: &T, right: &T) -> bool {
    match (left.view(), right.view()) {
        (View::Null, View::Null) => true,
        (View::Bool(l), View::Bool(r)) => l == r,
        (View::Number(l), View::Number(r)) => number::equal(l, r),
        (View::String(l), View::String(r)) => l == r,
        (View::Array(l), View::Array(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(a, b)| deep_eq(a, b))
        }
        (View::Object(l), View::Object(r)) => {
            if l.len() != r.len() {
                return false;
            }
            // Both sides usually list their keys in one order: walk them together, and look
            // keys up only once the orders part.
            for ((lk, lv), (rk, rv)) in l.iter().zip(r.iter()) {
                if lk != rk {
                    return l
                        .iter()
                        .all(|(k, lv)| r.get(k).is_some_and(|rv| deep_eq(lv, rv)));
                }
                if !deep_eq(lv, rv) {
                    return false;
                }
            }
            true
        }
        _ => false,
    }
}

/// A 64-bit hash under which values that are [`deep_eq`] collide. Callers confirm a
/// match with [`deep_eq`] before relying on it.
pub fn fingerprint<T: Tree>(value: &T) -> u64 {
    let mut state = SEED.build_hasher();
    feed(value, &mut state);
    state.finish()
}

fn feed<T: Tree>(value: &T, state: &mut impl Hasher) {
    match value.view() {
        View::Null => state.write_u8(0),
        View::Bool(b) => {
            state.write_u8(1);
            b.hash(state);
        }
        View::Number(n) => {
            state.write_u8(2);
            number::hash(n, state);
        }
        View::String(s) => {
            state.write_u8(3);
            s.hash(state);
        }
        View::Array(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            for item in items {
                feed(item, state);
            }
        }
        View::Object(map) => {
            // Order-independent: the entries' own hashes, summed.
            state.write_u8(5);
            state.write_usize(map.len());
            let sum = map.iter().fold(0u64, |acc, (k, v)| {
                let mut entry = SEED.build_hasher();
                k.hash(&mut entry);
                feed(v, &mut entry);
                acc.wrapping_add(entry.finish())
            });
            state.write_u64(sum);
        }
    }
}
