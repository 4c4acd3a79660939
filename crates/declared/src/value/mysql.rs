//! MySQL and MariaDB values in the canonical form, decoded from the binary protocol (the
//! one prepared statements answer in), so that every digit of a `DECIMAL` survives and a
//! zero date is a value, not an error.
//!
//! What a team migrating from MySQL meets, kept visible rather than smoothed over:
//! `TINYINT(1)` is the number it stores (0, 1, or any other), not a boolean; a zero date
//! (`0000-00-00`, which sqlx reads as `NULL`) is the string `0000-00-00` (with
//! `T00:00:00Z` for a date-time);
//! `DATETIME` has no zone and is read as UTC, like `TIMESTAMP` (which the server converts
//! to the session's zone, UTC for these connections).

use super::DecodeError;
use chrono::{NaiveDate, NaiveDateTime};
use cutover::targets::value::{binary, decimal, float, timestamp};
use serde_json::{json, Map, Value};
use sqlx::mysql::MySqlRow;
use sqlx::{Column, Row, TypeInfo};

/// A row as an object of canonical values, by column name.
pub fn row_to_canonical(row: &MySqlRow) -> Result<Value, DecodeError> {
    row_to_canonical_text(row).map_err(DecodeError)
}

fn row_to_canonical_text(row: &MySqlRow) -> Result<Value, String> {
    let mut out = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        // The value's bytes as the server sent them (binary protocol), whatever its type:
        // a zero date is bytes too, where a typed decode would fail.
        let bytes: Option<Vec<u8>> = match row.try_get_unchecked::<Vec<u8>, _>(i) {
            Ok(bytes) => Some(bytes),
            Err(sqlx::Error::ColumnDecode { source, .. })
                if source.is::<sqlx::error::UnexpectedNullError>() =>
            {
                None
            }
            Err(e) => return Err(format!("column {}: {e}", column.name())),
        };
        let value = match bytes {
            None => Value::Null,
            Some(bytes) => {
                let type_name = column.type_info().name();
                decode(type_name, &bytes)
                    .map_err(|e| format!("column {} ({type_name}): {e}", column.name()))?
            }
        };
        out.insert(column.name().to_string(), value);
    }
    Ok(Value::Object(out))
}

/// Decodes one binary-protocol value of the type named `name` (as sqlx names it).
pub fn decode(name: &str, b: &[u8]) -> Result<Value, DecodeError> {
    decode_text(name, b).map_err(DecodeError)
}

fn decode_text(name: &str, b: &[u8]) -> Result<Value, String> {
    let unsigned = name.ends_with("UNSIGNED");
    Ok(match name.trim_end_matches(" UNSIGNED") {
        "BOOLEAN" | "TINYINT" => match unsigned {
            true => json!(fixed::<1>(b)?[0]),
            false => json!(fixed::<1>(b)?[0] as i8),
        },
        "SMALLINT" | "YEAR" => match unsigned || name == "YEAR" {
            true => json!(u16::from_le_bytes(fixed(b)?)),
            false => json!(i16::from_le_bytes(fixed(b)?)),
        },
        "MEDIUMINT" | "INT" => match unsigned {
            true => json!(u32::from_le_bytes(fixed(b)?)),
            false => json!(i32::from_le_bytes(fixed(b)?)),
        },
        "BIGINT" => match unsigned {
            true => json!(u64::from_le_bytes(fixed(b)?)),
            false => json!(i64::from_le_bytes(fixed(b)?)),
        },
        "FLOAT" => float(f64::from(f32::from_le_bytes(fixed(b)?))),
        "DOUBLE" => float(f64::from_le_bytes(fixed(b)?)),
        "DECIMAL" => decimal(text(b)?),
        "DATE" => date_time(payload(b)?, false)?,
        "DATETIME" | "TIMESTAMP" => date_time(payload(b)?, true)?,
        "TIME" => time(payload(b)?)?,
        "JSON" => serde_json::from_slice(b).map_err(|e| format!("not JSON: {e}"))?,
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            Value::String(text(b)?.to_string())
        }
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => binary(b, 0),
        "BIT" => json!(b.iter().fold(0u64, |n, byte| (n << 8) | u64::from(*byte))),
        other => return Err(format!("no canonical form for type {other}")),
    })
}

/// A temporal value's bytes after their length byte.
fn payload(b: &[u8]) -> Result<&[u8], String> {
    match b.split_first() {
        Some((&len, rest)) if rest.len() == usize::from(len) => Ok(rest),
        _ => Err(format!(
            "a temporal value of {} bytes with a wrong length byte",
            b.len()
        )),
    }
}

