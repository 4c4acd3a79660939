//! Reading a rules file: TOML, one `[[rule]]` table per rule, errors with line and column.

use super::{mapping, Action, Precision, Rule, Rules, Side, ValueMap};
use crate::located::{Located, Source};
use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;
use std::collections::BTreeMap;
use toml::Spanned;

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file (named by the string) could not be read.
    #[error("rules {0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The file is not a valid rules file; the error carries the place and the reason.
    #[error("rules {0}")]
    Invalid(#[from] Located),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<toml::Spanned<Spec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    op: Option<String>,
    path: toml::Spanned<String>,
    on: Option<String>,
    reason: Option<String>,
    ignore: Option<bool>,
    unordered: Option<bool>,
    sorted_by: Option<Vec<String>>,
    precision: Option<Precision>,
    null_equals_missing: Option<bool>,
    tolerance: Option<toml::Spanned<toml::Value>>,
    id_map: Option<bool>,
    identity: Option<Spanned<String>>,
    side: Option<Spanned<String>>,
    rename: Option<Spanned<RenameSpec>>,
    value_map: Option<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
    null_as: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table { from = \"old name\", to = \"new name\" }"
)]
struct RenameSpec {
    from: String,
    to: String,
}

/// Parses rules text; `name` names it in errors.
pub(super) fn parse(text: &str, name: &str) -> Result<Rules, RulesError> {
    let source = Source { text, name };
    let file: File = source.toml()?;
    let rules = file
        .rule
        .into_iter()
        .map(|spanned| rule(&source, spanned))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rules {
        rules,
        ..Rules::default()
    })
}

/// One `[[rule]]`, checked in this order: its JSONPath, its one action, its `side`, its
/// `on`.
fn rule(source: &Source, spanned: Spanned<Spec>) -> Result<Rule, RulesError> {
    let text = source.text;
    let at = |offset: usize, what: String| RulesError::from(source.at(offset, what));
    let start = spanned.span().start;
    let mut spec = spanned.into_inner();
    let path_at = spec.path.span().start;
    let path = JsonPath::parse(spec.path.get_ref()).map_err(|e| {
        at(
            path_at,
            format!(
                "`{}` is not a JSONPath: {}",
                spec.path.get_ref(),
                e.message()
            ),
        )
    })?;
    let action = action(source, start, &mut spec)?;
    let side = side(source, spec.side, &action)?;
    let (outcome, state, events) = match spec.on.as_deref() {
        None | Some("both") => (true, true, false),
        Some("outcome") => (true, false, false),
        Some("state") => (false, true, false),
        Some("events") => (false, false, true),
        Some(other) => {
            return Err(at(
                start,
                format!("on = \"{other}\": expected outcome, state, events or both"),
            ))
        }
    };
    let path_text = spec.path.into_inner();
    Ok(Rule {
        op: spec.op,
        simple: super::walk::compile(&path_text),
        path_text,
        path,
        action,
        outcome,
        state,
        events,
        side,
        line: text[..start.min(text.len())].matches('\n').count() + 1,
        reason: spec.reason,
    })
}

/// The one action of the rule at `start`, taken out of `spec`: each action key it sets
/// checked in turn, then exactly one required.
fn action(source: &Source, start: usize, spec: &mut Spec) -> Result<Action, RulesError> {
    let text = source.text;
    let at = |offset: usize, what: String| RulesError::from(source.at(offset, what));
    let mut actions = Vec::new();
    if spec.ignore == Some(true) {
        actions.push(Action::Ignore);
    }
    if spec.unordered == Some(true) {
        actions.push(Action::Unordered);
    }
    if let Some(keys) = spec.sorted_by.take() {
        if keys.is_empty() {
            return Err(at(start, "sorted_by needs at least one key".into()));
        }
        if let Some(bad) = keys
            .iter()
            .find(|k| k.is_empty() || k.split('.').any(str::is_empty))
        {
            return Err(at(
                start,
                format!("sorted_by key `{bad}`: expected a member name, or names joined by dots for a nested key (`user.id`)"),
            ));
        }
        actions.push(Action::SortedBy(keys));
    }
    if let Some(p) = spec.precision.take() {
        actions.push(Action::Precision(p));
    }
    if spec.null_equals_missing == Some(true) {
        actions.push(Action::NullEqualsMissing);
    }
    if let Some(t) = spec.tolerance.take() {
        actions.push(Action::Tolerance(
            tolerance(text, t).map_err(|(at_, what)| at(at_, what))?,
        ));
    }
    if spec.id_map == Some(true) {
        actions.push(Action::IdMap);
    }
    if let Some(key) = spec.identity.take() {
        let span = key.span().start;
        let key = key.into_inner();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(at(
                span,
                format!("identity = \"{key}\": expected the name of the member that identifies each element, or names joined by dots for a nested member (`user.id`)"),
            ));
        }
        actions.push(Action::Identity(key));
    }
    if let Some(rename) = spec.rename.take() {
        let span = rename.span().start;
        let RenameSpec { from, to } = rename.into_inner();
        if from.is_empty() || to.is_empty() {
            return Err(at(
                span,
                "rename: `from` and `to` are member names, not empty".into(),
            ));
        }
        if from == to {
            return Err(at(
                span,
                format!("rename: `from` and `to` are both `{from}`"),
            ));
        }
        actions.push(Action::Rename { from, to });
    }
    if let Some(map) = spec.value_map.take() {
        actions.push(Action::ValueMap(
            value_map(text, map).map_err(|(at_, what)| at(at_, what))?,
        ));
    }
    if let Some(value) = spec.null_as.take() {
        actions.push(Action::NullAs(
            json_of(text, value, "null_as").map_err(|(at_, what)| at(at_, what))?,
        ));
    }
    match actions.len() {
        1 => Ok(actions.remove(0)),
        0 => Err(at(start, "a rule needs one action: ignore, unordered, sorted_by, precision, null_equals_missing, tolerance, id_map, identity, rename, value_map or null_as".into())),
        _ => Err(at(start, "a rule has exactly one action; split it into several rules".into())),
    }
}

