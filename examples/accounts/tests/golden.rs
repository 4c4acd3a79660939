//! The golden master `snapshots/accounts-golden.snap`: the legacy's outcomes and stored
//! states on the cassette, as an insta snapshot, recorded once with the legacy
//! (`INSTA_UPDATE=always cargo test -p accounts --test golden`); the new version is
//! checked against it without the legacy.

mod common;

use accounts::{LegacyAccounts, NewAccounts};
use common::{target, CASSETTE};
use cutover::GoldenMaster;
use std::path::{Path, PathBuf};

fn golden(dir: &Path) -> GoldenMaster {
    GoldenMaster::new("accounts-golden", dir).cassette(CASSETTE)
}

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots")
}

#[tokio::test]
async fn the_golden_master_is_the_legacy_behaviour() {
    let legacy = target("legacy", LegacyAccounts::new());
    let report = golden(&snapshots()).assert_matches(legacy.as_ref()).await;
    assert_eq!(report.totals.equal, 35);
}

#[tokio::test]
async fn the_new_version_matches_the_golden_master() {
    let new = target("new", NewAccounts::new());
    let report = golden(&snapshots()).assert_matches(new.as_ref()).await;
    assert_eq!(report.totals.equal, 35);
}

#[tokio::test]
#[should_panic(expected = "requests differ")]
async fn the_planted_defect_fails_the_golden_master() {
    // A copy of the snapshot, so that insta's `.snap.new` lands outside the crate.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("accounts-golden");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        snapshots().join("accounts-golden.snap"),
        dir.join("accounts-golden.snap"),
    )
    .unwrap();
    let defective = target("defective", NewAccounts::with_planted_defect());
    golden(&dir).assert_matches(defective.as_ref()).await;
}
