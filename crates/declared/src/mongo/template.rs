//! Templates: the TOML tables and arrays of a MongoDB declaration, converted to BSON once
//! when the target opens, with each `{ "$param" = "name" }` replaced by the request's
//! argument `name` (dots for nested members, `key` the request's key; a missing argument
//! is `null`) when a request runs.
//!
//! An argument is always a value, never part of the query language. Where the server
//! would read a document or a `$`-string as an operator, the value is wrapped so that it
//! is compared or produced as it is:
//!
//! * a field of a query (`filter`, a `$match` stage): `{ "$eq": value }`, so an argument
//!   `{"$ne": null}` matches a field equal to that document, not every document;
//! * an aggregation expression (a `projection`, `$project`, `$set`, `$group` ...):
//!   `{ "$literal": value }`, so `"$password"` is a string, not another field;
//! * an operator's operand (`$gt`, `$in`, `$set`'s fields), a document to insert, `sort`
//!   and `limit`: as it is, which the server already reads as data.
//!
//! A `$param` standing for a whole query, update, pipeline or stage, or inside `$where`,
//! `$function`, `$accumulator`, `$lookup`, `$unionWith`, `$graphLookup`, `$facet`, `$out`
//! or `$merge`, is refused when the target opens.

use crate::DeclaredError;
use mongodb::bson::{Bson, Document};
use serde_json::Value;

/// A value with its parameters, ready to render for a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value of the file.
    Const(Bson),
    /// A request's argument (dotted path), wrapped as its place requires.
    Param {
        /// The argument's name (`key` is the request's key).
        name: String,
        /// How the value is inserted.
        wrap: Wrap,
    },
    /// A document, its fields in the file's order.
    Doc(Vec<(String, Template)>),
    /// An array.
    Array(Vec<Template>),
}

/// How an argument is inserted where its `$param` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    /// As it is: the server reads this place as data.
    Value,
    /// `{ "$eq": value }`: a field of a query.
    Eq,
    /// `{ "$literal": value }`: an aggregation expression.
    Literal,
}

/// What a place of a template is, which decides how a `$param` there is inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Data: a document to insert, an operator's operand, `sort`, `limit`.
    Data,
    /// A whole query (`filter`, `$match`).
    Query,
    /// The value of a field in a query: a value to equal, or a document of operators.
    Field,
    /// An aggregation expression.
    Expr,
    /// A whole update (operators, or a pipeline).
    Update,
    /// A whole aggregation pipeline.
    Pipeline,
    /// Where no argument may go (`$where`, `$lookup`, `$out` ...).
    Fixed,
}

/// Query operators whose operand is code or another collection: no argument inside.
const FIXED_OPERATORS: [&str; 3] = ["$where", "$function", "$accumulator"];
/// Stages that name collections or hold pipelines: no argument inside.
const FIXED_STAGES: [&str; 6] = [
    "$lookup",
    "$unionWith",
    "$graphLookup",
    "$facet",
    "$out",
    "$merge",
];
/// Stages whose operand is data.
const DATA_STAGES: [&str; 6] = ["$limit", "$skip", "$sample", "$sort", "$count", "$unwind"];

/// Compiles `value`, a place of kind `slot`; an error says which `$param` is refused.
pub fn compile(value: &Value, slot: Slot) -> Result<Template, DeclaredError> {
    compile_text(value, slot).map_err(DeclaredError)
}

