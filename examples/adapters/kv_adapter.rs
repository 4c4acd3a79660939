//! A `kv` adapter in Rust, built on the library: the in-process `memory` store served over
//! the target protocol (`docs/src/protocol.md`) on stdin and stdout, so that `exec:` can be
//! measured against the same store in process, and a Rust repository can be driven the
//! way an adapter in any language is.
//!
//! ```bash
//! cargo build --release --example kv_adapter
//! cutover replay fixtures/kv-demo.jsonl --out /tmp/kv --legacy recorded \
//!   --candidate 'exec:target/release/examples/kv_adapter'
//! ```
//!
//! It declares `supports.events`: every answer carries the events the memory store
//! published.
//!
//! `KV_DEFECT=scan-order` plants a defect: scans answer their items in reverse order.

use async_trait::async_trait;
use cutover::cassette::{Outcome, Request};
use cutover::kv::memory::Memory;
use cutover::targets::protocol::serve;
use cutover::targets::{Dumped, Executed, InfraError, Target};
use serde_json::Value;
use std::sync::Arc;

/// Answers allocate and free many small values, as the `cutover` command does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The memory store, named for reports, its scans reversed when the defect is planted.
struct KvRust {
    store: Memory,
    reversed_scans: bool,
}

#[async_trait]
impl Target for KvRust {
    fn name(&self) -> &str {
        "kv-rust"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.store.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        self.execute_events(request).await.map(|e| e.outcome)
    }

    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let mut executed = self.store.execute_events(request).await?;
        if let (Outcome::Ok(Value::Array(items)), "scan", true) = (
            &mut executed.outcome,
            request.op.as_str(),
            self.reversed_scans,
        ) {
            items.reverse();
        }
        Ok(executed)
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.store.dump(key).await
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        self.store.keys(after, limit).await
    }

    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        self.store.dump_batch(keys).await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let reversed_scans = match std::env::var("KV_DEFECT").as_deref() {
        Ok("scan-order") => true,
        Ok(other) if !other.is_empty() => {
            eprintln!("unknown KV_DEFECT `{other}`; expected scan-order");
            std::process::exit(2);
        }
        _ => false,
    };
    let store = Memory::new();
    serve::stdio_reporting_events(
        Arc::new(KvRust {
            store,
            reversed_scans,
        }),
        "kv",
    )
    .await
}
