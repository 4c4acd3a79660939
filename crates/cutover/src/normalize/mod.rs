//! Stage 3½: normalization, by declared rules, of both sides before they are diffed.
//!
//! Two stores never return byte-identical data; a rules file says, reviewably, which
//! differences are representation and not behaviour. Rules are TOML, global or for one
//! operation, and address values by JSONPath (RFC 9535, `serde_json_path`):
//!
//! ```toml
//! [[rule]]
//! op = "find_by_id"                  # optional: only this operation
//! path = "$.messages[*].created_at"
//! precision = "ms"                   # exactly one action per rule
//! reason = "MongoDB keeps milliseconds"
//! ```
//!
//! Actions: `ignore`, `unordered` (a multiset), `sorted_by = ["key", ...]` (any order that
//! respects the keys passes on both sides; one that breaks it is `ordering`; `"user.id"`
//! follows nested members; an array where a key is absent from every element is compared
//! in order and counted `unjudged`), `precision = "s"|"ms"|"us"`, `null_equals_missing`
//! (object members only), `tolerance = 0.001` (exact, on the numbers' text, checked where
//! the diff pairs two numbers), `id_map` (identifiers learned from write outcomes and
//! translated in later answers; a mapping that is not one-to-one is itself a divergence),
//! `identity = "id"` (the selected arrays' elements paired by that member before any other
//! alignment, checked where the diff aligns them; see `diff::array`).
//! `on = "outcome"|"state"|"both"` (default both) says which comparisons a rule touches.
//!
//! Three mapping actions translate one store's representation into the other's, on the
//! side `side = "legacy"|"candidate"|"both"` names (default legacy; the other actions act
//! on both sides): `rename = { from = "is_active", to = "active" }` (a member of the
//! objects the path selects; an object that has both names is left as it is and counted
//! `unjudged`), `value_map = { pending = "PENDING", 2 = "shipped" }` (a selected value
//! equal to a key becomes the key's value: keys written as JSON numbers match numbers of
//! that exact value, `true` and `false` booleans, a key in double quotes (`'"2"'`) that
//! string, any other key the string it spells; values not in the map are left alone), and
//! `null_as = false` (a selected `null` becomes the value; a missing member is not a
//! `null`). Rules apply in file order, so a rule after a `rename` sees the new name.
//! Every rule counts the values it changed, and the report lists rules that never fired, so
//! that a rule hiding everything is visible. A rule accepts only what it declares:
//! `tests/it/allowances.rs` and `tests/it/mapping.rs` attack each one.

mod apply;
mod idmap;
mod mapping;
pub(crate) mod noise;
mod parse;
mod place;
mod precision;
mod sorting;
pub mod suggest;
mod walk;

pub use mapping::ValueMap;

pub(crate) use crate::located::line_column;
pub use noise::Noise;
pub use parse::RulesError;

use crate::diff::Divergence;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json_path::JsonPath;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Which comparison a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The answer to a request.
    Outcome,
    /// The stored state read back after a write.
    State,
    /// The events a request published (`on = "events"`): `[{"name", "payload"}, ...]`.
    Events,
}

/// What a rule does to the values it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `ignore`: the matched values are removed from both sides.
    Ignore,
    /// `unordered`: the matched arrays are compared as multisets.
    Unordered,
    /// `sorted_by`: the matched arrays must respect the order of these keys (member names,
    /// dotted for nested members); ties may come in any order.
    SortedBy(Vec<String>),
    /// `precision`: the matched RFC 3339 timestamps are cut to this precision, in UTC.
    Precision(Precision),
    /// `null_equals_missing`: an object member whose value is `null` counts as absent.
    NullEqualsMissing,
    /// Numbers at most this far apart, exactly (decimal arithmetic on the numbers' text).
    Tolerance(crate::diff::number::Decimal),
    /// `identity`: the matched arrays' elements are paired by this member (an object
    /// member whose value is a string, number or boolean) before any other alignment;
    /// checked where the diff aligns the arrays.
    Identity(String),
    /// `id_map`: identifiers are paired from write outcomes, and the legacy's are translated
    /// to the candidate's in later answers; a pairing that is not one-to-one is a divergence.
    IdMap,
    /// `rename`: in each object the path selects on the rule's side, the member `from` is
    /// renamed `to`. An object that has both members is left as it is (neither value is
    /// dropped) and counted in the rule's `unjudged`.
    Rename {
        /// The member's name on the rule's side.
        from: String,
        /// The name it is compared under.
        to: String,
    },
    /// `value_map`: a value the path selects on the rule's side that equals a key of the
    /// map becomes the key's value; other values are left alone.
    ValueMap(ValueMap),
    /// `null_as`: a `null` the path selects on the rule's side becomes this value (a
    /// missing member is not a `null`, and stays missing).
    NullAs(Value),
}

