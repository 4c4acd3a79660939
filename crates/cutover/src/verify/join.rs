//! Both sides' keys enumerated page by page and merge-joined in their one key order.

use super::Failure;
use crate::replay::SideName;
use crate::targets::{KeyOrder, KeyRange, Target};
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// One side's keys in a range, read a page at a time; every page is checked to go on
/// strictly ascending from the last key.
pub(super) struct Cursor {
    target: Arc<dyn Target>,
    side: SideName,
    order: KeyOrder,
    page: usize,
    timeout: Duration,
    upto: Option<String>,
    buffer: VecDeque<String>,
    last: Option<String>,
    done: bool,
}

impl Cursor {
    /// `target`'s keys in `range`, `page` at a time.
    pub(super) fn new(
        target: Arc<dyn Target>,
        side: SideName,
        order: KeyOrder,
        range: &KeyRange,
        page: usize,
        timeout: Duration,
    ) -> Cursor {
        Cursor {
            target,
            side,
            order,
            page: page.max(1),
            timeout,
            upto: range.upto.clone(),
            buffer: VecDeque::new(),
            last: range.after.clone(),
            done: false,
        }
    }

    /// The next key, not taken; none at the end of the range.
    pub(super) async fn peek(&mut self) -> Result<Option<&str>, Failure> {
        if self.buffer.is_empty() && !self.done {
            self.fill().await?;
        }
        Ok(self.buffer.front().map(String::as_str))
    }

    /// Takes the key [`Cursor::peek`] showed.
    pub(super) fn take(&mut self) -> Option<String> {
        self.buffer.pop_front()
    }

    /// Reads the next page.
    async fn fill(&mut self) -> Result<(), Failure> {
        let call = self.target.keys(self.last.as_deref(), self.page);
        let keys = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(Some(keys))) => keys,
            Ok(Ok(None)) => {
                return Err(self.contract(
                    "cannot enumerate its keys (a target for `cutover verify` answers `keys`: docs/src/verify.md)".into(),
                ))
            }
            Ok(Err(e)) => return Err(self.failure(format!("listing keys: {e}"))),
            Err(_) => {
                return Err(
                    self.failure(format!("listing keys: timed out after {:?}", self.timeout))
                )
            }
        };
        let short = keys.len() < self.page;
        for key in keys {
            if !self.accept(key)? {
                self.done = true;
                break;
            }
        }
        self.done |= short;
        Ok(())
    }

    /// Buffers `key` if it follows the last one and is in the range; false for the first
    /// key past the range's end.
    fn accept(&mut self, key: String) -> Result<bool, Failure> {
        self.order.check(&key).map_err(|e| self.contract(e))?;
        if let Some(last) = &self.last {
            if self.order.compare(&key, last) != Ordering::Greater {
                return Err(self.contract(format!(
                    "key `{key}` came after `{last}`; keys must be strictly ascending in `{}` order",
                    self.order.name()
                )));
            }
        }
        let past = self
            .upto
            .as_deref()
            .is_some_and(|u| self.order.compare(&key, u) == Ordering::Greater);
        if !past {
            self.last = Some(key.clone());
            self.buffer.push_back(key);
        }
        Ok(!past)
    }

    fn failure(&self, error: String) -> Failure {
        Failure::new(self.side, self.target.name(), error)
    }

    fn contract(&self, error: String) -> Failure {
        Failure {
            contract: true,
            ..self.failure(error)
        }
    }
}

/// A key of the merged enumeration and the sides that hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Joined {
    pub key: String,
    pub legacy: bool,
    pub candidate: bool,
}

/// The merge join of both sides' cursors.
pub(super) struct Join {
    pub legacy: Cursor,
    pub candidate: Cursor,
    pub order: KeyOrder,
}

impl Join {
    /// The next key in order, with the sides holding it; none when both are done.
    pub(super) async fn next(&mut self) -> Result<Option<Joined>, Failure> {
        let (l, c) = tokio::join!(self.legacy.peek(), self.candidate.peek());
        let (l, c) = (l?.map(str::to_string), c?.map(str::to_string));
        let which = match (&l, &c) {
            (None, None) => return Ok(None),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(l), Some(c)) => self.order.compare(l, c),
        };
        let joined = |key: Option<String>, legacy, candidate| Joined {
            key: key.expect("the side that holds the key"),
            legacy,
            candidate,
        };
        Ok(Some(match which {
            Ordering::Less => {
                self.legacy.take();
                joined(l, true, false)
            }
            Ordering::Greater => {
                self.candidate.take();
                joined(c, false, true)
            }
            Ordering::Equal => {
                self.legacy.take();
                self.candidate.take();
                joined(l, true, true)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Kind, Request};
    use crate::kv::memory::Memory;
    use serde_json::json;

    async fn store(keys: &[&str]) -> Arc<dyn Target> {
        let memory = Memory::new();
        for (i, key) in keys.iter().enumerate() {
            let put = Request::new(
                i as u64 + 1,
                Some(key),
                "put",
                Kind::Write,
                json!({"value": 1}),
                "",
            );
            memory.execute(&put).await.unwrap();
        }
        Arc::new(memory)
    }

    async fn joined(
        legacy: &[&str],
        candidate: &[&str],
        range: KeyRange,
    ) -> Vec<(String, bool, bool)> {
        let cursor =
            |t, side| Cursor::new(t, side, KeyOrder::Bytes, &range, 2, Duration::from_secs(5));
        let mut join = Join {
            legacy: cursor(store(legacy).await, SideName::Legacy),
            candidate: cursor(store(candidate).await, SideName::Candidate),
            order: KeyOrder::Bytes,
        };
        let mut out = Vec::new();
        while let Some(j) = join.next().await.unwrap() {
            out.push((j.key, j.legacy, j.candidate));
        }
        out
    }

    #[tokio::test]
    async fn keys_on_one_side_are_joined_in_order_across_pages() {
        let out = joined(
            &["a", "b", "d", "e", "f"],
            &["b", "c", "d", "g"],
            KeyRange::all(),
        )
        .await;
        let expected = [
            ("a", true, false),
            ("b", true, true),
            ("c", false, true),
            ("d", true, true),
            ("e", true, false),
            ("f", true, false),
            ("g", false, true),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, l, c)| (k.to_string(), *l, *c))
            .collect();
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn a_range_holds_only_its_keys() {
        let range = KeyRange {
            after: Some("b".into()),
            upto: Some("e".into()),
        };
        let out = joined(&["a", "b", "c", "e", "f"], &["d", "ea"], range).await;
        let keys: Vec<_> = out.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["c", "d", "e"]);
    }
}
