//! Numbers compared by value, exactly: `1`, `1.0`, `10e-1` and `1E0` are one number, and
//! integers of any size keep every digit (no rounding through `f64`).
//!
//! A JSON number is read as `sign × digits × 10^exponent` with the digits stripped of
//! leading and trailing zeros; two numbers are equal when those three parts are.

use std::cmp::Ordering;
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
pub(crate) fn plain_decimal(text: &str) -> Option<String> {
    if !decimal_shape(text) {
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

/// The most digits an exact difference may take (see `Decimal::abs_diff`): numbers whose
/// aligned digits would be longer (`1e5000` against `1e-5000`) are never within a tolerance.
pub const MAX_ALIGNED_DIGITS: usize = 4096;

/// An exact decimal number: `sign × digits × 10^exponent`, with no leading or trailing
/// zero digit (zero has no digits). Built from the number's text, never through `f64`, so
/// rules that compare numbers (a tolerance, a sort key) see every digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// Digit values 0..=9, most significant first.
    digits: Vec<u8>,
    exponent: i128,
}

impl Decimal {
    /// Parses a JSON number text (or a TOML one without underscores or a leading `+`);
    /// `None` if it is not one, or its exponent has more than 30 digits.
    pub fn parse(text: &str) -> Option<Decimal> {
        if !decimal_shape(text) {
            return None;
        }
        let c = Canonical::parse(text)?;
        Some(Decimal {
            negative: c.negative,
            digits: c.digits().map(|d| d - b'0').collect(),
            exponent: c.exponent,
        })
    }

    /// Whether this is zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether this is below zero.
    pub(crate) fn is_negative(&self) -> bool {
        self.negative
    }

    /// The exact order of two numbers.
    pub(crate) fn cmp_value(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        match (self.negative, other.negative) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }

    /// The order of the absolute values.
    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        // The power of ten of the leading digit decides, then the digits in turn.
        let top = |d: &Decimal| d.exponent + d.digits.len() as i128;
        top(self).cmp(&top(other)).then_with(|| {
            let n = self.digits.len().max(other.digits.len());
            let at = |d: &Decimal, i: usize| d.digits.get(i).copied().unwrap_or(0);
            (0..n)
                .map(|i| at(self, i).cmp(&at(other, i)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }

    /// `|self - other|`, exactly; `None` when the two numbers, aligned on their last
    /// digit, would take more than [`MAX_ALIGNED_DIGITS`] digits.
    pub(crate) fn abs_diff(&self, other: &Decimal) -> Option<Decimal> {
        if self.is_zero() || other.is_zero() {
            let nonzero = if self.is_zero() { other } else { self };
            return Some(Decimal {
                negative: false,
                ..nonzero.clone()
            });
        }
        let low = self.exponent.min(other.exponent);
        let top = (self.exponent + self.digits.len() as i128)
            .max(other.exponent + other.digits.len() as i128);
        let width = usize::try_from(top - low).ok()?;
        if width > MAX_ALIGNED_DIGITS {
            return None;
        }
        // Both as integers of `width + 1` digits, least significant first.
        let aligned = |d: &Decimal| {
            let mut v = vec![0u8; width + 1];
            let shift = (d.exponent - low) as usize;
            for (i, digit) in d.digits.iter().rev().enumerate() {
                v[shift + i] = *digit;
            }
            v
        };
        let (a, b) = (aligned(self), aligned(other));
        let mut out = vec![0u8; width + 1];
        if self.negative != other.negative {
            let mut carry = 0;
            for i in 0..=width {
                let s = a[i] + b[i] + carry;
                out[i] = s % 10;
                carry = s / 10;
            }
        } else {
            let (big, small) = if self.cmp_magnitude(other).is_ge() {
                (&a, &b)
            } else {
                (&b, &a)
            };
            let mut borrow = 0;
            for i in 0..=width {
                let mut d = big[i] as i8 - small[i] as i8 - borrow;
                borrow = i8::from(d < 0);
                if d < 0 {
                    d += 10;
                }
                out[i] = d as u8;
            }
        }
        let trail = out.iter().take_while(|d| **d == 0).count();
        let mut digits: Vec<u8> = out[trail..].iter().rev().copied().collect();
        let lead = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..lead);
        let exponent = if digits.is_empty() {
            0
        } else {
            low + trail as i128
        };
        Some(Decimal {
            negative: false,
            digits,
            exponent,
        })
    }

    /// The number in plain notation (`0.001`, `109`, `-2.5`), as JSON and TOML read it.
    pub(crate) fn to_plain(&self) -> String {
        let text: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        if text.is_empty() {
            return "0".into();
        }
        let sign = if self.negative { "-" } else { "" };
        let exponential = format!("{sign}{text}e{}", self.exponent);
        plain_decimal(&exponential).unwrap_or(exponential)
    }
}

/// The exact order of two JSON number texts. Numbers whose exponent is too large to
/// compute with come after every other number, ordered by their text.
pub fn compare(left: &str, right: &str) -> Ordering {
    match (Decimal::parse(left), Decimal::parse(right)) {
        (Some(l), Some(r)) => l.cmp_value(&r),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => left.cmp(right),
    }
}

/// Whether `text` is made like a decimal number: a digit first (after one `-`), then only
/// digits, signs, a point and an exponent mark. Enough for [`Canonical::parse`], which
/// trusts the JSON grammar.
fn decimal_shape(text: &str) -> bool {
    text.strip_prefix('-')
        .unwrap_or(text)
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
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
    fn decimals_order_and_subtract_exactly() {
        let d = |t: &str| Decimal::parse(t).unwrap();
        for (a, b, order) in [
            ("9007199254740993", "9007199254740992", Ordering::Greater),
            ("0.1", "0.1000000000000000001", Ordering::Less),
            ("-1", "0", Ordering::Less),
            ("-2", "-10", Ordering::Greater),
            ("1e2", "100.0", Ordering::Equal),
            ("0.5", "0.49999999999999999999", Ordering::Greater),
        ] {
            assert_eq!(d(a).cmp_value(&d(b)), order, "{a} vs {b}");
            assert_eq!(compare(a, b), order, "{a} vs {b}");
        }
        for (a, b, gap) in [
            ("9007199254740993", "9007199254740992", "1"),
            ("0.1", "0.1000000000000000001", "0.0000000000000000001"),
            ("12345678901234567890", "12345678901234567999", "109"),
            ("-1.5", "2", "3.5"),
            ("0.3", "0.2", "0.1"),
            ("7", "7.000", "0"),
            ("-0", "-2e3", "2000"),
        ] {
            assert_eq!(d(a).abs_diff(&d(b)).unwrap().to_plain(), gap, "|{a} - {b}|");
            assert_eq!(d(b).abs_diff(&d(a)).unwrap().to_plain(), gap, "|{b} - {a}|");
        }
        assert_eq!(d("1e5000").abs_diff(&d("1e-5000")), None);
        assert_eq!(Decimal::parse("1_000"), None);
        assert_eq!(Decimal::parse("inf"), None);
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