/// The side(s) whose values a mapping action (`rename`, `value_map`, `null_as`) changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The legacy's values (the left document of `cutover diff`): the default.
    Legacy,
    /// The candidate's values (the right document of `cutover diff`).
    Candidate,
    /// Both sides' values.
    Both,
}

impl Side {
    /// Whether the legacy's values are changed.
    pub fn legacy(self) -> bool {
        matches!(self, Side::Legacy | Side::Both)
    }

    /// Whether the candidate's values are changed.
    pub fn candidate(self) -> bool {
        matches!(self, Side::Candidate | Side::Both)
    }

    /// The side as the rules file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Side::Legacy => "legacy",
            Side::Candidate => "candidate",
            Side::Both => "both",
        }
    }
}

/// A timestamp precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    /// Whole seconds (`"s"`).
    #[serde(rename = "s")]
    Seconds,
    /// Milliseconds (`"ms"`).
    #[serde(rename = "ms")]
    Millis,
    /// Microseconds (`"us"`).
    #[serde(rename = "us")]
    Micros,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// The only operation the rule applies to; `None` for a global rule.
    pub op: Option<String>,
    /// The JSONPath as written in the file.
    pub path_text: String,
    path: JsonPath,
    /// The path's steps when it is simple enough for the in-place walk.
    simple: Option<Vec<walk::Step>>,
    /// What the rule does to the values its path matches.
    pub action: Action,
    /// Whether the rule applies to outcomes (`on = "outcome"` or `"both"`).
    pub outcome: bool,
    /// Whether the rule applies to stored states (`on = "state"` or `"both"`).
    pub state: bool,
    /// Whether the rule applies to published events: only `on = "events"`, so that no
    /// rule written for answers and states reaches them.
    pub events: bool,
    /// The side(s) a mapping action changes (`side`, legacy by default); `Both` for the
    /// other actions, which act on both sides.
    pub side: Side,
    /// 1-based line of the rule in its file.
    pub line: usize,
    /// Why the rule exists, as the file gives it.
    pub reason: Option<String>,
}

impl Rule {
    fn applies(&self, op: &str, part: Part) -> bool {
        self.op.as_deref().is_none_or(|o| o == op)
            && match part {
                Part::Outcome => self.outcome,
                Part::State => self.state,
                Part::Events => self.events,
            }
    }

    /// The rule in the rules-file syntax, on one line.
    pub fn describe(&self) -> String {
        let action = match &self.action {
            Action::Ignore => "ignore".to_string(),
            Action::Unordered => "unordered".to_string(),
            Action::SortedBy(keys) => format!("sorted_by {keys:?}"),
            Action::Precision(p) => {
                format!("precision {}", serde_json::to_value(p).unwrap_or_default())
            }
            Action::NullEqualsMissing => "null_equals_missing".to_string(),
            Action::Tolerance(t) => format!("tolerance {}", t.to_plain()),
            Action::IdMap => "id_map".to_string(),
            Action::Identity(key) => format!("identity {}", Value::from(key.as_str())),
            Action::Rename { from, to } => format!(
                "rename {} to {}, {} side",
                Value::from(from.as_str()),
                Value::from(to.as_str()),
                self.side.name()
            ),
            Action::ValueMap(map) => format!("value_map {map}, {} side", self.side.name()),
            Action::NullAs(value) => format!("null_as {value}, {} side", self.side.name()),
        };
        match &self.op {
            Some(op) => format!("{op} {} {action}", self.path_text),
            None => format!("{} {action} (global)", self.path_text),
        }
    }
}

