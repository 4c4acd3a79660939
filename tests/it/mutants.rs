//! The README's demo as a test, for mutation testing (`scripts/mutants.sh`): each mutant of
//! the PostgreSQL repository is caught when the demo replay (recorded traffic and probes, on
//! real servers) is no longer EQUIVALENT. `cargo test` does not run it (CI runs the demo
//! itself); `cargo test --test it -- --ignored mutants::` does.

use crate::util::cutover;

#[test]
#[ignore = "the demo as the mutation test: run by scripts/mutants.sh"]
fn the_demo_replay_with_probes_is_equivalent() {
    let dir = tempfile::tempdir().unwrap();
    let done = cutover()
        .args(["demo", "--no-races", "--out"])
        .arg(dir.path())
        .output()
        .expect("cutover runs");
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
}
