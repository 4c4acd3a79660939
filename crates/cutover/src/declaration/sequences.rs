//! Sequence probes: per sampled key, its recorded writes again in orders the traffic never
//! had, each write's stored state compared after it, and the key read at the end. A write
//! whose result depends on what earlier writes left (a second completion that must
//! conflict, a reopen of what is open) is tried where recorded traffic never tried it.
//!
//! The alphabet of a key is its distinct successful writes (at most [`ALPHABET`]); three
//! sequences are derived from it: each write twice in a row, the whole alphabet reversed,
//! and an order shuffled by a hash of the key. Nothing is random: the same cassette gives
//! the same sequences. A sequence that diverges is shrunk like any divergent cassette
//! (`cutover shrink`).

use super::{Declaration, KeyMode};
use crate::cassette::Kind;
use crate::probe::pick::{lowest, rank};
use crate::probe::{Probe, SEQUENCE};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The most distinct writes of one key kept.
pub const ALPHABET: usize = 4;
/// Keys that get sequences.
const KEYS: usize = 3;

/// The sequence probes of the sampled keys.
pub(super) fn derive(
    declaration: &Declaration,
    writes: &BTreeMap<String, Vec<(String, Value)>>,
) -> Vec<Probe> {
    let mut out = Vec::new();
    let candidates = writes.iter().filter(|(_, w)| !w.is_empty()).map(|(k, _)| k);
    for key in lowest(candidates, KEYS) {
        let alphabet = &writes[key];
        let twice: Vec<&(String, Value)> = alphabet.iter().flat_map(|w| [w, w]).collect();
        let reversed: Vec<&(String, Value)> = alphabet.iter().rev().collect();
        let mut shuffled: Vec<&(String, Value)> = alphabet.iter().collect();
        shuffled.sort_by_key(|(op, args)| rank(&format!("{key} {op} {args}")));
        let mut sequences = vec![("each write twice", twice)];
        if alphabet.len() > 1 {
            sequences.push(("writes reversed", reversed));
            if shuffled != alphabet.iter().collect::<Vec<_>>() {
                sequences.push(("writes shuffled", shuffled));
            }
        }
        for (what, sequence) in sequences {
            let why = format!("{SEQUENCE}{what}");
            for (op, args) in sequence {
                if let Some(op) = declaration.op(op) {
                    out.push(op.probe(Some(key), args.clone(), why.clone()));
                }
            }
            out.extend(reads(declaration, key, &why));
        }
    }
    out
}

/// A read of `key` after a sequence: the first keyed read that needs no argument (each
/// write's stored state is compared after it anyway).
fn reads(declaration: &Declaration, key: &str, why: &str) -> Option<Probe> {
    declaration
        .ops
        .iter()
        .filter(|o| o.kind == Kind::Read && o.key == KeyMode::Keyed)
        .find(|o| o.args.values().all(|a| a.optional))
        .map(|o| o.probe(Some(key), json!({}), format!("{why}, then {}", o.name)))
}