/// A rules file, compiled: configuration, read-only and shared. What one run does with it
/// (counts, learned identifiers) is a [`RuleRun`].
#[derive(Debug, Default)]
pub struct Rules {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The file the rules were read from, with its hash.
    pub source: Option<crate::digest::FileRef>,
}

/// One run's use of a set of rules: how often each rule fired, the arrays `sorted_by`
/// could not judge, and the identifiers `id_map` learned. Each replay, shadow experiment,
/// golden-master check and `cutover diff` makes its own, so no run's counts or identifiers
/// reach another's; [`RuleRun::usage`] goes to the run's report.
#[derive(Debug)]
pub struct RuleRun {
    rules: Arc<Rules>,
    fired: Vec<AtomicU64>,
    unjudged: Vec<AtomicU64>,
    /// Learned identifiers: legacy → candidate, and candidate → legacy.
    ids: Mutex<(HashMap<String, Value>, HashMap<String, Value>)>,
    /// The identity member of each list operation's answer (a declaration's `list.key`),
    /// by operation: the answer's elements are aligned by it, as by an `identity` rule at
    /// `$` (a rule for `$` wins).
    list_keys: BTreeMap<String, String>,
}

/// How much a rule was used in a run: `report.json`'s `rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleUsage {
    /// 1-based line of the rule in its file.
    pub line: usize,
    /// The rule on one line, as [`Rule::describe`] writes it.
    pub rule: String,
    /// Values the rule changed (arrays it sorted, for `sorted_by`; members renamed, for
    /// `rename`).
    pub fired: u64,
    /// For `sorted_by`: differing arrays it could not judge, because one of its keys is
    /// absent from every element (a typo, or a nested key the elements do not have). They
    /// were compared in their order, as without the rule. For `rename`: objects that have
    /// both names, left as they are (neither value dropped).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unjudged: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Rules {
    /// Reads and compiles a rules file; errors name the file, line and column.
    pub fn load(path: impl AsRef<Path>) -> Result<Rules, RulesError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RulesError::Io(path.display().to_string(), e))?;
        let mut rules = parse::parse(&text, &path.display().to_string())?;
        rules.source = Some(crate::digest::FileRef {
            path: path.display().to_string(),
            sha256: crate::digest::bytes(text.as_bytes()),
        });
        Ok(rules)
    }

    /// Compiles rules from TOML text; `name` names it in errors.
    pub fn parse(text: &str, name: &str) -> Result<Rules, RulesError> {
        parse::parse(text, name)
    }

    /// A fresh run of these rules.
    pub fn run(self: &Arc<Self>) -> RuleRun {
        RuleRun::new(Arc::clone(self))
    }
}

impl RuleRun {
    /// A run of freshly compiled `rules`.
    pub fn of(rules: Rules) -> RuleRun {
        RuleRun::new(Arc::new(rules))
    }

    /// A run of `rules` with nothing counted or learned yet.
    pub fn new(rules: Arc<Rules>) -> RuleRun {
        let n = rules.rules.len();
        RuleRun {
            fired: (0..n).map(|_| AtomicU64::new(0)).collect(),
            unjudged: (0..n).map(|_| AtomicU64::new(0)).collect(),
            ids: Mutex::default(),
            list_keys: BTreeMap::new(),
            rules,
        }
    }

    /// This run, aligning the answer of each operation named in `list_keys` by its
    /// identity member (a declaration's `list.key`, see
    /// [`crate::declaration::Declaration::list_keys`]).
    pub fn with_list_keys(mut self, list_keys: BTreeMap<String, String>) -> RuleRun {
        self.list_keys = list_keys;
        self
    }

