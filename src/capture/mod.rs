//! Stage 0: capturing cassettes from a running service. `redact.rs` removes personal data
//! and secrets from requests before anything is written.

pub mod redact;
