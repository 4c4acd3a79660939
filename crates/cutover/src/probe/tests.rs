use super::*;
use crate::cassette::{ErrorKind, Outcome};
use crate::kv::memory::{Memory, Workload};
use crate::targets::Target;

fn derive(domain: &str, requests: &[Request]) -> Result<Vec<Request>, ProbeError> {
    Ok(super::derive(
        crate::Registry::builtin().prober(domain)?,
        requests,
    ))
}

#[test]
fn an_unknown_domain_is_an_error_naming_it() {
    let error = crate::Registry::builtin().prober("ledger").err().unwrap();
    assert!(error.to_string().contains("`ledger`"), "{error}");
}

#[test]
fn probes_are_derived_from_recorded_requests_only() {
    assert!(derive("kv", &[]).unwrap().is_empty());
    let recorded: Vec<Request> = Workload::new(50, 5, 1).collect();
    let probes = derive("kv", &recorded).unwrap();
    let mut all = recorded.clone();
    all.extend(probes.iter().cloned());
    // Probes observed again move seq and at on, and derive nothing themselves.
    let again = derive("kv", &all).unwrap();
    assert_eq!(again.len(), probes.len());
    assert_eq!(again[0].seq, probes.last().unwrap().seq + 1);
}

#[tokio::test]
async fn kv_probes_read_absent_keys_and_their_writes_fail_on_the_store() {
    let recorded: Vec<Request> = Workload::new(300, 20, 7).scan_every(40).collect();
    let probes = derive("kv", &recorded).unwrap();
    assert_eq!(probes, derive("kv", &recorded).unwrap());
    crate::testing::assert_probes_placed(&recorded, &probes);
    // Bounded by the declaration, not the traffic: 3 sampled scans, 3 keys' sequences.
    assert!(
        probes.len() <= 100,
        "{} probes (docs/src/probes.md)",
        probes.len()
    );
    assert!(probes.iter().all(|p| (p.op == "scan") == p.key.is_none()));
    // On the store the recording came from, every error-path write fails as it says, and
    // changes nothing.
    let store = Memory::new();
    for r in &recorded {
        store.execute(r).await.unwrap();
    }
    let error_paths = probes.iter().filter(|p| {
        p.probe
            .as_deref()
            .is_some_and(|w| w.starts_with("error path:"))
    });
    assert!(error_paths.clone().count() >= 3);
    for p in error_paths {
        let key = p.key.as_deref().unwrap();
        let before = store.dump(key).await.unwrap();
        let outcome = store.execute(p).await.unwrap();
        let why = p.probe.as_deref().unwrap();
        let expected = if why.ends_with("(conflict)") {
            ErrorKind::Conflict
        } else {
            ErrorKind::NotFound
        };
        assert!(
            matches!(&outcome, Outcome::Error(e) if e.kind == expected),
            "{why}: {outcome:?}"
        );
        assert_eq!(store.dump(key).await.unwrap(), before, "{why}");
    }
    let scans: Vec<&Request> = probes.iter().filter(|p| p.op == "scan").collect();
    assert!(scans.iter().any(|p| p.args["limit"] == 0));
}
