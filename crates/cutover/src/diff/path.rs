//! JSONPath of the value being compared, built as the diff descends.

use std::fmt::Write;

/// One step from a value to a child.
#[derive(Debug, Clone)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps from the root (`$`) to the current value.
#[derive(Debug, Default)]
pub(crate) struct PathStack<'a> {
    steps: Vec<Step<'a>>,
}

impl<'a> PathStack<'a> {
    pub fn push(&mut self, step: Step<'a>) {
        self.steps.push(step);
    }

    pub(crate) fn pop(&mut self) {
        self.steps.pop();
    }

    /// The normalized JSONPath (`$.name`, `$['odd key']`, `$[3]`), with one more
    /// step if `last` is given, without changing the buffer.
    pub(crate) fn render_with(&self, last: Option<Step<'_>>) -> String {
        let mut out = String::from("$");
        for step in self.steps.iter().chain(last.as_ref()) {
            match step {
                Step::Key(k) => push_key(&mut out, k),
                Step::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }
}

/// Appends `.key`, or `['key']` where the key is not an identifier.
fn push_key(out: &mut String, key: &str) {
    if is_identifier(key) {
        out.push('.');
        out.push_str(key);
        return;
    }
    out.push_str("['");
    for c in key.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push_str("']");
}

/// An owned JSONPath built step by step, rendered like the diff's paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(String);

impl Default for JsonPath {
    fn default() -> Self {
        JsonPath("$".into())
    }
}

impl JsonPath {
    /// Appends a step into the object key `key`: `.key`, or `['key']` where it is not an
    /// identifier.
    pub fn key(&mut self, key: &str) {
        push_key(&mut self.0, key);
    }

    /// Appends a step into the array element at `index` (`[index]`).
    pub fn index(&mut self, index: usize) {
        let _ = write!(self.0, "[{index}]");
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The path pattern of a divergence's path: array indices (and slices) as `[*]`, quoted
/// keys as they are. The one pattern that results, suggested rules, reports, noise, the
/// gate's accepted differences and shrinking all use.
pub fn pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                out.push(c);
                out.extend(chars.next());
            }
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '[' if !quoted && chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                while chars.next().is_some_and(|d| d != ']') {}
                out.push_str("[*]");
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_names_and_brackets() {
        let mut p = PathStack::default();
        p.push(Step::Key("messages"));
        p.push(Step::Index(3));
        p.push(Step::Key("read by"));
        assert_eq!(p.render_with(None), "$.messages[3]['read by']");
        p.pop();
        assert_eq!(p.render_with(Some(Step::Index(2))), "$.messages[3][2]");
        let mut q = PathStack::default();
        q.push(Step::Key("it's"));
        assert_eq!(q.render_with(None), r"$['it\'s']");
    }

    #[test]
    fn indices_and_slices_generalize() {
        assert_eq!(
            pattern("$.messages[12].read_by[0:2]"),
            "$.messages[*].read_by[*]"
        );
        assert_eq!(pattern("$['a[1]'][3]"), "$['a[1]'][*]");
    }
}
