//! The text after `exec:`, split as a POSIX shell would: options, then `NAME=VALUE`
//! environment words, then the program and its arguments.

use crate::targets::parse_duration;
use crate::targets::protocol::AdapterError;
use std::path::PathBuf;
use std::time::Duration;

/// The parsed text after `exec:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The program to start.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Set in its environment (which is otherwise cutover's).
    pub env: Vec<(String, String)>,
    /// Its working directory.
    pub cwd: Option<PathBuf>,
    /// The longest a call waits for its answer.
    pub timeout: Duration,
    /// How many times a dead adapter is started again.
    pub restarts: u32,
    /// Where its stderr goes (appended); `None`: cutover's stderr, prefixed.
    pub log: Option<PathBuf>,
    /// The command line, for messages.
    pub command: String,
}

impl ExecSpec {
    /// Parses `[--cwd DIR] [--timeout 10s] [--restarts N] [--log FILE] [NAME=VALUE ...]
    /// PROGRAM [ARG ...]`, split into words as a POSIX shell would.
    pub fn parse(text: &str) -> Result<ExecSpec, AdapterError> {
        Self::parse_text(text).map_err(AdapterError::Spec)
    }

    fn parse_text(text: &str) -> Result<ExecSpec, String> {
        let words = shell_words::split(text).map_err(|e| format!("{e}"))?;
        let mut words = words.into_iter().peekable();
        let mut spec = ExecSpec {
            program: String::new(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            timeout: Duration::from_secs(10),
            restarts: 0,
            log: None,
            command: String::new(),
        };
        while let Some(flag) = words.next_if(|w| w.starts_with("--")) {
            let value = words
                .next()
                .ok_or_else(|| format!("`{flag}` needs a value"))?;
            match flag.as_str() {
                "--cwd" => spec.cwd = Some(PathBuf::from(value)),
                "--log" => spec.log = Some(PathBuf::from(value)),
                "--timeout" => {
                    spec.timeout = parse_duration(&value)
                        .ok_or_else(|| format!("`--timeout {value}`: expected 500ms, 10s, ..."))?
                }
                "--restarts" => {
                    spec.restarts = value
                        .parse()
                        .map_err(|_| format!("`--restarts {value}`: expected a count"))?
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}`; expected --cwd, --timeout, --restarts or --log before the program"
                    ))
                }
            }
        }
        while let Some(pair) = words.next_if(|w| is_assignment(w)) {
            let (name, value) = pair.split_once('=').expect("an assignment has `=`");
            spec.env.push((name.to_string(), value.to_string()));
        }
        spec.program = words
            .next()
            .ok_or("expected a program to start, as in `exec:python3 adapter.py`")?;
        spec.args = words.collect();
        spec.command = std::iter::once(&spec.program)
            .chain(&spec.args)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        Ok(spec)
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_options_environment_and_command() {
        let spec = ExecSpec::parse(
            "--cwd examples/adapters --timeout 2s KV_DEFECT=scan-order A_1='x y' python3 kv.py --db 'a b'",
        )
        .unwrap();
        assert_eq!(spec.cwd, Some(PathBuf::from("examples/adapters")));
        assert_eq!(spec.timeout, Duration::from_secs(2));
        assert_eq!(
            spec.env,
            vec![
                ("KV_DEFECT".to_string(), "scan-order".to_string()),
                ("A_1".to_string(), "x y".to_string())
            ]
        );
        assert_eq!(spec.program, "python3");
        assert_eq!(spec.args, vec!["kv.py", "--db", "a b"]);
        assert_eq!(spec.restarts, 0);
        // An assignment after the program is an argument.
        let spec = ExecSpec::parse("node kv.js X=1").unwrap();
        assert_eq!(spec.args, vec!["kv.js", "X=1"]);
        assert!(ExecSpec::parse("")
            .unwrap_err()
            .to_string()
            .contains("expected a program"));
        assert!(ExecSpec::parse("X=1").is_err());
        assert!(ExecSpec::parse("--timeout soon node")
            .unwrap_err()
            .to_string()
            .contains("--timeout"));
        assert!(ExecSpec::parse("--verbose node")
            .unwrap_err()
            .to_string()
            .contains("unknown option"));
        assert!(ExecSpec::parse("node 'unterminated").is_err());
        assert!(ExecSpec::parse("1X=2 prog").unwrap().program == "1X=2");
    }
}