fn text(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|e| format!("not UTF-8: {e}"))
}

/// The binary `DATE`/`DATETIME`/`TIMESTAMP`: a length of 0, 4, 7 or 11 bytes (year as 2
/// bytes, month, day, hour, minute, second, microseconds as 4).
fn date_time(b: &[u8], with_time: bool) -> Result<Value, String> {
    if !matches!(b.len(), 0 | 4 | 7 | 11) {
        return Err(format!("a date of {} bytes", b.len()));
    }
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let year = if b.len() >= 2 {
        u16::from_le_bytes([b[0], b[1]])
    } else {
        0
    };
    let (month, day) = (at(2), at(3));
    let (hour, minute, second) = (at(4), at(5), at(6));
    let micros = if b.len() == 11 {
        u32::from_le_bytes([b[7], b[8], b[9], b[10]])
    } else {
        0
    };
    let date = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day));
    let Some(date) = date else {
        // A zero date, or one with a zero month or day (MySQL allows them).
        let text = format!("{year:04}-{month:02}-{day:02}");
        return Ok(Value::String(match with_time {
            true => format!("{text}T{hour:02}:{minute:02}:{second:02}Z"),
            false => text,
        }));
    };
    if !with_time {
        return Ok(Value::String(date.format("%Y-%m-%d").to_string()));
    }
    let time = chrono::NaiveTime::from_hms_micro_opt(
        u32::from(hour),
        u32::from(minute),
        u32::from(second),
        micros,
    )
    .ok_or("an invalid time of day")?;
    Ok(timestamp(NaiveDateTime::new(date, time).and_utc()))
}

/// The binary `TIME`: sign, days, hours, minutes, seconds, microseconds, as `[-]H:MM:SS[.f]`.
fn time(b: &[u8]) -> Result<Value, String> {
    if !matches!(b.len(), 0 | 8 | 12) {
        return Err(format!("a time of {} bytes", b.len()));
    }
    if b.is_empty() {
        return Ok(Value::String("00:00:00".into()));
    }
    let negative = b[0] == 1;
    let days = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    let hours = days * 24 + u32::from(b[5]);
    let mut text = format!(
        "{}{hours:02}:{:02}:{:02}",
        if negative { "-" } else { "" },
        b[6],
        b[7]
    );
    if b.len() == 12 {
        let micros = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if micros > 0 {
            text += &format!(".{micros:06}");
        }
    }
    Ok(Value::String(text))
}

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, found {}", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_zero_dates_and_numbers_decode_exactly() {
        assert_eq!(decode("DATE", &[0]).unwrap(), json!("0000-00-00"));
        assert_eq!(
            decode("DATETIME", &[0]).unwrap(),
            json!("0000-00-00T00:00:00Z")
        );
        let d = [4, 0xea, 0x07, 1, 31];
        assert_eq!(decode("DATE", &d).unwrap(), json!("2026-01-31"));
        let dt = [11, 0xea, 0x07, 1, 31, 23, 59, 58, 0x40, 0xe2, 0x01, 0x00];
        assert_eq!(
            decode("DATETIME", &dt).unwrap(),
            json!("2026-01-31T23:59:58.123456Z")
        );
        assert_eq!(
            decode("DATETIME", &[4, 0xea, 0x07, 0, 0]).unwrap(),
            json!("2026-00-00T00:00:00Z")
        );
        assert!(decode("DATE", &[4, 0xea]).is_err());
        assert_eq!(
            decode("DECIMAL", b"12345678901234567890.10")
                .unwrap()
                .to_string(),
            "12345678901234567890.1"
        );
        assert_eq!(decode("BOOLEAN", &[2]).unwrap(), json!(2));
        assert_eq!(decode("TINYINT", &[0xff]).unwrap(), json!(-1));
        assert_eq!(decode("TINYINT UNSIGNED", &[0xff]).unwrap(), json!(255));
        assert_eq!(
            decode("BIGINT UNSIGNED", &u64::MAX.to_le_bytes()).unwrap(),
            json!(u64::MAX)
        );
        assert_eq!(
            decode("TIME", &[8, 1, 1, 0, 0, 0, 2, 3, 4]).unwrap(),
            json!("-26:03:04")
        );
        assert!(decode("GEOMETRY", &[]).is_err());
    }
}
