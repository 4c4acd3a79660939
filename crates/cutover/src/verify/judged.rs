//! What judges keys and hands them to the output: counts, results that are not equal,
//! checkpoints.

use super::fetch::{Batch, Fetch, Item};
use super::info::Path;
use super::judge::{self, Found};
use super::{Checkpoint, Output, VerifyInfo};
use crate::normalize::RuleRun;
use crate::replay::RequestResult;
use crate::targets::KeyRange;

/// What judges keys and hands them to the output.
pub(super) struct Judged<'o> {
    pub(super) rules: Option<RuleRun>,
    pub(super) out: &'o mut dyn Output,
    pub(super) info: VerifyInfo,
    /// The last checkpoint.
    pub(super) at: Checkpoint,
}

impl Judged<'_> {
    /// One key judged, not yet counted.
    pub(super) fn one(&self, item: &Item) -> (RequestResult, Found) {
        judge::judge(
            self.rules.as_ref(),
            item.seq,
            &item.key,
            item.legacy.clone(),
            item.candidate.clone(),
        )
    }

    /// A batch judged, counted, handed over and checkpointed.
    pub(super) async fn batch(&mut self, batch: Batch) -> std::io::Result<()> {
        let mut equal = 0;
        for item in &batch.items {
            let (result, found) = self.one(item);
            let keys = &mut self.info.keys;
            keys.legacy += u64::from(item.legacy.is_some());
            keys.candidate += u64::from(item.candidate.is_some());
            match found {
                Found::Equal => equal += 1,
                Found::Divergent => keys.divergent += 1,
                Found::Missing => keys.missing += 1,
                Found::Extra => keys.extra += 1,
                Found::Inconclusive => keys.inconclusive += 1,
            }
            if found != Found::Equal {
                self.out.result(&result)?;
            }
        }
        self.info.keys.equal += equal;
        if equal > 0 {
            self.out.equal(equal)?;
        }
        self.reached(Some(batch.last), batch.last_seq, false)
    }

    /// A range both checksums call equal: `keys` keys on each side, equal.
    pub(super) fn hashed(
        &mut self,
        range: KeyRange,
        keys: u64,
        fetch: &mut Fetch,
    ) -> std::io::Result<()> {
        let counts = &mut self.info.keys;
        counts.legacy += keys;
        counts.candidate += keys;
        counts.equal += keys;
        fetch.seq += keys;
        if keys > 0 {
            self.out.equal(keys)?;
        }
        let after = range.upto.clone().or_else(|| self.at.after.clone());
        self.info.took(range, Path::Hash, keys);
        self.reached(after, fetch.seq, false)
    }

    /// Every key judged.
    pub(super) fn finish(&mut self) -> std::io::Result<()> {
        let after = self.at.after.clone();
        self.reached(after, self.at.seq, true)
    }

    fn reached(&mut self, after: Option<String>, seq: u64, done: bool) -> std::io::Result<()> {
        self.at = Checkpoint {
            after,
            done,
            seq,
            info: self.info.clone(),
            results_bytes: 0,
        };
        self.out.reached(&self.at)
    }
}