    /// Applies every rule for `op` to both sides; returns the divergences the rules find
    /// themselves (a broken sort key, an identifier mapping that is not one-to-one).
    /// `learn` says whether identifiers may be learned here (the outcome of a write).
    pub fn apply(
        &self,
        op: &str,
        part: Part,
        learn: bool,
        left: &mut Value,
        right: &mut Value,
    ) -> Vec<Divergence> {
        self.apply_rules(op, part, learn, left, right, false)
    }

    /// [`RuleRun::apply`]; `redacting`: one value alone (`left`), so the rules that change
    /// one side only are left out.
    fn apply_rules(
        &self,
        op: &str,
        part: Part,
        learn: bool,
        left: &mut Value,
        right: &mut Value,
        redacting: bool,
    ) -> Vec<Divergence> {
        let mut found = Vec::new();
        for (i, rule) in self.rules.rules.iter().enumerate() {
            if rule.applies(op, part) && !(redacting && rule.side != Side::Both) {
                let n = apply::apply(self, i, learn, left, right, &mut found);
                self.fired[i].fetch_add(n, Ordering::Relaxed);
            }
        }
        found
    }

    /// Applies every rule for `op` to both sides and diffs them: the one comparison of a
    /// replay, the shadow and `cutover diff`. Tolerances are checked where the diff pairs
    /// two numbers, and counted there. `part` `State` gives `state` divergences.
    pub fn compare(
        &self,
        op: &str,
        part: Part,
        learn: bool,
        left: &mut Value,
        right: &mut Value,
    ) -> crate::diff::Diff {
        let from_rules = self.apply(op, part, learn, left, right);
        let tolerances = self.tolerances(op, part, left);
        let (mut found, used) = crate::diff::values_within(left, right, &tolerances);
        for rule in used {
            self.fired[rule].fetch_add(1, Ordering::Relaxed);
        }
        found.divergences.extend(from_rules);
        match part {
            Part::Outcome => found,
            Part::State => crate::diff::as_state(found),
            Part::Events => crate::diff::as_events(found),
        }
    }

    /// The locations in `left` where `op`'s `tolerance` rules for `part` accept close
    /// numbers, and where its `identity` rules align arrays.
    fn tolerances(&self, op: &str, part: Part, left: &Value) -> crate::diff::Tolerances {
        let mut tolerances = crate::diff::Tolerances::default();
        for (i, rule) in self.rules.rules.iter().enumerate() {
            if !rule.applies(op, part) {
                continue;
            }
            match &rule.action {
                Action::Tolerance(t) => {
                    for path in place::rendered_locations(rule, left) {
                        tolerances.insert(path, i, t.clone());
                    }
                }
                Action::Identity(key) => {
                    for path in place::rendered_locations(rule, left) {
                        tolerances.insert_identity(path, Some(i), key.clone());
                    }
                }
                _ => {}
            }
        }
        if let (Part::Outcome, Some(key)) = (part, self.list_keys.get(op)) {
            tolerances.insert_identity("$".into(), None, key.clone());
        }
        tolerances
    }

    /// Applies the rules that need only one side (ignore, unordered, sorted_by, precision,
    /// null_equals_missing, and the mapping actions declared for `side = "both"`) to
    /// `value`, as redactions: what a golden master stores. `tolerance` and `id_map`
    /// compare two sides, and a mapping declared for one side cannot know which side a
    /// lone value comes from: they leave it alone.
    pub fn redact(&self, op: &str, part: Part, value: &mut Value) {
        let mut other = Value::Null;
        self.apply_rules(op, part, false, value, &mut other, true);
    }

    /// Each rule with how often it fired, in file order.
    pub fn usage(&self) -> Vec<RuleUsage> {
        self.rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| RuleUsage {
                line: r.line,
                rule: r.describe(),
                fired: self.fired[i].load(Ordering::Relaxed),
                unjudged: self.unjudged[i].load(Ordering::Relaxed),
            })
            .collect()
    }
}
