//! Sharding a replay across machines: `--shard i/n` replays the keys whose hash falls in
//! shard `i` of `n`; each shard is an ordinary CI job, and `cutover merge` folds their
//! results into the report of one run.
//!
//! A key's shard is the first 8 bytes of the SHA-256 of the key, big-endian, modulo `n`, plus
//! one: stable across machines, versions and runs. Keyless requests read across keys, so
//! shard 1 owns them, and to answer them against the full state it also runs, without
//! reporting them, the other shards' writes that come before its last keyless request.
//! [`crate::replay::replay`] finds that request itself (a first pass over the cassette
//! file); where it cannot (a cassette read from a stream), shard 1 runs every other
//! shard's write, which costs more and is never wrong.

use crate::cassette::{Kind, Request};
use std::fmt;
use std::str::FromStr;

/// One shard of `count`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, 1-based: `1 <= index <= count`.
    pub index: u32,
    /// How many shards the keys are spread over (at least 1).
    pub count: u32,
    /// How far shard 1 runs the other shards' writes: set by the replay, never by hand.
    keyless_until: Until,
}

/// The cassette's last keyless request, as far as a shard knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Not looked for: shard 1 runs every other shard's write.
    Unknown,
    /// The cassette has no keyless request.
    Never,
    /// The seq of the last keyless request.
    Seq(u64),
}

/// What a shard does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Replayed and reported.
    Own,
    /// Replayed for the state a keyless request reads, not reported.
    Context,
    /// Left to another shard.
    Skip,
}

impl Shard {
    /// The shard (1..=count) that owns `key`.
    pub fn of_key(key: &str, count: u32) -> u32 {
        crate::digest::key_bucket(key, count) + 1
    }

    /// Shard `index` of `count` (1-based); `None` unless `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (count >= 1 && (1..=count).contains(&index)).then_some(Shard {
            index,
            count,
            keyless_until: Until::Unknown,
        })
    }

    /// The shard, knowing the seq of the cassette's last keyless request (`None`: it has
    /// none), so that shard 1 runs only the other shards' writes that request may read.
    pub fn knowing_last_keyless(self, last: Option<u64>) -> Shard {
        Shard {
            keyless_until: last.map_or(Until::Never, Until::Seq),
            ..self
        }
    }

    /// Whether the last keyless request is known (see [`Shard::knowing_last_keyless`]).
    pub(crate) fn knows_last_keyless(&self) -> bool {
        self.keyless_until != Until::Unknown
    }

    /// What this shard does with `request`: its own keys and (for shard 1) keyless
    /// requests are [`Role::Own`]; shard 1 runs the other shards' writes before the last
    /// keyless request as [`Role::Context`]; the rest is [`Role::Skip`].
    pub fn role(&self, request: &Request) -> Role {
        match &request.key {
            None if self.index == 1 => Role::Own,
            None => Role::Skip,
            Some(key) if Shard::of_key(key, self.count) == self.index => Role::Own,
            Some(_)
                if self.index == 1
                    && request.kind == Kind::Write
                    && match self.keyless_until {
                        Until::Unknown => true,
                        Until::Never => false,
                        Until::Seq(last) => request.seq < last,
                    } =>
            {
                Role::Context
            }
            Some(_) => Role::Skip,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<u32>().ok()?, n.parse::<u32>().ok()?)));
        match parsed.and_then(|(index, count)| Shard::new(index, count)) {
            Some(shard) => Ok(shard),
            None => Err(format!("`{text}`: expected i/n with 1 <= i <= n, e.g. 2/4")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_the_shards_stably() {
        let mut counts = [0u32; 4];
        for k in 0..4000 {
            counts[Shard::of_key(&format!("k{k}"), 4) as usize - 1] += 1;
        }
        assert!(counts.iter().all(|c| (900..1100).contains(c)), "{counts:?}");
        // Fixed forever: a key's shard never depends on the machine or the version (the
        // values are those of SHA-256's first 8 bytes, big-endian, modulo the count).
        for (key, of_4, of_7) in [
            ("c-8c4513ff", 2, 6),
            ("k1", 1, 7),
            ("k2", 1, 4),
            ("k3", 3, 7),
            ("conversation-42", 2, 1),
        ] {
            assert_eq!(
                (Shard::of_key(key, 4), Shard::of_key(key, 7)),
                (of_4, of_7),
                "{key}"
            );
        }
        assert_eq!(Shard::of_key("anything", 1), 1);
    }

    #[test]
    fn shard_specs_parse_or_say_what_is_expected() {
        assert_eq!("2/4".parse::<Shard>().unwrap().to_string(), "2/4");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b"] {
            assert!(bad.parse::<Shard>().unwrap_err().contains("i/n"), "{bad}");
        }
    }
}
