//! The keys the recorder dropped in the current window, in a table of fixed size.
//!
//! Marking and testing a key never allocates and never waits for a lock, so a caller that
//! meets a full queue pays the same few nanoseconds however many keys were dropped before
//! (a growing set would have to be resized, on some caller's path, and would grow without
//! bound under sustained overload). Each key has one slot among [`SLOTS`]; two keys sharing
//! a slot are dropped together, whole, like every dropped key, and count once.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots in the table: 4 Mi bits, 512 KiB.
pub const SLOTS: usize = 1 << 22;

pub(crate) struct DroppedKeys {
    words: Box<[AtomicU64]>,
}

impl DroppedKeys {
    pub(crate) fn new() -> DroppedKeys {
        DroppedKeys {
            words: (0..SLOTS / 64).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn slot(key: &str) -> (usize, u64) {
        let hash = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(key);
        let slot = (hash % SLOTS as u64) as usize;
        (slot / 64, 1 << (slot % 64))
    }

    /// The slot of `key`: keys of one slot are dropped together and counted once.
    pub(crate) fn slot_of(key: &str) -> usize {
        let (word, bit) = DroppedKeys::slot(key);
        word * 64 + bit.trailing_zeros() as usize
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        let (word, bit) = DroppedKeys::slot(key);
        self.words[word].load(Ordering::Acquire) & bit != 0
    }

    /// Marks `key` dropped; `true` if its slot was not marked yet.
    pub(crate) fn insert(&self, key: &str) -> bool {
        let (word, bit) = DroppedKeys::slot(key);
        self.words[word].fetch_or(bit, Ordering::AcqRel) & bit == 0
    }

    /// Forgets every key.
    pub(crate) fn clear(&self) {
        for word in self.words.iter() {
            word.store(0, Ordering::Release);
        }
    }

    /// Empties the table (a new window) and returns what it held. Each word is swapped, so
    /// a key marked meanwhile is in the one or in the other, never lost.
    pub(crate) fn take(&self) -> DroppedSet {
        DroppedSet {
            words: self
                .words
                .iter()
                .map(|w| w.swap(0, Ordering::AcqRel))
                .collect(),
        }
    }
}

/// The keys a window dropped, taken from the table when it ended: fixed from then on, so
/// every file of the window is finished without the same keys, whatever callers do meanwhile.
pub(crate) struct DroppedSet {
    words: Box<[u64]>,
}

impl DroppedSet {
    pub(crate) fn contains(&self, key: &str) -> bool {
        let (word, bit) = DroppedKeys::slot(key);
        self.words[word] & bit != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_marked_once_and_forgotten_on_clear() {
        let dropped = DroppedKeys::new();
        assert!(!dropped.contains("c-1"));
        assert!(dropped.insert("c-1"));
        assert!(!dropped.insert("c-1"));
        assert!(dropped.contains("c-1"));
        let others = (0..1000)
            .filter(|i| dropped.contains(&format!("c-{i}-x")))
            .count();
        assert!(others <= 1, "{others} of 1000 unmarked keys share the slot");
        dropped.clear();
        assert!(!dropped.contains("c-1"));
    }

    #[test]
    fn taking_the_table_empties_it_and_keeps_what_it_held() {
        let dropped = DroppedKeys::new();
        dropped.insert("c-1");
        let window = dropped.take();
        assert!(window.contains("c-1"));
        assert!(!window.contains("c-2"));
        assert!(!dropped.contains("c-1"), "the next window starts afresh");
        dropped.insert("c-2");
        assert!(!window.contains("c-2"), "the window's keys are fixed");
    }
}
