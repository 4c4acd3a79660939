//! The checks a declaration passes before any stage reads it: every name it refers to
//! exists and every member fits its operation.

use super::{Argument, Class, Declaration, KeyMode, Operation, Provoke, Type, VERSION};
use crate::cassette::Kind;
use crate::coverage::Group;
use std::collections::BTreeSet;

/// A failed check: the operation it is about (for its line), and what is wrong.
type Failure = (Option<String>, String);

impl Declaration {
    /// Checks the whole declaration.
    pub(super) fn check(&self) -> Result<(), Failure> {
        if self.domain.trim().is_empty() {
            return Err((
                None,
                "`domain` is empty; expected the cassettes' domain".into(),
            ));
        }
        if self.version != VERSION {
            return Err((
                None,
                format!("`version = {}`; expected {VERSION}", self.version),
            ));
        }
        for name in &self.stored {
            feature(name).map_err(|e| (None, format!("stored: {e}")))?;
        }
        let mut seen = BTreeSet::new();
        for op in &self.ops {
            if !seen.insert(op.name.as_str()) {
                return Err((
                    Some(op.name.clone()),
                    format!("operation `{}` is declared twice", op.name),
                ));
            }
            op.check()
                .map_err(|what| (Some(op.name.clone()), format!("op `{}`: {what}", op.name)))?;
        }
        Ok(())
    }
}

impl Operation {
    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        match (self.key, &self.generated_key) {
            (KeyMode::Generated, None) => {
                return Err(
                    "`key = \"generated\"` needs `generated_key`: the answer member \
                            holding the new key"
                        .into(),
                )
            }
            (KeyMode::Generated, Some(_)) if self.kind == Kind::Read => {
                return Err("a read cannot generate a key".into())
            }
            (KeyMode::Keyed | KeyMode::Keyless, Some(_)) => {
                return Err("`generated_key` is only for `key = \"generated\"`".into())
            }
            _ => {}
        }
        if let Some(example) = &self.example {
            if !example.is_object() {
                return Err("`example` must be a table of arguments".into());
            }
        }
        for (name, arg) in &self.args {
            arg.check().map_err(|e| format!("argument `{name}`: {e}"))?;
        }
        for (name, arg) in &self.answer {
            arg.check().map_err(|e| format!("answer `{name}`: {e}"))?;
        }
        for (kind, how) in &self.errors {
            if let Some(how) = Provoke::parse(how).map_err(|e| format!("errors.{kind}: {e}"))? {
                self.check_provoke(&how)
                    .map_err(|e| format!("errors.{kind} = \"{how}\": {e}"))?;
            }
        }
        if let Some(list) = &self.list {
            if list.order.iter().any(|k| k.by.trim().is_empty()) {
                return Err("list.order: an entry has an empty `by`".into());
            }
        }
        for name in &self.features {
            feature(name)?;
        }
        Ok(())
    }

    fn check_provoke(&self, how: &Provoke) -> Result<(), String> {
        let keyed = self.key == KeyMode::Keyed;
        match how {
            Provoke::AbsentKey | Provoke::ExistingKey if !keyed => {
                Err("only a keyed operation has a key to provoke with".into())
            }
            Provoke::Repeat if !(keyed && self.kind == Kind::Write) => {
                Err("only a keyed write can be repeated".into())
            }
            _ => match how.arg() {
                None => Ok(()),
                Some(name) => {
                    let Some(arg) = self.args.get(name) else {
                        return Err(format!("no argument `{name}` is declared"));
                    };
                    match how {
                        Provoke::Absent(_) if arg.class != Some(Class::Id) => {
                            Err(format!("`{name}` is not of class `id`"))
                        }
                        Provoke::Empty(_) if !matches!(arg.ty, Type::String | Type::Any) => {
                            Err(format!("`{name}` is not text"))
                        }
                        Provoke::Negative(_)
                            if !matches!(arg.ty, Type::Integer | Type::Number | Type::Any) =>
                        {
                            Err(format!("`{name}` is not a number"))
                        }
                        _ => Ok(()),
                    }
                }
            },
        }
    }
}

impl Argument {
    fn check(&self) -> Result<(), String> {
        let bound = matches!(self.class, Some(Class::LowerBound | Class::UpperBound));
        match self.class {
            Some(Class::Enum) if self.values.is_empty() => {
                return Err("class `enum` needs `values`".into())
            }
            Some(c) if c != Class::Enum && !self.values.is_empty() => {
                return Err("`values` is only for class `enum`".into())
            }
            None if !self.values.is_empty() => {
                return Err("`values` is only for class `enum`".into())
            }
            _ => {}
        }
        if bound && self.field.is_none() {
            return Err("a bound needs `field`: the member it bounds".into());
        }
        if !bound && (self.field.is_some() || self.inclusive.is_some()) {
            return Err("`field` and `inclusive` are only for a bound".into());
        }
        if bound && !matches!(self.ty, Type::Integer | Type::Number | Type::Timestamp) {
            return Err("a bound's type must be `integer`, `number` or `timestamp`".into());
        }
        let text = matches!(self.class, Some(Class::FreeText | Class::SearchText));
        if text && !matches!(self.ty, Type::String | Type::Any) {
            return Err("a text class needs `type = \"string\"`".into());
        }
        if (self.min.is_some() || self.max.is_some())
            && !matches!(self.ty, Type::Integer | Type::Number)
        {
            return Err("`min` and `max` are only for `integer` and `number`".into());
        }
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                return Err(format!("`min = {min}` is above `max = {max}`"));
            }
        }
        let count = matches!(self.class, Some(Class::Limit | Class::Offset));
        if count && !matches!(self.ty, Type::Integer | Type::Any) {
            return Err("a limit or offset needs `type = \"integer\"`".into());
        }
        Ok(())
    }
}

/// Parses a feature named `"GROUP: NAME"` (group `argument` or `data`).
pub(super) fn feature(text: &str) -> Result<(Group, String), String> {
    let (group, name) = text
        .split_once(':')
        .map(|(g, n)| (g.trim(), n.trim()))
        .unwrap_or(("", ""));
    let group = match group {
        "argument" => Group::Argument,
        "data" => Group::Data,
        _ => {
            return Err(format!(
                "feature `{text}`: expected \"argument: NAME\" or \"data: NAME\""
            ))
        }
    };
    if name.is_empty() {
        return Err(format!("feature `{text}` has no name"));
    }
    Ok((group, name.to_string()))
}
