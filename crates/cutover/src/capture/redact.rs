//! Redaction before anything reaches disk: rules by JSONPath on a request's arguments and on
//! its outcome (and stored state): `drop` the value, `mask` it, or `hash` it with a keyed
//! hash (HMAC-SHA-256), so that equal values stay equal and requests still join on them
//! while the value itself cannot be read back or guessed without the key.
//!
//! ```toml
//! key_env = "CUTOVER_REDACTION_KEY"   # the HMAC key comes from this variable, never a file
//!
//! [[redact]]
//! path = "$..email"
//! action = "hash"                     # drop | mask | hash
//! on = "both"                         # args | outcome | both (outcome includes the state)
//! ```
//!
//! The key is held as a [`Secret`]: its `Debug` shows nothing, and no error or description
//! carries it.

use crate::cassette::{Outcome, Request};
use crate::located::{Located, Source};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;
use sha2::Sha256;
use std::fmt;
use std::path::Path;

/// What a redaction does to a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Removes the value from its object or array.
    Drop,
    /// Replaces the value with the string [`MASK`].
    Mask,
    /// Replaces the value with `hmac:` and 32 hex digits of its keyed HMAC-SHA-256, so
    /// equal values stay equal.
    Hash,
}

/// Where a redaction applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum On {
    /// The request's arguments only.
    Args,
    /// The answer (a successful outcome) and the recorded state only.
    Outcome,
    /// Arguments, answer and state (the default).
    #[default]
    Both,
}

/// The masked value's text.
pub const MASK: &str = "***";

/// Key material that never shows.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps key material.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// A redaction file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The file (named by the string) could not be read.
    #[error("redactions {0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The file is not a valid redaction file; the error carries the place and the reason.
    #[error("redactions {0}")]
    Invalid(#[from] Located),
    /// A `hash` rule is declared but the key's environment variable is not set.
    #[error("redactions {file}: `hash` needs a key: set the environment variable {var}")]
    NoKey {
        /// The redaction file.
        file: String,
        /// The environment variable that should hold the key (`key_env`, by default
        /// `CUTOVER_REDACTION_KEY`).
        var: String,
    },
}

#[derive(Debug)]
struct Rule {
    path_text: String,
    path: JsonPath,
    action: Action,
    on: On,
}

/// Compiled redactions with their key.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    key: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    key_env: Option<String>,
    #[serde(default)]
    redact: Vec<toml::Spanned<Spec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    path: String,
    action: Action,
    #[serde(default)]
    on: On,
}

impl Redactor {
    /// Reads a redaction file; the HMAC key comes from the variable its `key_env` names.
    pub fn load(path: impl AsRef<Path>) -> Result<Redactor, RedactError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RedactError::Io(name.clone(), e))?;
        Redactor::parse(&text, &name, |var| {
            std::env::var_os(var).map(|v| Secret::new(v.into_encoded_bytes()))
        })
    }

    /// Parses redactions; `key` looks up the variable `key_env` names.
    pub fn parse(
        text: &str,
        name: &str,
        key: impl Fn(&str) -> Option<Secret>,
    ) -> Result<Redactor, RedactError> {
        let source = Source { text, name };
        let at = |offset: usize, what: String| RedactError::from(source.at(offset, what));
        let file: File = source.toml()?;
        let mut rules = Vec::new();
        for spanned in file.redact {
            let start = spanned.span().start;
            let spec = spanned.into_inner();
            let path = JsonPath::parse(&spec.path).map_err(|e| {
                at(
                    start,
                    format!("`{}` is not a JSONPath: {}", spec.path, e.message()),
                )
            })?;
            rules.push(Rule {
                path_text: spec.path,
                path,
                action: spec.action,
                on: spec.on,
            });
        }
        let var = file
            .key_env
            .unwrap_or_else(|| "CUTOVER_REDACTION_KEY".to_string());
        let key = key(&var);
        if key.is_none() && rules.iter().any(|r| r.action == Action::Hash) {
            return Err(RedactError::NoKey {
                file: name.to_string(),
                var,
            });
        }
        Ok(Redactor { rules, key })
    }

    /// What the redactions are, for a cassette's header: paths and actions, never the key.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| {
                let on = match r.on {
                    On::Args => "args",
                    On::Outcome => "outcome",
                    On::Both => "args and outcome",
                };
                let action = match r.action {
                    Action::Drop => "drop",
                    Action::Mask => "mask",
                    Action::Hash => "hash (HMAC-SHA-256)",
                };
                format!("{action} {} in {on}", r.path_text)
            })
            .collect()
    }

    /// Redacts a request in place; returns how many values it changed. Every rule, of the
    /// arguments or of the outcome, also applies to each recorded event's payload: an event
    /// carries what the request and the store hold.
    pub fn apply(&self, request: &mut Request) -> u64 {
        let mut n = 0;
        for rule in &self.rules {
            for event in request.events.iter_mut().flatten() {
                n += self.edit(rule, &mut event.payload);
            }
            if matches!(rule.on, On::Args | On::Both) {
                n += self.edit(rule, &mut request.args);
            }
            if matches!(rule.on, On::Outcome | On::Both) {
                if let Some(Outcome::Ok(value)) = &mut request.outcome {
                    n += self.edit(rule, value);
                }
                if let Some(state) = &mut request.state {
                    n += self.edit(rule, state);
                }
            }
        }
        n
    }

    /// Redacts an answer as the outcome rules say, and empties an error's message (free
    /// text that may quote the data; errors compare by kind). Returns how many values it
    /// changed.
    pub fn outcome(&self, outcome: &mut Outcome) -> u64 {
        match outcome {
            Outcome::Ok(value) => self
                .rules
                .iter()
                .filter(|r| matches!(r.on, On::Outcome | On::Both))
                .map(|rule| self.edit(rule, value))
                .sum(),
            Outcome::Error(error) => u64::from(!std::mem::take(&mut error.message).is_empty()),
        }
    }

    fn edit(&self, rule: &Rule, value: &mut Value) -> u64 {
        let mut pointers: Vec<String> = rule
            .path
            .query_located(value)
            .iter()
            .map(|node| node.location().to_json_pointer())
            .collect();
        // Last in document order first, so that removing an element leaves the places of
        // those before it.
        pointers.reverse();
        let mut n = 0;
        for pointer in pointers {
            match rule.action {
                Action::Drop => n += u64::from(remove(value, &pointer)),
                Action::Mask => {
                    if let Some(v) = value.pointer_mut(&pointer) {
                        *v = Value::String(MASK.into());
                        n += 1;
                    }
                }
                Action::Hash => {
                    if let Some(v) = value.pointer_mut(&pointer) {
                        *v = Value::String(self.hash(v));
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// `hmac:` and the first 16 bytes (hex) of the HMAC-SHA-256 of the value's JSON text
    /// (a string's text without quotes).
    fn hash(&self, value: &Value) -> String {
        let key = self
            .key
            .as_ref()
            .expect("a hash rule has a key (checked when parsed)");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
        match value {
            Value::String(s) => mac.update(s.as_bytes()),
            other => mac.update(other.to_string().as_bytes()),
        }
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("hmac:{hex}")
    }
}

/// Removes the value at a JSON pointer from its parent.
fn remove(value: &mut Value, pointer: &str) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => map.shift_remove(&last).is_some(),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}
