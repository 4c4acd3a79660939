//! `precision`: RFC 3339 timestamps cut to a unit, in UTC.

use super::Precision;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// Truncates an RFC 3339 timestamp to `precision`, in UTC.
pub(super) fn truncate(value: &mut Value, precision: Precision) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    if let Some(changed) = truncate_utc_text(text, precision) {
        return changed;
    }
    let Some(canonical) = truncate_parsed(text, precision) else {
        return false;
    };
    let changed = *text != canonical;
    *text = canonical;
    changed
}

/// The general path of [`truncate`]: any RFC 3339 timestamp, through `chrono`.
fn truncate_parsed(text: &str, precision: Precision) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let nanos = t.timestamp_subsec_nanos();
    let (kept, format) = match precision {
        Precision::Seconds => (0, SecondsFormat::Secs),
        Precision::Millis => (nanos / 1_000_000 * 1_000_000, SecondsFormat::Millis),
        Precision::Micros => (nanos / 1_000 * 1_000, SecondsFormat::Micros),
    };
    let cut = DateTime::from_timestamp(t.timestamp(), kept)?;
    Some(cut.to_rfc3339_opts(format, true))
}

/// The fast path of [`truncate`], in place: `YYYY-MM-DDTHH:MM:SS[.fraction]` in UTC (`Z`,
/// `+00:00` or `-00:00`), cut or padded to the precision's digits and ended with `Z`,
/// exactly as the formatter would write it. `None` for any other shape, else whether the
/// text changed.
fn truncate_utc_text(text: &mut String, precision: Precision) -> Option<bool> {
    let b = text.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return None;
    }
    let zulu = b[b.len() - 1] == b'Z';
    let end = if zulu {
        b.len() - 1
    } else if b.ends_with(b"+00:00") || b.ends_with(b"-00:00") {
        b.len() - 6
    } else {
        return None;
    };
    let fraction = match b.get(19..end)? {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            digits.len()
        }
        _ => return None,
    };
    let digits = match precision {
        Precision::Seconds => 0,
        Precision::Millis => 3,
        Precision::Micros => 6,
    };
    if zulu && fraction == digits {
        return Some(false);
    }
    // Drop the zone, cut or pad the fraction, end with `Z`.
    text.truncate(end);
    if digits == 0 {
        text.truncate(19);
    } else if fraction == 0 {
        text.push('.');
    }
    if fraction > digits {
        text.truncate(20 + digits);
    } else {
        text.extend(std::iter::repeat_n('0', digits - fraction));
    }
    text.push('Z');
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_place_truncation_writes_what_the_formatter_writes() {
        for text in [
            "2024-03-01T10:00:00Z",
            "2024-03-01T10:00:00.1Z",
            "2024-03-01T10:00:00.123Z",
            "2024-03-01T10:00:00.123456789Z",
            "2024-03-01T10:00:00.815000+00:00",
            "2024-03-01T10:00:00-00:00",
            "1969-12-31T23:59:59.999999+00:00",
        ] {
            for precision in [Precision::Seconds, Precision::Millis, Precision::Micros] {
                let slow = truncate_parsed(text, precision).unwrap();
                let mut fast = text.to_string();
                let changed = truncate_utc_text(&mut fast, precision);
                assert_eq!(fast, slow, "{text} at {precision:?}");
                assert_eq!(changed, Some(text != slow), "{text} at {precision:?}");
            }
        }
        for other in [
            "2024-03-01T10:00:00+01:00",
            "2024-03-01T10:00:00.Z",
            "yesterday",
        ] {
            assert_eq!(
                truncate_utc_text(&mut other.to_string(), Precision::Millis),
                None
            );
        }
    }
}
