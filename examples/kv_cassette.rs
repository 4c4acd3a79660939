//! Writes a synthetic `kv` cassette with recorded outcomes and states.
//!
//! Usage: `cargo run --release --example kv_cassette -- OUT.jsonl[.gz] REQUESTS KEYS [SEED [SCAN_EVERY]]`

use cutover::cassette::{Header, Writer};
use cutover::kv::memory::Workload;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, requests, keys, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: kv_cassette OUT.jsonl[.gz] REQUESTS KEYS [SEED [SCAN_EVERY]]");
    };
    let seed = rest.first().map_or(Ok(1), |s| s.parse())?;
    let scan_every = rest.get(1).map_or(Ok(1000), |s| s.parse())?;
    let mut header = Header::new("kv");
    header.meta.insert(
        "generator".into(),
        format!("kv_cassette seed {seed}").into(),
    );
    let mut writer = Writer::create(out, &header)?;
    for request in Workload::new(requests.parse()?, keys.parse()?, seed).scan_every(scan_every) {
        writer.write(&request)?;
    }
    writer.finish()?;
    Ok(())
}
