//! `[keys]`: how a declared MongoDB target enumerates its keys and reads their states in
//! batches (`docs/src/declared.md`, "MongoDB: keys and batch dumps").
//!
//! ```toml
//! [keys]
//! field = "_id"        # the top-level field holding each aggregate's key (default `_id`)
//! type = "string"      # string | int | objectid: the BSON type of the stored keys
//! ```
//!
//! Keys are read from `[state]`'s collection with `find`, `{field: {$gt: after}}`, sorted
//! by the field, limited, the field alone projected. A key's text and order follow its
//! type: a string is itself, by its UTF-8 bytes (MongoDB's binary collation); an `int`
//! (BSON int32 or int64) is its decimal text, by value; an `objectid` is its 24 lowercase
//! hexadecimal digits, whose byte order is the ObjectId's own. A bound of a type matches
//! stored keys of that type alone (MongoDB compares values of one type class), so
//! documents whose key has another type are not listed.
//!
//! A batch reads the states of many keys in one `find` with `{field: {$in: keys}}` when
//! `[state]` is a `find` or `find_one` whose filter selects by the field alone
//! (`filter = { FIELD = { "$param" = "key" } }`, no `limit`): its projection (keeping the
//! field to group the documents by key, then dropping it where the projection did) and
//! sort are the batch's, and each key's documents take `[state]`'s `result` shape. Any
//! other `[state]` is read key by key.

use super::template::{Template, Wrap};
use crate::value::bson::to_canonical;
use cutover::targets::KeyOrder;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, RawDocument};
use serde::Deserialize;
use serde_json::Value;

/// The `[keys]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSpec {
    /// The top-level field holding each aggregate's key.
    #[serde(default = "id_field")]
    pub field: String,
    /// The BSON type of the stored keys.
    #[serde(default, rename = "type")]
    pub kind: KeyType,
}

fn id_field() -> String {
    "_id".into()
}

/// The BSON type of a declared target's keys, which decides their text and order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// Strings: the key is the string, ordered by its UTF-8 bytes.
    #[default]
    String,
    /// BSON int32 or int64: the key is its decimal text, ordered by value.
    Int,
    /// ObjectIds: the key is its 24 lowercase hexadecimal digits, ordered by bytes.
    ObjectId,
}

impl KeyType {
    /// The order of the keys' texts.
    pub fn order(self) -> KeyOrder {
        match self {
            KeyType::String | KeyType::ObjectId => KeyOrder::Bytes,
            KeyType::Int => KeyOrder::Integer,
        }
    }

    /// The stored value a key's text stands for; why not, when it stands for none.
    pub fn value(self, key: &str) -> Result<Bson, String> {
        match self {
            KeyType::String => Ok(Bson::String(key.to_string())),
            KeyType::Int => key
                .parse::<i64>()
                .map(Bson::Int64)
                .map_err(|_| format!("key `{key}` is not a 64-bit integer (`type = \"int\"`)")),
            KeyType::ObjectId => ObjectId::parse_str(key)
                .map(Bson::ObjectId)
                .map_err(|_| format!("key `{key}` is not an ObjectId (`type = \"objectid\"`)")),
        }
    }

    /// The lowest value of the type: the bound of the first page.
    pub fn lowest(self) -> Bson {
        match self {
            KeyType::String => Bson::String(String::new()),
            KeyType::Int => Bson::Int64(i64::MIN),
            KeyType::ObjectId => Bson::ObjectId(ObjectId::from_bytes([0; 12])),
        }
    }
}

/// A stored key's text: a string as it is, an integer in decimal, an ObjectId in
/// lowercase hexadecimal; any other value as its canonical JSON text.
pub fn key_text(value: &Bson) -> String {
    match value {
        Bson::String(s) => s.clone(),
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::ObjectId(o) => o.to_hex(),
        other => to_canonical(other).to_string(),
    }
}

/// How one `find` reads the states of a batch of keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `[state]`'s projection, keeping the key field; none: whole documents.
    pub projection: Option<Document>,
    /// Whether `[state]`'s projection keeps the key field (else it is dropped after
    /// grouping).
    pub keeps_field: bool,
    /// `[state]`'s sort.
    pub sort: Option<Document>,
}

/// The declared keys, compiled.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The table as written.
    pub spec: KeysSpec,
    /// The batch read, when `[state]` allows one.
    pub batch: Option<Batch>,
}

impl Keys {
    /// Checks `[keys]` against `[state]`: `find`, its query's parts when `[state]` is a
    /// `find` or `find_one` (none for an `aggregate`).
    pub fn compile(spec: KeysSpec, find: Option<Query<'_>>) -> Result<Keys, String> {
        if spec.field.is_empty() || spec.field.contains('.') || spec.field.starts_with('$') {
            return Err(format!(
                "[keys]: `field = \"{}\"`: expected a top-level field name",
                spec.field
            ));
        }
        let batch = find.and_then(|query| batch(query, &spec.field));
        Ok(Keys { spec, batch })
    }
}

/// The parts of a `[state]` `find` or `find_one` a batch read is made from.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The filter.
    pub filter: &'a Template,
    /// The limit (`find` only).
    pub limit: Option<&'a Template>,
    /// The projection.
    pub projection: Option<&'a Template>,
    /// The sort.
    pub sort: Option<&'a Template>,
}

