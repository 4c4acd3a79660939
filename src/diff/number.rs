//! Numbers compared by value, exactly: `1`, `1.0`, `10e-1` and `1E0` are one number, and
//! integers of any size keep every digit (no rounding through `f64`).
//!
//! A JSON number is read as `sign × digits × 10^exponent` with the digits stripped of
//! leading and trailing zeros; two numbers are equal when those three parts are.

use std::hash::{Hash, Hasher};

/// The canonical parts of a JSON number, borrowing its digits.
#[derive(Debug, Clone, Copy)]
struct Canonical<'a> {
    negative: bool,
    /// Integer digits then fraction digits, as written.
    int: &'a [u8],
    frac: &'a [u8],
    /// Leading zeros to skip in `int ++ frac`, and trailing zeros to drop.
    lead: usize,
    trail: usize,
    /// Power of ten of the last kept digit.
    exponent: i128,
}

impl<'a> Canonical<'a> {
    /// Parses a number that serde_json has already validated against the JSON grammar;
    /// `None` for an exponent too large to compute with (see [`equal`]).
    fn parse(text: &'a str) -> Option<Canonical<'a>> {
        let bytes = text.as_bytes();
        let negative = bytes.first() == Some(&b'-');
        let body = &bytes[usize::from(negative)..];
        let exp_at = body.iter().position(|b| *b == b'e' || *b == b'E');
        let (mantissa, exp_text) = match exp_at {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, &b""[..]),
        };
        let (int, frac) = match mantissa.iter().position(|b| *b == b'.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, &b""[..]),
        };
        let written_exp = parse_exponent(exp_text)?;
        let digits = || int.iter().chain(frac.iter());
        let total = int.len() + frac.len();
        let lead = digits().take_while(|d| **d == b'0').count();
        let trail = if lead == total {
            0
        } else {
            digits().rev().take_while(|d| **d == b'0').count()
        };
        let exponent = written_exp - frac.len() as i128 + trail as i128;
        let zero = lead == total;
        Some(Canonical {
            negative: negative && !zero,
            int,
            frac,
            lead,
            trail,
            exponent: if zero { 0 } else { exponent },
        })
    }

    fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        let kept = self.int.len() + self.frac.len() - self.lead - self.trail;
        self.int
            .iter()
            .chain(self.frac.iter())
            .skip(self.lead)
            .take(kept)
            .copied()
    }

    fn len(&self) -> usize {
        self.int.len() + self.frac.len() - self.lead - self.trail
    }
}

/// The written exponent, `None` past 30 digits (no real value has one; such numbers
/// compare by their text instead, so no two distinct ones can ever read as equal).
fn parse_exponent(text: &[u8]) -> Option<i128> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = &digits[digits.iter().take_while(|d| **d == b'0').count()..];
    if digits.len() > 30 {
        return None;
    }
    let magnitude = digits
        .iter()
        .fold(0i128, |acc, d| acc * 10 + i128::from(d - b'0'));
    Some(if negative { -magnitude } else { magnitude })
}

/// Whether two JSON number texts denote the same value.
pub fn equal(left: &str, right: &str) -> bool {
    if left == right {
        return true;
    }
    match (Canonical::parse(left), Canonical::parse(right)) {
        (Some(l), Some(r)) => {
            l.negative == r.negative
                && l.exponent == r.exponent
                && l.len() == r.len()
                && l.digits().eq(r.digits())
        }
        _ => false,
    }
}

/// A decimal number text (JSON grammar, or `1.5E+3` as other systems write it) in plain,
/// canonical notation: no exponent, no superfluous zeros (`"1.50E+3"` is `"1500"`, `"-0"` is
/// `"0"`). `None` if the text is not such a number, or its exponent is out of range.
pub fn plain_decimal(text: &str) -> Option<String> {
    let valid = text
        .trim_start_matches('-')
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !valid {
        return None;
    }
    let c = Canonical::parse(text)?;
    let digits: String = c.digits().map(char::from).collect();
    if digits.is_empty() {
        return Some("0".into());
    }
    if c.exponent.unsigned_abs() > 100_000 {
        return None;
    }
    let sign = if c.negative { "-" } else { "" };
    let exp = c.exponent as i64;
    Some(if exp >= 0 {
        format!("{sign}{digits}{}", "0".repeat(exp as usize))
    } else {
        let point = digits.len() as i64 + exp;
        if point > 0 {
            format!(
                "{sign}{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        }
    })
}

/// Feeds the value of a JSON number text to `state`, so that equal numbers hash alike.
pub fn hash<H: Hasher>(text: &str, state: &mut H) {
    let Some(c) = Canonical::parse(text) else {
        text.hash(state);
        return;
    };
    c.negative.hash(state);
    c.exponent.hash(state);
    c.len().hash(state);
    for d in c.digits() {
        state.write_u8(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_in_other_spellings_is_equal() {
        for (a, b) in [
            ("1", "1.0"),
            ("1", "1e0"),
            ("1", "10e-1"),
            ("100", "1E2"),
            ("0", "-0"),
            ("0", "0.000e5"),
            ("-1.50", "-1.5"),
            (
                "123456789012345678901234567890",
                "1.23456789012345678901234567890e29",
            ),
        ] {
            assert!(equal(a, b), "{a} == {b}");
        }
    }

    #[test]
    fn different_values_are_not_equal_even_where_f64_would_round() {
        for (a, b) in [
            ("1", "2"),
            ("1", "-1"),
            ("0.1", "0.01"),
            ("9007199254740993", "9007199254740992"),
            ("18446744073709551617", "18446744073709551616"),
            ("1e400", "1e401"),
            ("1e99999999999999999999", "1e99999999999999999998"),
            ("1e9223372036854775807", "10e9223372036854775807"),
            (
                "1e999999999999999999999999999999999",
                "1e999999999999999999999999999999998",
            ),
        ] {
            assert!(!equal(a, b), "{a} != {b}");
        }
    }

    #[test]
    fn plain_decimals_are_canonical() {
        for (text, plain) in [
            ("1.50E+3", "1500"),
            ("-0", "0"),
            ("0.000", "0"),
            ("-1.23E-4", "-0.000123"),
            (
                "123456789012345678901234567890.5000",
                "123456789012345678901234567890.5",
            ),
            ("12e-1", "1.2"),
        ] {
            assert_eq!(plain_decimal(text).as_deref(), Some(plain), "{text}");
        }
        assert_eq!(plain_decimal("NaN"), None);
        assert_eq!(plain_decimal("1e999999"), None);
    }

    #[test]
    fn equal_numbers_hash_alike() {
        use std::collections::hash_map::DefaultHasher;
        let h = |t: &str| {
            let mut s = DefaultHasher::new();
            hash(t, &mut s);
            s.finish()
        };
        assert_eq!(h("1"), h("1.00"));
        assert_eq!(h("2500"), h("2.5e3"));
        assert_ne!(h("1"), h("10"));
    }
}
