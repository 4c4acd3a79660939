//! Errors that say where: the file, the 1-based line and column, and what was expected
//! there. Shared by every TOML file cutover reads (rules, policy, redactions).

use serde::de::DeserializeOwned;

/// A place in a text file and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line} column {column}: {what}")]
pub struct Located {
    /// The file's name, as the [`Source`] gives it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in bytes.
    pub column: usize,
    /// What is wrong, or what was expected.
    pub what: String,
}

/// A text being parsed, and the name its errors give it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The whole text.
    pub text: &'a str,
    /// The file's name, for errors.
    pub name: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset` of the text.
    pub fn at(&self, offset: usize, what: impl Into<String>) -> Located {
        let (line, column) = line_column(self.text, offset);
        Located {
            file: self.name.to_string(),
            line,
            column,
            what: what.into(),
        }
    }

    /// The text parsed as TOML into `T`; a syntax or shape error is located.
    pub fn toml<T: DeserializeOwned>(&self) -> Result<T, Located> {
        toml::from_str(self.text).map_err(|e| self.at(e.span().map_or(0, |s| s.start), e.message()))
    }
}

/// The 1-based line and column (in bytes) of `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
