//! BSON values in the canonical form.

use chrono::DateTime;
use cutover::targets::value::{binary, decimal, float, timestamp, uuid};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::Bson;
use serde_json::{json, Map, Value};

/// Maps any BSON value to the canonical form.
pub fn to_canonical(value: &Bson) -> Value {
    match value {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(b) => Value::Bool(*b),
        Bson::Int32(n) => json!(n),
        Bson::Int64(n) => json!(n),
        Bson::Double(f) => float(*f),
        Bson::Decimal128(d) => decimal(&d.to_string()),
        Bson::String(s) => Value::String(s.clone()),
        Bson::DateTime(d) => match DateTime::from_timestamp_millis(d.timestamp_millis()) {
            Some(t) => timestamp(t),
            None => json!({ "$date": { "$numberLong": d.timestamp_millis().to_string() } }),
        },
        Bson::ObjectId(o) => json!({ "$oid": o.to_hex() }),
        Bson::Binary(b) => match (b.subtype, <[u8; 16]>::try_from(b.bytes.as_slice())) {
            (BinarySubtype::Uuid, Ok(bytes)) => uuid(&bytes),
            _ => binary(&b.bytes, u8::from(b.subtype)),
        },
        Bson::Timestamp(t) => json!({ "$timestamp": { "t": t.time, "i": t.increment } }),
        Bson::RegularExpression(r) => {
            let mut options: Vec<char> = r.options.chars().collect();
            options.sort_unstable();
            json!({ "$regex": { "pattern": r.pattern, "options": options.into_iter().collect::<String>() } })
        }
        Bson::MinKey => json!({ "$minKey": 1 }),
        Bson::MaxKey => json!({ "$maxKey": 1 }),
        Bson::JavaScriptCode(code) => json!({ "$code": code }),
        Bson::JavaScriptCodeWithScope(c) => {
            json!({ "$code": c.code, "$scope": to_canonical(&Bson::Document(c.scope.clone())) })
        }
        Bson::Symbol(s) => json!({ "$symbol": s }),
        Bson::DbPointer(p) => json!({ "$dbPointer": format!("{p:?}") }),
        Bson::Array(items) => Value::Array(items.iter().map(to_canonical).collect()),
        Bson::Document(d) => Value::Object(
            d.iter()
                .map(|(k, v)| (k.clone(), to_canonical(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId, Binary, Decimal128, Regex, Timestamp};

    fn c(b: Bson) -> Value {
        to_canonical(&b)
    }

    #[test]
    fn numbers_keep_their_value_and_every_digit() {
        assert_eq!(c(Bson::Int32(i32::MIN)), json!(-2147483648));
        assert_eq!(c(Bson::Int64(i64::MAX)).to_string(), "9223372036854775807");
        assert_eq!(c(Bson::Int64(i64::MIN)).to_string(), "-9223372036854775808");
        assert_eq!(c(Bson::Double(-0.0)), json!(0));
        assert_eq!(c(Bson::Double(0.1)).to_string(), "0.1");
        assert_eq!(c(Bson::Double(f64::NAN)), json!({"$float": "NaN"}));
        assert_eq!(
            c(Bson::Double(f64::INFINITY)),
            json!({"$float": "Infinity"})
        );
        assert_eq!(
            c(Bson::Double(f64::NEG_INFINITY)),
            json!({"$float": "-Infinity"})
        );
        let wide: Decimal128 = "1234567890123456789012345678901234".parse().unwrap();
        assert_eq!(
            c(Bson::Decimal128(wide)).to_string(),
            "1234567890123456789012345678901234",
            "more digits than a double holds"
        );
        let small: Decimal128 = "1.50E-20".parse().unwrap();
        assert_eq!(
            c(Bson::Decimal128(small)).to_string(),
            "0.0000000000000000000150".trim_end_matches('0')
        );
        let nan: Decimal128 = "NaN".parse().unwrap();
        assert_eq!(c(Bson::Decimal128(nan)), json!({"$float": "NaN"}));
        assert!(cutover::diff::values(&c(Bson::Int32(1)), &c(Bson::Double(1.0))).is_equal());
    }

    #[test]
    fn dates_before_and_after_1970_are_utc_instants() {
        let before = Bson::DateTime(mongodb::bson::DateTime::from_millis(-1));
        assert_eq!(c(before), json!("1969-12-31T23:59:59.999Z"));
        let moon = Bson::DateTime(mongodb::bson::DateTime::from_millis(-14_182_940_000));
        assert_eq!(c(moon), json!("1969-07-20T20:17:40.000Z"));
        let ms = Bson::DateTime(mongodb::bson::DateTime::from_millis(1_709_287_200_120));
        assert_eq!(c(ms), json!("2024-03-01T10:00:00.120Z"));
    }

    #[test]
    fn identifiers_binaries_and_special_types_are_tagged() {
        let oid = ObjectId::parse_str("507f1f77bcf86cd799439011").unwrap();
        assert_eq!(
            c(Bson::ObjectId(oid)),
            json!({"$oid": "507f1f77bcf86cd799439011"})
        );
        let id = [
            0x8f, 0x14, 0xe4, 0x5f, 0xce, 0xea, 0x46, 0x7f, 0xa0, 0xe6, 0x4f, 0x1b, 0x1c, 0x1d,
            0x2e, 0x3f,
        ];
        let as_uuid = Bson::Binary(Binary {
            subtype: BinarySubtype::Uuid,
            bytes: id.to_vec(),
        });
        assert_eq!(
            c(as_uuid),
            json!({"$uuid": "8f14e45f-ceea-467f-a0e6-4f1b1c1d2e3f"})
        );
        let bytes = Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![0, 255],
        });
        assert_eq!(
            c(bytes),
            json!({"$binary": {"base64": "AP8=", "subType": "00"}})
        );
        assert_eq!(
            c(Bson::Timestamp(Timestamp {
                time: 7,
                increment: 2
            })),
            json!({"$timestamp": {"t": 7, "i": 2}})
        );
        let regex = Bson::RegularExpression(Regex {
            pattern: "^a".into(),
            options: "xi".into(),
        });
        assert_eq!(
            c(regex),
            json!({"$regex": {"pattern": "^a", "options": "ix"}})
        );
        assert_eq!(
            (c(Bson::MinKey), c(Bson::MaxKey)),
            (json!({"$minKey": 1}), json!({"$maxKey": 1}))
        );
        assert_eq!(c(Bson::Undefined), Value::Null);
    }

    #[test]
    fn documents_and_strings_map_through() {
        let d =
            doc! { "name": "Zoë 東京 🚀", "nul": "a\u{0}b", "list": [1_i32, 2.5_f64, Bson::Null] };
        assert_eq!(
            c(Bson::Document(d)),
            json!({"name": "Zoë 東京 🚀", "nul": "a\u{0}b", "list": [1, 2.5, null]})
        );
    }
}
