//! Accepted differences (`[[accept]]`): an entry (operation, path pattern, class) turns the
//! divergent requests it covers, every divergence of them, into accepted ones until it
//! expires. An expired entry covers nothing and rejects (clause `expired`); one that matched
//! nothing is reported as stale.

use super::{AcceptedUse, Clause, Policy, Reason};
use crate::diff::pattern;
use crate::replay::{RequestResult, Status};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Every accepted difference of `policy`, in policy order, none matched yet; expired when
/// its date is before `today`.
pub(super) fn uses(policy: &Policy, today: NaiveDate) -> Vec<AcceptedUse> {
    policy
        .accept
        .iter()
        .map(|a| AcceptedUse {
            op: a.op.clone(),
            path: a.path.clone(),
            class: a.class,
            detail: a.detail,
            reason: a.reason.clone(),
            owner: a.owner.clone(),
            expires: a.expires,
            line: a.line,
            matched: 0,
            expired: a.expires < today,
            stale: false,
        })
        .collect()
}

/// Matches every divergence of `results` against `uses`, counting what each entry matched
/// and marking stale those that matched nothing. Answers, per operation, the divergent
/// requests whose every divergence an active entry covers.
pub(super) fn cover<'r>(
    results: impl IntoIterator<Item = &'r RequestResult>,
    uses: &mut [AcceptedUse],
) -> BTreeMap<String, u64> {
    let mut accepted: BTreeMap<String, u64> = BTreeMap::new();
    for result in results {
        if result.status != Status::Divergent || result.divergences.is_empty() {
            continue;
        }
        let mut all_covered = true;
        for d in &result.divergences {
            // One canonical pattern, as suggested rules print it.
            let shape = pattern(&d.path);
            let mut covered = false;
            for u in uses.iter_mut() {
                if u.op == result.op
                    && u.class == d.class
                    && u.detail.is_none_or(|detail| d.detail == Some(detail))
                    && u.path == shape
                {
                    u.matched += 1;
                    covered |= !u.expired;
                }
            }
            all_covered &= covered;
        }
        if all_covered && result.omitted == 0 {
            *accepted.entry(result.op.clone()).or_default() += 1;
        }
    }
    for u in uses.iter_mut() {
        u.stale = u.matched == 0;
    }
    accepted
}

/// The `expired` clause: a reason for each entry past its expiry date, in policy order.
pub(super) fn expired(uses: &[AcceptedUse]) -> Vec<Reason> {
    uses.iter()
        .filter(|u| u.expired)
        .map(|u| Reason {
            op: Some(u.op.clone()),
            clause: Clause::Expired,
            message: format!(
                "the accepted difference {} {} at {} (policy line {}, owner {}) expired on {}",
                u.op, u.class, u.path, u.line, u.owner, u.expires
            ),
        })
        .collect()
}
