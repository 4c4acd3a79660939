//! How a declared error is provoked: the `errors` table's values (`"absent key"`,
//! `"repeat"`, `"invalid priority"`, ...).

use std::fmt;

/// How a probe provokes a declared error kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Provoke {
    /// The operation on a key nothing is stored at.
    AbsentKey,
    /// The operation on a key that holds an aggregate.
    ExistingKey,
    /// The same write again on the same key, after it succeeded.
    Repeat,
    /// An `id` argument naming nothing stored.
    Absent(String),
    /// A value outside the argument's `enum`, or of another type.
    Invalid(String),
    /// Empty text.
    Empty(String),
    /// `-1`.
    Negative(String),
}

impl Provoke {
    /// Parses a `how`; `Ok(None)` for `""` (not provoked).
    pub fn parse(how: &str) -> Result<Option<Provoke>, String> {
        let how = how.trim();
        Ok(Some(match how {
            "" => return Ok(None),
            "absent key" => Provoke::AbsentKey,
            "existing key" => Provoke::ExistingKey,
            "repeat" => Provoke::Repeat,
            _ => match how.split_once(' ') {
                Some(("absent", arg)) => Provoke::Absent(arg.trim().into()),
                Some(("invalid", arg)) => Provoke::Invalid(arg.trim().into()),
                Some(("empty", arg)) => Provoke::Empty(arg.trim().into()),
                Some(("negative", arg)) => Provoke::Negative(arg.trim().into()),
                _ => {
                    return Err(format!(
                        "unknown way to provoke an error `{how}`; expected \"absent key\", \
                         \"existing key\", \"repeat\", \"absent ARG\", \"invalid ARG\", \
                         \"empty ARG\", \"negative ARG\" or \"\""
                    ))
                }
            },
        }))
    }

    /// The argument it changes, if any.
    pub fn arg(&self) -> Option<&str> {
        match self {
            Provoke::Absent(a) | Provoke::Invalid(a) | Provoke::Empty(a) | Provoke::Negative(a) => {
                Some(a)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Provoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provoke::AbsentKey => f.write_str("absent key"),
            Provoke::ExistingKey => f.write_str("existing key"),
            Provoke::Repeat => f.write_str("repeat"),
            Provoke::Absent(a) => write!(f, "absent {a}"),
            Provoke::Invalid(a) => write!(f, "invalid {a}"),
            Provoke::Empty(a) => write!(f, "empty {a}"),
            Provoke::Negative(a) => write!(f, "negative {a}"),
        }
    }
}
