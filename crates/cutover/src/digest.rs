//! Content hashes (SHA-256, hex) of the files a decision rests on, so that a report or an
//! evidence bundle says exactly which cassette, rules and policy produced it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// A file as a report records it: where it was, and what it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The file's path, as given.
    pub path: String,
    /// The SHA-256 of its bytes, 64 lowercase hex digits.
    pub sha256: String,
}

impl FileRef {
    /// Hashes the file at `path`, streaming.
    pub fn of(path: &Path) -> std::io::Result<FileRef> {
        Ok(FileRef {
            path: path.display().to_string(),
            sha256: file(path)?,
        })
    }
}

/// A key's place among `buckets` (0-based): the first 8 bytes of the key's SHA-256,
/// big-endian, modulo `buckets`. Stable across machines, versions and runs: shards
/// (`replay::shard`) and samples of keys (`capture::key_sampled`) both draw from it.
pub(crate) fn key_bucket(key: &str, buckets: u32) -> u32 {
    let digest = Sha256::digest(key.as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (head % u64::from(buckets.max(1))) as u32
}

/// The SHA-256 of `bytes`, hex.
pub fn bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a file's bytes, hex, read in blocks.
pub fn file(path: &Path) -> std::io::Result<String> {
    let mut input = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_digest_of_known_bytes() {
        assert_eq!(
            super::bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
