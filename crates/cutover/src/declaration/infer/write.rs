//! The draft's TOML: the layout of `docs/src/domain.md` (one `[[op]]` table per operation,
//! arguments as inline tables under `[op.args]`), with the draft's comments above what they
//! are about. Written by hand, not serialized, so the comments sit where they belong.

use super::{Note, OpNotes};
use crate::declaration::{Argument, Class, Declaration, Direction, KeyMode, Nulls, SortKey, Type};
use serde_json::{Map, Number, Value};
use std::fmt::Write;

/// The whole draft.
pub(super) fn render(header: &[Note], declaration: &Declaration, notes: &[OpNotes]) -> String {
    let mut out = String::new();
    out.push_str(
        "# A draft domain declaration, inferred by `cutover domain infer` from recorded traffic.\n\
         # It claims only what the traffic showed. Review every `# guess:` (each says what it\n\
         # rests on) and every `# not declared:`, then delete the comments.\n",
    );
    comments(&mut out, header);
    let _ = writeln!(out, "domain = {}", quote(&declaration.domain));
    let _ = writeln!(out, "version = {}", declaration.version);
    for (op, notes) in declaration.ops.iter().zip(notes) {
        out.push_str("\n[[op]]\n");
        comments(&mut out, &notes.op);
        let _ = writeln!(out, "name = {}", quote(&op.name));
        let _ = writeln!(out, "kind = \"{}\"", op.kind.as_str());
        comments(&mut out, &notes.key);
        let _ = writeln!(out, "key = \"{}\"", key_mode(op.key));
        if let Some(generated) = &op.generated_key {
            let _ = writeln!(out, "generated_key = {}", quote(generated));
        }
        comments(&mut out, &notes.example);
        if let Some(example) = op.example.as_ref().and_then(value) {
            let _ = writeln!(out, "example = {example}");
        }
        if !op.args.is_empty() {
            out.push_str("\n[op.args]\n");
            for (name, arg) in &op.args {
                comments(
                    &mut out,
                    notes.args.get(name).map_or(&[][..], Vec::as_slice),
                );
                let _ = writeln!(out, "{} = {}", key(name), argument(arg));
            }
        }
        if !op.errors.is_empty() {
            out.push_str("\n[op.errors]\n");
            for (kind, how) in &op.errors {
                comments(
                    &mut out,
                    notes.errors.get(kind).map_or(&[][..], Vec::as_slice),
                );
                let _ = writeln!(out, "{kind} = {}", quote(how));
            }
        }
        if !op.answer.is_empty() {
            out.push_str("\n[op.answer]\n");
            for (name, arg) in &op.answer {
                comments(
                    &mut out,
                    notes.answer.get(name).map_or(&[][..], Vec::as_slice),
                );
                let _ = writeln!(out, "{} = {}", key(name), argument(arg));
            }
        }
        if let Some(list) = &op.list {
            out.push_str("\n[op.list]\n");
            comments(&mut out, &notes.list);
            comments(&mut out, &notes.list_key);
            if let Some(k) = &list.key {
                let _ = writeln!(out, "key = {}", quote(k));
            }
            comments(&mut out, &notes.order);
            if !list.order.is_empty() {
                let _ = writeln!(out, "order = {}", order(&list.order));
            }
        }
    }
    out
}

/// Each note as one comment line.
fn comments(out: &mut String, notes: &[Note]) {
    for note in notes {
        let (tag, text) = match note {
            Note::Seen(t) => ("seen", t),
            Note::Guess(t) => ("guess", t),
            Note::Not(t) => ("not declared", t),
        };
        let text: String = text
            .chars()
            .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
            .collect();
        let _ = writeln!(out, "# {tag}: {text}");
    }
}

fn key_mode(mode: KeyMode) -> &'static str {
    match mode {
        KeyMode::Keyed => "keyed",
        KeyMode::Keyless => "keyless",
        KeyMode::Generated => "generated",
    }
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::String => "string",
        Type::Integer => "integer",
        Type::Number => "number",
        Type::Boolean => "boolean",
        Type::Timestamp => "timestamp",
        Type::Object => "object",
        Type::Array => "array",
        Type::Any => "any",
    }
}

fn class_name(class: Class) -> &'static str {
    match class {
        Class::Id => "id",
        Class::FreeText => "free_text",
        Class::SearchText => "search_text",
        Class::Enum => "enum",
        Class::LowerBound => "lower_bound",
        Class::UpperBound => "upper_bound",
        Class::Limit => "limit",
        Class::Offset => "offset",
    }
}

/// `asc` or `desc`.
pub(super) fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => "asc",
        Direction::Desc => "desc",
    }
}

/// An argument as an inline table.
fn argument(arg: &Argument) -> String {
    let mut parts = vec![format!("type = \"{}\"", type_name(arg.ty))];
    if let Some(class) = arg.class {
        parts.push(format!("class = \"{}\"", class_name(class)));
    }
    if !arg.values.is_empty() {
        let values: Vec<String> = arg.values.iter().filter_map(value).collect();
        parts.push(format!("values = [{}]", values.join(", ")));
    }
    if let Some(field) = &arg.field {
        parts.push(format!("field = {}", quote(field)));
    }
    if let Some(inclusive) = arg.inclusive {
        parts.push(format!("inclusive = {inclusive}"));
    }
    if arg.optional {
        parts.push("optional = true".into());
    }
    format!("{{ {} }}", parts.join(", "))
}

/// An order as an array of inline tables.
pub(super) fn order(order: &[SortKey]) -> String {
    let keys: Vec<String> = order
        .iter()
        .map(|k| {
            let mut parts = vec![format!("by = {}", quote(&k.by))];
            if k.direction == Direction::Desc {
                parts.push("direction = \"desc\"".into());
            }
            match k.nulls {
                Some(Nulls::First) => parts.push("nulls = \"first\"".into()),
                Some(Nulls::Last) => parts.push("nulls = \"last\"".into()),
                None => {}
            }
            format!("{{ {} }}", parts.join(", "))
        })
        .collect();
    format!("[{}]", keys.join(", "))
}

/// A TOML basic string.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key: bare when TOML allows it, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match bare {
        true => name.to_string(),
        false => quote(name),
    }
}

/// `value` as TOML reads it back (integers as 64-bit integers, other numbers as floats),
/// or `None` when TOML cannot hold it (a null, an integer beyond 64 bits).
pub(super) fn tomlable(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) | Value::String(_) => value.clone(),
        Value::Number(n) if n.is_i64() => Value::Number(n.as_i64()?.into()),
        Value::Number(n) if n.is_u64() => return None,
        Value::Number(n) => {
            let f = n.as_f64().filter(|f| f.is_finite())?;
            // An integer text too large for 64 bits is not a float either.
            if !n.to_string().contains(['.', 'e', 'E']) {
                return None;
            }
            Value::Number(Number::from_f64(f)?)
        }
        Value::Array(items) => Value::Array(items.iter().map(tomlable).collect::<Option<_>>()?),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), tomlable(v)?);
            }
            Value::Object(out)
        }
    })
}

/// A value as inline TOML, `None` when TOML cannot hold it.
fn value(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => {
                let f = n.as_f64().filter(|f| f.is_finite())?;
                format!("{f:?}")
            }
        },
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(value).collect::<Option<_>>()?;
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| Some(format!("{} = {}", key(k), value(v)?)))
                .collect::<Option<_>>()?;
            format!("{{ {} }}", members.join(", "))
        }
    })
}