fn compile_text(value: &Value, slot: Slot) -> Result<Template, String> {
    if let Some(name) = param(value)? {
        let wrap = match slot {
            Slot::Data => Wrap::Value,
            Slot::Field => Wrap::Eq,
            Slot::Expr => Wrap::Literal,
            Slot::Query | Slot::Update | Slot::Pipeline => {
                return Err(format!(
                    "`$param = \"{name}\"` cannot stand for a whole {}",
                    match slot {
                        Slot::Query => "query",
                        Slot::Update => "update",
                        _ => "pipeline",
                    }
                ))
            }
            Slot::Fixed => {
                return Err(format!(
                    "`$param = \"{name}\"` is not allowed here (code, a collection or a \
                     pipeline of another collection)"
                ))
            }
        };
        return Ok(Template::Param { name, wrap });
    }
    if let Some(date) = toml_datetime(value) {
        return Ok(Template::Const(date));
    }
    match value {
        Value::Object(table) => {
            let all_operators = !table.is_empty() && table.keys().all(|k| k.starts_with('$'));
            let mut fields = Vec::with_capacity(table.len());
            for (key, member) in table {
                let inner = match slot {
                    Slot::Data | Slot::Fixed => slot,
                    Slot::Expr if key == "$literal" => Slot::Data,
                    Slot::Expr => Slot::Expr,
                    Slot::Query => match key.as_str() {
                        "$and" | "$or" | "$nor" => Slot::Query,
                        "$expr" => Slot::Expr,
                        k if FIXED_OPERATORS.contains(&k) => Slot::Fixed,
                        k if k.starts_with('$') => Slot::Data,
                        _ => Slot::Field,
                    },
                    // A document of operators (`{ "$gt" = ... }`), or an embedded
                    // document compared as a whole.
                    Slot::Field if all_operators => match key.as_str() {
                        "$elemMatch" => Slot::Query,
                        "$not" => Slot::Field,
                        _ => Slot::Data,
                    },
                    Slot::Field => Slot::Data,
                    // `{ "$set" = { field = ... } }`: the fields' values are data, the
                    // operator's document is not an argument.
                    Slot::Update => {
                        if param(member)?.is_some() {
                            return Err(format!("`{key}`: its document cannot be a `$param`"));
                        }
                        Slot::Data
                    }
                    Slot::Pipeline => match key.as_str() {
                        "$match" => Slot::Query,
                        k if FIXED_STAGES.contains(&k) => Slot::Fixed,
                        k if DATA_STAGES.contains(&k) => Slot::Data,
                        _ => Slot::Expr,
                    },
                };
                let compiled = compile(member, inner).map_err(|e| format!("`{key}`: {e}"))?;
                fields.push((key.clone(), compiled));
            }
            Ok(Template::Doc(fields))
        }
        Value::Array(items) => {
            let inner = match slot {
                // `$and = [ {...}, ... ]`: each a query.
                Slot::Query => Slot::Query,
                // An update pipeline; each item of a pipeline is a stage.
                Slot::Update | Slot::Pipeline => Slot::Pipeline,
                Slot::Field => Slot::Data,
                other => other,
            };
            let items = items
                .iter()
                .map(|item| compile(item, inner))
                .collect::<Result<_, _>>()?;
            Ok(Template::Array(items))
        }
        scalar => Ok(Template::Const(json_to_bson(scalar))),
    }
}

/// The name of a `{ "$param" = "name" }` table; an error if the table is malformed.
fn param(value: &Value) -> Result<Option<String>, String> {
    let Some(table) = value.as_object() else {
        return Ok(None);
    };
    let Some(name) = table.get("$param") else {
        return Ok(None);
    };
    match (name.as_str(), table.len()) {
        (Some(n), 1) if !n.is_empty() => Ok(Some(n.to_string())),
        _ => Err("expected `{ \"$param\" = \"name\" }` (one string, nothing else)".into()),
    }
}

/// A TOML date-time, which reaches a JSON value as a one-field table: a BSON date when it
/// has an offset, else its text.
fn toml_datetime(value: &Value) -> Option<Bson> {
    let table = value.as_object().filter(|t| t.len() == 1)?;
    let text = table.get("$__toml_private_datetime")?.as_str()?;
    Some(match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => Bson::DateTime(mongodb::bson::DateTime::from_millis(t.timestamp_millis())),
        Err(_) => Bson::String(text.to_string()),
    })
}

fn integer(n: i64) -> Bson {
    i32::try_from(n).map_or(Bson::Int64(n), Bson::Int32)
}

/// A request's JSON value as BSON: integers as Int32 when they fit, else Int64, other
/// numbers as doubles; objects as documents in their order.
pub fn json_to_bson(value: &Value) -> Bson {
    match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => integer(i),
            (None, Some(f)) => Bson::Double(f),
            (None, None) => Bson::String(n.to_string()),
        },
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(json_to_bson).collect()),
        Value::Object(map) => Bson::Document(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_bson(v)))
                .collect::<Document>(),
        ),
    }
}

