//! The cross-store value model: one canonical JSON form that values of either store are
//! mapped into, deterministically, before they are compared.
//!
//! | source | canonical |
//! |---|---|
//! | integers (int32, int64, int2/4/8) | a JSON number, every digit kept |
//! | double, float4/8, finite | a JSON number, shortest round-trip text; `-0.0` is `0` |
//! | NaN, ±infinity (double, Decimal128, numeric) | `{"$float": "NaN"}`, `{"$float": "Infinity"}`, `{"$float": "-Infinity"}` |
//! | Decimal128, numeric | a JSON number in plain decimal, exact (`1.50E+3` is `1500`) |
//! | date, timestamptz, timestamp | an RFC 3339 string in UTC, `Z`, the fraction to the last non-zero unit (`.123`, `.123456`) |
//! | date (SQL) | `YYYY-MM-DD` |
//! | ObjectId | `{"$oid": "hex"}` |
//! | uuid, BSON binary subtype 4 | `{"$uuid": "lowercase-hyphenated"}` |
//! | binary, bytea | `{"$binary": {"base64": "...", "subType": "00"}}` |
//! | BSON timestamp | `{"$timestamp": {"t": seconds, "i": increment}}` |
//! | regex | `{"$regex": {"pattern": "...", "options": "sorted letters"}}` |
//! | min/max key | `{"$minKey": 1}`, `{"$maxKey": 1}` |
//! | jsonb, json | the JSON itself, numbers exact |
//! | arrays, documents | arrays and objects of canonical values |
//! | strings, text | strings (PostgreSQL text cannot hold NUL; BSON strings can) |
//!
//! Numbers then compare by value in the diff, so an int32 `1`, an int64 `1`, a double `1.0`
//! and a numeric `1.00` are one value. Identifiers of different kinds (`$oid` against
//! `$uuid`) are told apart until an `id_map` rule maps them.
//!
//! The mapping functions here are pure; the stores' own types are read by
//! `cutover_declared::value` (`bson`, `pg`, `mysql`), which calls them.

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// A float: a number if finite, a tagged string otherwise.
pub fn float(f: f64) -> Value {
    if f.is_nan() {
        json!({ "$float": "NaN" })
    } else if f.is_infinite() {
        json!({ "$float": if f > 0.0 { "Infinity" } else { "-Infinity" } })
    } else if f == 0.0 {
        json!(0)
    } else {
        number(&format!("{f:?}")).unwrap_or(Value::Null)
    }
}

/// A decimal number text (plain or `E` notation), or `NaN`/`Infinity`, exactly.
pub fn decimal(text: &str) -> Value {
    match text {
        "NaN" | "-NaN" => json!({ "$float": "NaN" }),
        "Infinity" | "+Infinity" | "inf" => json!({ "$float": "Infinity" }),
        "-Infinity" | "-inf" => json!({ "$float": "-Infinity" }),
        _ => crate::diff::number::plain_decimal(text)
            .and_then(|plain| number(&plain))
            .unwrap_or_else(|| json!({ "$decimal": text })),
    }
}

fn number(text: &str) -> Option<Value> {
    serde_json::from_str::<serde_json::Number>(text)
        .ok()
        .map(Value::Number)
}

/// An instant, in UTC: milliseconds always written (the precision of a BSON date, and the
/// canonical model's), finer digits only when the instant has them (PostgreSQL's
/// microseconds).
pub fn timestamp(t: DateTime<Utc>) -> Value {
    let format = match t.timestamp_subsec_nanos() % 1_000_000 {
        0 => SecondsFormat::Millis,
        _ => SecondsFormat::AutoSi,
    };
    Value::String(t.to_rfc3339_opts(format, true))
}

/// Bytes with a BSON binary subtype.
pub fn binary(bytes: &[u8], subtype: u8) -> Value {
    json!({ "$binary": { "base64": base64::engine::general_purpose::STANDARD.encode(bytes), "subType": format!("{subtype:02x}") } })
}

/// A 16-byte UUID.
pub fn uuid(bytes: &[u8; 16]) -> Value {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    json!({ "$uuid": format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]) })
}
