//! Reading a rules file: TOML, one `[[rule]]` table per rule, errors with line and column.

use super::{Action, Precision, Rule, Rules};
use crate::located::{Located, Source};
use serde::Deserialize;
use serde_json_path::JsonPath;

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
}

pub(super) fn parse(text: &str, name: &str) -> Result<Rules, RulesError> {
    let source = Source { text, name };
    let at = |offset: usize, what: String| RulesError::from(source.at(offset, what));
    let file: File = source.toml()?;
    let mut rules = Vec::new();
    for spanned in file.rule {
        let start = spanned.span().start;
        let spec = spanned.into_inner();
        let path_at = spec.path.span().start;
        let path_text = spec.path.into_inner();
        let path = JsonPath::parse(&path_text).map_err(|e| {
            at(
                path_at,
                format!("`{path_text}` is not a JSONPath: {}", e.message()),
            )
        })?;
        let mut actions = Vec::new();
        if spec.ignore == Some(true) {
            actions.push(Action::Ignore);
        }
        if spec.unordered == Some(true) {
            actions.push(Action::Unordered);
        }
        if let Some(keys) = spec.sorted_by {
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
        if let Some(p) = spec.precision {
            actions.push(Action::Precision(p));
        }
        if spec.null_equals_missing == Some(true) {
            actions.push(Action::NullEqualsMissing);
        }
        if let Some(t) = spec.tolerance {
            actions.push(Action::Tolerance(
                tolerance(text, t).map_err(|(at_, what)| at(at_, what))?,
            ));
        }
        if spec.id_map == Some(true) {
            actions.push(Action::IdMap);
        }
        let action = match actions.len() {
            1 => actions.remove(0),
            0 => return Err(at(start, "a rule needs one action: ignore, unordered, sorted_by, precision, null_equals_missing, tolerance or id_map".into())),
            _ => return Err(at(start, "a rule has exactly one action; split it into several rules".into())),
        };
        let (outcome, state) = match spec.on.as_deref() {
            None | Some("both") => (true, true),
            Some("outcome") => (true, false),
            Some("state") => (false, true),
            Some(other) => {
                return Err(at(
                    start,
                    format!("on = \"{other}\": expected outcome, state or both"),
                ))
            }
        };
        rules.push(Rule {
            op: spec.op,
            simple: super::walk::compile(&path_text),
            path_text,
            path,
            action,
            outcome,
            state,
            line: text[..start.min(text.len())].matches('\n').count() + 1,
            reason: spec.reason,
        });
    }
    Ok(Rules {
        rules,
        ..Rules::default()
    })
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