/// The batch read of a `[state]` query that selects by `field` alone, if it does.
fn batch(find: Query<'_>, field: &str) -> Option<Batch> {
    let by_key = |wrap| Template::Doc(vec![(field.to_string(), key_param(wrap))]);
    let selects = *find.filter == by_key(Wrap::Eq) || *find.filter == by_key(Wrap::Value);
    if !selects || find.limit.is_some() {
        return None;
    }
    let none = |_: &str| Value::Null;
    let declared = find.projection.map(|p| p.render_doc(&none));
    let keeps_field = declared.as_ref().is_none_or(|p| keeps(p, field));
    Some(Batch {
        projection: declared.and_then(|p| with_field(p, field)),
        keeps_field,
        sort: find.sort.map(|s| s.render_doc(&none)),
    })
}

fn key_param(wrap: Wrap) -> Template {
    Template::Param {
        name: "key".into(),
        wrap,
    }
}

/// Whether a projection's value leaves its field out (`0` or `false`).
fn excludes(value: &Bson) -> bool {
    matches!(value, Bson::Boolean(false))
        || matches!(value, Bson::Int32(0) | Bson::Int64(0))
        || matches!(value, Bson::Double(f) if *f == 0.0)
}

/// Whether `projection` leaves out every field it names but `_id` (an exclusion).
fn is_exclusion(projection: &Document) -> bool {
    projection
        .iter()
        .all(|(name, value)| name == "_id" || excludes(value))
}

/// Whether documents projected by `projection` still hold `field`.
fn keeps(projection: &Document, field: &str) -> bool {
    match projection.get(field) {
        Some(value) => !excludes(value),
        None => field == "_id" || is_exclusion(projection),
    }
}

/// `projection` changed to keep `field`; none when it then keeps everything.
fn with_field(mut projection: Document, field: &str) -> Option<Document> {
    projection.remove(field);
    let inclusion = !is_exclusion(&projection);
    if inclusion && field != "_id" {
        projection.insert(field, 1_i32);
    }
    (!projection.is_empty()).then_some(projection)
}

/// The value of a stored document's key field; why not, when it cannot be read.
pub fn key_value(raw: &RawDocument, field: &str) -> Result<Bson, String> {
    match raw.get(field) {
        Ok(Some(value)) => Bson::try_from(value).map_err(|e| e.to_string()),
        Ok(None) => Err(format!("no field `{field}`")),
        Err(e) => Err(e.to_string()),
    }
    .map_err(|e| format!("a document's key field `{field}` cannot be read: {e}"))
}

/// A stored document read for a batch: its key's text, and the document or why it
/// cannot be read. `Err`: the key field itself cannot be read.
pub fn decode(
    raw: &RawDocument,
    field: &str,
) -> Result<(String, Result<Document, String>), String> {
    let key = key_value(raw, field)?;
    let document = Document::try_from(raw).map_err(|e| format!("malformed BSON document: {e}"));
    Ok((key_text(&key), document))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, RawDocumentBuf};

    #[test]
    fn keys_of_each_type_have_a_text_and_an_order() {
        assert_eq!(key_text(&Bson::Int32(-7)), "-7");
        assert_eq!(key_text(&Bson::Int64(1 << 40)), "1099511627776");
        let oid = ObjectId::parse_str("65a1f0c2e4b0a1b2c3d4e5f6").unwrap();
        assert_eq!(key_text(&Bson::ObjectId(oid)), "65a1f0c2e4b0a1b2c3d4e5f6");
        assert_eq!(
            KeyType::ObjectId.value("65a1f0c2e4b0a1b2c3d4e5f6"),
            Ok(Bson::ObjectId(oid))
        );
        assert_eq!(KeyType::Int.value("42"), Ok(Bson::Int64(42)));
        assert!(KeyType::Int.value("4x").unwrap_err().contains("`4x`"));
        assert!(KeyType::ObjectId.value("zz").is_err());
        assert_eq!(KeyType::Int.order(), KeyOrder::Integer);
        assert_eq!(KeyType::ObjectId.order(), KeyOrder::Bytes);
    }

    #[test]
    fn a_projection_keeps_the_key_field_for_grouping_and_says_whether_it_is_shown() {
        let p = doc! { "_id": 0, "value": 1 };
        assert!(!keeps(&p, "_id"));
        assert_eq!(with_field(p, "_id"), Some(doc! { "value": 1 }));
        let p = doc! { "value": 1 };
        assert!(!keeps(&p, "name"));
        assert_eq!(with_field(p, "name"), Some(doc! { "value": 1, "name": 1 }));
        let p = doc! { "secret": 0 };
        assert!(keeps(&p, "name"));
        assert_eq!(with_field(p, "name"), Some(doc! { "secret": 0 }));
        assert_eq!(with_field(doc! { "_id": 0 }, "_id"), None);
        assert!(keeps(&doc! { "value": 1 }, "_id"));
    }

    #[test]
    fn a_malformed_document_is_unreadable_with_its_key_still_known() {
        let good = RawDocumentBuf::from_document(&doc! { "_id": "a", "v": "x" }).unwrap();
        let (key, document) = decode(&good, "_id").unwrap();
        assert_eq!(
            (key.as_str(), document),
            ("a", Ok(doc! { "_id": "a", "v": "x" }))
        );
        let mut bytes = good.into_bytes();
        let at = bytes.windows(1).rposition(|w| w == b"x").unwrap();
        bytes[at] = 0xff;
        let bad = RawDocumentBuf::from_bytes(bytes).unwrap();
        let (key, document) = decode(&bad, "_id").unwrap();
        assert_eq!(key, "a");
        let why = document.unwrap_err();
        assert!(why.contains("malformed BSON document"), "{why}");
        assert!(decode(&bad, "missing").unwrap_err().contains("`missing`"));
    }
}