impl Template {
    /// The value for a request, `argument` giving each parameter's JSON value.
    pub fn render(&self, argument: &dyn Fn(&str) -> Value) -> Bson {
        match self {
            Template::Const(b) => b.clone(),
            Template::Param { name, wrap } => {
                let value = json_to_bson(&argument(name));
                match wrap {
                    Wrap::Value => value,
                    Wrap::Eq => Bson::Document(Document::from_iter([("$eq".to_string(), value)])),
                    Wrap::Literal => {
                        Bson::Document(Document::from_iter([("$literal".to_string(), value)]))
                    }
                }
            }
            Template::Doc(fields) => Bson::Document(
                fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(argument)))
                    .collect(),
            ),
            Template::Array(items) => {
                Bson::Array(items.iter().map(|t| t.render(argument)).collect())
            }
        }
    }

    /// The value for a request as a document (a template of a table always is one).
    pub fn render_doc(&self, argument: &dyn Fn(&str) -> Value) -> Document {
        match self.render(argument) {
            Bson::Document(d) => d,
            _ => Document::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{bson, doc};
    use serde_json::json;

    fn t(text: &str, slot: Slot) -> Result<Template, String> {
        let table: Value = toml::from_str(&format!("v = {text}")).unwrap();
        compile(&table["v"], slot).map_err(String::from)
    }

    fn render(text: &str, slot: Slot, args: Value) -> Bson {
        let arg = move |name: &str| {
            name.split('.')
                .try_fold(&args, |v, m| v.get(m))
                .cloned()
                .unwrap_or(Value::Null)
        };
        t(text, slot).unwrap().render(&arg)
    }

    #[test]
    fn arguments_are_wrapped_as_their_place_requires() {
        let evil = json!({"email": {"$ne": null}, "who": "$password", "n": 7});
        assert_eq!(
            render(
                r#"{ email = { "$param" = "email" } }"#,
                Slot::Query,
                evil.clone()
            ),
            bson!({ "email": { "$eq": { "$ne": null } } })
        );
        assert_eq!(
            render(
                r#"{ n = { "$gt" = { "$param" = "n" } }, "$or" = [{ a = { "$param" = "who" } }] }"#,
                Slot::Query,
                evil.clone()
            ),
            bson!({ "n": { "$gt": 7 }, "$or": [{ "a": { "$eq": "$password" } }] })
        );
        assert_eq!(
            render(
                r#"[{ "$match" = { _id = { "$param" = "key" } } }, { "$project" = { who = { "$param" = "who" } } }, { "$limit" = { "$param" = "n" } }]"#,
                Slot::Pipeline,
                json!({"key": "k1", "who": "$password", "n": 5})
            ),
            bson!([{ "$match": { "_id": { "$eq": "k1" } } }, { "$project": { "who": { "$literal": "$password" } } }, { "$limit": 5 }])
        );
        assert_eq!(
            render(
                r#"{ "$set" = { value = { "$param" = "v" } } }"#,
                Slot::Update,
                json!({"v": {"$inc": {"n": 1}}})
            ),
            bson!({ "$set": { "value": { "$inc": { "n": 1 } } } })
        );
        assert_eq!(
            render(
                r#"{ _id = { "$param" = "a.b" }, big = 5000000000, f = 1.5 }"#,
                Slot::Data,
                json!({"a": {"b": 3_000_000_000_i64}})
            ),
            Bson::Document(doc! { "_id": 3_000_000_000_i64, "big": 5_000_000_000_i64, "f": 1.5 })
        );
        assert_eq!(
            render(r#"{ a = { "$param" = "missing" } }"#, Slot::Data, json!({})),
            bson!({ "a": null })
        );
    }

    #[test]
    fn tables_keep_the_order_they_are_written_in() {
        let sort = render("{ b = 1, a = -1, c = 1 }", Slot::Data, json!({}));
        let keys: Vec<&String> = sort.as_document().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["b", "a", "c"],
            "a sort document's order is its meaning"
        );
        assert!(matches!(
            render("{ at = 2026-01-01T00:00:00Z }", Slot::Data, json!({}))
                .as_document()
                .unwrap()
                .get("at"),
            Some(Bson::DateTime(_))
        ));
    }

    #[test]
    fn a_param_for_a_whole_query_or_inside_code_is_refused() {
        let refused = |text, slot| t(text, slot).unwrap_err();
        assert!(refused(r#"{ "$param" = "q" }"#, Slot::Query).contains("whole query"));
        assert!(
            refused(r#"{ "$and" = [{ "$param" = "q" }] }"#, Slot::Query).contains("whole query")
        );
        assert!(
            refused(r#"{ "$where" = { "$param" = "js" } }"#, Slot::Query).contains("not allowed")
        );
        assert!(refused(r#"{ "$set" = { "$param" = "u" } }"#, Slot::Update).contains("`$set`"));
        assert!(refused(r#"[{ "$param" = "stage" }]"#, Slot::Pipeline).contains("whole pipeline"));
        assert!(refused(
            r#"[{ "$lookup" = { from = { "$param" = "c" } } }]"#,
            Slot::Pipeline
        )
        .contains("not allowed"));
        assert!(refused(r#"{ "$param" = "a", b = 1 }"#, Slot::Data).contains("one string"));
    }
}
