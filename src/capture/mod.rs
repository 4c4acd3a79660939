//! Stage 0: capturing cassettes from a running service. `recorder.rs` wraps the legacy
//! repository and writes a sample of whole conversations off the caller's path;
//! `redact.rs` removes personal data and secrets from requests before anything is written.

pub mod recorder;
pub mod redact;
