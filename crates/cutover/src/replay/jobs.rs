//! The comparisons in flight, as the scheduler starts and joins them.
//!
//! Above concurrency 1 each comparison is a task of its own, so that the runtime's threads
//! share them. At concurrency 1 there is never anything to run beside the one comparison:
//! it runs inside the scheduler's own task, which saves the two hand-offs between threads
//! that a task costs per request (the run is the same, only its speed differs). Either
//! way a comparison that panics is joined as the panic's message, and dropping the set
//! stops every comparison in it at once.

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use tokio::task::JoinSet;

/// A comparison's number within its set.
pub(super) type JobId = u64;

/// The comparisons in flight, each yielding a `T`.
pub(super) struct Jobs<T> {
    run: Run<T>,
    next: JobId,
}

enum Run<T> {
    /// Tasks on the runtime, with the number each was given.
    Spawned(JoinSet<T>, HashMap<tokio::task::Id, JobId>),
    /// Futures polled by whoever joins them.
    Inline(FuturesUnordered<BoxFuture<'static, (JobId, Result<T, String>)>>),
}

impl<T: Send + 'static> Jobs<T> {
    /// An empty set: comparisons inline when at most one runs at a time.
    pub(super) fn new(concurrency: usize) -> Jobs<T> {
        let run = match concurrency {
            0 | 1 => Run::Inline(FuturesUnordered::new()),
            _ => Run::Spawned(JoinSet::new(), HashMap::new()),
        };
        Jobs { run, next: 0 }
    }

    /// Starts `job` and returns its number.
    pub(super) fn spawn(&mut self, job: impl Future<Output = T> + Send + 'static) -> JobId {
        let id = self.next;
        self.next += 1;
        match &mut self.run {
            Run::Spawned(set, ids) => {
                ids.insert(set.spawn(job).id(), id);
            }
            Run::Inline(futures) => futures.push(Box::pin(
                AssertUnwindSafe(job)
                    .catch_unwind()
                    .map(move |joined| (id, joined.map_err(|p| super::panic_text(&*p)))),
            )),
        }
        id
    }

    pub(super) fn len(&self) -> usize {
        match &self.run {
            Run::Spawned(set, _) => set.len(),
            Run::Inline(futures) => futures.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next comparison to finish: its number and what it yielded, or the message of
    /// its panic; `None` when the set is empty.
    pub(super) async fn join_next(&mut self) -> Option<(JobId, Result<T, String>)> {
        match &mut self.run {
            Run::Spawned(set, ids) => {
                let joined = set.join_next_with_id().await?;
                let (task, result) = match joined {
                    Ok((task, value)) => (task, Ok(value)),
                    Err(error) => (error.id(), Err(panic_message(error))),
                };
                let id = ids.remove(&task).expect("every task is numbered");
                Some((id, result))
            }
            Run::Inline(futures) => futures.next().await,
        }
    }
}

fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => super::panic_text(&*payload),
        Err(error) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn joined(concurrency: usize) -> Vec<(JobId, Result<u32, String>)> {
        let mut jobs = Jobs::new(concurrency);
        jobs.spawn(async { 7 });
        jobs.spawn(async { panic!("the second job broke") });
        jobs.spawn(async {
            tokio::task::yield_now().await;
            9
        });
        assert_eq!(jobs.len(), 3);
        let mut all = Vec::new();
        while let Some(done) = jobs.join_next().await {
            all.push(done);
        }
        assert!(jobs.is_empty());
        all.sort_by_key(|(id, _)| *id);
        all
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inline_and_spawned_jobs_join_alike_panics_included() {
        let expected = vec![
            (0, Ok(7)),
            (1, Err("the second job broke".to_string())),
            (2, Ok(9)),
        ];
        assert_eq!(joined(1).await, expected);
        assert_eq!(joined(16).await, expected);
    }
}
