//! What a verify tells besides its results: `report.json`'s `verify` section.

use crate::targets::KeyRange;
use serde::{Deserialize, Serialize};

/// How many range entries a report lists before it only counts them.
pub const MAX_RANGES: usize = 1000;

/// The keys of a verify, by what was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCounts {
    /// Keys the legacy holds (in this shard: keys the shard owns).
    pub legacy: u64,
    /// Keys the candidate holds.
    pub candidate: u64,
    /// Keys on both sides whose aggregates compared equal (by checksum or by diff).
    pub equal: u64,
    /// Keys on both sides whose aggregates differ.
    pub divergent: u64,
    /// Keys on the legacy only.
    pub missing: u64,
    /// Keys on the candidate only.
    pub extra: u64,
    /// Keys whose aggregate could not be read on a side: no verdict either way.
    pub inconclusive: u64,
}

impl KeyCounts {
    /// Every key judged: equal, divergent, missing, extra or inconclusive.
    pub fn total(&self) -> u64 {
        self.equal + self.divergent + self.missing + self.extra + self.inconclusive
    }

    /// The sum of two shards' counts.
    pub fn plus(self, other: KeyCounts) -> KeyCounts {
        KeyCounts {
            legacy: self.legacy + other.legacy,
            candidate: self.candidate + other.candidate,
            equal: self.equal + other.equal,
            divergent: self.divergent + other.divergent,
            missing: self.missing + other.missing,
            extra: self.extra + other.extra,
            inconclusive: self.inconclusive + other.inconclusive,
        }
    }
}

/// The path a range of keys took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Checksums computed in both stores were equal (and a key spot-checked by diff agreed).
    Hash,
    /// Every key enumerated on both sides, dumped and diffed.
    Dump,
}

/// One range and the path it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangePath {
    /// The keys, `(after, upto]`.
    #[serde(flatten)]
    pub range: KeyRange,
    /// How they were compared.
    pub path: Path,
    /// Keys in the range (both sides' together, each key once).
    pub keys: u64,
}

/// The `verify` section of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyInfo {
    /// The keys, by what was found.
    pub keys: KeyCounts,
    /// Keys per dump batch.
    pub batch: usize,
    /// The order both sides enumerate keys in (`bytes`, `integer`).
    pub key_order: String,
    /// Whether the hashing path was used, and if not why not; none: it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashing_off: Option<String>,
    /// The checksum form compared, when the hashing path was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_form: Option<String>,
    /// Checksum queries sent to each side.
    #[serde(default)]
    pub checksums: u64,
    /// Keys compared by the hashing path (in ranges whose checksums were equal).
    #[serde(default)]
    pub hashed_keys: u64,
    /// Keys compared by the dump path.
    #[serde(default)]
    pub dumped_keys: u64,
    /// The ranges in key order with the path each took, adjacent ranges of one path joined;
    /// at most [`MAX_RANGES`], the rest counted in `ranges_omitted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<RangePath>,
    /// Ranges not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ranges_omitted: u64,
    /// The key after which this run started (`--resume`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<String>,
    /// Where the run stopped: the last key all of whose predecessors were judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl VerifyInfo {
    /// Records that `range` (`keys` keys) took `path`, joined to the last range when it
    /// took the same path and starts where that one ended.
    pub fn took(&mut self, range: KeyRange, path: Path, keys: u64) {
        match path {
            Path::Hash => self.hashed_keys += keys,
            Path::Dump => self.dumped_keys += keys,
        }
        if let Some(last) = self.ranges.last_mut() {
            if last.path == path && last.range.upto == range.after && self.ranges_omitted == 0 {
                last.range.upto = range.upto;
                last.keys += keys;
                return;
            }
        }
        if self.ranges.len() < MAX_RANGES {
            self.ranges.push(RangePath { range, path, keys });
        } else {
            self.ranges_omitted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(after: Option<&str>, upto: Option<&str>) -> KeyRange {
        KeyRange {
            after: after.map(str::to_string),
            upto: upto.map(str::to_string),
        }
    }

    #[test]
    fn adjacent_ranges_of_one_path_are_joined_and_others_kept_apart() {
        let mut info = VerifyInfo::default();
        info.took(range(None, Some("b")), Path::Hash, 10);
        info.took(range(Some("b"), Some("d")), Path::Hash, 5);
        info.took(range(Some("d"), Some("e")), Path::Dump, 2);
        info.took(range(Some("e"), None), Path::Hash, 1);
        assert_eq!(info.ranges.len(), 3);
        assert_eq!(info.ranges[0].range, range(None, Some("d")));
        assert_eq!(info.ranges[0].keys, 15);
        assert_eq!((info.hashed_keys, info.dumped_keys), (16, 2));
    }
}
