//! What the `cutover` command line wires together, shared by the binary (`src/main.rs`,
//! `src/cli/`) and its tests: [`registry`], every domain and target spec of the workspace.

#![warn(missing_docs)]

use cutover::Registry;

/// Every domain and target spec of the workspace: the core's (`kv`; `memory`, `recorded`,
/// `exec:`, `http:`), the reference domain's (`conversations`; `conversations-mongodb:`,
/// `conversations-postgres:`) and the declared targets' (`sql:`, `mongodb:`).
pub fn registry() -> Registry {
    Registry::builtin()
        .with_domain(cutover_conversations::domain())
        .with_opener(cutover_conversations::Specs)
        .with_opener(cutover_declared::Specs)
}
