//! PostgreSQL values in the canonical form, decoded from the binary wire format, so that
//! every digit of a numeric and every microsecond of a timestamp survives.

use super::DecodeError;
use chrono::{DateTime, NaiveDate};
use cutover::targets::value::{binary, decimal, float, timestamp, uuid};
use serde_json::{json, Map, Value};
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::{Column, Row, TypeInfo, ValueRef};

/// A row as an object of canonical values, by column name.
pub fn row_to_canonical(row: &PgRow) -> Result<Value, DecodeError> {
    row_to_canonical_text(row).map_err(DecodeError)
}

fn row_to_canonical_text(row: &PgRow) -> Result<Value, String> {
    let mut out = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .map_err(|e| format!("column {}: {e}", column.name()))?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            if raw.format() != PgValueFormat::Binary {
                return Err(format!(
                    "column {}: a text-format value; query with bound parameters",
                    column.name()
                ));
            }
            let bytes = raw
                .as_bytes()
                .map_err(|e| format!("column {}: {e}", column.name()))?;
            let type_name = raw.type_info().name().to_string();
            decode(&type_name, bytes)
                .map_err(|e| format!("column {} ({type_name}): {e}", column.name()))?
        };
        out.insert(column.name().to_string(), value);
    }
    Ok(Value::Object(out))
}

/// Decodes one binary value of the type named `name` (as PostgreSQL names it, upper case).
pub fn decode(name: &str, b: &[u8]) -> Result<Value, DecodeError> {
    decode_text(name, b).map_err(DecodeError)
}

fn decode_text(name: &str, b: &[u8]) -> Result<Value, String> {
    if let Some(element) = name.strip_suffix("[]") {
        return array(element, b);
    }
    Ok(match name {
        "BOOL" => Value::Bool(fixed::<1>(b)?[0] != 0),
        "INT2" => json!(i16::from_be_bytes(fixed(b)?)),
        "INT4" => json!(i32::from_be_bytes(fixed(b)?)),
        "INT8" => json!(i64::from_be_bytes(fixed(b)?)),
        "OID" => json!(u32::from_be_bytes(fixed(b)?)),
        "FLOAT4" => float(f64::from(f32::from_be_bytes(fixed(b)?))),
        "FLOAT8" => float(f64::from_be_bytes(fixed(b)?)),
        "NUMERIC" => numeric(b)?,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => {
            Value::String(utf8(b)?.to_string())
        }
        "JSON" => serde_json::from_str(utf8(b)?).map_err(|e| e.to_string())?,
        "JSONB" => match b.split_first() {
            Some((1, text)) => serde_json::from_str(utf8(text)?).map_err(|e| e.to_string())?,
            _ => return Err("unknown jsonb version".into()),
        },
        "UUID" => uuid(&fixed(b)?),
        "BYTEA" => binary(b, 0),
        "TIMESTAMPTZ" | "TIMESTAMP" => {
            let micros = i64::from_be_bytes(fixed(b)?);
            match micros {
                i64::MAX => json!({ "$date": "infinity" }),
                i64::MIN => json!({ "$date": "-infinity" }),
                _ => {
                    let since_2000 = DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01");
                    let t = since_2000
                        .checked_add_signed(chrono::Duration::microseconds(micros))
                        .ok_or("timestamp out of range")?;
                    timestamp(t)
                }
            }
        }
        "DATE" => {
            let days = i32::from_be_bytes(fixed(b)?);
            match days {
                i32::MAX => json!({ "$date": "infinity" }),
                i32::MIN => json!({ "$date": "-infinity" }),
                _ => {
                    let d = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date")
                        + chrono::Duration::days(i64::from(days));
                    Value::String(d.format("%Y-%m-%d").to_string())
                }
            }
        }
        other => return Err(format!("no canonical form for type {other}")),
    })
}

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, found {}", b.len()))
}

fn utf8(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|e| e.to_string())
}

fn be_i16(b: &[u8], at: usize) -> Result<i16, String> {
    b.get(at..at + 2)
        .map(|s| i16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| "truncated numeric".to_string())
}

/// NUMERIC: ndigits, weight, sign, dscale, then base-10000 digits.
fn numeric(b: &[u8]) -> Result<Value, String> {
    let (ndigits, weight, sign) = (be_i16(b, 0)?, be_i16(b, 2)?, be_i16(b, 4)? as u16);
    match sign {
        0xC000 => return Ok(decimal("NaN")),
        0xD000 => return Ok(decimal("Infinity")),
        0xF000 => return Ok(decimal("-Infinity")),
        0x0000 | 0x4000 => {}
        other => return Err(format!("unknown numeric sign {other:#x}")),
    }
    let mut digits = String::new();
    for i in 0..ndigits as usize {
        digits.push_str(&format!("{:04}", be_i16(b, 8 + 2 * i)?));
    }
    if digits.is_empty() {
        return Ok(json!(0));
    }
    // digits × 10^(4 × (weight + 1 - ndigits))
    let exponent = 4 * (i64::from(weight) + 1 - i64::from(ndigits));
    let sign = if sign == 0x4000 { "-" } else { "" };
    Ok(decimal(&format!("{sign}{digits}e{exponent}")))
}

/// An array: ndim, has-null flag, element oid, then (length, lower bound) per dimension,
/// then each element as length and bytes (-1 for null). Dimensions nest.
fn array(element: &str, b: &[u8]) -> Result<Value, String> {
    let word = |at: usize| -> Result<i32, String> {
        b.get(at..at + 4)
            .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
            .ok_or_else(|| "truncated array".to_string())
    };
    let ndim = word(0)? as usize;
    if ndim == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|d| word(12 + 8 * d).map(|n| n as usize))
        .collect::<Result<_, _>>()?;
    let mut at = 12 + 8 * ndim;
    let mut flat = Vec::new();
    for _ in 0..dims.iter().product::<usize>() {
        let len = word(at)?;
        at += 4;
        if len < 0 {
            flat.push(Value::Null);
        } else {
            let bytes = b
                .get(at..at + len as usize)
                .ok_or("truncated array element")?;
            flat.push(decode(element, bytes)?);
            at += len as usize;
        }
    }
    Ok(nest(&dims, &mut flat.into_iter()))
}

fn nest(dims: &[usize], items: &mut impl Iterator<Item = Value>) -> Value {
    match dims.split_first() {
        None => items.next().unwrap_or(Value::Null),
        Some((n, rest)) => Value::Array((0..*n).map(|_| nest(rest, items)).collect()),
    }
}