/// The side a rule's `action` changes: a mapping (`rename`, `value_map`, `null_as`) the
/// legacy's unless `side` says otherwise; every other action both, and no `side`.
fn side(
    source: &Source,
    side: Option<Spanned<String>>,
    action: &Action,
) -> Result<Side, RulesError> {
    let at = |offset: usize, what: String| RulesError::from(source.at(offset, what));
    let mapping = matches!(
        action,
        Action::Rename { .. } | Action::ValueMap(_) | Action::NullAs(_)
    );
    match (side, mapping) {
        (None, true) => Ok(Side::Legacy),
        (None, false) => Ok(Side::Both),
        (Some(side), false) => Err(at(
            side.span().start,
            "side: only rename, value_map and null_as change one side; the other actions act on both".into(),
        )),
        (Some(side), true) => match side.get_ref().as_str() {
            "legacy" => Ok(Side::Legacy),
            "candidate" => Ok(Side::Candidate),
            "both" => Ok(Side::Both),
            other => Err(at(
                side.span().start,
                format!("side = \"{other}\": expected legacy, candidate or both"),
            )),
        },
    }
}

/// The tolerance exactly as written: the number's text from the file, never through
/// `f64`, so `tolerance = 0` is equality and `0.001` is one thousandth.
fn tolerance(
    text: &str,
    spanned: toml::Spanned<toml::Value>,
) -> Result<crate::diff::number::Decimal, (usize, String)> {
    let span = spanned.span();
    let written = text.get(span.clone()).unwrap_or_default().trim();
    let bad = |why: &str| (span.start, format!("tolerance = {written}: {why}"));
    if !matches!(
        spanned.get_ref(),
        toml::Value::Integer(_) | toml::Value::Float(_)
    ) {
        return Err(bad("expected a number"));
    }
    let plain: String = written
        .strip_prefix('+')
        .unwrap_or(written)
        .chars()
        .filter(|c| *c != '_')
        .collect();
    let value = crate::diff::number::Decimal::parse(&plain)
        .ok_or_else(|| bad("expected a finite decimal number"))?;
    if value.is_negative() {
        return Err(bad("a tolerance is at least 0"));
    }
    Ok(value)
}

/// A `value_map` table: keys typed by how they are written ([`mapping::key`]), values
/// converted exactly ([`json_of`]), in file order; errors at the entry.
fn value_map(
    text: &str,
    spanned: Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
) -> Result<ValueMap, (usize, String)> {
    let start = spanned.span().start;
    let mut written: Vec<_> = spanned.into_inner().into_iter().collect();
    written.sort_by_key(|(key, _)| key.span().start);
    let mut spans = Vec::with_capacity(written.len());
    let mut entries = Vec::with_capacity(written.len());
    for (key, value) in written {
        let what = format!("value_map {}", Value::from(key.get_ref().as_str()));
        spans.push(key.span().start);
        entries.push((mapping::key(key.get_ref()), json_of(text, value, &what)?));
    }
    ValueMap::new(entries).map_err(|(i, why)| (spans.get(i).copied().unwrap_or(start), why))
}

/// A TOML value as JSON, numbers exactly: a float is read from its text in the file (never
/// through `f64`), an integer from its `i64`, a date-time as its text. A float inside an
/// array or table has no text of its own to read, and is refused.
fn json_of(
    text: &str,
    spanned: Spanned<toml::Value>,
    what: &str,
) -> Result<Value, (usize, String)> {
    let span = spanned.span();
    let written = text.get(span.clone()).unwrap_or_default().trim();
    let bad = |why: &str| (span.start, format!("{what} = {written}: {why}"));
    match spanned.into_inner() {
        toml::Value::Float(_) => {
            let plain: String = written
                .strip_prefix('+')
                .unwrap_or(written)
                .chars()
                .filter(|c| *c != '_')
                .collect();
            serde_json::from_str::<serde_json::Number>(&plain)
                .map(Value::Number)
                .map_err(|_| bad("expected a finite decimal number"))
        }
        other => nested(other).map_err(|why| bad(&why)),
    }
}

fn nested(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Float(_) => {
            return Err("a float inside an array or table cannot be read exactly; write it as a string, or map to the number alone".into())
        }
        toml::Value::Array(items) => {
            Value::Array(items.into_iter().map(nested).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| nested(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
    })
}
