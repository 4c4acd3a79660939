//! One trial of a group on one target: reset, the key's history one request at a time, the
//! group (one at a time in a given order, or all at once after a barrier), then the key's
//! state. Every call has the check's time limit, so a stalled store fails the trial instead
//! of hanging it.

use super::group::Group;
use crate::cassette::Outcome;
use crate::targets::{InfraError, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What a group did on one store: each request's answer (in cassette order) and the key's
/// state after the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Each request's answer, in cassette order.
    pub answers: Vec<Outcome>,
    /// The key's state after the group (`None`: the target cannot tell).
    pub state: Option<Value>,
}

/// How one concurrent run was started: all requests released by a barrier, each after its
/// seeded jitter, each store-side load paused by `pause_us` where the target supports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// 1-based: the schedule's place among the group's concurrent runs.
    pub index: usize,
    /// Per request (cassette order), the delay after the barrier.
    pub jitter_us: Vec<u64>,
    /// The pause between load and save, in microseconds (where the target supports it).
    pub pause_us: u64,
}

/// How the group is run.
pub(super) enum Order<'a> {
    /// One at a time, in this order of the group's indices.
    Serial(&'a [usize]),
    /// All at once.
    Concurrent(&'a Schedule),
}

/// Runs one trial of `group` on `target`.
pub(super) async fn run(
    target: &Arc<dyn Target>,
    group: &Group,
    order: Order<'_>,
    limit: Duration,
) -> Result<Trial, InfraError> {
    timed(limit, target.reset()).await?;
    for request in &group.history {
        timed(limit, target.execute(request)).await?;
    }
    let answers = match order {
        Order::Serial(order) => {
            let mut answers: Vec<Option<Outcome>> = vec![None; group.requests.len()];
            for &i in order {
                answers[i] = Some(timed(limit, target.execute(&group.requests[i])).await?);
            }
            answers.into_iter().flatten().collect()
        }
        Order::Concurrent(schedule) => concurrently(target, group, schedule, limit).await?,
    };
    let state = timed(limit, target.dump(&group.key)).await?;
    Ok(Trial { answers, state })
}

/// The group's requests released together by a barrier, each after its jitter.
async fn concurrently(
    target: &Arc<dyn Target>,
    group: &Group,
    schedule: &Schedule,
    limit: Duration,
) -> Result<Vec<Outcome>, InfraError> {
    let barrier = Arc::new(tokio::sync::Barrier::new(group.requests.len()));
    let pause = Duration::from_micros(schedule.pause_us);
    let tasks: Vec<_> = group
        .requests
        .iter()
        .zip(&schedule.jitter_us)
        .map(|(request, &jitter)| {
            let (target, barrier, request) =
                (Arc::clone(target), Arc::clone(&barrier), request.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                if jitter > 0 {
                    tokio::time::sleep(Duration::from_micros(jitter)).await;
                }
                timed(limit, target.execute_paused(&request, pause)).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    let mut failed = None;
    for task in tasks {
        match task.await {
            Ok(Ok(outcome)) => answers.push(outcome),
            Ok(Err(e)) => failed = failed.or(Some(e)),
            Err(join) => {
                let why = match join.try_into_panic() {
                    Ok(payload) => crate::replay::panic_text(&*payload),
                    Err(_) => "cancelled".to_string(),
                };
                failed = failed.or(Some(InfraError::Other(format!("panicked: {why}"))));
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(answers),
    }
}

async fn timed<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, InfraError>>,
) -> Result<T, InfraError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(InfraError::Timeout(limit)))
}

/// Every order of `0..n` (n ≤ 4: at most 24), the identity first.
pub(super) fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for rest in permutations(n - 1) {
        for at in (0..=rest.len()).rev() {
            let mut order = rest.clone();
            order.insert(at, n - 1);
            all.push(order);
        }
    }
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::permutations;

    #[test]
    fn permutations_are_every_order_once() {
        for n in 1..=4 {
            let all = permutations(n);
            let expected: usize = (1..=n).product();
            assert_eq!(all.len(), expected);
            let distinct: std::collections::BTreeSet<_> = all.iter().collect();
            assert_eq!(distinct.len(), expected);
            assert_eq!(all[0], (0..n).collect::<Vec<_>>());
        }
    }
}
