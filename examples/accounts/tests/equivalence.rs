//! The new version against the legacy on the recorded cassette: equivalent, with every
//! write's stored state compared; the planted defect is divergent where it should be.

mod common;

use accounts::{LegacyAccounts, NewAccounts};
use common::{target, CASSETTE};
use cutover::{Class, Equivalence, Recorded, Report, Verdict};
use std::sync::Arc;

/// Every write of the cassette had its stored state compared on both sides.
fn assert_every_state_checked(report: &Report) {
    for (op, o) in &report.operations {
        assert_eq!(
            o.writes_unchecked, 0,
            "{op}: writes whose state was not compared"
        );
    }
    assert_eq!(report.unchecked().writes, 0);
}

#[tokio::test]
async fn the_new_version_is_equivalent_to_the_legacy_with_every_state_checked() {
    let report = Equivalence::of(CASSETTE)
        .assert_between(
            target("legacy", LegacyAccounts::new()),
            target("new", NewAccounts::new()),
        )
        .await;
    assert_eq!(report.verdict, Verdict::Equivalent);
    assert_eq!(report.totals.total, 35);
    assert_eq!(report.totals.equal, 35);
    assert_eq!(report.operations["withdraw"].requests.total, 8);
    assert_every_state_checked(&report);
}

#[tokio::test]
async fn the_recording_stands_in_for_the_legacy() {
    let report = Equivalence::of(CASSETTE)
        .assert_between(Arc::new(Recorded::new()), target("new", NewAccounts::new()))
        .await;
    assert_eq!(report.totals.equal, 35);
    assert_every_state_checked(&report);
}

#[tokio::test]
async fn the_planted_defect_is_divergent_on_the_refused_withdrawals() {
    // `between` returns the report whatever it says; `assert_between` would panic here.
    let report = Equivalence::of(CASSETTE)
        .between(
            target("legacy", LegacyAccounts::new()),
            target("defective", NewAccounts::with_planted_defect()),
        )
        .await;
    assert_eq!(report.verdict, Verdict::Divergent);
    // The three withdrawals the legacy refuses (seq 8, 23 and 27) are accepted: an error
    // against a value each, and a stored balance that differs.
    let withdraw = &report.operations["withdraw"];
    assert_eq!(withdraw.classes.get(&Class::Error), Some(&3));
    assert!(withdraw.classes.contains_key(&Class::State));
    // The first divergence of the cassette is the first of them; what follows on the
    // overdrawn accounts differs too (their later balances, a close refused, a reopen).
    let first = report
        .examples
        .iter()
        .min_by_key(|e| e.seq)
        .expect("examples of the divergences");
    assert_eq!(
        (first.seq, first.op.as_str(), first.divergence.class),
        (8, "withdraw", Class::Error)
    );
    assert_eq!(first.key.as_deref(), Some("a2"));
    assert_every_state_checked(&report);
}
